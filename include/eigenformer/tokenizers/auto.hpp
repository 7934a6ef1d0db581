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
