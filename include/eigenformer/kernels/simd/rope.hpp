#pragma once
/// @file
/// SIMD twins of kernels/ref/rope.hpp.

#include <eigenformer/kernels/ref/rope.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cstddef>

namespace eigenformer::kernels::simd {

/// Half-split RoPE. x: [d], d even; cos, sin: [d/2]. Pairs are W apart in memory, so both halves
/// load with plain vector loads.
inline void rope_half(float* x, std::size_t d, const float* cos, const float* sin) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  const std::size_t h = d / 2;
  std::size_t i = 0;
  for (; i + W <= h; i += W) {
    const fbatch a = fbatch::load_unaligned(x + i), b = fbatch::load_unaligned(x + i + h);
    const fbatch c = fbatch::load_unaligned(cos + i), s = fbatch::load_unaligned(sin + i);
    (a * c - b * s).store_unaligned(x + i);
    (b * c + a * s).store_unaligned(x + i + h);
  }
  ref::rotate_pairs(x + i, x + h + i, cos + i, sin + i, h - i);
}

/// Interleaved RoPE. x: [d], d even; cos, sin: [d/2]. With c' = (c0, c0, c1, c1, ...) and
/// s' = (−s0, s0, −s1, s1, ...), x' = x·c' + swap_pairs(x)·s'. c' and s' are widened through a
/// small stack buffer: xsimd 8 has no portable lane duplication.
inline void rope_interleaved(float* x, std::size_t d, const float* cos,
                             const float* sin) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  std::size_t i = 0;  // index into x; pair index is i / 2
  for (; i + W <= d; i += W) {
    alignas(64) float cw[W], sw[W];
    for (std::size_t k = 0; k < W / 2; ++k) {
      cw[2 * k] = cw[2 * k + 1] = cos[i / 2 + k];
      sw[2 * k] = -sin[i / 2 + k];
      sw[2 * k + 1] = sin[i / 2 + k];
    }
    const fbatch v = fbatch::load_unaligned(x + i);
    (v * fbatch::load_aligned(cw) + compat::swap_pairs(v) * fbatch::load_aligned(sw))
        .store_unaligned(x + i);
  }
  ref::rope_interleaved(x + i, d - i, cos + i / 2, sin + i / 2);
}

}  // namespace eigenformer::kernels::simd
