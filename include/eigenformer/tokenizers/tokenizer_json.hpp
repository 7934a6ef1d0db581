#pragma once
/// @file
/// Hugging Face `tokenizer.json` (the `tokenizers` library's serialisation, which almost every
/// current checkpoint folder ships): the pipeline it describes, built from the file.
///
///   text ─ added tokens matched on the raw text (those with `normalized: false`)
///        ─ normalizer on the rest, then the normalized added tokens matched
///        ─ pre-tokenizer: pieces
///        ─ model on each piece: ids
///        ─ truncation, post-processor: special tokens, pairs, token types
///   ids  ─ decoder: text
///
/// Implemented (each `type` and option as HF's Rust library defines it; anything else in the file
/// that would change the ids is a format_error naming it, never ignored):
///  - normalizers: NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, BertNormalizer, Replace
///    (String or Regex), Prepend, Strip, Precompiled (SentencePiece's charsmap, as HF applies it:
///    tokenizers/precompiled.hpp), Sequence;
///  - pre-tokenizers: ByteLevel, Split (String or Regex; Removed, Isolated, MergedWithPrevious,
///    MergedWithNext, Contiguous; invert), Metaspace, Whitespace, WhitespaceSplit,
///    BertPreTokenizer, Digits, Punctuation, CharDelimiterSplit, Sequence;
///  - models: BPE (byte_fallback, fuse_unk, ignore_merges, continuing_subword_prefix,
///    end_of_word_suffix), WordPiece, WordLevel, Unigram (Viterbi over the scored pieces);
///  - post-processors: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence;
///  - decoders: ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, Strip,
///    Sequence;
///  - added tokens with single_word, lstrip, rstrip, normalized and special;
///  - truncation (LongestFirst, OnlyFirst, OnlySecond; Right or Left; stride 0); padding
///    BatchLongest (nothing to do for one input; batches are padded by their callers).

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/json.hpp>
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/normalize.hpp>
#include <eigenformer/tokenizers/precompiled.hpp>
#include <eigenformer/tokenizers/regex.hpp>
#include <eigenformer/tokenizers/unicode.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace eigenformer::tokenizers {

namespace tj_detail {

inline constexpr const char* where = "tokenizers.tokenizer_json";

/// Reads tokenizer.json fields with errors that name the file and the field's path.
struct reader {
  std::string file;

  [[noreturn]] void fail(const std::string& field, const std::string& expected, const std::string& found) const {
    throw_error<format_error>(where, field, expected, found, file);
  }
  const nlohmann::json& member(const nlohmann::json& j, const std::string& key, const std::string& path) const {
    if (!j.is_object()) fail(path, "an object", j.type_name());
    auto it = j.find(key);
    if (it == j.end()) fail(path + "." + key, "present", "missing");
    return *it;
  }
  const nlohmann::json* optional(const nlohmann::json& j, const std::string& key) const {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  std::string string(const nlohmann::json& j, const std::string& key, const std::string& path) const {
    const auto& v = member(j, key, path);
    if (!v.is_string()) fail(path + "." + key, "a string", v.type_name());
    return v.get<std::string>();
  }
  std::string string_or(const nlohmann::json& j, const std::string& key, const std::string& path, std::string dflt) const {
    const auto* v = optional(j, key);
    if (!v) return dflt;
    if (!v->is_string()) fail(path + "." + key, "a string", v->type_name());
    return v->get<std::string>();
  }
  bool boolean_or(const nlohmann::json& j, const std::string& key, const std::string& path, bool dflt) const {
    const auto* v = optional(j, key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail(path + "." + key, "true or false", v->dump());
    return v->get<bool>();
  }
  std::int64_t integer(const nlohmann::json& v, const std::string& path, std::int64_t lo, std::int64_t hi) const {
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(hi)) ||
        v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi)
      fail(path, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]", v.dump());
    return v.get<std::int64_t>();
  }
  token_id id(const nlohmann::json& v, const std::string& path) const {
    return token_id(integer(v, path, 0, std::numeric_limits<token_id>::max() - 1));
  }
  /// Rejects keys this implementation does not know, so that none is silently ignored.
  void only(const nlohmann::json& j, const std::string& path, std::initializer_list<std::string_view> known) const {
    if (!j.is_object()) fail(path, "an object", j.type_name());
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) == known.end())
        fail(path + "." + it.key(), "one of the keys this implementation knows", "'" + it.key() + "' (not implemented)");
    }
  }
  std::u32string u32(const std::string& s, const std::string& path) const { return decode_utf8(s, path, file); }
};

/// Rust's char::is_whitespace: the White_Space property, from the generated tables.
using unicode::is_white_space;

/// A pattern of Split and Replace: a literal string or a regex.
struct pattern {
  std::u32string literal;
  std::optional<regex> re;

  static pattern from(const reader& r, const nlohmann::json& j, const std::string& path) {
    pattern p;
    if (const auto* s = r.optional(j, "String")) {
      if (!s->is_string()) r.fail(path + ".String", "a string", s->type_name());
      p.literal = r.u32(s->get<std::string>(), path + ".String");
    } else if (const auto* re = r.optional(j, "Regex")) {
      if (!re->is_string()) r.fail(path + ".Regex", "a string", re->type_name());
      p.re.emplace(re->get<std::string>(), path + ".Regex in " + r.file);
    } else {
      r.fail(path, "{\"String\": ...} or {\"Regex\": ...}", j.dump());
    }
    return p;
  }
  /// Non-overlapping matches, left to right.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::u32string_view s) const {
    if (re) return re->find_all(s);
    std::vector<std::pair<std::size_t, std::size_t>> out;
    if (literal.empty()) return out;
    for (std::size_t i = s.find(literal); i != std::u32string_view::npos; i = s.find(literal, i + literal.size()))
      out.emplace_back(i, i + literal.size());
    return out;
  }
};

/// The pieces of @p s between and at @p matches, each flagged as a match or not (HF's
/// find_matches: the whole string, in order, no empty piece).
inline std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>> segments(
    std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& matches) {
  std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>> out;
  std::size_t prev = 0;
  for (auto [b, e] : matches) {
    if (b > prev) out.push_back({{prev, b}, false});
    if (e > b) out.push_back({{b, e}, true});
    prev = e;
  }
  if (prev < n) out.push_back({{prev, n}, false});
  return out;
}

enum class split_behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

inline split_behavior behavior_from(const reader& r, const nlohmann::json& j, const std::string& path) {
  const std::string b = r.string(j, "behavior", path);
  if (b == "Removed") return split_behavior::removed;
  if (b == "Isolated") return split_behavior::isolated;
  if (b == "MergedWithPrevious") return split_behavior::merged_with_previous;
  if (b == "MergedWithNext") return split_behavior::merged_with_next;
  if (b == "Contiguous") return split_behavior::contiguous;
  r.fail(path + ".behavior", "Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous", "'" + b + "'");
}

/// Splits @p s at the flagged pieces by @p how (HF's NormalizedString::split).
inline void split_by(std::u32string_view s, std::vector<std::pair<std::pair<std::size_t, std::size_t>, bool>> seg,
                     split_behavior how, std::vector<std::u32string>& out) {
  using range = std::pair<std::size_t, std::size_t>;
  std::vector<range> keep;
  switch (how) {
    case split_behavior::removed:
      for (auto& [r, m] : seg)
        if (!m) keep.push_back(r);
      break;
    case split_behavior::isolated:
      for (auto& [r, m] : seg) keep.push_back(r);
      break;
    case split_behavior::merged_with_previous: {
      bool prev_match = false;
      for (auto& [r, m] : seg) {
        if (m && !prev_match && !keep.empty()) keep.back().second = r.second;
        else keep.push_back(r);
        prev_match = m;
      }
      break;
    }
    case split_behavior::merged_with_next: {
      bool prev_match = false;
      for (auto it = seg.rbegin(); it != seg.rend(); ++it) {
        if (it->second && !prev_match && !keep.empty()) keep.back().first = it->first.first;
        else keep.push_back(it->first);
        prev_match = it->second;
      }
      std::reverse(keep.begin(), keep.end());
      break;
    }
    case split_behavior::contiguous: {
      bool prev_match = false;
      for (auto& [r, m] : seg) {
        if (m == prev_match && !keep.empty()) keep.back().second = r.second;
        else keep.push_back(r);
        prev_match = m;
      }
      break;
    }
  }
  for (auto [b, e] : keep)
    if (e > b) out.emplace_back(s.substr(b, e - b));
}

// ---------------------------------------------------------------------------------------------
// Normalizers

struct normalizer {
  virtual ~normalizer() = default;
  virtual void apply(std::u32string& s) const = 0;
};

struct nf_normalizer final : normalizer {
  unicode::normal_form form;
  explicit nf_normalizer(unicode::normal_form f) : form(f) {}
  void apply(std::u32string& s) const override { s = unicode::normalize(s, form); }
};

struct lowercase_normalizer final : normalizer {
  void apply(std::u32string& s) const override {
    std::u32string out;
    out.reserve(s.size());
    for (char32_t c : s) unicode::append_lower(out, c);
    s.swap(out);
  }
};

/// Drops non-spacing marks (HF's StripAccents; it expects NFD before it, as files put it).
struct strip_accents_normalizer final : normalizer {
  void apply(std::u32string& s) const override {
    std::erase_if(s, [](char32_t c) { return unicode::is_nonspacing_mark(c); });
  }
};

