#pragma once
/// @file
/// The linear-layer product with int8 weights and int8 activations, on AVX-512 VNNI
/// (`vpdpbusd`: 64 unsigned × signed byte products summed four by four into 16 int32 lanes).
///
///   B: [k, n] float weights, quantised once (at load) symmetric per output column:
///        s_b[c] = max_r |B[r, c]| / 127,   q[r, c] = clamp(round(B[r, c] / s_b[c]), −127, 127)
///      (a column of zeros has s_b = 0 and q = 0; a column holding ±inf or NaN has s_b = NaN,
///      so its outputs are NaN, as fp32 would make them). Packed in 64-column panels of
///      ceil(k / 4) quads: quad t of panel p holds, for each of its 64 columns c in order, the
///      four bytes q[4t .. 4t+3, c] (zero beyond k and n): 256 bytes, four `vpdpbusd` operands.
///      Beside the panels: s_b and the zero-point term 128 · Σ_r q[r, c] of each column.
///   A: [m, k] float activations, quantised per row (token) just before the product
///      (`quantize_rows`): s_a = max_r |a[r]| / 127, u[r] = clamp(round(a[r] / s_a), −127, 127)
///      + 128 ∈ [1, 255], unsigned as `vpdpbusd` takes it, padded to the packed k with 128 (that
///      is, zero). A row holding ±inf or NaN gets s_a = NaN (all its outputs NaN); a row whose
///      s_a is 0 (all zeros, or below 127 · the smallest subnormal) gets u = 128 (zeros).
///   C[i, c] = float(Σ_r u[i, r] · q[r, c] − 128 · Σ_r q[r, c]) · (s_a[i] · s_b[c]) (+ bias[c],
///      as one fma). The integer sum is exact (k ≤ `int8_max_k`, so |Σ| < 2^31) and the float
///      steps are the same operations in the same order in both twins: they agree bit for bit.
///
/// Padding A's quantised rows with zeros (u = 128) up to B's packed k makes a product over the
/// first k' < k inputs (a MatFormer sub-network) exact too: the zero-point term covers the whole
/// column, and the padded inputs contribute 128 · q, which it cancels.
///
/// Twins, as everywhere in kernels/: `ref::quantize_rows` / `ref::gemm_int8` (scalar loops, the
/// definition), and `simd::` versions compiled when the translation unit targets AVX-512F
/// (quantisation) and AVX-512BW (product): `simd::has_gemm_int8`. The product runs on
/// `vpdpbusd` where the target has AVX-512 VNNI (`simd::has_native_vnni`), else on
/// `simd::detail::dpbusd<false>` (the same exact integer sums from two `vpmaddwd` on the even
/// and odd bytes widened to 16 bits); both agree with the ref bit for bit.
/// Elsewhere the simd names run the ref loops.

#include <eigenformer/core/config.hpp>
#include <eigenformer/kernels/gemm.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if EIGENFORMER_USE_SIMD && defined(__AVX512F__)
#include <immintrin.h>
#define EIGENFORMER_HAS_AVX512_QUANTIZE 1
#else
#define EIGENFORMER_HAS_AVX512_QUANTIZE 0
#endif
// The SIMD int8 and int4 products need AVX-512BW (byte and 16-bit lanes); `vpdpbusd` itself
// (AVX-512 VNNI) where the target has it, else the same integers from 16-bit multiply-adds.
#if EIGENFORMER_USE_SIMD && defined(__AVX512F__) && defined(__AVX512BW__)
#define EIGENFORMER_HAS_VNNI_GEMM 1
#else
#define EIGENFORMER_HAS_VNNI_GEMM 0
#endif
#if EIGENFORMER_HAS_VNNI_GEMM && defined(__AVX512VNNI__)
#define EIGENFORMER_HAS_NATIVE_VNNI 1
#else
#define EIGENFORMER_HAS_NATIVE_VNNI 0
#endif

