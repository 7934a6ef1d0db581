#pragma once
/// @file
/// Linear (kernelised) attention: out_i = φ(q_i)ᵀ S_i / φ(q_i)ᵀ z_i with S = Σ_j φ(k_j) v_jᵀ and
/// z = Σ_j φ(k_j) (Katharopoulos et al., 2020), O(n·f·d) instead of O(n²·d).
///  - feature maps φ: elu + 1, ReLU, identity (Galerkin-style, usually unnormalised) and FAVOR+
///    positive random features (Choromanski et al., 2021);
///  - state updates: additive (classic), decayed by γ (retention, Sun et al. 2023:
///    S_t = γ·S_{t−1} + φ(k_t)v_tᵀ) and the delta rule with β (DeltaNet, Schlag et al. 2021:
///    S_t = S_{t−1} + β·φ(k_t)(v_t − S_{t−1}ᵀφ(k_t))ᵀ, with L2-normalised φ(k), φ(q), no
///    denominator);
///  - forms: non-causal φ(Q)(φ(K)ᵀV); causal prefill in chunks (intra-chunk masked products plus
///    the carried state; for the delta rule one c×c triangular solve per chunk, Yang et al. 2024);
///    decode as the O(f·d) recurrent update.
/// The head_problem's scale does not apply (FAVOR+ scales by d^(−1/4) itself), and there is no
/// score modifier: no scores exist.

#include <eigenformer/attention/config.hpp>
#include <eigenformer/attention/tiled_kernel.hpp>
#include <eigenformer/attention/variant.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace eigenformer::attention {

// ------------------------------------------------------------------------------------------
// Feature maps: features(d) = f, apply(x [n, d], out [n, f], is_query)

/// φ(x) = elu(x) + 1 (positive; Katharopoulos et al.).
struct elu_plus_one_map {
  index_t features(index_t d) const noexcept { return d; }
  void apply(const_matrix_view x, matrix_view out, bool) const noexcept {
    for (index_t r = 0; r < x.rows(); ++r)
      kernels::active::elu_plus_one(x.row(r).data(), out.row(r).data(), std::size_t(x.cols()));
  }
};

/// φ(x) = max(x, 0).
struct relu_map {
  index_t features(index_t d) const noexcept { return d; }
  void apply(const_matrix_view x, matrix_view out, bool) const noexcept {
    for (index_t r = 0; r < x.rows(); ++r)
      kernels::active::relu(x.row(r).data(), out.row(r).data(), std::size_t(x.cols()));
  }
};

/// φ(x) = x (Galerkin-style attention when used unnormalised).
struct identity_map {
  index_t features(index_t d) const noexcept { return d; }
  void apply(const_matrix_view x, matrix_view out, bool) const noexcept { out = x; }
};

/// FAVOR+ positive random features: φ(x) = exp(W·x' − |x'|²/2) / √m with x' = x·d^(−1/4) and
/// W: [m, d] Gaussian (i.i.d. or block-orthogonal rows with χ-distributed norms). Query rows are
/// also shifted by their max before exp, which cancels in the normalised output.
struct favor_map {
  matrix w;  ///< [m, d] projection; build with random() or load your own

