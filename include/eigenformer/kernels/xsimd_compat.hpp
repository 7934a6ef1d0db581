#pragma once
/// @file
/// The one header that includes xsimd and hides the differences between its versions
/// (Debian 12 ships 8.1; 9+ renamed `hadd` to `reduce_add`, added `reduce_max` and changed
/// `bitwise_cast`). Kernels use xsimd only through these names and the operators of `batch`.

#include <eigenformer/core/config.hpp>

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace eigenformer::kernels::compat {

/// The float batch of the instruction set the including translation unit is compiled for
/// (AVX-512 under -march=native on this project's machines).
using fbatch = xsimd::batch<float>;
using ibatch = xsimd::batch<std::int32_t>;
using u64batch = xsimd::batch<std::uint64_t>;

/// Number of floats in fbatch.
inline constexpr std::size_t width = fbatch::size;

/// Human-readable name of the instruction set fbatch uses, e.g. "avx512bw".
inline const char* arch_name() noexcept { return fbatch::arch_type::name(); }

/// Sum of the lanes of @p v.
inline float reduce_sum(const fbatch& v) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(v);
#else
  return xsimd::hadd(v);
#endif
}

/// The "NaN-sticky maximum" rule every kernel uses: the larger of @p a and @p b, and NaN when
/// either is NaN, so that a NaN anywhere in a reduction reaches its result.
inline float max_nan(float a, float b) noexcept { return (b > a || b != b) ? b : a; }

/// Lane-wise NaN test. Never write `v != v`: xsimd 8's AVX-512 `!=` is the ordered compare
/// (_CMP_NEQ_OQ), false for NaN.
inline auto is_nan(const fbatch& v) noexcept { return xsimd::isnan(v); }

/// Lane-wise max_nan(a, b) (a hardware max returns a fixed operand on NaN, which loses it).
inline fbatch max_nan(const fbatch& a, const fbatch& b) noexcept {
  return xsimd::select((b > a) | is_nan(b), b, a);
}

/// The max_nan of all lanes of @p v (xsimd 8 has no horizontal max).
inline float reduce_max_nan(const fbatch& v) noexcept {
  alignas(64) float lanes[width];
  v.store_aligned(lanes);
  float m = lanes[0];
  for (std::size_t i = 1; i < width; ++i) m = max_nan(m, lanes[i]);
  return m;
}

/// Reinterprets the bits of a float batch as int32 lanes, and back.
inline ibatch as_int(const fbatch& v) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::bitwise_cast<std::int32_t>(v);
#else
  return xsimd::bitwise_cast<ibatch>(v);
#endif
}
inline fbatch as_float(const ibatch& v) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::bitwise_cast<float>(v);
#else
  return xsimd::bitwise_cast<fbatch>(v);
#endif
}

/// Swaps the two floats of every adjacent pair: (a0, a1, a2, a3, ...) -> (a1, a0, a3, a2, ...).
/// Done as a 32-bit rotation of each 64-bit lane, which every instruction set has.
inline fbatch swap_pairs(const fbatch& v) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  const u64batch u = xsimd::bitwise_cast<std::uint64_t>(v);
  return xsimd::bitwise_cast<float>(u64batch((u << 32) | (u >> 32)));
#else
  const u64batch u = xsimd::bitwise_cast<u64batch>(v);
  return xsimd::bitwise_cast<fbatch>(u64batch((u << 32) | (u >> 32)));
#endif
}

namespace detail {
// Lane-index generators for xsimd::make_batch_constant: lane i takes lane i/2 (+ W/2 for hi).
struct dup_lo_index {
  static constexpr std::uint32_t get(std::size_t i, std::size_t) { return static_cast<std::uint32_t>(i / 2); }
};
struct dup_hi_index {
  static constexpr std::uint32_t get(std::size_t i, std::size_t n) {
    return static_cast<std::uint32_t>(n / 2 + i / 2);
  }
};
template <class Index>
inline fbatch duplicate(const fbatch& v) noexcept {
#if XSIMD_VERSION_MAJOR == 8
  using mask_batch = xsimd::batch<std::uint32_t, fbatch::arch_type>;
  return xsimd::swizzle(v, xsimd::make_batch_constant<mask_batch, Index>());
#else
  // The batch_constant spelling changed after xsimd 8; this portable path is correct everywhere.
  alignas(64) float in[width], out[width];
  v.store_aligned(in);
  for (std::size_t i = 0; i < width; ++i) out[i] = in[Index::get(i, width)];
  return fbatch::load_aligned(out);
#endif
}
}  // namespace detail

/// (v0, v0, v1, v1, ..., v_{W/2-1}, v_{W/2-1}): each lane of the low half, twice.
inline fbatch duplicate_lo(const fbatch& v) noexcept { return detail::duplicate<detail::dup_lo_index>(v); }
/// (v_{W/2}, v_{W/2}, ..., v_{W-1}, v_{W-1}): each lane of the high half, twice.
inline fbatch duplicate_hi(const fbatch& v) noexcept { return detail::duplicate<detail::dup_hi_index>(v); }

}  // namespace eigenformer::kernels::compat
