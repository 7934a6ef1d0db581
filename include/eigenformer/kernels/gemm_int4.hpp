#pragma once
/// @file
/// The linear-layer product with 4-bit weights in groups of 32 inputs and int8 activations, on
/// AVX-512 VNNI (`vpdpbusd`), the int8 product's instruction (or, without VNNI, its AVX-512BW
/// equal, gemm_int8.hpp's `simd::detail::dpbusd<false>`: the same integers).
///
///   B: [k, n] float weights, quantised once (at load) in groups of `int4_group` = 32
///      consecutive inputs of one output column (group g of column c: rows 32g .. 32g + 31):
///        d[g, c] = the scale of least squared error Σ_r (B[r, c] − q[r, c] · d)² among
///                  bf16(w* / s) (w* the group's value of largest |w|, the first on ties) for
///                  the 9 divisors s of `int4_scale_candidates`, then for s' ± 1/8 around the
///                  best of those, s'; s = −8, llama.cpp's Q4_0 grid, comes first and wins ties,
///        q[r, c] = clamp(round(B[r, c] / d[g, c]), −8, 7), stored as the nibble q + 8 ∈ [0, 15]
///      (the nearest level for that d). A group of zeros has d = 0 (its
///      nibbles 8); a group holding ±inf or NaN has d = NaN, so its column's outputs are NaN, as
///      fp32 would make them. 0.5 byte per weight + 2 bytes per group: 4.5 bits per weight.
///      Packed in 64-column panels of ceil(k / 32) groups of 4 steps; step s of group g covers
///      the quads t = 8g + 2s and 8g + 2s + 1 (rows 4t .. 4t + 3) in 256 bytes, four 64-byte
///      vectors for columns 16j .. 16j + 15 (j = 0..3): byte 4·cc + e of vector j holds row
///      4·(8g + 2s) + e of column 16j + cc in its low nibble and row 4·(8g + 2s + 1) + e in its
///      high nibble (nibble 8, zero, beyond k and n). Beside the panels, the scales d as bf16,
///      per panel and group 64 of them in column order.
///   A: [m, k] float activations, quantised per row (token) as the int8 product does it
///      (`quantize_rows`: s_a = max |a| / 127, v = round(a / s_a) ∈ [−127, 127]), then made
///      signed in place with the sums σ[i, g] = Σ_{r ∈ g} v[i, r] of each group (`int4_prepare_rows`),
///      padded with zeros to whole groups.
///   C[i, c] = s_a[i] · Σ_g d[g, c] · float(Σ_{r ∈ g} (q[r, c] + 8) · v[i, r] − 8 · σ[i, g])
///      (+ bias[c]): the unsigned nibbles are `vpdpbusd`'s unsigned operand as they are stored,
///      and −8 · σ takes their offset out exactly. Each group's integer sum is exact; the float
///      steps are acc = fma(d[g, c], float(dot_g), acc) for g = 0, 1, ... from acc = 0, then
///      acc · s_a[i] (or fma(acc, s_a[i], bias[c])), the same operations in the same order in
///      both twins: they agree bit for bit.
///
/// A product over the first k' < k inputs (a MatFormer sub-network) is exact too: the
/// activations beyond k' are zeros, which add nothing to any group's sum.
///
/// Twins, as everywhere in kernels/: `ref::gemm_int4` (scalar loops, the definition) and
/// `simd::gemm_int4`, compiled when the translation unit targets AVX-512BW
/// (`simd::has_gemm_int4`); elsewhere the simd name runs the ref loops. The activations go
/// through the int8 product's twin-tested `quantize_rows`; `int4_prepare_rows` is plain scalar
/// code that both paths share.

#include <eigenformer/core/config.hpp>
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/kernels/gemm_bf16.hpp>
#include <eigenformer/kernels/gemm_int8.hpp>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if EIGENFORMER_HAS_VNNI_GEMM
#include <immintrin.h>
#endif