  /// m Gaussian features for head_dim d from a seed (a portable generator: the same seed gives
  /// the same features on every platform). Throws config_error unless m ≥ 1 and d ≥ 1.
  static favor_map random(index_t m, index_t d, std::uint64_t seed, bool orthogonal = true) {
    if (m < 1) throw_error<config_error>("attention.favor", "number of features", "an integer >= 1", std::to_string(m));
    if (d < 1) throw_error<config_error>("attention.favor", "head_dim", "an integer >= 1", std::to_string(d));
    std::uint64_t state = seed;
    auto next = [&state]() {  // splitmix64
      std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
    };
    auto gaussian = [&]() {  // Box-Muller on two 53-bit uniforms in (0, 1]
      const double u1 = (double(next() >> 11) + 1.0) * 0x1.0p-53, u2 = double(next() >> 11) * 0x1.0p-53;
      return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    };
    Eigen::MatrixXd g(m, d);
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < d; ++j) g(i, j) = gaussian();
    if (orthogonal) {
      // Orthogonalise each block of d rows (Gram-Schmidt), then give each row the norm of an
      // independent Gaussian vector, as in the Performer's orthogonal random features.
      for (index_t b0 = 0; b0 < m; b0 += d) {
        const index_t rows = std::min(d, m - b0);
        for (index_t i = b0; i < b0 + rows; ++i) {
          for (index_t j = b0; j < i; ++j) g.row(i) -= g.row(i).dot(g.row(j)) * g.row(j);
          g.row(i).normalize();
        }
      }
      for (index_t i = 0; i < m; ++i) {
        double norm2 = 0.0;
        for (index_t j = 0; j < d; ++j) {
          const double x = gaussian();
          norm2 += x * x;
        }
        g.row(i) *= std::sqrt(norm2);
      }
    }
    return favor_map{g.cast<float>()};
  }

  index_t features(index_t) const noexcept { return w.rows(); }
  void apply(const_matrix_view x, matrix_view out, bool is_query) const noexcept {
    const float s = 1.0f / std::sqrt(std::sqrt(static_cast<float>(x.cols())));
    const float inv_sqrt_m = 1.0f / std::sqrt(static_cast<float>(w.rows()));
    out.noalias() = (x * s) * w.transpose();
    for (index_t r = 0; r < x.rows(); ++r) {
      const float half_norm = 0.5f * s * s * x.row(r).squaredNorm();
      float shift = half_norm;
      if (is_query) shift += out.row(r).maxCoeff();
      out.row(r).array() -= shift;
      kernels::active::exp(out.row(r).data(), out.row(r).data(), std::size_t(out.cols()));
      out.row(r) *= inv_sqrt_m;
    }
  }
};

// ------------------------------------------------------------------------------------------
// State updates

/// S_t = S_{t−1} + φ(k_t)v_tᵀ.
struct additive_update {};
/// S_t = γ·S_{t−1} + φ(k_t)v_tᵀ (retention); 0 < γ ≤ 1.
struct decay_update {
  float gamma = 0.95f;
};
/// S_t = S_{t−1} + β·φ(k_t)(v_t − S_{t−1}ᵀφ(k_t))ᵀ with φ(k) L2-normalised (DeltaNet); 0 < β ≤ 2.
struct delta_update {
  float beta = 0.5f;
};

/// Recurrent state of one kv head: S [f, dv] and the normaliser z [f], plus two rows of scratch
/// (φ(k) [f] and the delta rule's error [dv]) so that appending allocates nothing. key_dim is the
/// width d of the keys and queries the state was made for (f = features(d) differs from d for
/// FAVOR+), so that append and decode know how many floats a key or query row has.
struct linear_state {
  matrix s;
  vector z;
  vector phi, err;
  index_t length = 0;
  index_t key_dim = 0;
};

/// Scratch of one worker for linear attention (O(chunk·(f + dv + chunk)) floats, see reserve()).
/// The prefill keeps one (S, z) per head of its group in s [heads·f, dv] and z [heads·f].
struct linear_scratch {
  scratch_matrix phi_q, phi_k, a, s, num, tmp, decay;
  std::vector<float> z, den, phi_row, gpow;
  std::size_t bytes() const noexcept {
    return sizeof(float) * (phi_q.capacity() + phi_k.capacity() + a.capacity() + s.capacity() + num.capacity() +
                            tmp.capacity() + decay.capacity() + z.capacity() + den.capacity() + phi_row.capacity() +
                            gpow.capacity());
  }
};

/// Linear attention with feature map @p FeatureMap and state update @p Update. Causal or not is a
/// run-time choice; decayed and delta updates are causal only.
template <class FeatureMap, class Update = additive_update>
class linear_attention {
 public:
  using scratch_type = linear_scratch;
  using state_type = linear_state;
  static constexpr bool supports_decode = true;
  static constexpr bool query_splittable = false;
  static constexpr bool is_delta = std::is_same_v<Update, delta_update>;

  /// Rows per chunk of the causal prefill unless given. Per row a chunk costs O(c·(f + dv)) in
  /// its c×c blocks against O(f·dv) for the carried state, and Eigen's products lose little per
  /// flop from c = 64 down to 16, so short chunks win. At f = dv = 64 on one core the delta rule
  /// (three c×c products: K Kᵀ, Q Kᵀ and the solve) is fastest near c = 16, 1.4x faster than at
  /// 64 and with 4x less fp32 rounding (see test_linear.cpp); the others near 32, 1.05-1.15x.
  static constexpr index_t default_chunk = is_delta ? 16 : 32;
  /// Rows per chunk of the bidirectional form at least: it has no c×c block, so a longer chunk
  /// costs only scratch; the form measured a little slower at c = 32 than at 64 to 256 (which
  /// measured alike).
  static constexpr index_t bidirectional_min_chunk = 128;

