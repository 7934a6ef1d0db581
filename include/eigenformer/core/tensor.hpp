#pragma once
/// @file
/// The activation currency: row-major float matrices, strided views of them, and packed batches.
///
/// A sequence is a `[tokens, d_model]` row-major matrix. A head is a column block
/// `[tokens, head_dim]` of a projected Q, K or V matrix: a strided view, never a copy. Batches of
/// sequences of different lengths are packed, never padded: `[total_tokens, d_model]` plus offsets
/// `{0, len0, len0+len1, ..., total_tokens}`.

#include <eigenformer/core/config.hpp>
#include <eigenformer/core/error.hpp>

#include <Eigen/Core>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace eigenformer {

/// Signed index type used for shapes (Eigen's).
using index_t = Eigen::Index;

/// Row-major dynamic matrix of any scalar; activations use `matrix` (float).
template <class Scalar>
using row_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// `[rows, cols]` row-major float matrix that owns its storage.
using matrix = row_matrix<float>;
/// A length-n float vector (gains, biases, a single row copied out).
using vector = Eigen::VectorXf;

/// Mutable `[rows, cols]` view of row-major float data whose rows are `outerStride()` floats apart.
/// Converts implicitly from a `matrix`, and from any row block or column block of one.
using matrix_view = Eigen::Map<matrix, Eigen::Unaligned, Eigen::OuterStride<>>;
/// Read-only counterpart of matrix_view.
using const_matrix_view = Eigen::Map<const matrix, Eigen::Unaligned, Eigen::OuterStride<>>;

/// View of the whole of @p m. `m`: `[rows, cols]`.
inline matrix_view view(matrix& m) noexcept {
  return matrix_view(m.data(), m.rows(), m.cols(), Eigen::OuterStride<>(m.cols()));
}
/// Read-only view of the whole of @p m. `m`: `[rows, cols]`.
inline const_matrix_view view(const matrix& m) noexcept {
  return const_matrix_view(m.data(), m.rows(), m.cols(), Eigen::OuterStride<>(m.cols()));
}

/// Read-only view of a mutable view.
inline const_matrix_view as_const(const matrix_view& x) noexcept {
  return const_matrix_view(x.data(), x.rows(), x.cols(), Eigen::OuterStride<>(x.outerStride()));
}

/// Columns `[first, first + count)` of @p x as a strided view: `[rows, cols] -> [rows, count]`.
/// Head h of a projected `[tokens, heads * head_dim]` matrix is `columns(x, h * head_dim, head_dim)`.
inline matrix_view columns(matrix_view x, index_t first, index_t count) noexcept {
  return matrix_view(x.data() + first, x.rows(), count, Eigen::OuterStride<>(x.outerStride()));
}
/// Read-only counterpart of columns().
inline const_matrix_view columns(const_matrix_view x, index_t first, index_t count) noexcept {
  return const_matrix_view(x.data() + first, x.rows(), count,
                           Eigen::OuterStride<>(x.outerStride()));
}

/// Rows `[first, first + count)` of @p x: `[rows, cols] -> [count, cols]`.
inline matrix_view rows(matrix_view x, index_t first, index_t count) noexcept {
  return matrix_view(x.data() + first * x.outerStride(), count, x.cols(),
                     Eigen::OuterStride<>(x.outerStride()));
}
/// Read-only counterpart of rows().
inline const_matrix_view rows(const_matrix_view x, index_t first, index_t count) noexcept {
  return const_matrix_view(x.data() + first * x.outerStride(), count, x.cols(),
                           Eigen::OuterStride<>(x.outerStride()));
}

/// Grow-only scratch storage handed out as matrix views: asking again for a shape no larger than
/// one seen before allocates nothing, so forward passes reuse their buffers across calls.
///
/// The storage is a handle: `share(other)` makes two scratches use one buffer (the layers of a
/// stack run one after another, so they share one workspace). A copy gets fresh, empty storage
/// of its own, so copies of a layer never write into each other's scratch.
class scratch_matrix {
 public:
  scratch_matrix() = default;
  scratch_matrix(const scratch_matrix&) : scratch_matrix() {}
  scratch_matrix& operator=(const scratch_matrix& o) {
    if (this != &o) buf_ = std::make_shared<std::vector<float>>();
    return *this;
  }
  scratch_matrix(scratch_matrix&&) noexcept = default;
  scratch_matrix& operator=(scratch_matrix&&) noexcept = default;

