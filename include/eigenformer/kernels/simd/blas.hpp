#pragma once
/// @file
/// SIMD (xsimd) twins of kernels/ref/blas.hpp: unaligned loads over full batches, scalar tail
/// through the reference kernel.

#include <eigenformer/kernels/ref/blas.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cstddef>

namespace eigenformer::kernels::simd {

/// Σ a[i]·b[i]. Four independent FMA accumulators hide the FMA latency.
inline float dot(const float* a, const float* b, std::size_t n) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  fbatch s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    s0 = xsimd::fma(fbatch::load_unaligned(a + i), fbatch::load_unaligned(b + i), s0);
    s1 = xsimd::fma(fbatch::load_unaligned(a + i + W), fbatch::load_unaligned(b + i + W), s1);
    s2 = xsimd::fma(fbatch::load_unaligned(a + i + 2 * W), fbatch::load_unaligned(b + i + 2 * W), s2);
    s3 = xsimd::fma(fbatch::load_unaligned(a + i + 3 * W), fbatch::load_unaligned(b + i + 3 * W), s3);
  }
  for (; i + W <= n; i += W)
    s0 = xsimd::fma(fbatch::load_unaligned(a + i), fbatch::load_unaligned(b + i), s0);
  return compat::reduce_sum((s0 + s1) + (s2 + s3)) + ref::dot(a + i, b + i, n - i);
}

/// y[i] += alpha·x[i] (one rounding per element: fused multiply-add).
inline void axpy(float alpha, const float* x, float* y, std::size_t n) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  const fbatch va(alpha);
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    xsimd::fma(va, fbatch::load_unaligned(x + i), fbatch::load_unaligned(y + i)).store_unaligned(y + i);
  ref::axpy(alpha, x + i, y + i, n - i);
}

/// x[i] *= alpha.
inline void scale(float* x, float alpha, std::size_t n) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  const fbatch va(alpha);
  std::size_t i = 0;
  for (; i + W <= n; i += W) (fbatch::load_unaligned(x + i) * va).store_unaligned(x + i);
  ref::scale(x + i, alpha, n - i);
}

/// out[i] = a[i] + b[i].
inline void add(const float* a, const float* b, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    (fbatch::load_unaligned(a + i) + fbatch::load_unaligned(b + i)).store_unaligned(out + i);
  ref::add(a + i, b + i, out + i, n - i);
}

/// out[i] = a[i]·b[i].
inline void mul(const float* a, const float* b, float* out, std::size_t n) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  std::size_t i = 0;
  for (; i + W <= n; i += W)
    (fbatch::load_unaligned(a + i) * fbatch::load_unaligned(b + i)).store_unaligned(out + i);
  ref::mul(a + i, b + i, out + i, n - i);
}

}  // namespace eigenformer::kernels::simd
