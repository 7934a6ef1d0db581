#pragma once
/// @file
/// The linear-layer product with bf16 weights and bf16 activations, summed in fp32, on AVX-512
/// BF16 (`vdpbf16ps`: 16 fp32 lanes, each adding two bf16 products).
///
///   B: [k, n] weights rounded once (at load) to bf16, to nearest even (a NaN stays a NaN,
///      quieted; a value beyond bf16's largest finite rounds to ±inf, as in PyTorch), or taken
///      as they are from a BF16 checkpoint. Packed in 64-column panels of ceil(k / 2) pairs: pair
///      t of panel p holds, for each of its 64 columns c in order, the 32-bit word
///      B[2t + 1, c] << 16 | B[2t, c] (zeros beyond k and n): 256 bytes, four `vdpbf16ps`
///      operands, the same geometry as the int8 panels' quads.
///   A: [m, k] activations rounded to bf16 the same way just before the product (`to_bf16_rows`),
///      padded with zeros to an even k (and to the packed k, so a product over the first k' < k
///      inputs, a MatFormer sub-network, reads zeros beyond k').
///   C[i, c] = bias[c] + Σ_r A[i, r] · B[r, c], the sum in fp32.
///
/// Twins, as everywhere in kernels/:
///  - `ref::to_bf16_rows` and `simd::to_bf16_rows` (AVX-512F integer steps) agree bit for bit.
///  - `ref::gemm_bf16` is the definition: per output, acc = bias (or 0), then acc = fma(A[i, r],
///    B[r, c], acc) for r = 0, 1, 2, ... (each product of two bf16 values is exact in fp32 unless
///    it overflows or leaves the normal range, which fma handles exactly as well).
///  - `simd::gemm_bf16` on a CPU without AVX512-BF16 but with AVX-512F (`simd::detail::
///    gemm_bf16_impl<false>`) widens the bf16 values to fp32 in registers and runs the same fma
///    chain in the same order: bit-identical to the ref.
///  - With AVX512-BF16 (`gemm_bf16_impl<true>`, what `simd::gemm_bf16` runs there), `vdpbf16ps`
///    adds each pair of products in one step, with its own rounding inside the pair and with
///    subnormal inputs and outputs flushed to zero (the instruction ignores MXCSR). Its result is
///    within k · 2^-24 · Σ_r |A[i, r] · B[r, c]| of the ref's (each is within (k/2 + 1) · 2^-24 ·
///    Σ|·| of the exact sum of the rounded operands), plus k · 2^-126 for the flushed terms.

#include <eigenformer/core/config.hpp>
#include <eigenformer/kernels/gemm.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if EIGENFORMER_USE_SIMD && defined(__AVX512F__)
#include <immintrin.h>
#define EIGENFORMER_HAS_AVX512_BF16_GEMM 1
#else
#define EIGENFORMER_HAS_AVX512_BF16_GEMM 0
#endif
#if EIGENFORMER_HAS_AVX512_BF16_GEMM && defined(__AVX512BF16__)
#define EIGENFORMER_HAS_NATIVE_BF16_DOT 1
#else
#define EIGENFORMER_HAS_NATIVE_BF16_DOT 0
#endif

