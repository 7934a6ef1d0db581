#pragma once
/// @file
/// Encoder-decoder stack (the layout of PyTorch's nn.Transformer): an encoder stack with a final
/// norm turns the source into memory; decoder blocks with cross-attention read it; a final
/// decoder norm. `forward` runs whole target sequences; `begin` encodes once and `step` decodes
/// one target token per sequence against cached self-attention and cross-attention states.
///     src: [src_tokens, d_model], tgt: [tgt_tokens, d_model] -> out: [tgt_tokens, d_model]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/models/encoder.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::models {

template <class EncoderBlock, class DecoderBlock, class Norm>
class encoder_decoder {
 public:
  /// Decode state of a batch: per decoder layer, its self-attention cache and its memory cache.
  struct state {
    std::vector<typename DecoderBlock::cache_type> self;
    std::vector<typename DecoderBlock::cross_cache_type> cross;
  };

  /// Throws config_error for an empty decoder, shape_error when the two stacks differ in d_model.
  encoder_decoder(encoder<EncoderBlock, Norm> enc, std::vector<DecoderBlock> decoder_layers,
                  std::optional<Norm> decoder_norm = std::nullopt)
      : encoder_(std::move(enc)), layers_(std::move(decoder_layers)), norm_(std::move(decoder_norm)) {
    if (layers_.empty()) throw_error<config_error>("models.encoder_decoder", "decoder layers", "at least one", "none");
    if (layers_.front().d_model() != encoder_.d_model())
      throw_error<shape_error>("models.encoder_decoder", "decoder d_model", std::to_string(encoder_.d_model()),
                               std::to_string(layers_.front().d_model()));
    bind_workspace();
  }
  encoder_decoder(const encoder_decoder& o) : encoder_(o.encoder_), layers_(o.layers_), norm_(o.norm_) { bind_workspace(); }
  encoder_decoder(encoder_decoder&&) noexcept = default;
  encoder_decoder& operator=(const encoder_decoder& o) {
    if (this != &o) *this = encoder_decoder(o);
    return *this;
  }
  encoder_decoder& operator=(encoder_decoder&&) noexcept = default;
  index_t d_model() const noexcept { return encoder_.d_model(); }

  /// Whole target sequences (causal self-attention comes from the decoder blocks' variant).
  /// src: [src_tokens, d_model], tgt: [tgt_tokens, d_model] -> out: [tgt_tokens, d_model];
  /// ffn_width: MatFormer width of every FFN, encoder's and decoder's (0 = all). Validates once,
  /// here, then runs every layer's unchecked path.
  void forward(const_matrix_view src, offsets_view src_offsets, const_matrix_view tgt, offsets_view tgt_offsets,
               matrix_view out, index_t ffn_width = 0) {
    check_target(tgt, out);
    validate_offsets(tgt_offsets, tgt.rows(), "models.encoder_decoder");
    const index_t longest = longest_sequence(tgt_offsets);
    for (const auto& l : layers_) l.check_limits(longest, ffn_width);
    encode(src, src_offsets, ffn_width);
    layers_.front().check_memory(tgt, tgt_offsets, as_const(memory_view()), src_offsets, out);
    matrix_view buf = buf_.get(tgt.rows(), tgt.cols());
    buf = tgt;
    for (auto& l : layers_) l.run(as_const(buf), tgt_offsets, as_const(memory_view()), src_offsets, buf, ffn_width);
    finish(buf, out);
  }

  /// Encodes the sources and prepares decoding of one target per source, each of up to
  /// @p max_positions tokens.
  state begin(const_matrix_view src, offsets_view src_offsets, index_t max_positions, index_t ffn_width = 0) {
    encode(src, src_offsets, ffn_width);
    state st;
    const index_t batch = sequence_count(src_offsets);
    for (auto& l : layers_) {
      st.self.push_back(l.make_cache(batch, max_positions));
      st.cross.push_back(l.make_cross_cache(as_const(memory_view()), src_offsets));
    }
    return st;
  }
  /// One target token per sequence: x, out: [batch, d_model].
  void step(const_matrix_view x, matrix_view out, state& st, index_t ffn_width = 0) {
    check_target(x, out);
    if (st.self.size() != layers_.size())
      throw_error<shape_error>("models.encoder_decoder", "state", "one from begin()", "a state of another model");
    for (const auto& l : layers_) l.check_limits(0, ffn_width);
    layers_.front().check_step(x, out, st.self.front());
    matrix_view buf = buf_.get(x.rows(), x.cols());
    buf = x;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      layers_[i].run_decode(as_const(buf), buf, st.self[i], st.cross[i], ffn_width);
    finish(buf, out);
  }
  void step(const matrix_view& x, matrix_view out, state& st, index_t ffn_width = 0) {
    step(as_const(x), out, st, ffn_width);
  }

 private:
  void encode(const_matrix_view src, offsets_view src_offsets, index_t ffn_width) {
    memory_rows_ = src.rows();
    matrix_view mem = memory_.get(src.rows(), src.cols());
    encoder_.forward(src, src_offsets, mem, {}, ffn_width);
  }
  matrix_view memory_view() noexcept { return memory_.view(memory_rows_, d_model()); }
  void check_target(const_matrix_view x, const matrix_view& out) const {
    check_shape("models.encoder_decoder", "target", x, any_rows, d_model());
    check_shape("models.encoder_decoder", "output", out, x.rows(), d_model());
  }
  void finish(const matrix_view& buf, matrix_view out) {
    if (norm_)
      norm_->forward(as_const(buf), out);
    else
      out = buf;
  }

  void bind_workspace() noexcept {
    for (auto& l : layers_) l.use_workspace(ws_);
  }

  encoder<EncoderBlock, Norm> encoder_;
  std::vector<DecoderBlock> layers_;
  std::optional<Norm> norm_;
  workspace ws_;  // the decoder layers' (the encoder has its own)
  scratch_matrix memory_, buf_;
  index_t memory_rows_ = 0;
};

}  // namespace eigenformer::models
