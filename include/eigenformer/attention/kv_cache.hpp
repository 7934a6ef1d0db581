#pragma once
/// @file
/// Decode state: the K/V cache of one kv head of one sequence (plain or ring), the split-K
/// partials of one query and their exact merge, and the cache of a whole layer (one variant state
/// per (sequence, kv head), each sequence's length) with the operations generation needs.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/kernels/gemm_bf16.hpp>
#include <eigenformer/kernels/kernels.hpp>
#include <eigenformer/kernels/kv_bf16.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace eigenformer::attention {

/// K/V cache of one kv head of one sequence: rows [capacity, head_dim], contiguous, so a decode
/// step reads them sequentially. A ring (sliding windows) keeps only the last `capacity` positions:
/// position p lives in row p % capacity. The rows are fp32 (`k`, `v`), or with
/// `weight_type::bf16` bf16 bits (`k16`, `v16`: keys and values rounded to nearest even as they
/// are appended, half the bytes each decode step reads; kernels/kv_bf16.hpp).
struct kv_cache {
  matrix k, v;                          ///< fp32 rows; empty for a bf16 cache
  std::vector<std::uint16_t> k16, v16;  ///< bf16 rows [capacity, head_dim] / [capacity, value_dim]
  index_t length = 0;  ///< positions appended so far
  bool ring = false;
  bool bf16 = false;

  kv_cache() = default;
  /// @p type: weight_type::f32 or weight_type::bf16 (callers validate; anything else is fp32).
  kv_cache(index_t capacity, index_t head_dim, index_t value_dim, bool is_ring, weight_type type = weight_type::f32)
      : ring(is_ring), bf16(type == weight_type::bf16), rows_(capacity), head_dim_(head_dim), value_dim_(value_dim) {
    if (bf16) {
      k16.resize(std::size_t(capacity * head_dim));
      v16.resize(std::size_t(capacity * value_dim));
    } else {
      k.resize(capacity, head_dim);
      v.resize(capacity, value_dim);
    }
  }
  index_t capacity() const noexcept { return rows_; }
  index_t head_dim() const noexcept { return head_dim_; }
  index_t value_dim() const noexcept { return value_dim_; }
  /// Bytes the rows hold (what a full cache's decode step reads).
  std::size_t bytes() const noexcept {
    return bf16 ? (k16.size() + v16.size()) * sizeof(std::uint16_t) : std::size_t(k.size() + v.size()) * sizeof(float);
  }
  /// Rows that hold positions, and the first position they hold.
  index_t stored() const noexcept { return std::min(length, capacity()); }
  index_t first_position() const noexcept { return length - stored(); }
  /// True when @p n more positions fit (a ring always has room: it forgets the oldest).
  bool has_room(index_t n) const noexcept { return ring || length + n <= capacity(); }
  void clear() noexcept { length = 0; }
  /// Appends one position's key and value rows. Caller guarantees has_room(1).
  void append(const float* key, const float* value) noexcept {
    const index_t row = ring ? length % capacity() : length;
    if (bf16) {
      std::uint16_t* kr = k16.data() + row * head_dim_;
      std::uint16_t* vr = v16.data() + row * value_dim_;
      for (index_t i = 0; i < head_dim_; ++i) kr[i] = kernels::to_bf16(key[i]);
      for (index_t i = 0; i < value_dim_; ++i) vr[i] = kernels::to_bf16(value[i]);
    } else {
      std::copy(key, key + head_dim_, k.row(row).data());
      std::copy(value, value + value_dim_, v.row(row).data());
    }
    ++length;
  }
  /// Position held by row @p r.
  index_t position_of(index_t r) const noexcept {
    if (!ring || length <= capacity()) return r;
    const index_t last = length - 1;
    return last - ((last - r) % capacity() + capacity()) % capacity();
  }
  /// Rows [r0, r1) as at most two runs of consecutive positions (a full ring wraps once):
  /// fn(first_row, count, first_position) for each.
  template <class Fn>
  void for_each_run(index_t r0, index_t r1, Fn&& fn) const noexcept {
    if (r0 >= r1) return;
    const index_t p0 = position_of(r0), split = std::min(r1, r0 + (length - 1 - p0) + 1);
    fn(r0, split - r0, p0);
    if (split < r1) fn(split, r1 - split, position_of(split));
  }

