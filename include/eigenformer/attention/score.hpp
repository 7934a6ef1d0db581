#pragma once
/// @file
/// The score-based (quadratic) attention family: scores = q·kᵀ·scale (+ ALiBi bias), then a
/// normaliser, then a weighted sum of values, restricted to a layout. One tiled kernel serves
/// every normaliser and layout: it walks query tiles × key tiles, skips the tiles the layout rules
/// out, masks the partial ones, and keeps an online (running max / sum) softmax so the n × n
/// score matrix never exists: memory is O(tile² + n·head_dim) per worker, whatever n.

#include <eigenformer/attention/layout.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace eigenformer::attention {

// ------------------------------------------------------------------------------------------
// Normalisers

/// p = softmax(scores) over the visible keys.
struct softmax_normalizer {};

/// Clipped softmax (Bondarenko et al., "Quantizable Transformers", 2023):
/// p = clip((ζ − γ)·softmax(scores) + γ, 0, 1), which lets a head output exact zeros (no outliers
/// needed to "attend to nothing"). Needs γ ≤ 0 ≤ 1 ≤ ζ; γ = 0, ζ = 1 is plain softmax. Masked keys
/// get 0. Costs two passes over the keys (the final softmax is needed before clipping).
struct clipped_softmax_normalizer {
  float gamma = -0.03f;
  float zeta = 1.0f;
  clipped_softmax_normalizer() = default;
  /// Throws config_error unless γ ≤ 0 and ζ ≥ 1.
  clipped_softmax_normalizer(float g, float z) : gamma(g), zeta(z) {
    if (!(g <= 0.0f))
      throw_error<config_error>("attention.clipped_softmax", "gamma", "a value <= 0", std::to_string(g));
    if (!(z >= 1.0f))
      throw_error<config_error>("attention.clipped_softmax", "zeta", "a value >= 1", std::to_string(z));
  }
};

/// Sigmoid attention (Ramapuram et al., "Theory, Analysis, and Best Practices for Sigmoid
/// Self-Attention", 2024): p = σ(scores + b), no row max and no row sum. b defaults to −log(n),
/// n the number of keys of the sequence (in decode: the number of cached keys).
struct sigmoid_normalizer {
  std::optional<float> bias;
  float bias_for(index_t keys) const noexcept {
    return bias ? *bias : -std::log(static_cast<float>(std::max<index_t>(keys, 1)));
  }
};

// ------------------------------------------------------------------------------------------
// One head, one sequence

/// Tile sizes of the prefill kernel (queries × keys).
struct tile_sizes {
  index_t query = 64;
  index_t key = 128;
};

/// The inputs of one head of one sequence. Views are strided column blocks of the projected
/// Q, K, V (no copies). Keys sit at positions 0..m−1, query row r at position q_pos0 + r.
struct head_problem {
  const_matrix_view q;    ///< [n, head_dim]
  const_matrix_view k;    ///< [m, head_dim]
  const_matrix_view v;    ///< [m, value_dim]
  matrix_view out;        ///< [n, value_dim]
  index_t q_pos0 = 0;     ///< position of query row 0 (m − n when the keys include a prefix)
  float scale = 1.0f;     ///< usually 1/√head_dim
  float alibi_slope = 0;  ///< ALiBi: scores −= slope·|i − j|; 0 disables
  const std::uint8_t* key_valid = nullptr;  ///< [m], 0 = padding key never attended; null = all valid
  index_t head = 0;       ///< query head index (variants with per-head parameters use it)
};

