#pragma once
/// @file
/// Linear layer y = x·W + b, W given [in, out] (PyTorch's nn.Linear holds [out, in]:
/// `linear::from_out_in` packs that layout directly).
///     x: [tokens, in] -> y: [tokens, out]
///
/// Where the translation unit targets AVX-512 (`kernels::simd::has_gemm`), the weights are
/// packed once, at construction, into the panel layout of `kernels::simd::gemm` and only that
/// copy is kept; threads split the output columns. Elsewhere (and under
/// EIGENFORMER_FORCE_SCALAR) W is kept as a matrix and Eigen's product runs.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/gemm.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>

namespace eigenformer::ops {

class linear {
 public:
  /// True when this build runs the packed AVX-512 product (false: Eigen's product).
  static constexpr bool packed = kernels::simd::has_gemm;

  linear() = default;
  /// weight: [in, out]; bias: [out] or empty for none. Throws shape_error when the bias size is
  /// neither. @p name appears in error messages.
  linear(const matrix& weight, vector bias, const std::string& name = "linear") : b_(std::move(bias)) {
    check_bias(weight.cols(), name);
    store(weight.data(), weight.cols(), weight.rows(), weight.cols(), false);
  }
  /// weight given as [out, in] row-major (PyTorch nn.Linear, HF checkpoints), with row stride
  /// @p ld (= in when contiguous): packed without an intermediate transposed copy.
  static linear from_out_in(const float* weight, index_t out, index_t in, index_t ld, vector bias,
                            const std::string& name = "linear") {
    linear l;
    l.b_ = std::move(bias);
    l.check_bias(out, name);
    l.store(weight, ld, in, out, true);
    return l;
  }
  /// Uniform(±1/√in) weights and biases, PyTorch's default initialisation, for tests and benchmarks.
  static linear random(index_t in, index_t out, bool bias = true) {
    const float a = 1.0f / std::sqrt(static_cast<float>(in));
    return linear(matrix(matrix::Random(in, out) * a), bias ? vector(vector::Random(out) * a) : vector());
  }

  index_t in() const noexcept { return in_; }
  index_t out() const noexcept { return out_; }
  /// The weight, [in, out] (a copy: the layer may hold it packed).
  matrix weight() const {
    if constexpr (packed) {
      matrix w(in_, out_);
      if (w.size()) w_packed_.unpack(w.data(), out_);
      return w;
    } else {
      return w_;
    }
  }
  /// out[k] = W[k, c] for k < in(): column c of the weight (row c of PyTorch's [out, in]), e.g.
  /// the embedding of token c when an LM head is tied to the embeddings.
  void column(index_t c, float* out) const noexcept {
    if constexpr (packed) {
      const float* p = w_packed_.panel(std::size_t(c) / kernels::packed_matrix::panel_width) +
                       std::size_t(c) % kernels::packed_matrix::panel_width;
      for (index_t k = 0; k < in_; ++k) out[k] = p[std::size_t(k) * kernels::packed_matrix::panel_width];
    } else {
      for (index_t k = 0; k < in_; ++k) out[k] = w_(k, c);
    }
  }
  /// [out], or empty when the layer has no bias.
  const vector& bias() const noexcept { return b_; }
  /// Bytes of weight storage held (packed panels include their zero padding).
  std::size_t weight_bytes() const noexcept {
    if constexpr (packed) return w_packed_.size() * sizeof(float);
    return std::size_t(w_.size()) * sizeof(float);
  }

  /// y[:, :cols] = act(x[:, :k]·W[:k, :cols] + b[:cols]) with cols = out() and k = in() when 0
  /// (the first outputs and inputs only: a MatFormer sub-network). x: [t, k], y: [t, cols].
  /// Shapes are the caller's to check. @p act: an activation policy (`ops::gelu_erf`, ...) run
  /// on each finished output tile while it is in cache.
  template <class Act = void>
  void forward(const_matrix_view x, matrix_view y, index_t cols = 0, index_t k = 0) const noexcept {
    if (cols == 0) cols = out_;
    if (k == 0) k = in_;
    if constexpr (packed) {
      const kernels::gemm_args g = args(x, y, cols, k);
      parallel_for(0, std::ptrdiff_t(kernels::gemm_panels(std::size_t(cols))), 1,
                   [&](std::ptrdiff_t lo, std::ptrdiff_t hi) { run_panels<Act>(g, lo, hi); });
    } else {
      if (cols == out_ && k == in_) {
        y.noalias() = x * w_;
      } else {
        y.noalias() = x.leftCols(k) * w_.topLeftCorner(k, cols);
      }
      if (b_.size()) y.rowwise() += b_.head(cols).transpose();
      if constexpr (!std::is_void_v<Act>) {
        parallel_for(0, y.rows(), 16, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
          for (std::ptrdiff_t r = lo; r < hi; ++r) Act::apply(y.row(r).data(), std::size_t(cols));
        });
      }
    }
  }

