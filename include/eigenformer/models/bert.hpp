#pragma once
/// @file
/// BERT (HF `BertModel` / `BertForMaskedLM` / `BertForSequenceClassification` /
/// `BertForTokenClassification` layouts) and the RoBERTa family that shares it (`RobertaModel`,
/// `XLMRobertaModel` and their MLM and classification classes: the "roberta." prefix, positions
/// that start after the padding row, HF's `pad_token_id + 1`, one token type, the `lm_head` and
/// RoBERTa's two-layer classifier over the first token): word + position + token-type
/// embeddings and a LayerNorm, a post-norm encoder of dense-GELU blocks, the pooler (tanh dense
/// over [CLS]), the masked-LM head (dense, GELU, LayerNorm, decoder tied to the word
/// embeddings) and the classifiers. Packed batches: no padding, so no attention mask beyond the
/// sequence boundaries.
///     ids [tokens] (+ token types) -> hidden [tokens, d]; pooled [sequences, d];
///     logits [tokens, vocab] (MLM), [sequences, labels], [tokens, labels]
///
/// Any attention variant plugs in: `bert<attention::sliding_window_attention>` is a BERT whose
/// layers attend within a window (the variant object is passed to `load`).

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/models/heads.hpp>
#include <eigenformer/models/hf_common.hpp>

#include <cmath>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace eigenformer::models {

/// The block BERT stacks: post-norm, bidirectional attention (@p Attention), GELU (erf) MLP.
template <class Attention>
using bert_block = blocks::encoder_block<Attention, ffn::dense_ffn<ops::gelu_erf>, ops::layer_norm, blocks::post_norm>;

template <class Attention = attention::softmax_attention>
class bert {
 public:
  using block_type = bert_block<Attention>;
  using ffn_type = ffn::dense_ffn<ops::gelu_erf>;
  using config_type = io::bert_config;

  /// Binds the weights of @p c's layout from @p w (prefix already chosen): the encoder's
  /// blocks, the embeddings, the pooler when present, and the MLM head (outside the prefix,
  /// under "cls.") when present. Throws on shape or dtype mismatch; missing tensors are
  /// reported by the binder's finish().
  bert(const io::bert_config& c, io::weight_binder& w, Attention variant = {})
      : cfg_(c), encoder_(load_layers(c, w.sub("encoder").sub("layer"), variant)) {
    const index_t d = c.hidden_size;
    const double eps = c.layer_norm_eps;
    io::weight_binder emb = w.sub("embeddings");
    word_ = hf::embedding(emb.sub("word_embeddings"), c.vocab_size, d);
    position_ = hf::embedding(emb.sub("position_embeddings"), c.max_position_embeddings, d);
    token_type_ = hf::embedding(emb.sub("token_type_embeddings"), c.type_vocab_size, d);
    emb_norm_ = hf::layer_norm(emb.sub("LayerNorm"), d, eps);
    emb.ignore_optional("position_ids");
    emb.ignore_optional("token_type_ids");
    io::weight_binder pooler = w.sub("pooler").sub("dense");
    if (pooler.has("weight")) pooler_ = hf::linear(pooler, d, d, true);
    const io::weight_binder top = w.scoped("");
    const auto labels = index_t(c.head.labels.size());
    switch (c.head.head) {
      case io::encoder_head::sequence_classification:
        if (c.is_roberta()) {  // RobertaClassificationHead: dense, tanh, out_proj over the first token
          const io::weight_binder cls = top.sub("classifier");
          classifier_transform_ = dense_transform{hf::linear(cls.sub("dense"), d, d, true), ops::activation_fn::tanh, {}};
          classifier_ = label_classifier{hf::linear(cls.sub("out_proj"), labels, d, true), c.head.labels};
        } else {  // BertForSequenceClassification: the pooler's output, then the classifier
          detail::require_head(pooler_.has_value(), "models.bert", "pooler", "bert.pooler.dense (BertForSequenceClassification)");
          classifier_ = label_classifier{hf::linear(top.sub("classifier"), labels, d, true), c.head.labels};
        }
        break;
      case io::encoder_head::token_classification:
        classifier_ = label_classifier{hf::linear(top.sub("classifier"), labels, d, true), c.head.labels};
        break;
      default: load_mlm(c, top);
    }
  }

