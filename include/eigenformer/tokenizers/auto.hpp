#pragma once
/// @file
/// The tokenizer of a checkpoint folder, chosen once by the files in it: `tokenizer.json` (the
/// Hugging Face tokenizers format, tokenizer_json.hpp) first, then `vocab.txt` (WordPiece, BERT),
/// then `vocab.json` + `merges.txt` (byte-level BPE, GPT-2). One type for callers that load
/// whatever folder they are given.

#include <eigenformer/core/error.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/tokenizer_json.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <variant>
#include <vector>

namespace eigenformer::tokenizers {

class any_tokenizer {
 public:
  /// Throws io_error when the folder has no tokenizer file (and what the chosen loader throws).
  static any_tokenizer from_folder(const std::filesystem::path& dir) {
    if (io::exists(dir / "tokenizer.json")) return any_tokenizer(hf_tokenizer::from_file(dir / "tokenizer.json"));
    // io::exists: a path that cannot be examined (a symlink loop) is an io_error naming it, and a
    // vocab.txt that is a directory is reported as such by the reader, not as "[UNK] missing".
    if (io::exists(dir / "vocab.txt")) return any_tokenizer(wordpiece_tokenizer::from_folder(dir));
    if (io::exists(dir / "vocab.json") && io::exists(dir / "merges.txt"))
      return any_tokenizer(bpe_tokenizer::from_folder(dir));
    throw_error<io_error>("tokenizers.load", "tokenizer files",
                          "tokenizer.json, vocab.txt (WordPiece) or vocab.json + merges.txt (BPE)",
                          "neither", dir.string());
  }
  /// Ids of @p text; tokenizer.json's post-processor and WordPiece add their special tokens
  /// ([CLS] … [SEP], a BOS) when @p special_tokens (GPT-2's BPE adds nothing, as its tokenizer
  /// does).
  std::vector<token_id> encode(std::string_view text, bool special_tokens = true) {
    return std::visit(
        [&](auto& t) {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, bpe_tokenizer>) return t.encode(text);
          else return t.encode(text, special_tokens).ids;
        },
        t_);
  }
  /// Ids and token types of @p text (types all 0 for one text; GPT-2's BPE adds no special tokens).
  /// @p max_length (0: none): at most that many ids, special tokens included (HF's
  /// truncation=True; GPT-2's BPE keeps the first ids).
  encoding encode_with_types(std::string_view text, bool special_tokens = true, std::size_t max_length = 0) {
    return std::visit(
        [&](auto& t) -> encoding {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, bpe_tokenizer>) {
            encoding e{t.encode(text), {}};
            if (max_length && e.ids.size() > max_length) e.ids.resize(max_length);
            e.token_types.assign(e.ids.size(), 0);
            return e;
          } else {
            return t.encode(text, special_tokens, max_length);
          }
        },
        t_);
  }
  /// A pair as the folder's tokenizer joins two texts ([CLS] a [SEP] b [SEP], types 0 then 1;
  /// tokenizer.json: its post-processor's pair template): the input of a cross-encoder. Throws
  /// config_error for GPT-2's BPE files, which define no pair.
  encoding encode_pair(std::string_view first, std::string_view second, std::size_t max_length = 0) {
    return std::visit(
        [&](auto& t) -> encoding {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, bpe_tokenizer>)
            throw_error<config_error>("tokenizers.encode_pair", "tokenizer", "one that defines text pairs (tokenizer.json or vocab.txt)",
                                      "vocab.json + merges.txt (GPT-2's BPE)");
          else
            return t.encode_pair(first, second, true, max_length);
        },
        t_);
  }
  /// The id of token @p text, or -1 when the vocabulary has none.
  token_id token_to_id(const std::string& text) const {
    return std::visit([&](const auto& t) -> token_id { return t.token_to_id(text); }, t_);
  }
  /// Whether @p id is a special token (tokenizer.json's special added tokens; WordPiece's [CLS],
  /// [SEP], [PAD], [MASK], [UNK]; none for GPT-2's BPE).
  bool is_special(token_id id) const {
    return std::visit(
        [&](const auto& t) -> bool {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, hf_tokenizer>) return t.is_special(id);
          else if constexpr (std::is_same_v<T, wordpiece_tokenizer>) return t.is_special(id);
          else return false;
        },
        t_);
  }
  std::string decode(std::span<const token_id> ids) const {
    return std::visit([&](const auto& t) { return t.decode(ids); }, t_);
  }
  bool is_wordpiece() const noexcept { return t_.index() == 0; }
  /// The tokenizer.json one, or null for the older files.
  const hf_tokenizer* tokenizer_json() const noexcept { return std::get_if<hf_tokenizer>(&t_); }

 private:
  template <class T>
  explicit any_tokenizer(T t) : t_(std::move(t)) {}
  std::variant<wordpiece_tokenizer, bpe_tokenizer, hf_tokenizer> t_;
};

}  // namespace eigenformer::tokenizers