  linear_attention() = default;
  /// @param causal   causal (decoder) or bidirectional (encoder) attention
  /// @param normalize divide by φ(q)ᵀz (default: true, except for the delta rule, which has no z)
  /// @param chunk    rows per chunk of the causal prefill (the bidirectional form uses at least
  ///                 bidirectional_min_chunk rows)
  /// Throws config_error for a non-causal decayed/delta update, bad γ/β or chunk < 1.
  explicit linear_attention(bool causal, FeatureMap map = {}, Update update = {}, bool normalize = !is_delta,
                            index_t chunk = default_chunk)
      : map_(std::move(map)), update_(update), causal_(causal), normalize_(normalize), chunk_(chunk) {
    const char* where = "attention.linear";
    if (!causal && !std::is_same_v<Update, additive_update>)
      throw_error<config_error>(where, "causal", "true for a decayed or delta-rule update", "false");
    if constexpr (std::is_same_v<Update, decay_update>)
      if (!(update.gamma > 0.0f && update.gamma <= 1.0f))
        throw_error<config_error>(where, "gamma", "a value in (0, 1]", std::to_string(update.gamma));
    if constexpr (is_delta) {
      if (!(update.beta > 0.0f && update.beta <= 2.0f))
        throw_error<config_error>(where, "beta", "a value in (0, 2]", std::to_string(update.beta));
      if (normalize) throw_error<config_error>(where, "normalize", "false for the delta rule", "true");
    }
    if (chunk < 1) throw_error<config_error>(where, "chunk", "an integer >= 1", std::to_string(chunk));
  }

  bool causal() const noexcept { return causal_; }
  const FeatureMap& feature_map() const noexcept { return map_; }
  void check_sequence_length(index_t) const noexcept {}
  /// Nothing to bind: the feature map and update carry their own parameters.
  void bind(const attention_config&) const noexcept {}

  /// Scratch is O(chunk·(f + dv + chunk)), independent of the sequence length: φ is computed
  /// chunk by chunk, so the working set stays in cache.
  void reserve(scratch_type& ws, index_t d, index_t dv, index_t) const { reserve_heads(ws, 1, d, dv); }

  /// Scratch for prefill_heads over @p heads heads: the chunk scratch, shared by the heads, and
  /// one (S, z) per head.
  void reserve_heads(scratch_type& ws, index_t heads, index_t d, index_t dv) const {
    const index_t f = map_.features(d);
    ws.s.get(heads * f, dv);
    if (index_t(ws.z.size()) < heads * f) ws.z.resize(std::size_t(heads * f));
    if (index_t(ws.phi_row.size()) < f) ws.phi_row.resize(std::size_t(f));
    if (!causal_) {
      const index_t c = bidirectional_chunk();
      ws.phi_q.get(c, f);
      ws.phi_k.get(c, f);
      return;
    }
    const index_t c = chunk_;
    ws.num.get(c, dv);
    if constexpr (is_delta) {
      // [φ(K_c); φ(Q_c)] stacked in phi_k, their products with K_cᵀ in a and with S in tmp.
      ws.phi_k.get(2 * c, f);
      ws.a.get(2 * c, c);
      ws.tmp.get(2 * c, dv);
    } else {
      ws.phi_q.get(c, f);
      ws.phi_k.get(c, f);
      ws.a.get(c, c);
      if constexpr (std::is_same_v<Update, decay_update>) ws.decay.get(c, c);
      if (index_t(ws.den.size()) < c) ws.den.resize(std::size_t(c));
      if (index_t(ws.gpow.size()) < c + 1) ws.gpow.resize(std::size_t(c + 1));
    }
  }

  /// One head of one sequence (positions from 0: p.q_pos0 must be 0 for the causal form).
  /// q: [n, d], k: [m, d], v: [m, dv] -> out: [n, dv] (causal: m = n).
  /// A group of one head, through prefill_heads: one code path for both.
  void prefill(const head_problem& p, scratch_type& ws) const noexcept {
    prefill_heads(head_group_problem{p.q, p.k, p.v, p.out, 0, 1, p.q.cols(), p.v.cols(), 1, p.q_pos0, p.scale,
                                     p.key_valid},
                  ws);
  }

