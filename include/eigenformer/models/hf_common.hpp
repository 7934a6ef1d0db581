#pragma once
/// @file
/// What the Hugging Face presets share: binding PyTorch-layout weights (nn.Linear [out, in],
/// LayerNorm gain/bias) into eigenformer's layers, the prefix probe, and checks of token inputs.

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/ops/embedding.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>

namespace eigenformer::models::hf {

/// nn.Linear `name.weight` [out, in] (+ `name.bias` [out]).
inline ops::linear linear(io::weight_binder& w, const std::string& name, index_t out, index_t in, bool bias) {
  vector b = bias ? w.get_vector(name + ".bias", out) : vector();
  ops::linear l;
  w.visit(name + ".weight", {out, in},
          [&](const float* p) { l = ops::linear::from_out_in(p, out, in, in, std::move(b), w.prefix() + name); });
  return l;
}
/// An nn.Linear weight [out, in] as the [in, out] matrix attention_weights holds.
inline matrix linear_in_out(io::weight_binder& w, const std::string& name, index_t out, index_t in) {
  matrix m;  // allocated once the binder has checked the shape
  w.visit(name, {out, in}, [&](const float* p) { m = Eigen::Map<const matrix>(p, out, in).transpose(); });
  return m;
}
inline ops::layer_norm layer_norm(io::weight_binder& w, const std::string& name, index_t d, double eps,
                                  const char* gain = "weight", const char* bias = "bias") {
  return ops::layer_norm(w.get_vector(name + "." + gain, d), w.get_vector(name + "." + bias, d), float(eps));
}
inline ops::rms_norm rms_norm(io::weight_binder& w, const std::string& name, index_t d, double eps) {
  return ops::rms_norm(w.get_vector(name + ".weight", d), float(eps));
}
inline ops::embedding embedding(io::weight_binder& w, const std::string& name, index_t rows, index_t d) {
  return ops::embedding{w.get_matrix(name, rows, d)};
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

/// The tensors of a GPT-2 checkpoint of config @p c (see io::weight_binder::require), the
/// names gpt2.hpp binds. (Kept here beside the other presets' lists while gpt2.hpp is being
/// restructured; it belongs there as gpt2::check_checkpoint.)
inline void check_checkpoint(const io::gpt2_config& c, const io::weight_binder& w) {
  const std::int64_t d = c.n_embd, ff = c.n_inner, v = c.vocab_size;
  w.require([&](auto&& add) {
    add({"wte.weight", {v, d}});
    add({"wpe.weight", {c.n_positions, d}});
    add({"lm_head.weight", {v, d}, true, true});
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      const std::string p = "h." + std::to_string(i) + ".";
      for (const char* n : {"ln_1", "ln_2"}) {
        add({p + n + ".weight", {d}});
        add({p + n + ".bias", {d}});
      }
      add({p + "attn.c_attn.weight", {d, 3 * d}});
      add({p + "attn.c_attn.bias", {3 * d}});
      add({p + "attn.c_proj.weight", {d, d}});
      add({p + "attn.c_proj.bias", {d}});
      add({p + "attn.bias", {}, true});
      add({p + "attn.masked_bias", {}, true});
      add({p + "mlp.c_fc.weight", {d, ff}});
      add({p + "mlp.c_fc.bias", {ff}});
      add({p + "mlp.c_proj.weight", {ff, d}});
      add({p + "mlp.c_proj.bias", {d}});
    }
    add({"ln_f.weight", {d}});
    add({"ln_f.bias", {d}});
  });
}

/// The tensors of a BERT checkpoint of config @p c, the names bert.hpp binds (to move there as
/// bert::check_checkpoint, as for GPT-2).
inline void check_checkpoint(const io::bert_config& c, const io::weight_binder& w) {
  const std::int64_t d = c.hidden_size, ff = c.intermediate_size, v = c.vocab_size;
  const io::weight_binder top = w.scoped("");
  w.require([&](auto&& add) {
    add({"embeddings.word_embeddings.weight", {v, d}});
    add({"embeddings.position_embeddings.weight", {c.max_position_embeddings, d}});
    add({"embeddings.token_type_embeddings.weight", {c.type_vocab_size, d}});
    add({"embeddings.LayerNorm.weight", {d}});
    add({"embeddings.LayerNorm.bias", {d}});
    add({"embeddings.position_ids", {}, true});
    const bool pooler = w.has("pooler.dense.weight");
    add({"pooler.dense.weight", {d, d}, !pooler});
    add({"pooler.dense.bias", {d}, !pooler});
    for (const char* n : {"cls.seq_relationship.weight", "cls.seq_relationship.bias"}) add({n, {}, true, true});
    const bool mlm = top.has("cls.predictions.transform.dense.weight");
    add({"cls.predictions.transform.dense.weight", {d, d}, !mlm, true});
    add({"cls.predictions.transform.dense.bias", {d}, !mlm, true});
    add({"cls.predictions.transform.LayerNorm.weight", {d}, !mlm, true});
    add({"cls.predictions.transform.LayerNorm.bias", {d}, !mlm, true});
    const bool bias_here = top.has("cls.predictions.bias");
    add({"cls.predictions.bias", {v}, !mlm || !bias_here, true});
    add({"cls.predictions.decoder.bias", {v}, !mlm || bias_here, true});
    add({"cls.predictions.decoder.weight", {v, d}, true, true});
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      for (const char* n : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
        add({p + n + ".weight", {d, d}});
        add({p + n + ".bias", {d}});
      }
      add({p + "intermediate.dense.weight", {ff, d}});
      add({p + "intermediate.dense.bias", {ff}});
      add({p + "output.dense.weight", {d, ff}});
      add({p + "output.dense.bias", {d}});
      for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) {
        add({p + n + ".weight", {d}});
        add({p + n + ".bias", {d}});
      }
    }
  });
}

