#pragma once
/// @file
/// BERT (HF `BertModel` / `BertForMaskedLM` layout): word + position + token-type embeddings and
/// a LayerNorm, a post-norm encoder of dense-GELU blocks, the pooler (tanh dense over [CLS]) and
/// the masked-LM head (dense, GELU, LayerNorm, decoder tied to the word embeddings). Packed
/// batches: no padding, so no attention mask beyond the sequence boundaries.
///     ids [tokens] (+ token types) -> hidden [tokens, d]; pooled [sequences, d];
///     logits [tokens, vocab]
///
/// Any attention variant plugs in: `bert<attention::sliding_window_attention>` is a BERT whose
/// layers attend within a window (the variant object is passed to `load`).

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/models/hf_common.hpp>

#include <cmath>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace eigenformer::models {

template <class Attention = attention::softmax_attention>
class bert {
 public:
  using ffn_type = ffn::dense_ffn<ops::gelu_erf>;
  using block_type = blocks::encoder_block<Attention, ffn_type, ops::layer_norm, blocks::post_norm>;
  using config_type = io::bert_config;

  /// Binds the weights of @p c's layout from @p w (prefix already chosen). Throws on shape or
  /// dtype mismatch; missing tensors are reported by the binder's finish().
  bert(const io::bert_config& c, io::weight_binder& w, Attention variant = {})
      : cfg_(c), encoder_(load_layers(c, w, variant)) {
    const index_t d = c.hidden_size;
    word_ = hf::embedding(w, "embeddings.word_embeddings.weight", c.vocab_size, d);
    position_ = hf::embedding(w, "embeddings.position_embeddings.weight", c.max_position_embeddings, d);
    token_type_ = hf::embedding(w, "embeddings.token_type_embeddings.weight", c.type_vocab_size, d);
    emb_norm_ = hf::layer_norm(w, "embeddings.LayerNorm", d, c.layer_norm_eps);
    if (w.has("embeddings.position_ids")) w.ignore("embeddings.position_ids");
    if (w.has("pooler.dense.weight")) pooler_ = hf::linear(w, "pooler.dense", d, d, true);
    // The MLM head lives outside the "bert." prefix. The next-sentence head of pre-training
    // checkpoints (cls.seq_relationship) is not part of either model.
    io::weight_binder top = w.scoped("");
    for (const char* nsp : {"cls.seq_relationship.weight", "cls.seq_relationship.bias"})
      if (top.has(nsp)) top.ignore(nsp);
    if (top.has("cls.predictions.transform.dense.weight")) {
      mlm_transform_ = hf::linear(top, "cls.predictions.transform.dense", d, d, true);
      mlm_norm_ = hf::layer_norm(top, "cls.predictions.transform.LayerNorm", d, c.layer_norm_eps);
      // The decoder bias is stored as cls.predictions.bias, cls.predictions.decoder.bias, or both
      // (the same tensor); the decoder weight is usually tied to the word embeddings.
      const bool bias_here = top.has("cls.predictions.bias");
      vector bias = top.get_vector(bias_here ? "cls.predictions.bias" : "cls.predictions.decoder.bias", c.vocab_size);
      if (bias_here && top.has("cls.predictions.decoder.bias")) top.ignore("cls.predictions.decoder.bias");
      if (top.has("cls.predictions.decoder.weight")) {
        top.visit("cls.predictions.decoder.weight", {c.vocab_size, d}, [&](const float* p) {
          mlm_decoder_ = ops::linear::from_out_in(p, c.vocab_size, d, d, std::move(bias), "cls.predictions.decoder");
        });
      } else {
        mlm_decoder_ = ops::linear::from_out_in(word_.table.data(), c.vocab_size, d, d, std::move(bias),
                                                "cls.predictions.decoder (tied)");
      }
    }
  }

  /// Loads a checkpoint folder (config.json + safetensors). Throws io_error, format_error,
  /// config_error or shape_error naming the file and tensor or field.
  static bert load(const std::filesystem::path& dir, Attention variant = {}) {
    return hf::load_folder<bert>(dir, "models.bert", "bert", "embeddings.word_embeddings.weight", {"bert.", ""},
                                 std::move(variant));
  }

  const io::bert_config& config() const noexcept { return cfg_; }
  index_t d_model() const noexcept { return cfg_.hidden_size; }
  index_t vocab_size() const noexcept { return cfg_.vocab_size; }
  bool has_pooler() const noexcept { return pooler_.has_value(); }
  bool has_mlm_head() const noexcept { return mlm_decoder_.has_value(); }