 private:
  index_t rows_ = 0, head_dim_ = 0, value_dim_ = 0;
};

/// Partial result of one query over a range of keys: running max and running sum (the
/// unnormalised output lives beside it). Partials of disjoint key ranges merge exactly (Lean
/// Attention / split-K decoding).
struct decode_partial {
  float m = -std::numeric_limits<float>::infinity();
  float l = 0.0f;
};

/// Merges the partials of disjoint key ranges: out = Σ_t acc_t·e^(m_t − M) / Σ_t l_t·e^(m_t − M).
/// accs: `count` rows of `dv` floats. A query that saw no key at all outputs zeros.
inline void merge_decode_partials(const decode_partial* parts, const float* accs, index_t count, index_t dv,
                                  float* out) noexcept {
  float mx = -std::numeric_limits<float>::infinity();
  for (index_t t = 0; t < count; ++t) mx = kernels::compat::max_nan(mx, parts[t].m);
  std::fill(out, out + dv, 0.0f);
  if (mx == -std::numeric_limits<float>::infinity()) return;
  float l = 0.0f;
  for (index_t t = 0; t < count; ++t) {
    if (parts[t].l <= 0.0f) continue;
    const float w = std::exp(parts[t].m - mx);
    l += parts[t].l * w;
    kernels::active::axpy(w, accs + t * dv, out, std::size_t(dv));
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  kernels::active::scale(out, inv, std::size_t(dv));
}

/// Decode state of one layer for a batch of sequences: one variant state per (sequence, kv head),
/// and each sequence's length (the position of its next token).
template <class State>
struct layer_cache {
  index_t batch = 0;
  index_t kv_heads = 0;
  std::vector<State> states;    ///< [batch · kv_heads]
  std::vector<index_t> lengths;  ///< [batch]

  State& state(index_t b, index_t h) { return states[std::size_t(b * kv_heads + h)]; }
  const State& state(index_t b, index_t h) const { return states[std::size_t(b * kv_heads + h)]; }

  /// Sequence b takes sequence src[b]'s state (beam search: the surviving beams, in order).
  /// src: [batch], each in [0, batch). Throws shape_error for another length or index.
  void reorder(std::span<const index_t> src) {
    if (index_t(src.size()) != batch)
      throw_error<shape_error>("attention.cache", "reorder sources", std::to_string(batch) + " (one per sequence)",
                               std::to_string(src.size()));
    for (index_t s : src)
      if (s < 0 || s >= batch)
        throw_error<shape_error>("attention.cache", "reorder source", "an index in [0, " + std::to_string(batch) + ")",
                                 std::to_string(s));
    std::vector<State> next;
    next.reserve(states.size());
    std::vector<index_t> next_lengths(static_cast<std::size_t>(batch));
    for (index_t b = 0; b < batch; ++b) {
      for (index_t h = 0; h < kv_heads; ++h) next.push_back(state(src[std::size_t(b)], h));
      next_lengths[std::size_t(b)] = lengths[std::size_t(src[std::size_t(b)])];
    }
    states.swap(next);
    lengths.swap(next_lengths);
  }
};

/// The cache of a multi-head layer with variant @p Variant.
template <class Variant>
using attention_cache = layer_cache<typename Variant::state_type>;

/// fn(layer cache) for a cache that is a layer_cache, or for whichever layer_cache a
/// std::variant of them (a heterogeneous stack's layer, blocks::layer_choice) holds.
template <class Cache, class Fn>
inline decltype(auto) visit_cache(Cache& cache, Fn&& fn) {
  if constexpr (requires { cache.index(); std::variant_size<std::remove_const_t<Cache>>::value; })
    return std::visit(std::forward<Fn>(fn), cache);
  else
    return std::forward<Fn>(fn)(cache);
}

}  // namespace eigenformer::attention