/// Scratch of one worker for the prefill and decode kernels; grows, never shrinks, so that a
/// forward pass over shapes seen before allocates nothing.
class score_scratch {
 public:
  void reserve(index_t bq, index_t bk, index_t d, index_t dv) {
    grow(q_, bq * d);
    grow(s_, bq * bk);
    grow(acc_, bq * dv);
    grow(m_, bq);
    grow(l_, bq);
  }
  /// Room to pack the keys and values of up to @p keys positions for the matmul kernel
  /// (AVX-512 builds; a no-op elsewhere).
  void reserve_panels(index_t keys, index_t d, index_t dv) {
    if constexpr (kernels::simd::has_gemm) {
      grow(kp_, panels(keys) * panel_width * d + align_slack);
      grow(vp_, panels(dv) * panel_width * keys + align_slack);
      if (index_t(ready_.size()) < panels(keys)) ready_.resize(std::size_t(panels(keys)));
    }
  }
  /// True when reserve_panels covered @p keys positions of widths d, dv.
  bool has_panels(index_t keys, index_t d, index_t dv) const noexcept {
    return kp_.size() >= std::size_t(panels(keys) * panel_width * d + align_slack) &&
           vp_.size() >= std::size_t(panels(dv) * panel_width * keys + align_slack) &&
           ready_.size() >= std::size_t(panels(keys));
  }
  void reserve_decode(index_t keys, index_t dv) {
    grow(s_, keys);
    grow(acc_, dv);
  }
  /// Bytes held (the kernel's working memory beyond its inputs and outputs).
  std::size_t bytes() const noexcept {
    return sizeof(float) * (q_.capacity() + s_.capacity() + acc_.capacity() + m_.capacity() + l_.capacity() +
                            kp_.capacity() + vp_.capacity()) +
           ready_.capacity();
  }
  float* q() noexcept { return q_.data(); }
  float* s() noexcept { return s_.data(); }
  float* acc() noexcept { return acc_.data(); }
  float* m() noexcept { return m_.data(); }
  float* l() noexcept { return l_.data(); }
  /// 64-byte aligned room for keys packed as the matmul kernel's panels (Kᵀ: head_dim rows of 64
  /// keys per panel) and values (key rows of 64 value columns per panel).
  float* k_panels() noexcept { return aligned(kp_); }
  float* v_panels() noexcept { return aligned(vp_); }
  /// One flag per 64-key panel: packed for the current problem yet.
  std::uint8_t* panel_ready() noexcept { return ready_.data(); }

  static constexpr index_t panel_width = index_t(kernels::packed_matrix::panel_width);
  static constexpr index_t panels(index_t n) noexcept { return (n + panel_width - 1) / panel_width; }

 private:
  static constexpr index_t align_slack = 16;  // floats: one 64-byte line
  static void grow(std::vector<float>& v, index_t n) {
    if (index_t(v.size()) < n) v.resize(std::size_t(n));
  }
  static float* aligned(std::vector<float>& v) noexcept {
    const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
    return v.data() + (((64 - addr % 64) % 64) / sizeof(float));
  }
  std::vector<float> q_, s_, acc_, m_, l_, kp_, vp_;
  std::vector<std::uint8_t> ready_;
};

namespace detail {

using row_map = Eigen::Map<matrix>;

#if EIGENFORMER_HAS_AVX512_GEMM
/// C[0:rows, 0:n] = (or, with !init, +=) A·B over kc: the matmul kernel's micro-tiles on a tile
/// that is already in cache. A: row stride lda; C: row stride ldc; B: packed 64-column panels,
/// panel j starting @p panel_stride floats after panel j − 1, each row of a panel 64 floats.
inline void panel_product(index_t rows, const float* a, index_t lda, const float* b, index_t panel_stride, index_t kc,
                          float* c, index_t ldc, index_t n, bool init) noexcept {
  namespace kd = kernels::simd::detail;
  constexpr index_t W = score_scratch::panel_width;
  for (index_t j = 0; j * W < n; ++j) {
    __mmask16 mask[4];
    kd::panel_masks(std::size_t(std::min(W, n - j * W)), mask);
    for (index_t r = 0; r < rows; r += index_t(kd::gemm_mr))
      kd::tile(std::size_t(std::min(index_t(kd::gemm_mr), rows - r)), a + r * lda, lda, b + j * panel_stride,
               std::size_t(kc), c + r * ldc + j * W, ldc, mask, init, nullptr);
  }
}
#endif

/// Keys [base, base + rows) of one head packed for the matmul kernel, 64 keys at a time on first
/// use (a sparse layout visits only some of them): Kᵀ in 64-key panels (head_dim × 64 each) and
/// V in 64-column panels (rows × 64 each). Tiles whose first key is base + a multiple of 64 take
/// the packed product; the rest (and builds without AVX-512) take Eigen's.
struct packed_keys {
  const head_problem* p = nullptr;
  float* k = nullptr;
  float* v = nullptr;
  std::uint8_t* ready = nullptr;
  index_t base = 0, rows = 0;

