#pragma once
/// @file
/// Encoder block: self-attention and a feed-forward network, each with a residual connection
/// and a norm, placed before (pre-norm, GPT-2 / `norm_first=True`) or after (post-norm, BERT,
/// the original Transformer) the sub-layer.
///     x: [tokens, d_model] (packed, offsets) -> out: [tokens, d_model]

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/blocks/residual.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace eigenformer::blocks {

/// Encoder block. @p Attention is an attention variant (attention::softmax_attention, ...),
/// @p Ffn a feed-forward type (ffn::dense_ffn<...>, ffn::swiglu, ...), @p Norm ops::layer_norm or
/// ops::rms_norm, @p Placement pre_norm or post_norm.
template <class Attention, class Ffn, class Norm, class Placement>
class encoder_block {
 public:
  using attention_type = attention::multi_head_attention<Attention>;

  /// Throws shape_error when the parts disagree on d_model.
  encoder_block(attention_type attn, Ffn ffn, Norm norm1, Norm norm2)
    requires(!std::is_same_v<Placement, sub_ln>)
      : attn_(std::move(attn)), ffn_(std::move(ffn)), norm1_(std::move(norm1)), norm2_(std::move(norm2)) {
    detail::check_parts("blocks.encoder", d_model(), ffn_.d_model(), norm1_.dim(), norm2_.dim());
  }
  /// Sub-LN: also the inner norms, attn_inner [num_heads·head_dim] and ffn_inner [hidden].
  /// Throws shape_error for wrong widths.
  encoder_block(attention_type attn, Ffn ffn, Norm norm1, Norm norm2, Norm attn_inner, Norm ffn_inner)
    requires(std::is_same_v<Placement, sub_ln>)
      : attn_(std::move(attn)), ffn_(std::move(ffn)), norm1_(std::move(norm1)), norm2_(std::move(norm2)) {
    detail::check_parts("blocks.encoder", d_model(), ffn_.d_model(), norm1_.dim(), norm2_.dim());
    detail::install_sub_norms("blocks.encoder", attn_, ffn_, std::move(attn_inner), std::move(ffn_inner));
  }

  /// Use the stack's shared scratch (stacks call this for every layer).
  void use_workspace(workspace& ws) noexcept {
    scratch_.use(ws);
    attn_.use_workspace(ws);
    detail::share_workspace(ffn_, ws);
  }

  index_t d_model() const noexcept { return attn_.config().d_model; }
  attention_type& attention() noexcept { return attn_; }
  Ffn& ffn() noexcept { return ffn_; }

  /// Validates a forward() call: shapes, offsets, key mask, then check_limits. Throws
  /// shape_error / config_error naming what is wrong.
  void check(const_matrix_view x, offsets_view offsets, const matrix_view& out,
             std::span<const std::uint8_t> key_valid = {}, index_t ffn_width = 0) const {
    detail::check_block_io("blocks.encoder", x, offsets, out, d_model(), key_valid);
    check_limits(longest_sequence(offsets), ffn_width);
  }
  /// What differs from layer to layer: the attention's sequence limits and the FFN width.
  void check_limits(index_t longest, index_t ffn_width) const {
    attn_.check_limits(longest);
    ffn_.check_width(ffn_width);
  }

  /// x: [tokens, d_model] packed by @p offsets -> out: [tokens, d_model]; out may equal x (the
  /// block works through its own scratch). key_valid: empty or one flag per token (0 = padding
  /// key). ffn_width: MatFormer width (0 = all hidden units).
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out,
               std::span<const std::uint8_t> key_valid = {}, index_t ffn_width = 0) {
    check(x, offsets, out, key_valid, ffn_width);
    run(x, offsets, out, key_valid, ffn_width);
  }
  /// forward() without its check: for stacks, which check once at their entry.
  void run(const_matrix_view x, offsets_view offsets, matrix_view out, std::span<const std::uint8_t> key_valid = {},
           index_t ffn_width = 0) {
    detail::residual_block<Placement>(x, out, norm1_, norm2_, ffn_, ffn_width, scratch_,
                                      [&](const_matrix_view in, matrix_view o) { attn_.run(in, offsets, o, key_valid); });
  }

 private:
  attention_type attn_;
  Ffn ffn_;
  Norm norm1_, norm2_;
  detail::block_scratch scratch_;
};

}  // namespace eigenformer::blocks
