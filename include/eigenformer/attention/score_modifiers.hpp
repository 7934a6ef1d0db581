#pragma once
/// @file
/// Score modifiers: policies that add a bias to (or transform) a tile of scores from the query
/// positions, key positions and head, inside the tiled kernel's loop (before masking), so the
/// n × n matrix is never materialised. The decode path calls the same policy on one query's
/// row of scores. A new modifier is one struct with:
///
///  - `apply(const score_tile&)`: modify t.rows × t.cols scores in place; row r is the query at
///    position t.q0 + r, column c the key at position t.k0 + c (noexcept, allocation-free);
///  - `is_identity` (optional): true when apply does nothing, so the kernel skips the call;
///  - `bind(num_heads)` (optional): called once by the multi-head layer (per-head tables).

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ops/positional.hpp>

#include <string>
#include <utility>
#include <vector>

namespace eigenformer::attention {

/// A tile of scores handed to a modifier.
struct score_tile {
  float* s = nullptr;  ///< [rows, cols], row stride ld
  index_t ld = 0;
  index_t rows = 0, cols = 0;
  index_t q0 = 0;    ///< position of query row 0
  index_t k0 = 0;    ///< position of key column 0 (columns hold consecutive positions)
  index_t head = 0;  ///< query head
};

/// Scores as they are.
struct no_score_modifier {
  static constexpr bool is_identity = true;
  void apply(const score_tile&) const noexcept {}
};

/// ALiBi (Press et al., "Train Short, Test Long", 2022): scores −= slope_h·|i − j|, one slope
/// per head (ops::alibi_slopes). Default-constructed, the multi-head layer binds the reference
/// slopes for its head count.
struct alibi_bias {
  std::vector<float> slopes;  ///< [num_heads]

  alibi_bias() = default;
  explicit alibi_bias(std::vector<float> s) : slopes(std::move(s)) {}
  /// The reference slopes for @p heads heads.
  static alibi_bias for_heads(index_t heads) { return alibi_bias(ops::alibi_slopes(heads)); }

  /// Binds the reference slopes when none were given; throws config_error when the given ones
  /// are not one per head.
  void bind(index_t heads) {
    if (slopes.empty()) slopes = ops::alibi_slopes(heads);
    if (index_t(slopes.size()) != heads)
      throw_error<config_error>("attention.alibi", "slopes", std::to_string(heads) + " (one per head)",
                                std::to_string(slopes.size()));
  }

  void apply(const score_tile& t) const noexcept {
    const float slope = slopes[std::size_t(t.head)];
    for (index_t r = 0; r < t.rows; ++r) {
      float* row = t.s + r * t.ld;
      const index_t i = t.q0 + r;
      for (index_t c = 0; c < t.cols; ++c) {
        const index_t d = i - (t.k0 + c);
        row[c] -= slope * static_cast<float>(d < 0 ? -d : d);
      }
    }
  }
};

/// What the tiled kernel and the decode path call on a modifier.
template <class M>
concept score_modifier = requires(const M& m, const score_tile& t) {
  { m.apply(t) } noexcept;
};

/// True when @p M's apply does nothing (the kernel skips it).
template <class M>
inline constexpr bool is_identity_modifier = [] {
  if constexpr (requires { M::is_identity; }) return bool(M::is_identity);
  return false;
}();

}  // namespace eigenformer::attention
