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

/// The block LLaMA stacks: pre-norm RMSNorm, RoPE attention (@p Attention), SwiGLU MLP.
template <class Attention>
using llama_block = blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::swiglu, ops::rms_norm, blocks::pre_norm>;

template <class Attention = attention::causal_softmax_attention>
class llama : public causal_lm<llama_block<Attention>, ops::rms_norm> {
 public:
  using block_type = llama_block<Attention>;
  using base = causal_lm<block_type, ops::rms_norm>;
  using config_type = io::llama_config;

  llama(const io::llama_config& c, io::weight_binder& w, Attention variant = {})
      : llama(c, w,
              hf::lm_head_binding::load("models.llama", w.sub("embed_tokens"), c.tie_word_embeddings, c.vocab_size,
                                        c.hidden_size),
              std::move(variant)) {}

  /// Loads a LLaMA checkpoint folder (weights under "model." or at the top level).
  static llama load(const std::filesystem::path& dir, Attention variant = {}) {
    return load(dir, load_options{}, std::move(variant));
  }
  /// The same with @p options (`{.weights = weight_type::int8}`: every linear layer int8).
  static llama load(const std::filesystem::path& dir, const load_options& options, Attention variant = {}) {
    return hf::load_folder<llama>(dir, options, "models.llama", "llama", "embed_tokens.weight", {"model.", ""},
                                  std::move(variant));
  }
  const io::llama_config& config() const noexcept { return cfg_; }

  /// Checks @p c against the checkpoint before anything is allocated (hf::load_folder calls
  /// it): every tensor of every layer with the shape the config implies, by the same scopes and
  /// part loaders' twins as the constructor (io::weight_binder::require), and RoPE tables (one
  /// [max_position_embeddings, head_dim] cos/sin pair per layer) no larger than the checkpoint
  /// itself or 1 GiB, whichever is more.
  static void check_checkpoint(const io::llama_config& c, const io::weight_binder& w) {
    const index_t d = c.hidden_size, ff = c.intermediate_size, hd = c.head_size();
    const index_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    w.require([&](auto&& add) {
      hf::lm_head_binding::expect(add, w.sub("embed_tokens"), c.vocab_size, d);
      for (index_t i = 0; i < c.num_hidden_layers; ++i) {
        const io::weight_binder layer = w.sub("layers").sub(i), attn = layer.sub("self_attn");
        hf::expect_attention_projections(add, projection_scopes(attn), d, q, kv, c.attention_bias);
        add(attn.sub("rotary_emb").expect("inv_freq", {}, true));
        hf::expect_gated_mlp(add, layer.sub("mlp"), d, ff);
        hf::expect_rms_norm(add, layer.sub("input_layernorm"), d);
        hf::expect_rms_norm(add, layer.sub("post_attention_layernorm"), d);
      }
      hf::expect_rms_norm(add, w.sub("norm"), d);
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

  /// The projections of attention scope @p attn ("layers.i.self_attn").
  static hf::attention_scopes projection_scopes(const io::weight_binder& attn) {
    return {attn.sub("q_proj"), attn.sub("k_proj"), attn.sub("v_proj"), attn.sub("o_proj")};
  }

  /// Blocks "layers.0." ... "layers.{num_hidden_layers-1}.", then the final norm "norm".
  static typename base::stack_type load_stack(const io::llama_config& c, io::weight_binder& w, const Attention& variant) {
    const index_t d = c.hidden_size, ff = c.intermediate_size, hd = c.head_size();
    const index_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    const double eps = c.rms_norm_eps;
    attention::attention_config ac{.d_model = d,
                                   .num_heads = c.num_attention_heads,
                                   .num_kv_heads = c.num_key_value_heads,
                                   .head_dim = c.head_dim,
                                   .qkv_bias = c.attention_bias,
                                   .out_bias = c.attention_bias,
                                   .position = attention::positional::rope,
                                   .rope = ops::rope_layout::half,
                                   .rope_base = c.rope_theta,
                                   .max_positions = c.max_position_embeddings,
                                   .kv_cache = w.kv_cache()};
    std::vector<block_type> layers;
    for (index_t i = 0; i < c.num_hidden_layers; ++i) {
      auto layer = w.sub("layers").sub(i);
      auto attn_scope = layer.sub("self_attn");
      auto attn = hf::attention_projections(projection_scopes(attn_scope), d, q, kv, c.attention_bias);
      attn_scope.sub("rotary_emb").ignore_optional("inv_freq");
      auto mlp = hf::gated_mlp<ops::silu>(layer.sub("mlp"), d, ff);
      ops::rms_norm input_norm = hf::rms_norm(layer.sub("input_layernorm"), d, eps);
      layers.emplace_back(attention::multi_head_attention<Attention>(ac, std::move(attn), variant), std::move(mlp),
                          std::move(input_norm), hf::rms_norm(layer.sub("post_attention_layernorm"), d, eps));
    }
    return typename base::stack_type(std::move(layers), hf::rms_norm(w.sub("norm"), d, eps));
  }
  io::llama_config cfg_;
};

}  // namespace eigenformer::models
