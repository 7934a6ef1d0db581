#pragma once
/// @file
/// An encoder folder as applications use it: the preset config.json names (BERT, RoBERTa,
/// XLM-R, ModernBERT), chosen once, with the folder's tokenizer, running texts in packed
/// batches bounded by a token budget (no padding is ever computed), and the heads on top:
/// sequence classification (classifiers, cross-encoder rerankers over text pairs), token
/// classification, masked-LM logits. Sentence embeddings (sentence-transformers folders) build on
/// it (models/sentence_encoder.hpp).
///     texts -> encodings -> packed batches [tokens] -> hidden [tokens, d] -> the head's logits

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/models/modernbert.hpp>
#include <eigenformer/tokenizers/auto.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace eigenformer::models {

/// The encoder presets, chosen at run time by config.json's model_type.
using any_encoder = std::variant<bert<>, modernbert<>>;

/// Loads the encoder preset of @p dir: model_type "bert", "roberta", "xlm-roberta" (models::bert)
/// or "modernbert". Throws config_error naming config.json for a decoder or any other type, and
/// what the preset's load throws.
inline any_encoder load_encoder(const std::filesystem::path& dir, const load_options& options = {}) {
  const auto cfg = io::read_config(dir);
  if (std::holds_alternative<io::bert_config>(cfg)) return bert<>::load(dir, options);
  if (std::holds_alternative<io::modernbert_config>(cfg)) return modernbert<>::load(dir, options);
  throw_error<config_error>("models.load_encoder", "model_type", "an encoder (bert, roberta, xlm-roberta or modernbert)",
                            "a decoder", (dir / "config.json").string());
}

/// A run of encodings packed back to back: ids[offsets[s], offsets[s+1]) is item first + s.
struct packed_batch {
  std::size_t first = 0;  ///< the index of the batch's first item among all the items
  std::vector<token_id> ids, types;
  std::vector<index_t> offsets = {0};
};

/// Cuts @p items into packed batches of at most @p batch_tokens tokens each (an item longer than
/// the budget goes alone) and calls `fn(const packed_batch&)` for each, in order.
template <class Fn>
void for_each_batch(std::span<const tokenizers::encoding> items, index_t batch_tokens, Fn&& fn) {
  packed_batch b;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const index_t n = index_t(items[i].ids.size());
    if (b.offsets.size() > 1 && b.offsets.back() + n > batch_tokens) {
      fn(std::as_const(b));
      b.first = i;
      b.ids.clear();
      b.types.clear();
      b.offsets.assign(1, 0);
    }
    b.ids.insert(b.ids.end(), items[i].ids.begin(), items[i].ids.end());
    if (items[i].token_types.size() == items[i].ids.size())
      b.types.insert(b.types.end(), items[i].token_types.begin(), items[i].token_types.end());
    else
      b.types.insert(b.types.end(), items[i].ids.size(), 0);
    b.offsets.push_back(b.offsets.back() + n);
  }
  if (b.offsets.size() > 1) fn(std::as_const(b));
}

/// An encoder folder: the model and its tokenizer.
class text_encoder {
 public:
  text_encoder(any_encoder model, tokenizers::any_tokenizer tokenizer)
      : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {}

  /// Loads @p dir's encoder (load_encoder) and tokenizer (tokenizer.json first, then vocab.txt).
  static text_encoder load(const std::filesystem::path& dir, const load_options& options = {}) {
    any_encoder m = load_encoder(dir, options);
    return text_encoder(std::move(m), tokenizers::any_tokenizer::from_folder(dir));
  }

  any_encoder& model() noexcept { return model_; }
  tokenizers::any_tokenizer& tokenizer() noexcept { return tokenizer_; }
  index_t d_model() const {
    return std::visit([](const auto& m) { return m.d_model(); }, model_);
  }
  /// The longest input the position table holds (texts are truncated to it).
  index_t max_sequence() const {
    return std::visit([](const auto& m) { return m.max_sequence(); }, model_);
  }
  io::encoder_head head() const {
    return std::visit([](const auto& m) { return m.head(); }, model_);
  }
  /// id2label of the classifier (empty without one).
  const std::vector<std::string>& labels() const {
    return std::visit([](const auto& m) -> const std::vector<std::string>& { return m.labels(); }, model_);
  }

  /// The ids of @p text with the tokenizer's special tokens, truncated to @p max_length (0:
  /// max_sequence()) as HF's truncation=True does.
  tokenizers::encoding encode(std::string_view text, index_t max_length = 0) {
    return tokenizer_.encode_with_types(text, true, std::size_t(limit(max_length)));
  }
  /// A pair as the tokenizer joins them (cross-encoders), truncated longest-first.
  tokenizers::encoding encode_pair(std::string_view first, std::string_view second, index_t max_length = 0) {
    return tokenizer_.encode_pair(first, second, std::size_t(limit(max_length)));
  }

