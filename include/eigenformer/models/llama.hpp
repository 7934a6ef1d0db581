#pragma once
/// @file
/// LLaMA-style decoder (HF `LlamaForCausalLM` layout): token embeddings, pre-norm RMSNorm
/// blocks with RoPE (rotate-half pairs, rope_theta) and grouped-query attention, SwiGLU MLP,
/// a final RMSNorm, and an LM head (lm_head.weight, or tied to the embeddings).
///     ids [tokens] -> hidden [tokens, d] -> logits [tokens, vocab]

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/causal_lm.hpp>
#include <eigenformer/models/hf_common.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace eigenformer::models {

template <class Attention = attention::causal_softmax_attention>
class llama : public causal_lm<blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::swiglu, ops::rms_norm,
                                                     blocks::pre_norm>,
                               ops::rms_norm> {
 public:
  using block_type = blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::swiglu, ops::rms_norm, blocks::pre_norm>;
  using base = causal_lm<block_type, ops::rms_norm>;
  using config_type = io::llama_config;

  llama(const io::llama_config& c, io::weight_binder& w, Attention variant = {})
      : llama(c, w,
              hf::lm_head_binding::load("models.llama", w, c.tie_word_embeddings, "embed_tokens", c.vocab_size,
                                        c.hidden_size),
              std::move(variant)) {}

  /// Loads a LLaMA checkpoint folder (weights under "model." or at the top level).
  static llama load(const std::filesystem::path& dir, Attention variant = {}) {
    return hf::load_folder<llama>(dir, "models.llama", "llama", "embed_tokens.weight", {"model.", ""}, std::move(variant));
  }
  const io::llama_config& config() const noexcept { return cfg_; }

  /// Checks @p c against the checkpoint before anything is allocated (hf::load_folder calls
  /// it): every tensor of every layer with the shape the config implies
  /// (io::weight_binder::require), and RoPE tables (one [max_position_embeddings, head_dim]
  /// cos/sin pair per layer) no larger than the checkpoint itself or 1 GiB, whichever is more.
  static void check_checkpoint(const io::llama_config& c, const io::weight_binder& w) {
    const std::int64_t d = c.hidden_size, ff = c.intermediate_size, hd = c.head_size(), v = c.vocab_size;
    const std::int64_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    w.require([&](auto&& add) {
      add({"embed_tokens.weight", {v, d}});
      add({"lm_head.weight", {v, d}, true, true});
      for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
        const std::string p = "layers." + std::to_string(i) + ".";
        add({p + "self_attn.q_proj.weight", {q, d}});
        add({p + "self_attn.k_proj.weight", {kv, d}});
        add({p + "self_attn.v_proj.weight", {kv, d}});
        add({p + "self_attn.o_proj.weight", {d, q}});
        if (c.attention_bias) {
          add({p + "self_attn.q_proj.bias", {q}});
          add({p + "self_attn.k_proj.bias", {kv}});
          add({p + "self_attn.v_proj.bias", {kv}});
          add({p + "self_attn.o_proj.bias", {d}});
        }
        add({p + "self_attn.rotary_emb.inv_freq", {}, true});
        add({p + "mlp.gate_proj.weight", {ff, d}});
        add({p + "mlp.up_proj.weight", {ff, d}});
        add({p + "mlp.down_proj.weight", {d, ff}});
        add({p + "input_layernorm.weight", {d}});
        add({p + "post_attention_layernorm.weight", {d}});
      }
      add({"norm.weight", {d}});
    });
    // Every layer is in the checkpoint, so num_hidden_layers is bounded; the positions are not
    // a tensor, so their tables are bounded by the checkpoint's size.
    const double table_bytes = double(c.num_hidden_layers) * double(c.max_position_embeddings) * double(hd) * 4.0;
    const double limit = std::max(double(w.checkpoint_bytes()), double(1u << 30));
    if (table_bytes > limit)
      throw_error<config_error>("models.llama", "field 'max_position_embeddings'",
                                "at most " + std::to_string(std::int64_t(limit / (double(c.num_hidden_layers) * double(hd) * 4.0))) +
                                    " (RoPE tables of num_hidden_layers x max_position_embeddings x head_dim floats no "
                                    "larger than the checkpoint or 1 GiB)",
                                std::to_string(c.max_position_embeddings), (w.checkpoint_dir() / "config.json").string());
  }

 private:
  llama(const io::llama_config& c, io::weight_binder& w, hf::lm_head_binding lm, Attention variant)
      : base("models.llama", std::move(lm.tokens), std::nullopt, load_stack(c, w, variant), std::move(lm.head),
             c.max_position_embeddings),
        cfg_(c) {}

  static typename base::stack_type load_stack(const io::llama_config& c, io::weight_binder& w, const Attention& variant) {
    const index_t d = c.hidden_size, ff = c.intermediate_size, hd = c.head_size();
    const index_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    attention::attention_config ac{.d_model = d,
                                   .num_heads = c.num_attention_heads,
                                   .num_kv_heads = c.num_key_value_heads,
                                   .head_dim = c.head_dim,
                                   .qkv_bias = c.attention_bias,
                                   .out_bias = c.attention_bias,
                                   .position = attention::positional::rope,
                                   .rope = ops::rope_layout::half,
                                   .rope_base = c.rope_theta,
                                   .max_positions = c.max_position_embeddings};
    std::vector<block_type> layers;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "layers." + std::to_string(i) + ".";
      attention::attention_weights aw;
      aw.wq = hf::linear_in_out(w, p + "self_attn.q_proj.weight", q, d);
      aw.wk = hf::linear_in_out(w, p + "self_attn.k_proj.weight", kv, d);
      aw.wv = hf::linear_in_out(w, p + "self_attn.v_proj.weight", kv, d);
      aw.wo = hf::linear_in_out(w, p + "self_attn.o_proj.weight", d, q);
      if (c.attention_bias) {
        aw.bq = w.get_vector(p + "self_attn.q_proj.bias", q);
        aw.bk = w.get_vector(p + "self_attn.k_proj.bias", kv);
        aw.bv = w.get_vector(p + "self_attn.v_proj.bias", kv);
        aw.bo = w.get_vector(p + "self_attn.o_proj.bias", d);
      }
      if (w.has(p + "self_attn.rotary_emb.inv_freq")) w.ignore(p + "self_attn.rotary_emb.inv_freq");
      ffn::swiglu mlp(hf::linear(w, p + "mlp.gate_proj", ff, d, false), hf::linear(w, p + "mlp.up_proj", ff, d, false),
                      hf::linear(w, p + "mlp.down_proj", d, ff, false));
      layers.emplace_back(attention::multi_head_attention<Attention>(ac, std::move(aw), variant), std::move(mlp),
                          hf::rms_norm(w, p + "input_layernorm", d, c.rms_norm_eps),
                          hf::rms_norm(w, p + "post_attention_layernorm", d, c.rms_norm_eps));
    }
    return typename base::stack_type(std::move(layers), hf::rms_norm(w, "norm", d, c.rms_norm_eps));
  }
  io::llama_config cfg_;
};

}  // namespace eigenformer::models
