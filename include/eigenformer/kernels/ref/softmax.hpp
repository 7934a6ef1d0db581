#pragma once
/// @file
/// Scalar reference softmax over one row, in place: max-subtracted, then normalised.
///
/// Special values (the SIMD twin follows the same rules):
///  - a NaN anywhere makes the whole row NaN (the max uses the NaN-sticky rule);
///  - a row whose entries are all −inf (a fully masked row) becomes all zeros, not NaN;
///  - a +inf entry makes the row NaN (inf − inf), as in PyTorch;
///  - an empty row is left alone.

#include <eigenformer/core/config.hpp>
#include <eigenformer/kernels/ref/activation.hpp>

#include <cstddef>
#include <limits>

namespace eigenformer::kernels::ref {

/// x[i] = e^(x[i] − m) / Σ_j e^(x[j] − m), m = max_j x[j]; x: [n], in place.
inline void softmax(float* x, std::size_t n) noexcept {
  if (n == 0) return;
  float m = -std::numeric_limits<float>::infinity();
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] > m || x[i] != x[i]) m = x[i];
  if (m == -std::numeric_limits<float>::infinity()) {
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = scalar::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

/// One step of the online (streaming) softmax of a row that arrives in chunks (FlashAttention's
/// running max and sum). s: [n] scores of this chunk, −inf where masked; m, l: the row's running
/// max and running sum, −inf and 0 before the first chunk. On return s[j] = e^(s[j] − m'),
/// l = l·α + Σ_j s[j], m = m', and the result α = e^(m − m') is the factor by which the caller
/// rescales its output accumulator. While every score seen is −inf, s becomes zeros and α = 1.
/// A NaN score makes m NaN for good (the NaN-sticky max), so the row's output is NaN.
inline float online_softmax_step(float* s, std::size_t n, float& m, float& l) noexcept {
  float m_new = m;
  for (std::size_t i = 0; i < n; ++i)
    if (s[i] > m_new || s[i] != s[i]) m_new = s[i];
  if (m_new == -std::numeric_limits<float>::infinity()) {
    for (std::size_t i = 0; i < n; ++i) s[i] = 0.0f;
    return 1.0f;
  }
  const float alpha = scalar::exp(m - m_new);  // m = −inf gives 0: nothing to rescale
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    s[i] = scalar::exp(s[i] - m_new);
    sum += s[i];
  }
  l = l * alpha + sum;
  m = m_new;
  return alpha;
}

}  // namespace eigenformer::kernels::ref