namespace eigenformer::kernels {

/// bf16 values in one converted activation row for a product with @p k inputs: k rounded up to
/// a multiple of 2 (one `vdpbf16ps` lane).
inline constexpr std::size_t bf16_row_elems(std::size_t k) noexcept { return (k + 1) / 2 * 2; }

/// @p x rounded to bf16, to nearest even; a NaN stays a NaN (quieted, sign kept).
inline std::uint16_t to_bf16(float x) noexcept {
  const std::uint32_t b = std::bit_cast<std::uint32_t>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((b >> 16) | 0x40u);
  return static_cast<std::uint16_t>((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}
/// The float a bf16 value stands for (exact).
inline float from_bf16(std::uint16_t h) noexcept { return std::bit_cast<float>(std::uint32_t(h) << 16); }

/// B [k, n] in bf16, packed for `gemm_bf16` (see the file comment for the layout). Owner of
/// aligned storage; copyable.
class packed_bf16_matrix {
 public:
  static constexpr std::size_t panel_width = 64;
  static constexpr std::size_t pair_elems = 2 * panel_width;  ///< bf16 values in one pair of one panel

  packed_bf16_matrix() = default;
  /// Rounds and packs B given row-major [k, n] with row stride @p ld (`transposed` = false), or
  /// as its transpose [n, k] (`transposed` = true: nn.Linear's [out, in]). @p exec runs the
  /// panels (kernels::serial_panels).
  template <class Exec = serial_panels>
  packed_bf16_matrix(const float* b, std::ptrdiff_t ld, std::size_t k, std::size_t n, bool transposed = false,
                     const Exec& exec = {})
      : packed_bf16_matrix(k, n, exec, [&](std::size_t p, std::uint16_t* panel) noexcept {
          constexpr std::size_t R = 32;  // through a tile of floats, read along b's rows
          const std::size_t c0 = p * panel_width, cols = std::min(panel_width, n - c0);
          alignas(64) float v[R][panel_width];
          for (std::size_t r0 = 0; r0 < k; r0 += R) {
            const std::size_t rows = std::min(R, k - r0);
            detail::load_tile(b, ld, transposed, r0, rows, c0, cols, v);
            for (std::size_t r = 0; r < rows; ++r) {
              std::uint16_t* row = panel + ((r0 + r) / 2) * pair_elems + r % 2;
              for (std::size_t c = 0; c < panel_width; ++c) row[2 * c] = to_bf16(v[r][c]);
            }
          }
        }) {}
  /// Packs B given as bf16 bits (a BF16 checkpoint's tensor, little-endian, any alignment),
  /// laid out as the float constructor's @p b: no rounding, no float copy.
  template <class Exec = serial_panels>
  static packed_bf16_matrix from_bits(const std::byte* b, std::ptrdiff_t ld, std::size_t k, std::size_t n,
                                      bool transposed = false, const Exec& exec = {}) {
    return packed_bf16_matrix(k, n, exec, [&](std::size_t p, std::uint16_t* panel) noexcept {
      const std::size_t c0 = p * panel_width, cols = std::min(panel_width, n - c0);
      for (std::size_t r = 0; r < k; ++r) {  // row by row: both source layouts stay in cache
        std::uint16_t* row = panel + (r / 2) * pair_elems + r % 2;
        for (std::size_t c = 0; c < cols; ++c) {
          const std::ptrdiff_t i = transposed ? std::ptrdiff_t(c0 + c) * ld + std::ptrdiff_t(r)
                                              : std::ptrdiff_t(r) * ld + std::ptrdiff_t(c0 + c);
          std::memcpy(row + 2 * c, b + 2 * i, 2);
        }
      }
    });
  }

  packed_bf16_matrix(packed_bf16_matrix&&) noexcept = default;
  packed_bf16_matrix& operator=(packed_bf16_matrix&&) noexcept = default;
  packed_bf16_matrix(const packed_bf16_matrix& o)
      : k_(o.k_), n_(o.n_), panels_(o.panels_), pairs_(o.pairs_), data_(o.words()) {
    if (words()) std::memcpy(data_.data(), o.data_.data(), words() * sizeof(float));
  }
  packed_bf16_matrix& operator=(const packed_bf16_matrix& o) {
    if (this != &o) *this = packed_bf16_matrix(o);
    return *this;
  }

  std::size_t rows() const noexcept { return k_; }  ///< k
  std::size_t cols() const noexcept { return n_; }  ///< n
  std::size_t panels() const noexcept { return panels_; }
  std::size_t pairs() const noexcept { return pairs_; }
  /// Bytes held (the panels, padding included): pairs · 256 · panels.
  std::size_t bytes() const noexcept { return words() * sizeof(float); }
  /// Panel p: pairs() × 128 bf16 values, 64-byte aligned.
  const std::uint16_t* panel(std::size_t p) const noexcept { return raw() + p * pairs_ * pair_elems; }
  /// The bf16 bits of B[r, c] (0 for r ≥ k).
  std::uint16_t bits(std::size_t r, std::size_t c) const noexcept {
    return panel(c / panel_width)[(r / 2) * pair_elems + (c % panel_width) * 2 + r % 2];
  }
  /// The weight the product uses.
  float value(std::size_t r, std::size_t c) const noexcept { return from_bf16(bits(r, c)); }

 private:
  /// Allocates, zeroes each panel and calls `fill(p, panel)` to write panel p's values, over
  /// the panels as @p exec splits them.
  template <class Exec, class Fill>
  packed_bf16_matrix(std::size_t k, std::size_t n, const Exec& exec, const Fill& fill)
      : k_(k), n_(n), panels_((n + panel_width - 1) / panel_width), pairs_((k + 1) / 2), data_(words()) {
    exec(panels_, [&](std::size_t p0, std::size_t p1) noexcept {
      for (std::size_t p = p0; p < p1; ++p) {
        if (pairs_ == 0) return;  // k = 0: nothing allocated, nothing to write
        std::uint16_t* panel = raw() + p * pairs_ * pair_elems;
        std::memset(panel, 0, pairs_ * pair_elems * sizeof(std::uint16_t));
        fill(p, panel);
      }
    });
  }
  std::size_t words() const noexcept { return pairs_ * panel_width * panels_; }  // 32-bit words
  std::uint16_t* raw() noexcept { return reinterpret_cast<std::uint16_t*>(data_.data()); }
  const std::uint16_t* raw() const noexcept { return reinterpret_cast<const std::uint16_t*>(data_.data()); }

  std::size_t k_ = 0, n_ = 0, panels_ = 0, pairs_ = 0;
  weight_buffer data_;
};

/// The arguments of one bf16 product, shared by both twins. The converted rows must hold
/// `bf16_row_elems(b->rows())` values each (to_bf16_rows pads them); only columns [0, n) with
/// n ≤ b->cols() are computed.
struct gemm_bf16_args {
  const std::uint16_t* a = nullptr;  ///< [m, bf16_row_elems(k)] bf16 rows, row stride lda (elements)
  std::ptrdiff_t lda = 0;
  std::size_t m = 0, n = 0;
  const packed_bf16_matrix* b = nullptr;
  const float* bias = nullptr;  ///< [n] or null
  float* c = nullptr;           ///< [m, n], row stride ldc
  std::ptrdiff_t ldc = 0;
};

namespace ref {

/// Rounds rows a [m, k] (row stride lda) to bf16 into u [m, bf16_row_elems(max(k, padded_k))]
/// (row stride ldu elements); the values beyond k are zeros.
inline void to_bf16_rows(const float* a, std::ptrdiff_t lda, std::size_t m, std::size_t k, std::size_t padded_k,
                         std::uint16_t* u, std::ptrdiff_t ldu) noexcept {
  const std::size_t width = bf16_row_elems(std::max(k, padded_k));
  for (std::size_t i = 0; i < m; ++i) {
    const float* x = a + std::ptrdiff_t(i) * lda;
    std::uint16_t* out = u + std::ptrdiff_t(i) * ldu;
    for (std::size_t r = 0; r < k; ++r) out[r] = to_bf16(x[r]);
    for (std::size_t r = k; r < width; ++r) out[r] = 0;
  }
}

/// Columns [64·p0, 64·p1) of C (see the file comment), then the epilogue on each output row.
template <class Epilogue = no_epilogue>
inline void gemm_bf16(const gemm_bf16_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  constexpr std::size_t W = packed_bf16_matrix::panel_width;
  const std::size_t j0 = std::min(g.n, p0 * W), j1 = std::min(g.n, p1 * W), kk = g.b->pairs() * 2;
  for (std::size_t i = 0; i < g.m; ++i) {
    const std::uint16_t* a = g.a + std::ptrdiff_t(i) * g.lda;
    float* c = g.c + std::ptrdiff_t(i) * g.ldc;
    for (std::size_t j = j0; j < j1; ++j) {
      float acc = g.bias ? g.bias[j] : 0.0f;
      for (std::size_t r = 0; r < kk; ++r) acc = std::fma(from_bf16(a[r]), g.b->value(r, j), acc);
      c[j] = acc;
    }
    for (std::size_t j = j0; j < j1; j += W) epilogue(c + j, std::min(W, j1 - j));
  }
}
template <class Epilogue = no_epilogue>
inline void gemm_bf16(const gemm_bf16_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm_bf16(g, 0, gemm_panels(g.n), epilogue);
}

}  // namespace ref

namespace simd {

#if EIGENFORMER_HAS_AVX512_BF16_GEMM
/// True when `simd::gemm_bf16` runs AVX-512 code (with `vdpbf16ps` when `has_native_bf16_dot`).
inline constexpr bool has_gemm_bf16 = true;
inline constexpr bool has_native_bf16_dot = EIGENFORMER_HAS_NATIVE_BF16_DOT;

/// Same result as ref::to_bf16_rows, 16 floats at a time (integer steps, so subnormals round
/// as the ref rounds them).
inline void to_bf16_rows(const float* a, std::ptrdiff_t lda, std::size_t m, std::size_t k, std::size_t padded_k,
                         std::uint16_t* u, std::ptrdiff_t ldu) noexcept {
  const std::size_t width = bf16_row_elems(std::max(k, padded_k));
  const __m512i round = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x40);
  for (std::size_t i = 0; i < m; ++i) {
    const float* x = a + std::ptrdiff_t(i) * lda;
    std::uint16_t* out = u + std::ptrdiff_t(i) * ldu;
    for (std::size_t r = 0; r < k; r += 16) {
      const __mmask16 lanes = k - r >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - r)) - 1u);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + r);
      const __m512i b = _mm512_castps_si512(v), high = _mm512_srli_epi32(b, 16);
      __m512i h = _mm512_srli_epi32(_mm512_add_epi32(b, _mm512_add_epi32(round, _mm512_and_si512(high, one))), 16);
      h = _mm512_mask_or_epi32(h, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), high, quiet);
      _mm512_mask_cvtepi32_storeu_epi16(out + r, lanes, h);
    }
    for (std::size_t r = k; r < width; ++r) out[r] = 0;
  }
}