  /// Final hidden states of a packed batch. ids: [tokens]; token_types: empty (all 0) or
  /// [tokens]; hidden: [tokens, d]. Throws shape_error for bad ids, lengths or shapes.
  void forward(std::span<const token_id> ids, offsets_view offsets, std::span<const token_id> token_types,
               matrix_view hidden) {
    const char* where = "models.bert";
    hf::check_tokens(where, ids, offsets, word_.vocab(), cfg_.max_position_embeddings);
    if (!token_types.empty()) {
      if (token_types.size() != ids.size())
        throw_error<shape_error>(where, "token type ids", format_shape({index_t(ids.size())}),
                                 format_shape({index_t(token_types.size())}));
      token_type_.check_ids(token_types, "token type id");
    }
    const index_t t = index_t(ids.size()), d = d_model();
    hf::check_output(where, "hidden", hidden, t, d);
    word_.lookup(ids, hidden);
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
      for (index_t r = offsets[s]; r < offsets[s + 1]; ++r) hidden.row(r) += position_.table.row(r - offsets[s]);
    for (index_t r = 0; r < t; ++r) hidden.row(r) += token_type_.table.row(token_types.empty() ? 0 : token_types[std::size_t(r)]);
    emb_norm_.forward(as_const(hidden), hidden);
    if (t > 0) encoder_.forward(as_const(hidden), offsets, hidden);
  }

  /// pooled.row(s) = tanh(W·hidden[first token of s] + b). pooled: [sequences, d]. Throws
  /// config_error when the checkpoint has no pooler.
  void pool(const_matrix_view hidden, offsets_view offsets, matrix_view pooled) const {
    if (!pooler_) throw_error<config_error>("models.bert", "pooler", "pooler.dense weights", "none in the checkpoint");
    const index_t n = sequence_count(offsets), d = d_model();
    hf::check_output("models.bert", "pooled", pooled, n, d);
    matrix cls(n, d);
    for (index_t s = 0; s < n; ++s) cls.row(s) = hidden.row(offsets[std::size_t(s)]);
    pooler_->forward(view(std::as_const(cls)), pooled);
    pooled = pooled.array().tanh().matrix();
  }

  /// Masked-LM logits for every row of hidden: logits [tokens, vocab]. Throws config_error
  /// when the checkpoint has no MLM head.
  void mlm_logits(const_matrix_view hidden, matrix_view logits) {
    if (!mlm_decoder_)
      throw_error<config_error>("models.bert", "MLM head", "cls.predictions weights", "none in the checkpoint");
    hf::check_output("models.bert", "logits", logits, hidden.rows(), vocab_size());
    matrix_view h = mlm_buf_.get(hidden.rows(), d_model());
    mlm_transform_.template forward<ops::gelu_erf>(hidden, h);
    mlm_norm_.forward(as_const(h), h);
    mlm_decoder_->forward(as_const(h), logits);
  }

 private:
  static encoder<block_type, ops::layer_norm> load_layers(const io::bert_config& c, io::weight_binder& w,
                                                          const Attention& variant) {
    const index_t d = c.hidden_size, ff = c.intermediate_size;
    attention::attention_config ac{.d_model = d, .num_heads = c.num_attention_heads, .max_positions = c.max_position_embeddings};
    std::vector<block_type> layers;
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      attention::attention_weights aw;
      aw.wq = hf::linear_in_out(w, p + "attention.self.query.weight", d, d);
      aw.bq = w.get_vector(p + "attention.self.query.bias", d);
      aw.wk = hf::linear_in_out(w, p + "attention.self.key.weight", d, d);
      aw.bk = w.get_vector(p + "attention.self.key.bias", d);
      aw.wv = hf::linear_in_out(w, p + "attention.self.value.weight", d, d);
      aw.bv = w.get_vector(p + "attention.self.value.bias", d);
      aw.wo = hf::linear_in_out(w, p + "attention.output.dense.weight", d, d);
      aw.bo = w.get_vector(p + "attention.output.dense.bias", d);
      layers.emplace_back(attention::multi_head_attention<Attention>(ac, std::move(aw), variant),
                          ffn_type(hf::linear(w, p + "intermediate.dense", ff, d, true), hf::linear(w, p + "output.dense", d, ff, true)),
                          hf::layer_norm(w, p + "attention.output.LayerNorm", d, c.layer_norm_eps),
                          hf::layer_norm(w, p + "output.LayerNorm", d, c.layer_norm_eps));
    }
    return encoder<block_type, ops::layer_norm>(std::move(layers));
  }

  io::bert_config cfg_;
  encoder<block_type, ops::layer_norm> encoder_;
  ops::embedding word_, position_, token_type_;
  ops::layer_norm emb_norm_;
  std::optional<ops::linear> pooler_;
  ops::linear mlm_transform_;
  ops::layer_norm mlm_norm_;
  std::optional<ops::linear> mlm_decoder_;
  scratch_matrix mlm_buf_;
};

}  // namespace eigenformer::models
