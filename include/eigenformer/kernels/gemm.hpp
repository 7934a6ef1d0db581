#pragma once
/// @file
/// The linear-layer matrix product C = A·B (+ bias) with B packed once, at load time, into the
/// micro-kernel's panel layout.
///
///   A: [m, k] row-major with row stride lda (activations: tokens × in)
///   B: [k, n] (weights, [in, out]) packed into ceil(n / 64) panels; panel p holds, for every
///      row r of B, the 64 floats B[r, 64p .. 64p+63] (zero beyond n), so the micro-kernel reads
///      each panel as one sequential stream. Storage is 64-byte aligned.
///   C: [m, n] row-major with row stride ldc.
///
/// Two twins with the same signature, as everywhere in kernels/:
///  - `ref::gemm`: scalar loops. Each C element is the chain bias + Σ_k a·b evaluated with one
///    fused multiply-add per k, in increasing k. This *defines* the result.
///  - `simd::gemm`: AVX-512 register-blocked micro-kernel (6 rows × 64 columns = 24 zmm
///    accumulators, B panel streamed with aligned loads, A broadcast), K blocked by 256 so the
///    B block a row block reuses stays in L2, rows blocked by 192 so the A block does too. It
///    performs the same fused multiply-adds in the same order as the ref twin, so the two agree
///    bit for bit. Compiled when the translation unit targets AVX-512F (`__AVX512F__`);
///    `simd::has_gemm` says whether it is there. Above this layer, `ops::linear` falls back to
///    Eigen's product where it is not.
///
/// An epilogue `fn(float* row, std::size_t n)` runs on each finished stretch of an output row
/// (up to 64 columns) while it is still in L1: the place to fuse an activation.

#include <eigenformer/core/config.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if EIGENFORMER_USE_SIMD && defined(__AVX512F__)
#include <immintrin.h>
#define EIGENFORMER_HAS_AVX512_GEMM 1
#else
#define EIGENFORMER_HAS_AVX512_GEMM 0
#endif

// Large weight buffers are mappings of their own on Linux, except under AddressSanitizer, which
// checks heap blocks only (a read past a weight buffer must still be caught there).
#if defined(__SANITIZE_ADDRESS__)
#define EIGENFORMER_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EIGENFORMER_UNDER_ASAN 1
#endif
#endif
#if defined(__linux__) && !defined(EIGENFORMER_UNDER_ASAN)
#define EIGENFORMER_WEIGHT_MAPPINGS 1
#else
#define EIGENFORMER_WEIGHT_MAPPINGS 0
#endif

namespace eigenformer::kernels {

/// Frees what weight_buffer allocated: a mapping of its own (@p mapped bytes, Linux) or
/// `operator new[](bytes, std::align_val_t(align))`.
struct aligned_delete {
  std::size_t align = 64;
  std::size_t mapped = 0;
  void operator()(float* p) const noexcept {
#if EIGENFORMER_WEIGHT_MAPPINGS
    if (mapped != 0) {
      (void)::munmap(p, mapped);
      return;
    }
#endif
    ::operator delete[](p, std::align_val_t(align));
  }
};

/// Uninitialised float storage for weights that are streamed from memory: 64-byte aligned, and
/// when a megabyte or more, 2 MiB aligned and advised for transparent huge pages (Linux,
/// `madvise(MADV_HUGEPAGE)`; honoured when THP is "always" or "madvise", Debian's default). A
/// decode step streams every weight once; with 4 KiB pages that is a TLB miss every 4 KiB, and
/// the huge pages measured 1.3x the single-thread decode speed of a GPT-2-124M (bench/RESULTS.md).
/// On Linux such a buffer is a fresh anonymous mapping of its own, advised before its first
/// touch: heap memory that a freed temporary left behind is already backed by 4 KiB pages, and
/// which buffers landed on it depended on the loader's order of allocations.
class weight_buffer {
 public:
  static constexpr std::size_t huge_page = std::size_t(2) << 20;

  weight_buffer() = default;
  explicit weight_buffer(std::size_t n) : size_(n) {
    if (n == 0) return;
    const std::size_t bytes = n * sizeof(float);
    const std::size_t align = bytes >= huge_page / 2 ? huge_page : 64;
#if EIGENFORMER_WEIGHT_MAPPINGS
    if (align == huge_page) {
      data_ = map_aligned(bytes);
      return;
    }
#endif
    data_ = std::unique_ptr<float[], aligned_delete>(
        static_cast<float*>(::operator new[](bytes, std::align_val_t(align))), aligned_delete{align});
#if defined(__linux__)
    if (align == huge_page) (void)::madvise(data_.get(), bytes, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  }
  float* data() noexcept { return data_.get(); }
  const float* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }

