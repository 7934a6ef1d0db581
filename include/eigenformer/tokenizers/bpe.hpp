#pragma once
/// @file
/// GPT-2 byte-level BPE (`vocab.json` + `merges.txt`, the files of HF's gpt2 and of OpenAI's
/// `encoder.json` + `vocab.bpe`):
///  1. pre-tokenisation with GPT-2's pattern
///     `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///     (hand-written matcher; \s as JavaScript defines it, like the reference implementation),
///  2. each piece's UTF-8 bytes mapped to printable characters (bytes_to_unicode),
///  3. merges applied lowest rank first until none applies, 4. pieces looked up in the vocabulary.
/// `decode` maps ids back to bytes. Pieces are cached (bounded).

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/json.hpp>
#include <eigenformer/tokenizers/unicode.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace eigenformer::tokenizers {

/// GPT-2's reversible byte → printable character map (bytes_to_unicode).
inline std::array<char32_t, 256> bytes_to_unicode() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> direct{};
  for (int b = '!'; b <= '~'; ++b) direct[std::size_t(b)] = true;
  for (int b = 0xa1; b <= 0xac; ++b) direct[std::size_t(b)] = true;
  for (int b = 0xae; b <= 0xff; ++b) direct[std::size_t(b)] = true;
  char32_t n = 0;
  for (int b = 0; b < 256; ++b) map[std::size_t(b)] = direct[std::size_t(b)] ? char32_t(b) : 256 + n++;
  return map;
}

/// Splits text into GPT-2 pre-tokens: [begin, end) index pairs into @p s.
inline std::vector<std::pair<std::size_t, std::size_t>> gpt2_pretokenize(std::u32string_view s) {
  using namespace unicode;
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t n = s.size();
  auto other = [](char32_t c) { return !is_js_space(c) && !is_letter(c) && !is_number(c); };
  std::size_t i = 0;
  while (i < n) {
    const char32_t c = s[i];
    // 's 't 're 've 'm 'll 'd
    if (c == U'\'' && i + 1 < n) {
      const char32_t a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
      std::size_t len = 0;
      if (a == U's' || a == U't' || a == U'm' || a == U'd') len = 2;
      else if ((a == U'r' || a == U'v') && b == U'e') len = 3;
      else if (a == U'l' && b == U'l') len = 3;
      if (len) {
        out.emplace_back(i, i + len);
        i += len;
        continue;
      }
    }
    const std::size_t j = (c == U' ' && i + 1 < n) ? i + 1 : i;  // the optional leading space
    auto run = [&](auto pred) {
      std::size_t k = j;
      while (k < n && pred(s[k])) ++k;
      return k;
    };
    if (is_letter(s[j])) {
      const std::size_t k = run(is_letter);
      out.emplace_back(i, k);
      i = k;
      continue;
    }
    if (is_number(s[j])) {
      const std::size_t k = run(is_number);
      out.emplace_back(i, k);
      i = k;
      continue;
    }
    if (other(s[j])) {
      const std::size_t k = run(other);
      out.emplace_back(i, k);
      i = k;
      continue;
    }
    // Whitespace: \s+(?!\S) takes the run but leaves its last character when a non-space
    // follows; a single space before a non-space falls to \s+.
    std::size_t k = i;
    while (k < n && is_js_space(s[k])) ++k;
    if (k < n && k - i >= 2) --k;
    out.emplace_back(i, k);
    i = k;
  }
  return out;
}

class bpe_tokenizer {
 public:
  /// Loads `vocab.json` (token → id) and `merges.txt` (one "left right" pair per line, an
  /// optional "#version" first line). Throws io_error / format_error naming the file and line.
  bpe_tokenizer(const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt)
      : bpe_tokenizer(io::read_json(vocab_json), io::read_file(merges_txt), vocab_json.string(), merges_txt.string()) {}