  /// Checks @p c against the checkpoint before anything is allocated (hf::load_folder calls
  /// it): every tensor the constructor binds, by the same scopes and part loaders' twins
  /// (io::weight_binder::require).
  static void check_checkpoint(const io::bert_config& c, const io::weight_binder& w) {
    const index_t d = c.hidden_size, ff = c.intermediate_size, v = c.vocab_size;
    w.require([&](auto&& add) {
      const io::weight_binder emb = w.sub("embeddings");
      hf::expect_embedding(add, emb.sub("word_embeddings"), v, d);
      hf::expect_embedding(add, emb.sub("position_embeddings"), c.max_position_embeddings, d);
      hf::expect_embedding(add, emb.sub("token_type_embeddings"), c.type_vocab_size, d);
      hf::expect_layer_norm(add, emb.sub("LayerNorm"), d);
      add(emb.expect("position_ids", {}, true));
      add(emb.expect("token_type_ids", {}, true));
      const io::weight_binder pooler = w.sub("pooler").sub("dense");
      const bool bert_classifier = c.head.head == io::encoder_head::sequence_classification && !c.is_roberta();
      hf::expect_linear(add, pooler, d, d, true, !bert_classifier && !pooler.has("weight"));
      const io::weight_binder top = w.scoped("");
      const auto labels = index_t(c.head.labels.size());
      if (c.head.head == io::encoder_head::sequence_classification && c.is_roberta()) {
        hf::expect_linear(add, top.sub("classifier").sub("dense"), d, d, true);
        hf::expect_linear(add, top.sub("classifier").sub("out_proj"), labels, d, true);
      } else if (c.head.head == io::encoder_head::sequence_classification ||
                 c.head.head == io::encoder_head::token_classification) {
        hf::expect_linear(add, top.sub("classifier"), labels, d, true);
      } else {
        expect_mlm(add, c, top);
      }
      for (index_t i = 0; i < c.num_hidden_layers; ++i) {
        const io::weight_binder layer = w.sub("encoder").sub("layer").sub(i);
        hf::expect_attention_projections(add, projection_scopes(layer.sub("attention")), d, d, d, true);
        hf::expect_mlp(add, layer.sub("intermediate").sub("dense"), layer.sub("output").sub("dense"), d, ff, true);
        hf::expect_layer_norm(add, layer.sub("attention").sub("output").sub("LayerNorm"), d);
        hf::expect_layer_norm(add, layer.sub("output").sub("LayerNorm"), d);
      }
    });
  }

  /// Loads a checkpoint folder (config.json + safetensors). Throws io_error, format_error,
  /// config_error or shape_error naming the file and tensor or field.
  static bert load(const std::filesystem::path& dir, Attention variant = {}) {
    return load(dir, load_options{}, std::move(variant));
  }
  /// The same with @p options (`{.weights = weight_type::int8}`: every linear layer int8).
  static bert load(const std::filesystem::path& dir, const load_options& options, Attention variant = {}) {
    return hf::load_folder<bert>(dir, options, "models.bert", "bert, roberta or xlm-roberta",
                                 "embeddings.word_embeddings.weight", {"bert.", "roberta.", ""}, std::move(variant));
  }

  const io::bert_config& config() const noexcept { return cfg_; }
  index_t d_model() const noexcept { return cfg_.hidden_size; }
  index_t vocab_size() const noexcept { return cfg_.vocab_size; }
  bool has_pooler() const noexcept { return pooler_.has_value(); }
  bool has_mlm_head() const noexcept { return mlm_decoder_.has_value(); }
  bool has_classifier() const noexcept { return classifier_.has_value(); }
  io::encoder_head head() const noexcept { return cfg_.head.head; }
  /// id2label of the classifier (empty without one).
  const std::vector<std::string>& labels() const noexcept { return cfg_.head.labels; }
  /// The longest sequence the position table holds (RoBERTa's starts after the padding row).
  index_t max_sequence() const noexcept { return cfg_.max_sequence(); }

  /// Final hidden states of a packed batch. ids: [tokens]; token_types: empty (all 0) or
  /// [tokens]; hidden: [tokens, d]. Throws shape_error for bad ids, lengths or shapes.
  void forward(std::span<const token_id> ids, offsets_view offsets, std::span<const token_id> token_types,
               matrix_view hidden) {
    const char* where = "models.bert";
    ops::check_tokens(where, ids, offsets, word_.vocab(), max_sequence());
    if (!token_types.empty()) {
      if (token_types.size() != ids.size())
        throw_error<shape_error>(where, "token type ids", format_shape({index_t(ids.size())}),
                                 format_shape({index_t(token_types.size())}));
      token_type_.check_ids(token_types, "token type id");
    }
    const index_t t = index_t(ids.size()), d = d_model();
    check_shape(where, "hidden", hidden, t, d);
    word_.lookup(ids, hidden);
    const index_t first_position = cfg_.position_offset();
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
      for (index_t r = offsets[s]; r < offsets[s + 1]; ++r) hidden.row(r) += position_.table.row(first_position + r - offsets[s]);
    for (index_t r = 0; r < t; ++r) hidden.row(r) += token_type_.table.row(token_types.empty() ? 0 : token_types[std::size_t(r)]);
    emb_norm_.forward(as_const(hidden), hidden);
    if (t > 0) encoder_.forward(as_const(hidden), offsets, hidden);
  }

