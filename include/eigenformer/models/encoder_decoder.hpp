#pragma once
/// @file
/// Encoder-decoder stack (the layout of PyTorch's nn.Transformer): an encoder stack with a final
/// norm turns the source into memory; decoder blocks with cross-attention read it; a final
/// decoder norm. `forward` runs whole target sequences; `begin` encodes once and `step` decodes
/// one target token per sequence against cached self-attention and cross-attention states.
///     src: [src_tokens, d_model], tgt: [tgt_tokens, d_model] -> out: [tgt_tokens, d_model]

#include <eigenformer/core/error.hpp>
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
  void forward(const_matrix_view src, offsets_view src_offsets, const_matrix_view tgt, offsets_view tgt_offsets,
               matrix_view out) {
    check_target(tgt, out);
    validate_offsets(tgt_offsets, tgt.rows(), "models.encoder_decoder");
    encode(src, src_offsets);
    matrix_view buf = buf_.get(tgt.rows(), tgt.cols());
    buf = tgt;
    for (auto& l : layers_) l.forward(as_const(buf), tgt_offsets, as_const(memory_view()), src_offsets, buf);
    finish(buf, out);
  }

  /// Encodes the sources and prepares decoding of one target per source, each of up to
  /// @p max_positions tokens.
  state begin(const_matrix_view src, offsets_view src_offsets, index_t max_positions) {
    encode(src, src_offsets);
    state st;
    const index_t batch = sequence_count(src_offsets);
    for (auto& l : layers_) {
      st.self.push_back(l.make_cache(batch, max_positions));
      st.cross.push_back(l.make_cross_cache(as_const(memory_view()), src_offsets));
    }
    return st;
  }
  /// One target token per sequence: x, out: [batch, d_model].
  void step(const_matrix_view x, matrix_view out, state& st) {
    check_target(x, out);
    if (st.self.size() != layers_.size())
      throw_error<shape_error>("models.encoder_decoder", "state", "one from begin()", "a state of another model");
    matrix_view buf = buf_.get(x.rows(), x.cols());
    buf = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i].decode(as_const(buf), buf, st.self[i], st.cross[i]);
    finish(buf, out);
  }
  void step(const matrix_view& x, matrix_view out, state& st) { step(as_const(x), out, st); }

 private:
  void encode(const_matrix_view src, offsets_view src_offsets) {
    memory_rows_ = src.rows();
    matrix_view mem = memory_.get(src.rows(), src.cols());
    encoder_.forward(src, src_offsets, mem);
  }
  matrix_view memory_view() noexcept { return memory_.view(memory_rows_, d_model()); }
  void check_target(const_matrix_view x, const matrix_view& out) const {
    const index_t d = d_model();
    if (x.cols() != d)
      throw_error<shape_error>("models.encoder_decoder", "target", format_shape({x.rows(), d}), format_shape({x.rows(), x.cols()}));
    if (out.rows() != x.rows() || out.cols() != d)
      throw_error<shape_error>("models.encoder_decoder", "output", format_shape({x.rows(), d}),
                               format_shape({out.rows(), out.cols()}));
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