namespace eigenformer::kernels {

/// The largest k of an int8 product: k · 255 · 127 must stay below 2^31 in the int32 lanes.
inline constexpr std::size_t int8_max_k = 65536;

/// Bytes of one quantised activation row for a product with @p k inputs: k rounded up to a
/// multiple of 4 (one `vpdpbusd` lane).
inline constexpr std::size_t int8_row_bytes(std::size_t k) noexcept { return (k + 3) / 4 * 4; }

namespace quant_detail {
/// s = max |x| / 127 for a row, NaN when the row holds ±inf or NaN.
inline float int8_scale(float max_abs, bool finite) noexcept {
  return finite ? max_abs / 127.0f : std::numeric_limits<float>::quiet_NaN();
}
/// The scale of n values at(0) .. at(n − 1): max |x| / 127, NaN when one is ±inf or NaN.
template <class At>
inline float int8_scale_of(std::size_t n, const At& at) noexcept {
  float max_abs = 0.0f;
  bool finite = true;
  for (std::size_t r = 0; r < n; ++r) {
    const float v = std::fabs(at(r));
    if (!(v <= FLT_MAX)) finite = false;
    else max_abs = std::max(max_abs, v);
  }
  return int8_scale(max_abs, finite);
}
/// round(x / s) clamped to [−127, 127], for s > 0 finite and x finite.
inline int int8_round(float x, float s) noexcept {
  return static_cast<int>(std::clamp(std::nearbyint(x / s), -127.0f, 127.0f));
}
}  // namespace quant_detail

/// B [k, n] quantised to int8 per output column and packed for `gemm_int8` (see the file
/// comment for the layout). Owner of aligned storage.
class packed_int8_matrix {
 public:
  static constexpr std::size_t panel_width = 64;
  static constexpr std::size_t quad_bytes = 4 * panel_width;  ///< one quad of one panel

  packed_int8_matrix() = default;
  /// Quantises and packs B given row-major [k, n] with row stride @p ld (`transposed` = false),
  /// or as its transpose [n, k] (`transposed` = true: nn.Linear's [out, in]). k must not exceed
  /// `int8_max_k` (callers check; ops::linear throws shape_error). @p exec runs the panels
  /// (kernels::serial_panels).
  template <class Exec = serial_panels>
  packed_int8_matrix(const float* b, std::ptrdiff_t ld, std::size_t k, std::size_t n, bool transposed = false,
                     const Exec& exec = {})
      : k_(k), n_(n), panels_((n + panel_width - 1) / panel_width), quads_((k + 3) / 4) {
    data_ = weight_buffer((size_bytes() + sizeof(float) - 1) / sizeof(float));
    scales_.assign(panels_ * panel_width, 0.0f);
    zero_terms_.assign(panels_ * panel_width, 0);
    exec(panels_, [&](std::size_t p0, std::size_t p1) noexcept {
      for (std::size_t p = p0; p < p1; ++p) pack_panel(b, ld, transposed, p);
    });
  }

  packed_int8_matrix(packed_int8_matrix&&) noexcept = default;
  packed_int8_matrix& operator=(packed_int8_matrix&&) noexcept = default;
  packed_int8_matrix(const packed_int8_matrix& o)
      : k_(o.k_), n_(o.n_), panels_(o.panels_), quads_(o.quads_),
        data_((o.size_bytes() + sizeof(float) - 1) / sizeof(float)), scales_(o.scales_), zero_terms_(o.zero_terms_) {
    if (size_bytes()) std::memcpy(raw(), o.raw(), size_bytes());
  }
  packed_int8_matrix& operator=(const packed_int8_matrix& o) {
    if (this != &o) *this = packed_int8_matrix(o);
    return *this;
  }