  /// A `[rows, cols]` view of this scratch (contents unspecified). Allocates only to grow.
  matrix_view get(index_t r, index_t c) {
    const std::size_t need = static_cast<std::size_t>(r * c);
    if (buf_->size() < need) buf_->resize(need);
    return matrix_view(buf_->data(), r, c, Eigen::OuterStride<>(c));
  }
  /// A `[rows, cols]` view of storage already grown by get() to at least rows·cols floats.
  matrix_view view(index_t r, index_t c) noexcept {
    return matrix_view(buf_->data(), r, c, Eigen::OuterStride<>(c));
  }
  std::size_t capacity() const noexcept { return buf_->size(); }
  /// From now on, use @p other's buffer (and grow it when needed).
  void share(const scratch_matrix& other) noexcept { buf_ = other.buf_; }
  bool shares_with(const scratch_matrix& other) const noexcept { return buf_ == other.buf_; }

 private:
  std::shared_ptr<std::vector<float>> buf_ = std::make_shared<std::vector<float>>();
};

/// The scratch buffers the layers of a stack share: a stack hands its workspace to every layer
/// (`use_workspace`), so a 12-layer encoder holds one set of activation buffers, not twelve.
/// Slots are named by role; a layer that runs uses them only during its own forward.
struct workspace {
  std::array<scratch_matrix, 3> block;      ///< residual wiring: three [tokens, d_model]
  std::array<scratch_matrix, 6> attention;  ///< q, k, v, heads' output, gate, decode partials
  std::array<scratch_matrix, 1> ffn;        ///< hidden activations [tokens, hidden] (2× for GLUs)

  /// Bytes held by the slots now.
  std::size_t bytes() const noexcept {
    std::size_t n = 0;
    for (const auto& s : block) n += s.capacity();
    for (const auto& s : attention) n += s.capacity();
    for (const auto& s : ffn) n += s.capacity();
    return n * sizeof(float);
  }
};

/// A token id (vocabulary index).
using token_id = std::int32_t;

/// Offsets of a packed batch: `{0, len0, len0 + len1, ..., total_tokens}`; sequence i is rows
/// `[offsets[i], offsets[i + 1])`. A single sequence of n tokens is `{0, n}`.
using offsets_view = std::span<const index_t>;

/// Checks that @p offsets describe a packed batch of @p total_tokens rows: at least two entries,
/// starting at 0, non-decreasing (empty sequences are allowed), ending at @p total_tokens.
/// Throws shape_error naming @p where otherwise.
inline void validate_offsets(offsets_view offsets, index_t total_tokens,
                             std::string_view where = "offsets") {
  if (offsets.size() < 2)
    throw_error<shape_error>(where, "packed-batch offsets", "at least 2 entries {0, ..., total}",
                             std::to_string(offsets.size()) + " entries");
  if (offsets.front() != 0)
    throw_error<shape_error>(where, "packed-batch offsets[0]", "0",
                             std::to_string(offsets.front()));
  for (std::size_t i = 1; i < offsets.size(); ++i) {
    if (offsets[i] < offsets[i - 1])
      throw_error<shape_error>(where, "packed-batch offsets[" + std::to_string(i) + "]",
                               "non-decreasing offsets (>= " + std::to_string(offsets[i - 1]) + ")",
                               std::to_string(offsets[i]));
  }
  if (offsets.back() != total_tokens)
    throw_error<shape_error>(where, "packed-batch offsets (last entry)",
                             std::to_string(total_tokens) + " (the number of rows)",
                             std::to_string(offsets.back()));
}

/// Number of sequences in a packed batch described by @p offsets.
inline index_t sequence_count(offsets_view offsets) noexcept {
  return offsets.empty() ? 0 : static_cast<index_t>(offsets.size()) - 1;
}

}  // namespace eigenformer
