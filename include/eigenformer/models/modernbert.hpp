#pragma once
/// @file
/// ModernBERT (HF `ModernBertModel`, `ModernBertForMaskedLM`, `ModernBertForSequenceClassification`,
/// `ModernBertForTokenClassification`; Warner et al., 2024): token embeddings and a LayerNorm,
/// pre-norm layers whose attention is global every `global_attn_every_n_layers` layers and a
/// sliding window of `local_attention` tokens (|i − j| ≤ local_attention / 2) elsewhere, RoPE with
/// `global_rope_theta` or `local_rope_theta` by the layer's kind, a GeGLU MLP, biases only where
/// the config asks, a final norm; then the MLM head (dense, activation, norm, decoder tied to the
/// embeddings) or a classifier (CLS or mean pooling, the same head, a label classifier).
/// Batches are packed (unpadded) end to end: no padding row is ever computed.
///     ids [tokens] -> hidden [tokens, d]; logits [tokens, vocab] (MLM), [sequences, labels]
///     (sequence classification) or [tokens, labels] (token classification)
///
/// The layer kinds are types, chosen per layer when the stack is built (blocks::layer_choice):
/// the kernel of a local layer visits only the tiles its window touches, with no branch on the
/// layer's kind inside any loop. `modernbert<Global, Local>` swaps either attention.

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/blocks/layer_choice.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/models/heads.hpp>
#include <eigenformer/models/hf_common.hpp>

#include <algorithm>
#include <concepts>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace eigenformer::models {

/// The block ModernBERT stacks: pre-norm LayerNorm (the identity for layer 0's attention),
/// RoPE attention (@p Attention), GeGLU MLP (erf GELU).
template <class Attention>
using modernbert_block = blocks::encoder_block<Attention, ffn::gated_ffn<ops::gelu_erf>,
                                               ops::optional_norm<ops::layer_norm>, blocks::pre_norm>;

template <class Global = attention::softmax_attention, class Local = attention::sliding_window_attention>
  requires std::constructible_from<Local, attention::sliding_window_layout>
class modernbert {
 public:
  using config_type = io::modernbert_config;
  using layer_type = blocks::layer_choice<modernbert_block<Global>, modernbert_block<Local>>;
  using stack_type = encoder<layer_type, ops::layer_norm>;

  /// Binds every tensor of @p c's layout from @p w (the "model." scope), and the heads at the
  /// top level ("head.", "decoder.", "classifier.") that config.json's architecture has.
  modernbert(const io::modernbert_config& c, io::weight_binder& w, Global global = {})
      : cfg_(c), encoder_(load_stack(c, w, global)) {
    const index_t d = c.hidden_size;
    io::weight_binder emb = w.sub("embeddings");
    tok_ = hf::embedding(emb.sub("tok_embeddings"), c.vocab_size, d);
    emb_norm_ = hf::layer_norm(emb.sub("norm"), d, c.norm_eps, c.norm_bias);
    const io::weight_binder top = w.scoped("");
    if (c.head.head != io::encoder_head::none) {
      io::weight_binder h = top.sub("head");
      head_ = dense_transform{hf::linear(h.sub("dense"), d, d, c.classifier_bias), activation(c),
                              hf::layer_norm(h.sub("norm"), d, c.norm_eps, c.norm_bias)};
    }
    if (c.head.head == io::encoder_head::masked_lm) {
      io::weight_binder dec = top.sub("decoder");
      vector bias = c.decoder_bias ? dec.get_vector("bias", c.vocab_size) : vector();
      if (const auto weight = dec.get_optional_matrix("weight", c.vocab_size, d))
        decoder_ = ops::linear::from_out_in(weight->data(), c.vocab_size, d, d, std::move(bias), dec.scope_name(),
                                            dec.linear_weights());
      else
        decoder_ = ops::linear::from_out_in(tok_.table.data(), c.vocab_size, d, d, std::move(bias),
                                            dec.scope_name() + " (tied)", dec.linear_weights());
    } else if (c.head.head != io::encoder_head::none) {
      classifier_ = label_classifier{hf::linear(top.sub("classifier"), index_t(c.head.labels.size()), d, true),
                                     c.head.labels};
    }
  }