 private:
#if EIGENFORMER_WEIGHT_MAPPINGS
  /// @p bytes (rounded up to 4 KiB) at a 2 MiB boundary: map one huge page more, unmap the
  /// slack on both sides, advise the rest. Throws std::bad_alloc as operator new would.
  static std::unique_ptr<float[], aligned_delete> map_aligned(std::size_t bytes) {
    constexpr std::size_t small_page = 4096;
    const std::size_t len = (bytes + small_page - 1) / small_page * small_page;
    void* raw = ::mmap(nullptr, len + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t start = (base + huge_page - 1) & ~std::uintptr_t(huge_page - 1);
    if (start > base) (void)::munmap(raw, start - base);
    const std::uintptr_t end = base + len + huge_page, stop = start + len;
    if (end > stop) (void)::munmap(reinterpret_cast<void*>(stop), end - stop);
    (void)::madvise(reinterpret_cast<void*>(start), len, MADV_HUGEPAGE);  // advice only: failure is harmless
    return std::unique_ptr<float[], aligned_delete>(reinterpret_cast<float*>(start), aligned_delete{huge_page, len});
  }
#endif
  std::size_t size_ = 0;
  std::unique_ptr<float[], aligned_delete> data_;
};

/// The way a packed weight matrix's constructor runs its panels by default: all of them, in
/// the calling thread. An executor is called as `exec(panels, fn)` and must call `fn(p0, p1)`
/// (noexcept) over disjoint ranges covering [0, panels), possibly at the same time from several
/// threads; each panel is written by exactly one call (ops::parallel_panels splits them).
struct serial_panels {
  template <class Fn>
  void operator()(std::size_t panels, Fn&& fn) const noexcept {
    fn(std::size_t(0), panels);
  }
};

namespace detail {
/// Copies B[r0 .. r0 + rows, c0 .. c0 + cols) (B row-major [k, n] with row stride @p ld, or
/// given as its transpose [n, k] when @p transposed) into tile[r][c] (R × 64, rows ≤ R, cols ≤ 64),
/// zeros elsewhere: the packers quantise whole tiles in loops that vectorise, and both layouts
/// are read along their contiguous rows.
template <std::size_t R>
inline void load_tile(const float* b, std::ptrdiff_t ld, bool transposed, std::size_t r0, std::size_t rows,
                      std::size_t c0, std::size_t cols, float (&tile)[R][64]) noexcept {
  if (rows < R || cols < 64) std::memset(tile, 0, sizeof tile);
  if (transposed) {
    for (std::size_t c = 0; c < cols; ++c) {
      const float* src = b + std::ptrdiff_t(c0 + c) * ld + std::ptrdiff_t(r0);
      for (std::size_t r = 0; r < rows; ++r) tile[r][c] = src[r];
    }
  } else {
    for (std::size_t r = 0; r < rows; ++r)
      std::memcpy(tile[r], b + std::ptrdiff_t(r0 + r) * ld + std::ptrdiff_t(c0), cols * sizeof(float));
  }
}
}  // namespace detail

/// A [k, n] matrix packed in 64-column panels for `gemm`. Owner of aligned storage.
class packed_matrix {
 public:
  static constexpr std::size_t panel_width = 64;