  /// Uses @p ws (which must have room for @p count keys: has_panels) for keys [base, base + count).
  packed_keys(const head_problem& problem, index_t first, index_t count, score_scratch& ws) noexcept
      : p(&problem), k(ws.k_panels()), v(ws.v_panels()), ready(ws.panel_ready()), base(first), rows(count) {
    std::fill(ready, ready + score_scratch::panels(count), std::uint8_t{0});
  }
  packed_keys() = default;

  bool covers(index_t k0, index_t k1) const noexcept {
    return k != nullptr && k0 >= base && k1 <= base + rows && (k0 - base) % score_scratch::panel_width == 0;
  }
  /// Packs the panels holding keys [k0, k1) that are not packed yet.
  void prepare(index_t k0, index_t k1) noexcept {
    constexpr index_t W = score_scratch::panel_width;
    for (index_t q = (k0 - base) / W; q * W < k1 - base; ++q)
      if (!ready[q]) {
        pack_panel(q);
        ready[q] = 1;
      }
  }

 private:
  void pack_panel(index_t q) noexcept {
    constexpr index_t W = score_scratch::panel_width;
    const index_t d = p->k.cols(), dv = p->v.cols(), r0 = q * W, w = std::min(W, rows - r0);
    float* panel = k + q * W * d;
    for (index_t c = 0; c < w; ++c) {
      const float* krow = p->k.row(base + r0 + c).data();
      for (index_t dd = 0; dd < d; ++dd) panel[dd * W + c] = krow[dd];
    }
    if (w < W)
      for (index_t dd = 0; dd < d; ++dd) std::fill(panel + dd * W + w, panel + dd * W + W, 0.0f);
    for (index_t j = 0; j * W < dv; ++j) {
      float* vpanel = v + j * W * rows;
      const index_t wv = std::min(W, dv - j * W);
      for (index_t r = r0; r < r0 + w; ++r) {
        const float* vrow = p->v.row(base + r).data() + j * W;
        std::copy(vrow, vrow + wv, vpanel + r * W);
        std::fill(vpanel + r * W + wv, vpanel + r * W + W, 0.0f);
      }
    }
  }
};

/// S = Q_tile·K_blockᵀ (Q_tile already scaled), from the packed keys when they cover the block.
inline void score_product(row_map& s, const row_map& qt, const head_problem& p, index_t k0,
                          packed_keys& pk) noexcept {
  const index_t bk = s.cols();
#if EIGENFORMER_HAS_AVX512_GEMM
  if (pk.covers(k0, k0 + bk)) {
    pk.prepare(k0, k0 + bk);
    // Key panel q holds head_dim rows of 64 keys; the block starts at panel (k0 − base) / 64.
    const index_t d = qt.cols();
    panel_product(s.rows(), qt.data(), d, pk.k + (k0 - pk.base) * d, score_scratch::panel_width * d, d, s.data(), bk,
                  bk, true);
    return;
  }
#else
  (void)pk;
#endif
  s.noalias() = qt * rows(p.k, k0, bk).transpose();
}

/// acc += S·V_block (S: [bq, bk] weights, V_block: rows k0.. of p.v).
inline void value_product(row_map& acc, const row_map& s, const head_problem& p, index_t k0,
                          packed_keys& pk) noexcept {
  const index_t bk = s.cols();
#if EIGENFORMER_HAS_AVX512_GEMM
  if (pk.covers(k0, k0 + bk)) {
    pk.prepare(k0, k0 + bk);
    // Value panel j holds pk.rows rows of 64 columns; the block starts (k0 − base) rows in.
    constexpr index_t W = score_scratch::panel_width;
    panel_product(s.rows(), s.data(), bk, pk.v + (k0 - pk.base) * W, W * pk.rows, bk, acc.data(), acc.cols(),
                  acc.cols(), false);
    return;
  }
#else
  (void)pk;
#endif
  acc.noalias() += s * rows(p.v, k0, bk);
}

/// S = Q_tile·K_blockᵀ (Q_tile already scaled), plus ALiBi and the mask of a partial tile.
template <class Layout>
inline void tile_scores(row_map s, const row_map& qt, const head_problem& p, const Layout& layout,
                        index_t q0, index_t k0, bool partial, packed_keys& pk) noexcept {
  const index_t bq = s.rows(), bk = s.cols();
  score_product(s, qt, p, k0, pk);
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  for (index_t r = 0; r < bq; ++r) {
    float* row = s.data() + r * bk;
    const index_t i = q0 + r;
    if (p.alibi_slope != 0.0f)
      for (index_t c = 0; c < bk; ++c) {
        const index_t d = i - (k0 + c);
        row[c] -= p.alibi_slope * static_cast<float>(d < 0 ? -d : d);
      }
    if (!partial) continue;
    if constexpr (requires { layout.row_keys(i); }) {
      if (!p.key_valid) {  // one run of visible keys: mask what lies outside it
        const key_span run = layout.row_keys(i);
        const index_t lo = std::clamp<index_t>(run.lo - k0, 0, bk), hi = std::clamp<index_t>(run.hi - k0, lo, bk);
        std::fill(row, row + lo, neg_inf);
        std::fill(row + hi, row + bk, neg_inf);
        continue;
      }
    }
    for (index_t c = 0; c < bk; ++c) {
      const index_t j = k0 + c;
      if (!layout.allowed(i, j) || (p.key_valid && !p.key_valid[j])) row[c] = neg_inf;
    }
  }
}

inline bool any_padding(const std::uint8_t* key_valid, index_t k0, index_t k1) noexcept {
  if (!key_valid) return false;
  for (index_t j = k0; j < k1; ++j)
    if (!key_valid[j]) return true;
  return false;
}

}  // namespace detail

