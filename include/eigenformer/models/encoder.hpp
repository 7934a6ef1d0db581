#pragma once
/// @file
/// Encoder stack (BERT-style): layers of one block type, then an optional final norm (pre-norm
/// stacks such as nn.TransformerEncoder(norm=...) end with one).
///     x: [tokens, d_model] (packed, offsets) -> out: [tokens, d_model]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace eigenformer::models {

template <class Block, class Norm>
class encoder {
 public:
  /// Throws config_error for an empty stack.
  explicit encoder(std::vector<Block> layers, std::optional<Norm> final_norm = std::nullopt)
      : layers_(std::move(layers)), final_norm_(std::move(final_norm)) {
    if (layers_.empty()) throw_error<config_error>("models.encoder", "layers", "at least one", "none");
    bind_workspace();
  }
  encoder(const encoder& o) : layers_(o.layers_), final_norm_(o.final_norm_) { bind_workspace(); }
  encoder(encoder&&) noexcept = default;
  encoder& operator=(const encoder& o) {
    if (this != &o) *this = encoder(o);
    return *this;
  }
  encoder& operator=(encoder&&) noexcept = default;

  /// Bytes of activation scratch the layers share (grown to the largest shape seen so far; the
  /// stack's own running buffer not included).
  std::size_t workspace_bytes() const noexcept { return ws_.bytes(); }
  index_t d_model() const noexcept { return layers_.front().d_model(); }
  std::size_t size() const noexcept { return layers_.size(); }
  Block& layer(std::size_t i) noexcept { return layers_[i]; }

  /// x: [tokens, d_model] packed by @p offsets -> out: [tokens, d_model]; out may equal x.
  /// key_valid: empty or one flag per token (0 = padding key); ffn_width: MatFormer width of
  /// every layer's FFN (0 = all). Validates once, here (shapes, offsets, mask, then each layer's
  /// limits), then runs every layer's unchecked path. Throws shape_error / config_error.
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out,
               std::span<const std::uint8_t> key_valid = {}, index_t ffn_width = 0) {
    layers_.front().check(x, offsets, out, key_valid, ffn_width);
    const index_t longest = longest_sequence(offsets);
    for (std::size_t i = 1; i < layers_.size(); ++i) layers_[i].check_limits(longest, ffn_width);
    matrix_view buf = buf_.get(x.rows(), x.cols());
    buf = x;
    for (auto& layer : layers_) layer.run(as_const(buf), offsets, buf, key_valid, ffn_width);
    if (final_norm_)
      final_norm_->forward(as_const(buf), out);
    else
      out = buf;
  }
  /// Same, for a mutable input view.
  void forward(const matrix_view& x, offsets_view offsets, matrix_view out,
               std::span<const std::uint8_t> key_valid = {}, index_t ffn_width = 0) {
    forward(as_const(x), offsets, out, key_valid, ffn_width);
  }

 private:
  void bind_workspace() noexcept {
    for (auto& l : layers_) l.use_workspace(ws_);
  }

  std::vector<Block> layers_;
  std::optional<Norm> final_norm_;
  workspace ws_;
  scratch_matrix buf_;
};

}  // namespace eigenformer::models