  /// A group of heads of one sequence, chunk-outer and head-inner: each chunk's rows are read
  /// once, whole (heads · 256 B of a row at head_dim 64), where one head after the other reads
  /// 256 B of each of the rows, 3 KiB apart at 12 heads, which at n = 16K (50 MB per matrix, past
  /// L3) defeats the hardware prefetcher.
  void prefill_heads(const head_group_problem& hp, scratch_type& ws) const noexcept {
    const index_t heads = hp.heads, f = map_.features(hp.head_dim), dv = hp.value_dim;
    const auto state_of = [&](index_t i) {
      return head_state{rows(ws.s.view(heads * f, dv), i * f, f), ws.z.data() + i * f};
    };
    const head_problem first = hp.head(0), last = hp.head(heads - 1);
    const index_t n = first.q.rows(), m = first.k.rows();
    for (index_t i = 0; i < heads; ++i) {
      head_state st = state_of(i);
      st.s.setZero();
      std::fill(st.z, st.z + f, 0.0f);
    }
    if (!causal_) {
      // S = φ(K)ᵀV and z = φ(K)ᵀ1 over all keys, then out = φ(Q)S (/ φ(Q)z).
      const index_t bc = bidirectional_chunk();
      for (index_t c0 = 0; c0 < m; c0 += bc) {
        prefetch_rows(first.k, last.k, c0 + bc, bc);
        prefetch_rows(first.v, last.v, c0 + bc, bc);
        for (index_t i = 0; i < heads; ++i) keys_chunk(hp.head(i), c0, std::min(bc, m - c0), state_of(i), ws);
      }
      for (index_t c0 = 0; c0 < n; c0 += bc) {
        prefetch_rows(first.q, last.q, c0 + bc, bc);
        for (index_t i = 0; i < heads; ++i) queries_chunk(hp.head(i), c0, std::min(bc, n - c0), state_of(i), ws);
      }
      return;
    }
    if constexpr (!is_delta) prepare_causal(ws);
    for (index_t c0 = 0; c0 < n; c0 += chunk_) {
      prefetch_rows(first.q, last.q, c0 + chunk_, chunk_);
      prefetch_rows(first.k, last.k, c0 + chunk_, chunk_);
      prefetch_rows(first.v, last.v, c0 + chunk_, chunk_);
      const index_t c = std::min(chunk_, n - c0);
      for (index_t i = 0; i < heads; ++i) {
        if constexpr (is_delta) {
          delta_chunk(hp.head(i), c0, c, state_of(i).s, ws);
        } else {
          causal_chunk(hp.head(i), c0, c, state_of(i), ws);
        }
      }
    }
  }

  state_type make_state(index_t, index_t d, index_t dv) const {
    state_type st;
    st.s = matrix::Zero(map_.features(d), dv);
    st.z = vector::Zero(map_.features(d));
    st.phi = vector::Zero(map_.features(d));
    st.err = vector::Zero(dv);
    st.key_dim = d;
    return st;
  }
  /// A recurrent state takes any number of tokens.
  bool has_room(const state_type&, index_t) const noexcept { return true; }
  index_t capacity(const state_type&) const noexcept { return std::numeric_limits<index_t>::max(); }

  /// Folds one key/value into the state (allocation-free).
  void append(state_type& st, const float* k, const float* v) const noexcept {
    const index_t f = st.s.rows(), dv = st.s.cols();
    feature_row(k, st.key_dim, st.phi.data(), false);
    if constexpr (is_delta) {
      delta_step(matrix_view(st.s.data(), f, dv, Eigen::OuterStride<>(dv)), st.phi.data(), v, st.err.data());
    } else {
      const float gamma = decay();
      if (gamma != 1.0f) {
        st.s *= gamma;
        st.z *= gamma;
      }
      st.s.noalias() += st.phi * Eigen::Map<const Eigen::RowVectorXf>(v, dv);
      st.z += st.phi;
    }
    ++st.length;
  }

