#pragma once
/// @file
/// Scalar reference rotary position embedding (RoPE, Su et al. 2021) of one head vector, in place.
/// cos[i] = cos(p·θ_i), sin[i] = sin(p·θ_i) for the token's position p and θ_i = base^(−2i/d);
/// both have d/2 entries. Two pairings of the d coordinates exist in the wild:
///  - half-split (GPT-NeoX, Hugging Face Llama): pair i is (x[i], x[i + d/2]);
///  - interleaved (GPT-J, Meta's original Llama): pair i is (x[2i], x[2i + 1]).
/// Each pair (a, b) becomes (a·cos − b·sin, b·cos + a·sin).

#include <eigenformer/core/config.hpp>

#include <cstddef>

namespace eigenformer::kernels::ref {

/// Rotates the pairs (a[i], b[i]) for i < count: the half-split layout with a = x, b = x + d/2.
inline void rotate_pairs(float* a, float* b, const float* cos, const float* sin,
                         std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const float u = a[i], v = b[i];
    a[i] = u * cos[i] - v * sin[i];
    b[i] = v * cos[i] + u * sin[i];
  }
}

/// Half-split RoPE. x: [d], d even; cos, sin: [d/2].
inline void rope_half(float* x, std::size_t d, const float* cos, const float* sin) noexcept {
  rotate_pairs(x, x + d / 2, cos, sin, d / 2);
}

/// Interleaved RoPE. x: [d], d even; cos, sin: [d/2].
inline void rope_interleaved(float* x, std::size_t d, const float* cos,
                             const float* sin) noexcept {
  for (std::size_t i = 0; i < d / 2; ++i) {
    const float a = x[2 * i], b = x[2 * i + 1];
    x[2 * i] = a * cos[i] - b * sin[i];
    x[2 * i + 1] = b * cos[i] + a * sin[i];
  }
}

}  // namespace eigenformer::kernels::ref