/// Tiled score-based attention for one head of one sequence: p.out = normalise(p.q·p.kᵀ·scale)·p.v
/// restricted to @p layout. Rows whose visible keys are all masked output zeros. noexcept and
/// allocation-free once @p ws has been reserved for (tiles, head_dim, value_dim).
template <class Normalizer, class Layout>
inline void score_attention_head(const head_problem& p, const Normalizer& norm, const Layout& layout,
                                 const tile_sizes& tiles, score_scratch& ws) noexcept {
  using detail::row_map;
  const index_t n = p.q.rows(), m = p.k.rows(), d = p.q.cols(), dv = p.v.cols();
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  constexpr bool is_softmax = std::is_same_v<Normalizer, softmax_normalizer>;
  constexpr bool is_clipped = std::is_same_v<Normalizer, clipped_softmax_normalizer>;
  constexpr bool is_sigmoid = std::is_same_v<Normalizer, sigmoid_normalizer>;
  static_assert(is_softmax || is_clipped || is_sigmoid, "unknown normaliser");
  float sigmoid_bias = 0.0f;
  if constexpr (is_sigmoid) sigmoid_bias = norm.bias_for(m);
  matrix_view out = p.out;  // a view: writing through the copy writes the caller's output

  // Keys this problem's queries can see are packed on first use, when the tiles fall on panel edges.
  detail::packed_keys pk;
  if constexpr (kernels::simd::has_gemm) {
    const key_span all = n > 0 ? layout.key_range(p.q_pos0, p.q_pos0 + n, m) : key_span{};
    if (all.hi > all.lo && tiles.key % score_scratch::panel_width == 0 && ws.has_panels(all.hi - all.lo, d, dv))
      pk = detail::packed_keys(p, all.lo, all.hi - all.lo, ws);
  }

  for (index_t qt0 = 0; qt0 < n; qt0 += tiles.query) {
    const index_t bq = std::min(tiles.query, n - qt0);
    const index_t q0 = p.q_pos0 + qt0, q1 = q0 + bq;
    row_map qt(ws.q(), bq, d);
    qt.noalias() = rows(p.q, qt0, bq) * p.scale;
    row_map acc(ws.acc(), bq, dv);
    acc.setZero();
    float* rm = ws.m();
    float* rl = ws.l();
    std::fill(rm, rm + bq, neg_inf);
    std::fill(rl, rl + bq, 0.0f);
    const key_span span = layout.key_range(q0, q1, m);

    // Visits the tiles of this query tile that the layout allows; fn(k0, scores).
    auto for_each_tile = [&](auto&& fn) {
      for (index_t k0 = span.lo; k0 < span.hi; k0 += tiles.key) {
        const index_t k1 = std::min(k0 + tiles.key, span.hi);
        tile t = layout.classify(q0, q1, k0, k1);
        if (t == tile::skip) continue;
        if (t == tile::full && detail::any_padding(p.key_valid, k0, k1)) t = tile::partial;
        row_map s(ws.s(), bq, k1 - k0);
        detail::tile_scores(s, qt, p, layout, q0, k0, t == tile::partial, pk);
        fn(k0, s);
      }
    };

    if constexpr (is_softmax) {
      for_each_tile([&](index_t k0, row_map& s) {
        const index_t bk = s.cols();
        for (index_t r = 0; r < bq; ++r) {
          const float alpha =
              kernels::active::online_softmax_step(s.data() + r * bk, std::size_t(bk), rm[r], rl[r]);
          if (alpha != 1.0f) acc.row(r) *= alpha;
        }
        detail::value_product(acc, s, p, k0, pk);
      });
      for (index_t r = 0; r < bq; ++r) {
        const float inv = rl[r] > 0.0f ? 1.0f / rl[r] : 0.0f;
        out.row(qt0 + r) = acc.row(r) * inv;
      }
    } else if constexpr (is_sigmoid) {
      for_each_tile([&](index_t k0, row_map& s) {
        const index_t bk = s.cols();
        s.array() += sigmoid_bias;
        kernels::active::sigmoid(s.data(), s.data(), std::size_t(bq * bk));  // σ(−inf) = 0
        detail::value_product(acc, s, p, k0, pk);
      });
      out.middleRows(qt0, bq) = acc;
    } else {  // clipped softmax: pass 1 finds each row's max and sum, pass 2 clips and sums
      for_each_tile([&](index_t, row_map& s) {
        const index_t bk = s.cols();
        for (index_t r = 0; r < bq; ++r)
          kernels::active::online_softmax_step(s.data() + r * bk, std::size_t(bk), rm[r], rl[r]);
      });
      const float stretch = norm.zeta - norm.gamma, shift = norm.gamma;
      for_each_tile([&](index_t k0, row_map& s) {
        const index_t bk = s.cols();
        for (index_t r = 0; r < bq; ++r) {
          float* row = s.data() + r * bk;
          if (rl[r] <= 0.0f) {
            std::fill(row, row + bk, 0.0f);
            continue;
          }
          const float mr = rm[r], inv = 1.0f / rl[r];
          for (index_t c = 0; c < bk; ++c) {
            const float sc = row[c];
            const float pr = std::exp(sc - mr) * inv;
            row[c] = sc == neg_inf ? 0.0f : std::clamp(stretch * pr + shift, 0.0f, 1.0f);
          }
        }
        detail::value_product(acc, s, p, k0, pk);
      });
      out.middleRows(qt0, bq) = acc;
    }
  }
}