  std::size_t rows() const noexcept { return k_; }  ///< k
  std::size_t cols() const noexcept { return n_; }  ///< n
  std::size_t panels() const noexcept { return panels_; }
  std::size_t quads() const noexcept { return quads_; }
  /// Bytes of the packed panels (padding included): quads · 256 · panels.
  std::size_t size_bytes() const noexcept { return quads_ * quad_bytes * panels_; }
  /// Bytes held in all: panels, scales and zero-point terms.
  std::size_t bytes() const noexcept {
    return size_bytes() + scales_.size() * sizeof(float) + zero_terms_.size() * sizeof(std::int32_t);
  }
  /// Panel p: quads() × 256 bytes, 64-byte aligned; each byte an int8 weight.
  const std::uint8_t* panel(std::size_t p) const noexcept { return raw() + p * quads_ * quad_bytes; }
  /// s_b, one per column, zero beyond n up to a whole number of panels.
  const float* scales() const noexcept { return scales_.data(); }
  /// 128 · Σ_r q[r, c], one per column, zero beyond n up to a whole number of panels.
  const std::int32_t* zero_terms() const noexcept { return zero_terms_.data(); }
  /// q[r, c] (0 for r ≥ k).
  int q(std::size_t r, std::size_t c) const noexcept {
    return static_cast<std::int8_t>(panel(c / panel_width)[(r / 4) * quad_bytes + (c % panel_width) * 4 + r % 4]);
  }
  /// The weight the product uses: q[r, c] · s_b[c].
  float dequantized(std::size_t r, std::size_t c) const noexcept { return float(q(r, c)) * scales_[c]; }

 private:
  /// Quantises and packs panel @p p (columns 64p .. 64p + 63, zeros beyond n): the scales (max |x|
  /// and finiteness as `quant_detail::int8_scale_of` takes them, then `int8_scale`) in a first
  /// pass over 32-row tiles, the weights
  /// (`quant_detail::int8_round`) and their sums in a second, in loops over each tile's rows
  /// that vectorise.
  void pack_panel(const float* b, std::ptrdiff_t ld, bool transposed, std::size_t p) noexcept {
    constexpr std::size_t R = 32, C = panel_width;
    const std::size_t c0 = p * C, cols = std::min(C, n_ - c0);
    alignas(64) float v[R][C], max_abs[C] = {}, s[C];
    alignas(64) std::uint8_t finite[C];
    std::memset(finite, 1, sizeof finite);
    for (std::size_t r0 = 0; r0 < k_; r0 += R) {
      detail::load_tile(b, ld, transposed, r0, std::min(R, k_ - r0), c0, cols, v);
      for (std::size_t r = 0; r < R; ++r) {
        for (std::size_t cc = 0; cc < C; ++cc) {
          const float a = std::fabs(v[r][cc]);
          const bool bad = !(a <= FLT_MAX);
          finite[cc] = std::uint8_t(finite[cc] & !bad);
          max_abs[cc] = bad ? max_abs[cc] : std::max(max_abs[cc], a);
        }
      }
    }
    for (std::size_t cc = 0; cc < C; ++cc) {
      s[cc] = cc < cols ? quant_detail::int8_scale(max_abs[cc], finite[cc] != 0) : 0.0f;
      scales_[c0 + cc] = s[cc];
      if (!(s[cc] > 0.0f)) s[cc] = 0.0f;  // zeros (s = 0), or NaN outputs through s = NaN: q = 0
    }
    alignas(64) std::int32_t sum[C] = {};
    std::uint8_t* panel = raw() + p * quads_ * quad_bytes;
    for (std::size_t r0 = 0; r0 < k_; r0 += R) {
      detail::load_tile(b, ld, transposed, r0, std::min(R, k_ - r0), c0, cols, v);
      const std::size_t quads = std::min(R / 4, quads_ - r0 / 4);
      for (std::size_t t = 0; t < quads; ++t) {
        std::uint8_t* out = panel + (r0 / 4 + t) * quad_bytes;
        for (std::size_t cc = 0; cc < C; ++cc) {
          for (std::size_t e = 0; e < 4; ++e) {
            const int q = s[cc] > 0.0f ? quant_detail::int8_round(v[4 * t + e][cc], s[cc]) : 0;
            sum[cc] += q;
            out[cc * 4 + e] = static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
          }
        }
      }
    }
    for (std::size_t cc = 0; cc < C; ++cc) zero_terms_[c0 + cc] = 128 * sum[cc];
  }
  std::uint8_t* raw() noexcept { return reinterpret_cast<std::uint8_t*>(data_.data()); }
  const std::uint8_t* raw() const noexcept { return reinterpret_cast<const std::uint8_t*>(data_.data()); }

