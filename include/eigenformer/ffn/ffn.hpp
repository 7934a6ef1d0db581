#pragma once
/// @file
/// Feed-forward blocks: the dense MLP with an activation policy and the gated (GLU) family with a
/// fused gate/up projection. Both accept a MatFormer-style run-time width: use only the first
/// m hidden units of the trained FFN (Devvrit et al., 2023), chosen per call.
///     x: [tokens, d_model] -> out: [tokens, d_model]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>

#include <array>
#include <string>

namespace eigenformer::ffn {

namespace detail {
inline ops::inner_norm checked_sub_norm(const char* where, index_t hidden, ops::inner_norm n) {
  const index_t got = ops::inner_norm_dim(n);
  if (got != 0 && got != hidden)
    throw_error<shape_error>(where, "sub-norm width", std::to_string(hidden) + " (hidden)", std::to_string(got));
  return n;
}
/// Throws config_error unless @p width (MatFormer: hidden units used, 0 = all) fits.
inline void check_ffn_width(const char* where, index_t hidden, index_t width, bool has_sub_norm) {
  if (has_sub_norm && width != 0 && width != hidden)
    throw_error<config_error>(where, "width", "0 or " + std::to_string(hidden) + " (a sub-norm spans the whole hidden layer)",
                              std::to_string(width));
  if (width < 0 || width > hidden)
    throw_error<config_error>(where, "width", "0 (all) or 1.." + std::to_string(hidden), std::to_string(width));
}
inline void check_ffn_io(const char* where, index_t d, index_t hidden, const_matrix_view x, const matrix_view& out,
                         index_t width, bool has_sub_norm = false) {
  check_ffn_width(where, hidden, width, has_sub_norm);
  check_io(where, x, out, d, d);
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
  /// Use the stack's shared scratch for the hidden activations.
  void use_workspace(workspace& ws) noexcept { h_.share(ws.ffn[0]); }
  /// Sub-LN: a norm over the hidden activations [hidden] before the down projection.
  void set_sub_norm(ops::inner_norm n) { sub_norm_ = detail::checked_sub_norm("ffn.dense", hidden(), std::move(n)); }

  /// Validates shapes and @p width; forward() assumes they passed.
  void check(const_matrix_view x, const matrix_view& out, index_t width = 0) const {
    detail::check_ffn_io("ffn.dense", d_model(), hidden(), x, out, width, ops::inner_norm_dim(sub_norm_) != 0);
  }
  void check_width(index_t width) const {
    detail::check_ffn_width("ffn.dense", hidden(), width, ops::inner_norm_dim(sub_norm_) != 0);
  }
  /// @p width: hidden units to use (0 = all). out must not alias x. Allocates only when a larger
  /// token count than ever before comes in.
  void forward(const_matrix_view x, matrix_view out, index_t width = 0) {
    const index_t m = width == 0 ? hidden() : width;
    matrix_view h = h_.get(x.rows(), m);
    up_.forward<Activation>(x, h, m);  // the activation runs on each tile as it is finished
    ops::apply_inner_norm(sub_norm_, h);
    down_.forward(as_const(h), out, 0, m);
  }

 private:
  ops::linear up_, down_;
  ops::inner_norm sub_norm_;
  scratch_matrix h_;
};

/// Gated linear unit FFN (Shazeer, 2020): out = (act(x·W_gate) ⊙ (x·W_up))·W_down. The
/// activation is fused into the gate product's write-back; the product with W_up lands beside
/// it in one [tokens, 2·m] scratch.
template <class Activation>
class gated_ffn {
 public:
  gated_ffn() = default;
  /// gate, up: [d_model, hidden] (biases optional, both or neither); down: [hidden, d_model].
  gated_ffn(ops::linear gate, ops::linear up, ops::linear down)
      : gate_(std::move(gate)), up_(std::move(up)), down_(std::move(down)) {
    const char* where = "ffn.gated";
    if (up_.in() != gate_.in() || up_.out() != gate_.out())
      throw_error<shape_error>(where, "up projection", format_shape({gate_.in(), gate_.out()}),
                               format_shape({up_.in(), up_.out()}));
    if (down_.in() != gate_.out() || down_.out() != gate_.in())
      throw_error<shape_error>(where, "down projection", format_shape({gate_.out(), gate_.in()}),
                               format_shape({down_.in(), down_.out()}));
    if ((gate_.bias().size() == 0) != (up_.bias().size() == 0))
      throw_error<shape_error>(where, "gate/up biases", "both or neither", "only one");
  }
  static gated_ffn random(index_t d, index_t hidden, bool bias = false) {
    return gated_ffn(ops::linear::random(d, hidden, bias), ops::linear::random(d, hidden, bias),
                     ops::linear::random(hidden, d, bias));
  }
  index_t d_model() const noexcept { return gate_.in(); }
  index_t hidden() const noexcept { return gate_.out(); }
  const ops::linear& gate() const noexcept { return gate_; }
  const ops::linear& up() const noexcept { return up_; }
  const ops::linear& down() const noexcept { return down_; }
  /// Use the stack's shared scratch for the gate and up activations.
  void use_workspace(workspace& ws) noexcept { gu_.share(ws.ffn[0]); }
  /// Sub-LN: a norm over the gated activations [hidden] before the down projection.
  void set_sub_norm(ops::inner_norm n) { sub_norm_ = detail::checked_sub_norm("ffn.gated", hidden(), std::move(n)); }

  /// Validates shapes and @p width; forward() assumes they passed.
  void check(const_matrix_view x, const matrix_view& out, index_t width = 0) const {
    detail::check_ffn_io("ffn.gated", d_model(), hidden(), x, out, width, ops::inner_norm_dim(sub_norm_) != 0);
  }
  void check_width(index_t width) const {
    detail::check_ffn_width("ffn.gated", hidden(), width, ops::inner_norm_dim(sub_norm_) != 0);
  }
  /// @p width: hidden units to use (0 = all). out must not alias x.
  void forward(const_matrix_view x, matrix_view out, index_t width = 0) {
    const index_t m = width == 0 ? hidden() : width;
    matrix_view gu = gu_.get(x.rows(), 2 * m);
    matrix_view g = columns(gu, 0, m), u = columns(gu, m, m);
    ops::shared_input::forward<Activation>(x, std::array<const ops::linear*, 2>{&gate_, &up_},
                                           std::array<matrix_view, 2>{g, u});
    parallel_for(0, gu.rows(), 16, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      for (std::ptrdiff_t r = lo; r < hi; ++r) {
        float* gr = gu.row(r).data();
        kernels::active::mul(gr, gr + m, gr, std::size_t(m));
      }
    });
    ops::apply_inner_norm(sub_norm_, g);
    down_.forward(as_const(g), out, 0, m);
  }

 private:
  ops::linear gate_, up_, down_;
  ops::inner_norm sub_norm_;
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
