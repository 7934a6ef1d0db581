#pragma once
/// @file
/// The tokenizer of a checkpoint folder, chosen by the files in it: `vocab.txt` (WordPiece,
/// BERT) or `vocab.json` + `merges.txt` (byte-level BPE, GPT-2). One type for callers that load
/// whatever folder they are given.

#include <eigenformer/core/error.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <filesystem>
#include <string_view>
#include <variant>
#include <vector>

namespace eigenformer::tokenizers {

class any_tokenizer {
 public:
  /// Throws io_error when the folder has neither kind of tokenizer file.
  static any_tokenizer from_folder(const std::filesystem::path& dir) {
    // io::exists: a path that cannot be examined (a symlink loop) is an io_error naming it, and a
    // vocab.txt that is a directory is reported as such by the reader, not as "[UNK] missing".
    if (io::exists(dir / "vocab.txt")) return any_tokenizer(wordpiece_tokenizer::from_folder(dir));
    if (io::exists(dir / "vocab.json") && io::exists(dir / "merges.txt"))
      return any_tokenizer(bpe_tokenizer::from_folder(dir));
    throw_error<io_error>("tokenizers.load", "tokenizer files", "vocab.txt (WordPiece) or vocab.json + merges.txt (BPE)",
                          "neither", dir.string());
  }
  /// Ids of @p text; WordPiece adds [CLS] … [SEP] when @p special_tokens (BPE adds nothing,
  /// as GPT-2's tokenizer does).
  std::vector<token_id> encode(std::string_view text, bool special_tokens = true) {
    return std::visit(
        [&](auto& t) {
          if constexpr (std::is_same_v<std::decay_t<decltype(t)>, wordpiece_tokenizer>) return t.encode(text, special_tokens).ids;
          else return t.encode(text);
        },
        t_);
  }
  std::string decode(std::span<const token_id> ids) const {
    return std::visit([&](const auto& t) { return t.decode(ids); }, t_);
  }
  bool is_wordpiece() const noexcept { return t_.index() == 0; }

 private:
  template <class T>
  explicit any_tokenizer(T t) : t_(std::move(t)) {}
  std::variant<wordpiece_tokenizer, bpe_tokenizer> t_;
};

}  // namespace eigenformer::tokenizers
