#pragma once
/// @file
/// BERT's tokenizer (HF `BertTokenizer`): the basic tokenizer (drop NUL, U+FFFD and control
/// characters, whitespace to spaces, spaces around CJK ideographs, split on whitespace,
/// lower-case and strip accents (NFD, drop non-spacing marks) as configured, split off every
/// punctuation character), then greedy longest-match-first WordPiece with "##" continuations,
/// `[UNK]` for a word that cannot be covered or is longer than 100 characters. Special tokens,
/// pairs and token type ids as BertTokenizer builds them.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/json.hpp>
#include <eigenformer/tokenizers/unicode.hpp>

#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace eigenformer::tokenizers {

struct wordpiece_options {
  bool lower_case = true;
  bool strip_accents = true;  ///< BertTokenizer's default: same as lower_case
  bool split_cjk = true;
  std::size_t max_chars_per_word = 100;
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
};

/// Ids and token types of one encoded input.
struct encoding {
  std::vector<token_id> ids;
  std::vector<token_id> token_types;
};

class wordpiece_tokenizer {
 public:
  /// Loads `vocab.txt` (one token per line, id = line number). Throws io_error, or format_error
  /// naming the line of an empty or duplicate entry, or the special token missing.
  explicit wordpiece_tokenizer(const std::filesystem::path& vocab_txt, wordpiece_options opt = {})
      : wordpiece_tokenizer(io::read_file(vocab_txt), vocab_txt.string(), std::move(opt)) {}

