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
/// s' = (−s0, s0, −s1, s1, ...), x' = x·c' + swap_pairs(x)·s'. One load of W cos values widens
/// to the c' of two x batches, so the loop takes 2W coordinates at a time.
inline void rope_interleaved(float* x, std::size_t d, const float* cos,
                             const float* sin) noexcept {
  using compat::fbatch;
  constexpr std::size_t W = compat::width;
  // (−1, +1, −1, +1, ...) turns the duplicated sines into s'.
  alignas(64) float alt[W];
  for (std::size_t k = 0; k < W; ++k) alt[k] = (k % 2 == 0) ? -1.0f : 1.0f;
  const fbatch alternating = fbatch::load_aligned(alt);
  std::size_t i = 0;  // index into x; the pair index is i / 2
  for (; i + 2 * W <= d; i += 2 * W) {
    const fbatch c = fbatch::load_unaligned(cos + i / 2), s = fbatch::load_unaligned(sin + i / 2);
    const fbatch v0 = fbatch::load_unaligned(x + i), v1 = fbatch::load_unaligned(x + i + W);
    const fbatch s0 = compat::duplicate_lo(s) * alternating, s1 = compat::duplicate_hi(s) * alternating;
    (v0 * compat::duplicate_lo(c) + compat::swap_pairs(v0) * s0).store_unaligned(x + i);
    (v1 * compat::duplicate_hi(c) + compat::swap_pairs(v1) * s1).store_unaligned(x + i + W);
  }
  ref::rope_interleaved(x + i, d - i, cos + i / 2, sin + i / 2);
}

}  // namespace eigenformer::kernels::simd