// ------------------------------------------------------------------------------------------
// Decode: one query against a cache

/// K/V cache of one kv head of one sequence: rows [capacity, head_dim], contiguous, so a decode
/// step reads them sequentially. A ring (sliding windows) keeps only the last `capacity` positions:
/// position p lives in row p % capacity.
struct kv_cache {
  matrix k, v;
  index_t length = 0;  ///< positions appended so far
  bool ring = false;

  kv_cache() = default;
  kv_cache(index_t capacity, index_t head_dim, index_t value_dim, bool is_ring)
      : k(capacity, head_dim), v(capacity, value_dim), ring(is_ring) {}
  index_t capacity() const noexcept { return k.rows(); }
  /// Rows that hold positions, and the first position they hold.
  index_t stored() const noexcept { return std::min(length, capacity()); }
  index_t first_position() const noexcept { return length - stored(); }
  bool full() const noexcept { return !ring && length >= capacity(); }
  void clear() noexcept { length = 0; }
  /// Appends one position's key and value rows. Caller guarantees !full().
  void append(const float* key, const float* value) noexcept {
    const index_t row = ring ? length % capacity() : length;
    std::copy(key, key + k.cols(), k.row(row).data());
    std::copy(value, value + v.cols(), v.row(row).data());
    ++length;
  }
  /// Position held by row @p r.
  index_t position_of(index_t r) const noexcept {
    if (!ring || length <= capacity()) return r;
    const index_t last = length - 1;
    return last - ((last - r) % capacity() + capacity()) % capacity();
  }
};

