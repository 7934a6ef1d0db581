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

}  // namespace eigenformer::kernels::ref
