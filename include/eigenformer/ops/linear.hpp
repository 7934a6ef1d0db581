#pragma once
/// @file
/// Linear layer y = x·W + b with W stored [in, out] (the layout the row-major product wants;
/// PyTorch's nn.Linear holds [out, in] and loaders transpose once at load time).
///     x: [tokens, in] -> y: [tokens, out]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace eigenformer::ops {

struct linear {
  matrix w;  ///< [in, out]
  vector b;  ///< [out], or empty for no bias

  linear() = default;
  /// Throws shape_error when b is neither empty nor of size out.
  linear(matrix weight, vector bias, const char* name = "linear") : w(std::move(weight)), b(std::move(bias)) {
    if (b.size() != 0 && b.size() != w.cols())
      throw_error<shape_error>("ops.linear", std::string("bias of '") + name + "'", format_shape({w.cols()}),
                               format_shape({b.size()}));
  }
  /// Uniform(±1/√in) weights and biases, PyTorch's default initialisation, for tests and benchmarks.
  static linear random(index_t in, index_t out, bool bias = true) {
    const float a = 1.0f / std::sqrt(static_cast<float>(in));
    return linear(matrix::Random(in, out) * a, bias ? vector(vector::Random(out) * a) : vector());
  }
  index_t in() const noexcept { return w.rows(); }
  index_t out() const noexcept { return w.cols(); }

  /// y = x·W[:, :cols] + b[:cols] for the first @p cols outputs (all when 0). Shapes unchecked.
  void forward(const_matrix_view x, matrix_view y, index_t cols = 0) const noexcept {
    if (cols == 0 || cols == w.cols()) {
      y.noalias() = x * w;
      if (b.size()) y.rowwise() += b.transpose();
    } else {
      y.noalias() = x * w.leftCols(cols);
      if (b.size()) y.rowwise() += b.head(cols).transpose();
    }
  }
};

}  // namespace eigenformer::ops
