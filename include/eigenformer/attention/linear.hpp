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
///    the carried state); decode as the O(f·d) recurrent update.
/// The head_problem's scale does not apply (FAVOR+ scales by d^(−1/4) itself), and there is no
/// score modifier: no scores exist.

#include <eigenformer/attention/config.hpp>
#include <eigenformer/attention/tiled_kernel.hpp>
#include <eigenformer/attention/variant.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <Eigen/Core>

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
/// (φ(k) [f] and the delta rule's error [dv]) so that appending allocates nothing.
struct linear_state {
  matrix s;
  vector z;
  vector phi, err;
  index_t length = 0;
};

/// Scratch of one worker for linear attention.
struct linear_scratch {
  scratch_matrix phi_q, phi_k, a, s, num, tmp;
  std::vector<float> z, den, phi_row, gpow;
  std::size_t bytes() const noexcept {
    return sizeof(float) * (phi_q.capacity() + phi_k.capacity() + a.capacity() + s.capacity() + num.capacity() +
                            tmp.capacity() + z.capacity() + den.capacity() + phi_row.capacity() + gpow.capacity());
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

  linear_attention() = default;
  /// @param causal   causal (decoder) or bidirectional (encoder) attention
  /// @param normalize divide by φ(q)ᵀz (default: true, except for the delta rule, which has no z)
  /// @param chunk    rows per chunk of the causal prefill
  /// Throws config_error for a non-causal decayed/delta update, bad γ/β or chunk < 1.
  explicit linear_attention(bool causal, FeatureMap map = {}, Update update = {}, bool normalize = !is_delta,
                            index_t chunk = 64)
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

  /// Scratch is O(chunk·(f + d)), independent of the sequence length: φ is computed chunk by
  /// chunk, so the working set stays in cache.
  void reserve(scratch_type& ws, index_t d, index_t dv, index_t) const {
    const index_t f = map_.features(d);
    ws.phi_q.get(chunk_, f);
    ws.phi_k.get(chunk_, f);
    ws.a.get(chunk_, chunk_);
    ws.s.get(f, dv);
    ws.num.get(chunk_, dv);
    ws.tmp.get(chunk_, std::max(dv, f));
    if (index_t(ws.z.size()) < f) ws.z.resize(std::size_t(f));
    if (index_t(ws.phi_row.size()) < f) ws.phi_row.resize(std::size_t(f));
    if (index_t(ws.den.size()) < chunk_) ws.den.resize(std::size_t(chunk_));
    if (index_t(ws.gpow.size()) < chunk_ + 1) ws.gpow.resize(std::size_t(chunk_ + 1));
  }

  /// One head of one sequence (positions from 0: p.q_pos0 must be 0 for the causal form).
  void prefill(const head_problem& p, scratch_type& ws) const noexcept {
    const index_t n = p.q.rows(), m = p.k.rows(), d = p.q.cols(), dv = p.v.cols(), f = map_.features(d);
    matrix_view out = p.out;
    matrix_view s = ws.s.view(f, dv);
    Eigen::Map<Eigen::VectorXf> z(ws.z.data(), f);
    s.setZero();
    z.setZero();
    // φ of rows [r0, r0 + c) of q or k into the chunk buffer.
    auto phi_q = [&](index_t r0, index_t c) {
      matrix_view pq = ws.phi_q.view(c, f);
      map_.apply(rows(p.q, r0, c), pq, true);
      if constexpr (is_delta) l2_normalize_rows(pq);
      return pq;
    };
    auto phi_k = [&](index_t r0, index_t c) {
      matrix_view pk = ws.phi_k.view(c, f);
      map_.apply(rows(p.k, r0, c), pk, false);
      if constexpr (is_delta) l2_normalize_rows(pk);
      if (p.key_valid)
        for (index_t j = 0; j < c; ++j)
          if (!p.key_valid[r0 + j]) pk.row(j).setZero();  // a padding key adds nothing to S or z
      return pk;
    };
    if (!causal_) {
      for (index_t c0 = 0; c0 < m; c0 += chunk_) {
        const index_t c = std::min(chunk_, m - c0);
        const matrix_view pk = phi_k(c0, c);
        s.noalias() += pk.transpose() * p.v.middleRows(c0, c);
        for (index_t j = 0; j < c; ++j) z += pk.row(j).transpose();
      }
      for (index_t c0 = 0; c0 < n; c0 += chunk_) {
        const index_t c = std::min(chunk_, n - c0);
        const matrix_view pq = phi_q(c0, c);
        out.middleRows(c0, c).noalias() = pq * s;
        if (normalize_) normalise(rows(out, c0, c), pq, z);
      }
      return;
    }
    if constexpr (is_delta) {
      matrix_view err = ws.tmp.view(1, dv);
      for (index_t c0 = 0; c0 < n; c0 += chunk_) {
        const index_t c = std::min(chunk_, n - c0);
        const matrix_view pq = phi_q(c0, c), pk = phi_k(c0, c);
        for (index_t t = 0; t < c; ++t) {
          delta_step(s, pk.row(t).data(), p.v.row(c0 + t).data(), err.data());
          out.row(c0 + t).noalias() = pq.row(t) * s;
        }
      }
      return;
    }
    const float gamma = decay();
    float* gp = ws.gpow.data();  // gp[k] = γ^k
    gp[0] = 1.0f;
    for (index_t k = 1; k <= chunk_; ++k) gp[k] = gp[k - 1] * gamma;
    for (index_t c0 = 0; c0 < n; c0 += chunk_) {
      const index_t c = std::min(chunk_, n - c0);
      const matrix_view pq = phi_q(c0, c);
      matrix_view pk = phi_k(c0, c);
      // Intra-chunk: A = φ(Q_c)φ(K_c)ᵀ, lower triangle, weighted γ^(i−j).
      matrix_view a = ws.a.view(c, c);
      a.noalias() = pq * pk.transpose();
      for (index_t i = 0; i < c; ++i)
        for (index_t j = 0; j < c; ++j) a(i, j) = j > i ? 0.0f : a(i, j) * gp[i - j];
      matrix_view num = ws.num.view(c, dv);
      num.noalias() = a * p.v.middleRows(c0, c);
      // Inter-chunk: γ^(i+1)·φ(q_i)ᵀ S_prev.
      matrix_view tmp = ws.tmp.view(c, dv);
      tmp.noalias() = pq * s;
      for (index_t i = 0; i < c; ++i) {
        const float w = gp[i + 1];
        num.row(i) += w * tmp.row(i);
        if (normalize_) ws.den[std::size_t(i)] = a.row(i).sum() + w * pq.row(i).dot(z);
      }
      out.middleRows(c0, c) = num;
      if (normalize_)
        for (index_t i = 0; i < c; ++i) {
          const float den = ws.den[std::size_t(i)];
          out.row(c0 + i) *= den != 0.0f ? 1.0f / den : 0.0f;
        }
      // Carry: S = γ^c·S + Σ_j γ^(c−1−j)·φ(k_j)v_jᵀ (and z likewise), as one product.
      if (gamma != 1.0f) {
        s *= gp[c];
        z *= gp[c];
        for (index_t j = 0; j < c; ++j) pk.row(j) *= gp[c - 1 - j];
      }
      s.noalias() += pk.transpose() * p.v.middleRows(c0, c);
      for (index_t j = 0; j < c; ++j) z += pk.row(j).transpose();
    }
  }

  state_type make_state(index_t, index_t d, index_t dv) const {
    state_type st;
    st.s = matrix::Zero(map_.features(d), dv);
    st.z = vector::Zero(map_.features(d));
    st.phi = vector::Zero(map_.features(d));
    st.err = vector::Zero(dv);
    return st;
  }
  /// A recurrent state takes any number of tokens.
  bool has_room(const state_type&, index_t) const noexcept { return true; }
  index_t capacity(const state_type&) const noexcept { return std::numeric_limits<index_t>::max(); }

  /// Folds one key/value into the state (allocation-free).
  void append(state_type& st, const float* k, const float* v) const noexcept {
    const index_t f = st.s.rows(), dv = st.s.cols();
    feature_row(k, k_dim(st), st.phi.data(), false);
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
    feature_row(dq.q, k_dim(st), ws.phi_row.data(), true);
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
  index_t k_dim(const state_type& st) const noexcept {
    if constexpr (std::is_same_v<FeatureMap, favor_map>) return map_.w.cols();
    return st.s.rows();  // the other maps keep f = d
  }
  /// φ of one row (d floats) into out (f floats), L2-normalised for the delta rule.
  void feature_row(const float* x, index_t d, float* out, bool is_query) const noexcept {
    const_matrix_view xv(x, 1, d, Eigen::OuterStride<>(d));
    const index_t f = map_.features(d);
    matrix_view ov(out, 1, f, Eigen::OuterStride<>(f));
    map_.apply(xv, ov, is_query);
    if constexpr (is_delta) l2_normalize_rows(ov);
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
  static void normalise(matrix_view out, const matrix_view& pq, const Eigen::Map<Eigen::VectorXf>& z) noexcept {
    for (index_t i = 0; i < out.rows(); ++i) {
      const float den = pq.row(i).dot(z);
      out.row(i) *= den != 0.0f ? 1.0f / den : 0.0f;
    }
  }

  FeatureMap map_{};
  Update update_{};
  bool causal_ = true;
  bool normalize_ = true;
  index_t chunk_ = 64;
};

static_assert(decodable_variant<linear_attention<elu_plus_one_map>>);
static_assert(decodable_variant<linear_attention<identity_map, delta_update>>);

}  // namespace eigenformer::attention
