#pragma once
/// @file
/// Decoder-only stack (GPT-style): decoder blocks, an optional final norm, and an incremental API:
/// `prefill` runs the prompts of a batch and fills every layer's cache, `step` appends one token
/// per sequence (sequences may be at different positions).
///     x: [tokens, d_model] -> out: [tokens, d_model]

#include <eigenformer/attention/kv_cache.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::models {

template <class Block, class Norm>
class decoder {
 public:
  using cache_type = std::vector<typename Block::cache_type>;  ///< one per layer

  /// Throws config_error for an empty stack.
  explicit decoder(std::vector<Block> layers, std::optional<Norm> final_norm = std::nullopt)
      : layers_(std::move(layers)), final_norm_(std::move(final_norm)) {
    if (layers_.empty()) throw_error<config_error>("models.decoder", "layers", "at least one", "none");
    bind_workspace();
  }
  decoder(const decoder& o) : layers_(o.layers_), final_norm_(o.final_norm_) { bind_workspace(); }
  decoder(decoder&&) noexcept = default;
  decoder& operator=(const decoder& o) {
    if (this != &o) *this = decoder(o);
    return *this;
  }
  decoder& operator=(decoder&&) noexcept = default;

  /// Bytes of activation scratch the layers share (caches not included).
  std::size_t workspace_bytes() const noexcept { return ws_.bytes(); }
  index_t d_model() const noexcept { return layers_.front().d_model(); }
  std::size_t size() const noexcept { return layers_.size(); }

  /// Caches for @p batch sequences of up to @p max_positions tokens (0: the attention default).
  cache_type make_cache(index_t batch, index_t max_positions = 0) const {
    cache_type c;
    c.reserve(layers_.size());
    for (const auto& l : layers_) c.push_back(l.make_cache(batch, max_positions));
    return c;
  }

  /// Sequences a cache from make_cache holds (0 for an empty cache).
  static index_t cache_batch(const cache_type& cache) noexcept {
    return cache.empty() ? 0 : attention::visit_cache(cache.front(), [](const auto& c) { return c.batch; });
  }
  /// Position of the next token of sequence @p b (its length so far).
  static index_t cache_position(const cache_type& cache, index_t b) noexcept {
    return attention::visit_cache(cache.front(), [b](const auto& c) { return c.lengths[std::size_t(b)]; });
  }
  /// Sequence b of every layer's cache takes sequence src[b]'s state (beam search), for any
  /// block type, heterogeneous stacks included. Throws shape_error for bad sources.
  static void reorder_cache(cache_type& cache, std::span<const index_t> src) {
    for (auto& layer : cache) attention::visit_cache(layer, [src](auto& c) { c.reorder(src); });
  }

  // Each entry point validates once, here (shapes, offsets, the caches, then each layer's
  // limits), then runs every layer's unchecked path. x: [tokens, d_model] -> out: [tokens,
  // d_model], out may equal x; ffn_width: MatFormer width of every layer's FFN (0 = all).

  /// Whole sequences, no cache.
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out, index_t ffn_width = 0) {
    check(x, out);
    validate_offsets(offsets, x.rows(), "models.decoder");
    const index_t longest = longest_sequence(offsets);
    for (const auto& l : layers_) l.check_limits(longest, ffn_width);
    run(x, out, [&](Block& l, const_matrix_view in, matrix_view o, std::size_t) { l.run(in, offsets, o, ffn_width); });
  }
  /// Prompts of a packed batch; fills @p cache (from make_cache with this batch size).
  void prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache, index_t ffn_width = 0) {
    check(x, out);
    validate_offsets(offsets, x.rows(), "models.decoder");
    check_cache(cache);
    const index_t longest = longest_sequence(offsets);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i].check_limits(longest, ffn_width);
      layers_[i].check_cache(cache[i], offsets);
    }
    run(x, out, [&](Block& l, const_matrix_view in, matrix_view o, std::size_t i) {
      l.run_prefill(in, offsets, o, cache[i], ffn_width);
    });
  }
  /// One token per sequence: x, out: [batch, d_model].
  void step(const_matrix_view x, matrix_view out, cache_type& cache, index_t ffn_width = 0) {
    check(x, out);
    check_cache(cache);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i].check_limits(0, ffn_width);
      layers_[i].check_step(x, out, cache[i]);
    }
    run(x, out, [&](Block& l, const_matrix_view in, matrix_view o, std::size_t i) { l.run_decode(in, o, cache[i], ffn_width); });
  }

  // The same entry points for mutable input views (`view(x)` of a non-const matrix).
  void forward(const matrix_view& x, offsets_view offsets, matrix_view out, index_t ffn_width = 0) {
    forward(as_const(x), offsets, out, ffn_width);
  }
  void prefill(const matrix_view& x, offsets_view offsets, matrix_view out, cache_type& cache, index_t ffn_width = 0) {
    prefill(as_const(x), offsets, out, cache, ffn_width);
  }
  void step(const matrix_view& x, matrix_view out, cache_type& cache, index_t ffn_width = 0) {
    step(as_const(x), out, cache, ffn_width);
  }

 private:
  void check(const_matrix_view x, const matrix_view& out) const { check_io("models.decoder", x, out, d_model(), d_model()); }
  void check_cache(const cache_type& cache) const {
    if (cache.size() != layers_.size())
      throw_error<shape_error>("models.decoder", "cache", std::to_string(layers_.size()) + " layer caches (make_cache)",
                               std::to_string(cache.size()));
    if constexpr (requires { layers_.front().matches(cache.front()); }) {
      for (std::size_t i = 0; i < layers_.size(); ++i)
        if (!layers_[i].matches(cache[i]))
          throw_error<shape_error>("models.decoder", "cache of layer " + std::to_string(i),
                                   "the cache type of that layer's block", "another block's cache");
    }
  }
  template <class Fn>
  void run(const_matrix_view x, matrix_view out, Fn&& fn) {
    matrix_view buf = buf_.get(x.rows(), x.cols());
    buf = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) fn(layers_[i], as_const(buf), buf, i);
    if (final_norm_)
      final_norm_->forward(as_const(buf), out);
    else
      out = buf;
  }

  void bind_workspace() noexcept {
    for (auto& l : layers_) l.use_workspace(ws_);
  }

  std::vector<Block> layers_;
  std::optional<Norm> final_norm_;
  workspace ws_;
  scratch_matrix buf_;
};

}  // namespace eigenformer::models
