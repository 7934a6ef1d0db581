#pragma once
/// @file
/// The packed runner: a variant over every head of every sequence of a packed batch of already
/// projected (and rotated) Q, K, V, in parallel over (sequence, head, block of query rows), with
/// one scratch per worker grown once per shape. multi_head_attention uses it after its
/// projections; benchmarks and researchers can call it directly on their own Q, K, V.
///
///     q: [tokens, heads·d], k, v: [tokens, kv_heads·d] -> attn: [tokens, heads·d]

#include <eigenformer/attention/variant.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace eigenformer::attention {

/// Query rows per work item of a splittable variant: at least this many (a few query tiles, so
/// a block amortises packing its keys) ...
inline constexpr index_t min_query_block = 256;
/// ... and at most 1/8 of the longest sequence, so even one long sequence keeps every core busy.
inline constexpr index_t query_blocks_per_sequence = 8;

template <attention_variant Variant>
class packed_attention_runner {
 public:
  using scratch_type = typename Variant::scratch_type;

  /// @param key_valid [tokens] 0 = padding key, or empty
  /// Shapes are the caller's responsibility (multi_head_attention validates them).
  void run(const Variant& variant, const_matrix_view q, const_matrix_view k, const_matrix_view v,
           offsets_view offsets, matrix_view attn, index_t heads, index_t kv_heads, float scale,
           std::span<const std::uint8_t> key_valid = {}) {
    run(variant, q, k, v, offsets, offsets, attn, heads, kv_heads, scale, key_valid);
  }

  /// Same, with keys and values packed by their own offsets (cross-attention: sequence i of the
  /// queries attends to sequence i of the memory). key_valid follows the key offsets.
  void run(const Variant& variant, const_matrix_view q, const_matrix_view k, const_matrix_view v,
           offsets_view q_offsets, offsets_view kv_offsets, matrix_view attn, index_t heads, index_t kv_heads,
           float scale, std::span<const std::uint8_t> key_valid = {}) {
    const index_t hd = q.cols() / heads, group = heads / kv_heads, nseq = sequence_count(q_offsets);
    const index_t longest_q = longest_sequence(q_offsets), longest = longest_sequence(kv_offsets);
    reserve(variant, hd, std::max(longest, longest_q));
    if constexpr (head_batched_variant<Variant>) {
      run_head_groups(variant, q, k, v, q_offsets, kv_offsets, attn, heads, group, scale, key_valid);
      return;
    }
    const index_t block = Variant::query_splittable
                              ? std::max<index_t>(min_query_block, longest_q / query_blocks_per_sequence)
                              : std::max<index_t>(longest_q, 1);
    items_.clear();
    for (index_t s = 0; s < nseq; ++s) {
      const index_t len = q_offsets[std::size_t(s + 1)] - q_offsets[std::size_t(s)];
      for (index_t h = 0; h < heads; ++h)
        for (index_t r0 = 0; r0 < len; r0 += block) items_.push_back({s, h, r0, std::min(block, len - r0)});
    }
    parallel_for_dynamic(std::ptrdiff_t(items_.size()), [&](std::ptrdiff_t i, int worker) {
      const work_item& it = items_[std::size_t(i)];
      const index_t o = q_offsets[std::size_t(it.seq)];
      const index_t ko = kv_offsets[std::size_t(it.seq)], klen = kv_offsets[std::size_t(it.seq + 1)] - ko;
      const index_t kvh = it.head / group;
      head_problem p{rows(columns(q, it.head * hd, hd), o + it.row0, it.rows),
                     rows(columns(k, kvh * hd, hd), ko, klen),
                     rows(columns(v, kvh * hd, hd), ko, klen),
                     rows(columns(attn, it.head * hd, hd), o + it.row0, it.rows),
                     it.row0,
                     scale,
                     key_valid.empty() ? nullptr : key_valid.data() + ko,
                     it.head};
      variant.prefill(p, scratch_[std::size_t(worker)]);
    });
  }

  /// Grows one scratch per worker for head_dim @p hd and @p max_keys keys.
  void reserve(const Variant& variant, index_t hd, index_t max_keys) {
    const auto workers = std::size_t(std::max(1, num_threads()));
    if (scratch_.size() < workers) scratch_.resize(workers);
    for (auto& s : scratch_) variant.reserve(s, hd, hd, max_keys);
  }
  std::vector<scratch_type>& scratch() noexcept { return scratch_; }

 private:
  /// A head-batched variant gets a group of heads of one sequence per work item: as many groups
  /// per sequence as it takes to give every worker one (at most one group per head).
  void run_head_groups(const Variant& variant, const_matrix_view q, const_matrix_view k, const_matrix_view v,
                       offsets_view q_offsets, offsets_view kv_offsets, matrix_view attn, index_t heads,
                       index_t group, float scale, std::span<const std::uint8_t> key_valid) {
    const index_t hd = q.cols() / heads, nseq = sequence_count(q_offsets);
    const index_t workers = std::max(1, num_threads());
    const index_t groups = std::clamp<index_t>((workers + nseq - 1) / std::max<index_t>(nseq, 1), 1, heads);
    const index_t per_group = (heads + groups - 1) / groups;
    for (auto& s : scratch_) variant.reserve_heads(s, per_group, hd, hd);
    groups_.clear();
    for (index_t s = 0; s < nseq; ++s)
      for (index_t h0 = 0; h0 < heads; h0 += per_group) groups_.push_back({s, h0, std::min(per_group, heads - h0)});
    parallel_for_dynamic(std::ptrdiff_t(groups_.size()), [&](std::ptrdiff_t i, int worker) {
      const group_item& it = groups_[std::size_t(i)];
      const index_t o = q_offsets[std::size_t(it.seq)], len = q_offsets[std::size_t(it.seq + 1)] - o;
      const index_t ko = kv_offsets[std::size_t(it.seq)], klen = kv_offsets[std::size_t(it.seq + 1)] - ko;
      head_group_problem p{rows(q, o, len),
                           rows(k, ko, klen),
                           rows(v, ko, klen),
                           rows(attn, o, len),
                           it.head0,
                           it.heads,
                           hd,
                           hd,
                           group,
                           0,
                           scale,
                           key_valid.empty() ? nullptr : key_valid.data() + ko};
      variant.prefill_heads(p, scratch_[std::size_t(worker)]);
    });
  }

  struct work_item {
    index_t seq, head, row0, rows;
  };
  struct group_item {
    index_t seq, head0, heads;
  };
  std::vector<scratch_type> scratch_;
  std::vector<work_item> items_;
  std::vector<group_item> groups_;
};

}  // namespace eigenformer::attention
