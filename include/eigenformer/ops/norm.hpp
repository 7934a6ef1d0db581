#pragma once
/// @file
/// Normalisation layers over the rows of a matrix, on the SIMD kernels:
///     x: [tokens, d] -> y: [tokens, d]   (y may be x)

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>

#include <optional>
#include <type_traits>
#include <variant>
#include <eigenformer/kernels/kernels.hpp>

#include <string>

namespace eigenformer::ops {

namespace detail {
inline void check_norm_io(const char* where, index_t d, const_matrix_view x, const matrix_view& y) {
  check_io(where, x, y, d, d);
}
}  // namespace detail

/// LayerNorm (Ba et al., 2016; PyTorch nn.LayerNorm over the last dimension):
/// y = (x − mean)/√(var + eps)·gain + bias, biased variance.
struct layer_norm {
  vector gain;  ///< [d]
  vector bias;  ///< [d], or empty for none
  float eps = 1e-5f;

  layer_norm() = default;
  /// Throws shape_error when bias is neither empty nor the size of gain, config_error for eps < 0.
  layer_norm(vector g, vector b, float epsilon = 1e-5f) : gain(std::move(g)), bias(std::move(b)), eps(epsilon) {
    if (bias.size() != 0 && bias.size() != gain.size())
      throw_error<shape_error>("ops.layer_norm", "bias", format_shape({gain.size()}), format_shape({bias.size()}));
    if (!(eps >= 0.0f)) throw_error<config_error>("ops.layer_norm", "eps", "a value >= 0", std::to_string(eps));
  }
  /// Identity-initialised norm of width d (gain 1, bias 0).
  static layer_norm identity(index_t d, float epsilon = 1e-5f) {
    return layer_norm(vector::Ones(d), vector::Zero(d), epsilon);
  }
  index_t dim() const noexcept { return gain.size(); }
  void check(const_matrix_view x, const matrix_view& y) const { detail::check_norm_io("ops.layer_norm", dim(), x, y); }
  /// x, y: [tokens, d]; rows in parallel. Shapes must have passed check().
  void forward(const_matrix_view x, matrix_view y) const noexcept {
    const float* b = bias.size() ? bias.data() : nullptr;
    parallel_for(0, x.rows(), 64, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      for (std::ptrdiff_t r = lo; r < hi; ++r)
        kernels::active::layer_norm(x.row(r).data(), y.row(r).data(), std::size_t(x.cols()), gain.data(), b, eps);
    });
  }
};

/// A norm, or the identity in its place (HF's nn.Identity: ModernBERT's first layer has no
/// attention norm, its embeddings' norm serves). y = norm(x) or y = x; x, y: [tokens, d].
template <class Norm>
struct optional_norm {
  std::optional<Norm> norm;  ///< nullopt: the identity
  index_t width = 0;

  optional_norm() = default;
  optional_norm(Norm n) : norm(std::move(n)), width(norm->dim()) {}  // NOLINT: implicit on purpose
  /// The identity of width @p d.
  static optional_norm identity(index_t d) {
    optional_norm o;
    o.width = d;
    return o;
  }
  index_t dim() const noexcept { return width; }
  void check(const_matrix_view x, const matrix_view& y) const { detail::check_norm_io("ops.optional_norm", dim(), x, y); }
  void forward(const_matrix_view x, matrix_view y) const noexcept {
    if (norm)
      norm->forward(x, y);
    else if (x.data() != y.data())
      y = x;
  }
};

/// RMSNorm (Zhang & Sennrich, 2019; LLaMA, T5): y = x/√(mean(x²) + eps)·gain.
struct rms_norm {
  vector gain;  ///< [d]
  float eps = 1e-6f;

  rms_norm() = default;
  /// Throws config_error for eps < 0.
  explicit rms_norm(vector g, float epsilon = 1e-6f) : gain(std::move(g)), eps(epsilon) {
    if (!(eps >= 0.0f)) throw_error<config_error>("ops.rms_norm", "eps", "a value >= 0", std::to_string(eps));
  }
  static rms_norm identity(index_t d, float epsilon = 1e-6f) { return rms_norm(vector::Ones(d), epsilon); }
  index_t dim() const noexcept { return gain.size(); }
  void check(const_matrix_view x, const matrix_view& y) const { detail::check_norm_io("ops.rms_norm", dim(), x, y); }
  void forward(const_matrix_view x, matrix_view y) const noexcept {
    parallel_for(0, x.rows(), 64, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      for (std::ptrdiff_t r = lo; r < hi; ++r)
        kernels::active::rms_norm(x.row(r).data(), y.row(r).data(), std::size_t(x.cols()), gain.data(), eps);
    });
  }
};

/// A norm some architectures put *inside* a sub-layer (Sub-LN, Wang et al. 2022 "Foundation
/// Transformers": before the attention output projection and before the FFN down projection):
/// none, LayerNorm or RMSNorm, chosen when the layer is built and applied in place.
using inner_norm = std::variant<std::monostate, layer_norm, rms_norm>;

/// Width of an inner norm (0 for none).
inline index_t inner_norm_dim(const inner_norm& n) noexcept {
  return std::visit([](const auto& v) -> index_t {
    if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) return 0;
    else return v.dim();
  }, n);
}
/// x ← norm(x) row by row (nothing for none). x: [tokens, inner_norm_dim(n)].
inline void apply_inner_norm(const inner_norm& n, matrix_view x) noexcept {
  std::visit([&](const auto& v) {
    if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) v.forward(as_const(x), x);
  }, n);
}

}  // namespace eigenformer::ops
