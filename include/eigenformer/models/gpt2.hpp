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

/// The block GPT-2 stacks: pre-norm, causal attention (@p Attention), GELU (tanh) MLP, LayerNorms.
template <class Attention>
using gpt2_block = blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::dense_ffn<ops::gelu_tanh>,
                                         ops::layer_norm, blocks::pre_norm>;

template <class Attention = attention::causal_softmax_attention>
class gpt2 : public causal_lm<gpt2_block<Attention>, ops::layer_norm> {
 public:
  using block_type = gpt2_block<Attention>;
  using ffn_type = ffn::dense_ffn<ops::gelu_tanh>;
  using base = causal_lm<block_type, ops::layer_norm>;
  using config_type = io::gpt2_config;

  gpt2(const io::gpt2_config& c, io::weight_binder& w, Attention variant = {})
      : gpt2(c, w, hf::lm_head_binding::load("models.gpt2", w.sub("wte"), c.tie_word_embeddings, c.vocab_size, c.n_embd),
             std::move(variant)) {}

  /// Loads a GPT-2 checkpoint folder (weights under "transformer." or at the top level).
  static gpt2 load(const std::filesystem::path& dir, Attention variant = {}) {
    return load(dir, load_options{}, std::move(variant));
  }
  /// The same with @p options (`{.weights = weight_type::int8}`: every linear layer int8, the
  /// tied LM head included, whose storage the token lookups read).
  static gpt2 load(const std::filesystem::path& dir, const load_options& options, Attention variant = {}) {
    return hf::load_folder<gpt2>(dir, options, "models.gpt2", "gpt2", "wte.weight", {"transformer.", ""},
                                 std::move(variant));
  }
  const io::gpt2_config& config() const noexcept { return cfg_; }

  /// Checks @p c against the checkpoint before anything is allocated (hf::load_folder calls
  /// it): every tensor the constructor binds, by the same scopes and part loaders' twins
  /// (io::weight_binder::require).
  static void check_checkpoint(const io::gpt2_config& c, const io::weight_binder& w) {
    const index_t d = c.n_embd, ff = c.n_inner;
    w.require([&](auto&& add) {
      hf::lm_head_binding::expect(add, w.sub("wte"), c.vocab_size, d);
      hf::expect_embedding(add, w.sub("wpe"), c.n_positions, d);
      for (index_t i = 0; i < c.n_layer; ++i) {
        const io::weight_binder layer = w.sub("h").sub(i);
        hf::expect_fused_attention(add, layer.sub("attn"), d);
        hf::expect_conv1d(add, layer.sub("mlp").sub("c_fc"), d, ff);
        hf::expect_conv1d(add, layer.sub("mlp").sub("c_proj"), ff, d);
        hf::expect_layer_norm(add, layer.sub("ln_1"), d);
        hf::expect_layer_norm(add, layer.sub("ln_2"), d);
      }
      hf::expect_layer_norm(add, w.sub("ln_f"), d);
    });
  }

 private:
  gpt2(const io::gpt2_config& c, io::weight_binder& w, hf::lm_head_binding lm, Attention variant)
      : base("models.gpt2", std::move(lm.tokens), hf::embedding(w.sub("wpe"), c.n_positions, c.n_embd),
             load_stack(c, w, variant), std::move(lm.head), c.n_positions),
        cfg_(c) {}

  /// Blocks "h.0." ... "h.{n_layer-1}.", then the final norm "ln_f".
  static typename base::stack_type load_stack(const io::gpt2_config& c, io::weight_binder& w, const Attention& variant) {
    const index_t d = c.n_embd, ff = c.n_inner;
    const double eps = c.layer_norm_epsilon;
    attention::attention_config ac{
        .d_model = d, .num_heads = c.n_head, .max_positions = c.n_positions, .kv_cache = w.kv_cache()};
    std::vector<block_type> layers;
    for (index_t i = 0; i < c.n_layer; ++i) {
      auto layer = w.sub("h").sub(i);
      auto attn = hf::fused_attention(layer.sub("attn"), d);
      ops::linear up = hf::conv1d(layer.sub("mlp").sub("c_fc"), d, ff);
      ffn_type mlp(std::move(up), hf::conv1d(layer.sub("mlp").sub("c_proj"), ff, d));
      ops::layer_norm ln_1 = hf::layer_norm(layer.sub("ln_1"), d, eps);
      layers.emplace_back(attention::multi_head_attention<Attention>(ac, std::move(attn), variant), std::move(mlp),
                          std::move(ln_1), hf::layer_norm(layer.sub("ln_2"), d, eps));
    }
    return typename base::stack_type(std::move(layers), hf::layer_norm(w.sub("ln_f"), d, eps));
  }
  io::gpt2_config cfg_;
};

}  // namespace eigenformer::models