namespace eigenformer::kernels {

/// Inputs per int4 group (one scale each).
inline constexpr std::size_t int4_group = 32;

/// The divisors s of the first candidate scales bf16(w* / s) of an int4 group, w* its value of
/// largest |w|: −8 first (llama.cpp's Q4_0 grid, w* at level −8), then −7 .. −9 in steps of 1/4
/// (a coarser grid, or a finer one that clips w* to gain resolution for the rest). The search
/// then tries the two divisors `int4_scale_refine` either side of the best of these.
inline constexpr std::array<float, 9> int4_scale_candidates = {-8.0f, -7.0f,  -7.25f, -7.5f, -7.75f,
                                                               -8.25f, -8.5f, -8.75f, -9.0f};
/// The second round of the int4 scale search: s' ± this around the first round's best s'.
inline constexpr float int4_scale_refine = 0.125f;

/// Groups of a product with @p k inputs.
inline constexpr std::size_t int4_groups(std::size_t k) noexcept { return (k + int4_group - 1) / int4_group; }

/// Bytes of one quantised activation row for an int4 product with @p k inputs: whole groups.
inline constexpr std::size_t int4_row_bytes(std::size_t k) noexcept { return int4_groups(k) * int4_group; }

/// B [k, n] quantised to 4 bits in groups of 32 inputs and packed for `gemm_int4` (see the file
/// comment for the layout). Owner of aligned storage.
class packed_int4_matrix {
 public:
  static constexpr std::size_t panel_width = 64;
  static constexpr std::size_t step_bytes = 256;  ///< two quads of one panel, as nibbles
  static constexpr std::size_t group_bytes = 4 * step_bytes;

  packed_int4_matrix() = default;
  /// Quantises and packs B given row-major [k, n] with row stride @p ld (`transposed` = false),
  /// or as its transpose [n, k] (`transposed` = true: nn.Linear's [out, in]). @p exec runs the
  /// panels (kernels::serial_panels).
  template <class Exec = serial_panels>
  packed_int4_matrix(const float* b, std::ptrdiff_t ld, std::size_t k, std::size_t n, bool transposed = false,
                     const Exec& exec = {})
      : k_(k), n_(n), panels_((n + panel_width - 1) / panel_width), groups_(int4_groups(k)) {
    data_ = weight_buffer((size_bytes() + sizeof(float) - 1) / sizeof(float));
    scales_.assign(panels_ * groups_ * panel_width, 0);
    exec(panels_, [&](std::size_t p0, std::size_t p1) noexcept {
      for (std::size_t p = p0; p < p1; ++p)
        for (std::size_t g = 0; g < groups_; ++g) pack_group(b, ld, transposed, p, g);
    });
  }

  packed_int4_matrix(packed_int4_matrix&&) noexcept = default;
  packed_int4_matrix& operator=(packed_int4_matrix&&) noexcept = default;
  packed_int4_matrix(const packed_int4_matrix& o)
      : k_(o.k_), n_(o.n_), panels_(o.panels_), groups_(o.groups_),
        data_((o.size_bytes() + sizeof(float) - 1) / sizeof(float)), scales_(o.scales_) {
    if (size_bytes()) std::memcpy(raw(), o.raw(), size_bytes());
  }
  packed_int4_matrix& operator=(const packed_int4_matrix& o) {
    if (this != &o) *this = packed_int4_matrix(o);
    return *this;
  }