  /// From the contents of the two files (already read; @p vocab_file and @p merges_file name
  /// them in errors). Every merge must join two symbols of the vocabulary.
  bpe_tokenizer(const nlohmann::json& vj, std::string_view merges, const std::string& vocab_file,
                const std::string& merges_file) {
    if (!vj.is_object())
      throw_error<format_error>("tokenizers.bpe", "vocabulary", "a JSON object of token -> id", std::string(vj.type_name()),
                                vocab_file);
    // Ids are 0..N-1 (each once), so a table of N entries holds them: an id beyond it would size
    // the table by a number in the file rather than by the file.
    const std::int64_t n = std::int64_t(vj.size());
    id_to_token_.resize(std::size_t(n));
    for (auto& [tok, id] : vj.items()) {
      if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= n ||
          (id.is_number_unsigned() && id.get<std::uint64_t>() >= std::uint64_t(n)))
        throw_error<format_error>("tokenizers.bpe", "id of token '" + tok + "'",
                                  "an integer in [0, " + std::to_string(n) + ") (ids are 0..N-1 for N tokens)", id.dump(),
                                  vocab_file);
      const auto v = token_id(id.get<std::int64_t>());
      if (!id_to_token_[std::size_t(v)].empty())
        throw_error<format_error>("tokenizers.bpe", "id " + std::to_string(v), "one token per id",
                                  "'" + id_to_token_[std::size_t(v)] + "' and '" + tok + "'", vocab_file);
      id_to_token_[std::size_t(v)] = tok;
      vocab_.emplace(tok, v);
    }
    const auto b2u = bytes_to_unicode();
    for (int b = 0; b < 256; ++b) {
      std::string sym;
      append_utf8(sym, b2u[std::size_t(b)]);
      byte_symbol_[std::size_t(b)] = sym;
      byte_decoder_.emplace(b2u[std::size_t(b)], static_cast<unsigned char>(b));
      if (!vocab_.count(sym))
        throw_error<format_error>("tokenizers.bpe", "vocabulary", "a token for every byte (byte-level BPE)",
                                  "none for byte " + std::to_string(b), vocab_file);
    }
    std::size_t line_no = 0, pos = 0;
    while (pos < merges.size()) {
      std::size_t eol = merges.find('\n', pos);
      if (eol == std::string_view::npos) eol = merges.size();
      std::string line(merges.substr(pos, eol - pos));
      pos = eol + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
      if (line.empty()) continue;
      const std::string where_line = "merges line " + std::to_string(line_no);
      const auto sp = line.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
        throw_error<format_error>("tokenizers.bpe", where_line, "two symbols separated by one space", "'" + line + "'",
                                  merges_file);
      decode_utf8(line, where_line, merges_file);
      for (const std::string& sym : {line.substr(0, sp), line.substr(sp + 1)})
        if (!vocab_.count(sym))
          throw_error<format_error>("tokenizers.bpe", where_line, "two symbols of the vocabulary",
                                    "'" + sym + "', which is not in " + vocab_file, merges_file);
      if (!ranks_.emplace(line, int(ranks_.size())).second)
        throw_error<format_error>("tokenizers.bpe", where_line, "a merge not seen before",
                                  "a duplicate of an earlier line ('" + line + "')", merges_file);
    }
  }

  /// From a checkpoint folder holding vocab.json and merges.txt.
  static bpe_tokenizer from_folder(const std::filesystem::path& dir) {
    return bpe_tokenizer(dir / "vocab.json", dir / "merges.txt");
  }

  std::size_t vocab_size() const noexcept { return id_to_token_.size(); }
  /// Id of a token string (e.g. "<|endoftext|>"), or -1.
  token_id token_to_id(const std::string& t) const {
    auto it = vocab_.find(t);
    return it == vocab_.end() ? -1 : it->second;
  }

  /// Token ids of UTF-8 @p text. Throws format_error for invalid UTF-8.
  std::vector<token_id> encode(std::string_view text) {
    const std::u32string s = decode_utf8(text, "input text");
    std::vector<token_id> ids;
    for (auto [a, b] : gpt2_pretokenize(s)) {
      const std::string piece = encode_utf8(s.substr(a, b - a));
      if (auto it = cache_.find(piece); it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        continue;
      }
      std::vector<token_id> pids = bpe(piece);
      ids.insert(ids.end(), pids.begin(), pids.end());
      if (cache_.size() >= max_cache) cache_.clear();
      cache_.emplace(piece, std::move(pids));
    }
    return ids;
  }

  /// The bytes the ids stand for (not necessarily valid UTF-8 when a character is cut).
  /// Throws shape_error for an id outside the vocabulary.
  std::string decode(std::span<const token_id> ids) const {
    std::string out;
    for (token_id id : ids) {
      if (id < 0 || std::size_t(id) >= id_to_token_.size() || id_to_token_[std::size_t(id)].empty())
        throw_error<shape_error>("tokenizers.bpe", "token id", "an id of the vocabulary", std::to_string(id));
      for (char32_t c : decode_utf8(id_to_token_[std::size_t(id)])) {
        auto it = byte_decoder_.find(c);
        if (it != byte_decoder_.end()) out.push_back(char(it->second));
        else append_utf8(out, c);  // a non byte-level token (added special tokens): as written
      }
    }
    return out;
  }

 private:
  static constexpr std::size_t max_cache = 1 << 16;

  std::vector<token_id> bpe(const std::string& piece) const {
    std::vector<std::string> word;
    for (unsigned char b : piece) word.push_back(byte_symbol_[b]);
    std::string key;
    while (word.size() > 1) {
      int best = std::numeric_limits<int>::max();
      std::size_t best_i = 0;
      for (std::size_t i = 0; i + 1 < word.size(); ++i) {
        key.assign(word[i]).append(" ").append(word[i + 1]);
        auto it = ranks_.find(key);
        if (it != ranks_.end() && it->second < best) {
          best = it->second;
          best_i = i;
        }
      }
      if (best == std::numeric_limits<int>::max()) break;
      const std::string first = word[best_i], second = word[best_i + 1];
      std::vector<std::string> merged;
      merged.reserve(word.size());
      for (std::size_t i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
          merged.push_back(first + second);
          i += 2;
        } else {
          merged.push_back(word[i]);
          ++i;
        }
      }
      word.swap(merged);
    }
    std::vector<token_id> ids;
    for (const auto& w : word) {
      auto it = vocab_.find(w);
      if (it != vocab_.end()) {
        ids.push_back(it->second);
      } else {  // a merge result missing from the vocabulary: its bytes, which always exist
        for (char32_t c : decode_utf8(w)) {
          std::string sym;
          append_utf8(sym, c);
          ids.push_back(vocab_.at(sym));
        }
      }
    }
    return ids;
  }

  std::unordered_map<std::string, token_id> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int> ranks_;
  std::array<std::string, 256> byte_symbol_;
  std::unordered_map<char32_t, unsigned char> byte_decoder_;
  std::unordered_map<std::string, std::vector<token_id>> cache_;
};

}  // namespace eigenformer::tokenizers
