#pragma once
/// @file
/// Normalisers of the score-based family: how a tile of scores becomes weights of the values.
/// Each is a policy the tiled kernel (attention/tiled_kernel.hpp) and the decode path call
/// through the same members, so a new normaliser is one struct:
///
///  - `passes`: how many times the kernel visits the key tiles of a query tile (2 when the
///    weights need the row's final statistics, as clipping does);
///  - `gather(s, rows, cols, m, l)`: on every pass but the last, fold a tile of scores into the
///    rows' running max m and sum l (may overwrite s);
///  - `weigh(s, rows, cols, keys, m, l, acc)`: on the last pass, turn the tile's scores into
///    weights in place, rescaling the accumulator rows when the running max moves;
///  - `finish(acc, m, l, out, dv)`: one row's output from its accumulator;
///  - `mergeable`: partials over disjoint key ranges merge exactly (split-K decoding);
///  - `bind(max_positions)` (optional): the layer's configured sequence length.
///
/// s: [rows, cols] row-major scores (−inf where masked); m, l: [rows]; acc: [rows, dv].

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <optional>
#include <string>

namespace eigenformer::attention {

/// The accumulator rows a normaliser rescales: [rows, dv], row-major, contiguous.
using accumulator = Eigen::Map<matrix>;

/// p = softmax(scores) over the visible keys, online (running max and sum, Milakov & Gimelshein
/// 2018): one pass, the n × n matrix never exists.
struct softmax_normalizer {
  static constexpr int passes = 1;
  static constexpr bool mergeable = true;

  void gather(float*, index_t, index_t, float*, float*) const noexcept {}
  void weigh(float* s, index_t rows, index_t cols, index_t, float* m, float* l, accumulator& acc) const noexcept {
    for (index_t r = 0; r < rows; ++r) {
      const float alpha = kernels::active::online_softmax_step(s + r * cols, std::size_t(cols), m[r], l[r]);
      if (alpha != 1.0f) acc.row(r) *= alpha;
    }
  }
  /// out = acc / l; a row that saw no key outputs zeros.
  void finish(const float* acc, float, float l, float* out, index_t dv) const noexcept {
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (index_t c = 0; c < dv; ++c) out[c] = acc[c] * inv;
  }
};

/// Clipped softmax (Bondarenko et al., "Quantizable Transformers", 2023):
/// p = clip((ζ − γ)·softmax(scores) + γ, 0, 1), which lets a head output exact zeros (no outliers
/// needed to "attend to nothing"). Needs γ ≤ 0 ≤ 1 ≤ ζ; γ = 0, ζ = 1 is plain softmax. Masked keys
/// get 0 (their softmax is 0 and γ ≤ 0 clips to 0). Two passes: clipping needs the row's final
/// max and sum; the second pass is vector code (exp kernel, then one scaled clamp).
struct clipped_softmax_normalizer {
  static constexpr int passes = 2;
  static constexpr bool mergeable = false;
  float gamma = -0.03f;
  float zeta = 1.0f;

  clipped_softmax_normalizer() = default;
  /// Throws config_error unless γ ≤ 0 and ζ ≥ 1.
  clipped_softmax_normalizer(float g, float z) : gamma(g), zeta(z) {
    if (!(g <= 0.0f))
      throw_error<config_error>("attention.clipped_softmax", "gamma", "a value <= 0", std::to_string(g));
    if (!(z >= 1.0f))
      throw_error<config_error>("attention.clipped_softmax", "zeta", "a value >= 1", std::to_string(z));
  }

  void gather(float* s, index_t rows, index_t cols, float* m, float* l) const noexcept {
    for (index_t r = 0; r < rows; ++r) kernels::active::online_softmax_step(s + r * cols, std::size_t(cols), m[r], l[r]);
  }
  void weigh(float* s, index_t rows, index_t cols, index_t, float* m, float* l, accumulator&) const noexcept {
    const float stretch = zeta - gamma;
    for (index_t r = 0; r < rows; ++r) {
      float* row = s + r * cols;
      Eigen::Map<Eigen::ArrayXf> x(row, cols);
      if (l[r] <= 0.0f) {
        x.setZero();
        continue;
      }
      x -= m[r];
      kernels::active::exp(row, row, std::size_t(cols));  // e^(−inf) = 0
      x = (x * (stretch / l[r]) + gamma).max(0.0f).min(1.0f);
    }
  }
  void finish(const float* acc, float, float, float* out, index_t dv) const noexcept { std::copy(acc, acc + dv, out); }
};

/// Sigmoid attention (Ramapuram et al., "Theory, Analysis, and Best Practices for Sigmoid
/// Self-Attention", 2024): p = σ(scores + b), no row max and no row sum. b is a constant of the
/// layer: the paper's b = −log n with n the trained sequence length. A multi-head layer binds it
/// to its configured max_positions unless a bias was given, so prefill, decode and every
/// position agree. Used on its own (not bound), the kernel takes n = the problem's key count.
struct sigmoid_normalizer {
  static constexpr int passes = 1;
  static constexpr bool mergeable = false;
  std::optional<float> bias;

  /// −log n for a layer trained on sequences of @p n tokens.
  static sigmoid_normalizer for_length(index_t n) {
    if (n < 1) throw_error<config_error>("attention.sigmoid", "sequence length", "an integer >= 1", std::to_string(n));
    return sigmoid_normalizer{-std::log(static_cast<float>(n))};
  }
  /// The bias over @p keys keys: the given or bound one, else −log(keys).
  float bias_for(index_t keys) const noexcept {
    return bias ? *bias : -std::log(static_cast<float>(std::max<index_t>(keys, 1)));
  }
  /// Called by the multi-head layer: the default bias becomes −log(max_positions).
  void bind(index_t max_positions) {
    if (!bias) *this = for_length(max_positions);
  }

  void gather(float*, index_t, index_t, float*, float*) const noexcept {}
  void weigh(float* s, index_t rows, index_t cols, index_t keys, float*, float*, accumulator&) const noexcept {
    Eigen::Map<Eigen::ArrayXf>(s, rows * cols) += bias_for(keys);
    kernels::active::sigmoid(s, s, std::size_t(rows * cols));  // σ(−inf) = 0
  }
  void finish(const float* acc, float, float, float* out, index_t dv) const noexcept { std::copy(acc, acc + dv, out); }
};

/// What the tiled kernel and the decode path call on a normaliser (see the file comment).
template <class N>
concept score_normalizer = requires(const N& n, float* s, index_t i, float* m, float* l, accumulator& acc,
                                    const float* a, float* out) {
  { N::passes } -> std::convertible_to<int>;
  { N::mergeable } -> std::convertible_to<bool>;
  { n.gather(s, i, i, m, l) } noexcept;
  { n.weigh(s, i, i, i, m, l, acc) } noexcept;
  { n.finish(a, 0.0f, 0.0f, out, i) } noexcept;
} && (N::passes == 1 || N::passes == 2);

}  // namespace eigenformer::attention