  std::size_t rows() const noexcept { return k_; }  ///< k
  std::size_t cols() const noexcept { return n_; }  ///< n
  std::size_t panels() const noexcept { return panels_; }
  std::size_t groups() const noexcept { return groups_; }
  /// Bytes of the packed panels (padding included): groups · 1024 · panels.
  std::size_t size_bytes() const noexcept { return groups_ * group_bytes * panels_; }
  /// Bytes held in all: panels and scales.
  std::size_t bytes() const noexcept { return size_bytes() + scales_.size() * sizeof(std::uint16_t); }
  /// Panel p: groups() × 1024 bytes, 64-byte aligned.
  const std::uint8_t* panel(std::size_t p) const noexcept { return raw() + p * groups_ * group_bytes; }
  /// Panel p's scales: groups() × 64 bf16 values, group-major.
  const std::uint16_t* panel_scales(std::size_t p) const noexcept { return scales_.data() + p * groups_ * panel_width; }
  /// d[g, c] (0 beyond n).
  float scale(std::size_t g, std::size_t c) const noexcept { return from_bf16(scales_[scale_index(g, c)]); }
  /// q[r, c] + 8 ∈ [0, 15] (8 for r ≥ k).
  unsigned nibble(std::size_t r, std::size_t c) const noexcept {
    const std::uint8_t byte = raw()[byte_index(r, c)];
    return high(r) ? unsigned(byte >> 4) : unsigned(byte & 0x0F);
  }
  /// The weight the product uses: q[r, c] · d[g, c].
  float dequantized(std::size_t r, std::size_t c) const noexcept {
    return float(int(nibble(r, c)) - 8) * scale(r / int4_group, c);
  }

 private:
  std::size_t scale_index(std::size_t g, std::size_t c) const noexcept {
    return ((c / panel_width) * groups_ + g) * panel_width + c % panel_width;
  }
  static bool high(std::size_t r) noexcept { return (r / 4) % 2 == 1; }
  std::size_t byte_index(std::size_t r, std::size_t c) const noexcept {
    const std::size_t g = r / int4_group, t = (r % int4_group) / 4, cc = c % panel_width;
    return (c / panel_width) * groups_ * group_bytes + g * group_bytes + (t / 2) * step_bytes + (cc / 16) * 64 +
           (cc % 16) * 4 + r % 4;
  }
  /// err[c] = Σ_r (v[r][c] − q · d[c])² with q = clamp(round(v[r][c] · inv[c]), −8, 7): a
  /// candidate scale d's score in the search. The rounding is to nearest even, from one fused
  /// multiply-add onto 1.5 · 2^23 (an ulp of 1 there) in the AVX-512 loop, from a product and
  /// `nearbyint` in the portable one, so the two may differ where v · inv lies within an ulp of a
  /// half; either way the score is the squared error of levels within a rounding of the nearest.
  static void squared_errors(const float (&v)[int4_group][panel_width], const float* trial, const float* inv,
                             float* err) noexcept {
    constexpr std::size_t R = int4_group, C = panel_width;
#if EIGENFORMER_HAS_AVX512_QUANTIZE
    const __m512 magic = _mm512_set1_ps(12582912.0f), lo = _mm512_set1_ps(12582912.0f - 8.0f),
                 hi = _mm512_set1_ps(12582912.0f + 7.0f);
    __m512 acc[C / 16], d[C / 16], r16[C / 16];
    for (std::size_t j = 0; j < C / 16; ++j) {
      acc[j] = _mm512_setzero_ps(), d[j] = _mm512_load_ps(trial + 16 * j), r16[j] = _mm512_load_ps(inv + 16 * j);
    }
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t j = 0; j < C / 16; ++j) {
        const __m512 x = _mm512_load_ps(&v[r][16 * j]);
        // (The masked forms with a full mask: GCC 12 warns of the unmasked ones' undefined
        // pass-through operand when inlined here.)
        const __m512 t = _mm512_maskz_min_ps(0xFFFF, _mm512_maskz_max_ps(0xFFFF, _mm512_fmadd_ps(x, r16[j], magic), lo), hi);
        const __m512 e = _mm512_fnmadd_ps(_mm512_sub_ps(t, magic), d[j], x);
        acc[j] = _mm512_fmadd_ps(e, e, acc[j]);
      }
    }
    for (std::size_t j = 0; j < C / 16; ++j) _mm512_store_ps(err + 16 * j, acc[j]);
#else
    for (std::size_t cc = 0; cc < C; ++cc) err[cc] = 0.0f;
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t cc = 0; cc < C; ++cc) {
        const float q = std::min(std::max(std::nearbyint(v[r][cc] * inv[cc]), -8.0f), 7.0f);
        const float e = v[r][cc] - q * trial[cc];
        err[cc] += e * e;
      }
    }