  packed_matrix() = default;
  /// Packs B given row-major [k, n] with row stride @p ld (`transposed` = false), or given as
  /// its transpose, row-major [n, k] with row stride @p ld (`transposed` = true: PyTorch's
  /// nn.Linear weight [out, in] packs without an intermediate copy). @p exec runs the panels
  /// (serial_panels, or ops::parallel_panels to split them over threads).
  template <class Exec = serial_panels>
  packed_matrix(const float* b, std::ptrdiff_t ld, std::size_t k, std::size_t n, bool transposed = false,
                const Exec& exec = {})
      : k_(k), n_(n), panels_((n + panel_width - 1) / panel_width) {
    allocate();
    exec(panels_, [&](std::size_t p0, std::size_t p1) noexcept {
      for (std::size_t p = p0; p < p1; ++p) {
        const std::size_t c0 = p * panel_width, w = std::min(panel_width, n - c0);
        float* dst = panel(p);
        for (std::size_t r = 0; r < k; ++r) {
          float* d = dst + r * panel_width;
          if (!transposed) {
            std::memcpy(d, b + std::ptrdiff_t(r) * ld + std::ptrdiff_t(c0), w * sizeof(float));
          } else {
            for (std::size_t c = 0; c < w; ++c) d[c] = b[std::ptrdiff_t(c0 + c) * ld + std::ptrdiff_t(r)];
          }
          std::fill(d + w, d + panel_width, 0.0f);
        }
      }
    });
  }
  packed_matrix(packed_matrix&&) noexcept = default;
  packed_matrix& operator=(packed_matrix&&) noexcept = default;
  packed_matrix(const packed_matrix& o) : k_(o.k_), n_(o.n_), panels_(o.panels_) {
    allocate();
    if (size()) std::memcpy(data_.data(), o.data_.data(), size() * sizeof(float));
  }
  packed_matrix& operator=(const packed_matrix& o) {
    if (this != &o) *this = packed_matrix(o);
    return *this;
  }

  std::size_t rows() const noexcept { return k_; }  ///< k
  std::size_t cols() const noexcept { return n_; }  ///< n
  std::size_t panels() const noexcept { return panels_; }
  /// Floats held, padding included (k · 64 · panels).
  std::size_t size() const noexcept { return k_ * panel_width * panels_; }
  float* panel(std::size_t p) noexcept { return data_.data() + p * k_ * panel_width; }
  const float* panel(std::size_t p) const noexcept { return data_.data() + p * k_ * panel_width; }
  /// B[r, c].
  float operator()(std::size_t r, std::size_t c) const noexcept {
    return panel(c / panel_width)[r * panel_width + c % panel_width];
  }
  /// Writes B (rows [0, k), columns [0, n)) back to row-major storage with row stride @p ld.
  void unpack(float* out, std::ptrdiff_t ld) const noexcept {
    for (std::size_t r = 0; r < k_; ++r)
      for (std::size_t c = 0; c < n_; ++c) out[std::ptrdiff_t(r) * ld + std::ptrdiff_t(c)] = (*this)(r, c);
  }

