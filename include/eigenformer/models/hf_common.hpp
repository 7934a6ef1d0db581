#pragma once
/// @file
/// What the Hugging Face presets share: binding PyTorch-layout weights (nn.Linear [out, in],
/// LayerNorm gain/bias) into eigenformer's layers part by part from scoped binders, the
/// prefix probe, folder loading and the LM head binding.

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/ops/embedding.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace eigenformer::models::hf {

// Part loaders: each binds one part from the scope that holds it (`w.sub("h").sub(i).sub("ln_1")`),
// by the tensor names PyTorch gives that part. Each has an `expect_*` twin that lists the same
// names for io::weight_binder::require (called as `expect_*(add, scope, ...)`), so that the
// checks before allocation and the binding read the same names.

/// nn.Linear: `weight` [out, in] (+ `bias` [out]) of scope @p w.
inline ops::linear linear(io::weight_binder w, index_t out, index_t in, bool bias) {
  vector b = bias ? w.get_vector("bias", out) : vector();
  ops::linear l;
  const auto from_floats = [&](const float* p) {
    l = ops::linear::from_out_in(p, out, in, in, std::move(b), w.scope_name(), w.linear_weights());
  };
  if (w.linear_weights() == weight_type::bf16) {  // a BF16 tensor is packed from its own bits
    w.visit_bf16("weight", {out, in}, [&](const std::byte* bits) {
      l = ops::linear::from_out_in_bf16(bits, out, in, in, std::move(b), w.scope_name());
    }, from_floats);
  } else {
    w.visit("weight", {out, in}, from_floats);
  }
  return l;
}
template <class Add>
void expect_linear(Add&& add, const io::weight_binder& w, index_t out, index_t in, bool bias,
                   bool optional = false) {
  add(w.expect("weight", {out, in}, optional));
  if (bias) add(w.expect("bias", {out}, optional));
}
/// GPT-2's Conv1D: `weight` stored [in, out] and `bias` [out].
inline ops::linear conv1d(io::weight_binder w, index_t in, index_t out) {
  vector b = w.get_vector("bias", out);
  ops::linear l;
  w.visit("weight", {in, out}, [&](const float* p) {  // packed from the mapped tensor, no copy
    l = ops::linear::from_in_out(p, in, out, out, std::move(b), w.scope_name(), w.linear_weights());
  });
  return l;
}
template <class Add>
void expect_conv1d(Add&& add, const io::weight_binder& w, index_t in, index_t out) {
  add(w.expect("weight", {in, out}));
  add(w.expect("bias", {out}));
}
/// An nn.Linear weight [out, in] (tensor @p name of scope @p w) as the [in, out] matrix
/// attention_weights holds.
inline matrix linear_in_out(io::weight_binder w, const std::string& name, index_t out, index_t in) {
  matrix m;  // allocated once the binder has checked the shape
  w.visit(name, {out, in}, [&](const float* p) { m = Eigen::Map<const matrix>(p, out, in).transpose(); });
  return m;
}
/// LayerNorm: `weight` and `bias` [d] of scope @p w.
inline ops::layer_norm layer_norm(io::weight_binder w, index_t d, double eps) {
  return ops::layer_norm(w.get_vector("weight", d), w.get_vector("bias", d), float(eps));
}
template <class Add>
void expect_layer_norm(Add&& add, const io::weight_binder& w, index_t d, bool optional = false) {
  add(w.expect("weight", {d}, optional));
  add(w.expect("bias", {d}, optional));
}
/// RMSNorm: `weight` [d] of scope @p w.
inline ops::rms_norm rms_norm(io::weight_binder w, index_t d, double eps) {
  return ops::rms_norm(w.get_vector("weight", d), float(eps));
}
template <class Add>
void expect_rms_norm(Add&& add, const io::weight_binder& w, index_t d) {
  add(w.expect("weight", {d}));
}
/// nn.Embedding: `weight` [rows, d] of scope @p w.
inline ops::embedding embedding(io::weight_binder w, index_t rows, index_t d) {
  return ops::embedding{w.get_matrix("weight", rows, d)};
}
template <class Add>
void expect_embedding(Add&& add, const io::weight_binder& w, index_t rows, index_t d) {
  add(w.expect("weight", {rows, d}));
}

/// The four scopes of an attention layer's separate nn.Linear projections (LLaMA's
/// q_proj/k_proj/v_proj/o_proj, BERT's self.query/self.key/self.value/output.dense).
struct attention_scopes {
  io::weight_binder q, k, v, o;
};
/// Separate q/k/v/o nn.Linear projections ([out, in]): q [q_dim, d], k and v [kv_dim, d], o
/// [d, q_dim], each with a bias when @p bias.
inline attention::attention_weights attention_projections(attention_scopes s, index_t d, index_t q_dim,
                                                          index_t kv_dim, bool bias) {
  attention::attention_weights aw;
  aw.type = s.q.linear_weights();
  aw.wq = linear_in_out(s.q, "weight", q_dim, d);
  if (bias) aw.bq = s.q.get_vector("bias", q_dim);
  aw.wk = linear_in_out(s.k, "weight", kv_dim, d);
  if (bias) aw.bk = s.k.get_vector("bias", kv_dim);
  aw.wv = linear_in_out(s.v, "weight", kv_dim, d);
  if (bias) aw.bv = s.v.get_vector("bias", kv_dim);
  aw.wo = linear_in_out(s.o, "weight", d, q_dim);
  if (bias) aw.bo = s.o.get_vector("bias", d);
  return aw;
}
template <class Add>
void expect_attention_projections(Add&& add, const attention_scopes& s, index_t d, index_t q_dim, index_t kv_dim,
                                  bool bias) {
  expect_linear(add, s.q, q_dim, d, bias);
  expect_linear(add, s.k, kv_dim, d, bias);
  expect_linear(add, s.v, kv_dim, d, bias);
  expect_linear(add, s.o, d, q_dim, bias);
}
/// GPT-2's attention of scope @p w: the fused Conv1D `c_attn` ([d, 3d], q|k|v columns, bias
/// [3d]) and `c_proj` ([d, d], bias [d]). The causal-mask buffers old checkpoints store (`bias`,
/// `masked_bias`) are not weights and are ignored.
inline attention::attention_weights fused_attention(io::weight_binder w, index_t d) {
  io::weight_binder qkv_scope = w.sub("c_attn"), out = w.sub("c_proj");
  const vector qkv_b = qkv_scope.get_vector("bias", 3 * d);
  attention::attention_weights aw;
  aw.type = w.linear_weights();
  qkv_scope.visit("weight", {d, 3 * d}, [&](const float* p) {  // Conv1D: [in, out], split as mapped
    const Eigen::Map<const matrix> qkv(p, d, 3 * d);
    aw.wq = qkv.leftCols(d);
    aw.wk = qkv.middleCols(d, d);
    aw.wv = qkv.rightCols(d);
  });
  aw.bq = qkv_b.head(d);
  aw.bk = qkv_b.segment(d, d);
  aw.bv = qkv_b.tail(d);
  aw.wo = out.get_matrix("weight", d, d);
  aw.bo = out.get_vector("bias", d);
  w.ignore_optional("bias");
  w.ignore_optional("masked_bias");
  return aw;
}
template <class Add>
void expect_fused_attention(Add&& add, const io::weight_binder& w, index_t d) {
  expect_conv1d(add, w.sub("c_attn"), d, 3 * d);
  expect_conv1d(add, w.sub("c_proj"), d, d);
  add(w.expect("bias", {}, true));
  add(w.expect("masked_bias", {}, true));
}

/// A plain MLP: nn.Linear @p up [ff, d] and @p down [d, ff], activation @p Act between.
template <class Act>
ffn::dense_ffn<Act> mlp(io::weight_binder up, io::weight_binder down, index_t d, index_t ff, bool bias) {
  ops::linear u = linear(std::move(up), ff, d, bias);
  return ffn::dense_ffn<Act>(std::move(u), linear(std::move(down), d, ff, bias));
}
template <class Add>
void expect_mlp(Add&& add, const io::weight_binder& up, const io::weight_binder& down, index_t d, index_t ff,
                bool bias) {
  expect_linear(add, up, ff, d, bias);
  expect_linear(add, down, d, ff, bias);
}
/// A gated MLP (SwiGLU for ops::silu) of scope @p w: nn.Linear `gate_proj` and `up_proj` [ff, d],
/// `down_proj` [d, ff], no bias.
template <class Act>
ffn::gated_ffn<Act> gated_mlp(io::weight_binder w, index_t d, index_t ff) {
  ops::linear gate = linear(w.sub("gate_proj"), ff, d, false);
  ops::linear up = linear(w.sub("up_proj"), ff, d, false);
  return ffn::gated_ffn<Act>(std::move(gate), std::move(up), linear(w.sub("down_proj"), d, ff, false));
}
template <class Add>
void expect_gated_mlp(Add&& add, const io::weight_binder& w, index_t d, index_t ff) {
  expect_linear(add, w.sub("gate_proj"), ff, d, false);
  expect_linear(add, w.sub("up_proj"), ff, d, false);
  expect_linear(add, w.sub("down_proj"), d, ff, false);
}

/// A GLU MLP with fused input projection (ModernBERT's `Wi` [2·ff, d]: rows [0, ff) the
/// activated half, rows [ff, 2·ff) the gate, as HF's `input, gate = Wi(x).chunk(2)`) and output
/// projection `Wo` [d, ff]; biases when @p bias. Wi is read once and split into the two layers.
template <class Act>
ffn::gated_ffn<Act> fused_gated_mlp(io::weight_binder wi, io::weight_binder wo, index_t d, index_t ff, bool bias) {
  const vector b = bias ? wi.get_vector("bias", 2 * ff) : vector();
  const auto half_bias = [&](index_t first) { return bias ? vector(b.segment(first, ff)) : vector(); };
  ops::linear act, gate;
  const auto from_floats = [&](const float* p) {
    act = ops::linear::from_out_in(p, ff, d, d, half_bias(0), wi.scope_name(), wi.linear_weights());
    gate = ops::linear::from_out_in(p + std::size_t(ff) * std::size_t(d), ff, d, d, half_bias(ff),
                                    wi.scope_name() + " (gate)", wi.linear_weights());
  };
  if (wi.linear_weights() == weight_type::bf16) {
    wi.visit_bf16("weight", {2 * ff, d}, [&](const std::byte* bits) {
      act = ops::linear::from_out_in_bf16(bits, ff, d, d, half_bias(0), wi.scope_name());
      gate = ops::linear::from_out_in_bf16(bits + std::size_t(ff) * std::size_t(d) * 2, ff, d, d, half_bias(ff),
                                           wi.scope_name() + " (gate)");
    }, from_floats);
  } else {
    wi.visit("weight", {2 * ff, d}, from_floats);
  }
  // gated_ffn computes act(x·W_gate) ⊙ (x·W_up): its "gate" is HF's activated input half.
  return ffn::gated_ffn<Act>(std::move(act), std::move(gate), linear(std::move(wo), d, ff, bias));
}
template <class Add>
void expect_fused_gated_mlp(Add&& add, const io::weight_binder& wi, const io::weight_binder& wo, index_t d, index_t ff,
                            bool bias) {
  expect_linear(add, wi, 2 * ff, d, bias);
  expect_linear(add, wo, d, ff, bias);
}
/// Fused q|k|v nn.Linear `weight` [3·d, d] (+ `bias` [3·d]) of scope @p qkv, rows q, k, v (HF's
/// view(…, 3, heads, head_dim)), and the output nn.Linear @p out [d, d].
inline attention::attention_weights fused_qkv_attention(io::weight_binder qkv, io::weight_binder out, index_t d, bool bias) {
  attention::attention_weights aw;
  aw.type = qkv.linear_weights();
  qkv.visit("weight", {3 * d, d}, [&](const float* p) {
    const Eigen::Map<const matrix> w(p, 3 * d, d);
    aw.wq = w.topRows(d).transpose();
    aw.wk = w.middleRows(d, d).transpose();
    aw.wv = w.bottomRows(d).transpose();
  });
  if (bias) {
    const vector b = qkv.get_vector("bias", 3 * d);
    aw.bq = b.head(d);
    aw.bk = b.segment(d, d);
    aw.bv = b.tail(d);
    aw.bo = out.get_vector("bias", d);
  }
  aw.wo = linear_in_out(out, "weight", d, d);
  return aw;
}
template <class Add>
void expect_fused_qkv_attention(Add&& add, const io::weight_binder& qkv, const io::weight_binder& out, index_t d, bool bias) {
  expect_linear(add, qkv, 3 * d, d, bias);
  expect_linear(add, out, d, d, bias);
}
/// LayerNorm with or without `bias` (PyTorch's LayerNorm(bias=False): ModernBERT's norm_bias).
inline ops::layer_norm layer_norm(io::weight_binder w, index_t d, double eps, bool bias) {
  return ops::layer_norm(w.get_vector("weight", d), bias ? w.get_vector("bias", d) : vector(), float(eps));
}
template <class Add>
void expect_layer_norm(Add&& add, const io::weight_binder& w, index_t d, bool bias, bool optional) {
  add(w.expect("weight", {d}, optional));
  if (bias) add(w.expect("bias", {d}, optional));
}

/// The first of @p prefixes under which @p probe exists in the checkpoint ("" when none does:
/// the binder then reports the missing tensors by their unprefixed names).
inline std::string find_prefix(const io::checkpoint& c, const std::string& probe,
                               std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes)
    if (c.has(std::string(p) + probe)) return p;
  return "";
}