  /// pooled.row(s) = tanh(W·hidden[first token of s] + b). pooled: [sequences, d]. Throws
  /// config_error when the checkpoint has no pooler.
  void pool(const_matrix_view hidden, offsets_view offsets, matrix_view pooled) {
    if (!pooler_) throw_error<config_error>("models.bert", "pooler", "pooler.dense weights", "none in the checkpoint");
    const index_t n = sequence_count(offsets), d = d_model();
    check_shape("models.bert", "pooled", pooled, n, d);
    matrix_view cls = pooled_buf_.get(n, d);
    first_tokens(hidden, offsets, cls);
    pooler_->forward(as_const(cls), pooled);
    pooled = pooled.array().tanh().matrix();
  }

  /// Masked-LM logits for every row of hidden: logits [tokens, vocab]. Throws config_error
  /// when the checkpoint has no MLM head.
  void mlm_logits(const_matrix_view hidden, matrix_view logits) {
    detail::require_head(mlm_decoder_.has_value(), "models.bert", "MLM head",
                         cfg_.is_roberta() ? "lm_head weights" : "cls.predictions weights");
    check_shape("models.bert", "logits", logits, hidden.rows(), vocab_size());
    matrix_view h = mlm_buf_.get(hidden.rows(), d_model());
    mlm_transform_.forward(hidden, h);
    mlm_decoder_->forward(as_const(h), logits);
  }

  /// Sequence-classification logits [sequences, labels]: BERT's classifier over the pooler's
  /// output, RoBERTa's dense-tanh-out_proj over the first token. Throws config_error without
  /// that head.
  void classify(const_matrix_view hidden, offsets_view offsets, matrix_view logits) {
    detail::require_head(classifier_ && cfg_.head.head == io::encoder_head::sequence_classification, "models.bert",
                         "sequence classifier", "classifier.* (*ForSequenceClassification)");
    validate_offsets(offsets, hidden.rows(), "models.bert");
    const index_t n = sequence_count(offsets), d = d_model();
    check_shape("models.bert", "logits", logits, n, classifier_->size());
    matrix_view pooled = mlm_buf_.get(n, d);
    if (classifier_transform_) {
      matrix_view first = pooled_buf_.get(n, d);
      first_tokens(hidden, offsets, first);
      classifier_transform_->forward(as_const(first), pooled);
    } else {
      pool(hidden, offsets, pooled);
    }
    classifier_->out.forward(as_const(pooled), logits);
  }
  /// Token-classification logits [tokens, labels]. Throws config_error without that head.
  void token_logits(const_matrix_view hidden, matrix_view logits) {
    detail::require_head(classifier_ && cfg_.head.head == io::encoder_head::token_classification, "models.bert",
                         "token classifier", "classifier.* (*ForTokenClassification)");
    check_shape("models.bert", "logits", logits, hidden.rows(), classifier_->size());
    classifier_->out.forward(hidden, logits);
  }

