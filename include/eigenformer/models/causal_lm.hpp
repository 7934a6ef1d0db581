#pragma once
/// @file
/// What the decoder-only presets (gpt2, llama) share: token embeddings (plus learned positions
/// for GPT-2), a decoder stack with its caches, the final norm inside the stack, and the LM head.
///     ids [tokens] -> hidden [tokens, d] -> logits [tokens, vocab]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/models/decoder.hpp>
#include <eigenformer/ops/embedding.hpp>
#include <eigenformer/ops/linear.hpp>

#include <optional>
#include <span>
#include <string>
#include <utility>

namespace eigenformer::models {

template <class Block, class Norm>
class causal_lm {
 public:
  using stack_type = decoder<Block, Norm>;
  using cache_type = typename stack_type::cache_type;

  /// @p tokens: the token embeddings, or nullopt when the head is tied to them (the head's
  /// packed weights then serve the lookups too, so the table is held once).
  causal_lm(const char* where, std::optional<ops::embedding> tokens, std::optional<ops::embedding> positions,
            stack_type stack, ops::linear head, index_t max_positions)
      : where_(where), tokens_(std::move(tokens)), positions_(std::move(positions)), stack_(std::move(stack)),
        head_(std::move(head)), max_positions_(max_positions) {}

  index_t d_model() const noexcept { return head_.in(); }
  index_t vocab_size() const noexcept { return head_.out(); }
  index_t max_positions() const noexcept { return max_positions_; }
  bool tied_head() const noexcept { return !tokens_.has_value(); }

  /// Caches for @p batch sequences of up to @p max_positions tokens (0: the model's maximum).
  cache_type make_cache(index_t batch, index_t max_positions = 0) const {
    return stack_.make_cache(batch, max_positions == 0 ? max_positions_ : max_positions);
  }

  /// Hidden states of whole sequences (packed), no cache. hidden: [tokens, d].
  void forward(std::span<const token_id> ids, offsets_view offsets, matrix_view hidden) {
    embed_prompts(ids, offsets, hidden);
    if (!ids.empty()) stack_.forward(as_const(hidden), offsets, hidden);
  }
  /// Same, filling @p cache (one sequence per offset pair, from make_cache).
  void prefill(std::span<const token_id> ids, offsets_view offsets, matrix_view hidden, cache_type& cache) {
    embed_prompts(ids, offsets, hidden);
    stack_.prefill(as_const(hidden), offsets, hidden, cache);
  }
  /// One new token per sequence: ids [batch], hidden [batch, d].
  void step(std::span<const token_id> ids, matrix_view hidden, cache_type& cache) {
    ops::check_token_ids(ids, vocab_size(), "token id");
    check_shape(where_, "hidden", hidden, index_t(ids.size()), d_model());
    if (stack_type::cache_batch(cache) != index_t(ids.size()))
      throw_error<shape_error>(where_, "tokens of the step", "one per cached sequence",
                               std::to_string(ids.size()));
    lookup(ids, hidden);
    if (positions_) {
      for (index_t b = 0; b < index_t(ids.size()); ++b) {
        const index_t pos = stack_type::cache_position(cache, b);
        if (pos >= positions_->vocab())
          throw_error<shape_error>(where_, "position of sequence " + std::to_string(b),
                                   "below " + std::to_string(positions_->vocab()) + " (max positions)", std::to_string(pos));
        hidden.row(b) += positions_->table.row(pos);
      }
    }
    stack_.step(as_const(hidden), hidden, cache);
  }
  /// Sequence b of @p cache takes sequence src[b]'s state in every layer (beam search).
  void reorder_cache(cache_type& cache, std::span<const index_t> src) const { stack_type::reorder_cache(cache, src); }
  /// logits = hidden · W_headᵀ: [rows, vocab].
  void logits(const_matrix_view hidden, matrix_view out) const {
    check_shape(where_, "logits", out, hidden.rows(), vocab_size());
    head_.forward(hidden, out);
  }
  void logits(const matrix_view& hidden, matrix_view out) const { logits(as_const(hidden), out); }

 private:
  void embed_prompts(std::span<const token_id> ids, offsets_view offsets, matrix_view hidden) {
    ops::check_tokens(where_, ids, offsets, vocab_size(), max_positions_);
    check_shape(where_, "hidden", hidden, index_t(ids.size()), d_model());
    lookup(ids, hidden);
    if (positions_)
      for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
        for (index_t r = offsets[s]; r < offsets[s + 1]; ++r) hidden.row(r) += positions_->table.row(r - offsets[s]);
  }

  void lookup(std::span<const token_id> ids, matrix_view out) const noexcept {
    if (tokens_) {
      tokens_->lookup(ids, out);
    } else {
      for (std::size_t i = 0; i < ids.size(); ++i) head_.column(ids[i], out.row(index_t(i)).data());
    }
  }

  const char* where_;
  std::optional<ops::embedding> tokens_;
  std::optional<ops::embedding> positions_;
  stack_type stack_;
  ops::linear head_;
  index_t max_positions_;
};

}  // namespace eigenformer::models