  void fill_state(state_type& st, const_matrix_view k, const_matrix_view v) const noexcept {
    st.s.setZero();
    st.z.setZero();
    st.length = 0;
    for (index_t r = 0; r < k.rows(); ++r) append(st, k.row(r).data(), v.row(r).data());
  }

  void decode(const decode_query& dq, const state_type& st, float* out, scratch_type& ws) const noexcept {
    const index_t f = st.s.rows(), dv = st.s.cols();
    feature_row(dq.q, st.key_dim, ws.phi_row.data(), true);
    Eigen::Map<const Eigen::RowVectorXf> pq(ws.phi_row.data(), f);
    Eigen::Map<Eigen::RowVectorXf> o(out, dv);
    o.noalias() = pq * st.s;
    if (normalize_) {
      const float den = pq.dot(st.z);
      o *= den != 0.0f ? 1.0f / den : 0.0f;
    }
  }

 private:
  float decay() const noexcept {
    if constexpr (std::is_same_v<Update, decay_update>) return update_.gamma;
    return 1.0f;
  }
  /// φ of one row (d floats) into out (f floats), L2-normalised for the delta rule.
  void feature_row(const float* x, index_t d, float* out, bool is_query) const noexcept {
    const_matrix_view xv(x, 1, d, Eigen::OuterStride<>(d));
    const index_t f = map_.features(d);
    matrix_view ov(out, 1, f, Eigen::OuterStride<>(f));
    map_.apply(xv, ov, is_query);
    if constexpr (is_delta) l2_normalize_rows(ov);
  }
  // φ of rows [r0, r0 + out.rows()) of q or k into @p out; L2-normalised for the delta rule, and
  // a padding key's row zeroed so that it adds nothing to S or z.
  void phi_queries(const head_problem& p, index_t r0, matrix_view out) const noexcept {
    map_.apply(rows(p.q, r0, out.rows()), out, true);
    if constexpr (is_delta) l2_normalize_rows(out);
  }
  void phi_keys(const head_problem& p, index_t r0, matrix_view out) const noexcept {
    map_.apply(rows(p.k, r0, out.rows()), out, false);
    if constexpr (is_delta) l2_normalize_rows(out);
    if (p.key_valid)
      for (index_t j = 0; j < out.rows(); ++j)
        if (!p.key_valid[r0 + j]) out.row(j).setZero();
  }
  /// One head's carried state: S [f, dv] and z [f].
  struct head_state {
    matrix_view s;
    float* z;
  };