  std::size_t k_ = 0, n_ = 0, panels_ = 0, quads_ = 0;
  weight_buffer data_;
  std::vector<float> scales_;
  std::vector<std::int32_t> zero_terms_;
};

/// The arguments of one int8 product, shared by both twins. The quantised rows must hold
/// `int8_row_bytes(b->rows())` bytes each (quantize_rows pads them); only columns [0, n) with
/// n ≤ b->cols() are computed.
struct gemm_int8_args {
  const std::uint8_t* a = nullptr;  ///< [m, int8_row_bytes(k)] quantised rows, row stride lda
  std::ptrdiff_t lda = 0;
  const float* a_scales = nullptr;  ///< [m] s_a
  std::size_t m = 0, n = 0;
  const packed_int8_matrix* b = nullptr;
  const float* bias = nullptr;  ///< [n] or null
  float* c = nullptr;           ///< [m, n], row stride ldc
  std::ptrdiff_t ldc = 0;
};

namespace ref {

/// Quantises rows a [m, k] (row stride lda) into u [m, padded] (row stride ldu, padded =
/// int8_row_bytes(@p padded_k), padded_k ≥ k: inputs k .. padded_k − 1 are zeros) and s_a [m].
inline void quantize_rows(const float* a, std::ptrdiff_t lda, std::size_t m, std::size_t k, std::size_t padded_k,
                          std::uint8_t* u, std::ptrdiff_t ldu, float* scales) noexcept {
  const std::size_t width = int8_row_bytes(std::max(k, padded_k));
  for (std::size_t i = 0; i < m; ++i) {
    const float* x = a + std::ptrdiff_t(i) * lda;
    std::uint8_t* out = u + std::ptrdiff_t(i) * ldu;
    const float s = quant_detail::int8_scale_of(k, [&](std::size_t r) { return x[r]; });
    scales[i] = s;
    const bool zeros = !(s > 0.0f);  // NaN or 0
    for (std::size_t r = 0; r < k; ++r)
      out[r] = static_cast<std::uint8_t>(zeros ? 128 : quant_detail::int8_round(x[r], s) + 128);
    for (std::size_t r = k; r < width; ++r) out[r] = 128;
  }
}

/// Columns [64·p0, 64·p1) of C (see the file comment), then the epilogue on each output row.
template <class Epilogue = no_epilogue>
inline void gemm_int8(const gemm_int8_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  constexpr std::size_t W = packed_int8_matrix::panel_width;
  const std::size_t j0 = std::min(g.n, p0 * W), j1 = std::min(g.n, p1 * W), kk = g.b->quads() * 4;
  for (std::size_t i = 0; i < g.m; ++i) {
    const std::uint8_t* a = g.a + std::ptrdiff_t(i) * g.lda;
    float* c = g.c + std::ptrdiff_t(i) * g.ldc;
    for (std::size_t j = j0; j < j1; ++j) {
      std::int32_t acc = 0;
      for (std::size_t r = 0; r < kk; ++r) acc += std::int32_t(a[r]) * g.b->q(r, j);
      const float v = float(acc - g.b->zero_terms()[j]);
      const float scale = g.a_scales[i] * g.b->scales()[j];
      c[j] = g.bias ? std::fma(v, scale, g.bias[j]) : v * scale;
    }
    for (std::size_t j = j0; j < j1; j += W) epilogue(c + j, std::min(W, j1 - j));
  }
}
template <class Epilogue = no_epilogue>
inline void gemm_int8(const gemm_int8_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm_int8(g, 0, gemm_panels(g.n), epilogue);
}

}  // namespace ref

namespace simd {

#if EIGENFORMER_HAS_AVX512_QUANTIZE
/// Same result as ref::quantize_rows, 16 floats at a time.
inline void quantize_rows(const float* a, std::ptrdiff_t lda, std::size_t m, std::size_t k, std::size_t padded_k,
                          std::uint8_t* u, std::ptrdiff_t ldu, float* scales) noexcept {
  const std::size_t width = int8_row_bytes(std::max(k, padded_k));
  const __m512 big = _mm512_set1_ps(FLT_MAX);
  for (std::size_t i = 0; i < m; ++i) {
    const float* x = a + std::ptrdiff_t(i) * lda;
    std::uint8_t* out = u + std::ptrdiff_t(i) * ldu;
    __m512 vmax = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (std::size_t r = 0; r < k; r += 16) {
      const __mmask16 lanes = k - r >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - r)) - 1u);
      const __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(lanes, x + r));
      bad = __mmask16(bad | _mm512_mask_cmp_ps_mask(lanes, v, big, _CMP_NLE_UQ));  // +inf or NaN
      vmax = _mm512_max_ps(vmax, v);
    }
    const float s = quant_detail::int8_scale(_mm512_reduce_max_ps(vmax), bad == 0);
    scales[i] = s;
    if (!(s > 0.0f)) {
      std::memset(out, 128, width);
      continue;
    }
    const __m512 vs = _mm512_set1_ps(s), lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    const __m512i offset = _mm512_set1_epi32(128);
    for (std::size_t r = 0; r < k; r += 16) {
      const __mmask16 lanes = k - r >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - r)) - 1u);
      __m512 q = _mm512_div_ps(_mm512_maskz_loadu_ps(lanes, x + r), vs);
      q = _mm512_roundscale_ps(q, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
      const __m512i v = _mm512_add_epi32(_mm512_cvtps_epi32(q), offset);
      _mm512_mask_cvtepi32_storeu_epi8(out + r, lanes, v);
    }
    for (std::size_t r = k; r < width; ++r) out[r] = 128;
  }
}
#else
inline void quantize_rows(const float* a, std::ptrdiff_t lda, std::size_t m, std::size_t k, std::size_t padded_k,
                          std::uint8_t* u, std::ptrdiff_t ldu, float* scales) noexcept {
  ref::quantize_rows(a, lda, m, k, padded_k, u, ldu, scales);
}
#endif