#endif
  }
  /// Quantises group @p g of panel @p p (rows 32g .. 32g + 31 of columns 64p .. 64p + 63, zeros
  /// beyond k and n) through a tile in the stack, and writes its 1024 bytes and 64 scales: the
  /// file comment's definition, column by column, in loops over the tile's rows that vectorise.
  void pack_group(const float* b, std::ptrdiff_t ld, bool transposed, std::size_t p, std::size_t g) noexcept {
    constexpr std::size_t R = int4_group, C = panel_width;
    const std::size_t r0 = g * R, c0 = p * C, rows = std::min(R, k_ - r0), cols = std::min(C, n_ - c0);
    alignas(64) float v[R][C];
    detail::load_tile(b, ld, transposed, r0, rows, c0, cols, v);
    alignas(64) float extreme[C] = {}, d[C];
    alignas(64) std::uint8_t finite[C];
    std::memset(finite, 1, sizeof finite);
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t cc = 0; cc < C; ++cc) {  // the first value of largest |w|, as a strict >
        const float x = v[r][cc], a = std::fabs(x);
        const bool bad = !(a <= FLT_MAX);
        finite[cc] = std::uint8_t(finite[cc] & !bad);
        extreme[cc] = !bad && a > std::fabs(extreme[cc]) ? x : extreme[cc];
      }
    }
    // The scale search: each candidate d = bf16(w* / s) is scored by the group's squared error
    // Σ (w − q(d) · d)² with q(d) = clamp(round(w / d), −8, 7), the nearest level for that d. A
    // column keeps the first candidate of least error: Q4_0's s = −8 unless another is strictly
    // better; the 9 first divisors, then the best one's two neighbours. On the shipped model's
    // weights the 11 scores find a total squared error within 0.03 % of trying every s from −7 to
    // −9.5 in steps of 1/8 and 7 .. 7.5 (24 scores), and 11 % below Q4_0's.
    // A scale of 0 or NaN quantises nothing (every level 0).
    const auto usable = [](float s) noexcept { return s != 0.0f && !std::isnan(s) ? s : 0.0f; };
    const auto level = [](float x, float s) noexcept {  // the nearest level of x on the grid of s
      return s != 0.0f ? std::clamp(std::nearbyint(x / s), -8.0f, 7.0f) : 0.0f;
    };
    // (The search scores with a reciprocal, which vectorises: the final levels below divide.)
    alignas(64) float best[C], best_err[C], best_s[C], divisor[C], trial[C], inv[C], err[C];
    const auto score = [&](bool first) noexcept {
      for (std::size_t cc = 0; cc < C; ++cc) {
        trial[cc] = usable(from_bf16(to_bf16(extreme[cc] / divisor[cc])));
        inv[cc] = trial[cc] != 0.0f ? 1.0f / trial[cc] : 0.0f;
      }
      squared_errors(v, trial, inv, err);
      for (std::size_t cc = 0; cc < C; ++cc) {
        const bool better = first || err[cc] < best_err[cc];
        best[cc] = better ? trial[cc] : best[cc], best_err[cc] = better ? err[cc] : best_err[cc];
        best_s[cc] = better ? divisor[cc] : best_s[cc];
      }
    };
    for (std::size_t i = 0; i < int4_scale_candidates.size(); ++i) {
      std::fill(divisor, divisor + C, int4_scale_candidates[i]);
      score(i == 0);
    }
    alignas(64) float centre[C];
    std::copy(best_s, best_s + C, centre);
    for (float step : {-int4_scale_refine, int4_scale_refine}) {
      for (std::size_t cc = 0; cc < C; ++cc) divisor[cc] = centre[cc] + step;
      score(false);
    }
    std::uint16_t* scales = scales_.data() + (p * groups_ + g) * C;
    for (std::size_t cc = 0; cc < C; ++cc) {
      const std::uint16_t bits = cc >= cols    ? std::uint16_t(0)
                                 : !finite[cc] ? to_bf16(std::numeric_limits<float>::quiet_NaN())
                                               : to_bf16(best[cc]);
      scales[cc] = bits;
      d[cc] = usable(from_bf16(bits));  // 0: the group's nibbles stay 8
    }
    alignas(64) std::uint8_t q[R][C];  // q + 8
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t cc = 0; cc < C; ++cc) {
        q[r][cc] = std::uint8_t(static_cast<int>(level(v[r][cc], d[cc])) + 8);
      }
    }
    std::uint8_t* out = raw() + p * groups_ * group_bytes + g * group_bytes;
    for (std::size_t step = 0; step < 4; ++step)
      for (std::size_t cc = 0; cc < C; ++cc)
        for (std::size_t e = 0; e < 4; ++e)
          out[step * step_bytes + (cc / 16) * 64 + (cc % 16) * 4 + e] =
              std::uint8_t(q[8 * step + e][cc] | (q[8 * step + 4 + e][cc] << 4));
  }
  std::uint8_t* raw() noexcept { return reinterpret_cast<std::uint8_t*>(data_.data()); }
  const std::uint8_t* raw() const noexcept { return reinterpret_cast<const std::uint8_t*>(data_.data()); }

  std::size_t k_ = 0, n_ = 0, panels_ = 0, groups_ = 0;
  weight_buffer data_;
  std::vector<std::uint16_t> scales_;
};

