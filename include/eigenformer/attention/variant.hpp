#pragma once
/// @file
/// The attention variant contract: exactly what multi_head_attention (and the packed runner)
/// use of a variant. score_attention, linear_attention and linformer_attention model it; a new
/// variant is one type that does, plus its reference test.
///
/// Every variant (`attention_variant`):
///  - `scratch_type`: one worker's scratch; `reserve(ws, head_dim, value_dim, max_keys)` grows it
///    so that prefill and decode allocate nothing;
///  - `prefill(head_problem, ws)`: one head of one sequence, noexcept;
///  - `query_splittable`: query rows of a head may run on different workers;
///  - `check_sequence_length(n)`: throws for sequences the variant cannot take;
///  - `bind(config)`: called once by the layer's constructor (per-head tables, default biases);
///    throws config_error when the variant does not fit the layer.
/// A variant with a decode form (`decodable_variant`, `supports_decode`) also has:
///  - `state_type` and `make_state(max_positions, head_dim, value_dim)`: one (sequence, kv head);
///  - `fill_state(st, k, v)` (prefill's keys and values) and `append(st, k, v)`, noexcept;
///  - `has_room(st, n)`: can @p st take n more tokens; `capacity(st)`: the most it holds;
///  - `decode(decode_query, st, out, ws)`: one query against the state, noexcept.
/// Split-K decoding (`split_decodable_variant`, `splittable_decode`) adds
///  `decode_range(decode_query, st, r0, r1, acc, s)` → decode_partial over rows [r0, r1).
/// A head-batched variant (`head_batched_variant`) can also run a group of heads of one sequence
/// together: `reserve_heads(ws, heads, head_dim, value_dim)` and `prefill_heads(head_group_problem,
/// ws)`, noexcept. The packed runner prefers it: the variant walks the rows chunk by chunk, all
/// heads of the group inside each chunk, so a chunk's full rows come from memory once, in order,
/// instead of one head's 256 bytes of every row, one head after the other.

#include <eigenformer/attention/config.hpp>
#include <eigenformer/attention/kv_cache.hpp>
#include <eigenformer/attention/tiled_kernel.hpp>
#include <eigenformer/core/tensor.hpp>

#include <concepts>
#include <cstdint>

namespace eigenformer::attention {

/// One decode query: the query row of one head, its position and the score scale.
struct decode_query {
  const float* q = nullptr;  ///< [head_dim]
  index_t position = 0;      ///< position of the query (its own key is already in the state)
  index_t head = 0;          ///< query head
  float scale = 1.0f;
};

/// The rows of one sequence for the query heads [head0, head0 + heads): the views hold every
/// head's columns, and head(i) is the head_problem of head head0 + i.
///     q: [n, H·d], k: [m, H_kv·d], v: [m, H_kv·dv] -> out: [n, H·dv]
struct head_group_problem {
  const_matrix_view q, k, v;
  matrix_view out;
  index_t head0 = 0;      ///< first query head of the group
  index_t heads = 0;      ///< query heads in the group
  index_t head_dim = 0;   ///< d (q and k columns per head)
  index_t value_dim = 0;  ///< dv (v and out columns per head)
  index_t group = 1;      ///< query heads per kv head (grouped-query attention)
  index_t q_pos0 = 0;     ///< position of query row 0
  float scale = 1.0f;
  const std::uint8_t* key_valid = nullptr;  ///< [m] or null

  head_problem head(index_t i) const noexcept {
    const index_t h = head0 + i, kvh = h / group;
    return head_problem{columns(q, h * head_dim, head_dim), columns(k, kvh * head_dim, head_dim),
                        columns(v, kvh * value_dim, value_dim), columns(out, h * value_dim, value_dim),
                        q_pos0, scale, key_valid, h};
  }
};

template <class V>
concept attention_variant = std::copy_constructible<V> &&
    requires(const V& v, V& mv, typename V::scratch_type& ws, const head_problem& p, index_t n,
             const attention_config& cfg) {
  typename V::scratch_type;
  { V::supports_decode } -> std::convertible_to<bool>;
  { V::query_splittable } -> std::convertible_to<bool>;
  v.reserve(ws, n, n, n);
  { v.prefill(p, ws) } noexcept;
  v.check_sequence_length(n);
  mv.bind(cfg);
};

template <class V>
concept decodable_variant = attention_variant<V> && V::supports_decode &&
    requires(const V& v, typename V::state_type& st, const typename V::state_type& cst,
             typename V::scratch_type& ws, const_matrix_view kv, const decode_query& dq, const float* row,
             float* out, index_t n) {
  typename V::state_type;
  { v.make_state(n, n, n) } -> std::same_as<typename V::state_type>;
  v.fill_state(st, kv, kv);  // noexcept, but its view arguments are copied by a throwing constructor
  { v.append(st, row, row) } noexcept;
  { v.has_room(cst, n) } noexcept -> std::same_as<bool>;
  { v.capacity(cst) } noexcept -> std::same_as<index_t>;
  { v.decode(dq, cst, out, ws) } noexcept;
};

template <class V>
concept split_decodable_variant = decodable_variant<V> && requires {
  { V::splittable_decode } -> std::convertible_to<bool>;
} && V::splittable_decode && requires(const V& v, const typename V::state_type& st, const decode_query& dq, float* f,
                                      index_t n) {
  { v.decode_range(dq, st, n, n, f, f) } noexcept -> std::same_as<decode_partial>;
};

template <class V>
concept head_batched_variant = attention_variant<V> &&
    requires(const V& v, typename V::scratch_type& ws, const head_group_problem& p, index_t n) {
  v.reserve_heads(ws, n, n, n);
  { v.prefill_heads(p, ws) } noexcept;
};

}  // namespace eigenformer::attention
