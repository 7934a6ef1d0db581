#pragma once
/// @file
/// Decoder block: causal self-attention with a decode cache, optional cross-attention over an
/// encoder's output (its keys and values computed once per sequence), and a feed-forward network,
/// each with a residual and a norm, pre- or post-norm. The same block runs a whole packed batch
/// (forward; prefill, which also fills the cache) or one token per sequence (decode).
///     x: [tokens, d_model] -> out: [tokens, d_model]; memory: [memory_tokens, d_model]

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/blocks/residual.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>

#include <string>
#include <type_traits>
#include <utility>

namespace eigenformer::blocks {

/// The CrossAttention argument of a decoder block without cross-attention (GPT, LLaMA).
struct no_cross_attention {
  using cache_type = no_cross_attention;
};

template <class SelfAttention, class CrossAttention, class Ffn, class Norm, class Placement>
class decoder_block {
 public:
  static constexpr bool has_cross = !std::is_same_v<CrossAttention, no_cross_attention>;
  static_assert(!(has_cross && std::is_same_v<Placement, sub_ln>),
                "decoder_block: Sub-LN with cross-attention is not implemented (it needs an inner norm in the "
                "cross-attention too); use pre_norm or post_norm");
  using attention_type = attention::multi_head_attention<SelfAttention>;
  using cache_type = typename attention_type::cache_type;
  using cross_type = std::conditional_t<has_cross, attention::multi_head_attention<CrossAttention>, no_cross_attention>;

  /// Without cross-attention. Throws shape_error when the parts disagree on d_model.
  decoder_block(attention_type attn, Ffn ffn, Norm norm1, Norm norm2)
    requires(!has_cross && !std::is_same_v<Placement, sub_ln>)
      : attn_(std::move(attn)), ffn_(std::move(ffn)), norm1_(std::move(norm1)), norm2_(std::move(norm2)) {
    detail::check_parts("blocks.decoder", d_model(), ffn_.d_model(), norm1_.dim(), norm2_.dim());
  }
  /// Sub-LN without cross-attention: also the inner norms, attn_inner [num_heads·head_dim] and
  /// ffn_inner [hidden].
  decoder_block(attention_type attn, Ffn ffn, Norm norm1, Norm norm2, Norm attn_inner, Norm ffn_inner)
    requires(!has_cross && std::is_same_v<Placement, sub_ln>)
      : attn_(std::move(attn)), ffn_(std::move(ffn)), norm1_(std::move(norm1)), norm2_(std::move(norm2)) {
    detail::check_parts("blocks.decoder", d_model(), ffn_.d_model(), norm1_.dim(), norm2_.dim());
    detail::install_sub_norms("blocks.decoder", attn_, ffn_, std::move(attn_inner), std::move(ffn_inner));
  }
  /// With cross-attention (norm2 belongs to the cross-attention sub-layer, norm3 to the FFN).
  decoder_block(attention_type attn, cross_type cross, Ffn ffn, Norm norm1, Norm norm2, Norm norm3)
    requires(has_cross)
      : attn_(std::move(attn)), cross_(std::move(cross)), ffn_(std::move(ffn)), norm1_(std::move(norm1)),
        norm2_(std::move(norm2)), norm3_(std::move(norm3)) {
    detail::check_parts("blocks.decoder", d_model(), ffn_.d_model(), norm1_.dim(), norm2_.dim());
    detail::check_parts("blocks.decoder", d_model(), cross_.config().d_model, norm3_.dim(), norm3_.dim());
  }

  index_t d_model() const noexcept { return attn_.config().d_model; }
  attention_type& attention() noexcept { return attn_; }

  /// Use the stack's shared scratch (stacks call this for every layer). Self- and
  /// cross-attention run one after the other, so they share the attention slots too.
  void use_workspace(workspace& ws) noexcept {
    scratch_.use(ws);
    attn_.use_workspace(ws);
    if constexpr (has_cross) cross_.use_workspace(ws);
    detail::share_workspace(ffn_, ws);
  }
  cache_type make_cache(index_t batch, index_t max_positions = 0) const { return attn_.make_cache(batch, max_positions); }

  // ----- checks (the checked entry points below run them; stacks run them once at their entry)

  /// Validates a whole-sequence call (forward, prefill): shapes, offsets, then check_limits.
  void check(const_matrix_view x, offsets_view offsets, const matrix_view& out, index_t ffn_width = 0) const {
    detail::check_block_io("blocks.decoder", x, offsets, out, d_model());
    check_limits(longest_sequence(offsets), ffn_width);
  }
  /// What differs from layer to layer: the self-attention's sequence limits and the FFN width.
  void check_limits(index_t longest, index_t ffn_width) const {
    attn_.check_limits(longest);
    ffn_.check_width(ffn_width);
  }
  /// Validates @p cache for a prefill of @p offsets (batch, capacity).
  void check_cache(const cache_type& cache, offsets_view offsets) const { attn_.check_cache(cache, offsets); }
  /// Validates a decode step: x, out [cache.batch, d_model], room in every sequence.
  void check_step(const_matrix_view x, const matrix_view& out, const cache_type& cache) const {
    attn_.check_step(x, out, cache);
  }

  // ----- without cross-attention. x: [tokens, d_model] packed by offsets -> out: [tokens,
  // d_model], out may equal x; ffn_width: MatFormer width (0 = all hidden units).

