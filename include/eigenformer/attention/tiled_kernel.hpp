#pragma once
/// @file
/// The tiled kernel of the score-based (quadratic) family, for one head of one sequence:
/// scores = q·kᵀ·scale, then the score modifier (ALiBi, ...), then the layout's mask, then the
/// normaliser, then a weighted sum of values. It walks query tiles × key tiles, skips the tiles
/// the layout rules out, masks the partial ones, and keeps the normaliser's running statistics,
/// so the n × n score matrix never exists: memory is O(tile² + n·head_dim) per worker, whatever n.
/// Q·Kᵀ and P·V tiles run on the matmul micro-kernel over keys and values packed in 64-key panels
/// on first use (kernels/panel.hpp) when the build has it, Eigen's product otherwise.

#include <eigenformer/attention/layout.hpp>
#include <eigenformer/attention/normalizers.hpp>
#include <eigenformer/attention/score_modifiers.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/panel.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace eigenformer::attention {

/// Tile sizes of the prefill kernel (queries × keys).
struct tile_sizes {
  /// 64 query rows: the scaled Q tile (64 × head_dim ≤ 64 KiB) and its accumulator stay in L2.
  static constexpr index_t default_query = 64;
  /// 128 keys: two 64-key panels per tile, and the score tile (64 × 128 floats, 32 KiB) fits L1/L2.
  static constexpr index_t default_key = 128;
  index_t query = default_query;
  index_t key = default_key;
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
  const std::uint8_t* key_valid = nullptr;  ///< [m], 0 = padding key never attended; null = all valid
  index_t head = 0;       ///< query head index (score modifiers and per-head parameters use it)
};

/// Scratch of one worker for the prefill and decode kernels; grows, never shrinks, so that a
/// forward pass over shapes seen before allocates nothing.
class score_scratch {
 public:
  static constexpr index_t panel_width = index_t(kernels::panel_width);
  static constexpr index_t panels(index_t n) noexcept { return index_t(kernels::panel_count(std::size_t(n))); }

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
  /// Room for one decode query over @p keys keys (scores) and its accumulator.
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
  /// 64-byte aligned room for keys packed as panels of Kᵀ (head_dim rows of 64 keys per panel)
  /// and values (key rows of 64 value columns per panel).
  float* k_panels() noexcept { return aligned(kp_); }
  float* v_panels() noexcept { return aligned(vp_); }
  /// One flag per 64-key panel: packed for the current problem yet.
  std::uint8_t* panel_ready() noexcept { return ready_.data(); }

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
    const index_t d = p->k.cols(), dv = p->v.cols();
    for (index_t q = (k0 - base) / W; q * W < k1 - base; ++q)
      if (!ready[q]) {
        const index_t r0 = q * W, w = std::min(W, rows - r0);
        kernels::pack_transposed(p->k.row(base + r0).data(), p->k.outerStride(), std::size_t(w), std::size_t(d),
                                 k + q * W * d);
        kernels::pack_rows(p->v.row(base + r0).data(), p->v.outerStride(), std::size_t(w), std::size_t(dv), v,
                           std::size_t(W * rows), std::size_t(r0));
        ready[q] = 1;
      }
  }
};

/// S = Q_tile·K_blockᵀ (Q_tile already scaled), from the packed keys when they cover the block.
inline void score_product(row_map& s, const row_map& qt, const head_problem& p, index_t k0,
                          packed_keys& pk) noexcept {
  const index_t bk = s.cols();
  if constexpr (kernels::simd::has_gemm) {
    if (pk.covers(k0, k0 + bk)) {
      pk.prepare(k0, k0 + bk);
      // Key panel q holds head_dim rows of 64 keys; the block starts at panel (k0 − base) / 64.
      const index_t d = qt.cols();
      kernels::simd::panel_product({qt.data(), d, pk.k + (k0 - pk.base) * d,
                                    std::size_t(score_scratch::panel_width * d), std::size_t(s.rows()), std::size_t(d),
                                    std::size_t(bk), s.data(), bk, true});
      return;
    }
  }
  s.noalias() = qt * rows(p.k, k0, bk).transpose();
}