/// Makes rows quantised by `quantize_rows` (unsigned, u = v + 128, each `int4_row_bytes(k)`
/// bytes) signed in place (v, as int8 bytes) and writes σ[i, g] = Σ_{r ∈ g} v[i, r] into
/// @p sums [m, groups] (row stride @p ld_sums). Shared by both twins.
inline void int4_prepare_rows(std::uint8_t* u, std::ptrdiff_t ldu, std::size_t m, std::size_t groups,
                              std::int32_t* sums, std::ptrdiff_t ld_sums) noexcept {
  for (std::size_t i = 0; i < m; ++i) {
    std::uint8_t* row = u + std::ptrdiff_t(i) * ldu;
    for (std::size_t g = 0; g < groups; ++g) {
      std::int32_t sum = 0;
      for (std::size_t r = g * int4_group; r < (g + 1) * int4_group; ++r) {
        sum += std::int32_t(row[r]) - 128;
        row[r] = std::uint8_t(row[r] ^ 0x80u);  // u − 128 as a two's complement byte
      }
      sums[std::ptrdiff_t(i) * ld_sums + std::ptrdiff_t(g)] = sum;
    }
  }
}

/// The arguments of one int4 product, shared by both twins: rows prepared by `quantize_rows`
/// (padded to `int4_row_bytes(b->rows())`) and `int4_prepare_rows`; only columns [0, n) with
/// n ≤ b->cols() are computed.
struct gemm_int4_args {
  const std::int8_t* a = nullptr;  ///< [m, int4_row_bytes(k)] signed rows, row stride lda
  std::ptrdiff_t lda = 0;
  const float* a_scales = nullptr;  ///< [m] s_a
  const std::int32_t* a_sums = nullptr;  ///< [m, groups] σ, row stride ld_sums
  std::ptrdiff_t ld_sums = 0;
  std::size_t m = 0, n = 0;
  const packed_int4_matrix* b = nullptr;
  const float* bias = nullptr;  ///< [n] or null
  float* c = nullptr;           ///< [m, n], row stride ldc
  std::ptrdiff_t ldc = 0;
};

