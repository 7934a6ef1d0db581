#pragma once
/// @file
/// The shape checks public entry points run once, before any work: a view's rows and columns,
/// the usual "input [tokens, d] → output [tokens, d]" pair, and sequence lengths of a packed
/// batch. Each throws shape_error naming where, what, the expected and the found shape.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <algorithm>
#include <string_view>

namespace eigenformer {

/// Matches any number of rows in check_shape.
inline constexpr index_t any_rows = -1;

/// Throws shape_error unless @p x is [rows, cols] (rows == any_rows: any number of rows).
template <class View>
inline void check_shape(std::string_view where, std::string_view what, const View& x, index_t rows, index_t cols) {
  if ((rows != any_rows && x.rows() != rows) || x.cols() != cols)
    throw_error<shape_error>(where, what, format_shape({rows == any_rows ? x.rows() : rows, cols}),
                             format_shape({x.rows(), x.cols()}));
}

/// Throws shape_error unless @p x is [tokens, d_in] and @p out is [tokens, d_out] (tokens = x.rows()).
template <class In, class Out>
inline void check_io(std::string_view where, const In& x, const Out& out, index_t d_in, index_t d_out) {
  check_shape(where, "input", x, any_rows, d_in);
  check_shape(where, "output", out, x.rows(), d_out);
}

/// Tokens of sequence @p s of a packed batch.
inline index_t sequence_length(offsets_view offsets, index_t s) noexcept {
  return offsets[std::size_t(s + 1)] - offsets[std::size_t(s)];
}

/// The longest sequence of a packed batch (0 for none).
inline index_t longest_sequence(offsets_view offsets) noexcept {
  index_t longest = 0;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) longest = std::max(longest, offsets[s + 1] - offsets[s]);
  return longest;
}

}  // namespace eigenformer