/// Partial result of one query over a range of keys: running max, running sum, unnormalised
/// output. Partials of disjoint key ranges merge exactly (Lean Attention / split-K decoding).
struct decode_partial {
  float m = -std::numeric_limits<float>::infinity();
  float l = 0.0f;
};

/// One query row at position @p q_pos against rows [r0, r1) of @p cache: writes the
/// unnormalised output into acc [value_dim] and returns its (max, sum). For sigmoid the sum is
/// unused and acc is already final.
template <class Normalizer, class Layout>
inline decode_partial score_decode_range(const float* q, const kv_cache& cache, index_t r0, index_t r1,
                                         index_t q_pos, float scale, float alibi_slope, const Normalizer& norm,
                                         const Layout& layout, float* s, float* acc) noexcept {
  const index_t d = cache.k.cols(), dv = cache.v.cols(), count = r1 - r0;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  Eigen::Map<const Eigen::VectorXf> qv(q, d);
  Eigen::Map<Eigen::VectorXf> sv(s, count);
  sv.noalias() = cache.k.middleRows(r0, count) * qv;
  for (index_t c = 0; c < count; ++c) {
    const index_t j = cache.position_of(r0 + c);
    float x = s[c] * scale;
    if (alibi_slope != 0.0f) x -= alibi_slope * static_cast<float>(q_pos >= j ? q_pos - j : j - q_pos);
    s[c] = layout.allowed(q_pos, j) ? x : neg_inf;
  }
  decode_partial part;
  if constexpr (std::is_same_v<Normalizer, sigmoid_normalizer>) {
    sv.array() += norm.bias_for(cache.stored());
    kernels::active::sigmoid(s, s, std::size_t(count));
  } else {
    kernels::active::online_softmax_step(s, std::size_t(count), part.m, part.l);
  }
  Eigen::Map<Eigen::VectorXf> av(acc, dv);
  av.noalias() = cache.v.middleRows(r0, count).transpose() * sv;
  return part;
}