/// HF's BertNormalizer predicates (normalizers/bert.rs), which differ from Python BERT's
/// (unicode.hpp): control is any "other" but the three whitespace controls (Cc, Cf, Co here),
/// whitespace is White_Space, and the ideograph blocks start one at U+2B920, not U+2B820.
inline bool is_other(char32_t c) noexcept {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  const auto g = unicode::category(c);
  return g == unicode::general_category::Cc || g == unicode::general_category::Cf || g == unicode::general_category::Co;
}
inline bool is_chinese(char32_t c) noexcept {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
         (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

struct bert_normalizer final : normalizer {
  bool clean_text = true, chinese = true, strip_accents = true, lowercase = true;
  void apply(std::u32string& s) const override {
    std::u32string out;
    out.reserve(s.size());
    for (char32_t c : s) {
      if (clean_text) {
        if (c == 0 || c == 0xfffd || is_other(c)) continue;
        if (is_white_space(c)) c = U' ';
      }
      if (chinese && is_chinese(c)) {
        out.push_back(U' ');
        out.push_back(c);
        out.push_back(U' ');
      } else {
        out.push_back(c);
      }
    }
    if (strip_accents) {
      out = unicode::normalize(out, unicode::normal_form::nfd);
      std::erase_if(out, [](char32_t c) { return unicode::is_nonspacing_mark(c); });
    }
    if (lowercase) lowercase_normalizer{}.apply(out);
    s.swap(out);
  }
};

struct replace_normalizer final : normalizer {
  pattern pat;
  std::u32string content;
  void apply(std::u32string& s) const override {
    const auto m = pat.find_all(s);
    if (m.empty()) return;
    std::u32string out;
    std::size_t prev = 0;
    for (auto [b, e] : m) {
      out.append(s, prev, b - prev);
      out += content;
      prev = e;
    }
    out.append(s, prev);
    s.swap(out);
  }
};

struct prepend_normalizer final : normalizer {
  std::u32string prefix;
  void apply(std::u32string& s) const override {
    if (!s.empty()) s.insert(0, prefix);
  }
};

struct strip_normalizer final : normalizer {
  bool left = true, right = true;
  void apply(std::u32string& s) const override {
    std::size_t b = 0, e = s.size();
    if (left)
      while (b < e && is_white_space(s[b])) ++b;
    if (right)
      while (e > b && is_white_space(s[e - 1])) --e;
    s = s.substr(b, e - b);
  }
};

/// SentencePiece's rules (tokenizers/precompiled.hpp), as HF applies them.
struct precompiled_normalizer final : normalizer {
  precompiled_charsmap map;
  explicit precompiled_normalizer(precompiled_charsmap m) : map(std::move(m)) {}
  void apply(std::u32string& s) const override { s = map.normalize(s); }
};

struct sequence_normalizer final : normalizer {
  std::vector<std::unique_ptr<normalizer>> steps;
  void apply(std::u32string& s) const override {
    for (const auto& n : steps) n->apply(s);
  }
};

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers: each maps a list of pieces to a finer one.

/// What a pre-tokenizer sees of a piece beyond its text: whether it starts the input (HF's
/// Metaspace `prepend_scheme: "first"` prepends only there).
struct pieces {
  std::vector<std::u32string> text;
  bool starts_input = true;  ///< the first piece begins at the start of the input text
};

struct pre_tokenizer {
  virtual ~pre_tokenizer() = default;
  virtual void apply(pieces& p) const = 0;
};

/// Applies @p f (piece, index) → sub-pieces to every piece.
template <class F>
void each_piece(pieces& p, F&& f) {
  std::vector<std::u32string> out;
  out.reserve(p.text.size());
  for (std::size_t i = 0; i < p.text.size(); ++i) f(p.text[i], i, out);
  p.text.swap(out);
}

inline const regex& gpt2_regex() {
  static const regex re(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "ByteLevel's pattern");
  return re;
}

struct byte_level_pre final : pre_tokenizer {
  bool add_prefix_space = true, use_regex = true;
  std::array<char32_t, 256> b2u = bytes_to_unicode();
  void apply(pieces& p) const override {
    each_piece(p, [&](std::u32string& s, std::size_t, std::vector<std::u32string>& out) {
      if (add_prefix_space && !s.empty() && s[0] != U' ') s.insert(s.begin(), U' ');
      std::vector<std::u32string> parts;
      if (use_regex) split_by(s, segments(s.size(), gpt2_regex().find_all(s)), split_behavior::isolated, parts);
      else parts.push_back(s);
      for (const auto& part : parts) {
        std::u32string mapped;
        for (unsigned char b : encode_utf8(part)) mapped.push_back(b2u[b]);
        out.push_back(std::move(mapped));
      }
    });
  }
};

struct split_pre final : pre_tokenizer {
  pattern pat;
  split_behavior how = split_behavior::isolated;
  bool invert = false;
  void apply(pieces& p) const override {
    each_piece(p, [&](std::u32string& s, std::size_t, std::vector<std::u32string>& out) {
      auto seg = segments(s.size(), pat.find_all(s));
      if (invert)
        for (auto& x : seg) x.second = !x.second;
      split_by(s, std::move(seg), how, out);
    });
  }
};

struct metaspace_pre final : pre_tokenizer {
  char32_t replacement = U'\u2581';
  enum class scheme { always, first, never } prepend = scheme::always;
  bool split = true;
  void apply(pieces& p) const override {
    each_piece(p, [&](std::u32string& s, std::size_t i, std::vector<std::u32string>& out) {
      for (char32_t& c : s)
        if (c == U' ') c = replacement;
      const bool prepend_here = prepend == scheme::always || (prepend == scheme::first && i == 0 && p.starts_input);
      if (prepend_here && (s.empty() || s[0] != replacement)) s.insert(s.begin(), replacement);
      if (!split) {
        out.push_back(s);
        return;
      }
      std::vector<std::pair<std::size_t, std::size_t>> m;
      for (std::size_t k = 0; k < s.size(); ++k)
        if (s[k] == replacement) m.emplace_back(k, k + 1);
      split_by(s, segments(s.size(), m), split_behavior::merged_with_next, out);
    });
  }
};

/// Splits by a character predicate: runs of matching characters become the flagged pieces.
template <class Pred>
std::vector<std::pair<std::size_t, std::size_t>> char_matches(std::u32string_view s, Pred pred, bool each) {
  std::vector<std::pair<std::size_t, std::size_t>> m;
  for (std::size_t k = 0; k < s.size();) {
    if (!pred(s[k])) {
      ++k;
      continue;
    }
    std::size_t e = k + 1;
    if (!each)
      while (e < s.size() && pred(s[e])) ++e;
    m.emplace_back(k, e);
    k = e;
  }
  return m;
}

/// HF's Whitespace: `\w+|[^\w\s]+` with the rest removed, in Rust's regex crate, whose \w is
/// UTS #18's (Alphabetic, marks, Nd, Pc and the joiners U+200C U+200D; not Oniguruma's, which
/// also counts ² ³ ¹ ¼ ½ ¾ outside classes).
struct whitespace_pre final : pre_tokenizer {
  regex re{R"([\p{Word}\x{200C}\x{200D}]+|[^\p{Word}\x{200C}\x{200D}\s]+)", "Whitespace's pattern"};
  void apply(pieces& p) const override {
    each_piece(p, [&](std::u32string& s, std::size_t, std::vector<std::u32string>& out) {
      auto seg = segments(s.size(), re.find_all(s));
      for (auto& x : seg) x.second = !x.second;
      split_by(s, std::move(seg), split_behavior::removed, out);
    });
  }
};

struct char_split_pre final : pre_tokenizer {  // WhitespaceSplit, BertPreTokenizer, Digits, Punctuation, CharDelimiterSplit
  enum class kind { whitespace, bert, digits, punctuation, delimiter } what = kind::whitespace;
  bool individual = false;
  split_behavior how = split_behavior::isolated;
  char32_t delimiter = 0;
  void apply(pieces& p) const override {
    each_piece(p, [&](std::u32string& s, std::size_t, std::vector<std::u32string>& out) {
      switch (what) {
        case kind::whitespace:
          split_by(s, segments(s.size(), char_matches(s, is_white_space, false)), split_behavior::removed, out);
          break;
        case kind::bert: {
          std::vector<std::u32string> words;
          split_by(s, segments(s.size(), char_matches(s, is_white_space, false)), split_behavior::removed, words);
          for (const auto& w : words)
            split_by(w, segments(w.size(), char_matches(w, unicode::is_bert_punctuation, true)), split_behavior::isolated, out);
          break;
        }
        case kind::digits:
          split_by(s, segments(s.size(), char_matches(s, unicode::is_number, individual)), split_behavior::isolated, out);
          break;
        case kind::punctuation:
          split_by(s, segments(s.size(), char_matches(s, unicode::is_bert_punctuation, true)), how, out);
          break;
        case kind::delimiter:
          split_by(s, segments(s.size(), char_matches(s, [&](char32_t c) { return c == delimiter; }, true)),
                   split_behavior::removed, out);
          break;
      }
    });
  }
};

struct sequence_pre final : pre_tokenizer {
  std::vector<std::unique_ptr<pre_tokenizer>> steps;
  void apply(pieces& p) const override {
    for (const auto& s : steps) s->apply(p);
  }
};

// ---------------------------------------------------------------------------------------------
// Models: a piece (code points) to ids.

struct vocabulary {
  std::unordered_map<std::string, token_id> ids;
  std::vector<std::string> tokens;  ///< by id; "" where no token has the id
  token_id find(const std::string& t) const {
    auto it = ids.find(t);
    return it == ids.end() ? -1 : it->second;
  }
  void add(const reader& r, const std::string& path, const std::string& tok, token_id id) {
    if (std::size_t(id) >= tokens.size()) tokens.resize(std::size_t(id) + 1);
    if (!tokens[std::size_t(id)].empty() && tokens[std::size_t(id)] != tok)
      r.fail(path, "one token per id", "'" + tokens[std::size_t(id)] + "' and '" + tok + "' for id " + std::to_string(id));
    if (!ids.emplace(tok, id).second) r.fail(path, "each token once", "'" + tok + "' twice");
    tokens[std::size_t(id)] = tok;
  }
  /// A token → id object (BPE, WordPiece, WordLevel). Ids must be below the number of entries
  /// plus the added tokens' count bound, so a table is sized by the file's content.
  void read_map(const reader& r, const nlohmann::json& j, const std::string& path) {
    if (!j.is_object()) r.fail(path, "an object of token -> id", j.type_name());
    const std::int64_t bound = std::int64_t(j.size()) + 4096;  // room for holes, not a size from the file
    ids.reserve(j.size());
    tokens.reserve(j.size());
    for (auto it = j.begin(); it != j.end(); ++it) {
      const auto& v = it.value();
      // (The entry's path is spelled only for an error: building it for each of 262k entries
      // was a tenth of a large file's load.)
      const bool fine = v.is_number_unsigned() ? v.get<std::uint64_t>() <= std::uint64_t(bound)
                                               : v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= bound;
      add(r, path, it.key(), token_id(fine ? v.get<std::int64_t>() : r.integer(v, path + "[\"" + it.key() + "\"]", 0, bound)));
    }
  }
};

struct model {
  vocabulary vocab;
  virtual ~model() = default;
  virtual void tokenize(std::u32string_view piece, std::vector<token_id>& out) const = 0;
};

inline std::string byte_token(unsigned char b) {
  static constexpr char hex[] = "0123456789ABCDEF";
  return std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
}

/// The <0xXX> tokens of a vocabulary (-1 where one is missing), for byte fallback.
struct byte_tokens {
  std::array<token_id, 256> id;
  explicit byte_tokens(const vocabulary& v = {}) {
    for (int b = 0; b < 256; ++b) id[std::size_t(b)] = v.find(byte_token(static_cast<unsigned char>(b)));
  }
  /// Appends the tokens of @p text's bytes when every one exists; false (and nothing) otherwise.
  bool spell(std::string_view text, std::vector<token_id>& out) const {
    for (unsigned char b : text)
      if (id[b] < 0) return false;
    for (unsigned char b : text) out.push_back(id[b]);
    return true;
  }
};

struct bpe_model final : model {
  struct merge {
    int rank;
    token_id result;
  };
  std::unordered_map<std::uint64_t, merge> merges;
  token_id unk = -1;
  std::string prefix, suffix;  ///< continuing_subword_prefix, end_of_word_suffix
  bool fuse_unk = false, byte_fallback = false, ignore_merges = false;
  byte_tokens bytes;  ///< <0xXX> ids, for byte_fallback

  static std::uint64_t key(token_id a, token_id b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); }

  /// Pieces seen before and their ids (HF's BPE keeps such a cache too): words repeat, and
  /// merging is quadratic in a word's length. Bounded; shared by threads under a mutex.
  static constexpr std::size_t max_cache = 1 << 16, max_cached_piece = 256;  ///< HF caches pieces under 256 bytes
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::u32string, std::vector<token_id>> cache;

  void tokenize(std::u32string_view piece, std::vector<token_id>& out) const override {
    if (piece.empty()) return;
    if (piece.size() < max_cached_piece) {
      std::lock_guard<std::mutex> lock(cache_mutex);
      if (auto it = cache.find(std::u32string(piece)); it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::size_t start = out.size();
    merge_word(piece, out);
    if (piece.size() >= max_cached_piece) return;
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= max_cache) cache.clear();
    cache.emplace(piece, std::vector<token_id>(out.begin() + std::ptrdiff_t(start), out.end()));
  }

  /// HF's BPE::merge_word: each character (with the continuing prefix after the first, the
  /// suffix on the last) is a token, or its UTF-8 bytes' <0xXX> tokens with byte_fallback, or
  /// the unknown token, which waits (fused with the next unknowns under fuse_unk) until a
  /// character of the vocabulary or the end of the word comes; then the merges, one at a time,
  /// lowest rank first and the leftmost of equal ranks, each as soon as it is formed (HF's
  /// word.rs merge_all: a heap of candidate pairs over a linked list of symbols).
  void merge_word(std::u32string_view piece, std::vector<token_id>& out) const {
    std::string sym;
    if (ignore_merges) {
      sym = encode_utf8(piece);
      if (token_id id = vocab.find(sym); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    std::vector<token_id> word;
    bool pending_unk = false;
    for (std::size_t i = 0; i < piece.size(); ++i) {
      sym.clear();
      if (i > 0) sym += prefix;
      append_utf8(sym, piece[i]);
      if (i + 1 == piece.size()) sym += suffix;
      if (token_id id = vocab.find(sym); id >= 0) {
        if (pending_unk) word.push_back(unk), pending_unk = false;
        word.push_back(id);
        continue;
      }
      if (byte_fallback && bytes.spell(sym, word)) continue;  // (a waiting unknown stays waiting, as in HF)
      if (unk < 0) continue;  // HF drops a character it cannot represent when there is no unk token
      if (pending_unk && !fuse_unk) word.push_back(unk);
      pending_unk = true;
    }
    if (pending_unk) word.push_back(unk);
    const std::size_t n = word.size();
    if (n > 1 && !merges.empty()) {
      std::vector<std::ptrdiff_t> prev(n), next(n);
      std::vector<char> alive(n, 1);
      for (std::size_t i = 0; i < n; ++i) prev[i] = std::ptrdiff_t(i) - 1, next[i] = i + 1 < n ? std::ptrdiff_t(i) + 1 : -1;
      struct candidate {
        int rank;
        std::size_t pos;
        token_id result;
        bool operator>(const candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
      };
      std::vector<candidate> heap;
      const auto push = [&](std::size_t pos) {
        if (next[pos] < 0) return;
        auto it = merges.find(key(word[pos], word[std::size_t(next[pos])]));
        if (it == merges.end()) return;
        heap.push_back({it->second.rank, pos, it->second.result});
        std::push_heap(heap.begin(), heap.end(), std::greater<>());
      };
      for (std::size_t i = 0; i + 1 < n; ++i) push(i);
      while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<>());
        const candidate c = heap.back();
        heap.pop_back();
        if (!alive[c.pos] || next[c.pos] < 0) continue;
        const auto right = std::size_t(next[c.pos]);
        auto it = merges.find(key(word[c.pos], word[right]));
        if (it == merges.end() || it->second.result != c.result) continue;  // a pair that has changed since
        word[c.pos] = c.result;
        alive[right] = 0;
        next[c.pos] = next[right];
        if (next[right] >= 0) prev[std::size_t(next[right])] = std::ptrdiff_t(c.pos);
        if (prev[c.pos] >= 0) push(std::size_t(prev[c.pos]));
        push(c.pos);
      }
      for (std::size_t i = 0; i < n; ++i)
        if (alive[i]) out.push_back(word[i]);
      return;
    }
    out.insert(out.end(), word.begin(), word.end());
  }
};

struct wordpiece_model final : model {
  token_id unk = -1;
  std::string prefix = "##";
  std::size_t max_chars = 100;
  void tokenize(std::u32string_view piece, std::vector<token_id>& out) const override {
    if (piece.empty()) return;
    if (piece.size() > max_chars) {
      out.push_back(unk);
      return;
    }
    const std::size_t mark = out.size();
    std::string sub;
    for (std::size_t start = 0; start < piece.size();) {
      token_id found = -1;
      std::size_t end = piece.size();
      for (; end > start; --end) {
        sub.clear();
        if (start > 0) sub += prefix;
        sub += encode_utf8(piece.substr(start, end - start));
        if ((found = vocab.find(sub)) >= 0) break;
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back(unk);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }
};

struct wordlevel_model final : model {
  token_id unk = -1;
  void tokenize(std::u32string_view piece, std::vector<token_id>& out) const override {
    if (piece.empty()) return;
    const token_id id = vocab.find(encode_utf8(piece));
    if (id >= 0) out.push_back(id);
    else if (unk >= 0) out.push_back(unk);
  }
};

/// The pieces of a vocabulary as a byte trie, for Unigram's common-prefix walk: one step per
/// byte from a start position, stopping where no piece continues (HF walks its trie the same
/// way). Nodes in breadth-first order, so each node's children are contiguous and sorted by byte.
struct piece_trie {
  std::vector<std::uint32_t> first;   ///< per node: its first child
  std::vector<std::uint16_t> count;   ///< per node: how many children (at most 256)
  std::vector<unsigned char> label;   ///< per node: the byte that leads to it
  std::vector<token_id> id;           ///< per node: the piece that ends here, or -1

  /// @p pieces: (UTF-8 piece, id), unique pieces; the empty piece is never matched.
  explicit piece_trie(std::vector<std::pair<std::string, token_id>> pieces = {}) {
    std::sort(pieces.begin(), pieces.end());
    add_node(0);
    struct range {
      std::uint32_t node;
      std::size_t lo, hi, depth;
    };
    std::vector<range> queue{{0, 0, pieces.size(), 0}};
    for (std::size_t q = 0; q < queue.size(); ++q) {
      auto [node, lo, hi, d] = queue[q];
      for (; lo < hi && pieces[lo].first.size() == d; ++lo)  // (one, as pieces are unique)
        if (d > 0) id[node] = pieces[lo].second;
      first[node] = static_cast<std::uint32_t>(label.size());
      std::uint16_t n = 0;
      for (std::size_t a = lo; a < hi; ++n) {
        const auto b = static_cast<unsigned char>(pieces[a].first[d]);
        std::size_t e = a + 1;
        while (e < hi && static_cast<unsigned char>(pieces[e].first[d]) == b) ++e;
        queue.push_back({add_node(b), a, e, d + 1});
        a = e;
      }
      count[node] = n;
    }
  }
  /// The child of @p node by byte @p b, or 0 (the root is no one's child).
  std::uint32_t child(std::uint32_t node, unsigned char b) const noexcept {
    const unsigned char* lo = label.data() + first[node];
    const unsigned char* hi = lo + count[node];
    const unsigned char* it = std::lower_bound(lo, hi, b);
    return it != hi && *it == b ? static_cast<std::uint32_t>(it - label.data()) : 0;
  }

 private:
  std::uint32_t add_node(unsigned char b) {
    first.push_back(0), count.push_back(0), label.push_back(b), id.push_back(-1);
    return static_cast<std::uint32_t>(label.size() - 1);
  }
};

/// Unigram (SentencePiece's unigram language model, as HF's `Unigram`): the segmentation of
/// highest total log-probability (Viterbi). A character no piece covers scores min − 10
/// (kUnkPenalty); a run of them is one piece: the unknown token, or with byte_fallback its
/// UTF-8 bytes' <0xXX> tokens when they all exist.
struct unigram_model final : model {
  std::vector<double> score;  ///< by id
  token_id unk = -1;
  bool byte_fallback = false;
  double unk_score = 0;
  byte_tokens bytes;
  piece_trie trie;
  static constexpr token_id unknown = -2;  ///< a path step over a character no piece covers

  void tokenize(std::u32string_view piece, std::vector<token_id>& out) const override {
    const std::size_t n = piece.size();
    if (n == 0) return;
    constexpr double none = -std::numeric_limits<double>::infinity();
    // Scratch reused across calls (one set per thread: tokenizers are shared between threads).
    thread_local std::vector<double> best;
    thread_local std::vector<std::size_t> from;
    thread_local std::vector<token_id> via;
    best.assign(n + 1, none);
    from.assign(n + 1, 0);
    via.assign(n + 1, -1);
    best[0] = 0;
    std::string cp;
    for (std::size_t i = 0; i < n; ++i) {
      if (best[i] == none) continue;
      bool single = false;
      std::uint32_t node = 0;
      for (std::size_t j = i; j < n; ++j) {  // the pieces piece[i..j], while the trie goes on
        cp.clear();
        append_utf8(cp, piece[j]);
        for (char b : cp)
          if ((node = trie.child(node, static_cast<unsigned char>(b))) == 0) break;
        if (node == 0) break;
        const token_id id = trie.id[node];
        if (id < 0) continue;
        if (j == i) single = true;
        const double s = best[i] + score[std::size_t(id)];
        if (s > best[j + 1]) best[j + 1] = s, from[j + 1] = i, via[j + 1] = id;
      }
      if (!single) {  // the character alone as an unknown piece
        const double s = best[i] + unk_score;
        if (s > best[i + 1]) best[i + 1] = s, from[i + 1] = i, via[i + 1] = unknown;
      }
    }
    std::vector<std::pair<std::size_t, token_id>> path;  // (start, id or `unknown`)
    for (std::size_t e = n; e > 0; e = from[e]) path.emplace_back(from[e], via[e]);
    std::reverse(path.begin(), path.end());
    // Consecutive unknown characters are one piece (HF's encode_optimized fuses them), which is
    // then looked up, or spelled in <0xXX> tokens with byte_fallback, or the unknown token.
    for (std::size_t k = 0; k < path.size();) {
      if (path[k].second != unknown) {
        out.push_back(path[k++].second);
        continue;
      }
      std::size_t e = k + 1;
      while (e < path.size() && path[e].second == unknown) ++e;
      const std::size_t end = e < path.size() ? path[e].first : n;
      const std::string text = encode_utf8(piece.substr(path[k].first, end - path[k].first));
      if (token_id id = vocab.find(text); id >= 0) {
        out.push_back(id);
      } else if (!(byte_fallback && bytes.spell(text, out))) {
        out.push_back(unk);
      }
      k = e;
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Decoders: a list of token strings to a list of strings, joined at the end.

struct decoder {
  virtual ~decoder() = default;
  virtual void apply(std::vector<std::string>& t) const = 0;
};

struct byte_level_dec final : decoder {
  std::unordered_map<char32_t, unsigned char> u2b;
  byte_level_dec() {
    const auto b2u = bytes_to_unicode();
    for (int b = 0; b < 256; ++b) u2b.emplace(b2u[std::size_t(b)], static_cast<unsigned char>(b));
  }
  void apply(std::vector<std::string>& t) const override {
    std::string bytes;
    for (const auto& tok : t) {
      std::string mine;
      bool all = true;
      for (char32_t c : decode_utf8(tok)) {
        auto it = u2b.find(c);
        if (it == u2b.end()) {
          all = false;
          break;
        }
        mine.push_back(char(it->second));
      }
      bytes += all ? mine : tok;  // a token outside the byte alphabet (an added token): as written
    }
    t.assign(1, lossy_utf8(bytes));
  }
  /// String::from_utf8_lossy: each maximal prefix of a valid sequence that is cut short, and
  /// each byte that starts none, becomes one U+FFFD (Unicode's "maximal subparts").
  static std::string lossy_utf8(const std::string& b) {
    std::string out;
    std::size_t i = 0;
    while (i < b.size()) {
      const auto c = static_cast<unsigned char>(b[i]);
      std::size_t need = 0;
      unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
      if (c < 0x80) need = 0;
      else if (c >= 0xc2 && c <= 0xdf) need = 1;
      else if (c == 0xe0) need = 2, lo = 0xa0;
      else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) need = 2;
      else if (c == 0xed) need = 2, hi = 0x9f;
      else if (c == 0xf0) need = 3, lo = 0x90;
      else if (c >= 0xf1 && c <= 0xf3) need = 3;
      else if (c == 0xf4) need = 3, hi = 0x8f;
      else {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
      std::size_t k = 1;
      for (; k <= need && i + k < b.size(); ++k) {
        const auto d = static_cast<unsigned char>(b[i + k]);
        if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xbf)) break;
      }
      if (k == need + 1) out.append(b, i, k);
      else out += "\xEF\xBF\xBD";
      i += k;
    }
    return out;
  }
};

inline void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  std::size_t i = s.find(from);
  if (i == std::string::npos) return;
  std::string out;  // built afresh (GCC 12 warns falsely of overlap in an in-place replace)
  out.reserve(s.size());
  std::size_t prev = 0;
  for (; i != std::string::npos; i = s.find(from, prev)) {
    out.append(s, prev, i - prev);
    out.append(to);
    prev = i + from.size();
  }
  out.append(s, prev, std::string::npos);
  s.swap(out);
}

struct wordpiece_dec final : decoder {
  std::string prefix = "##";
  bool cleanup = true;
  void apply(std::vector<std::string>& t) const override {
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (i > 0) {
        if (t[i].rfind(prefix, 0) == 0) t[i] = t[i].substr(prefix.size());
        else t[i] = " " + t[i];  // (not insert: GCC 12 warns falsely of an overlapping copy)
      }
      if (cleanup) {
        for (auto [a, b] : {std::pair{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
                            {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}})
          replace_all(t[i], a, b);
      }
    }
  }
};

struct metaspace_dec final : decoder {
  std::string replacement = "\u2581";
  bool strip_first = true;  ///< prepend_scheme other than "never"
  void apply(std::vector<std::string>& t) const override {
    for (std::size_t i = 0; i < t.size(); ++i)  // HF drops every replacement of the first token
      replace_all(t[i], replacement, i == 0 && strip_first ? "" : " ");
  }
};

struct bpe_dec final : decoder {
  std::string suffix = "</w>";
  void apply(std::vector<std::string>& t) const override {
    for (std::size_t i = 0; i < t.size(); ++i) replace_all(t[i], suffix, i + 1 == t.size() ? "" : " ");
  }
};

struct replace_dec final : decoder {
  pattern pat;
  std::u32string content;
  void apply(std::vector<std::string>& t) const override {
    replace_normalizer r;
    r.pat = pat;
    r.content = content;
    for (auto& s : t) {
      std::u32string u = decode_utf8(s);
      r.apply(u);
      s = encode_utf8(u);
    }
  }
};

struct byte_fallback_dec final : decoder {
  void apply(std::vector<std::string>& t) const override {
    std::vector<std::string> out;
    std::string pending;  // bytes of consecutive <0xXX> tokens
    std::size_t pending_tokens = 0;
    const auto flush = [&] {
      if (pending_tokens == 0) return;
      bool valid = true;
      try {
        decode_utf8(pending);
      } catch (const format_error&) {
        valid = false;
      }
      if (valid) out.push_back(pending);
      else
        for (std::size_t k = 0; k < pending_tokens; ++k) out.push_back("\xEF\xBF\xBD");
      pending.clear();
      pending_tokens = 0;
    };
    for (auto& tok : t) {
      const auto hex = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      };
      if (tok.size() == 6 && tok.rfind("<0x", 0) == 0 && tok[5] == '>' && hex(tok[3]) >= 0 && hex(tok[4]) >= 0) {
        pending.push_back(char(hex(tok[3]) * 16 + hex(tok[4])));
        ++pending_tokens;
        continue;
      }
      flush();
      out.push_back(std::move(tok));
    }
    flush();
    t.swap(out);
  }
};

struct fuse_dec final : decoder {
  void apply(std::vector<std::string>& t) const override {
    std::string all;
    for (const auto& s : t) all += s;
    t.assign(1, all);
  }
};

struct strip_dec final : decoder {
  char32_t content = U' ';
  std::size_t start = 0, stop = 0;
  void apply(std::vector<std::string>& t) const override {
    for (auto& s : t) {
      std::u32string u = decode_utf8(s);
      std::size_t b = 0, e = u.size();
      for (std::size_t k = 0; k < start && b < e && u[b] == content; ++k) ++b;
      for (std::size_t k = 0; k < stop && e > b && u[e - 1] == content; ++k) --e;
      s = encode_utf8(std::u32string_view(u).substr(b, e - b));
    }
  }
};

struct sequence_dec final : decoder {
  std::vector<std::unique_ptr<decoder>> steps;
  void apply(std::vector<std::string>& t) const override {
    for (const auto& d : steps) d->apply(t);
  }
};

// ---------------------------------------------------------------------------------------------
// Post-processors: a template of special tokens around one or two sequences.

struct template_piece {
  bool is_sequence = false;
  int sequence = 0;                 ///< 0 = A, 1 = B
  std::vector<token_id> ids;        ///< a special token's ids
  token_id type_id = 0;
};
struct post_template {
  std::vector<template_piece> single, pair;
  bool has_pair = false;
};

/// Strings over code points in a trie, for leftmost-longest matching of the added tokens (HF uses
/// an Aho-Corasick automaton with the same matches).
struct token_trie {
  struct node {
    std::vector<std::pair<char32_t, std::uint32_t>> next;  ///< sorted by code point once built
    std::int32_t token = -1;
  };
  std::vector<node> nodes = std::vector<node>(1);

  bool empty() const noexcept { return nodes.size() == 1; }
  /// Adds @p s for @p token (the first token of a string keeps it).
  void add(std::u32string_view s, std::int32_t token) {
    std::uint32_t n = 0;
    for (char32_t c : s) {
      std::uint32_t child = 0;
      for (const auto& [k, v] : nodes[n].next)
        if (k == c) child = v;
      if (child == 0) {
        child = std::uint32_t(nodes.size());
        nodes[n].next.emplace_back(c, child);
        nodes.emplace_back();
      }
      n = child;
    }
    if (nodes[n].token < 0) nodes[n].token = token;
  }
  void finish() {
    for (auto& nd : nodes) std::sort(nd.next.begin(), nd.next.end());
  }
  /// The longest string starting at s[i]: {token, end}, or {-1, i}.
  std::pair<std::int32_t, std::size_t> longest(std::u32string_view s, std::size_t i) const {
    std::pair<std::int32_t, std::size_t> best{-1, i};
    std::uint32_t n = 0;
    for (std::size_t k = i; k < s.size(); ++k) {
      const auto& nx = nodes[n].next;
      auto it = std::lower_bound(nx.begin(), nx.end(), std::pair<char32_t, std::uint32_t>{s[k], 0});
      if (it == nx.end() || it->first != s[k]) break;
      n = it->second;
      if (nodes[n].token >= 0) best = {nodes[n].token, k + 1};
    }
    return best;
  }
};

}  // namespace tj_detail

/// A tokenizer built from a Hugging Face `tokenizer.json`. Thread-safe: `encode` and `decode`
/// are const; the only state they touch is the BPE model's cache of merged pieces, behind a
/// mutex, so one instance serves many threads.
class hf_tokenizer {
 public:
  /// Loads and validates @p path. Throws io_error, or format_error naming the file and the
  /// field (its JSON path), what was expected and what was found, for a malformed file or any
  /// component or option this implementation does not have.
  static hf_tokenizer from_file(const std::filesystem::path& path) { return hf_tokenizer(io::read_json(path), path.string()); }

  /// From a parsed file (@p file names it in errors).
  hf_tokenizer(const nlohmann::json& j, std::string file) {
    r_.file = std::move(file);
    r_.only(j, "tokenizer.json", {"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer", "model",
                                  "post_processor", "decoder"});
    read_model(r_.member(j, "model", "tokenizer.json"));
    vocab_size_ = model_->vocab.tokens.size();
    if (const auto* n = r_.optional(j, "normalizer")) normalizer_ = read_normalizer(*n, "normalizer");
    if (const auto* a = r_.optional(j, "added_tokens")) read_added(*a);
    if (const auto* p = r_.optional(j, "pre_tokenizer")) pre_ = read_pre(*p, "pre_tokenizer");
    if (const auto* p = r_.optional(j, "post_processor")) read_post(*p, "post_processor");
    if (const auto* d = r_.optional(j, "decoder")) decoder_ = read_decoder(*d, "decoder");
    if (const auto* t = r_.optional(j, "truncation")) read_truncation(*t);
    if (const auto* p = r_.optional(j, "padding")) {
      r_.only(*p, "padding", {"strategy", "direction", "pad_to_multiple_of", "pad_id", "pad_type_id", "pad_token"});
      const auto& s = r_.member(*p, "strategy", "padding");
      if (!(s.is_string() && s.get<std::string>() == "BatchLongest"))
        r_.fail("padding.strategy", "\"BatchLongest\" (a fixed length pads single inputs: not implemented)", s.dump());
      if (const auto* m = r_.optional(*p, "pad_to_multiple_of"))
        r_.fail("padding.pad_to_multiple_of", "null (not implemented)", m->dump());
    }
  }

  /// Ids of one text, with the post-processor's special tokens when @p add_special_tokens.
  /// @p max_length (0: the file's truncation alone) truncates to at most that many ids, special
  /// tokens included, as HF's `truncation=True, max_length=…` does (the file's direction; the
  /// smaller of the two limits when the file sets one). Throws format_error for invalid UTF-8.
  encoding encode(std::string_view text, bool add_special_tokens = true, std::size_t max_length = 0) const {
    std::vector<token_id> a = tokenize(text);
    truncate(a, nullptr, add_special_tokens, max_length);
    return post_process(a, nullptr, add_special_tokens);
  }
  /// Ids of a pair (a question and a passage, a query and a document): the post-processor's
  /// pair template, token types 0 and 1 as it assigns them; @p max_length as for encode (the
  /// file's strategy, HF's longest-first when it sets none).
  encoding encode_pair(std::string_view first, std::string_view second, bool add_special_tokens = true,
                       std::size_t max_length = 0) const {
    std::vector<token_id> a = tokenize(first), b = tokenize(second);
    truncate(a, &b, add_special_tokens, max_length);
    return post_process(a, &b, add_special_tokens);
  }

  /// Text of @p ids through the decoder; the special added tokens left out when
  /// @p skip_special_tokens. Throws shape_error for an id outside the vocabulary.
  std::string decode(std::span<const token_id> ids, bool skip_special_tokens = false) const {
    std::vector<std::string> toks;
    toks.reserve(ids.size());
    for (token_id id : ids) {
      if (skip_special_tokens && special_.count(id)) continue;
      toks.push_back(id_to_token(id));
    }
    if (decoder_) decoder_->apply(toks);
    else if (!toks.empty()) {
      std::string joined = toks[0];
      for (std::size_t i = 1; i < toks.size(); ++i) joined += " " + toks[i];
      return joined;
    }
    std::string out;
    for (const auto& t : toks) out += t;
    return out;
  }

  /// Number of ids: one past the largest id of the model and the added tokens.
  std::size_t vocab_size() const noexcept { return vocab_size_; }
  /// Id of a token (added or of the model), or -1.
  token_id token_to_id(const std::string& t) const {
    if (auto it = added_by_content_.find(t); it != added_by_content_.end()) return it->second;
    return model_->vocab.find(t);
  }
  /// The token string of @p id (an added token's content, normalized where it is matched on
  /// normalized text). Throws shape_error for an id no token has.
  const std::string& id_to_token(token_id id) const {
    if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return it->second;
    const auto& t = model_->vocab.tokens;
    if (id < 0 || std::size_t(id) >= t.size() || t[std::size_t(id)].empty())
      throw_error<shape_error>(tj_detail::where, "token id", "an id of the vocabulary (0.." + std::to_string(vocab_size_) + ")",
                               std::to_string(id));
    return t[std::size_t(id)];
  }
  /// Whether @p id is an added token marked special (left out by decode's skip_special_tokens).
  bool is_special(token_id id) const { return special_.count(id) > 0; }
  /// The number of special tokens the post-processor adds to one input (@p pair: to two).
  std::size_t num_special_tokens(bool pair = false) const {
    std::size_t n = 0;
    for (const auto& p : pair ? post_.pair : post_.single)
      if (!p.is_sequence) n += p.ids.size();
    return n;
  }

 private:
  struct added_token {
    std::u32string content;
    token_id id;
    bool single_word, lstrip, rstrip, normalized, special;
  };
  struct segment {
    std::u32string text;
    token_id added = -1;  ///< an added token's id, or -1 for text to tokenize
    bool at_start = false;
  };

  // -- encode ------------------------------------------------------------------------------

  std::vector<token_id> tokenize(std::string_view text) const {
    const std::u32string s = decode_utf8(text, "input text");
    std::vector<segment> raw = split_added({segment{s, -1, true}}, false);
    std::vector<token_id> ids;
    for (auto& seg : raw) {
      if (seg.added >= 0) {
        ids.push_back(seg.added);
        continue;
      }
      if (normalizer_) normalizer_->apply(seg.text);
      for (auto& sub : split_added({std::move(seg)}, true)) {
        if (sub.added >= 0) {
          ids.push_back(sub.added);
          continue;
        }
        if (sub.text.empty()) continue;
        tj_detail::pieces p;
        p.text.push_back(std::move(sub.text));
        p.starts_input = sub.at_start;
        if (pre_) pre_->apply(p);
        for (const auto& piece : p.text) model_->tokenize(piece, ids);
      }
    }
    return ids;
  }

  /// Splits each text segment at the added tokens whose `normalized` flag is @p normalized:
  /// leftmost match first, the longest of those starting there (a single_word token touching a
  /// word character is skipped over, not shortened); lstrip and rstrip as HF's AddedVocabulary
  /// applies them.
  std::vector<segment> split_added(std::vector<segment> in, bool normalized) const {
    const auto& trie = normalized ? added_normalized_ : added_raw_;
    if (trie.empty()) return in;
    std::vector<segment> out;
    for (auto& seg : in) {
      if (seg.added >= 0) {
        out.push_back(std::move(seg));
        continue;
      }
      const std::u32string& s = seg.text;
      std::size_t prev = 0, i = 0;
      bool first = seg.at_start;
      while (i < s.size()) {
        const auto [index, end] = trie.longest(s, i);
        if (index < 0) {
          ++i;
          continue;
        }
        const added_token* hit = &added_[std::size_t(index)];
        if (hit->single_word && ((i > 0 && word_char(s[i - 1])) || (end < s.size() && word_char(s[end])))) {
          i = end;  // rejected: as HF's non-overlapping search, the next match starts after it
          continue;
        }
        std::size_t b = i, e = i + hit->content.size();
        if (hit->lstrip)
          while (b > prev && tj_detail::is_white_space(s[b - 1])) --b;
        if (hit->rstrip)
          while (e < s.size() && tj_detail::is_white_space(s[e])) ++e;
        if (b > prev) out.push_back(segment{s.substr(prev, b - prev), -1, first});
        out.push_back(segment{{}, hit->id, false});
        first = false;
        prev = i = e;
      }
      if (prev < s.size()) out.push_back(segment{s.substr(prev), -1, first});
    }
    return out;
  }
  /// Rust regex's \w, what HF's single_word tests (UTS #18: the Word property and the joiners).
  static bool word_char(char32_t c) { return unicode::is_word(c) || c == 0x200c || c == 0x200d; }

  void truncate(std::vector<token_id>& a, std::vector<token_id>* b, bool add_special, std::size_t max_length) const {
    if (!max_length_ && max_length == 0) return;
    const std::size_t max = !max_length_ ? max_length : max_length == 0 ? *max_length_ : std::min(*max_length_, max_length);
    const std::size_t added = add_special ? num_special_tokens(b != nullptr) : 0;
    const std::size_t limit = max > added ? max - added : 0;
    std::size_t na = a.size(), nb = b ? b->size() : 0;
    if (na + nb <= limit) return;
    const std::size_t remove = na + nb - limit;
    if (!b || strategy_ == truncation_strategy::only_first) {
      na -= std::min(na, remove);
    } else if (strategy_ == truncation_strategy::only_second) {
      nb -= std::min(nb, remove);
    } else {  // HF's longest first: the shorter kept whole if the longer can take the cut, else halves
      std::size_t n1 = std::min(na, nb), n2 = std::max(na, nb);
      n2 = n1 > limit ? n1 : std::max(n1, limit - n1);
      if (n1 + n2 > limit) n1 = limit / 2, n2 = n1 + limit % 2;
      if (na > nb) std::swap(n1, n2);
      na = std::min(na, n1), nb = std::min(nb, n2);
    }
    const auto cut = [&](std::vector<token_id>& v, std::size_t keep) {
      if (truncate_left_) v.erase(v.begin(), v.end() - std::ptrdiff_t(keep));
      else v.resize(keep);
    };
    cut(a, na);
    if (b) cut(*b, nb);
  }

  encoding post_process(const std::vector<token_id>& a, const std::vector<token_id>* b, bool add_special) const {
    encoding e;
    if (!has_post_) {  // no template: the pieces as they are, the second of type 1
      e.ids = a;
      e.token_types.assign(a.size(), 0);
      if (b) {
        e.ids.insert(e.ids.end(), b->begin(), b->end());
        e.token_types.insert(e.token_types.end(), b->size(), 1);
      }
      return e;
    }
    // The template's sequences with their type ids; its special tokens only when asked for (HF
    // applies the template's types either way).
    for (const auto& p : b ? post_.pair : post_.single) {
      if (!p.is_sequence && !add_special) continue;
      const std::vector<token_id>& src = p.is_sequence ? (p.sequence == 0 ? a : *b) : p.ids;
      e.ids.insert(e.ids.end(), src.begin(), src.end());
      e.token_types.insert(e.token_types.end(), src.size(), p.type_id);
    }
    return e;
  }

  // -- reading -----------------------------------------------------------------------------

  void read_model(const nlohmann::json& m) {
    using namespace tj_detail;
    const std::string type = r_.string(m, "type", "model");
    if (type == "BPE") {
      r_.only(m, "model", {"type", "dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                           "byte_fallback", "ignore_merges", "vocab", "merges"});
      if (const auto* d = r_.optional(m, "dropout"); d && !(d->is_number() && d->get<double>() == 0.0))
        r_.fail("model.dropout", "null or 0 (dropout samples segmentations: training only)", d->dump());
      auto bpe = std::make_unique<bpe_model>();
      bpe->vocab.read_map(r_, r_.member(m, "vocab", "model"), "model.vocab");
      bpe->prefix = r_.string_or(m, "continuing_subword_prefix", "model", "");
      bpe->suffix = r_.string_or(m, "end_of_word_suffix", "model", "");
      bpe->fuse_unk = r_.boolean_or(m, "fuse_unk", "model", false);
      bpe->byte_fallback = r_.boolean_or(m, "byte_fallback", "model", false);
      bpe->ignore_merges = r_.boolean_or(m, "ignore_merges", "model", false);
      if (const auto* u = r_.optional(m, "unk_token")) {
        if (!u->is_string()) r_.fail("model.unk_token", "a string", u->type_name());
        bpe->unk = bpe->vocab.find(u->get<std::string>());
        if (bpe->unk < 0) r_.fail("model.unk_token", "a token of model.vocab", "'" + u->get<std::string>() + "'");
      }
      bpe->bytes = byte_tokens(bpe->vocab);
      const auto& merges = r_.member(m, "merges", "model");
      if (!merges.is_array()) r_.fail("model.merges", "an array", merges.type_name());
      bpe->merges.reserve(merges.size());
      std::string left, right, joined;
      for (std::size_t i = 0; i < merges.size(); ++i) {
        const auto& e = merges[i];
        struct lazy_path {  // "model.merges[i]", spelled only for an error
          std::size_t i;
          operator std::string() const { return "model.merges[" + std::to_string(i) + "]"; }
        } path{i};
        if (e.is_string()) {
          const std::string& s = e.get_ref<const std::string&>();
          const auto sp = s.find(' ');
          if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) r_.fail(path, "\"left right\"", "'" + s + "'");
          left = s.substr(0, sp), right = s.substr(sp + 1);
        } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
          left = e[0].get_ref<const std::string&>(), right = e[1].get_ref<const std::string&>();
        } else {
          r_.fail(path, "\"left right\" or [\"left\", \"right\"]", e.dump());
        }
        const token_id a = bpe->vocab.find(left), b = bpe->vocab.find(right);
        if (a < 0 || b < 0) r_.fail(path, "two tokens of model.vocab", "'" + (a < 0 ? left : right) + "', not in it");
        joined.assign(left);
        if (!bpe->prefix.empty() && right.rfind(bpe->prefix, 0) == 0) joined.append(right, bpe->prefix.size());
        else joined.append(right);
        const token_id res = bpe->vocab.find(joined);
        if (res < 0) r_.fail(path, "a merge whose result is in model.vocab", "'" + joined + "', which is not");
        bpe->merges.insert_or_assign(bpe_model::key(a, b), bpe_model::merge{int(i), res});  // the last of duplicates wins, as in HF
      }
      model_ = std::move(bpe);
    } else if (type == "WordPiece") {
      r_.only(m, "model", {"type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"});
      auto wp = std::make_unique<wordpiece_model>();
      wp->vocab.read_map(r_, r_.member(m, "vocab", "model"), "model.vocab");
      wp->prefix = r_.string_or(m, "continuing_subword_prefix", "model", "##");
      if (const auto* n = r_.optional(m, "max_input_chars_per_word"))
        wp->max_chars = std::size_t(r_.integer(*n, "model.max_input_chars_per_word", 1, 1 << 30));
      const std::string unk = r_.string_or(m, "unk_token", "model", "[UNK]");
      wp->unk = wp->vocab.find(unk);
      if (wp->unk < 0) r_.fail("model.unk_token", "a token of model.vocab", "'" + unk + "'");
      model_ = std::move(wp);
    } else if (type == "WordLevel") {
      r_.only(m, "model", {"type", "unk_token", "vocab"});
      auto wl = std::make_unique<wordlevel_model>();
      wl->vocab.read_map(r_, r_.member(m, "vocab", "model"), "model.vocab");
      const std::string unk = r_.string(m, "unk_token", "model");  // required, as in HF
      wl->unk = wl->vocab.find(unk);
      if (wl->unk < 0) r_.fail("model.unk_token", "a token of model.vocab", "'" + unk + "'");
      model_ = std::move(wl);
    } else if (type == "Unigram") {
      r_.only(m, "model", {"type", "unk_id", "vocab", "byte_fallback"});
      auto ug = std::make_unique<unigram_model>();
      const auto& v = r_.member(m, "vocab", "model");
      if (!v.is_array()) r_.fail("model.vocab", "an array of [piece, score]", v.type_name());
      double min_score = 0;
      for (std::size_t i = 0; i < v.size(); ++i) {
        const auto& e = v[i];
        const std::string path = "model.vocab[" + std::to_string(i) + "]";
        if (!(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number()))
          r_.fail(path, "[piece, score]", e.dump());
        const std::string piece = e[0].get<std::string>();
        r_.u32(piece, path);
        ug->vocab.add(r_, path, piece, token_id(i));
        const double s = e[1].get<double>();
        if (!std::isfinite(s)) r_.fail(path, "a finite score", e[1].dump());
        ug->score.push_back(s);
        min_score = i == 0 ? s : std::min(min_score, s);
      }
      ug->unk_score = min_score - 10.0;
      ug->byte_fallback = r_.boolean_or(m, "byte_fallback", "model", false);
      if (const auto* u = r_.optional(m, "unk_id")) ug->unk = token_id(r_.integer(*u, "model.unk_id", 0, std::int64_t(v.size()) - 1));
      else r_.fail("model.unk_id", "the id of the unknown piece", "null (a text with an unknown character could not be encoded)");
      ug->bytes = byte_tokens(ug->vocab);
      std::vector<std::pair<std::string, token_id>> pieces;
      pieces.reserve(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) pieces.emplace_back(ug->vocab.tokens[i], token_id(i));
      ug->trie = piece_trie(std::move(pieces));
      model_ = std::move(ug);
    } else {
      r_.fail("model.type", "BPE, WordPiece, WordLevel or Unigram", "'" + type + "' (not implemented)");
    }
  }

  void read_added(const nlohmann::json& a) {
    if (!a.is_array()) r_.fail("added_tokens", "an array", a.type_name());
    added_.reserve(a.size());
    token_id max_added = -1, next_free = token_id(model_->vocab.ids.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string path = "added_tokens[" + std::to_string(i) + "]";
      const auto& t = a[i];
      r_.only(t, path, {"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
      added_token tok;
      tok.id = r_.id(r_.member(t, "id", path), path + ".id");
      const std::string content = r_.string(t, "content", path);
      tok.content = r_.u32(content, path + ".content");
      if (tok.content.empty()) r_.fail(path + ".content", "a non-empty string", "\"\"");
      tok.single_word = r_.boolean_or(t, "single_word", path, false);
      tok.lstrip = r_.boolean_or(t, "lstrip", path, false);
      tok.rstrip = r_.boolean_or(t, "rstrip", path, false);
      tok.special = r_.boolean_or(t, "special", path, false);
      tok.normalized = r_.boolean_or(t, "normalized", path, !tok.special);
      // An added token's id may be the model's id of the same token, or one beyond the model's
      // vocabulary. The model itself knows only its own vocabulary (as in HF's Rust library), so
      // an added token is found only by the matching below, never inside a word.
      // HF assigns the id itself (added_vocabulary.rs add_tokens): the model's id of the same
      // token, else the next one free after the vocabulary and the added tokens before it. A
      // file whose id differs would be read differently by HF and by a reader that takes the
      // file's word: rejected.
      const token_id model_id = model_->vocab.find(content);
      const token_id expected = model_id >= 0 ? model_id : next_free;
      if (tok.id != expected)
        r_.fail(path + ".id",
                std::to_string(expected) + (model_id >= 0 ? " (the model's id of '" + content + "')" : " (the next free id)"),
                std::to_string(tok.id));
      max_added = std::max(max_added, tok.id);
      next_free = std::max(token_id(model_->vocab.ids.size()), max_added + 1);
      if (tok.normalized && normalizer_) {  // matched on normalized text, so its content is normalized too
        normalizer_->apply(tok.content);
        if (tok.content.empty()) r_.fail(path + ".content", "a token the normalizer leaves non-empty", "'" + content + "'");
      }
      added_by_id_[tok.id] = encode_utf8(tok.content);
      vocab_size_ = std::max(vocab_size_, std::size_t(tok.id) + 1);
      added_by_content_[content] = tok.id;
      if (tok.special) special_.insert(tok.id);
      added_.push_back(std::move(tok));
    }
    for (std::size_t i = 0; i < added_.size(); ++i)
      (added_[i].normalized ? added_normalized_ : added_raw_).add(added_[i].content, std::int32_t(i));
    added_normalized_.finish();
    added_raw_.finish();
  }

  std::unique_ptr<tj_detail::normalizer> read_normalizer(const nlohmann::json& n, const std::string& path, int depth = 0) {
    if (depth > max_depth) r_.fail(path, "Sequences nested at most " + std::to_string(max_depth) + " deep", "deeper");
    using namespace tj_detail;
    const std::string type = r_.string(n, "type", path);
    if (type == "Sequence") {
      r_.only(n, path, {"type", "normalizers"});
      auto seq = std::make_unique<sequence_normalizer>();
      each_of(n, "normalizers", path, [&](const nlohmann::json& e, const std::string& ep) { seq->steps.push_back(read_normalizer(e, ep, depth + 1)); });
      return seq;
    }
    if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
      r_.only(n, path, {"type"});
      return std::make_unique<nf_normalizer>(type == "NFC"   ? unicode::normal_form::nfc
                                             : type == "NFD" ? unicode::normal_form::nfd
                                             : type == "NFKC" ? unicode::normal_form::nfkc
                                                              : unicode::normal_form::nfkd);
    }
    if (type == "Lowercase") {
      r_.only(n, path, {"type"});
      return std::make_unique<lowercase_normalizer>();
    }
    if (type == "StripAccents") {
      r_.only(n, path, {"type"});
      return std::make_unique<strip_accents_normalizer>();
    }
    if (type == "BertNormalizer") {
      r_.only(n, path, {"type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase"});
      auto b = std::make_unique<bert_normalizer>();
      b->clean_text = r_.boolean_or(n, "clean_text", path, true);
      b->chinese = r_.boolean_or(n, "handle_chinese_chars", path, true);
      b->lowercase = r_.boolean_or(n, "lowercase", path, true);
      b->strip_accents = r_.boolean_or(n, "strip_accents", path, b->lowercase);  // null: as lowercase
      return b;
    }
    if (type == "Replace") {
      r_.only(n, path, {"type", "pattern", "content"});
      auto rep = std::make_unique<replace_normalizer>();
      rep->pat = pattern::from(r_, r_.member(n, "pattern", path), path + ".pattern");
      rep->content = r_.u32(r_.string(n, "content", path), path + ".content");
      return rep;
    }
    if (type == "Prepend") {
      r_.only(n, path, {"type", "prepend"});
      auto p = std::make_unique<prepend_normalizer>();
      p->prefix = r_.u32(r_.string(n, "prepend", path), path + ".prepend");
      return p;
    }
    if (type == "Strip") {
      r_.only(n, path, {"type", "strip_left", "strip_right"});
      auto s = std::make_unique<strip_normalizer>();
      s->left = r_.boolean_or(n, "strip_left", path, true);
      s->right = r_.boolean_or(n, "strip_right", path, true);
      return s;
    }
    if (type == "Precompiled") {
      r_.only(n, path, {"type", "precompiled_charsmap"});
      const std::string field = path + ".precompiled_charsmap";
      const std::string blob = decode_base64(r_.string(n, "precompiled_charsmap", path), field, r_.file);
      return std::make_unique<precompiled_normalizer>(precompiled_charsmap(blob, field, r_.file));
    }
    r_.fail(path + ".type", "NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, BertNormalizer, Replace, Prepend, Strip, Precompiled or Sequence",
            "'" + type + "' (not implemented)");
  }

  std::unique_ptr<tj_detail::pre_tokenizer> read_pre(const nlohmann::json& p, const std::string& path, int depth = 0) {
    if (depth > max_depth) r_.fail(path, "Sequences nested at most " + std::to_string(max_depth) + " deep", "deeper");
    using namespace tj_detail;
    const std::string type = r_.string(p, "type", path);
    if (type == "Sequence") {
      r_.only(p, path, {"type", "pretokenizers"});
      auto seq = std::make_unique<sequence_pre>();
      each_of(p, "pretokenizers", path, [&](const nlohmann::json& e, const std::string& ep) { seq->steps.push_back(read_pre(e, ep, depth + 1)); });
      return seq;
    }
    if (type == "ByteLevel") {
      r_.only(p, path, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
      auto b = std::make_unique<byte_level_pre>();
      b->add_prefix_space = r_.boolean_or(p, "add_prefix_space", path, true);
      b->use_regex = r_.boolean_or(p, "use_regex", path, true);
      return b;  // trim_offsets moves offsets only
    }
    if (type == "Split") {
      r_.only(p, path, {"type", "pattern", "behavior", "invert"});
      auto s = std::make_unique<split_pre>();
      s->pat = pattern::from(r_, r_.member(p, "pattern", path), path + ".pattern");
      s->how = behavior_from(r_, p, path);
      s->invert = r_.boolean_or(p, "invert", path, false);
      return s;
    }
    if (type == "Metaspace") {
      r_.only(p, path, {"type", "replacement", "str_rep", "add_prefix_space", "prepend_scheme", "split"});
      auto m = std::make_unique<metaspace_pre>();
      m->replacement = metaspace_replacement(p, path);
      m->prepend = metaspace_scheme(p, path);
      m->split = r_.boolean_or(p, "split", path, true);
      return m;
    }
    if (type == "Whitespace") {
      r_.only(p, path, {"type"});
      return std::make_unique<whitespace_pre>();
    }
    auto c = std::make_unique<char_split_pre>();
    if (type == "WhitespaceSplit") {
      r_.only(p, path, {"type"});
      c->what = char_split_pre::kind::whitespace;
    } else if (type == "BertPreTokenizer") {
      r_.only(p, path, {"type"});
      c->what = char_split_pre::kind::bert;
    } else if (type == "Digits") {
      r_.only(p, path, {"type", "individual_digits"});
      c->what = char_split_pre::kind::digits;
      c->individual = r_.boolean_or(p, "individual_digits", path, false);
    } else if (type == "Punctuation") {
      r_.only(p, path, {"type", "behavior"});
      c->what = char_split_pre::kind::punctuation;
      c->how = r_.optional(p, "behavior") ? behavior_from(r_, p, path) : split_behavior::isolated;
    } else if (type == "CharDelimiterSplit") {
      r_.only(p, path, {"type", "delimiter"});
      c->what = char_split_pre::kind::delimiter;
      const std::u32string d = r_.u32(r_.string(p, "delimiter", path), path + ".delimiter");
      if (d.size() != 1) r_.fail(path + ".delimiter", "one character", std::to_string(d.size()) + " characters");
      c->delimiter = d[0];
    } else {
      r_.fail(path + ".type",
              "ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer, Digits, Punctuation, "
              "CharDelimiterSplit or Sequence",
              "'" + type + "' (not implemented)");
    }
    return c;
  }

  char32_t metaspace_replacement(const nlohmann::json& p, const std::string& path) const {
    const std::u32string rep = r_.u32(r_.string_or(p, "replacement", path, "\u2581"), path + ".replacement");
    if (rep.size() != 1) r_.fail(path + ".replacement", "one character", std::to_string(rep.size()) + " characters");
    return rep[0];
  }
  tj_detail::metaspace_pre::scheme metaspace_scheme(const nlohmann::json& p, const std::string& path) const {
    using scheme = tj_detail::metaspace_pre::scheme;
    if (const auto* s = r_.optional(p, "prepend_scheme")) {
      const std::string v = s->is_string() ? s->get<std::string>() : s->dump();
      if (v == "always") return scheme::always;
      if (v == "first") return scheme::first;
      if (v == "never") return scheme::never;
      r_.fail(path + ".prepend_scheme", "always, first or never", v);
    }
    return r_.boolean_or(p, "add_prefix_space", path, true) ? scheme::always : scheme::never;  // files before prepend_scheme
  }

  void read_post(const nlohmann::json& p, const std::string& path, int depth = 0) {
    if (depth > max_depth) r_.fail(path, "Sequences nested at most " + std::to_string(max_depth) + " deep", "deeper");
    using namespace tj_detail;
    const std::string type = r_.string(p, "type", path);
    if (type == "ByteLevel") {
      r_.only(p, path, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
      return;  // offsets only
    }
    if (type == "Sequence") {
      r_.only(p, path, {"type", "processors"});
      each_of(p, "processors", path, [&](const nlohmann::json& e, const std::string& ep) { read_post(e, ep, depth + 1); });
      return;
    }
    if (has_post_) r_.fail(path, "at most one processor that adds special tokens", "a second one, '" + type + "'");
    has_post_ = true;
    const auto special = [&](const std::string& key) {  // ["[CLS]", 101]
      const auto& v = r_.member(p, key, path);
      if (!(v.is_array() && v.size() == 2 && v[0].is_string())) r_.fail(path + "." + key, "[token, id]", v.dump());
      return r_.id(v[1], path + "." + key + "[1]");
    };
    const auto tok = [](token_id id, token_id type_id) { return template_piece{false, 0, {id}, type_id}; };
    const auto seq = [](int which, token_id type_id) { return template_piece{true, which, {}, type_id}; };
    if (type == "BertProcessing") {
      r_.only(p, path, {"type", "sep", "cls"});
      const token_id sep = special("sep"), cls = special("cls");
      check_id(sep, path + ".sep"), check_id(cls, path + ".cls");
      post_.single = {tok(cls, 0), seq(0, 0), tok(sep, 0)};
      post_.pair = {tok(cls, 0), seq(0, 0), tok(sep, 0), seq(1, 1), tok(sep, 1)};
      post_.has_pair = true;
      return;
    }
    if (type == "RobertaProcessing") {
      r_.only(p, path, {"type", "sep", "cls", "trim_offsets", "add_prefix_space"});
      const token_id sep = special("sep"), cls = special("cls");
      check_id(sep, path + ".sep"), check_id(cls, path + ".cls");
      post_.single = {tok(cls, 0), seq(0, 0), tok(sep, 0)};
      post_.pair = {tok(cls, 0), seq(0, 0), tok(sep, 0), tok(sep, 0), seq(1, 0), tok(sep, 0)};
      post_.has_pair = true;
      return;
    }
    if (type == "TemplateProcessing") {
      r_.only(p, path, {"type", "single", "pair", "special_tokens"});
      std::unordered_map<std::string, std::vector<token_id>> specials;
      if (const auto* st = r_.optional(p, "special_tokens")) {
        if (!st->is_object()) r_.fail(path + ".special_tokens", "an object", st->type_name());
        for (auto it = st->begin(); it != st->end(); ++it) {
          const std::string sp = path + ".special_tokens[\"" + it.key() + "\"]";
          const auto& ids = r_.member(it.value(), "ids", sp);
          if (!ids.is_array() || ids.empty()) r_.fail(sp + ".ids", "a non-empty array of ids", ids.dump());
          std::vector<token_id> v;
          for (std::size_t i = 0; i < ids.size(); ++i) v.push_back(r_.id(ids[i], sp + ".ids[" + std::to_string(i) + "]"));
          specials[it.key()] = std::move(v);
        }
      }
      const auto read_template = [&](const std::string& key, std::vector<template_piece>& out, int max_seq) {
        const auto& t = r_.member(p, key, path);
        if (!t.is_array()) r_.fail(path + "." + key, "an array", t.type_name());
        for (std::size_t i = 0; i < t.size(); ++i) {
          const std::string ep = path + "." + key + "[" + std::to_string(i) + "]";
          if (const auto* s = r_.optional(t[i], "Sequence")) {
            const std::string which = r_.string(*s, "id", ep + ".Sequence");
            if (which != "A" && !(which == "B" && max_seq == 1)) r_.fail(ep + ".Sequence.id", max_seq ? "A or B" : "A", which);
            out.push_back(seq(which == "A" ? 0 : 1, r_.id(r_.member(*s, "type_id", ep + ".Sequence"), ep + ".Sequence.type_id")));
          } else if (const auto* sp = r_.optional(t[i], "SpecialToken")) {
            const std::string name = r_.string(*sp, "id", ep + ".SpecialToken");
            auto it = specials.find(name);
            if (it == specials.end()) r_.fail(ep + ".SpecialToken.id", "a key of special_tokens", "'" + name + "'");
            out.push_back(template_piece{false, 0, it->second,
                                         r_.id(r_.member(*sp, "type_id", ep + ".SpecialToken"), ep + ".SpecialToken.type_id")});
          } else {
            r_.fail(ep, "{\"Sequence\": ...} or {\"SpecialToken\": ...}", t[i].dump());
          }
        }
      };
      read_template("single", post_.single, 0);
      read_template("pair", post_.pair, 1);  // required, as in HF
      post_.has_pair = true;
      for (const auto& piece : post_.single)
        for (token_id id : piece.ids) check_id(id, path + ".special_tokens");
      for (const auto& piece : post_.pair)
        for (token_id id : piece.ids) check_id(id, path + ".special_tokens");
      return;
    }
    r_.fail(path + ".type", "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel or Sequence",
            "'" + type + "' (not implemented)");
  }
  /// Calls @p f(element, its path) for each element of the array @p j[key].
  template <class F>
  void each_of(const nlohmann::json& j, const std::string& key, const std::string& path, F&& f) const {
    const auto& list = r_.member(j, key, path);
    if (!list.is_array()) r_.fail(path + "." + key, "an array", list.type_name());
    for (std::size_t i = 0; i < list.size(); ++i) f(list[i], path + "." + key + "[" + std::to_string(i) + "]");
  }
  void check_id(token_id id, const std::string& path) const {
    const auto& t = model_->vocab.tokens;
    if (!added_by_id_.count(id) && (std::size_t(id) >= t.size() || t[std::size_t(id)].empty()))
      r_.fail(path, "ids of the vocabulary", std::to_string(id));
  }

  std::unique_ptr<tj_detail::decoder> read_decoder(const nlohmann::json& d, const std::string& path, int depth = 0) {
    if (depth > max_depth) r_.fail(path, "Sequences nested at most " + std::to_string(max_depth) + " deep", "deeper");
    using namespace tj_detail;
    const std::string type = r_.string(d, "type", path);
    if (type == "Sequence") {
      r_.only(d, path, {"type", "decoders"});
      auto seq = std::make_unique<sequence_dec>();
      each_of(d, "decoders", path, [&](const nlohmann::json& e, const std::string& ep) { seq->steps.push_back(read_decoder(e, ep, depth + 1)); });
      return seq;
    }
    if (type == "ByteLevel") {
      r_.only(d, path, {"type", "add_prefix_space", "trim_offsets", "use_regex"});
      return std::make_unique<byte_level_dec>();
    }
    if (type == "WordPiece") {
      r_.only(d, path, {"type", "prefix", "cleanup"});
      auto w = std::make_unique<wordpiece_dec>();
      w->prefix = r_.string_or(d, "prefix", path, "##");
      w->cleanup = r_.boolean_or(d, "cleanup", path, true);
      return w;
    }
    if (type == "Metaspace") {
      r_.only(d, path, {"type", "replacement", "str_rep", "add_prefix_space", "prepend_scheme", "split"});
      auto m = std::make_unique<metaspace_dec>();
      m->replacement.clear();
      append_utf8(m->replacement, metaspace_replacement(d, path));
      m->strip_first = metaspace_scheme(d, path) != metaspace_pre::scheme::never;
      return m;
    }
    if (type == "BPEDecoder") {
      r_.only(d, path, {"type", "suffix"});
      auto b = std::make_unique<bpe_dec>();
      b->suffix = r_.string_or(d, "suffix", path, "</w>");
      return b;
    }
    if (type == "Replace") {
      r_.only(d, path, {"type", "pattern", "content"});
      auto rep = std::make_unique<replace_dec>();
      rep->pat = pattern::from(r_, r_.member(d, "pattern", path), path + ".pattern");
      rep->content = r_.u32(r_.string(d, "content", path), path + ".content");
      return rep;
    }
    if (type == "ByteFallback") {
      r_.only(d, path, {"type"});
      return std::make_unique<byte_fallback_dec>();
    }
    if (type == "Fuse") {
      r_.only(d, path, {"type"});
      return std::make_unique<fuse_dec>();
    }
    if (type == "Strip") {
      r_.only(d, path, {"type", "content", "start", "stop"});
      auto s = std::make_unique<strip_dec>();
      const std::u32string c = r_.u32(r_.string_or(d, "content", path, " "), path + ".content");
      if (c.size() != 1) r_.fail(path + ".content", "one character", std::to_string(c.size()) + " characters");
      s->content = c[0];
      if (const auto* v = r_.optional(d, "start")) s->start = std::size_t(r_.integer(*v, path + ".start", 0, 1 << 20));
      if (const auto* v = r_.optional(d, "stop")) s->stop = std::size_t(r_.integer(*v, path + ".stop", 0, 1 << 20));
      return s;
    }
    r_.fail(path + ".type", "ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, Strip or Sequence",
            "'" + type + "' (not implemented)");
  }

  void read_truncation(const nlohmann::json& t) {
    r_.only(t, "truncation", {"direction", "max_length", "strategy", "stride"});
    max_length_ = std::size_t(r_.integer(r_.member(t, "max_length", "truncation"), "truncation.max_length", 1, 1 << 30));
    if (const auto* s = r_.optional(t, "stride"); s && r_.integer(*s, "truncation.stride", 0, 1 << 30) != 0)
      r_.fail("truncation.stride", "0 (overflowing windows are not implemented)", s->dump());
    const std::string strategy = r_.string_or(t, "strategy", "truncation", "LongestFirst");
    if (strategy == "LongestFirst") strategy_ = truncation_strategy::longest_first;
    else if (strategy == "OnlyFirst") strategy_ = truncation_strategy::only_first;
    else if (strategy == "OnlySecond") strategy_ = truncation_strategy::only_second;
    else r_.fail("truncation.strategy", "LongestFirst, OnlyFirst or OnlySecond", "'" + strategy + "'");
    const std::string dir = r_.string_or(t, "direction", "truncation", "Right");
    if (dir != "Right" && dir != "Left") r_.fail("truncation.direction", "Right or Left", "'" + dir + "'");
    truncate_left_ = dir == "Left";
  }

  enum class truncation_strategy { longest_first, only_first, only_second };
  static constexpr int max_depth = 32;  ///< Sequences within Sequences (real files nest one)

  tj_detail::reader r_;
  std::unique_ptr<tj_detail::model> model_;
  std::unique_ptr<tj_detail::normalizer> normalizer_;
  std::unique_ptr<tj_detail::pre_tokenizer> pre_;
  std::unique_ptr<tj_detail::decoder> decoder_;
  tj_detail::post_template post_;
  bool has_post_ = false;
  std::vector<added_token> added_;
  tj_detail::token_trie added_raw_, added_normalized_;  ///< indices into added_
  std::unordered_map<std::string, token_id> added_by_content_;
  std::unordered_map<token_id, std::string> added_by_id_;
  std::size_t vocab_size_ = 0;
  std::unordered_set<token_id> special_;
  std::optional<std::size_t> max_length_;
  truncation_strategy strategy_ = truncation_strategy::longest_first;
  bool truncate_left_ = false;
};

}  // namespace eigenformer::tokenizers