  /// Asks for rows [r0, r0 + c) of the group's columns of a matrix (from head 0's first column to
  /// the last head's last) while the current chunk computes.
  static void prefetch_rows(const const_matrix_view& first, const const_matrix_view& last, index_t r0,
                            index_t c) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    const index_t r1 = std::min(r0 + c, first.rows());
    for (index_t r = r0; r < r1; ++r) {
      const char* b = reinterpret_cast<const char*>(first.row(r).data());
      const char* e = reinterpret_cast<const char*>(last.row(r).data() + last.cols());
      for (; b < e; b += 64) __builtin_prefetch(b, 0, 3);
    }
#else
    (void)first, (void)last, (void)r0, (void)c;
#endif
  }

  /// Bidirectional, keys [c0, c0 + c): S += φ(K_c)ᵀV_c, z += φ(K_c)ᵀ1.
  void keys_chunk(const head_problem& p, index_t c0, index_t c, const head_state& st, scratch_type& ws) const noexcept {
    const index_t f = st.s.rows();
    matrix_view pk = ws.phi_k.view(c, f);
    phi_keys(p, c0, pk);
    matrix_view s = st.s;
    s.noalias() += pk.transpose() * p.v.middleRows(c0, c);
    if (normalize_) Eigen::Map<Eigen::VectorXf>(st.z, f).noalias() += pk.colwise().sum().transpose();
  }
  /// Bidirectional, queries [c0, c0 + c): out = φ(Q_c)S (/ φ(Q_c)z).
  void queries_chunk(const head_problem& p, index_t c0, index_t c, const head_state& st,
                     scratch_type& ws) const noexcept {
    const index_t f = st.s.rows();
    matrix_view pq = ws.phi_q.view(c, f), out = p.out;
    phi_queries(p, c0, pq);
    out.middleRows(c0, c).noalias() = pq * st.s;
    if (normalize_) normalise(rows(out, c0, c), pq, st.z);
  }

  /// γ^k for k ≤ chunk and the chunk's decay mask Γ_ij = γ^(i−j) (j ≤ i), once per prefill.
  void prepare_causal(scratch_type& ws) const noexcept {
    const float gamma = decay();
    float* gp = ws.gpow.data();  // gp[k] = γ^k
    gp[0] = 1.0f;
    for (index_t k = 1; k <= chunk_; ++k) gp[k] = gp[k - 1] * gamma;
    if constexpr (std::is_same_v<Update, decay_update>) {
      matrix_view g = ws.decay.view(chunk_, chunk_);
      for (index_t i = 0; i < chunk_; ++i)
        for (index_t j = 0; j < chunk_; ++j) g(i, j) = j > i ? 0.0f : gp[i - j];
    }
  }

  /// Causal additive or decayed update, rows [c0, c0 + c): the masked product
  /// (φ(Q_c)φ(K_c)ᵀ ∘ Γ)V_c with Γ_ij = γ^(i−j) for j ≤ i, plus γ^(i+1)·φ(q_i)ᵀS_prev from the
  /// state carried over the chunks before; then the state moves past the chunk.
  void causal_chunk(const head_problem& p, index_t c0, index_t c, const head_state& st,
                    scratch_type& ws) const noexcept {
    const index_t f = st.s.rows(), dv = st.s.cols();
    matrix_view out = p.out, s = st.s;
    Eigen::Map<Eigen::VectorXf> z(st.z, f);
    const float gamma = decay();
    const float* gp = ws.gpow.data();
    matrix_view pq = ws.phi_q.view(c, f), pk = ws.phi_k.view(c, f), o = ws.num.view(c, dv);
    phi_queries(p, c0, pq);
    phi_keys(p, c0, pk);
    const const_matrix_view v_c = rows(p.v, c0, c);
    // Intra-chunk: A = φ(Q_c)φ(K_c)ᵀ, lower triangle, weighted γ^(i−j).
    matrix_view a = ws.a.view(c, c);
    a.noalias() = pq * pk.transpose();
    if constexpr (std::is_same_v<Update, decay_update>) {
      a = a.cwiseProduct(ws.decay.view(chunk_, chunk_).topLeftCorner(c, c));
    } else {
      a.template triangularView<Eigen::StrictlyUpper>().setZero();
    }
    o.noalias() = a * v_c;
    // Inter-chunk: γ^(i+1)·φ(q_i)ᵀ S_prev (the weight folded into φ(q_i), not needed after).
    if (gamma != 1.0f)
      for (index_t i = 0; i < c; ++i) pq.row(i) *= gp[i + 1];
    o.noalias() += pq * s;
    if (normalize_) {
      Eigen::Map<Eigen::VectorXf> den(ws.den.data(), c);
      den.noalias() = pq * z;
      den.noalias() += a.rowwise().sum();
      for (index_t i = 0; i < c; ++i) o.row(i) *= den[i] != 0.0f ? 1.0f / den[i] : 0.0f;
    }
    out.middleRows(c0, c) = o;
    // Carry: S = γ^c·S + Σ_j γ^(c−1−j)·φ(k_j)v_jᵀ (and z likewise), as one product.
    if (gamma != 1.0f) {
      s *= gp[c];
      z *= gp[c];
      for (index_t j = 0; j < c; ++j) pk.row(j) *= gp[c - 1 - j];
    }
    s.noalias() += pk.transpose() * v_c;
    if (normalize_) z.noalias() += pk.colwise().sum().transpose();
  }
  /// Causal delta rule, chunk-parallel, rows [c0, c0 + c) (Yang et al., 2024, "Parallelizing Linear Transformers with
  /// the Delta Rule over Sequence Length"). Writing S_t = S_0 + Σ_{j≤t} k_j u_jᵀ inside a chunk
  /// that starts from S_0 = S_prev, the recurrence S_t = S_{t−1} + β k_t(v_t − S_{t−1}ᵀk_t)ᵀ
  /// says u_t = β(v_t − S_0ᵀk_t − Σ_{j<t} (k_tᵀk_j) u_j), i.e. for the chunk's rows
  ///     (I + β·tril(K Kᵀ, −1)) U' = β(V − K S_0),
  /// a unit lower-triangular system (one forward substitution, c×c against c×dv). Then
  ///     O = Q S_0 + tril(Q Kᵀ) U'   (diagonal included: o_t reads the state after step t),
  ///     S_new = S_0 + Kᵀ U'.
  /// With T = (I + β·tril(K Kᵀ, −1))⁻¹β (the paper's UT transform), U' = T V − (T K) S_0 = U − W S_0:
  /// the paper forms T, W and U ahead so that all chunks can be prepared in parallel on a GPU;
  /// here the chunks run in order with S_0 at hand, so one solve against β(V − K S_0) gives U'
  /// without forming T (c³/2) or W = T K (c²·f/2), and K S_0 shares one product with Q S_0
  /// (1.25x faster than the explicit T, W, U at c = 16 and at 64, 12 heads of 64, one core).
  /// A padding key's zero row has no entry in either triangle and adds nothing to S or O, as in
  /// the recurrence.
  void delta_chunk(const head_problem& p, index_t c0, index_t c, matrix_view s, scratch_type& ws) const noexcept {
    if constexpr (is_delta) {
      const index_t f = s.rows(), dv = s.cols();
      const float beta = update_.beta;
      matrix_view out = p.out;
      // [φ(K_c); φ(Q_c)] stacked, so that one product gives K Kᵀ and Q Kᵀ, and one K S_0 and Q S_0.
      matrix_view kq = ws.phi_k.view(2 * c, f), pk = rows(kq, 0, c), pq = rows(kq, c, c);
      phi_keys(p, c0, pk);
      phi_queries(p, c0, pq);
      matrix_view g = ws.a.view(2 * c, c), ks = ws.tmp.view(2 * c, dv), u = ws.num.view(c, dv);
      g.noalias() = kq * pk.transpose();
      ks.noalias() = kq * s;
      u = beta * (p.v.middleRows(c0, c) - ks.topRows(c));
      auto kk = g.topRows(c);
      kk.template triangularView<Eigen::StrictlyLower>() *= beta;
      kk.template triangularView<Eigen::UnitLower>().solveInPlace(u);
      auto o = ks.bottomRows(c);  // Q S_0, now O
      o.noalias() += g.bottomRows(c).template triangularView<Eigen::Lower>() * u;
      out.middleRows(c0, c) = o;
      s.noalias() += pk.transpose() * u;
    } else {
      (void)p, (void)c0, (void)c, (void)s, (void)ws;
    }
  }

  static void l2_normalize_rows(matrix_view x) noexcept {
    for (index_t r = 0; r < x.rows(); ++r) {
      const float nrm = x.row(r).norm();
      if (nrm > 0.0f) x.row(r) /= nrm;
    }
  }
  /// S += β·φ(k)(v − Sᵀφ(k))ᵀ; err: dv floats of scratch.
  void delta_step(matrix_view s, const float* phi_k, const float* v, float* err) const noexcept {
    if constexpr (is_delta) {
      const index_t f = s.rows(), dv = s.cols();
      Eigen::Map<const Eigen::RowVectorXf> pk(phi_k, f);
      Eigen::Map<Eigen::RowVectorXf> e(err, dv);
      e.noalias() = pk * s;
      e = Eigen::Map<const Eigen::RowVectorXf>(v, dv) - e;
      s.noalias() += update_.beta * pk.transpose() * e;
    } else {
      (void)s, (void)phi_k, (void)v, (void)err;
    }
  }
  static void normalise(matrix_view out, const matrix_view& pq, const float* z_data) noexcept {
    const Eigen::Map<const Eigen::RowVectorXf> z(z_data, pq.cols());
    for (index_t i = 0; i < out.rows(); ++i) {
      const float den = pq.row(i).dot(z);
      out.row(i) *= den != 0.0f ? 1.0f / den : 0.0f;
    }
  }

  FeatureMap map_{};
  Update update_{};
  bool causal_ = true;
  bool normalize_ = true;
  index_t chunk_ = default_chunk;

  index_t bidirectional_chunk() const noexcept { return std::max(chunk_, bidirectional_min_chunk); }
};

static_assert(decodable_variant<linear_attention<elu_plus_one_map>>);
static_assert(decodable_variant<linear_attention<identity_map, delta_update>>);
static_assert(head_batched_variant<linear_attention<elu_plus_one_map>>);

}  // namespace eigenformer::attention
