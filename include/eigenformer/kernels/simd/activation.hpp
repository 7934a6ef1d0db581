#pragma once
/// @file
/// SIMD twins of kernels/ref/activation.hpp, built on one vectorised exp.

#include <eigenformer/kernels/ref/activation.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace eigenformer::kernels::simd {

/// e^x lane-wise, within 2 ulp of a correctly rounded expf over all floats (subnormal results
/// included). Cephes-style: x = n·ln2 + r with ln2 split in two so n·ln2 is exact, e^r from a
/// degree-6 polynomial on |r| ≤ ln2/2, then 2^n applied as two exponent scalings so that results
/// down to the smallest subnormal are reached. x > 88.72 gives +inf, x < −103.98 gives 0, NaN
/// stays NaN.
inline compat::fbatch exp(const compat::fbatch& x) noexcept {
  using compat::fbatch;
  using compat::ibatch;
  const fbatch hi(88.72283935546875f), lo(-103.97820281982422f);
  const fbatch xc = xsimd::min(xsimd::max(x, lo), hi);
  // n = round(x / ln2) via the 1.5·2^23 trick: adding it leaves the rounded integer in the low
  // mantissa bits, so n is recovered exactly with an integer subtraction.
  const fbatch shifter(12582912.0f);
  const fbatch t = xsimd::fma(xc, fbatch(1.44269504088896341f), shifter);
  const fbatch n = t - shifter;
  const ibatch ni = compat::as_int(t) - compat::as_int(shifter);
  fbatch r = xsimd::fnma(n, fbatch(0.693359375f), xc);
  r = xsimd::fnma(n, fbatch(-2.12194440e-4f), r);
  fbatch p(1.9875691500e-4f);
  p = xsimd::fma(p, r, fbatch(1.3981999507e-3f));
  p = xsimd::fma(p, r, fbatch(8.3334519073e-3f));
  p = xsimd::fma(p, r, fbatch(4.1665795894e-2f));
  p = xsimd::fma(p, r, fbatch(1.6666665459e-1f));
  p = xsimd::fma(p, r, fbatch(5.0000001201e-1f));
  p = xsimd::fma(p, r * r, r + fbatch(1.0f));
  // 2^n = 2^n1 · 2^n2 with n1 = n >> 1, n2 = n − n1, both within the normal exponent range.
  const ibatch n1 = ni >> 1;
  const ibatch n2 = ni - n1;
  const ibatch bias(127);
  fbatch y = p * compat::as_float((n1 + bias) << 23) * compat::as_float((n2 + bias) << 23);
  y = xsimd::select(x > hi, fbatch(std::numeric_limits<float>::infinity()), y);
  y = xsimd::select(x < lo, fbatch(0.0f), y);
  return xsimd::select(compat::is_nan(x), x, y);
}

/// Logistic sigmoid 1 / (1 + e^−x) lane-wise.
inline compat::fbatch sigmoid(const compat::fbatch& x) noexcept {
  return compat::fbatch(1.0f) / (compat::fbatch(1.0f) + simd::exp(-x));
}

namespace detail {
/// Applies @p vec over full batches and @p tail (a ref kernel) over the rest.
template <class Vec, class Tail>
inline void map(const float* x, float* out, std::size_t n, Vec vec, Tail tail) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W) vec(fbatch::load_unaligned(x + i)).store_unaligned(out + i);
  tail(x + i, out + i, n - i);
}
}  // namespace detail

/// out[i] = e^x[i].
inline void exp(const float* x, float* out, std::size_t n) noexcept {
  detail::map(x, out, n, [](const compat::fbatch& v) { return simd::exp(v); }, ref::exp);
}

/// out[i] = 0.5·x·(1 + erf(x/√2)), with xsimd's vectorised erf.
inline void gelu_erf(const float* x, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  detail::map(x, out, n, [](const fbatch& v) {
    return fbatch(0.5f) * v * (fbatch(1.0f) + xsimd::erf(v * fbatch(0.70710678118654752f)));
  }, ref::gelu_erf);
}

/// out[i] = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), computed as the identical
/// x·σ(2u) = x / (1 + e^−2u), which needs one exp and no cancellation for negative x.
inline void gelu_tanh(const float* x, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  detail::map(x, out, n, [](const fbatch& v) {
    const fbatch u2 = fbatch(2.0f * 0.79788456080286536f) *
                      xsimd::fma(fbatch(0.044715f) * v, v * v, v);
    return v / (fbatch(1.0f) + simd::exp(-u2));
  }, ref::gelu_tanh);
}

/// out[i] = σ(x[i]).
inline void sigmoid(const float* x, float* out, std::size_t n) noexcept {
  detail::map(x, out, n, [](const compat::fbatch& v) { return simd::sigmoid(v); }, ref::sigmoid);
}

/// out[i] = x[i] / (1 + e^−x[i]).
inline void silu(const float* x, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  detail::map(x, out, n, [](const fbatch& v) { return v / (fbatch(1.0f) + simd::exp(-v)); },
              ref::silu);
}

/// out[i] = x[i] + 1 if x[i] > 0, else e^x[i] (NaN stays NaN through exp).
inline void elu_plus_one(const float* x, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  detail::map(x, out, n, [](const fbatch& v) {
    const auto pos = v > fbatch(0.0f);  // false for NaN, which then goes through exp
    return xsimd::select(pos, v + fbatch(1.0f), simd::exp(xsimd::select(pos, fbatch(0.0f), v)));
  }, ref::elu_plus_one);
}

/// out[i] = x[i] > 0 or NaN ? x[i] : +0.
inline void relu(const float* x, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  detail::map(x, out, n, [](const fbatch& v) { return xsimd::select(v <= fbatch(0.0f), fbatch(0.0f), v); },
              ref::relu);
}

}  // namespace eigenformer::kernels::simd
