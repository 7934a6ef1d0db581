#pragma once
/// @file
/// The two products of a decode step against a bf16 K/V cache (attention/kv_cache.hpp with
/// `weight_type::bf16`): the scores of one fp32 query against cached key rows, and the cached
/// value rows weighted by the probabilities. The cache rows are bf16 bits (2 bytes per value,
/// half the bytes a decode step reads from an fp32 cache); everything else is fp32, and a bf16
/// value widens to fp32 exactly, so each product k·q is the fp32 product of the rounded key.
///
///   dot_rows_bf16:  s[r] = Σ_i k[r, i]·q[i] for r < rows, i < d. The sum runs in 16 lanes: lane
///                   j accumulates the elements i ≡ j (mod 16) in order with one fused
///                   multiply-add each, from +0; then the lanes fold in halves (j + 8, then
///                   j + 4, j + 2, j + 1). The same operations in the same order in both twins:
///                   they agree bit for bit.
///   axpy_rows_bf16: acc[i] = fma(w[r], v[r, i], acc[i]) for r = 0, 1, ... in order, i < dv.
///
/// Twins, as everywhere in kernels/: `ref::` (scalar loops, the definition) and `simd::`
/// (AVX-512F, when the translation unit targets it; elsewhere the simd names run the ref loops).

#include <eigenformer/core/config.hpp>
#include <eigenformer/kernels/gemm_bf16.hpp>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>


namespace eigenformer::kernels {

namespace ref {

/// s[r] = k[r, :d]·q (rows of stride @p ldk), summed as the file comment defines.
inline void dot_rows_bf16(const std::uint16_t* k, std::ptrdiff_t ldk, std::size_t rows, std::size_t d,
                          const float* q, float* s) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint16_t* row = k + std::ptrdiff_t(r) * ldk;
    float lane[16] = {};
    for (std::size_t i = 0; i < d; ++i)
      lane[i % 16] = std::fma(std::bit_cast<float>(std::uint32_t(row[i]) << 16), q[i], lane[i % 16]);
    for (std::size_t w = 8; w >= 1; w /= 2)
      for (std::size_t j = 0; j < w; ++j) lane[j] = lane[j] + lane[j + w];
    s[r] = lane[0];
  }
}

/// acc[:dv] += Σ_r w[r]·v[r, :dv] (rows of stride @p ldv), one fused multiply-add per row and
/// element, rows in order.
inline void axpy_rows_bf16(const float* w, const std::uint16_t* v, std::ptrdiff_t ldv, std::size_t rows,
                           std::size_t dv, float* acc) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint16_t* row = v + std::ptrdiff_t(r) * ldv;
    for (std::size_t i = 0; i < dv; ++i)
      acc[i] = std::fma(w[r], std::bit_cast<float>(std::uint32_t(row[i]) << 16), acc[i]);
  }
}

}  // namespace ref