/// Loads preset @p Model from a Hugging Face folder: config.json must hold a
/// `Model::config_type` (else config_error naming the file), the weights bind under the first of
/// @p prefixes where @p probe exists. Before anything is allocated, the config is checked
/// against the checkpoint (`Model::check_checkpoint(config, binder)`, or the check_checkpoint
/// above for the preset's config): every tensor the config implies must be there with the shape
/// it implies, so that sizes and layer counts no checkpoint backs are reported, not allocated.
/// After loading, every missing or unexpected tensor is reported together
/// (weight_binder::finish). @p args go to the constructor after the config and binder.
template <class Model, class... Args>
Model load_folder(const std::filesystem::path& dir, const char* where, const char* model_type, const std::string& probe,
                  std::initializer_list<const char*> prefixes, Args&&... args) {
  const auto cfg = io::read_config(dir);
  const auto* c = std::get_if<typename Model::config_type>(&cfg);
  if (!c)
    throw_error<config_error>(where, "model_type", std::string("\"") + model_type + "\"", "another model type",
                              (dir / "config.json").string());
  io::checkpoint ckpt(dir);
  io::weight_binder w(ckpt, find_prefix(ckpt, probe, prefixes));
  if constexpr (requires { Model::check_checkpoint(*c, w); }) Model::check_checkpoint(*c, w);
  else check_checkpoint(*c, w);
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

  /// @p table: the token table's name under the binder's prefix ("wte", "embed_tokens").
  static lm_head_binding load(const char* where, io::weight_binder& w, bool tie_word_embeddings,
                              const std::string& table, index_t vocab, index_t d) {
    io::weight_binder top = w.scoped("");
    const bool tied = !top.has("lm_head.weight");
    if (tied && !tie_word_embeddings)
      throw_error<config_error>(where, "lm_head.weight", "present (tie_word_embeddings is false)", "absent");
    lm_head_binding b;
    if (!tied) b.tokens = embedding(w, table + ".weight", vocab, d);
    b.head = linear(top, tied ? w.prefix() + table : std::string("lm_head"), vocab, d, false);
    return b;
  }
};

/// Checks a packed batch of token ids: offsets, ids in [0, @p vocab), no sequence longer than
/// @p max_positions. Throws shape_error naming the first problem.
inline void check_tokens(const char* where, std::span<const token_id> ids, offsets_view offsets, index_t vocab,
                         index_t max_positions) {
  validate_offsets(offsets, index_t(ids.size()), where);
  ops::check_token_ids(ids, vocab, "token id");
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
    if (offsets[s + 1] - offsets[s] > max_positions)
      throw_error<shape_error>(where, "sequence " + std::to_string(s) + " length",
                               "at most " + std::to_string(max_positions) + " (max positions)",
                               std::to_string(offsets[s + 1] - offsets[s]));
}

inline void check_output(const char* where, const char* what, const matrix_view& out, index_t rows, index_t cols) {
  if (out.rows() != rows || out.cols() != cols)
    throw_error<shape_error>(where, what, format_shape({rows, cols}), format_shape({out.rows(), out.cols()}));
}

}  // namespace eigenformer::models::hf
