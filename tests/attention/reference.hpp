#pragma once
// Naive attention references in double precision, built from explicit score, mask and bias
// matrices: the slow twins every attention variant is checked against.
#include <eigenformer/core/tensor.hpp>

#include <Eigen/Core>

#include <cmath>
#include <functional>
#include <limits>

namespace eftest {

using dmatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class ref_norm { softmax, sigmoid, clipped };

struct ref_options {
  ref_norm norm = ref_norm::softmax;
  double sigmoid_bias = 0.0;
  double gamma = 0.0, zeta = 1.0;
  double scale = 1.0;
  double alibi_slope = 0.0;
  long q_pos0 = 0;
  std::function<bool(long, long)> allowed = [](long, long) { return true; };
  const std::uint8_t* key_valid = nullptr;
};

// out = P·v with P from the explicit n × m score matrix; q: [n, d], k: [m, d], v: [m, dv].
// Also returns |P|·|v| (the magnitude each output is a combination of) in `mag`.
inline dmatrix naive_attention(const dmatrix& q, const dmatrix& k, const dmatrix& v, const ref_options& o,
                               dmatrix* mag = nullptr) {
  const long n = q.rows(), m = k.rows();
  const double ninf = -std::numeric_limits<double>::infinity();
  dmatrix s(n, m);
  for (long i = 0; i < n; ++i)
    for (long j = 0; j < m; ++j) {
      const long pi = o.q_pos0 + i;
      const bool ok = o.allowed(pi, j) && (!o.key_valid || o.key_valid[j]);
      s(i, j) = ok ? o.scale * q.row(i).dot(k.row(j)) - o.alibi_slope * std::abs(double(pi - j)) : ninf;
    }
  dmatrix p = dmatrix::Zero(n, m);
  for (long i = 0; i < n; ++i) {
    double mx = ninf;
    for (long j = 0; j < m; ++j) mx = std::max(mx, s(i, j));
    if (mx == ninf) continue;  // no visible key: the output row is zero
    if (o.norm == ref_norm::sigmoid) {
      for (long j = 0; j < m; ++j)
        if (s(i, j) != ninf) p(i, j) = 1.0 / (1.0 + std::exp(-(s(i, j) + o.sigmoid_bias)));
      continue;
    }
    double sum = 0.0;
    for (long j = 0; j < m; ++j) sum += (s(i, j) == ninf ? 0.0 : std::exp(s(i, j) - mx));
    for (long j = 0; j < m; ++j) {
      if (s(i, j) == ninf) continue;
      const double pr = std::exp(s(i, j) - mx) / sum;
      p(i, j) = o.norm == ref_norm::clipped ? std::clamp((o.zeta - o.gamma) * pr + o.gamma, 0.0, 1.0) : pr;
    }
  }
  if (mag) *mag = p.cwiseAbs() * v.cwiseAbs();
  return p * v;
}

inline dmatrix to_double(eigenformer::const_matrix_view x) { return x.cast<double>(); }

}  // namespace eftest