#if EIGENFORMER_HAS_VNNI_GEMM
inline constexpr bool has_gemm_int8 = true;
/// True where the target has AVX-512 VNNI: the products run on `vpdpbusd` itself.
inline constexpr bool has_native_vnni = EIGENFORMER_HAS_NATIVE_VNNI != 0;

namespace detail {

/// `vpdpbusd`: acc + the sum of the four products u · s of unsigned bytes u and signed bytes s in
/// each 32-bit lane (exact: no saturation at these sizes). Native = false computes the same
/// integers with AVX-512BW: the even and the odd bytes widened to 16 bits, two `vpmaddwd`.
template <bool Native>
inline __m512i dpbusd(__m512i acc, __m512i u, __m512i s) noexcept {
  if constexpr (Native) {
#if EIGENFORMER_HAS_NATIVE_VNNI
    return _mm512_dpbusd_epi32(acc, u, s);
#endif
  } else {
    const __m512i low = _mm512_set1_epi16(0x00FF);
    const __m512i even = _mm512_madd_epi16(_mm512_and_si512(u, low), _mm512_srai_epi16(_mm512_slli_epi16(s, 8), 8));
    const __m512i odd = _mm512_madd_epi16(_mm512_srli_epi16(u, 8), _mm512_srai_epi16(s, 8));
    return _mm512_add_epi32(acc, _mm512_add_epi32(even, odd));
  }
}

// Rows per micro-tile: 12 accumulators. Measured at M = 128, K = 768, N = 768 and 3072, one
// core (bench_gemm int8_gemm, 2026-12-02, two builds run alternately twice): 422-537 GOP/s at 3
// rows against 288-297 at 6; single runs gave 412-437 at 4 and 348-367 at 2.
inline constexpr std::size_t gemm_int8_mr = 3;

/// One MR × 64 tile over the whole of k, then the dequantising epilogue.
template <std::size_t MR, bool Native>
inline void int8_tile(const gemm_int8_args& g, std::size_t i, std::size_t p, const __mmask16 (&mask)[4]) noexcept {
  constexpr std::size_t W = packed_int8_matrix::panel_width;
  const std::size_t quads = g.b->quads(), c0 = p * W;
  const std::uint8_t* b = g.b->panel(p);
  const std::uint8_t* ar[MR];
  for (std::size_t r = 0; r < MR; ++r) ar[r] = g.a + std::ptrdiff_t(i + r) * g.lda;
  __m512i acc[MR][4];
  for (std::size_t r = 0; r < MR; ++r)
    for (std::size_t j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_si512();
  for (std::size_t t = 0; t < quads; ++t, b += packed_int8_matrix::quad_bytes) {
    if constexpr (MR <= 2) simd::detail::prefetch_steps_ahead(b);  // few rows (decode)
    const __m512i b0 = _mm512_load_si512(b), b1 = _mm512_load_si512(b + 64), b2 = _mm512_load_si512(b + 128),
                  b3 = _mm512_load_si512(b + 192);
    for (std::size_t r = 0; r < MR; ++r) {
      std::int32_t four;
      std::memcpy(&four, ar[r] + 4 * t, 4);
      const __m512i av = _mm512_set1_epi32(four);
      acc[r][0] = dpbusd<Native>(acc[r][0], av, b0);
      acc[r][1] = dpbusd<Native>(acc[r][1], av, b1);
      acc[r][2] = dpbusd<Native>(acc[r][2], av, b2);
      acc[r][3] = dpbusd<Native>(acc[r][3], av, b3);
    }
  }
  for (std::size_t j = 0; j < 4; ++j) {
    const __m512i zero_term = _mm512_loadu_si512(g.b->zero_terms() + c0 + 16 * j);
    const __m512 sb = _mm512_loadu_ps(g.b->scales() + c0 + 16 * j);
    const __m512 bias = g.bias ? _mm512_maskz_loadu_ps(mask[j], g.bias + c0 + 16 * j) : _mm512_setzero_ps();
    for (std::size_t r = 0; r < MR; ++r) {
      const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][j], zero_term));
      const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(g.a_scales[i + r]), sb);
      const __m512 out = g.bias ? _mm512_fmadd_ps(v, scale, bias) : _mm512_mul_ps(v, scale);
      _mm512_mask_storeu_ps(g.c + std::ptrdiff_t(i + r) * g.ldc + std::ptrdiff_t(c0 + 16 * j), mask[j], out);
    }
  }
}

