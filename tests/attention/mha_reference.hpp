#pragma once
// Multi-head attention in double precision, written out plainly: projections, RoPE, per-head
// naive attention from reference.hpp, gate, output projection. The slow twin of
// attention::multi_head_attention.
#include <eigenformer/attention/multi_head.hpp>

#include "reference.hpp"

namespace eftest {

struct mha_reference_result {
  dmatrix out;  // [tokens, d_model]
  dmatrix mag;  // magnitude each output element is built from (for tolerances)
};

inline void rope_double(double* x, long d, long pos, double base, bool interleaved) {
  for (long i = 0; i < d / 2; ++i) {
    const double theta = double(pos) * std::pow(base, -2.0 * double(i) / double(d));
    const double c = std::cos(theta), s = std::sin(theta);
    const long ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + d / 2;
    const double a = x[ia], b = x[ib];
    x[ia] = a * c - b * s;
    x[ib] = b * c + a * s;
  }
}

// `options_for(seq, head)` gives the per-head reference options (normaliser, layout, alibi).
template <class OptionsFor>
mha_reference_result mha_reference(const eigenformer::attention::attention_config& c,
                                   const eigenformer::attention::attention_weights& w, const dmatrix& x,
                                   const std::vector<long>& offsets, OptionsFor options_for) {
  namespace ea = eigenformer::attention;
  const long hd = c.dim(), heads = c.num_heads, kvh = c.kv_heads(), group = heads / kvh;
  auto vec = [](const eigenformer::vector& v, long n) { return v.size() ? Eigen::RowVectorXd(v.cast<double>().transpose()) : Eigen::RowVectorXd::Zero(n); };
  dmatrix q = x * w.wq.cast<double>(), k = x * w.wk.cast<double>(), v = x * w.wv.cast<double>();
  q.rowwise() += vec(w.bq, q.cols());
  k.rowwise() += vec(w.bk, k.cols());
  v.rowwise() += vec(w.bv, v.cols());
  dmatrix attn = dmatrix::Zero(x.rows(), heads * hd), amag = attn;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const long o = offsets[s], len = offsets[s + 1] - o;
    if (c.position == ea::positional::rope)
      for (long r = 0; r < len; ++r) {
        for (long h = 0; h < heads; ++h)
          rope_double(q.row(o + r).data() + h * hd, hd, r, c.rope_base, c.rope == eigenformer::ops::rope_layout::interleaved);
        for (long h = 0; h < kvh; ++h)
          rope_double(k.row(o + r).data() + h * hd, hd, r, c.rope_base, c.rope == eigenformer::ops::rope_layout::interleaved);
      }
    for (long h = 0; h < heads; ++h) {
      ref_options ro = options_for(long(s), h);
      ro.scale = c.effective_scale();
      dmatrix mag;
      const long kh = h / group;
      attn.block(o, h * hd, len, hd) = naive_attention(q.block(o, h * hd, len, hd), k.block(o, kh * hd, len, hd),
                                                       v.block(o, kh * hd, len, hd), ro, &mag);
      amag.block(o, h * hd, len, hd) = mag;
    }
  }
  if (c.gated) {
    dmatrix g = x * w.wg.cast<double>();
    g.rowwise() += vec(w.bg, g.cols());
    for (long r = 0; r < g.rows(); ++r)
      for (long h = 0; h < heads; ++h) {
        const double gate = 1.0 / (1.0 + std::exp(-g(r, h)));
        attn.block(r, h * hd, 1, hd) *= gate;
        amag.block(r, h * hd, 1, hd) *= gate;
      }
  }
  mha_reference_result res;
  res.out = attn * w.wo.cast<double>();
  res.out.rowwise() += vec(w.bo, res.out.cols());
  res.mag = amag * w.wo.cast<double>().cwiseAbs();
  res.mag.rowwise() += vec(w.bo, res.out.cols()).cwiseAbs();
  return res;
}

}  // namespace eftest