// ------------------------------------------------------------------------------------------
// The variant type that plugs into multi_head_attention

/// Score-based attention with normaliser @p Normalizer and layout @p Layout. Aliases below name
/// the common ones; multi_head_attention<V> takes any of them (and the linear and low-rank
/// variants) with the same interface:
///  - prefill(head_problem, scratch): one head of one sequence;
///  - make_state / fill_state / append / decode: the per-(sequence, kv head) decode state, here a
///    kv_cache (a ring of `window` rows for causal sliding windows).
template <class Normalizer, class Layout>
class score_attention {
 public:
  using normalizer_type = Normalizer;
  using layout_type = Layout;
  using scratch_type = score_scratch;
  using state_type = kv_cache;
  static constexpr bool supports_decode = true;
  static constexpr bool supports_alibi = true;
  static constexpr bool query_splittable = true;  ///< query rows of a head can run in parallel

  score_attention() = default;
  explicit score_attention(Layout layout, Normalizer norm = {}, tile_sizes tiles = {})
      : layout_(std::move(layout)), norm_(norm), tiles_(tiles) {
    if (tiles.query < 1 || tiles.key < 1)
      throw_error<config_error>("attention.tiles", "tile sizes", "query >= 1 and key >= 1",
                                std::to_string(tiles.query) + " x " + std::to_string(tiles.key));
  }

  const Layout& layout() const noexcept { return layout_; }
  const Normalizer& normalizer() const noexcept { return norm_; }
  const tile_sizes& tiles() const noexcept { return tiles_; }

  /// Any sequence length is fine for the score family.
  void check_sequence_length(index_t) const noexcept {}

  void reserve(scratch_type& ws, index_t d, index_t dv, index_t max_keys) const {
    ws.reserve(tiles_.query, tiles_.key, d, dv);
    ws.reserve_decode(max_keys, dv);
    ws.reserve_panels(max_keys, d, dv);
  }
  void prefill(const head_problem& p, scratch_type& ws) const noexcept {
    score_attention_head(p, norm_, layout_, tiles_, ws);
  }

  /// A causal sliding window needs only its last `window` keys: the cache is a ring.
  bool uses_ring() const noexcept {
    if constexpr (std::is_same_v<Layout, sliding_window_layout>) return layout_.causal;
    return false;
  }
  state_type make_state(index_t max_positions, index_t d, index_t dv) const {
    if constexpr (std::is_same_v<Layout, sliding_window_layout>)
      if (layout_.causal) return state_type(std::min(max_positions, layout_.window), d, dv, true);
    return state_type(max_positions, d, dv, false);
  }
  bool can_append(const state_type& st) const noexcept { return !st.full(); }
  void append(state_type& st, const float* k, const float* v) const noexcept { st.append(k, v); }
  void fill_state(state_type& st, const_matrix_view k, const_matrix_view v) const noexcept {
    st.clear();
    for (index_t r = 0; r < k.rows(); ++r) st.append(k.row(r).data(), v.row(r).data());
  }

