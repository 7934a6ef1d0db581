#pragma once
/// @file
/// Feed-forward blocks: the dense MLP with an activation policy and the gated (GLU) family with a
/// fused gate/up projection. Both accept a MatFormer-style run-time width: use only the first
/// m hidden units of the trained FFN (Devvrit et al., 2023), chosen per call.
///     x: [tokens, d_model] -> out: [tokens, d_model]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/ops/linear.hpp>

#include <string>

namespace eigenformer::ffn {

namespace detail {
inline void check_ffn_io(const char* where, index_t d, index_t hidden, const_matrix_view x, const matrix_view& out,
                         index_t width) {
  if (x.cols() != d)
    throw_error<shape_error>(where, "input", format_shape({x.rows(), d}), format_shape({x.rows(), x.cols()}));
  if (out.rows() != x.rows() || out.cols() != d)
    throw_error<shape_error>(where, "output", format_shape({x.rows(), d}), format_shape({out.rows(), out.cols()}));
  if (width < 0 || width > hidden)
    throw_error<config_error>(where, "width", "0 (all) or 1.." + std::to_string(hidden), std::to_string(width));
}
}  // namespace detail

/// Dense MLP: out = act(x·W_up + b_up)·W_down + b_down (BERT, GPT-2, nn.TransformerEncoderLayer).
template <class Activation>
class dense_ffn {
 public:
  dense_ffn() = default;
  /// up: [d_model, hidden], down: [hidden, d_model]. Throws shape_error on mismatched shapes.
  dense_ffn(ops::linear up, ops::linear down) : up_(std::move(up)), down_(std::move(down)) {
    if (down_.in() != up_.out() || down_.out() != up_.in())
      throw_error<shape_error>("ffn.dense", "down projection", format_shape({up_.out(), up_.in()}),
                               format_shape({down_.in(), down_.out()}));
  }
  static dense_ffn random(index_t d, index_t hidden, bool bias = true) {
    return dense_ffn(ops::linear::random(d, hidden, bias), ops::linear::random(hidden, d, bias));
  }
  index_t d_model() const noexcept { return up_.in(); }
  index_t hidden() const noexcept { return up_.out(); }
  const ops::linear& up() const noexcept { return up_; }
  const ops::linear& down() const noexcept { return down_; }

  void check(const_matrix_view x, const matrix_view& out, index_t width = 0) const {
    detail::check_ffn_io("ffn.dense", d_model(), hidden(), x, out, width);
  }
  /// @p width: hidden units to use (0 = all). out must not alias x. Allocates only when a larger
  /// token count than ever before comes in.
  void forward(const_matrix_view x, matrix_view out, index_t width = 0) {
    const index_t m = width == 0 ? hidden() : width;
    matrix_view h = h_.get(x.rows(), m);
    up_.forward(x, h, m);
    parallel_for(0, h.rows(), 16, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      for (std::ptrdiff_t r = lo; r < hi; ++r) Activation::apply(h.row(r).data(), std::size_t(m));
    });
    if (m == hidden()) {
      out.noalias() = h * down_.w;
    } else {
      out.noalias() = h * down_.w.topRows(m);
    }
    if (down_.b.size()) out.rowwise() += down_.b.transpose();
  }

 private:
  ops::linear up_, down_;
  scratch_matrix h_;
};

/// Gated linear unit FFN (Shazeer, 2020): out = (act(x·W_gate) ⊙ (x·W_up))·W_down, with W_gate
/// and W_up fused into one [d_model, 2·hidden] matrix [gate | up] so the two run as one product.
template <class Activation>
class gated_ffn {
 public:
  gated_ffn() = default;
  /// gate, up: [d_model, hidden] (biases optional, both or neither); down: [hidden, d_model].
  gated_ffn(ops::linear gate, ops::linear up, ops::linear down) : hidden_(gate.out()), down_(std::move(down)) {
    const char* where = "ffn.gated";
    if (up.in() != gate.in() || up.out() != gate.out())
      throw_error<shape_error>(where, "up projection", format_shape({gate.in(), gate.out()}),
                               format_shape({up.in(), up.out()}));
    if (down_.in() != hidden_ || down_.out() != gate.in())
      throw_error<shape_error>(where, "down projection", format_shape({hidden_, gate.in()}),
                               format_shape({down_.in(), down_.out()}));
    if ((gate.b.size() == 0) != (up.b.size() == 0))
      throw_error<shape_error>(where, "gate/up biases", "both or neither", "only one");
    fused_.w.resize(gate.in(), 2 * hidden_);
    fused_.w.leftCols(hidden_) = gate.w;
    fused_.w.rightCols(hidden_) = up.w;
    if (gate.b.size()) {
      fused_.b.resize(2 * hidden_);
      fused_.b.head(hidden_) = gate.b;
      fused_.b.tail(hidden_) = up.b;
    }
  }
  static gated_ffn random(index_t d, index_t hidden, bool bias = false) {
    return gated_ffn(ops::linear::random(d, hidden, bias), ops::linear::random(d, hidden, bias),
                     ops::linear::random(hidden, d, bias));
  }
  index_t d_model() const noexcept { return fused_.in(); }
  index_t hidden() const noexcept { return hidden_; }

  void check(const_matrix_view x, const matrix_view& out, index_t width = 0) const {
    detail::check_ffn_io("ffn.gated", d_model(), hidden(), x, out, width);
  }
  void forward(const_matrix_view x, matrix_view out, index_t width = 0) {
    const index_t m = width == 0 ? hidden_ : width;
    matrix_view gu = gu_.get(x.rows(), 2 * m);
    if (m == hidden_) {
      fused_.forward(x, gu);
    } else {  // the first m gate units and the first m up units: two products
      gu.leftCols(m).noalias() = x * fused_.w.leftCols(m);
      gu.rightCols(m).noalias() = x * fused_.w.middleCols(hidden_, m);
      if (fused_.b.size()) {
        gu.leftCols(m).rowwise() += fused_.b.head(m).transpose();
        gu.rightCols(m).rowwise() += fused_.b.segment(hidden_, m).transpose();
      }
    }
    parallel_for(0, gu.rows(), 16, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      for (std::ptrdiff_t r = lo; r < hi; ++r) {
        float* g = gu.row(r).data();
        Activation::apply(g, std::size_t(m));
        kernels::active::mul(g, g + m, g, std::size_t(m));
      }
    });
    out.noalias() = gu.leftCols(m) * (m == hidden_ ? down_.w : down_.w.topRows(m));
    if (down_.b.size()) out.rowwise() += down_.b.transpose();
  }

 private:
  index_t hidden_ = 0;
  ops::linear fused_;  ///< [d_model, 2·hidden]: gate columns, then up columns
  ops::linear down_;
  scratch_matrix gu_;
};

/// SwiGLU (LLaMA, PaLM).
using swiglu = gated_ffn<ops::silu>;
/// GeGLU (T5 v1.1, Gemma with the tanh GELU).
using geglu = gated_ffn<ops::gelu_erf>;
/// ReGLU.
using reglu = gated_ffn<ops::relu>;
/// Bilinear GLU (no activation).
using bilinear_glu = gated_ffn<ops::identity>;

}  // namespace eigenformer::ffn