 private:
  void allocate() { data_ = weight_buffer(size()); }
  std::size_t k_ = 0, n_ = 0, panels_ = 0;
  weight_buffer data_;
};

/// The arguments of one product, shared by both twins. Only the leading block
/// B[0:k, 0:n] of the packed matrix is used (k ≤ b.rows(), n ≤ b.cols()): a MatFormer
/// sub-network or a truncated projection runs on the same packed weights.
struct gemm_args {
  const float* a = nullptr;  ///< [m, k], row stride lda
  std::ptrdiff_t lda = 0;
  std::size_t m = 0, k = 0, n = 0;
  const packed_matrix* b = nullptr;
  const float* bias = nullptr;  ///< [n] or null
  float* c = nullptr;           ///< [m, n], row stride ldc
  std::ptrdiff_t ldc = 0;
};

/// Number of 64-column panels covering n columns: the work units of `gemm`.
inline constexpr std::size_t gemm_panels(std::size_t n) noexcept {
  return (n + packed_matrix::panel_width - 1) / packed_matrix::panel_width;
}

/// The epilogue that does nothing.
struct no_epilogue {
  void operator()(float*, std::size_t) const noexcept {}
};

namespace ref {

/// C = A·B[0:k, 0:n] + bias, then epilogue on each output row. One fma chain per element.
/// Columns [64·p0, 64·p1) only.
template <class Epilogue = no_epilogue>
inline void gemm(const gemm_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  constexpr std::size_t W = packed_matrix::panel_width;
  const std::size_t j0 = std::min(g.n, p0 * W), j1 = std::min(g.n, p1 * W);
  for (std::size_t i = 0; i < g.m; ++i) {
    const float* a = g.a + std::ptrdiff_t(i) * g.lda;
    float* c = g.c + std::ptrdiff_t(i) * g.ldc;
    for (std::size_t j = j0; j < j1; ++j) {
      float acc = g.bias ? g.bias[j] : 0.0f;
      for (std::size_t r = 0; r < g.k; ++r) acc = std::fma(a[r], (*g.b)(r, j), acc);
      c[j] = acc;
    }
    for (std::size_t j = j0; j < j1; j += W) epilogue(c + j, std::min(W, j1 - j));
  }
}
template <class Epilogue = no_epilogue>
inline void gemm(const gemm_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm(g, 0, gemm_panels(g.n), epilogue);
}

}  // namespace ref

namespace simd {

#if EIGENFORMER_HAS_AVX512_GEMM
inline constexpr bool has_gemm = true;

namespace detail {

inline constexpr std::size_t gemm_mr = 6;    // rows per micro-tile
inline constexpr std::size_t gemm_kc = 256;  // k per block
inline constexpr std::size_t gemm_kc_few = 1024;  // k per block for at most 2·mr rows
inline constexpr std::size_t gemm_mc = 192;  // rows per block (a multiple of gemm_mr)
inline constexpr std::size_t gemm_nc = 4;    // panels per block: C block mc × 256 stays in L2

/// One MR × 64 tile over kc steps of k. `init`: start from bias (or zero) instead of C.
template <std::size_t MR>
inline void micro_tile(const float* a, std::ptrdiff_t lda, const float* b, std::size_t kc, float* c,
                       std::ptrdiff_t ldc, const __mmask16 (&mask)[4], bool init, const float* bias) noexcept {
  __m512 acc[MR][4];
  for (std::size_t j = 0; j < 4; ++j) {
    const __m512 start = (init && bias) ? _mm512_maskz_loadu_ps(mask[j], bias + 16 * j) : _mm512_setzero_ps();
    for (std::size_t i = 0; i < MR; ++i)
      acc[i][j] = init ? start : _mm512_maskz_loadu_ps(mask[j], c + std::ptrdiff_t(i) * ldc + std::ptrdiff_t(16 * j));
  }
  const float* ar[MR];
  for (std::size_t i = 0; i < MR; ++i) ar[i] = a + std::ptrdiff_t(i) * lda;
  for (std::size_t r = 0; r < kc; ++r, b += 64) {
    if constexpr (MR <= 2) {
      // Few rows: memory-bound on B; ask for it 32 rows (8 KiB) ahead of use.
      const char* ahead = reinterpret_cast<const char*>(b + 64 * 64);
      _mm_prefetch(ahead, _MM_HINT_T1);
      _mm_prefetch(ahead + 64, _MM_HINT_T1);
      _mm_prefetch(ahead + 128, _MM_HINT_T1);
      _mm_prefetch(ahead + 192, _MM_HINT_T1);
    }
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), b2 = _mm512_load_ps(b + 32),
                 b3 = _mm512_load_ps(b + 48);
    for (std::size_t i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(ar[i][r]);
      acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
      acc[i][2] = _mm512_fmadd_ps(av, b2, acc[i][2]);
      acc[i][3] = _mm512_fmadd_ps(av, b3, acc[i][3]);
    }
  }
  for (std::size_t i = 0; i < MR; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      _mm512_mask_storeu_ps(c + std::ptrdiff_t(i) * ldc + std::ptrdiff_t(16 * j), mask[j], acc[i][j]);
}

/// One row against two panels at once (decode): two B streams in flight instead of one.
inline void row_two_panels(const float* a, const float* b, const float* b2, std::size_t kc, float* c, float* c2,
                           const __mmask16 (&mask)[4], const __mmask16 (&mask2)[4], bool init, const float* bias,
                           const float* bias2) noexcept {
  __m512 acc[8];
  for (std::size_t j = 0; j < 4; ++j) {
    acc[j] = init ? (bias ? _mm512_maskz_loadu_ps(mask[j], bias + 16 * j) : _mm512_setzero_ps())
                  : _mm512_maskz_loadu_ps(mask[j], c + 16 * j);
    acc[4 + j] = init ? (bias2 ? _mm512_maskz_loadu_ps(mask2[j], bias2 + 16 * j) : _mm512_setzero_ps())
                      : _mm512_maskz_loadu_ps(mask2[j], c2 + 16 * j);
  }
  for (std::size_t r = 0; r < kc; ++r, b += 64, b2 += 64) {
    const __m512 av = _mm512_set1_ps(a[r]);
    acc[0] = _mm512_fmadd_ps(av, _mm512_load_ps(b), acc[0]);
    acc[1] = _mm512_fmadd_ps(av, _mm512_load_ps(b + 16), acc[1]);
    acc[2] = _mm512_fmadd_ps(av, _mm512_load_ps(b + 32), acc[2]);
    acc[3] = _mm512_fmadd_ps(av, _mm512_load_ps(b + 48), acc[3]);
    acc[4] = _mm512_fmadd_ps(av, _mm512_load_ps(b2), acc[4]);
    acc[5] = _mm512_fmadd_ps(av, _mm512_load_ps(b2 + 16), acc[5]);
    acc[6] = _mm512_fmadd_ps(av, _mm512_load_ps(b2 + 32), acc[6]);
    acc[7] = _mm512_fmadd_ps(av, _mm512_load_ps(b2 + 48), acc[7]);
  }
  for (std::size_t j = 0; j < 4; ++j) {
    _mm512_mask_storeu_ps(c + 16 * j, mask[j], acc[j]);
    _mm512_mask_storeu_ps(c2 + 16 * j, mask2[j], acc[4 + j]);
  }
}

inline void tile(std::size_t rows, const float* a, std::ptrdiff_t lda, const float* b, std::size_t kc, float* c,
                 std::ptrdiff_t ldc, const __mmask16 (&mask)[4], bool init, const float* bias) noexcept {
  switch (rows) {
    case 6: micro_tile<6>(a, lda, b, kc, c, ldc, mask, init, bias); break;
    case 5: micro_tile<5>(a, lda, b, kc, c, ldc, mask, init, bias); break;
    case 4: micro_tile<4>(a, lda, b, kc, c, ldc, mask, init, bias); break;
    case 3: micro_tile<3>(a, lda, b, kc, c, ldc, mask, init, bias); break;
    case 2: micro_tile<2>(a, lda, b, kc, c, ldc, mask, init, bias); break;
    default: micro_tile<1>(a, lda, b, kc, c, ldc, mask, init, bias); break;
  }
}

inline void panel_masks(std::size_t w, __mmask16 (&mask)[4]) noexcept {
  for (std::size_t j = 0; j < 4; ++j) {
    const std::size_t lanes = w > 16 * j ? std::min<std::size_t>(16, w - 16 * j) : 0;
    mask[j] = static_cast<__mmask16>((1u << lanes) - 1u);
  }
}

/// Asks for the 256 bytes 32 steps (8 KiB) ahead of @p step in a panel of 256-byte steps (an int8
/// quad, a bf16 pair): what the few-row (decode) tiles of the products over whole k, which are
/// bound by the weight stream, prefetch each step.
inline void prefetch_steps_ahead(const void* step) noexcept {
  const char* ahead = static_cast<const char*>(step) + 32 * 256;
  _mm_prefetch(ahead, _MM_HINT_T0);
  _mm_prefetch(ahead + 64, _MM_HINT_T0);
  _mm_prefetch(ahead + 128, _MM_HINT_T0);
  _mm_prefetch(ahead + 192, _MM_HINT_T0);
}

/// The loop nest of the products whose tiles run over the whole of k (int8, bf16): columns
/// [64·p0, 64·p1) of C [m, n] (row stride ldc), rows blocked by 192 so that a block of 4 panels
/// is reused from L2 across the row tiles of the block. `tile(rows, i, p, mask)` computes rows
/// [i, i + rows) (rows ≤ MR) of panel p; then the epilogue runs on each of those rows.
template <std::size_t MR, class Tile, class Epilogue>
inline void whole_k_tiles(std::size_t m, std::size_t n, float* c, std::ptrdiff_t ldc, std::size_t p0,
                          std::size_t p1, Tile&& tile, Epilogue& epilogue) noexcept {
  constexpr std::size_t W = packed_matrix::panel_width, mc = gemm_mc, nc = gemm_nc;
  if (m == 0 || n == 0) return;
  p1 = std::min(p1, kernels::gemm_panels(n));
  for (std::size_t i0 = 0; i0 < m; i0 += mc) {
    const std::size_t i1 = std::min(m, i0 + mc);
    for (std::size_t q0 = p0; q0 < p1; q0 += nc) {
      const std::size_t q1 = std::min(p1, q0 + nc);
      for (std::size_t i = i0; i < i1; i += MR) {
        const std::size_t rows = std::min(MR, i1 - i);
        for (std::size_t p = q0; p < q1; ++p) {
          const std::size_t c0 = p * W, w = std::min(W, n - c0);
          __mmask16 mask[4];
          panel_masks(w, mask);
          tile(rows, i, p, mask);
          for (std::size_t r = 0; r < rows; ++r) epilogue(c + std::ptrdiff_t(i + r) * ldc + std::ptrdiff_t(c0), w);
        }
      }
    }
  }
}

/// Panels [p0, p1) of the product, all rows: the unit of work of one thread.
template <class Epilogue>
inline void gemm_panels(const gemm_args& g, std::size_t p0, std::size_t p1, Epilogue& epilogue) noexcept {
  constexpr std::size_t W = packed_matrix::panel_width;
  // Few rows (decode, up to two micro-tiles): B streams from memory once and its chunk is
  // reused from L2 by the second tile, so take long k blocks and skip most reloads of C.
  const std::size_t kc_max = g.m <= 2 * gemm_mr ? gemm_kc_few : gemm_kc;
  for (std::size_t i0 = 0; i0 < g.m; i0 += gemm_mc) {
    const std::size_t i1 = std::min(g.m, i0 + gemm_mc);
    for (std::size_t q0 = p0; q0 < p1; q0 += gemm_nc) {
      const std::size_t q1 = std::min(p1, q0 + gemm_nc);
      for (std::size_t k0 = 0; k0 < g.k || k0 == 0; k0 += kc_max) {
        const std::size_t kc = std::min(kc_max, g.k - k0);
        const bool init = k0 == 0, last = k0 + kc >= g.k;
        for (std::size_t p = q0; p < q1; ++p) {
          const std::size_t c0 = p * W, w = std::min(W, g.n - c0);
          __mmask16 mask[4];
          panel_masks(w, mask);
          const float* bp = g.b->panel(p) + k0 * W;
          const float* bias = g.bias ? g.bias + c0 : nullptr;
          if (g.m == 1 && p + 1 < q1) {
            const std::size_t w2 = std::min(W, g.n - c0 - W);
            __mmask16 mask2[4];
            panel_masks(w2, mask2);
            float* c = g.c + std::ptrdiff_t(c0);
            row_two_panels(g.a + std::ptrdiff_t(k0), bp, g.b->panel(p + 1) + k0 * W, kc, c, c + W, mask, mask2, init,
                           bias, g.bias ? bias + W : nullptr);
            if (last) {
              epilogue(c, w);
              epilogue(c + W, w2);
            }
            ++p;
            continue;
          }
          for (std::size_t i = i0; i < i1; i += gemm_mr) {
            const std::size_t rows = std::min(gemm_mr, i1 - i);
            float* c = g.c + std::ptrdiff_t(i) * g.ldc + std::ptrdiff_t(c0);
            tile(rows, g.a + std::ptrdiff_t(i) * g.lda + std::ptrdiff_t(k0), g.lda, bp, kc, c, g.ldc, mask, init,
                 bias);
            if (last)
              for (std::size_t r = 0; r < rows; ++r) epilogue(c + std::ptrdiff_t(r) * g.ldc, w);
          }
        }
        if (g.k == 0) break;
      }
    }
  }
}

}  // namespace detail

/// Columns [64·p0, 64·p1) of C = A·B[0:k, 0:n] + bias, then the epilogue: the unit of work a
/// caller hands each thread (disjoint panel ranges write disjoint columns).
template <class Epilogue = no_epilogue>
inline void gemm(const gemm_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  if (g.m == 0 || g.n == 0) return;
  detail::gemm_panels(g, p0, std::min(p1, gemm_panels(g.n)), epilogue);
}

/// C = A·B[0:k, 0:n] + bias, then the epilogue, on the calling thread. Bit-identical to ref::gemm.
template <class Epilogue = no_epilogue>
inline void gemm(const gemm_args& g, Epilogue&& epilogue = {}) noexcept {
  gemm(g, 0, gemm_panels(g.n), epilogue);
}
#else
inline constexpr bool has_gemm = false;

/// Without AVX-512 the reference loops stand in (ops::linear uses Eigen's product instead).
template <class Epilogue = no_epilogue>
inline void gemm(const gemm_args& g, Epilogue&& epilogue = {}) noexcept {
  ref::gemm(g, epilogue);
}
template <class Epilogue = no_epilogue>
inline void gemm(const gemm_args& g, std::size_t p0, std::size_t p1, Epilogue&& epilogue = {}) noexcept {
  ref::gemm(g, p0, p1, epilogue);
}
#endif

}  // namespace simd

}  // namespace eigenformer::kernels
