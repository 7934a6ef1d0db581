#pragma once
/// @file
/// SIMD twin of kernels/ref/softmax.hpp (same special-value rules: NaN anywhere → NaN row,
/// all −inf → zeros, +inf → NaN row).

#include <eigenformer/kernels/ref/softmax.hpp>
#include <eigenformer/kernels/simd/activation.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cstddef>
#include <limits>

namespace eigenformer::kernels::simd {

namespace detail {
/// max_nan of @p init and x[0..n).
inline float max_nan(const float* x, std::size_t n, float init) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  float m = init;
  std::size_t i = 0;
  if (n >= W) {
    fbatch m0(init), m1(init);
    for (; i + 2 * W <= n; i += 2 * W) {
      m0 = compat::max_nan(m0, fbatch::load_unaligned(x + i));
      m1 = compat::max_nan(m1, fbatch::load_unaligned(x + i + W));
    }
    for (; i + W <= n; i += W) m0 = compat::max_nan(m0, fbatch::load_unaligned(x + i));
    m = compat::reduce_max_nan(compat::max_nan(m0, m1));
  }
  for (; i < n; ++i) m = compat::max_nan(m, x[i]);
  return m;
}

/// x[i] = e^(x[i] − m) in place; returns Σ x[i].
inline float exp_shifted_sum(float* x, std::size_t n, float m) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  const fbatch vm(m);
  fbatch s0(0.0f), s1(0.0f);
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const fbatch e0 = simd::exp(fbatch::load_unaligned(x + i) - vm);
    const fbatch e1 = simd::exp(fbatch::load_unaligned(x + i + W) - vm);
    e0.store_unaligned(x + i);
    e1.store_unaligned(x + i + W);
    s0 += e0;
    s1 += e1;
  }
  for (; i + W <= n; i += W) {
    const fbatch e0 = simd::exp(fbatch::load_unaligned(x + i) - vm);
    e0.store_unaligned(x + i);
    s0 += e0;
  }
  float sum = compat::reduce_sum(s0 + s1);
  for (; i < n; ++i) {
    x[i] = ref::scalar::exp(x[i] - m);
    sum += x[i];
  }
  return sum;
}
}  // namespace detail

/// x[i] = e^(x[i] − m) / Σ_j e^(x[j] − m), m = max_j x[j]; x: [n], in place. Three passes: max,
/// exp-and-sum (the exponentials are stored back into x), scale by 1/sum.
inline void softmax(float* x, std::size_t n) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  if (n == 0) return;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  const float m = detail::max_nan(x, n, neg_inf);
  std::size_t i = 0;
  if (m == neg_inf) {
    for (i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  const float sum = detail::exp_shifted_sum(x, n, m);
  const float inv = 1.0f / sum;
  const fbatch vinv(inv);
  for (; i + W <= n; i += W) (fbatch::load_unaligned(x + i) * vinv).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= inv;
}

/// Online-softmax step (see ref::online_softmax_step for the contract).
inline float online_softmax_step(float* s, std::size_t n, float& m, float& l) noexcept {
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  const float m_new = detail::max_nan(s, n, m);
  if (m_new == neg_inf) {
    for (std::size_t i = 0; i < n; ++i) s[i] = 0.0f;
    return 1.0f;
  }
  const float alpha = ref::scalar::exp(m - m_new);
  l = l * alpha + detail::exp_shifted_sum(s, n, m_new);
  m = m_new;
  return alpha;
}


}  // namespace eigenformer::kernels::simd