 private:
  /// The masked-LM head when the checkpoint has one: BERT's cls.predictions (transform.dense,
  /// transform.LayerNorm, decoder, bias), RoBERTa's lm_head (dense, layer_norm, decoder, bias).
  /// The decoder bias is stored as <head>.bias, <head>.decoder.bias, or both (the same tensor);
  /// the decoder weight is usually tied to the word embeddings. The next-sentence head of
  /// pre-training checkpoints (cls.seq_relationship) is not part of the model.
  struct mlm_scopes {
    io::weight_binder transform, norm, decoder, bias_holder;
  };
  static mlm_scopes mlm_names(const io::bert_config& c, const io::weight_binder& top) {
    if (c.is_roberta()) {
      const io::weight_binder h = top.sub("lm_head");
      return {h.sub("dense"), h.sub("layer_norm"), h.sub("decoder"), h};
    }
    const io::weight_binder p = top.sub("cls").sub("predictions");
    return {p.sub("transform").sub("dense"), p.sub("transform").sub("LayerNorm"), p.sub("decoder"), p};
  }
  void load_mlm(const io::bert_config& c, const io::weight_binder& top) {
    const index_t d = c.hidden_size;
    if (!c.is_roberta()) {
      io::weight_binder nsp = top.sub("cls").sub("seq_relationship");
      nsp.ignore_optional("weight");
      nsp.ignore_optional("bias");
    }
    mlm_scopes m = mlm_names(c, top);
    if (!m.transform.has("weight")) return;
    mlm_transform_ = dense_transform{hf::linear(m.transform, d, d, true), ops::activation_fn::gelu,
                                     hf::layer_norm(m.norm, d, c.layer_norm_eps)};
    const bool bias_here = m.bias_holder.has("bias");
    vector bias = (bias_here ? m.bias_holder : m.decoder).get_vector("bias", c.vocab_size);
    if (bias_here) m.decoder.ignore_optional("bias");
    if (const auto weight = m.decoder.get_optional_matrix("weight", c.vocab_size, d)) {
      mlm_decoder_ = ops::linear::from_out_in(weight->data(), c.vocab_size, d, d, std::move(bias), m.decoder.scope_name(),
                                              m.decoder.linear_weights());
    } else {
      mlm_decoder_ = ops::linear::from_out_in(word_.table.data(), c.vocab_size, d, d, std::move(bias),
                                              m.decoder.scope_name() + " (tied)", m.decoder.linear_weights());
    }
  }
  template <class Add>
  static void expect_mlm(Add&& add, const io::bert_config& c, const io::weight_binder& top) {
    const index_t d = c.hidden_size, v = c.vocab_size;
    if (!c.is_roberta()) {
      const io::weight_binder nsp = top.sub("cls").sub("seq_relationship");
      add(nsp.expect("weight", {}, true));
      add(nsp.expect("bias", {}, true));
    }
    const mlm_scopes m = mlm_names(c, top);
    const bool has_mlm = m.transform.has("weight") || c.head.head == io::encoder_head::masked_lm;
    const bool bias_here = m.bias_holder.has("bias");
    hf::expect_linear(add, m.transform, d, d, true, !has_mlm);
    hf::expect_layer_norm(add, m.norm, d, !has_mlm);
    add(m.bias_holder.expect("bias", {v}, !has_mlm || !bias_here));
    add(m.decoder.expect("bias", {v}, !has_mlm || bias_here));
    add(m.decoder.expect("weight", {v, d}, true));
  }

  /// The projections of attention scope @p attn ("encoder.layer.i.attention").
  static hf::attention_scopes projection_scopes(const io::weight_binder& attn) {
    const io::weight_binder self = attn.sub("self");
    return {self.sub("query"), self.sub("key"), self.sub("value"), attn.sub("output").sub("dense")};
  }

  /// Blocks "encoder.layer.0." ... (@p layers is the scope "encoder.layer").
  static encoder<block_type, ops::layer_norm> load_layers(const io::bert_config& c, const io::weight_binder& layers,
                                                          const Attention& variant) {
    const index_t d = c.hidden_size, ff = c.intermediate_size;
    const double eps = c.layer_norm_eps;
    attention::attention_config ac{.d_model = d, .num_heads = c.num_attention_heads, .max_positions = c.max_position_embeddings};
    std::vector<block_type> stack;
    for (index_t i = 0; i < c.num_hidden_layers; ++i) {
      auto layer = layers.sub(i);
      auto attn = hf::attention_projections(projection_scopes(layer.sub("attention")), d, d, d, true);
      auto mlp = hf::mlp<ops::gelu_erf>(layer.sub("intermediate").sub("dense"), layer.sub("output").sub("dense"), d, ff, true);
      ops::layer_norm attention_norm = hf::layer_norm(layer.sub("attention").sub("output").sub("LayerNorm"), d, eps);
      stack.emplace_back(attention::multi_head_attention<Attention>(ac, std::move(attn), variant), std::move(mlp),
                          std::move(attention_norm), hf::layer_norm(layer.sub("output").sub("LayerNorm"), d, eps));
    }
    return encoder<block_type, ops::layer_norm>(std::move(stack));
  }

  io::bert_config cfg_;
  encoder<block_type, ops::layer_norm> encoder_;
  ops::embedding word_, position_, token_type_;
  ops::layer_norm emb_norm_;
  std::optional<ops::linear> pooler_;
  dense_transform mlm_transform_;
  std::optional<ops::linear> mlm_decoder_;
  std::optional<dense_transform> classifier_transform_;  ///< RoBERTa's classifier.dense + tanh
  std::optional<label_classifier> classifier_;
  scratch_matrix mlm_buf_, pooled_buf_;
};

}  // namespace eigenformer::models
