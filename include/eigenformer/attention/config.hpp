#pragma once
/// @file
/// The shape and options of a multi-head attention layer (runtime values, not template
/// parameters), and its weights.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/random.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/ops/positional.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace eigenformer::attention {

/// Where positions enter attention as a rotation of Q and K. Learned absolute positions live in
/// the embedding; ALiBi and other score biases are the variant's score modifier
/// (attention/score_modifiers.hpp).
enum class positional : std::uint8_t { none, rope };

/// Shape and options of a multi-head attention layer (runtime values, not template parameters).
struct attention_config {
  index_t d_model = 0;
  index_t num_heads = 0;
  index_t num_kv_heads = 0;  ///< 0: num_heads (MHA); 1: MQA; a divisor of num_heads: GQA
  index_t head_dim = 0;      ///< 0: d_model / num_heads; a multiple of 8, at most 256
  bool qkv_bias = true;      ///< q, k and v projections have biases
  bool out_bias = true;      ///< the output projection has a bias
  float scale = 0.0f;        ///< 0: 1/√head_dim
  positional position = positional::none;
  ops::rope_layout rope = ops::rope_layout::half;
  double rope_base = 10000.0;  ///< rope_theta
  index_t max_positions = 4096;  ///< RoPE table length and default decode-cache capacity
  bool gated = false;  ///< per-head sigmoid output gate (Quantizable Transformers)
  /// The rows of the decode K/V caches of score-based variants: f32, or bf16 (half the bytes a
  /// decode step reads from the cache; keys and values rounded to nearest even as appended).
  /// Variants whose state is not a K/V cache (linear attention) keep theirs.
  weight_type kv_cache = weight_type::f32;

  index_t kv_heads() const noexcept { return num_kv_heads == 0 ? num_heads : num_kv_heads; }
  index_t dim() const noexcept { return head_dim == 0 && num_heads > 0 ? d_model / num_heads : head_dim; }
  float effective_scale() const noexcept {
    return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(dim()));
  }

  /// Throws config_error naming the first field that is out of range.
  void validate() const {
    const char* where = "attention.config";
    if (d_model < 1) throw_error<config_error>(where, "d_model", "an integer >= 1", std::to_string(d_model));
    if (num_heads < 1) throw_error<config_error>(where, "num_heads", "an integer >= 1", std::to_string(num_heads));
    if (head_dim == 0 && d_model % num_heads != 0)
      throw_error<config_error>(where, "d_model / num_heads", "d_model divisible by num_heads",
                                std::to_string(d_model) + " / " + std::to_string(num_heads));
    const index_t hd = dim();
    if (hd < 8 || hd > 256 || hd % 8 != 0)
      throw_error<config_error>(where, "head_dim", "a multiple of 8 in [8, 256]", std::to_string(hd));
    const index_t kv = kv_heads();
    if (kv < 1 || num_heads % kv != 0)
      throw_error<config_error>(where, "num_kv_heads", "a divisor of num_heads (" + std::to_string(num_heads) + ")",
                                std::to_string(kv));
    if (max_positions < 1)
      throw_error<config_error>(where, "max_positions", "an integer >= 1", std::to_string(max_positions));
    if (kv_cache != weight_type::f32 && kv_cache != weight_type::bf16)
      throw_error<config_error>(where, "kv_cache", "f32 or bf16", weight_type_name(kv_cache));
    if (!(scale >= 0.0f) || !std::isfinite(scale))
      throw_error<config_error>(where, "scale", "0 (default) or a finite positive number", std::to_string(scale));
  }
};

/// Weights of a multi-head attention layer, stored [in, out] so that y = x·W + b.
struct attention_weights {
  matrix wq;  ///< [d_model, num_heads·head_dim]
  matrix wk;  ///< [d_model, num_kv_heads·head_dim]
  matrix wv;  ///< [d_model, num_kv_heads·head_dim]
  matrix wo;  ///< [num_heads·head_dim, d_model]
  vector bq, bk, bv;  ///< [num_heads·head_dim], [kv·head_dim] x2; empty without qkv_bias
  vector bo;          ///< [d_model]; empty without out_bias
  matrix wg;          ///< gate: [d_model, num_heads]; empty unless gated
  vector bg;          ///< gate: [num_heads]
  /// How the layer stores the projections (ops::linear): fp32 unless a load asks otherwise.
  weight_type type = weight_type::f32;

  /// Random weights of the right shapes (uniform in ±1/√fan_in, like PyTorch's default init),
  /// for tests and benchmarks: a local portable generator, the same weights for a seed everywhere.
  static attention_weights random(const attention_config& c, unsigned seed = 1) {
    random_stream rng(seed);
    const index_t hd = c.dim(), q = c.num_heads * hd, kv = c.kv_heads() * hd;
    const float a = 1.0f / std::sqrt(static_cast<float>(c.d_model)), b = 1.0f / std::sqrt(static_cast<float>(q));
    attention_weights w;
    w.wq.resize(c.d_model, q);
    w.wk.resize(c.d_model, kv);
    w.wv.resize(c.d_model, kv);
    w.wo.resize(q, c.d_model);
    rng.fill_symmetric(w.wq, a);
    rng.fill_symmetric(w.wk, a);
    rng.fill_symmetric(w.wv, a);
    rng.fill_symmetric(w.wo, b);
    if (c.qkv_bias) {
      w.bq.resize(q);
      w.bk.resize(kv);
      w.bv.resize(kv);
      rng.fill_symmetric(w.bq, a);
      rng.fill_symmetric(w.bk, a);
      rng.fill_symmetric(w.bv, a);
    }
    if (c.out_bias) {
      w.bo.resize(c.d_model);
      rng.fill_symmetric(w.bo, b);
    }
    if (c.gated) {
      w.wg.resize(c.d_model, c.num_heads);
      w.bg.resize(c.num_heads);
      rng.fill_symmetric(w.wg, a);
      rng.fill_symmetric(w.bg, 1.0f);
    }
    return w;
  }
};

}  // namespace eigenformer::attention
