#pragma once
/// @file
/// LLaMA-style decoder (HF `LlamaForCausalLM` layout): token embeddings, pre-norm RMSNorm
/// blocks with RoPE (rotate-half pairs, rope_theta) and grouped-query attention, SwiGLU MLP,
/// a final RMSNorm, and an LM head (lm_head.weight, or tied to the embeddings).
///     ids [tokens] -> hidden [tokens, d] -> logits [tokens, vocab]

#include <eigenformer/attention/multi_head.hpp>
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
class llama : public causal_lm<blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::swiglu, ops::rms_norm,
                                                     blocks::pre_norm>,
                               ops::rms_norm> {
 public:
  using block_type = blocks::decoder_block<Attention, blocks::no_cross_attention, ffn::swiglu, ops::rms_norm, blocks::pre_norm>;
  using base = causal_lm<block_type, ops::rms_norm>;
  using config_type = io::llama_config;

  llama(const io::llama_config& c, io::weight_binder& w, Attention variant = {})
      : base("models.llama", load_tokens(c, w), std::nullopt, load_stack(c, w, variant), load_head(c, w),
             c.max_position_embeddings),
        cfg_(c) {}

  static llama load(const std::filesystem::path& dir, Attention variant = {}) {
    const auto cfg = io::read_config(dir);
    const auto* c = std::get_if<io::llama_config>(&cfg);
    if (!c) throw_error<config_error>("models.llama", "model_type", "\"llama\"", "another model type", (dir / "config.json").string());
    io::checkpoint ckpt(dir);
    io::weight_binder w(ckpt, hf::find_prefix(ckpt, "embed_tokens.weight", {"model.", ""}));
    llama m(*c, w, std::move(variant));
    w.finish();
    return m;
  }
  const io::llama_config& config() const noexcept { return cfg_; }

 private:
  static typename base::stack_type load_stack(const io::llama_config& c, io::weight_binder& w, const Attention& variant) {
    const index_t d = c.hidden_size, ff = c.intermediate_size, hd = d / c.num_attention_heads;
    const index_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    attention::attention_config ac{.d_model = d,
                                   .num_heads = c.num_attention_heads,
                                   .num_kv_heads = c.num_key_value_heads,
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
  static bool tied(const io::llama_config& c, const io::weight_binder& w) {
    const bool stored = w.scoped("").has("lm_head.weight");
    if (!stored && !c.tie_word_embeddings)
      throw_error<config_error>("models.llama", "lm_head.weight", "present (tie_word_embeddings is false)", "absent");
    return !stored;
  }
  static std::optional<ops::embedding> load_tokens(const io::llama_config& c, io::weight_binder& w) {
    if (tied(c, w)) return std::nullopt;
    return hf::embedding(w, "embed_tokens.weight", c.vocab_size, c.hidden_size);
  }
  static ops::linear load_head(const io::llama_config& c, io::weight_binder& w) {
    io::weight_binder top = w.scoped("");
    return hf::linear(top, tied(c, w) ? w.prefix() + "embed_tokens" : std::string("lm_head"), c.vocab_size,
                      c.hidden_size, false);
  }

  io::llama_config cfg_;
};

}  // namespace eigenformer::models