namespace detail {

/// 16 bf16 values widened to fp32 (exact): the int4 scales, the bf16 K/V cache rows.
inline __m512 load_bf16x16(const std::uint16_t* p) noexcept {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
/// The same for the lanes under @p m, zeros elsewhere (nothing read beyond them).
inline __m512 load_bf16x16(const std::uint16_t* p, __mmask16 m) noexcept {
  const __m256i h = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

inline constexpr std::size_t gemm_bf16_mr = 6;  // rows per micro-tile: 24 accumulators

/// One MR × 64 tile over the whole of k, starting from the bias. Native: `vdpbf16ps`; else the
/// pair widened to fp32 (the low half shifted up, the high half masked) and two fmas.
template <std::size_t MR, bool Native>
inline void bf16_tile(const gemm_bf16_args& g, std::size_t i, std::size_t p, const __mmask16 (&mask)[4]) noexcept {
  constexpr std::size_t W = packed_bf16_matrix::panel_width;
  const std::size_t pairs = g.b->pairs(), c0 = p * W;
  const std::uint16_t* b = g.b->panel(p);
  const std::uint16_t* ar[MR];
  for (std::size_t r = 0; r < MR; ++r) ar[r] = g.a + std::ptrdiff_t(i + r) * g.lda;
  __m512 acc[MR][4];
  for (std::size_t j = 0; j < 4; ++j) {
    const __m512 bias = g.bias ? _mm512_maskz_loadu_ps(mask[j], g.bias + c0 + 16 * j) : _mm512_setzero_ps();
    for (std::size_t r = 0; r < MR; ++r) acc[r][j] = bias;
  }
  [[maybe_unused]] const __m512i high_half = _mm512_set1_epi32(int(0xffff0000u));
  for (std::size_t t = 0; t < pairs; ++t, b += packed_bf16_matrix::pair_elems) {
    if constexpr (MR <= 2) simd::detail::prefetch_steps_ahead(b);  // few rows (decode)
    __m512i bv[4];
    for (std::size_t j = 0; j < 4; ++j) bv[j] = _mm512_load_si512(b + 32 * j);
    if constexpr (Native) {
#if EIGENFORMER_HAS_NATIVE_BF16_DOT
      for (std::size_t r = 0; r < MR; ++r) {
        std::int32_t two;
        std::memcpy(&two, ar[r] + 2 * t, 4);
        const __m512i av = _mm512_set1_epi32(two);
        for (std::size_t j = 0; j < 4; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], std::bit_cast<__m512bh>(av), std::bit_cast<__m512bh>(bv[j]));
      }
#endif
    } else {
      __m512 lo[4], hi[4];
      for (std::size_t j = 0; j < 4; ++j) {
        lo[j] = _mm512_castsi512_ps(_mm512_slli_epi32(bv[j], 16));
        hi[j] = _mm512_castsi512_ps(_mm512_and_si512(bv[j], high_half));
      }
      for (std::size_t r = 0; r < MR; ++r) {
        const __m512 a0 = _mm512_set1_ps(from_bf16(ar[r][2 * t])), a1 = _mm512_set1_ps(from_bf16(ar[r][2 * t + 1]));
        for (std::size_t j = 0; j < 4; ++j) acc[r][j] = _mm512_fmadd_ps(a1, hi[j], _mm512_fmadd_ps(a0, lo[j], acc[r][j]));
      }
    }
  }
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t r = 0; r < MR; ++r)
      _mm512_mask_storeu_ps(g.c + std::ptrdiff_t(i + r) * g.ldc + std::ptrdiff_t(c0 + 16 * j), mask[j], acc[r][j]);
}

template <bool Native>
inline void bf16_rows(std::size_t rows, const gemm_bf16_args& g, std::size_t i, std::size_t p,
                      const __mmask16 (&mask)[4]) noexcept {
  switch (rows) {
    case 6: bf16_tile<6, Native>(g, i, p, mask); break;
    case 5: bf16_tile<5, Native>(g, i, p, mask); break;
    case 4: bf16_tile<4, Native>(g, i, p, mask); break;
    case 3: bf16_tile<3, Native>(g, i, p, mask); break;
    case 2: bf16_tile<2, Native>(g, i, p, mask); break;
    default: bf16_tile<1, Native>(g, i, p, mask); break;
  }
}

/// Columns [64·p0, 64·p1) of C, then the epilogue, with `vdpbf16ps` (Native, only where the
/// target has AVX512-BF16) or the widening fma chain; blocked as whole_k_tiles says.
template <bool Native, class Epilogue = no_epilogue>
inline void gemm_bf16_impl(const gemm_bf16_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  static_assert(!Native || EIGENFORMER_HAS_NATIVE_BF16_DOT, "vdpbf16ps needs a target with AVX512-BF16");
  whole_k_tiles<gemm_bf16_mr>(
      g.m, g.n, g.c, g.ldc, p0, p1,
      [&](std::size_t rows, std::size_t i, std::size_t p, const __mmask16(&mask)[4]) {
        bf16_rows<Native>(rows, g, i, p, mask);
      },
      epilogue);
}

}  // namespace detail