  /// Runs the encoder over @p items in packed batches of at most @p batch_tokens tokens and calls
  /// `fn(const packed_batch&, const_matrix_view hidden [batch tokens, d])` for each.
  template <class Fn>
  void run(std::span<const tokenizers::encoding> items, index_t batch_tokens, Fn&& fn) {
    check_budget(batch_tokens);
    std::visit(
        [&](auto& m) {
          for_each_batch(items, batch_tokens, [&](const packed_batch& b) {
            matrix_view h = hidden_.get(b.offsets.back(), m.d_model());
            m.forward(b.ids, b.offsets, b.types, h);
            fn(b, as_const(h));
          });
        },
        model_);
  }

  /// Sequence-classification logits [items, labels] of encoded @p items. Throws config_error
  /// when the folder's architecture has no sequence classifier.
  matrix classify(std::span<const tokenizers::encoding> items, index_t batch_tokens = 8192) {
    require_head(io::encoder_head::sequence_classification, "a *ForSequenceClassification");
    matrix out(index_t(items.size()), index_t(labels().size()));
    run(items, batch_tokens, [&](const packed_batch& b, const_matrix_view h) {
      std::visit([&](auto& m) { m.classify(h, b.offsets, rows(view(out), index_t(b.first), index_t(b.offsets.size()) - 1)); },
                 model_);
    });
    return out;
  }
  /// Logits [texts, labels] of @p texts.
  matrix classify(std::span<const std::string> texts, index_t batch_tokens = 8192) {
    std::vector<tokenizers::encoding> enc;
    for (const auto& t : texts) enc.push_back(encode(t));
    return classify(std::span<const tokenizers::encoding>(enc), batch_tokens);
  }
  /// A cross-encoder's score of each (query, passage) pair: the first logit of the pair
  /// (rerankers have one label; sentence-transformers' CrossEncoder then applies a sigmoid,
  /// which keeps the order). Throws config_error without a sequence classifier.
  std::vector<float> rerank(std::string_view query, std::span<const std::string> passages, index_t batch_tokens = 8192) {
    std::vector<tokenizers::encoding> enc;
    for (const auto& p : passages) enc.push_back(encode_pair(query, p));
    const matrix logits = classify(std::span<const tokenizers::encoding>(enc), batch_tokens);
    std::vector<float> scores(passages.size());
    for (std::size_t i = 0; i < scores.size(); ++i) scores[i] = logits(index_t(i), 0);
    return scores;
  }
  /// Token-classification logits [tokens of @p item, labels]. Throws config_error without that head.
  matrix token_logits(const tokenizers::encoding& item) {
    require_head(io::encoder_head::token_classification, "a *ForTokenClassification");
    matrix out(index_t(item.ids.size()), index_t(labels().size()));
    run(std::span(&item, 1), index_t(std::max<std::size_t>(item.ids.size(), 1)), [&](const packed_batch&, const_matrix_view h) {
      std::visit([&](auto& m) { m.token_logits(h, view(out)); }, model_);
    });
    return out;
  }
  /// MLM logits [tokens of @p item, vocab]. Throws config_error without the head.
  matrix mlm_logits(const tokenizers::encoding& item) {
    const index_t v = std::visit([](const auto& m) { return m.vocab_size(); }, model_);
    matrix out(index_t(item.ids.size()), v);
    run(std::span(&item, 1), index_t(std::max<std::size_t>(item.ids.size(), 1)), [&](const packed_batch&, const_matrix_view h) {
      std::visit([&](auto& m) { m.mlm_logits(h, view(out)); }, model_);
    });
    return out;
  }

 private:
  index_t limit(index_t max_length) const {
    const index_t most = max_sequence();
    return max_length <= 0 ? most : std::min(max_length, most);
  }
  static void check_budget(index_t batch_tokens) {
    if (batch_tokens < 1)
      throw_error<config_error>("models.text_encoder", "batch_tokens", "an integer >= 1", std::to_string(batch_tokens));
  }
  void require_head(io::encoder_head want, const char* architecture) const {
    if (head() != want)
      throw_error<config_error>("models.text_encoder", "head", std::string(architecture) + " checkpoint",
                                "another architecture (config.json's architectures)");
  }

  any_encoder model_;
  tokenizers::any_tokenizer tokenizer_;
  scratch_matrix hidden_;
};

}  // namespace eigenformer::models
