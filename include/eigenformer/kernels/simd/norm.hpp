#pragma once
/// @file
/// SIMD twins of kernels/ref/norm.hpp (two-pass mean/variance, same formulas).

#include <eigenformer/kernels/ref/norm.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cmath>
#include <cstddef>

namespace eigenformer::kernels::simd {

namespace detail {
/// Σ f(x[i]) with f applied lane-wise over full batches and as `g` on the scalar tail; two
/// accumulators for latency.
template <class F, class G>
inline float reduce(const float* x, std::size_t n, F f, G g) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  fbatch s0(0.0f), s1(0.0f);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += f(fbatch::load_unaligned(x + i));
    s1 += f(fbatch::load_unaligned(x + i + W));
  }
  for (; i + W <= n; i += W) s0 += f(fbatch::load_unaligned(x + i));
  float s = compat::reduce_sum(s0 + s1);
  for (; i < n; ++i) s += g(x[i]);
  return s;
}
}  // namespace detail

/// y = (x − mean)/√(var + eps)·gain + bias. x, y: [n] (y may equal x); gain, bias: [n] or nullptr.
inline void layer_norm(const float* x, float* y, std::size_t n, const float* gain,
                       const float* bias, float eps) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  if (n == 0) return;
  const float mean = detail::reduce(x, n, [](const fbatch& v) { return v; },
                                    [](float v) { return v; }) / static_cast<float>(n);
  const fbatch vmean(mean);
  const float sq = detail::reduce(
      x, n, [&vmean](const fbatch& v) { const fbatch d = v - vmean; return d * d; },
      [mean](float v) { return (v - mean) * (v - mean); });
  const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
  const fbatch vrstd(rstd);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    fbatch v = (fbatch::load_unaligned(x + i) - vmean) * vrstd;
    if (gain) v *= fbatch::load_unaligned(gain + i);
    if (bias) v += fbatch::load_unaligned(bias + i);
    v.store_unaligned(y + i);
  }
  for (; i < n; ++i) {
    float v = (x[i] - mean) * rstd;
    if (gain) v *= gain[i];
    if (bias) v += bias[i];
    y[i] = v;
  }
}

/// y = x/√(mean(x²) + eps)·gain. x, y: [n] (y may equal x); gain: [n] or nullptr.
inline void rms_norm(const float* x, float* y, std::size_t n, const float* gain,
                     float eps) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  if (n == 0) return;
  const float sq = detail::reduce(x, n, [](const fbatch& v) { return v * v; },
                                  [](float v) { return v * v; });
  const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
  const fbatch vrstd(rstd);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    fbatch v = fbatch::load_unaligned(x + i) * vrstd;
    if (gain) v *= fbatch::load_unaligned(gain + i);
    v.store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] = gain ? x[i] * rstd * gain[i] : x[i] * rstd;
}

}  // namespace eigenformer::kernels::simd
