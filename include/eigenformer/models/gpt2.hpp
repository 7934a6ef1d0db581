#pragma once
/// @file
/// GPT-2 (HF `GPT2Model` / `GPT2LMHeadModel` layout): token + learned position embeddings,
/// pre-norm decoder blocks with a fused c_attn projection (Conv1D weights stored [in, out]),
/// GELU (tanh) MLP, a final LayerNorm, and an LM head tied to the token embeddings unless the
/// checkpoint stores lm_head.weight.
///     ids [tokens] -> hidden [tokens, d] -> logits [tokens, vocab]

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/causal_lm.hpp>
#include <eigenformer/models/hf_common.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace eigenformer::models {

template <class Attention = attention::causal_softmax_attention>
class gpt2 : public causal_lm<blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::dense_ffn<ops::gelu_tanh>,
                                                    ops::layer_norm, blocks::pre_norm>,
                              ops::layer_norm> {
 public:
  using ffn_type = ffn::dense_ffn<ops::gelu_tanh>;
  using block_type = blocks::decoder_block<Attention, blocks::no_cross_attention, ffn_type, ops::layer_norm, blocks::pre_norm>;
  using base = causal_lm<block_type, ops::layer_norm>;
  using config_type = io::gpt2_config;

  gpt2(const io::gpt2_config& c, io::weight_binder& w, Attention variant = {})
      : gpt2(c, w, hf::lm_head_binding::load("models.gpt2", w, c.tie_word_embeddings, "wte", c.vocab_size, c.n_embd),
             std::move(variant)) {}

  /// Loads a GPT-2 checkpoint folder (weights under "transformer." or at the top level).
  static gpt2 load(const std::filesystem::path& dir, Attention variant = {}) {
    return hf::load_folder<gpt2>(dir, "models.gpt2", "gpt2", "wte.weight", {"transformer.", ""}, std::move(variant));
  }
  const io::gpt2_config& config() const noexcept { return cfg_; }

 private:
  gpt2(const io::gpt2_config& c, io::weight_binder& w, hf::lm_head_binding lm, Attention variant)
      : base("models.gpt2", std::move(lm.tokens), hf::embedding(w, "wpe.weight", c.n_positions, c.n_embd),
             load_stack(c, w, variant), std::move(lm.head), c.n_positions),
        cfg_(c) {}

  static typename base::stack_type load_stack(const io::gpt2_config& c, io::weight_binder& w, const Attention& variant) {
    const index_t d = c.n_embd, ff = c.n_inner;
    attention::attention_config ac{.d_model = d, .num_heads = c.n_head, .max_positions = c.n_positions};
    std::vector<block_type> layers;
    for (std::int64_t i = 0; i < c.n_layer; ++i) {
      const std::string p = "h." + std::to_string(i) + ".";
      const matrix qkv = w.get_matrix(p + "attn.c_attn.weight", d, 3 * d);  // Conv1D: [in, out]
      const vector qkv_b = w.get_vector(p + "attn.c_attn.bias", 3 * d);
      attention::attention_weights aw;
      aw.wq = qkv.leftCols(d);
      aw.wk = qkv.middleCols(d, d);
      aw.wv = qkv.rightCols(d);
      aw.bq = qkv_b.head(d);
      aw.bk = qkv_b.segment(d, d);
      aw.bv = qkv_b.tail(d);
      aw.wo = w.get_matrix(p + "attn.c_proj.weight", d, d);
      aw.bo = w.get_vector(p + "attn.c_proj.bias", d);
      // Old checkpoints store the causal mask buffers; they are not weights.
      if (w.has(p + "attn.bias")) w.ignore(p + "attn.bias");
      if (w.has(p + "attn.masked_bias")) w.ignore(p + "attn.masked_bias");
      ffn_type mlp(ops::linear(w.get_matrix(p + "mlp.c_fc.weight", d, ff), w.get_vector(p + "mlp.c_fc.bias", ff), p + "mlp.c_fc"),
                   ops::linear(w.get_matrix(p + "mlp.c_proj.weight", ff, d), w.get_vector(p + "mlp.c_proj.bias", d), p + "mlp.c_proj"));
      layers.emplace_back(attention::multi_head_attention<Attention>(ac, std::move(aw), variant), std::move(mlp),
                          hf::layer_norm(w, p + "ln_1", d, c.layer_norm_epsilon),
                          hf::layer_norm(w, p + "ln_2", d, c.layer_norm_epsilon));
    }
    return typename base::stack_type(std::move(layers), hf::layer_norm(w, "ln_f", d, c.layer_norm_epsilon));
  }
  io::gpt2_config cfg_;
};

}  // namespace eigenformer::models