  /// Whole sequences without a cache.
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out, index_t ffn_width = 0)
    requires(!has_cross)
  {
    check(x, offsets, out, ffn_width);
    run(x, offsets, out, ffn_width);
  }
  /// Whole prompts, filling @p cache (sequence i of the batch is cache sequence i).
  void prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache, index_t ffn_width = 0)
    requires(!has_cross)
  {
    check(x, offsets, out, ffn_width);
    check_cache(cache, offsets);
    run_prefill(x, offsets, out, cache, ffn_width);
  }
  /// One token per cache sequence: x, out: [cache.batch, d_model].
  void decode(const_matrix_view x, matrix_view out, cache_type& cache, index_t ffn_width = 0)
    requires(!has_cross)
  {
    check_step(x, out, cache);
    ffn_.check_width(ffn_width);
    run_decode(x, out, cache, ffn_width);
  }
  /// forward(), prefill() and decode() without their checks: for stacks, which check once.
  void run(const_matrix_view x, offsets_view offsets, matrix_view out, index_t ffn_width = 0)
    requires(!has_cross)
  {
    detail::residual_block<Placement>(x, out, norm1_, norm2_, ffn_, ffn_width, scratch_,
                                      [&](const_matrix_view a, matrix_view h) { attn_.run(a, offsets, h); });
  }
  void run_prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache, index_t ffn_width = 0)
    requires(!has_cross)
  {
    detail::residual_block<Placement>(x, out, norm1_, norm2_, ffn_, ffn_width, scratch_,
                                      [&](const_matrix_view a, matrix_view h) { attn_.run_prefill(a, offsets, h, cache); });
  }
  void run_decode(const_matrix_view x, matrix_view out, cache_type& cache, index_t ffn_width = 0)
    requires(!has_cross)
  {
    detail::residual_block<Placement>(x, out, norm1_, norm2_, ffn_, ffn_width, scratch_,
                                      [&](const_matrix_view a, matrix_view h) { attn_.run_decode(a, h, cache); });
  }

  // ----- with cross-attention
  using cross_cache_type = typename cross_type::cache_type;

  /// Validates the memory side of a call with cross-attention.
  void check_memory(const_matrix_view x, offsets_view offsets, const_matrix_view memory, offsets_view m_offsets,
                    const matrix_view& out) const
    requires(has_cross)
  {
    cross_.check_cross(x, offsets, memory, m_offsets, out);
  }
  /// Whole target sequences against their memory (packed by m_offsets, one per target sequence).
  void forward(const_matrix_view x, offsets_view offsets, const_matrix_view memory, offsets_view m_offsets,
               matrix_view out, index_t ffn_width = 0)
    requires(has_cross)
  {
    check(x, offsets, out, ffn_width);
    check_memory(x, offsets, memory, m_offsets, out);
    run(x, offsets, memory, m_offsets, out, ffn_width);
  }
  /// forward() without its checks.
  void run(const_matrix_view x, offsets_view offsets, const_matrix_view memory, offsets_view m_offsets,
           matrix_view out, index_t ffn_width = 0)
    requires(has_cross)
  {
    detail::residual_block3<Placement>(
        x, out, norm1_, norm2_, norm3_, ffn_, ffn_width, scratch_,
        [&](const_matrix_view a, matrix_view h) { attn_.run(a, offsets, h); },
        [&](const_matrix_view a, matrix_view h) { cross_.run_cross(a, offsets, memory, m_offsets, h); });
  }
  /// The memory's keys and values for decoding, computed once.
  cross_cache_type make_cross_cache(const_matrix_view memory, offsets_view m_offsets)
    requires(has_cross)
  {
    return cross_.make_cross_cache(memory, m_offsets);
  }
  /// Prompts of the target side, filling the self-attention cache.
  void prefill(const_matrix_view x, offsets_view offsets, const_matrix_view memory, offsets_view m_offsets,
               matrix_view out, cache_type& cache, index_t ffn_width = 0)
    requires(has_cross)
  {
    check(x, offsets, out, ffn_width);
    check_memory(x, offsets, memory, m_offsets, out);
    check_cache(cache, offsets);
    detail::residual_block3<Placement>(
        x, out, norm1_, norm2_, norm3_, ffn_, ffn_width, scratch_,
        [&](const_matrix_view a, matrix_view h) { attn_.run_prefill(a, offsets, h, cache); },
        [&](const_matrix_view a, matrix_view h) { cross_.run_cross(a, offsets, memory, m_offsets, h); });
  }
  /// One target token per sequence against the cached memory.
  void decode(const_matrix_view x, matrix_view out, cache_type& cache, const cross_cache_type& cross_cache,
              index_t ffn_width = 0)
    requires(has_cross)
  {
    check_step(x, out, cache);
    cross_.check_cross_step(x, out, cross_cache);
    ffn_.check_width(ffn_width);
    run_decode(x, out, cache, cross_cache, ffn_width);
  }
  /// decode() without its checks.
  void run_decode(const_matrix_view x, matrix_view out, cache_type& cache, const cross_cache_type& cross_cache,
                  index_t ffn_width = 0)
    requires(has_cross)
  {
    detail::residual_block3<Placement>(
        x, out, norm1_, norm2_, norm3_, ffn_, ffn_width, scratch_,
        [&](const_matrix_view a, matrix_view h) { attn_.run_decode(a, h, cache); },
        [&](const_matrix_view a, matrix_view h) { cross_.run_decode_cross(a, h, cross_cache); });
  }

 private:
  attention_type attn_;
  [[no_unique_address]] cross_type cross_;
  Ffn ffn_;
  Norm norm1_, norm2_;
  [[no_unique_address]] std::conditional_t<has_cross, Norm, no_cross_attention> norm3_;
  detail::block_scratch scratch_;
};

}  // namespace eigenformer::blocks