  /// Checks @p c against the checkpoint before anything is allocated (hf::load_folder calls it):
  /// every tensor the constructor binds, with the shape the config implies, and RoPE tables
  /// (a [max_position_embeddings, head_dim] cos/sin pair per layer) no larger than the
  /// checkpoint or 1 GiB, whichever is more.
  static void check_checkpoint(const io::modernbert_config& c, const io::weight_binder& w) {
    const index_t d = c.hidden_size, ff = c.intermediate_size, v = c.vocab_size;
    w.require([&](auto&& add) {
      const io::weight_binder emb = w.sub("embeddings");
      hf::expect_embedding(add, emb.sub("tok_embeddings"), v, d);
      hf::expect_layer_norm(add, emb.sub("norm"), d, c.norm_bias, false);
      for (index_t i = 0; i < c.num_hidden_layers; ++i) {
        const io::weight_binder layer = w.sub("layers").sub(i);
        if (i > 0) hf::expect_layer_norm(add, layer.sub("attn_norm"), d, c.norm_bias, false);
        hf::expect_fused_qkv_attention(add, layer.sub("attn").sub("Wqkv"), layer.sub("attn").sub("Wo"), d,
                                       c.attention_bias);
        hf::expect_layer_norm(add, layer.sub("mlp_norm"), d, c.norm_bias, false);
        hf::expect_fused_gated_mlp(add, layer.sub("mlp").sub("Wi"), layer.sub("mlp").sub("Wo"), d, ff, c.mlp_bias);
      }
      hf::expect_layer_norm(add, w.sub("final_norm"), d, c.norm_bias, false);
      const io::weight_binder top = w.scoped("");
      if (c.head.head != io::encoder_head::none) {
        hf::expect_linear(add, top.sub("head").sub("dense"), d, d, c.classifier_bias);
        hf::expect_layer_norm(add, top.sub("head").sub("norm"), d, c.norm_bias, false);
      }
      if (c.head.head == io::encoder_head::masked_lm) {
        add(top.sub("decoder").expect("weight", {v, d}, true));
        if (c.decoder_bias) add(top.sub("decoder").expect("bias", {v}));
      } else if (c.head.head != io::encoder_head::none) {
        hf::expect_linear(add, top.sub("classifier"), index_t(c.head.labels.size()), d, true);
      }
    });
    const double table_bytes = double(c.num_hidden_layers) * double(c.max_position_embeddings) * double(c.head_size()) * 4.0;
    const double limit = std::max(double(w.checkpoint_bytes()), double(1u << 30));
    if (table_bytes > limit)
      throw_error<config_error>("models.modernbert", "field 'max_position_embeddings'",
                                "RoPE tables of num_hidden_layers x max_position_embeddings x head_dim floats no larger "
                                "than the checkpoint or 1 GiB",
                                std::to_string(c.max_position_embeddings), (w.checkpoint_dir() / "config.json").string());
  }

  /// Loads a ModernBERT folder (config.json + safetensors; the encoder under "model." or at the
  /// top level). Throws io_error, format_error, config_error or shape_error naming the file and
  /// the tensor or field.
  static modernbert load(const std::filesystem::path& dir, const load_options& options = {}, Global global = {}) {
    return hf::load_folder<modernbert>(dir, options, "models.modernbert", "modernbert", "embeddings.tok_embeddings.weight",
                                       {"model.", ""}, std::move(global));
  }

  const io::modernbert_config& config() const noexcept { return cfg_; }
  index_t d_model() const noexcept { return cfg_.hidden_size; }
  index_t vocab_size() const noexcept { return cfg_.vocab_size; }
  /// The longest sequence the model takes (max_position_embeddings).
  index_t max_sequence() const noexcept { return cfg_.max_position_embeddings; }
  /// Which layers are global (the rest attend within the window).
  bool is_global(std::size_t layer) noexcept { return encoder_.layer(layer).index() == 0; }
  bool has_mlm_head() const noexcept { return decoder_.has_value(); }
  bool has_classifier() const noexcept { return classifier_.has_value(); }
  io::encoder_head head() const noexcept { return cfg_.head.head; }
  /// id2label of the classifier (empty without one).
  const std::vector<std::string>& labels() const noexcept { return cfg_.head.labels; }

  /// Final hidden states (after final_norm) of a packed batch. ids: [tokens]; token_types is
  /// accepted for a uniform encoder interface and not read (ModernBERT has no token types);
  /// hidden: [tokens, d]. Throws shape_error for bad ids, lengths or shapes.
  void forward(std::span<const token_id> ids, offsets_view offsets, std::span<const token_id> token_types,
               matrix_view hidden) {
    (void)token_types;
    forward(ids, offsets, hidden);
  }
  void forward(std::span<const token_id> ids, offsets_view offsets, matrix_view hidden) {
    const char* where = "models.modernbert";
    ops::check_tokens(where, ids, offsets, tok_.vocab(), cfg_.max_position_embeddings);
    const index_t t = index_t(ids.size());
    check_shape(where, "hidden", hidden, t, d_model());
    tok_.lookup(ids, hidden);
    emb_norm_.forward(as_const(hidden), hidden);
    if (t > 0) encoder_.forward(as_const(hidden), offsets, hidden);
  }