using expected_tensor = io::weight_binder::expected_tensor;

/// Loads preset @p Model from a Hugging Face folder: config.json must hold a
/// `Model::config_type` (else config_error naming the file), the weights bind under the first of
/// @p prefixes where @p probe exists. Before anything is allocated, the config is checked
/// against the checkpoint (`Model::check_checkpoint(config, binder)`): every tensor the config
/// implies must be there with the shape it implies, so that sizes and layer counts no
/// checkpoint backs are reported, not allocated. After loading, every missing or unexpected
/// tensor is reported together (weight_binder::finish). @p options reach every part loader
/// through the binder (the linear layers' weight type). @p args go to the constructor after the
/// config and binder.
template <class Model, class... Args>
Model load_folder(const std::filesystem::path& dir, const load_options& options, const char* where,
                  const char* model_type, const std::string& probe, std::initializer_list<const char*> prefixes,
                  Args&&... args) {
  if (options.kv_cache != weight_type::f32 && options.kv_cache != weight_type::bf16)
    throw_error<config_error>(where, "load_options::kv_cache", "f32 or bf16", weight_type_name(options.kv_cache),
                              dir.string());
  const auto cfg = io::read_config(dir);
  const auto* c = std::get_if<typename Model::config_type>(&cfg);
  if (!c)
    throw_error<config_error>(where, "model_type", std::string("\"") + model_type + "\"", "another model type",
                              (dir / "config.json").string());
  io::checkpoint ckpt(dir);
  io::weight_binder w(ckpt, find_prefix(ckpt, probe, prefixes));
  w.set_linear_weights(options.weights);
  w.set_kv_cache(options.kv_cache);
  Model::check_checkpoint(*c, w);
  Model m(*c, w, std::forward<Args>(args)...);
  w.finish();
  return m;
}