/// acc += S·V_block (S: [bq, bk] weights, V_block: rows k0.. of p.v).
inline void value_product(row_map& acc, const row_map& s, const head_problem& p, index_t k0,
                          packed_keys& pk) noexcept {
  const index_t bk = s.cols();
  if constexpr (kernels::simd::has_gemm) {
    if (pk.covers(k0, k0 + bk)) {
      pk.prepare(k0, k0 + bk);
      // Value panel j holds pk.rows rows of 64 columns; the block starts (k0 − base) rows in.
      constexpr index_t W = score_scratch::panel_width;
      kernels::simd::panel_product({s.data(), bk, pk.v + (k0 - pk.base) * W, std::size_t(W * pk.rows),
                                    std::size_t(s.rows()), std::size_t(bk), std::size_t(acc.cols()), acc.data(),
                                    acc.cols(), false});
      return;
    }
  }
  acc.noalias() += s * rows(p.v, k0, bk);
}

/// Scores of one tile: S = Q_tile·K_blockᵀ, then the modifier, then the mask of a partial tile.
template <class Layout, class Modifier>
inline void tile_scores(row_map s, const row_map& qt, const head_problem& p, const Layout& layout,
                        const Modifier& modifier, index_t q0, index_t k0, bool partial, packed_keys& pk) noexcept {
  const index_t bq = s.rows(), bk = s.cols();
  score_product(s, qt, p, k0, pk);
  if constexpr (!is_identity_modifier<Modifier>) modifier.apply(score_tile{s.data(), bk, bq, bk, q0, k0, p.head});
  if (!partial) return;
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
  for (index_t r = 0; r < bq; ++r) {
    float* row = s.data() + r * bk;
    const index_t i = q0 + r;
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

/// Tiled score-based attention for one head of one sequence: p.out = normalise(modify(p.q·p.kᵀ·
/// scale))·p.v restricted to @p layout. Rows whose visible keys are all masked output zeros.
/// noexcept and allocation-free once @p ws has been reserved for (tiles, head_dim, value_dim).
template <score_normalizer Normalizer, class Layout, score_modifier Modifier>
inline void score_attention_head(const head_problem& p, const Normalizer& norm, const Layout& layout,
                                 const Modifier& modifier, const tile_sizes& tiles, score_scratch& ws) noexcept {
  using detail::row_map;
  const index_t n = p.q.rows(), m = p.k.rows(), d = p.q.cols(), dv = p.v.cols();
  constexpr float neg_inf = -std::numeric_limits<float>::infinity();
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

    for (int pass = 0; pass < Normalizer::passes; ++pass) {
      const bool last = pass + 1 == Normalizer::passes;
      for (index_t k0 = span.lo; k0 < span.hi; k0 += tiles.key) {
        const index_t k1 = std::min(k0 + tiles.key, span.hi);
        tile t = layout.classify(q0, q1, k0, k1);
        if (t == tile::skip) continue;
        if (t == tile::full && detail::any_padding(p.key_valid, k0, k1)) t = tile::partial;
        row_map s(ws.s(), bq, k1 - k0);
        detail::tile_scores(s, qt, p, layout, modifier, q0, k0, t == tile::partial, pk);
        if (!last) {
          norm.gather(s.data(), bq, k1 - k0, rm, rl);
          continue;
        }
        norm.weigh(s.data(), bq, k1 - k0, m, rm, rl, acc);
        detail::value_product(acc, s, p, k0, pk);
      }
    }
    for (index_t r = 0; r < bq; ++r) norm.finish(acc.row(r).data(), rm[r], rl[r], out.row(qt0 + r).data(), dv);
  }
}

/// The same without a score modifier.
template <score_normalizer Normalizer, class Layout>
inline void score_attention_head(const head_problem& p, const Normalizer& norm, const Layout& layout,
                                 const tile_sizes& tiles, score_scratch& ws) noexcept {
  score_attention_head(p, norm, layout, no_score_modifier{}, tiles, ws);
}

}  // namespace eigenformer::attention
