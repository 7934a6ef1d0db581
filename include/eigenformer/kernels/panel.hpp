#pragma once
/// @file
/// Panels for products whose right-hand side changes with every problem (attention's keys and
/// values), packed on the fly into the matmul micro-kernel's layout, and the product over them.
///
///   panel: 64 columns × `depth` rows, each row 64 contiguous floats (zero beyond the used
///          width), 64-byte aligned: the layout `packed_matrix` gives a weight (kernels/gemm.hpp)
///   - `pack_transposed`: up to 64 rows of a row-major X [w, d] as one panel of Xᵀ (d rows):
///     Q·Kᵀ then reads K as the micro-kernel reads weights;
///   - `pack_rows`: rows of a row-major X [w, n] into ceil(n / 64) panels side by side (panel j
///     at j·panel_stride floats), so S·V reads V the same way;
///   - `panel_product`: C[0:m, 0:n] = (init) or += A[0:m, 0:k]·P, P the panels, panel j starting
///     j·panel_stride floats after panel 0.
///
/// Two twins, as everywhere in kernels/: `ref::panel_product` is one fused multiply-add per k,
/// in increasing k, starting from 0 (init) or from C: the definition of the result.
/// `simd::panel_product` runs the GEMM's micro-tiles, the same fmas in the same order, so the
/// two agree bit for bit. `simd::has_gemm` says whether the AVX-512 twin is compiled.

#include <eigenformer/kernels/gemm.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace eigenformer::kernels {

/// Columns per panel (the micro-kernel's 4 × 16 lanes).
inline constexpr std::size_t panel_width = packed_matrix::panel_width;

/// Panels that cover @p n columns.
inline constexpr std::size_t panel_count(std::size_t n) noexcept { return (n + panel_width - 1) / panel_width; }

/// Rows [0, w) (w ≤ 64) of X, d floats each at row stride ldx, as one panel of Xᵀ: panel[r·64 + c]
/// = X[c, r] for r < d, c < w; zero for c ≥ w.
inline void pack_transposed(const float* x, std::ptrdiff_t ldx, std::size_t w, std::size_t d, float* panel) noexcept {
  for (std::size_t c = 0; c < w; ++c) {
    const float* row = x + std::ptrdiff_t(c) * ldx;
    for (std::size_t r = 0; r < d; ++r) panel[r * panel_width + c] = row[r];
  }
  if (w < panel_width)
    for (std::size_t r = 0; r < d; ++r) std::fill(panel + r * panel_width + w, panel + (r + 1) * panel_width, 0.0f);
}

/// Rows [0, w) of X, n floats each at row stride ldx, as rows [row0, row0 + w) of the
/// ceil(n / 64) panels at @p panels (panel j at j·panel_stride floats): panels[j·stride + (row0 +
/// r)·64 + c] = X[r, 64j + c], zero beyond n.
inline void pack_rows(const float* x, std::ptrdiff_t ldx, std::size_t w, std::size_t n, float* panels,
                      std::size_t panel_stride, std::size_t row0) noexcept {
  for (std::size_t j = 0; j * panel_width < n; ++j) {
    float* panel = panels + j * panel_stride;
    const std::size_t wn = std::min(panel_width, n - j * panel_width);
    for (std::size_t r = 0; r < w; ++r) {
      const float* src = x + std::ptrdiff_t(r) * ldx + std::ptrdiff_t(j * panel_width);
      float* dst = panel + (row0 + r) * panel_width;
      std::copy(src, src + wn, dst);
      std::fill(dst + wn, dst + panel_width, 0.0f);
    }
  }
}

/// The arguments of one panel product, shared by both twins.
struct panel_args {
  const float* a = nullptr;  ///< [m, k], row stride lda
  std::ptrdiff_t lda = 0;
  const float* b = nullptr;  ///< ceil(n / 64) panels of k rows, 64-byte aligned
  std::size_t panel_stride = 0;  ///< floats from one panel to the next (≥ 64·k)
  std::size_t m = 0, k = 0, n = 0;
  float* c = nullptr;  ///< [m, n], row stride ldc
  std::ptrdiff_t ldc = 0;
  bool init = true;  ///< C = A·P (true) or C += A·P (false)
};

namespace ref {

/// C (=|+=) A·P: one fma chain per element, in increasing k.
inline void panel_product(const panel_args& g) noexcept {
  for (std::size_t i = 0; i < g.m; ++i) {
    const float* a = g.a + std::ptrdiff_t(i) * g.lda;
    float* c = g.c + std::ptrdiff_t(i) * g.ldc;
    for (std::size_t j = 0; j < g.n; ++j) {
      const float* b = g.b + (j / panel_width) * g.panel_stride + j % panel_width;
      float acc = g.init ? 0.0f : c[j];
      for (std::size_t r = 0; r < g.k; ++r) acc = std::fma(a[r], b[r * panel_width], acc);
      c[j] = acc;
    }
  }
}

}  // namespace ref

namespace simd {

#if EIGENFORMER_HAS_AVX512_GEMM
/// C (=|+=) A·P on the GEMM's micro-tiles, for a product whose operands are already in cache
/// (no k or row blocking). Bit-identical to ref::panel_product.
inline void panel_product(const panel_args& g) noexcept {
  namespace kd = detail;
  for (std::size_t j = 0; j * panel_width < g.n; ++j) {
    __mmask16 mask[4];
    kd::panel_masks(std::min(panel_width, g.n - j * panel_width), mask);
    for (std::size_t r = 0; r < g.m; r += kd::gemm_mr)
      kd::tile(std::min(kd::gemm_mr, g.m - r), g.a + std::ptrdiff_t(r) * g.lda, g.lda, g.b + j * g.panel_stride, g.k,
               g.c + std::ptrdiff_t(r) * g.ldc + std::ptrdiff_t(j * panel_width), g.ldc, mask, g.init, nullptr);
  }
}
#else
/// Without AVX-512 the reference loops stand in (attention uses Eigen's product instead).
inline void panel_product(const panel_args& g) noexcept { ref::panel_product(g); }
#endif

}  // namespace simd

}  // namespace eigenformer::kernels