/// A decoder's token table and LM head. The head is tied to the table (HF's
/// tie_word_embeddings) when the checkpoint has no top-level `lm_head.weight`; then only the
/// head's packed weights are kept and serve the lookups too. Throws config_error when the head
/// is absent but the config says it is not tied.
struct lm_head_binding {
  std::optional<ops::embedding> tokens;  ///< nullopt when tied
  ops::linear head;                      ///< [d] -> [vocab]

  /// @p table: the token table's scope (`w.sub("wte")`, `w.sub("embed_tokens")`); the head
  /// is the top-level `lm_head`.
  static lm_head_binding load(const char* where, io::weight_binder table, bool tie_word_embeddings, index_t vocab,
                              index_t d) {
    io::weight_binder head = table.scoped("").sub("lm_head");
    const bool tied = !head.has("weight");
    if (tied && !tie_word_embeddings)
      throw_error<config_error>(where, "lm_head.weight", "present (tie_word_embeddings is false)", "absent");
    lm_head_binding b;
    if (!tied) b.tokens = embedding(table, vocab, d);
    b.head = linear(tied ? table : head, vocab, d, false);
    return b;
  }
  /// The names load() binds, for io::weight_binder::require.
  template <class Add>
  static void expect(Add&& add, const io::weight_binder& table, index_t vocab, index_t d) {
    expect_embedding(add, table, vocab, d);
    add(table.scoped("").sub("lm_head").expect("weight", {vocab, d}, true));
  }
};

}  // namespace eigenformer::models::hf