  /// One query (position q_pos, after its own key was appended) against the cache.
  /// out: [value_dim]. ws must have been reserved for the cache's capacity.
  void decode(const float* q, const state_type& st, index_t q_pos, float scale, float alibi_slope,
              float* out, scratch_type& ws) const noexcept {
    const index_t dv = st.v.cols(), count = st.stored();
    float* sc = ws.s();
    if constexpr (std::is_same_v<Normalizer, clipped_softmax_normalizer>) {
      const decode_partial part = score_decode_range(q, st, 0, count, q_pos, scale, alibi_slope,
                                                     softmax_normalizer{}, layout_, sc, out);
      // sc holds e^(s − m) (0 where masked); clipping needs the normalised softmax first.
      const float inv = part.l > 0.0f ? 1.0f / part.l : 0.0f;
      const float stretch = norm_.zeta - norm_.gamma;
      for (index_t c = 0; c < count; ++c)
        sc[c] = (part.l > 0.0f && layout_.allowed(q_pos, st.position_of(c)))
                    ? std::clamp(stretch * sc[c] * inv + norm_.gamma, 0.0f, 1.0f)
                    : 0.0f;
      Eigen::Map<Eigen::VectorXf> o(out, dv);
      o.noalias() = st.v.topRows(count).transpose() * Eigen::Map<const Eigen::VectorXf>(sc, count);
    } else {
      const decode_partial part =
          score_decode_range(q, st, 0, count, q_pos, scale, alibi_slope, norm_, layout_, sc, out);
      if constexpr (std::is_same_v<Normalizer, softmax_normalizer>) {
        const float inv = part.l > 0.0f ? 1.0f / part.l : 0.0f;
        for (index_t c = 0; c < dv; ++c) out[c] *= inv;
      }
    }
  }

  /// Split-K decode (softmax only): the partial of rows [r0, r1); merge partials with
  /// merge_decode_partials. Lets one sequence's long cache use every core.
  static constexpr bool splittable_decode = std::is_same_v<Normalizer, softmax_normalizer>;
  decode_partial decode_range(const float* q, const state_type& st, index_t r0, index_t r1, index_t q_pos,
                              float scale, float alibi_slope, float* acc, float* s) const noexcept {
    return score_decode_range(q, st, r0, r1, q_pos, scale, alibi_slope, norm_, layout_, s, acc);
  }

 private:
  Layout layout_{};
  Normalizer norm_{};
  tile_sizes tiles_{};
};

/// Merges the partials of disjoint key ranges: out = Σ_t acc_t·e^(m_t − M) / Σ_t l_t·e^(m_t − M).
/// accs: `parts` rows of `dv` floats. A query that saw no key at all outputs zeros.
inline void merge_decode_partials(const decode_partial* parts, const float* accs, index_t count,
                                  index_t dv, float* out) noexcept {
  float mx = -std::numeric_limits<float>::infinity();
  for (index_t t = 0; t < count; ++t) mx = kernels::compat::max_nan(mx, parts[t].m);
  std::fill(out, out + dv, 0.0f);
  if (mx == -std::numeric_limits<float>::infinity()) return;
  float l = 0.0f;
  for (index_t t = 0; t < count; ++t) {
    if (parts[t].l <= 0.0f) continue;
    const float w = std::exp(parts[t].m - mx);
    l += parts[t].l * w;
    kernels::active::axpy(w, accs + t * dv, out, std::size_t(dv));
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  kernels::active::scale(out, inv, std::size_t(dv));
}

/// Dense softmax attention (BERT; causal when the layout is causal_layout).
using softmax_attention = score_attention<softmax_normalizer, dense_layout>;
/// Causal softmax attention (GPT).
using causal_softmax_attention = score_attention<softmax_normalizer, causal_layout>;
/// Softmax over a sliding window (Mistral, Longformer local).
using sliding_window_attention = score_attention<softmax_normalizer, sliding_window_layout>;
/// Softmax over a window plus global tokens (Longformer, BigBird).
using window_global_attention = score_attention<softmax_normalizer, window_global_layout>;
/// Softmax over a dilated window.
using dilated_attention = score_attention<softmax_normalizer, dilated_layout>;
/// Softmax over a block-sparse layout.
using block_sparse_attention = score_attention<softmax_normalizer, block_sparse_layout>;
/// Sigmoid attention over any layout.
template <class Layout = dense_layout>
using sigmoid_attention = score_attention<sigmoid_normalizer, Layout>;
/// Clipped-softmax attention over any layout.
template <class Layout = dense_layout>
using clipped_softmax_attention = score_attention<clipped_softmax_normalizer, Layout>;

}  // namespace eigenformer::attention