namespace simd {

#if EIGENFORMER_HAS_AVX512_BF16_GEMM  // AVX-512F
namespace detail {
inline __mmask16 kv_tail_mask(std::size_t n) noexcept {
  return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1u);
}
/// The lanes folded in halves: j + 8, j + 4, j + 2, j + 1 (ref::dot_rows_bf16's order).
inline float kv_fold(__m512 x) noexcept {
  x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
  x = _mm512_add_ps(x, _mm512_permute_ps(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm512_add_ps(x, _mm512_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(x);
}
/// R rows at once (independent chains hide the FMA latency); each row's order is the ref's.
/// D > 0: the row length as a constant (the common head sizes, unrolled); D = 0: @p d.
template <std::size_t R, std::size_t D>
inline void dot_rows(const std::uint16_t* k, std::ptrdiff_t ldk, std::size_t d, const float* q, float* s) noexcept {
  if constexpr (D > 0) d = D;
  __m512 acc[R];
  for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m512 qv = _mm512_loadu_ps(q + i);
    for (std::size_t r = 0; r < R; ++r)
      acc[r] = _mm512_fmadd_ps(load_bf16x16(k + std::ptrdiff_t(r) * ldk + std::ptrdiff_t(i)), qv, acc[r]);
  }
  if (i < d) {
    const __mmask16 m = kv_tail_mask(d - i);
    const __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
    for (std::size_t r = 0; r < R; ++r)
      acc[r] = _mm512_fmadd_ps(load_bf16x16(k + std::ptrdiff_t(r) * ldk + std::ptrdiff_t(i), m), qv, acc[r]);
  }
  for (std::size_t r = 0; r < R; ++r) s[r] = kv_fold(acc[r]);
}
template <std::size_t D>
inline void dot_rows_all(const std::uint16_t* k, std::ptrdiff_t ldk, std::size_t rows, std::size_t d, const float* q,
                         float* s) noexcept {
  const std::size_t blocks = rows / 4;
  for (std::size_t b = 0; b < blocks; ++b) dot_rows<4, D>(k + std::ptrdiff_t(4 * b) * ldk, ldk, d, q, s + 4 * b);
  for (std::size_t r = 4 * blocks; r < rows; ++r) dot_rows<1, D>(k + std::ptrdiff_t(r) * ldk, ldk, d, q, s + r);
}
/// acc[0 .. 16·V) += Σ_r w[r]·v[r, ...]: V whole vectors of the output in registers.
template <std::size_t V>
inline void axpy_rows(const float* w, const std::uint16_t* v, std::ptrdiff_t ldv, std::size_t rows,
                      float* acc) noexcept {
  __m512 a[V];
  for (std::size_t j = 0; j < V; ++j) a[j] = _mm512_loadu_ps(acc + 16 * j);
  for (std::size_t r = 0; r < rows; ++r) {
    const __m512 wr = _mm512_set1_ps(w[r]);
    const std::uint16_t* row = v + std::ptrdiff_t(r) * ldv;
    for (std::size_t j = 0; j < V; ++j) a[j] = _mm512_fmadd_ps(wr, load_bf16x16(row + 16 * j), a[j]);
  }
  for (std::size_t j = 0; j < V; ++j) _mm512_storeu_ps(acc + 16 * j, a[j]);
}
}  // namespace detail

/// ref::dot_rows_bf16, bit for bit.
inline void dot_rows_bf16(const std::uint16_t* k, std::ptrdiff_t ldk, std::size_t rows, std::size_t d,
                          const float* q, float* s) noexcept {
  switch (d) {
    case 64: detail::dot_rows_all<64>(k, ldk, rows, d, q, s); break;
    case 128: detail::dot_rows_all<128>(k, ldk, rows, d, q, s); break;
    default: detail::dot_rows_all<0>(k, ldk, rows, d, q, s); break;
  }
}

/// ref::axpy_rows_bf16, bit for bit.
inline void axpy_rows_bf16(const float* w, const std::uint16_t* v, std::ptrdiff_t ldv, std::size_t rows,
                           std::size_t dv, float* acc) noexcept {
  std::size_t i = 0;
  for (; i + 64 <= dv; i += 64) detail::axpy_rows<4>(w, v + i, ldv, rows, acc + i);
  for (; i + 16 <= dv; i += 16) detail::axpy_rows<1>(w, v + i, ldv, rows, acc + i);
  if (i < dv) {  // the last 1-15 values
    const __mmask16 m = detail::kv_tail_mask(dv - i);
    __m512 a = _mm512_maskz_loadu_ps(m, acc + i);
    for (std::size_t r = 0; r < rows; ++r)
      a = _mm512_fmadd_ps(_mm512_set1_ps(w[r]), detail::load_bf16x16(v + std::ptrdiff_t(r) * ldv + std::ptrdiff_t(i), m), a);
    _mm512_mask_storeu_ps(acc + i, m, a);
  }
}
#else
inline void dot_rows_bf16(const std::uint16_t* k, std::ptrdiff_t ldk, std::size_t rows, std::size_t d,
                          const float* q, float* s) noexcept {
  ref::dot_rows_bf16(k, ldk, rows, d, q, s);
}
inline void axpy_rows_bf16(const float* w, const std::uint16_t* v, std::ptrdiff_t ldv, std::size_t rows,
                           std::size_t dv, float* acc) noexcept {
  ref::axpy_rows_bf16(w, v, ldv, rows, dv, acc);
}
#endif

}  // namespace simd

}  // namespace eigenformer::kernels
