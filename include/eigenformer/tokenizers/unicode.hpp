#pragma once
/// @file
/// UTF-8 decoding and encoding (strict: invalid input is a format_error naming the byte
/// offset), and the Unicode properties the tokenizers use, from tokenizers/unicode_data.hpp.

#include <eigenformer/core/error.hpp>
#include <eigenformer/tokenizers/unicode_data.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace eigenformer::tokenizers {

[[noreturn]] inline void utf8_error(const std::string& what, const char* why, std::size_t at, std::string_view file = {}) {
  throw_error<format_error>("tokenizers.utf8", what, "valid UTF-8", std::string(why) + " at byte " + std::to_string(at), file);
}

/// Decodes UTF-8. Rejects (format_error, naming @p what and the byte offset) truncated and
/// over-long sequences, surrogates and code points beyond U+10FFFF.
inline std::u32string decode_utf8(std::string_view s, const std::string& what = "text", std::string_view file = {}) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  auto fail = [&](const char* why) { utf8_error(what, why, i, file); };
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int len;
    char32_t cp;
    if ((b0 & 0xe0) == 0xc0) {
      len = 2;
      cp = b0 & 0x1f;
    } else if ((b0 & 0xf0) == 0xe0) {
      len = 3;
      cp = b0 & 0x0f;
    } else if ((b0 & 0xf8) == 0xf0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      utf8_error(what, "an invalid lead byte", i, file);
    }
    if (i + std::size_t(len) > s.size()) fail("a truncated sequence");
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + std::size_t(k)]);
      if ((b & 0xc0) != 0x80) fail("a missing continuation byte");
      cp = (cp << 6) | (b & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) fail("an over-long encoding");
    if (cp >= 0xd800 && cp <= 0xdfff) fail("a surrogate code point");
    if (cp > 0x10ffff) fail("a code point beyond U+10FFFF");
    out.push_back(cp);
    i += std::size_t(len);
  }
  return out;
}

/// Appends the UTF-8 encoding of @p cp (a valid scalar value) to @p out.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xc0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xe0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(char(0xf0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(char(0x80 | (cp & 0x3f)));
  }
}
inline std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

