#pragma once
/// @file
/// SentencePiece's precompiled normalization rules (`precompiled_charsmap`), as Hugging Face's
/// `Precompiled` normalizer applies them (T5, XLM-R, mT5, mBART, ALBERT, ... tokenizer.json).
///
/// The blob is SentencePiece's: a little-endian u32 byte count of a darts-clone double-array
/// trie, the trie's u32 units, then the replacement strings, each ended by a NUL byte. A trie
/// key is the UTF-8 of a character sequence; its value is the byte offset of its replacement.
///
/// Normalization follows Hugging Face tokenizers (spm_precompiled + normalizers/precompiled.rs)
/// exactly, including where it departs from SentencePiece's own longest-match loop: the text is
/// cut into extended grapheme clusters; a cluster of under 6 UTF-8 bytes whose bytes start with
/// a key is replaced whole by the replacement of the *shortest* such key (the rest of the
/// cluster is dropped, as there); otherwise each character is looked up alone and replaced or
/// kept. A NUL byte ends a lookup.

#include <eigenformer/core/error.hpp>
#include <eigenformer/tokenizers/grapheme.hpp>
#include <eigenformer/tokenizers/unicode.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eigenformer::tokenizers {

/// Decodes standard base64 (RFC 4648, `=` padding, no line breaks), as serde's base64 writes
/// tokenizer.json's `precompiled_charsmap`. Throws format_error naming @p what.
inline std::string decode_base64(std::string_view s, const std::string& what, std::string_view file = {}) {
  constexpr const char* where = "tokenizers.base64";
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (s.size() % 4 != 0)
    throw_error<format_error>(where, what, "base64 (a length that is a multiple of 4)", std::to_string(s.size()) + " characters", file);
  std::size_t pad = 0;
  if (!s.empty() && s.back() == '=') ++pad;
  if (s.size() >= 2 && s[s.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    for (int k = 0; k < 4; ++k) {
      const std::size_t at = i + std::size_t(k);
      const bool padding = at >= s.size() - pad;
      v[k] = padding ? 0 : value(s[at]);
      if (v[k] < 0)
        throw_error<format_error>(where, what, "base64 characters (A-Z a-z 0-9 + / and = padding)",
                                  "'" + std::string(1, s[at]) + "' at " + std::to_string(at), file);
    }
    const std::uint32_t bits = std::uint32_t(v[0]) << 18 | std::uint32_t(v[1]) << 12 | std::uint32_t(v[2]) << 6 | std::uint32_t(v[3]);
    const std::size_t n = i + 4 == s.size() ? 3 - pad : 3;
    for (std::size_t k = 0; k < n; ++k) out.push_back(static_cast<char>((bits >> (16 - 8 * k)) & 0xff));
  }
  return out;
}

/// A parsed `precompiled_charsmap`. Construction validates the whole blob (sizes, the UTF-8 of
/// the replacements, every key's offset), so lookups cannot fail.
class precompiled_charsmap {
 public:
  precompiled_charsmap() = default;

  /// Parses @p blob; errors (format_error) name @p what and @p file.
  precompiled_charsmap(std::string_view blob, const std::string& what, std::string_view file = {}) {
    constexpr const char* where = "tokenizers.precompiled";
    auto fail = [&](const std::string& expected, const std::string& found) {
      throw_error<format_error>(where, what, expected, found, file);
    };
    if (blob.size() < 4) fail("at least 4 bytes (the trie's size)", std::to_string(blob.size()) + " bytes");
    const std::uint32_t trie_bytes = le32(blob.data());
    if (trie_bytes % 4 != 0) fail("a trie size that is a multiple of 4 bytes", std::to_string(trie_bytes));
    if (trie_bytes == 0) fail("a trie of at least one unit", "0 bytes");
    if (trie_bytes > blob.size() - 4)
      fail("a trie of at most the " + std::to_string(blob.size() - 4) + " bytes that follow", std::to_string(trie_bytes) + " bytes");
    units_.resize(trie_bytes / 4);
    for (std::size_t i = 0; i < units_.size(); ++i) units_[i] = le32(blob.data() + 4 + 4 * i);
    normalized_ = std::string(blob.substr(4 + trie_bytes));
    (void)decode_utf8(normalized_, what + " (the replacement strings)", file);
    validate(fail);
    // Each ASCII character's own lookup, done once (most clusters of most text are one of them).
    for (std::size_t c = 1; c < ascii_.size(); ++c) {
      const char ch = static_cast<char>(c);
      const auto r = transform(std::string_view(&ch, 1));
      ascii_[c] = r ? static_cast<std::int32_t>(r->data() - normalized_.data()) : -1;
    }
  }

  /// The replacement of the shortest key that @p key starts with (UTF-8), or nothing.
  std::optional<std::string_view> transform(std::string_view key) const noexcept {
    if (units_.empty()) return std::nullopt;
    std::size_t pos = offset(units_[0]);
    for (char ch : key) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == 0) break;
      pos ^= c;
      if (pos >= units_.size() || label(units_[pos]) != c) return std::nullopt;
      const std::uint32_t unit = units_[pos];
      pos ^= offset(unit);
      if (pos >= units_.size()) return std::nullopt;  // cannot happen after validate()
      if (has_leaf(unit)) return replacement(value(units_[pos]));
    }
    return std::nullopt;
  }

  /// Normalizes @p s as Hugging Face's Precompiled does (see the file comment).
  std::u32string normalize(std::u32string_view s) const {
    std::u32string out;
    out.reserve(s.size());
    std::string bytes;
    unicode::for_each_grapheme(s, [&](std::size_t b, std::size_t e) {
      if (e == b + 1 && s[b] < 0x80) {  // one ASCII character
        if (const std::int32_t at = ascii_[s[b]]; at >= 0) append(out, replacement(std::uint32_t(at)));
        else out.push_back(s[b]);
        return;
      }
      bytes.clear();
      for (std::size_t i = b; i < e; ++i) append_utf8(bytes, s[i]);
      if (bytes.size() < 6) {
        if (const auto r = transform(bytes)) {
          append(out, *r);
          return;
        }
      }
      for (std::size_t i = b; i < e; ++i) {
        bytes.clear();
        append_utf8(bytes, s[i]);
        if (const auto r = transform(bytes)) append(out, *r);
        else out.push_back(s[i]);
      }
    });
    return out;
  }

  bool empty() const noexcept { return units_.empty(); }

 private:
  static std::uint32_t le32(const char* p) noexcept {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t(u[0]) | std::uint32_t(u[1]) << 8 | std::uint32_t(u[2]) << 16 | std::uint32_t(u[3]) << 24;
  }
  // darts-clone's unit layout.
  static bool has_leaf(std::uint32_t u) noexcept { return (u >> 8) & 1; }
  static std::uint32_t value(std::uint32_t u) noexcept { return u & 0x7fffffffu; }
  static std::uint32_t label(std::uint32_t u) noexcept { return u & (0x80000000u | 0xffu); }
  static std::size_t offset(std::uint32_t u) noexcept { return std::size_t(u >> 10) << ((u & (1u << 9)) >> 6); }

  std::string_view replacement(std::uint32_t at) const noexcept {
    const std::string_view all(normalized_);
    const auto end = all.find('\0', at);
    return all.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
  }
  static void append(std::u32string& out, std::string_view utf8) {
    // Validated at construction: every replacement is whole UTF-8.
    std::size_t i = 0;
    while (i < utf8.size()) {
      const auto b0 = static_cast<unsigned char>(utf8[i]);
      const std::size_t len = b0 < 0x80 ? 1 : (b0 & 0xe0) == 0xc0 ? 2 : (b0 & 0xf0) == 0xe0 ? 3 : 4;
      char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1f) : len == 3 ? (b0 & 0x0f) : (b0 & 0x07);
      for (std::size_t k = 1; k < len && i + k < utf8.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3f);
      out.push_back(cp);
      i += len;
    }
  }

  /// Walks every key of the trie (each node once), checking that each node and value unit lies
  /// inside the array and that each value is the offset of a character boundary of the
  /// replacement strings.
  template <class Fail>
  void validate(Fail& fail) const {
    std::vector<bool> seen(units_.size(), false);
    std::vector<std::size_t> stack{offset(units_[0])};
    auto at_boundary = [&](std::size_t at) {
      return at <= normalized_.size() && (at == normalized_.size() || (static_cast<unsigned char>(normalized_[at]) & 0xc0) != 0x80);
    };
    if (stack.back() >= units_.size())
      fail("a root offset inside the trie's " + std::to_string(units_.size()) + " units", std::to_string(stack.back()));
    while (!stack.empty()) {
      const std::size_t node = stack.back();
      stack.pop_back();
      if (seen[node]) continue;
      seen[node] = true;
      for (std::size_t c = 1; c < 256; ++c) {
        const std::size_t child = node ^ c;
        if (child >= units_.size() || label(units_[child]) != c) continue;
        const std::size_t next = child ^ offset(units_[child]);
        if (next >= units_.size())
          fail("trie offsets inside its " + std::to_string(units_.size()) + " units", "unit " + std::to_string(child) + " pointing to " + std::to_string(next));
        if (has_leaf(units_[child]) && !at_boundary(value(units_[next])))
          fail("key values that are character offsets into the " + std::to_string(normalized_.size()) + " bytes of replacements",
               std::to_string(value(units_[next])) + " (unit " + std::to_string(next) + ")");
        stack.push_back(next);
      }
    }
  }

  std::vector<std::uint32_t> units_;
  std::string normalized_;
  /// The offset of each ASCII character's replacement, or -1 (none, as in an empty map).
  std::array<std::int32_t, 128> ascii_ = [] {
    std::array<std::int32_t, 128> a;
    a.fill(-1);
    return a;
  }();
};

}  // namespace eigenformer::tokenizers