namespace ref {

/// Columns [64·p0, 64·p1) of C (see the file comment), then the epilogue on each output row.
template <class Epilogue = no_epilogue>
inline void gemm_int4(const gemm_int4_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  constexpr std::size_t W = packed_int4_matrix::panel_width;
  const std::size_t j0 = std::min(g.n, p0 * W), j1 = std::min(g.n, p1 * W), groups = g.b->groups();
  for (std::size_t i = 0; i < g.m; ++i) {
    const std::int8_t* a = g.a + std::ptrdiff_t(i) * g.lda;
    const std::int32_t* sums = g.a_sums + std::ptrdiff_t(i) * g.ld_sums;
    float* c = g.c + std::ptrdiff_t(i) * g.ldc;
    for (std::size_t j = j0; j < j1; ++j) {
      float acc = 0.0f;
      for (std::size_t q = 0; q < groups; ++q) {
        std::int32_t dot = 0;
        for (std::size_t r = q * int4_group; r < (q + 1) * int4_group; ++r)
          dot += std::int32_t(g.b->nibble(r, j)) * std::int32_t(a[r]);
        acc = std::fma(g.b->scale(q, j), float(dot - 8 * sums[q]), acc);
      }
      c[j] = g.bias ? std::fma(acc, g.a_scales[i], g.bias[j]) : acc * g.a_scales[i];
    }
    for (std::size_t j = j0; j < j1; j += W) epilogue(c + j, std::min(W, j1 - j));
  }
}
template <class Epilogue = no_epilogue>
inline void gemm_int4(const gemm_int4_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm_int4(g, 0, gemm_panels(g.n), epilogue);
}

}  // namespace ref