 private:
  friend struct shared_input;

  kernels::gemm_args args(const const_matrix_view& x, matrix_view y, index_t cols, index_t k) const noexcept {
    return {x.data(),          x.outerStride(), std::size_t(x.rows()), std::size_t(k), std::size_t(cols),
            &w_packed_,        b_.size() ? b_.data() : nullptr, y.data(), y.outerStride()};
  }
  template <class Act>
  static void run_panels(const kernels::gemm_args& g, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    if constexpr (std::is_void_v<Act>) {
      kernels::simd::gemm(g, std::size_t(lo), std::size_t(hi));
    } else {
      kernels::simd::gemm(g, std::size_t(lo), std::size_t(hi),
                          [](float* row, std::size_t n) noexcept { Act::apply(row, n); });
    }
  }

  void check_bias(index_t out, const std::string& name) const {
    if (b_.size() != 0 && b_.size() != out)
      throw_error<shape_error>("ops.linear", "bias of '" + name + "'", format_shape({out}), format_shape({b_.size()}));
  }
  /// Stores B = [in, out] given either row-major [in, out] or (transposed) [out, in].
  void store(const float* w, index_t ld, index_t in, index_t out, bool transposed) {
    in_ = in;
    out_ = out;
    if constexpr (packed) {
      w_packed_ = kernels::packed_matrix(w, ld, std::size_t(in), std::size_t(out), transposed);
    } else {
      w_.resize(in, out);
      for (index_t r = 0; r < in; ++r)
        for (index_t c = 0; c < out; ++c) w_(r, c) = transposed ? w[c * ld + r] : w[r * ld + c];
    }
  }

  index_t in_ = 0, out_ = 0;
  kernels::packed_matrix w_packed_;  // used when packed
  matrix w_;                         // used otherwise
  vector b_;
};

/// Several linear layers that read the same input (Q, K and V; a GLU's gate and up) run as one
/// parallel region over all their panels: one fork and join instead of one per layer, and the
/// threads balance over the whole set (at decode, three 768-wide projections are 12 panels each).
/// Each result is the one `forward` gives, bit for bit.
struct shared_input {
  /// ys[i][:, :c_i] = act_i(x·W_i[:k, :c_i] + b_i) with c_i = ys[i].cols() and k = x.cols();
  /// act_0 = @p FirstAct (void: none), the others none. Shapes are the caller's to check.
  template <class FirstAct = void, std::size_t N>
  static void forward(const_matrix_view x, const std::array<const linear*, N>& layers,
                      const std::array<matrix_view, N>& ys) noexcept {
    if constexpr (linear::packed) {
      std::array<kernels::gemm_args, N> g;
      std::array<std::ptrdiff_t, N + 1> first{};
      for (std::size_t i = 0; i < N; ++i) {
        g[i] = layers[i]->args(x, ys[i], ys[i].cols(), x.cols());
        first[i + 1] = first[i] + std::ptrdiff_t(kernels::gemm_panels(std::size_t(ys[i].cols())));
      }
      parallel_for(0, first[N], 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
        for (std::size_t i = 0; i < N; ++i) {
          const std::ptrdiff_t a = std::max(lo, first[i]), b = std::min(hi, first[i + 1]);
          if (a >= b) continue;
          if (i == 0) {
            linear::run_panels<FirstAct>(g[i], a - first[i], b - first[i]);
          } else {
            linear::run_panels<void>(g[i], a - first[i], b - first[i]);
          }
        }
      });
    } else {
      for (std::size_t i = 0; i < N; ++i) {
        if (i == 0) {
          layers[i]->template forward<FirstAct>(x, ys[i], ys[i].cols(), x.cols());
        } else {
          layers[i]->forward(x, ys[i], ys[i].cols(), x.cols());
        }
      }
    }
  }
};

}  // namespace eigenformer::ops