  /// MLM logits of every row of hidden: [tokens, vocab]. Throws config_error without the head.
  void mlm_logits(const_matrix_view hidden, matrix_view logits) {
    detail::require_head(decoder_.has_value(), "models.modernbert", "MLM head", "head.* and decoder.* (ModernBertForMaskedLM)");
    check_shape("models.modernbert", "logits", logits, hidden.rows(), vocab_size());
    matrix_view h = buf_.get(hidden.rows(), d_model());
    head_->forward(hidden, h);
    decoder_->forward(as_const(h), logits);
  }
  /// Sequence-classification logits [sequences, labels]: each sequence's first token or mean
  /// (classifier_pooling), the head, the classifier. Throws config_error without a classifier.
  void classify(const_matrix_view hidden, offsets_view offsets, matrix_view logits) {
    detail::require_head(classifier_ && cfg_.head.head == io::encoder_head::sequence_classification, "models.modernbert",
                         "sequence classifier", "head.* and classifier.* (ModernBertForSequenceClassification)");
    const index_t n = sequence_count(offsets);
    validate_offsets(offsets, hidden.rows(), "models.modernbert");
    check_shape("models.modernbert", "logits", logits, n, classifier_->size());
    matrix_view pooled = pooled_.get(n, d_model()), h = buf_.get(n, d_model());
    if (cfg_.classifier_pooling == "mean")
      mean_tokens(hidden, offsets, pooled);
    else
      first_tokens(hidden, offsets, pooled);
    head_->forward(as_const(pooled), h);
    classifier_->out.forward(as_const(h), logits);
  }
  /// Token-classification logits [tokens, labels]. Throws config_error without that head.
  void token_logits(const_matrix_view hidden, matrix_view logits) {
    detail::require_head(classifier_ && cfg_.head.head == io::encoder_head::token_classification, "models.modernbert",
                         "token classifier", "head.* and classifier.* (ModernBertForTokenClassification)");
    check_shape("models.modernbert", "logits", logits, hidden.rows(), classifier_->size());
    matrix_view h = buf_.get(hidden.rows(), d_model());
    head_->forward(hidden, h);
    classifier_->out.forward(as_const(h), logits);
  }

 private:
  static ops::activation_fn activation(const io::modernbert_config& c) {
    ops::activation_fn f = ops::activation_fn::gelu;
    ops::activation_from_hf_name(c.classifier_activation, f);  // the config reader accepted the name
    return f;
  }

  static stack_type load_stack(const io::modernbert_config& c, io::weight_binder& w, const Global& global) {
    const index_t d = c.hidden_size, ff = c.intermediate_size;
    const double eps = c.norm_eps;
    std::vector<layer_type> layers;
    for (index_t i = 0; i < c.num_hidden_layers; ++i) {
      io::weight_binder layer = w.sub("layers").sub(i);
      const bool is_global = c.global_layers[std::size_t(i)];
      const attention::attention_config ac{.d_model = d,
                                           .num_heads = c.num_attention_heads,
                                           .qkv_bias = c.attention_bias,
                                           .out_bias = c.attention_bias,
                                           .position = attention::positional::rope,
                                           .rope = ops::rope_layout::half,
                                           .rope_base = is_global ? c.global_rope_theta : c.local_rope_theta,
                                           .max_positions = c.max_position_embeddings};
      auto attn = hf::fused_qkv_attention(layer.sub("attn").sub("Wqkv"), layer.sub("attn").sub("Wo"), d, c.attention_bias);
      ops::optional_norm<ops::layer_norm> attn_norm =
          i == 0 ? ops::optional_norm<ops::layer_norm>::identity(d) : hf::layer_norm(layer.sub("attn_norm"), d, eps, c.norm_bias);
      auto mlp = hf::fused_gated_mlp<ops::gelu_erf>(layer.sub("mlp").sub("Wi"), layer.sub("mlp").sub("Wo"), d, ff, c.mlp_bias);
      ops::optional_norm<ops::layer_norm> mlp_norm = hf::layer_norm(layer.sub("mlp_norm"), d, eps, c.norm_bias);
      if (is_global)
        layers.emplace_back(modernbert_block<Global>(attention::multi_head_attention<Global>(ac, std::move(attn), global),
                                                     std::move(mlp), std::move(attn_norm), std::move(mlp_norm)));
      else
        layers.emplace_back(modernbert_block<Local>(
            attention::multi_head_attention<Local>(ac, std::move(attn),
                                                   Local(attention::sliding_window_layout(c.local_attention / 2, false))),
            std::move(mlp), std::move(attn_norm), std::move(mlp_norm)));
    }
    return stack_type(std::move(layers), hf::layer_norm(w.sub("final_norm"), d, eps, c.norm_bias));
  }

  io::modernbert_config cfg_;
  stack_type encoder_;
  ops::embedding tok_;
  ops::layer_norm emb_norm_;
  std::optional<dense_transform> head_;
  std::optional<ops::linear> decoder_;
  std::optional<label_classifier> classifier_;
  scratch_matrix buf_, pooled_;
};

}  // namespace eigenformer::models