namespace simd {

#if EIGENFORMER_HAS_VNNI_GEMM
inline constexpr bool has_gemm_int4 = true;

namespace detail {

inline constexpr std::size_t gemm_int4_mr = 3;  // rows per micro-tile: 12 int + 12 float accumulators

/// One MR × 64 tile over the whole of k, group by group, then the scaling epilogue.
template <std::size_t MR, bool Native>
inline void int4_tile(const gemm_int4_args& g, std::size_t i, std::size_t p, const __mmask16 (&mask)[4]) noexcept {
  constexpr std::size_t W = packed_int4_matrix::panel_width;
  const std::size_t groups = g.b->groups(), c0 = p * W;
  const std::uint8_t* b = g.b->panel(p);
  const std::uint16_t* d = g.b->panel_scales(p);
  const std::int8_t* ar[MR];
  const std::int32_t* sr[MR];
  for (std::size_t r = 0; r < MR; ++r) {
    ar[r] = g.a + std::ptrdiff_t(i + r) * g.lda;
    sr[r] = g.a_sums + std::ptrdiff_t(i + r) * g.ld_sums;
  }
  const __m512i low = _mm512_set1_epi8(0x0F);
  __m512 f[MR][4];
  for (std::size_t r = 0; r < MR; ++r)
    for (std::size_t j = 0; j < 4; ++j) f[r][j] = _mm512_setzero_ps();
  for (std::size_t q = 0; q < groups; ++q, d += W) {
    __m512i acc[MR][4];
    for (std::size_t r = 0; r < MR; ++r)
      for (std::size_t j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_si512();
    for (std::size_t s = 0; s < 4; ++s, b += packed_int4_matrix::step_bytes) {
      if constexpr (MR <= 2) simd::detail::prefetch_steps_ahead(b);  // few rows (decode)
      const std::size_t t = 8 * q + 2 * s;  // the step's first quad
      __m512i v[4];
      for (std::size_t j = 0; j < 4; ++j) v[j] = _mm512_load_si512(b + 64 * j);
      for (std::size_t r = 0; r < MR; ++r) {
        std::int32_t four;
        std::memcpy(&four, ar[r] + 4 * t, 4);
        const __m512i av = _mm512_set1_epi32(four);
        for (std::size_t j = 0; j < 4; ++j) acc[r][j] = dpbusd<Native>(acc[r][j], _mm512_and_si512(v[j], low), av);
      }
      for (std::size_t r = 0; r < MR; ++r) {
        std::int32_t four;
        std::memcpy(&four, ar[r] + 4 * t + 4, 4);
        const __m512i av = _mm512_set1_epi32(four);
        for (std::size_t j = 0; j < 4; ++j)
          acc[r][j] = dpbusd<Native>(acc[r][j], _mm512_and_si512(_mm512_srli_epi16(v[j], 4), low), av);
      }
    }
    for (std::size_t j = 0; j < 4; ++j) {
      const __m512 dj = load_bf16x16(d + 16 * j);
      for (std::size_t r = 0; r < MR; ++r) {
        const __m512i dot = _mm512_sub_epi32(acc[r][j], _mm512_set1_epi32(8 * sr[r][q]));
        f[r][j] = _mm512_fmadd_ps(dj, _mm512_cvtepi32_ps(dot), f[r][j]);
      }
    }
  }
  for (std::size_t j = 0; j < 4; ++j) {
    const __m512 bias = g.bias ? _mm512_maskz_loadu_ps(mask[j], g.bias + c0 + 16 * j) : _mm512_setzero_ps();
    for (std::size_t r = 0; r < MR; ++r) {
      const __m512 sa = _mm512_set1_ps(g.a_scales[i + r]);
      const __m512 out = g.bias ? _mm512_fmadd_ps(f[r][j], sa, bias) : _mm512_mul_ps(f[r][j], sa);
      _mm512_mask_storeu_ps(g.c + std::ptrdiff_t(i + r) * g.ldc + std::ptrdiff_t(c0 + 16 * j), mask[j], out);
    }
  }
}

template <bool Native>
inline void int4_rows(std::size_t rows, const gemm_int4_args& g, std::size_t i, std::size_t p,
                      const __mmask16 (&mask)[4]) noexcept {
  switch (rows) {
    case 3: int4_tile<3, Native>(g, i, p, mask); break;
    case 2: int4_tile<2, Native>(g, i, p, mask); break;
    default: int4_tile<1, Native>(g, i, p, mask); break;
  }
}

/// Columns [64·p0, 64·p1) of C, then the epilogue, on `vpdpbusd` (Native, only where the target
/// has AVX-512 VNNI) or on its AVX-512BW equal (gemm_int8.hpp's dpbusd<false>).
template <bool Native, class Epilogue = no_epilogue>
inline void gemm_int4_impl(const gemm_int4_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  static_assert(!Native || EIGENFORMER_HAS_NATIVE_VNNI, "vpdpbusd needs a target with AVX-512 VNNI");
  simd::detail::whole_k_tiles<gemm_int4_mr>(
      g.m, g.n, g.c, g.ldc, p0, p1,
      [&](std::size_t rows, std::size_t i, std::size_t p, const __mmask16(&mask)[4]) {
        int4_rows<Native>(rows, g, i, p, mask);
      },
      epilogue);
}

}  // namespace detail

/// Columns [64·p0, 64·p1) of C, then the epilogue: the unit of work a caller hands each thread.
/// Bit-identical to ref::gemm_int4. Blocked as simd::detail::whole_k_tiles says.
template <class Epilogue = no_epilogue>
inline void gemm_int4(const gemm_int4_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  detail::gemm_int4_impl<has_native_vnni>(g, p0, p1, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm_int4(const gemm_int4_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm_int4(g, 0, gemm_panels(g.n), epilogue);
}
#else
inline constexpr bool has_gemm_int4 = false;

/// Without AVX-512BW the reference loops stand in.
template <class Epilogue = no_epilogue>
inline void gemm_int4(const gemm_int4_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  ref::gemm_int4(g, p0, p1, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm_int4(const gemm_int4_args& g, Epilogue&& epilogue = {}) noexcept {
  ref::gemm_int4(g, epilogue);
}
#endif

}  // namespace simd

}  // namespace eigenformer::kernels