/// Columns [64·p0, 64·p1) of C, then the epilogue: the unit of work a caller hands each thread.
/// `vdpbf16ps` where the target has AVX512-BF16 (within the file comment's bound of the ref),
/// else bit-identical to ref::gemm_bf16.
template <class Epilogue = no_epilogue>
inline void gemm_bf16(const gemm_bf16_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  detail::gemm_bf16_impl<has_native_bf16_dot>(g, p0, p1, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm_bf16(const gemm_bf16_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm_bf16(g, 0, gemm_panels(g.n), epilogue);
}
#else
inline constexpr bool has_gemm_bf16 = false;
inline constexpr bool has_native_bf16_dot = false;

/// Without AVX-512 the reference loops stand in.
inline void to_bf16_rows(const float* a, std::ptrdiff_t lda, std::size_t m, std::size_t k, std::size_t padded_k,
                         std::uint16_t* u, std::ptrdiff_t ldu) noexcept {
  ref::to_bf16_rows(a, lda, m, k, padded_k, u, ldu);
}
template <class Epilogue = no_epilogue>
inline void gemm_bf16(const gemm_bf16_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  ref::gemm_bf16(g, p0, p1, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm_bf16(const gemm_bf16_args& g, Epilogue&& epilogue = {}) noexcept {
  ref::gemm_bf16(g, epilogue);
}
#endif

}  // namespace simd

}  // namespace eigenformer::kernels
