#pragma once
/// @file
/// Extended grapheme clusters (UAX #29, the rules of Unicode 15.0: GB3-GB13 and GB999; GB9c,
/// Unicode 15.1's Indic conjunct rule, needs the Indic_Conjunct_Break property that the 15.0
/// data lacks). The tables are tokenizers/grapheme_data.hpp, generated from Debian's
/// unicode-data by tools/make_grapheme_tables.py; the rules are checked against the standard's
/// own GraphemeBreakTest.txt by the tests.

#include <eigenformer/tokenizers/grapheme_data.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <iterator>
#include <string_view>

namespace eigenformer::tokenizers::unicode {

/// The Grapheme_Cluster_Break property value of a code point.
enum class grapheme_break : std::uint8_t {
  other, cr, lf, control, extend, zwj, regional_indicator, prepend, spacing_mark, l, v, t, lv, lvt
};

namespace detail {
inline grapheme_break search_grapheme_break(char32_t c) noexcept {
  const auto& t = grapheme_data::grapheme_break;
  const auto it = std::upper_bound(std::begin(t), std::end(t), c,
                                   [](char32_t x, const grapheme_data::break_range& r) { return x < r.first; });
  if (it == std::begin(t)) return grapheme_break::other;
  const auto& r = *std::prev(it);
  return c <= r.last ? static_cast<grapheme_break>(r.value) : grapheme_break::other;
}
}  // namespace detail

/// The Grapheme_Cluster_Break of @p c (ASCII from a 128-entry copy of the table's values).
inline grapheme_break grapheme_break_of(char32_t c) noexcept {
  if (c < 0x80) {
    static const auto ascii = [] {
      std::array<grapheme_break, 0x80> a{};
      for (char32_t x = 0; x < 0x80; ++x) a[x] = detail::search_grapheme_break(x);
      return a;
    }();
    return ascii[c];
  }
  return detail::search_grapheme_break(c);
}

inline bool is_extended_pictographic(char32_t c) noexcept {
  const auto& t = grapheme_data::extended_pictographic;
  if (c < t[0].first) return false;
  const auto it = std::upper_bound(std::begin(t), std::end(t), c,
                                   [](char32_t x, const grapheme_data::code_range& r) { return x < r.first; });
  return it != std::begin(t) && c <= std::prev(it)->last;
}

/// Calls @p f(first, last) with the half-open index range of each extended grapheme cluster of
/// @p s, in order; nothing for an empty string.
template <class F>
void for_each_grapheme(std::u32string_view s, F&& f) {
  using gb = grapheme_break;
  if (s.empty()) return;
  std::size_t start = 0;
  gb prev = grapheme_break_of(s[0]);
  // GB11: the cluster so far is ExtPict Extend* (pict) or ExtPict Extend* ZWJ (pict_zwj).
  bool pict = is_extended_pictographic(s[0]);
  bool pict_zwj = false;
  std::size_t ri_run = prev == gb::regional_indicator ? 1 : 0;  // regional indicators just before
  for (std::size_t i = 1; i < s.size(); ++i) {
    const gb cur = grapheme_break_of(s[i]);
    const bool cur_pict = is_extended_pictographic(s[i]);
    bool join;
    if (prev == gb::cr && cur == gb::lf) join = true;                                              // GB3
    else if (prev == gb::control || prev == gb::cr || prev == gb::lf) join = false;                // GB4
    else if (cur == gb::control || cur == gb::cr || cur == gb::lf) join = false;                   // GB5
    else if (prev == gb::l && (cur == gb::l || cur == gb::v || cur == gb::lv || cur == gb::lvt)) join = true;  // GB6
    else if ((prev == gb::lv || prev == gb::v) && (cur == gb::v || cur == gb::t)) join = true;     // GB7
    else if ((prev == gb::lvt || prev == gb::t) && cur == gb::t) join = true;                      // GB8
    else if (cur == gb::extend || cur == gb::zwj) join = true;                                     // GB9
    else if (cur == gb::spacing_mark) join = true;                                                 // GB9a
    else if (prev == gb::prepend) join = true;                                                     // GB9b
    else if (pict_zwj && cur_pict) join = true;                                                    // GB11
    else if (prev == gb::regional_indicator && cur == gb::regional_indicator) join = ri_run % 2 == 1;  // GB12, GB13
    else join = false;                                                                             // GB999
    if (!join) {
      f(start, i);
      start = i;
    }
    // The GB11 state after s[i].
    if (cur_pict) {
      pict = true;
      pict_zwj = false;
    } else if (pict && cur == gb::extend) {
      pict_zwj = false;
    } else if (pict && cur == gb::zwj) {
      pict_zwj = true;
      pict = false;
    } else {
      pict = pict_zwj = false;
    }
    ri_run = cur == gb::regional_indicator ? ri_run + 1 : 0;
    prev = cur;
  }
  f(start, s.size());
}

}  // namespace eigenformer::tokenizers::unicode