  /// From the content of a vocab.txt already read (@p file names it in errors).
  wordpiece_tokenizer(std::string_view vocab, const std::string& file, wordpiece_options opt = {}) : opt_(std::move(opt)) {
    std::size_t line_no = 0, pos = 0;
    while (pos < vocab.size()) {
      std::size_t eol = vocab.find('\n', pos);
      if (eol == std::string_view::npos) eol = vocab.size();
      std::string line(vocab.substr(pos, eol - pos));
      pos = eol + 1;
      ++line_no;
      if (line_no > std::size_t(std::numeric_limits<token_id>::max()))
        throw_error<format_error>("tokenizers.wordpiece", "vocabulary", "at most 2147483647 tokens", "more", file);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty())
        throw_error<format_error>("tokenizers.wordpiece", "vocabulary line " + std::to_string(line_no), "a token", "an empty line",
                                  file);
      decode_utf8(line, "vocabulary line " + std::to_string(line_no), file);
      auto [it, fresh] = vocab_.emplace(line, token_id(tokens_.size()));
      if (!fresh)
        throw_error<format_error>("tokenizers.wordpiece", "vocabulary line " + std::to_string(line_no), "a token not seen before",
                                  "'" + line + "', already on line " + std::to_string(it->second + 1), file);
      tokens_.push_back(line);
    }
    for (const std::string* s : {&opt_.unk, &opt_.cls, &opt_.sep})
      if (!vocab_.count(*s))
        throw_error<format_error>("tokenizers.wordpiece", "vocabulary", "the special token " + *s, "none", file);
    unk_ = vocab_.at(opt_.unk);
    cls_ = vocab_.at(opt_.cls);
    sep_ = vocab_.at(opt_.sep);
  }

  /// From a checkpoint folder: vocab.txt, and do_lower_case / strip_accents /
  /// tokenize_chinese_chars from tokenizer_config.json when present.
  static wordpiece_tokenizer from_folder(const std::filesystem::path& dir) {
    wordpiece_options opt;
    const auto cfg = dir / "tokenizer_config.json";
    if (io::exists(cfg)) {
      const auto j = io::read_json(cfg);
      auto flag = [&](const char* name, bool& out) {
        auto it = j.find(name);
        if (it == j.end() || it->is_null()) return false;
        if (!it->is_boolean())
          throw_error<config_error>("tokenizers.wordpiece", std::string("field '") + name + "'", "true or false", it->dump(),
                                    cfg.string());
        out = it->get<bool>();
        return true;
      };
      flag("do_lower_case", opt.lower_case);
      if (!flag("strip_accents", opt.strip_accents)) opt.strip_accents = opt.lower_case;
      flag("tokenize_chinese_chars", opt.split_cjk);
    }
    return wordpiece_tokenizer(dir / "vocab.txt", std::move(opt));
  }

  std::size_t vocab_size() const noexcept { return tokens_.size(); }
  token_id cls_id() const noexcept { return cls_; }
  token_id sep_id() const noexcept { return sep_; }
  token_id unk_id() const noexcept { return unk_; }
  /// Id of a token, or -1.
  token_id token_to_id(const std::string& t) const {
    auto it = vocab_.find(t);
    return it == vocab_.end() ? -1 : it->second;
  }
  const std::string& id_to_token(token_id id) const {
    if (id < 0 || std::size_t(id) >= tokens_.size())
      throw_error<shape_error>("tokenizers.wordpiece", "token id", "an id below " + std::to_string(tokens_.size()), std::to_string(id));
    return tokens_[std::size_t(id)];
  }

  /// The basic tokenizer's words of UTF-8 @p text. Throws format_error for invalid UTF-8.
  std::vector<std::u32string> basic_tokenize(std::string_view text) const {
    using namespace unicode;
    const std::u32string s = decode_utf8(text, "input text");
    std::u32string clean;
    clean.reserve(s.size() + 8);
    for (char32_t c : s) {
      if (c == 0 || c == 0xfffd || is_bert_control(c)) continue;
      if (is_bert_whitespace(c)) {
        clean.push_back(U' ');
      } else if (opt_.split_cjk && is_cjk(c)) {
        clean.push_back(U' ');
        clean.push_back(c);
        clean.push_back(U' ');
      } else {
        clean.push_back(c);
      }
    }
    std::vector<std::u32string> words;
    std::u32string word, folded;
    auto flush = [&] {
      if (word.empty()) return;
      folded.clear();
      if (opt_.lower_case) {
        for (char32_t c : word) append_lower(folded, c);
      } else {
        folded = word;
      }
      if (opt_.strip_accents) {
        std::u32string nfd;
        for (char32_t c : folded) append_nfd(nfd, c);
        folded.clear();
        for (char32_t c : nfd)
          if (!is_nonspacing_mark(c)) folded.push_back(c);
      }
      std::u32string cur;
      for (char32_t c : folded) {
        if (is_bert_punctuation(c)) {
          if (!cur.empty()) words.push_back(std::move(cur));
          cur.clear();
          words.push_back(std::u32string(1, c));
        } else {
          cur.push_back(c);
        }
      }
      if (!cur.empty()) words.push_back(std::move(cur));
      word.clear();
    };
    for (char32_t c : clean) {
      if (c == U' ') flush();
      else word.push_back(c);
    }
    flush();
    return words;
  }

  /// Ids of the text without added [CLS]/[SEP]. Special tokens written in the text ([MASK],
  /// [SEP], [CLS], [PAD], [UNK]) are kept whole, as BertTokenizer does.
  std::vector<token_id> tokenize(std::string_view text) const {
    std::vector<token_id> ids;
    const std::string* specials[] = {&opt_.mask, &opt_.sep, &opt_.cls, &opt_.pad, &opt_.unk};
    while (!text.empty()) {
      std::size_t at = std::string_view::npos;
      const std::string* which = nullptr;
      for (const std::string* sp : specials) {
        const std::size_t p = sp->empty() ? std::string_view::npos : text.find(*sp);
        if (p < at && vocab_.count(*sp)) {
          at = p;
          which = sp;
        }
      }
      for (const auto& w : basic_tokenize(text.substr(0, at))) wordpiece(w, ids);
      if (!which) break;
      ids.push_back(vocab_.at(*which));
      text.remove_prefix(at + which->size());
    }
    return ids;
  }
  /// Id of [MASK], or -1 when the vocabulary has none.
  token_id mask_id() const { return token_to_id(opt_.mask); }
  /// Whether @p id is one of [CLS], [SEP], [PAD], [MASK], [UNK] (the tokens the text matcher
  /// keeps whole).
  bool is_special(token_id id) const {
    if (id < 0 || std::size_t(id) >= tokens_.size()) return false;
    const std::string& t = tokens_[std::size_t(id)];
    return t == opt_.mask || t == opt_.sep || t == opt_.cls || t == opt_.pad || t == opt_.unk;
  }

  /// [CLS] text [SEP] (or the bare ids when @p special_tokens is false); token types all 0.
  /// @p max_length (0: none) keeps at most that many ids, [CLS] and [SEP] included, cutting the
  /// text's end (BertTokenizer's truncation=True).
  encoding encode(std::string_view text, bool special_tokens = true, std::size_t max_length = 0) const {
    auto body = tokenize(text);
    const std::size_t added = special_tokens ? 2 : 0;
    if (max_length) body.resize(std::min(body.size(), max_length > added ? max_length - added : 0));
    encoding e;
    if (special_tokens) e.ids.push_back(cls_);
    e.ids.insert(e.ids.end(), body.begin(), body.end());
    if (special_tokens) e.ids.push_back(sep_);
    e.token_types.assign(e.ids.size(), 0);
    return e;
  }
  /// [CLS] a [SEP] b [SEP], token types 0 for the first part and 1 for the second. @p max_length
  /// (0: none) as for encode, by HF's longest-first rule (the longer part is cut first; when both
  /// must be cut, they keep halves of the room).
  encoding encode_pair(std::string_view a, std::string_view b, bool special_tokens = true, std::size_t max_length = 0) const {
    auto ta = tokenize(a), tb = tokenize(b);
    const std::size_t added = special_tokens ? 3 : 0;
    if (max_length) {
      const std::size_t limit = max_length > added ? max_length - added : 0;
      if (ta.size() + tb.size() > limit) {
        std::size_t n1 = std::min(ta.size(), tb.size()), n2 = std::max(ta.size(), tb.size());
        n2 = n1 > limit ? n1 : std::max(n1, limit - n1);
        if (n1 + n2 > limit) n1 = limit / 2, n2 = n1 + limit % 2;
        if (ta.size() > tb.size()) std::swap(n1, n2);
        ta.resize(std::min(ta.size(), n1));
        tb.resize(std::min(tb.size(), n2));
      }
    }
    encoding e;
    if (special_tokens) e.ids.push_back(cls_);
    e.ids.insert(e.ids.end(), ta.begin(), ta.end());
    if (special_tokens) e.ids.push_back(sep_);
    e.token_types.assign(e.ids.size(), 0);
    e.ids.insert(e.ids.end(), tb.begin(), tb.end());
    if (special_tokens) e.ids.push_back(sep_);
    e.token_types.resize(e.ids.size(), 1);
    return e;
  }

  /// Tokens joined with spaces, "##" continuations glued to their word (BertTokenizer's
  /// convert_tokens_to_string). Special tokens are kept unless @p skip_special.
  std::string decode(std::span<const token_id> ids, bool skip_special = true) const {
    std::string out;
    for (token_id id : ids) {
      const std::string& t = id_to_token(id);
      if (skip_special && (id == cls_ || id == sep_ || t == opt_.pad)) continue;
      if (t.rfind("##", 0) == 0 && !out.empty()) {
        out += t.substr(2);
      } else {
        if (!out.empty()) out += ' ';
        out += t;
      }
    }
    return out;
  }

 private:
  void wordpiece(const std::u32string& word, std::vector<token_id>& ids) const {
    if (word.size() > opt_.max_chars_per_word) {
      ids.push_back(unk_);
      return;
    }
    const std::size_t before = ids.size();
    std::size_t start = 0;
    std::string piece;
    while (start < word.size()) {
      std::size_t end = word.size();
      token_id found = -1;
      while (start < end) {
        piece.assign(start > 0 ? "##" : "");
        for (std::size_t i = start; i < end; ++i) append_utf8(piece, word[i]);
        auto it = vocab_.find(piece);
        if (it != vocab_.end()) {
          found = it->second;
          break;
        }
        --end;
      }
      if (found < 0) {
        ids.resize(before);
        ids.push_back(unk_);
        return;
      }
      ids.push_back(found);
      start = end;
    }
  }

  wordpiece_options opt_;
  std::unordered_map<std::string, token_id> vocab_;
  std::vector<std::string> tokens_;
  token_id unk_ = 0, cls_ = 0, sep_ = 0;
};

}  // namespace eigenformer::tokenizers