template <bool Native>
inline void int8_rows(std::size_t rows, const gemm_int8_args& g, std::size_t i, std::size_t p,
                      const __mmask16 (&mask)[4]) noexcept {
  switch (rows) {
    case 3: int8_tile<3, Native>(g, i, p, mask); break;
    case 2: int8_tile<2, Native>(g, i, p, mask); break;
    default: int8_tile<1, Native>(g, i, p, mask); break;
  }
}

/// Columns [64·p0, 64·p1) of C, then the epilogue, on `vpdpbusd` (Native, only where the target
/// has AVX-512 VNNI) or on its AVX-512BW equal; blocked as whole_k_tiles says.
template <bool Native, class Epilogue = no_epilogue>
inline void gemm_int8_impl(const gemm_int8_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  static_assert(!Native || EIGENFORMER_HAS_NATIVE_VNNI, "vpdpbusd needs a target with AVX-512 VNNI");
  simd::detail::whole_k_tiles<gemm_int8_mr>(
      g.m, g.n, g.c, g.ldc, p0, p1,
      [&](std::size_t rows, std::size_t i, std::size_t p, const __mmask16(&mask)[4]) {
        int8_rows<Native>(rows, g, i, p, mask);
      },
      epilogue);
}

}  // namespace detail

/// Columns [64·p0, 64·p1) of C, then the epilogue: the unit of work a caller hands each thread.
/// Bit-identical to ref::gemm_int8, on `vpdpbusd` where the target has it.
template <class Epilogue = no_epilogue>
inline void gemm_int8(const gemm_int8_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  detail::gemm_int8_impl<has_native_vnni>(g, p0, p1, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm_int8(const gemm_int8_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm_int8(g, 0, gemm_panels(g.n), epilogue);
}
#else
inline constexpr bool has_gemm_int8 = false;
inline constexpr bool has_native_vnni = false;

/// Without AVX-512BW the reference loops stand in.
template <class Epilogue = no_epilogue>
inline void gemm_int8(const gemm_int8_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  ref::gemm_int8(g, p0, p1, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm_int8(const gemm_int8_args& g, Epilogue&& epilogue = {}) noexcept {
  ref::gemm_int8(g, epilogue);
}
#endif

}  // namespace simd

}  // namespace eigenformer::kernels
