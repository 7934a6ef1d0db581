#pragma once
/// @file
/// Embedding tables: rows of a [vocab, d] matrix looked up by token id.
///     ids: [tokens] -> out: [tokens, d]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace eigenformer::ops {

/// Throws shape_error naming @p what and the first id outside [0, @p vocab).
inline void check_token_ids(std::span<const token_id> ids, index_t vocab, const std::string& what) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      throw_error<shape_error>("ops.embedding", what + " [" + std::to_string(i) + "]",
                               "an id in [0, " + std::to_string(vocab) + ")", std::to_string(ids[i]));
}

/// Checks a packed batch of token ids: offsets, ids in [0, @p vocab), no sequence longer than
/// @p max_positions. Throws shape_error naming the first problem.
inline void check_tokens(const char* where, std::span<const token_id> ids, offsets_view offsets, index_t vocab,
                         index_t max_positions) {
  validate_offsets(offsets, index_t(ids.size()), where);
  check_token_ids(ids, vocab, "token id");
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
    if (offsets[s + 1] - offsets[s] > max_positions)
      throw_error<shape_error>(where, "sequence " + std::to_string(s) + " length",
                               "at most " + std::to_string(max_positions) + " (max positions)",
                               std::to_string(offsets[s + 1] - offsets[s]));
}

struct embedding {
  matrix table;  ///< [vocab, d]

  index_t vocab() const noexcept { return table.rows(); }
  index_t dim() const noexcept { return table.cols(); }

  /// Throws shape_error naming @p what and the first id outside [0, vocab).
  void check_ids(std::span<const token_id> ids, const std::string& what) const { check_token_ids(ids, vocab(), what); }
  /// out.row(i) = table.row(ids[i]). Ids must have passed check_ids.
  void lookup(std::span<const token_id> ids, matrix_view out) const noexcept {
    for (std::size_t i = 0; i < ids.size(); ++i)
      std::memcpy(out.row(index_t(i)).data(), table.row(ids[i]).data(), std::size_t(dim()) * sizeof(float));
  }
  /// out.row(i) += table.row(ids[i]).
  void add(std::span<const token_id> ids, matrix_view out) const noexcept {
    for (std::size_t i = 0; i < ids.size(); ++i) out.row(index_t(i)) += table.row(ids[i]);
  }
};

}  // namespace eigenformer::ops
