#pragma once
/// @file
/// Decoder block without cross-attention (GPT / LLaMA style): causal self-attention with a decode
/// cache and a feed-forward network, residuals, pre- or post-norm. The same block runs a whole
/// packed batch (prefill, which also fills the cache) or one token per sequence (decode).
///     x: [tokens, d_model] -> out: [tokens, d_model]

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/blocks/residual.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <string>
#include <utility>

namespace eigenformer::blocks {

template <class Attention, class Ffn, class Norm, class Placement>
class decoder_block {
 public:
  using attention_type = attention::multi_head_attention<Attention>;
  using cache_type = typename attention_type::cache_type;

  /// Throws shape_error when the parts disagree on d_model.
  decoder_block(attention_type attn, Ffn ffn, Norm norm1, Norm norm2)
      : attn_(std::move(attn)), ffn_(std::move(ffn)), norm1_(std::move(norm1)), norm2_(std::move(norm2)) {
    detail::check_parts("blocks.decoder", d_model(), ffn_.d_model(), norm1_.dim(), norm2_.dim());
  }

  index_t d_model() const noexcept { return attn_.config().d_model; }
  attention_type& attention() noexcept { return attn_; }
  cache_type make_cache(index_t batch, index_t max_positions = 0) const { return attn_.make_cache(batch, max_positions); }

  /// Whole sequences without a cache (training-style forward).
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out) {
    run(x, out, [&](const_matrix_view a, matrix_view h) { attn_.forward(a, offsets, h); });
  }
  /// Whole prompts, filling @p cache (sequence i of the batch is cache sequence i).
  void prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache) {
    run(x, out, [&](const_matrix_view a, matrix_view h) { attn_.prefill(a, offsets, h, cache); });
  }
  /// One token per cache sequence: x, out: [cache.batch, d_model].
  void decode(const_matrix_view x, matrix_view out, cache_type& cache) {
    run(x, out, [&](const_matrix_view a, matrix_view h) { attn_.decode(a, h, cache); });
  }

 private:
  template <class Attend>
  void run(const_matrix_view x, matrix_view out, Attend&& attend) {
    detail::residual_block<Placement>(x, out, norm1_, norm2_, ffn_, 0, scratch_, attend);
  }

  attention_type attn_;
  Ffn ffn_;
  Norm norm1_, norm2_;
  detail::block_scratch scratch_;
};

}  // namespace eigenformer::blocks