namespace unicode {

template <std::size_t N>
inline bool in(const unicode_data::code_range (&table)[N], char32_t c) noexcept {
  const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                    [](char32_t v, const unicode_data::code_range& r) { return v < r.first; });
  return it != std::begin(table) && c <= (it - 1)->last;
}
inline bool is_letter(char32_t c) noexcept { return in(unicode_data::letter, c); }
inline bool is_number(char32_t c) noexcept { return in(unicode_data::number, c); }
/// JavaScript's \s (what GPT-2's pattern means by whitespace in the reference implementation).
inline bool is_js_space(char32_t c) noexcept { return in(unicode_data::js_space, c); }
inline bool is_nonspacing_mark(char32_t c) noexcept { return in(unicode_data::nonspacing_mark, c); }
/// BERT's whitespace: space, \t, \n, \r, or category Zs.
inline bool is_bert_whitespace(char32_t c) noexcept {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || in(unicode_data::space_separator, c);
}
/// BERT's control characters: categories Cc and Cf, except \t, \n, \r (whitespace there).
inline bool is_bert_control(char32_t c) noexcept {
  return c != U'\t' && c != U'\n' && c != U'\r' && in(unicode_data::control, c);
}
/// BERT's punctuation: every ASCII non-alphanumeric printable character, and category P.
inline bool is_bert_punctuation(char32_t c) noexcept {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return in(unicode_data::punctuation, c);
}
/// The CJK ideograph blocks BERT surrounds with spaces.
inline bool is_cjk(char32_t c) noexcept {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
         (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
         (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

template <int W, std::size_t N>
inline const unicode_data::code_map<W>* find_map(const unicode_data::code_map<W> (&table)[N], char32_t c) noexcept {
  const auto* it = std::lower_bound(std::begin(table), std::end(table), c,
                                    [](const unicode_data::code_map<W>& m, char32_t v) { return m.from < v; });
  return it != std::end(table) && it->from == c ? it : nullptr;
}
using unicode_data::general_category;
/// The general category of @p c: Cn for unassigned code points and values beyond U+10FFFF.
inline general_category category(char32_t c) noexcept {
  const auto* it = std::upper_bound(std::begin(unicode_data::categories), std::end(unicode_data::categories), c,
                                    [](char32_t v, const unicode_data::category_range& r) { return v < r.first; });
  return it != std::begin(unicode_data::categories) && c <= (it - 1)->last ? (it - 1)->cat : general_category::Cn;
}
/// The White_Space property (what Oniguruma's \s means for Unicode text).
inline bool is_white_space(char32_t c) noexcept { return in(unicode_data::white_space, c); }
/// The Word property: Alphabetic, marks, decimal digits, connector punctuation (Oniguruma's
/// \p{Word} and [\w]; its \w and \b outside a class also take ² ³ ¹ ¼ ½ ¾, see regex.hpp).
inline bool is_word(char32_t c) noexcept {
  if (c < 0x80) return (c >= U'0' && c <= U'9') || (c >= U'A' && c <= U'Z') || (c >= U'a' && c <= U'z') || c == U'_';
  return in(unicode_data::word, c);
}
/// The smallest code point that matches @p c case-insensitively under simple case folding (the
/// class of `k`, `K` and U+212A KELVIN SIGN is represented by `K`); @p c itself when it has no
/// case variants.
inline char32_t case_class(char32_t c) noexcept {
  const auto* m = find_map(unicode_data::case_class, c);
  return m ? m->to[0] : c;
}

/// Appends the full lowercase mapping of @p c.
inline void append_lower(std::u32string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(c >= U'A' && c <= U'Z' ? c + 32 : c);
    return;
  }
  if (const auto* m = find_map(unicode_data::lowercase, c)) {
    for (char32_t t : m->to)
      if (t) out.push_back(t);
    return;
  }
  out.push_back(c);
}
/// @p s lower-cased as Python's `str.lower()` does it (what sentence-transformers'
/// `do_lower_case` applies): the full lowercase mapping of each code point, and for U+03A3 GREEK
/// CAPITAL LETTER SIGMA the Final_Sigma context of Unicode's SpecialCasing (final ς after a cased
/// letter and not before one, case-ignorable characters skipped both ways). Cased is taken as the
/// general categories Lu, Ll and Lt, case-ignorable as Mn, Me, Cf, Lm and Sk plus the
/// word-internal apostrophes, periods and colons (U+0027, U+002E, U+003A, U+00B7, U+2018,
/// U+2019); Unicode's own properties add a few modifier letters (Other_Lowercase,
/// Other_Uppercase) to cased, which this leaves out.
inline std::u32string lower_full(std::u32string_view s) {
  using gcat = general_category;
  const auto cased = [](char32_t c) {
    const auto g = category(c);
    return g == gcat::Lu || g == gcat::Ll || g == gcat::Lt;
  };
  const auto ignorable = [](char32_t c) {
    if (c == 0x27 || c == 0x2e || c == 0x3a || c == 0xb7 || c == 0x2018 || c == 0x2019) return true;
    const auto g = category(c);
    return g == gcat::Mn || g == gcat::Me || g == gcat::Cf || g == gcat::Lm || g == gcat::Sk;
  };
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != 0x3a3) {
      append_lower(out, s[i]);
      continue;
    }
    std::size_t b = i;
    while (b > 0 && ignorable(s[b - 1])) --b;
    bool final_sigma = b > 0 && cased(s[b - 1]);
    if (final_sigma) {
      std::size_t a = i + 1;
      while (a < s.size() && ignorable(s[a])) ++a;
      final_sigma = !(a < s.size() && cased(s[a]));
    }
    out.push_back(final_sigma ? 0x3c2 : 0x3c3);
  }
  return out;
}
/// Appends the canonical decomposition (NFD) of @p c; Hangul syllables algorithmically.
inline void append_nfd(std::u32string& out, char32_t c) {
  if (c < 0xc0) {
    out.push_back(c);
    return;
  }
  if (c >= 0xac00 && c <= 0xd7a3) {
    const char32_t s = c - 0xac00;
    out.push_back(0x1100 + s / (21 * 28));
    out.push_back(0x1161 + (s % (21 * 28)) / 28);
    if (s % 28) out.push_back(0x11a7 + s % 28);
    return;
  }
  if (const auto* m = find_map(unicode_data::decomposition, c)) {
    for (char32_t t : m->to)
      if (t) out.push_back(t);
    return;
  }
  out.push_back(c);
}

}  // namespace unicode
}  // namespace eigenformer::tokenizers
