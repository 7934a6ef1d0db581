#pragma once
/// @file
/// A regular-expression engine over code points for the patterns of Hugging Face
/// `tokenizer.json` files (the Split pre-tokenizer's and the Replace normalizer's `Regex`), which
/// the reference implementation runs on Oniguruma 6.9.8 with its default syntax. Matching follows
/// Oniguruma: leftmost-first (backtracking priority), `.` is any code point but \n, `^` and `$`
/// are line anchors, \s is White_Space, \d is \p{Nd}, \w is Alphabetic | M | Nd | Pc (outside
/// classes also ² ³ ¹ ¼ ½ ¾, which Oniguruma's Latin-1 table calls word characters), `(?i)`
/// reaches the end of its group (`ab(?i)c|d` is `ab(?i:c|d)`), `{n,m}` with n > m is possessive,
/// `{n}?` is `(?:x{n})?`, an unescaped `[` in a class opens a nested class, `&&` intersects.
///
/// Supported: literals and escapes (`\t \n \r \f \v \a \e`, `\xHH` up to 7F, `\x{H..}`,
/// `\uHHHH`, `\o{O..}`, `\0oo`, any escaped non-alphanumeric); `.`; classes with ranges,
/// negation, nested classes, `&&`, escapes, `\p{..}` and POSIX brackets (`[:word:]` ...); `\w \W
/// \s \S \d \D \h \H \R \N \O`; `\p{X}`, `\P{X}`, `\p{^X}`, `\pX` for every general category
/// and group (long names too; case, spaces, `-` and `_` ignored) and Any, Assigned, ASCII, Word,
/// Space, Digit, XDigit, Blank, Cntrl, Graph, Print, Punct (P, as in 6.9.8); groups `( )` (not
/// capturing: only whole matches are reported), named groups, `(?: )`, `(?i: )`, `(?m: )`,
/// `(?-i: )` ..., isolated `(?i)`, atomic `(?> )`, lookahead `(?= )` `(?! )`, lookbehind `(?<= )`
/// `(?<! )` of any width, comments `(?#..)`; anchors `^ $ \A \z \Z \b \B \G`; quantifiers
/// `* + ? {n} {n,} {,m} {n,m}`, lazy (`*?` ...) and possessive (`*+` ...); alternation.
/// Case-insensitive matching compares simple case folds (one code point to one: `ß` does not
/// match `ss`, which Oniguruma's multi-character folding would).
///
/// Rejected with a format_error naming the construct: backreferences, subexpression calls,
/// conditionals, absent operators, callouts, `\K \X \y \Y`, control escapes, quantified
/// anchors and lookarounds (as Oniguruma does), scripts and other properties than the above,
/// options other than i and m, `\xHH` above 7F (a raw byte in Oniguruma), counts above 1000,
/// nesting deeper than 64.
///
/// The pattern compiles once to a program for a backtracking machine with an explicit stack (no
/// recursion at match time, so no input length can overflow the call stack); every search has a
/// step budget proportional to the text it may look at, after which it throws format_error
/// rather than backtrack for hours.

#include <eigenformer/core/error.hpp>
#include <eigenformer/tokenizers/unicode.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eigenformer::tokenizers {

namespace regex_detail {

using cp_range = std::pair<char32_t, char32_t>;
/// Sorted, disjoint, non-adjacent closed ranges; the universe is every char32_t value, so that a
/// negated class also matches values beyond U+10FFFF that a caller's string may hold.
using range_set = std::vector<cp_range>;

inline constexpr char32_t last_value = 0xffffffffu;
inline constexpr std::uint32_t infinite = 0xffffffffu;
inline constexpr std::uint32_t none = 0xffffffffu;
/// Groups, classes, isolated options and stacked quantifiers nested in one another.
inline constexpr std::size_t max_nesting = 64;
inline constexpr std::uint32_t max_count = 1000;
/// A search may take this many steps per code point it can look at, plus base_steps (so that a
/// large pattern tried at one position fits); far more than any tokenizer pattern needs.
inline constexpr std::uint64_t steps_per_code_point = 4096, base_steps = std::uint64_t(1) << 24;
/// Backtracking entries per code point, and on top.
inline constexpr std::size_t stack_per_code_point = 16, base_stack = std::size_t(1) << 18;

inline void normalize(range_set& r) {
  if (!std::is_sorted(r.begin(), r.end())) std::sort(r.begin(), r.end());
  std::size_t k = 0;
  for (const cp_range& x : r) {
    if (k > 0 && (r[k - 1].second == last_value || x.first <= r[k - 1].second + 1)) {
      r[k - 1].second = std::max(r[k - 1].second, x.second);
    } else {
      r[k++] = x;
    }
  }
  r.resize(k);
}
inline range_set complement(const range_set& r) {
  range_set out;
  char32_t next = 0;
  for (const cp_range& x : r) {
    if (x.first > next) out.emplace_back(next, x.first - 1);
    if (x.second == last_value) return out;
    next = x.second + 1;
  }
  out.emplace_back(next, last_value);
  return out;
}
inline range_set intersect(const range_set& a, const range_set& b) {
  range_set out;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const char32_t lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (lo <= hi) out.emplace_back(lo, hi);
    if (a[i].second < b[j].second) ++i;
    else ++j;
  }
  return out;
}
inline void unite(range_set& a, const range_set& b) {
  a.insert(a.end(), b.begin(), b.end());
  normalize(a);
}
inline bool contains(const range_set& r, char32_t c) {
  const auto it = std::upper_bound(r.begin(), r.end(), c, [](char32_t v, const cp_range& x) { return v < x.first; });
  return it != r.begin() && c <= (it - 1)->second;
}

template <std::size_t N>
inline range_set table_set(const unicode_data::code_range (&table)[N]) {
  range_set r;
  r.reserve(N);
  for (const auto& x : table) r.emplace_back(x.first, x.last);
  normalize(r);
  return r;
}
constexpr std::uint32_t bit(unicode::general_category c) { return std::uint32_t(1) << unsigned(c); }
/// The code points whose category is in @p mask (bits of general_category).
inline range_set category_set(std::uint32_t mask) {
  range_set r;
  for (const auto& e : unicode_data::categories)
    if (mask & bit(e.cat)) r.emplace_back(e.first, e.last);
  if (mask & bit(unicode::general_category::Cn)) {
    range_set assigned;
    for (const auto& e : unicode_data::categories) assigned.emplace_back(e.first, e.last);
    normalize(assigned);
    const range_set cn = complement(assigned);
    r.insert(r.end(), cn.begin(), cn.end());
  }
  normalize(r);
  return r;
}

/// Oniguruma decides \w, \W, \b and \B (outside classes) below U+0100 from an ISO 8859-1
/// table in which these No characters are word characters; [\w] and \p{Word} use the Unicode
/// ranges alone.
inline range_set latin1_word_extra() { return {{0xb2, 0xb3}, {0xb9, 0xb9}, {0xbc, 0xbe}}; }
inline bool is_word_char(char32_t c) noexcept {
  return unicode::is_word(c) || c == 0xb2 || c == 0xb3 || c == 0xb9 || (c >= 0xbc && c <= 0xbe);
}

/// Adds to @p r every code point that matches one of its members case-insensitively.
inline void close_under_case(range_set& r) {
  using entry = unicode_data::code_map<1>;
  // The table is sorted by code point; this index, by class.
  static const std::vector<std::pair<char32_t, char32_t>> by_class = [] {
    std::vector<std::pair<char32_t, char32_t>> v;
    for (const entry& m : unicode_data::case_class) v.emplace_back(m.to[0], m.from);
    std::sort(v.begin(), v.end());
    return v;
  }();
  std::vector<char32_t> classes;
  for (const cp_range& x : r) {
    const entry* it = std::lower_bound(std::begin(unicode_data::case_class), std::end(unicode_data::case_class), x.first,
                                       [](const entry& m, char32_t v) { return m.from < v; });
    for (; it != std::end(unicode_data::case_class) && it->from <= x.second; ++it) classes.push_back(it->to[0]);
  }
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  range_set extra;
  for (const char32_t c : classes) {
    auto it = std::lower_bound(by_class.begin(), by_class.end(), std::make_pair(c, char32_t(0)));
    for (; it != by_class.end() && it->first == c; ++it)
      if (!contains(r, it->second)) extra.emplace_back(it->second, it->second);
  }
  if (!extra.empty()) unite(r, extra);
}

/// A compiled set: a bitmap for U+0000..U+00FF (most tokenizer text), ranges above.
struct char_set {
  std::array<std::uint64_t, 4> low{};
  range_set high;

  explicit char_set(const range_set& r) {
    for (const cp_range& x : r) {
      for (char32_t c = x.first; c <= x.second && c < 256; ++c) low[c >> 6] |= std::uint64_t(1) << (c & 63);
      if (x.second >= 256) high.emplace_back(std::max<char32_t>(x.first, 256), x.second);
    }
  }
  bool contains(char32_t c) const noexcept {
    if (c < 256) return (low[c >> 6] >> (c & 63)) & 1;
    return regex_detail::contains(high, c);
  }
};

/// Interns sets, so that a pattern naming \p{L} twenty times holds one copy.
struct set_table {
  std::vector<range_set> sets;
  std::map<range_set, std::uint32_t> index;
  std::uint32_t intern(range_set r) {
    const auto it = index.find(r);
    if (it != index.end()) return it->second;
    const auto id = std::uint32_t(sets.size());
    index.emplace(r, id);
    sets.push_back(std::move(r));
    return id;
  }
};

enum class anchor : std::uint8_t { bol, eol, begin_text, end_text, end_text_nl, word_boundary, not_word_boundary, search_start };
enum class repeat_mode : std::uint8_t { greedy, lazy, possessive };

enum class node_kind : std::uint8_t { empty, chr, set, concat, alt, repeat, atomic, look, assertion };
struct node {
  node_kind kind = node_kind::empty;
  repeat_mode mode = repeat_mode::greedy;
  anchor at = anchor::bol;
  bool negate = false, behind = false;  ///< lookarounds
  char32_t c = 0;                       ///< chr
  std::uint32_t set = 0;                ///< set: index into the set_table
  std::uint32_t min = 0, max = 0;       ///< repeat; lookbehind: the fewest and most code points it steps back
  /// Whether a quantifier may follow, by Oniguruma's rule: never after an anchor or lookaround (or
  /// an alternation with one as a branch), always after a group that is more than parentheses
  /// (capturing, atomic, with options).
  enum class target : std::uint8_t { plain, group } quantify = target::plain;
  std::vector<node> kids;
};

inline node make(node_kind k) {
  node n;
  n.kind = k;
  return n;
}

// Widths saturate here (a^1000 nested 64 times would overflow anything).
inline constexpr std::size_t wide = std::size_t(1) << 40;
inline std::size_t sat_add(std::size_t a, std::size_t b) { return std::min(wide, a + b); }
inline std::size_t sat_mul(std::size_t a, std::uint32_t b) {
  if (b == infinite) return a == 0 ? 0 : wide;
  return a == 0 ? 0 : std::min(wide, a > wide / (b + 1) ? wide : a * b);
}
/// The fewest and most code points @p n can consume (`wide` for unbounded).
inline std::pair<std::size_t, std::size_t> width(const node& n) {
  switch (n.kind) {
    case node_kind::chr:
    case node_kind::set:
      return {1, 1};
    case node_kind::concat: {
      std::size_t lo = 0, hi = 0;
      for (const node& k : n.kids) {
        const auto [a, b] = width(k);
        lo = sat_add(lo, a);
        hi = sat_add(hi, b);
      }
      return {lo, hi};
    }
    case node_kind::alt: {
      std::size_t lo = wide, hi = 0;
      for (const node& k : n.kids) {
        const auto [a, b] = width(k);
        lo = std::min(lo, a);
        hi = std::max(hi, b);
      }
      return {lo, hi};
    }
    case node_kind::repeat: {
      const auto [a, b] = width(n.kids[0]);
      return {sat_mul(a, n.min), sat_mul(b, n.max)};
    }
    case node_kind::atomic:
      return width(n.kids[0]);
    default:
      return {0, 0};
  }
}
/// A union built piece by piece: normalized whenever it has doubled, so that a union of many
/// pieces costs O(n log n), not O(n^2), and holds no more than twice what it needs.
struct range_union {
  range_set r;
  std::size_t clean = 0;
  void add(const cp_range* b, const cp_range* e) {
    r.insert(r.end(), b, e);
    if (r.size() > 2 * clean + 64) {
      normalize(r);
      clean = r.size();
    }
  }
  range_set take() {
    normalize(r);
    clean = r.size();
    return r;
  }
};
/// Adds to @p out every code point @p n can consume first; true when @p n always consumes one
/// (then @p out is exact enough to skip positions where the text holds none of them).
inline bool first_chars(const node& n, const set_table& t, range_union& out) {
  switch (n.kind) {
    case node_kind::chr: {
      const cp_range one{n.c, n.c};
      out.add(&one, &one + 1);
      return true;
    }
    case node_kind::set: {
      const range_set& r = t.sets[n.set];
      out.add(r.data(), r.data() + r.size());
      return true;
    }
    case node_kind::concat:
      for (const node& k : n.kids)
        if (first_chars(k, t, out)) return true;
      return false;
    case node_kind::alt: {
      bool all = true;
      for (const node& k : n.kids) all = first_chars(k, t, out) && all;
      return all;
    }
    case node_kind::repeat:
      if (n.max == 0) return false;
      return first_chars(n.kids[0], t, out) && n.min > 0;
    case node_kind::atomic:
      return first_chars(n.kids[0], t, out);
    default:
      return false;
  }
}

enum class op : std::uint8_t {
  match,
  character,     ///< a: code point
  set,           ///< a: set
  jump,          ///< x
  /// go to x, keep y for backtracking; gx / gy: the sets the next code point must be in for
  /// that branch to be worth trying
  split,
  assertion,     ///< at
  repeat,        ///< a: set, min..max times, mode; one backtracking entry however many it took
  counter_init,  ///< a: register
  counter_loop,  ///< a: register; below min: x (body); at max: y (exit); else both, in the mode's order
  counter_next,  ///< a: register; increments it, goes to x (the loop)
  save_pos,      ///< a: register
  empty_check,   ///< a: register; an iteration that consumed nothing leaves the loop (to x), as Oniguruma's does
  atomic_begin,  ///< a: register (stack height)
  atomic_end,
  look_begin,    ///< a, a+1: registers (stack height, position)
  look_end,
  neg_begin,     ///< a, a+1: registers (stack height, position); x: where matching goes on when the body fails
  neg_end,
  step_back,     ///< back by a..max code points (each in turn)
  check_pos,     ///< a+1: the register of the position a lookbehind started at; fails elsewhere
};
struct inst {
  op code = op::match;
  repeat_mode mode = repeat_mode::greedy;
  anchor at = anchor::bol;
  std::uint32_t a = 0, min = 0, max = 0, x = 0, y = 0, gx = none, gy = none;
};
struct program {
  std::vector<inst> code;
  std::vector<char_set> sets;
  std::uint32_t registers = 0;
  std::uint32_t filter = none;  ///< the pattern's first code point is in this set
  bool at_text_begin = false;   ///< the pattern starts with \A
  bool at_search_begin = false; ///< the pattern starts with \G
};

// --- parsing ---------------------------------------------------------------------------------

struct flags {
  bool icase = false, dotall = false;
};

struct property {
  const char* name;  ///< lower case, no spaces, '-' or '_'
  std::uint32_t mask;
  char special;  ///< 0: the categories in mask; else one of the letters below
};

inline range_set property_set(const property& p) {
  using gc = unicode::general_category;
  switch (p.special) {
    case 'a':
      return {{0, last_value}};
    case 'A':
      return {{0, 0x7f}};
    case 'w':
      return table_set(unicode_data::word);
    case 's':
      return table_set(unicode_data::white_space);
    case 'x':
      return {{U'0', U'9'}, {U'A', U'F'}, {U'a', U'f'}};
    case 'b': {
      range_set r = category_set(bit(gc::Zs));
      unite(r, {{U'\t', U'\t'}});
      return r;
    }
    case 'g':
    case 'p': {
      // Oniguruma's Graph: not White_Space, Cc, Cs or Cn; Print adds Zs.
      range_set r = category_set(bit(gc::Cc) | bit(gc::Cs) | bit(gc::Cn));
      unite(r, table_set(unicode_data::white_space));
      r = complement(r);
      if (p.special == 'p') unite(r, category_set(bit(gc::Zs)));
      return r;
    }
    default:
      return category_set(p.mask);
  }
}

inline const property* find_property(std::string_view name) {
  using gc = unicode::general_category;
  constexpr std::uint32_t L = bit(gc::Lu) | bit(gc::Ll) | bit(gc::Lt) | bit(gc::Lm) | bit(gc::Lo);
  constexpr std::uint32_t LC = bit(gc::Lu) | bit(gc::Ll) | bit(gc::Lt);
  constexpr std::uint32_t M = bit(gc::Mn) | bit(gc::Mc) | bit(gc::Me);
  constexpr std::uint32_t N = bit(gc::Nd) | bit(gc::Nl) | bit(gc::No);
  constexpr std::uint32_t P = bit(gc::Pc) | bit(gc::Pd) | bit(gc::Ps) | bit(gc::Pe) | bit(gc::Pi) | bit(gc::Pf) | bit(gc::Po);
  constexpr std::uint32_t S = bit(gc::Sm) | bit(gc::Sc) | bit(gc::Sk) | bit(gc::So);
  constexpr std::uint32_t Z = bit(gc::Zs) | bit(gc::Zl) | bit(gc::Zp);
  constexpr std::uint32_t C = bit(gc::Cc) | bit(gc::Cf) | bit(gc::Cs) | bit(gc::Co) | bit(gc::Cn);
  static constexpr property table[] = {
      {"l", L, 0}, {"letter", L, 0}, {"lc", LC, 0}, {"casedletter", LC, 0},
      {"lu", bit(gc::Lu), 0}, {"uppercaseletter", bit(gc::Lu), 0}, {"ll", bit(gc::Ll), 0}, {"lowercaseletter", bit(gc::Ll), 0},
      {"lt", bit(gc::Lt), 0}, {"titlecaseletter", bit(gc::Lt), 0}, {"lm", bit(gc::Lm), 0}, {"modifierletter", bit(gc::Lm), 0},
      {"lo", bit(gc::Lo), 0}, {"otherletter", bit(gc::Lo), 0},
      {"m", M, 0}, {"mark", M, 0}, {"combiningmark", M, 0}, {"mn", bit(gc::Mn), 0}, {"nonspacingmark", bit(gc::Mn), 0},
      {"mc", bit(gc::Mc), 0}, {"spacingmark", bit(gc::Mc), 0}, {"me", bit(gc::Me), 0}, {"enclosingmark", bit(gc::Me), 0},
      {"n", N, 0}, {"number", N, 0}, {"nd", bit(gc::Nd), 0}, {"decimalnumber", bit(gc::Nd), 0}, {"digit", bit(gc::Nd), 0},
      {"nl", bit(gc::Nl), 0}, {"letternumber", bit(gc::Nl), 0}, {"no", bit(gc::No), 0}, {"othernumber", bit(gc::No), 0},
      {"p", P, 0}, {"punctuation", P, 0}, {"punct", P, 0}, {"pc", bit(gc::Pc), 0}, {"connectorpunctuation", bit(gc::Pc), 0},
      {"pd", bit(gc::Pd), 0}, {"dashpunctuation", bit(gc::Pd), 0}, {"ps", bit(gc::Ps), 0}, {"openpunctuation", bit(gc::Ps), 0},
      {"pe", bit(gc::Pe), 0}, {"closepunctuation", bit(gc::Pe), 0},
      {"pi", bit(gc::Pi), 0}, {"initialpunctuation", bit(gc::Pi), 0},
      {"pf", bit(gc::Pf), 0}, {"finalpunctuation", bit(gc::Pf), 0}, {"po", bit(gc::Po), 0}, {"otherpunctuation", bit(gc::Po), 0},
      {"s", S, 0}, {"symbol", S, 0}, {"sm", bit(gc::Sm), 0}, {"mathsymbol", bit(gc::Sm), 0},
      {"sc", bit(gc::Sc), 0}, {"currencysymbol", bit(gc::Sc), 0}, {"sk", bit(gc::Sk), 0}, {"modifiersymbol", bit(gc::Sk), 0},
      {"so", bit(gc::So), 0}, {"othersymbol", bit(gc::So), 0},
      {"z", Z, 0}, {"separator", Z, 0}, {"zs", bit(gc::Zs), 0}, {"spaceseparator", bit(gc::Zs), 0},
      {"zl", bit(gc::Zl), 0}, {"lineseparator", bit(gc::Zl), 0}, {"zp", bit(gc::Zp), 0}, {"paragraphseparator", bit(gc::Zp), 0},
      {"c", C, 0}, {"other", C, 0}, {"cc", bit(gc::Cc), 0}, {"control", bit(gc::Cc), 0}, {"cntrl", bit(gc::Cc), 0},
      {"cf", bit(gc::Cf), 0}, {"format", bit(gc::Cf), 0}, {"cs", bit(gc::Cs), 0}, {"surrogate", bit(gc::Cs), 0},
      {"co", bit(gc::Co), 0}, {"privateuse", bit(gc::Co), 0}, {"cn", bit(gc::Cn), 0}, {"unassigned", bit(gc::Cn), 0},
      {"assigned", ~bit(gc::Cn) & ((std::uint32_t(1) << 30) - 1), 0},
      {"any", 0, 'a'}, {"ascii", 0, 'A'}, {"word", 0, 'w'}, {"space", 0, 's'}, {"whitespace", 0, 's'},
      {"xdigit", 0, 'x'}, {"blank", 0, 'b'}, {"graph", 0, 'g'}, {"print", 0, 'p'},
  };
  for (const property& p : table)
    if (name == p.name) return &p;
  return nullptr;
}
inline constexpr const char* supported_properties =
    "a general category (L, LC, Lu, Ll, Lt, Lm, Lo, M, Mn, Mc, Me, N, Nd, Nl, No, P, Pc, Pd, Ps, Pe, Pi, Pf, Po, "
    "S, Sm, Sc, Sk, So, Z, Zs, Zl, Zp, C, Cc, Cf, Cs, Co, Cn, or a long name such as Letter), or Any, Assigned, "
    "ASCII, Word, Space, Digit, XDigit, Blank, Cntrl, Graph, Print, Punct";

class parser {
 public:
  parser(std::u32string_view p, const std::string& what, set_table& sets) : p_(p), what_(what), sets_(sets) {}

  node parse() {
    node n = parse_alt(flags{});
    if (i_ < p_.size()) fail(i_, i_ + 1, "'(' before each ')'", "an unmatched ')'");
    return n;
  }

 private:
  std::u32string_view p_;
  const std::string& what_;
  set_table& sets_;
  std::size_t i_ = 0;
  std::size_t depth_ = 0;
  /// Sets built from the tables, by the escape that names them: a pattern may repeat \p{L} often.
  std::map<std::string, range_set> memo_;
  std::map<range_set, range_set> folded_;  ///< classes closed under case folding

  template <class Make>
  const range_set& memo(const std::string& key, Make make) {
    auto it = memo_.find(key);
    if (it == memo_.end()) it = memo_.emplace(key, make()).first;
    return it->second;
  }

  [[noreturn]] void fail(std::size_t from, std::size_t to, std::string_view expected, std::string_view found) const {
    from = std::min(from, p_.size());
    to = std::clamp(to, from, p_.size());
    std::string f(found);
    if (to > from) f.append(" '").append(encode_utf8(p_.substr(from, to - from))).append("'");
    f.append(" at code point ").append(std::to_string(from)).append(" of the pattern '").append(encode_utf8(p_)).append("'");
    throw_error<format_error>("tokenizers.regex", what_, expected, f);
  }
  [[noreturn]] void unsupported(std::size_t from, std::size_t to, std::string_view construct) const {
    fail(from, to, "a construct this engine supports", construct);
  }
  bool at(char32_t c) const { return i_ < p_.size() && p_[i_] == c; }
  bool at(std::size_t k, char32_t c) const { return k < p_.size() && p_[k] == c; }

  void enter(std::size_t from) {
    if (++depth_ > max_nesting)
      fail(from, from + 1, "groups, classes and stacked quantifiers nested at most 64 deep", "deeper nesting");
  }
  void leave() { --depth_; }

  node set_node(range_set r) {
    node n = make(node_kind::set);
    n.set = sets_.intern(std::move(r));
    return n;
  }
  node char_node(char32_t c, flags f) {
    if (f.icase) {
      range_set r{{c, c}};
      close_under_case(r);
      if (r.size() > 1 || r[0].first != r[0].second) return set_node(std::move(r));
    }
    node n = make(node_kind::chr);
    n.c = c;
    return n;
  }

  node parse_alt(flags f) {
    node alt = make(node_kind::alt);
    alt.kids.push_back(parse_concat(f));
    while (at(U'|')) {
      ++i_;
      alt.kids.push_back(parse_concat(f));
    }
    if (alt.kids.size() == 1) return std::move(alt.kids[0]);
    return alt;
  }

  node parse_concat(flags f) {
    node cat = make(node_kind::concat);
    std::size_t atoms = 0;
    while (i_ < p_.size() && p_[i_] != U'|' && p_[i_] != U')') {
      if (skip_comment()) continue;
      ++atoms;
      if (at(U'(') && at(i_ + 1, U'?') && i_ + 2 < p_.size() && is_option_letter(p_[i_ + 2])) {
        const std::size_t open = i_;
        flags g = f;
        const char32_t end = parse_options(g);
        if (end == U')') {
          // An isolated option takes the rest of the enclosing group, alternatives included.
          enter(open);
          cat.kids.push_back(parse_alt(g));
          leave();
          break;
        }
        enter(open);
        node body = parse_alt(g);
        expect_close(open);
        leave();
        body.quantify = node::target::group;
        append(cat, parse_quantifiers(std::move(body), open));
        continue;
      }
      const std::size_t start = i_;
      node a = parse_atom(f);
      append(cat, parse_quantifiers(std::move(a), start));
    }
    if (cat.kids.empty()) return make(node_kind::empty);
    if (cat.kids.size() > 1) return cat;
    // A sequence stays quantifiable for Oniguruma even when all but one of its parts match
    // nothing: (?:\A(?:))* is valid.
    if (atoms > 1) cat.kids[0].quantify = node::target::group;
    return std::move(cat.kids[0]);
  }
  static void append(node& cat, node n) {
    if (n.kind == node_kind::concat) {
      for (node& k : n.kids) cat.kids.push_back(std::move(k));
    } else if (n.kind != node_kind::empty) {
      cat.kids.push_back(std::move(n));
    }
  }

  bool skip_comment() {
    if (!(at(U'(') && at(i_ + 1, U'?') && at(i_ + 2, U'#'))) return false;
    const std::size_t open = i_;
    for (i_ += 3; i_ < p_.size() && p_[i_] != U')'; ++i_)
      if (p_[i_] == U'\\') ++i_;
    if (i_ >= p_.size()) fail(open, open + 3, "a comment closed by ')'", "the end of the pattern in the comment");
    ++i_;
    return true;
  }

  static bool is_option_letter(char32_t c) {
    return c == U'i' || c == U'm' || c == U'x' || c == U's' || c == U'-' || c == U'W' || c == U'D' || c == U'S' ||
           c == U'P' || c == U'y' || c == U'a' || c == U'C' || c == U'I' || c == U'L';
  }
  /// At "(?" followed by option letters: applies them to @p f and returns ':' or ')'.
  char32_t parse_options(flags& f) {
    const std::size_t open = i_;
    i_ += 2;
    bool neg = false;
    while (i_ < p_.size()) {
      const char32_t c = p_[i_];
      if (c == U':' || c == U')') {
        ++i_;
        return c;
      }
      if (c == U'-') neg = true;
      else if (c == U'i') f.icase = !neg;
      else if (c == U'm') f.dotall = !neg;
      else if (c == U'x') unsupported(i_, i_ + 1, "the extended-syntax option");
      else if (is_option_letter(c)) unsupported(i_, i_ + 1, "the option");
      else fail(i_, i_ + 1, "an option letter (i, m or -), ':' or ')'", "the character");
      ++i_;
    }
    fail(open, open + 2, "')' closing the group", "the end of the pattern in the group");
  }
  void expect_close(std::size_t open) {
    if (!at(U')')) fail(open, open + 1, "')' closing the group", "the end of the pattern after an unclosed '('");
    ++i_;
  }

  node parse_group(flags f) {
    const std::size_t open = i_;
    enter(open);
    ++i_;
    node n;
    bool bag = true;
    if (!at(U'?')) {
      n = parse_alt(f);  // a capture group: only whole matches are reported
    } else {
      ++i_;
      if (i_ >= p_.size()) fail(open, open + 2, "a group", "the end of the pattern");
      const char32_t c = p_[i_];
      if (c == U':') {
        ++i_;
        n = parse_alt(f);
        bag = false;
      } else if (c == U'=' || c == U'!') {
        ++i_;
        bag = false;
        n = make(node_kind::look);
        n.negate = c == U'!';
        n.kids.push_back(parse_alt(f));
      } else if (c == U'>') {
        ++i_;
        n = make(node_kind::atomic);
        n.kids.push_back(parse_alt(f));
      } else if (c == U'<' && (at(i_ + 1, U'=') || at(i_ + 1, U'!'))) {
        const bool neg = at(i_ + 1, U'!');
        i_ += 2;
        bag = false;
        n = lookbehind(parse_alt(f), neg);
      } else if (c == U'<' || c == U'\'') {
        // A named group; the name is only for backreferences, which are not supported.
        const char32_t close = c == U'<' ? U'>' : U'\'';
        const std::size_t name = ++i_;
        while (i_ < p_.size() && p_[i_] != close && (unicode::is_word(p_[i_]))) ++i_;
        if (!at(close) || i_ == name) fail(open, i_ + 1, "a group name of word characters", "the group");
        ++i_;
        n = parse_alt(f);
      } else if (c == U'(') {
        unsupported(open, i_ + 1, "a conditional group");
      } else if (c == U'~') {
        unsupported(open, i_ + 1, "an absent operator");
      } else if (c == U'{') {
        unsupported(open, i_ + 1, "a callout");
      } else {
        fail(open, i_ + 1, "a group type (?: ?= ?! ?<= ?<! ?> ?<name> ?i: ?#)", "the group");
      }
    }
    expect_close(open);
    leave();
    if (bag) n.quantify = node::target::group;
    return n;
  }

  node lookbehind(node body, bool neg) {
    const auto [lo, hi] = width(body);
    node n = make(node_kind::look);
    n.negate = neg;
    n.behind = true;
    n.min = std::uint32_t(std::min<std::size_t>(lo, infinite - 1));
    n.max = hi >= wide ? infinite : std::uint32_t(std::min<std::size_t>(hi, infinite - 1));
    n.kids.push_back(std::move(body));
    return n;
  }

  static bool invalid_target(const node& n) {
    if (n.quantify == node::target::group) return false;
    if (n.kind == node_kind::assertion || n.kind == node_kind::look) return true;
    if (n.kind == node_kind::alt)
      return std::any_of(n.kids.begin(), n.kids.end(), [](const node& k) { return invalid_target(k); });
    return false;
  }

  node parse_atom(flags f) {
    const char32_t c = p_[i_];
    switch (c) {
      case U'(':
        return parse_group(f);
      case U'[': {
        const std::size_t open = i_;
        auto [r, neg] = parse_class(open);
        if (f.icase) {
          auto it = folded_.find(r);
          if (it == folded_.end()) {
            range_set closed = r;
            close_under_case(closed);
            it = folded_.emplace(std::move(r), std::move(closed)).first;
          }
          r = it->second;
        }
        return set_node(neg ? complement(r) : std::move(r));
      }
      case U'.':
        ++i_;
        return set_node(f.dotall ? range_set{{0, last_value}} : range_set{{0, U'\n' - 1}, {U'\n' + 1, last_value}});
      case U'^':
      case U'$': {
        ++i_;
        node n = make(node_kind::assertion);
        n.at = c == U'^' ? anchor::bol : anchor::eol;
        return n;
      }
      case U'\\':
        return parse_escape(f);
      case U'*':
      case U'+':
      case U'?':
        fail(i_, i_ + 1, "something to repeat before a quantifier", "a quantifier");
      case U'{':
        if (interval_ahead()) fail(i_, i_ + 1, "something to repeat before a quantifier", "a quantifier");
        ++i_;
        return char_node(c, f);
      default:
        ++i_;
        return char_node(c, f);
    }
  }

  struct interval {
    std::uint32_t min = 0, max = 0;
    bool fixed = false, possessive = false;
    std::size_t end = 0;
  };
  std::uint32_t scan_number(std::size_t& k) const {
    const std::size_t start = k;
    std::uint64_t v = 0;
    while (k < p_.size() && p_[k] >= U'0' && p_[k] <= U'9') {
      v = std::min<std::uint64_t>(v * 10 + (p_[k] - U'0'), std::uint64_t(max_count) + 1);
      ++k;
    }
    if (v > max_count) fail(start, k, "a repeat count of at most 1000", "the count");
    return std::uint32_t(v);
  }
  /// Oniguruma's reading of "{": an interval {n} {n,} {,m} {n,m}, or (anything else) a literal.
  std::optional<interval> read_interval() const {
    std::size_t k = i_ + 1;
    interval r;
    const std::size_t lo_start = k;
    r.min = scan_number(k);
    const bool no_low = k == lo_start;
    if (k >= p_.size()) return std::nullopt;
    if (p_[k] == U',') {
      ++k;
      const std::size_t up_start = k;
      r.max = scan_number(k);
      if (k == up_start) {
        if (no_low) return std::nullopt;
        r.max = infinite;
      }
    } else {
      if (no_low) return std::nullopt;
      r.max = r.min;
      r.fixed = true;
    }
    if (k >= p_.size() || p_[k] != U'}') return std::nullopt;
    if (r.max != infinite && r.min > r.max) {
      std::swap(r.min, r.max);
      r.possessive = true;
    }
    r.end = k + 1;
    return r;
  }
  bool interval_ahead() const { return read_interval().has_value(); }

  node parse_quantifiers(node atom, std::size_t start) {
    std::size_t stacked = 0;
    for (;;) {
      while (skip_comment()) {
      }
      if (i_ >= p_.size()) break;
      const std::size_t q = i_;
      std::uint32_t lo, hi;
      repeat_mode mode = repeat_mode::greedy;
      const char32_t c = p_[i_];
      if (c == U'*' || c == U'+' || c == U'?') {
        lo = c == U'+' ? 1 : 0;
        hi = c == U'?' ? 1 : infinite;
        ++i_;
        if (at(U'?')) {
          mode = repeat_mode::lazy;
          ++i_;
        } else if (at(U'+')) {
          mode = repeat_mode::possessive;
          ++i_;
        }
      } else if (c == U'{') {
        const auto iv = read_interval();
        if (!iv) break;
        lo = iv->min;
        hi = iv->max;
        i_ = iv->end;
        if (iv->possessive) mode = repeat_mode::possessive;
        else if (!iv->fixed && at(U'?')) {
          mode = repeat_mode::lazy;
          ++i_;
        }
      } else {
        break;
      }
      if (invalid_target(atom))
        fail(q, i_, "a quantifier after a character, class or group", "a quantifier on an anchor or lookaround");
      if (stacked++ > 0 && depth_ + stacked - 1 > max_nesting)
        fail(start, i_, "groups, classes and stacked quantifiers nested at most 64 deep", "deeper nesting");
      node r = make(node_kind::repeat);
      r.min = lo;
      r.max = hi;
      r.mode = mode;
      r.kids.push_back(std::move(atom));
      atom = std::move(r);
    }
    return atom;
  }

  // --- escapes ---

  static int hex_value(char32_t c) {
    if (c >= U'0' && c <= U'9') return int(c - U'0');
    if (c >= U'a' && c <= U'f') return int(c - U'a' + 10);
    if (c >= U'A' && c <= U'F') return int(c - U'A' + 10);
    return -1;
  }
  char32_t checked_code_point(std::uint64_t v, std::size_t from) const {
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
      fail(from, i_, "a Unicode scalar value (at most U+10FFFF, not a surrogate)", "the escape");
    return char32_t(v);
  }
  /// After "\x", "\u", "\o" or "\0": the code point.
  char32_t parse_numeric_escape(char32_t kind, std::size_t from) {
    std::uint64_t v = 0;
    if (kind == U'x' && at(U'{')) {
      ++i_;
      std::size_t digits = 0;
      while (i_ < p_.size() && hex_value(p_[i_]) >= 0 && digits < 8) {
        v = v * 16 + std::uint64_t(hex_value(p_[i_++]));
        ++digits;
      }
      if (digits == 0 || !at(U'}')) fail(from, i_ + 1, "\\x{ followed by 1 to 8 hex digits and }", "the escape");
      ++i_;
      return checked_code_point(v, from);
    }
    if (kind == U'x') {
      std::size_t digits = 0;
      while (i_ < p_.size() && hex_value(p_[i_]) >= 0 && digits < 2) {
        v = v * 16 + std::uint64_t(hex_value(p_[i_++]));
        ++digits;
      }
      if (digits == 0) fail(from, i_, "\\x followed by hex digits", "the escape");
      if (v > 0x7f)
        unsupported(from, i_, "a raw byte above 0x7F (Oniguruma reads \\xHH as one UTF-8 byte; write \\x{HH} for a code point)");
      return char32_t(v);
    }
    if (kind == U'u') {
      for (int k = 0; k < 4; ++k) {
        if (i_ >= p_.size() || hex_value(p_[i_]) < 0) fail(from, i_ + 1, "\\u followed by 4 hex digits", "the escape");
        v = v * 16 + std::uint64_t(hex_value(p_[i_++]));
      }
      return checked_code_point(v, from);
    }
    if (kind == U'o') {
      if (!at(U'{')) unsupported(from, i_, "an unknown escape");
      ++i_;
      std::size_t digits = 0;
      while (i_ < p_.size() && p_[i_] >= U'0' && p_[i_] <= U'7' && digits < 11) {
        v = v * 8 + (p_[i_++] - U'0');
        ++digits;
      }
      if (digits == 0 || !at(U'}')) fail(from, i_ + 1, "\\o{ followed by 1 to 11 octal digits and }", "the escape");
      ++i_;
      return checked_code_point(v, from);
    }
    // \0 and up to two more octal digits
    for (int k = 0; k < 2 && i_ < p_.size() && p_[i_] >= U'0' && p_[i_] <= U'7'; ++k) v = v * 8 + (p_[i_++] - U'0');
    return char32_t(v);
  }
  static std::optional<char32_t> control_escape(char32_t c) {
    switch (c) {
      case U't': return U'\t';
      case U'n': return U'\n';
      case U'r': return U'\r';
      case U'f': return U'\f';
      case U'v': return U'\v';
      case U'a': return char32_t(7);
      case U'e': return char32_t(0x1b);
      default: return std::nullopt;
    }
  }
  /// \w \s \d \h and their negations; \p{..} and \P{..} (i_ just after the letter).
  /// @p in_class: Oniguruma's \w outside a class also takes ² ³ ¹ ¼ ½ ¾ (see is_word_char).
  std::optional<range_set> class_escape(char32_t c, std::size_t from, bool in_class) {
    std::string key{'\\', char(c), in_class ? 'c' : ' '};
    switch (c) {
      case U'w':
      case U'W':
        return memo(key, [&] {
          range_set r = table_set(unicode_data::word);
          if (!in_class) unite(r, latin1_word_extra());
          return c == U'w' ? r : complement(r);
        });
      case U's': return memo(key, [] { return table_set(unicode_data::white_space); });
      case U'S': return memo(key, [] { return complement(table_set(unicode_data::white_space)); });
      case U'd': return memo(key, [] { return category_set(bit(unicode::general_category::Nd)); });
      case U'D': return memo(key, [] { return complement(category_set(bit(unicode::general_category::Nd))); });
      case U'h': return range_set{{U'0', U'9'}, {U'A', U'F'}, {U'a', U'f'}};
      case U'H': return complement(range_set{{U'0', U'9'}, {U'A', U'F'}, {U'a', U'f'}});
      case U'p':
      case U'P': return parse_property(c == U'P', from);
      default: return std::nullopt;
    }
  }
  range_set parse_property(bool neg, std::size_t from) {
    std::string name;
    if (at(U'{')) {
      ++i_;
      if (at(U'^')) {
        neg = !neg;
        ++i_;
      }
      while (i_ < p_.size() && p_[i_] != U'}') {
        const char32_t c = p_[i_++];
        if (c >= 0x80 || name.size() > 64) fail(from, i_, std::string(supported_properties) + " in \\p{...}", "the property");
        if (c != U' ' && c != U'-' && c != U'_') name.push_back(char(c >= U'A' && c <= U'Z' ? c + 32 : c));
      }
      if (!at(U'}')) fail(from, i_, "\\p{name}", "the end of the pattern in the property");
      ++i_;
    } else {
      // \pL: the one-letter form Oniguruma accepts for the major classes.
      static constexpr std::u32string_view majors = U"CLMNPSZ";
      if (i_ >= p_.size() || majors.find(p_[i_]) == std::u32string_view::npos)
        fail(from, i_ + 1, "\\p{name} or \\pX with X one of C L M N P S Z", "the property");
      name.push_back(char(p_[i_++] + 32));
    }
    const property* p = find_property(name);
    if (!p) fail(from, i_, supported_properties, "the unknown or unsupported property");
    return memo(std::string(neg ? "P" : "p") + name, [&] {
      range_set r = property_set(*p);
      return neg ? complement(r) : r;
    });
  }

  node parse_escape(flags f) {
    const std::size_t from = i_++;
    if (i_ >= p_.size()) fail(from, from + 1, "an escaped character after '\\'", "the end of the pattern");
    const char32_t c = p_[i_++];
    if (const auto v = control_escape(c)) return char_node(*v, f);
    if (auto r = class_escape(c, from, false)) return set_node(std::move(*r));
    auto assertion = [](anchor a) {
      node n = make(node_kind::assertion);
      n.at = a;
      return n;
    };
    switch (c) {
      case U'b': return assertion(anchor::word_boundary);
      case U'B': return assertion(anchor::not_word_boundary);
      case U'A': return assertion(anchor::begin_text);
      case U'z': return assertion(anchor::end_text);
      case U'Z': return assertion(anchor::end_text_nl);
      case U'G': return assertion(anchor::search_start);
      case U'x':
      case U'u':
      case U'o':
      case U'0': return char_node(parse_numeric_escape(c, from), f);
      case U'N': return set_node({{0, U'\n' - 1}, {U'\n' + 1, last_value}});
      case U'O': return set_node({{0, last_value}});
      case U'R': {
        // \r\n or one vertical space, never backtracking from \r\n to \r.
        node crlf = make(node_kind::concat);
        crlf.kids.push_back(char_node(U'\r', flags{}));
        crlf.kids.push_back(char_node(U'\n', flags{}));
        node alt = make(node_kind::alt);
        alt.kids.push_back(std::move(crlf));
        alt.kids.push_back(set_node({{U'\n', U'\r'}, {0x85, 0x85}, {0x2028, 0x2029}}));
        node n = make(node_kind::atomic);
        n.kids.push_back(std::move(alt));
        return n;
      }
      case U'k': unsupported(from, i_, "a named backreference");
      case U'g': unsupported(from, i_, "a subexpression call");
      case U'K': unsupported(from, i_, "the keep escape");
      case U'X': unsupported(from, i_, "a text segment (grapheme cluster) escape");
      case U'y':
      case U'Y': unsupported(from, i_, "a text segment boundary");
      case U'c':
      case U'C':
      case U'M': unsupported(from, i_, "a control or meta escape");
      default: break;
    }
    if (c >= U'1' && c <= U'9') unsupported(from, i_, "a backreference");
    if (c < 0x80 && unicode::is_word(c)) unsupported(from, i_, "an unknown escape");
    return char_node(c, f);
  }

  // --- classes ---

  /// At '[': the set it describes before negation, and whether it is negated.
  std::pair<range_set, bool> parse_class(std::size_t open) {
    enter(open);
    ++i_;
    bool neg = false;
    if (at(U'^')) {
      neg = true;
      ++i_;
    }
    // A ']' right after '[' or '[^' is a literal when another ']' follows.
    bool literal_close = false;
    if (at(U']')) {
      if (p_.find(U']', i_ + 1) == std::u32string_view::npos)
        fail(open, i_ + 1, "a character class with members", "an empty class");
      literal_close = true;
    }
    enum class state { start, value, prop, range, complete };
    state st = state::start;
    char32_t cur = 0;
    std::size_t cur_at = 0;
    range_set acc;
    std::optional<range_set> anded;
    auto flush = [&] {
      if (st == state::value) acc.emplace_back(cur, cur);
    };
    auto add_value = [&](char32_t v, std::size_t from) {
      if (st == state::range) {
        if (cur > v) fail(cur_at, i_, "a range whose start is not above its end", "the range");
        acc.emplace_back(cur, v);
        st = state::complete;
      } else {
        flush();
        cur = v;
        cur_at = from;
        st = state::value;
      }
    };
    auto add_set = [&](const range_set& r, std::size_t from) {
      if (st == state::range) fail(from, i_, "a character as the end of a range", "a class");
      flush();
      acc.insert(acc.end(), r.begin(), r.end());
      st = state::prop;
    };
    auto ends_operand = [&](std::size_t k) { return at(k, U']') || (at(k, U'&') && at(k + 1, U'&')); };
    for (;;) {
      if (i_ >= p_.size()) fail(open, open + 1, "']' closing the class", "the end of the pattern in the class");
      const std::size_t from = i_;
      const char32_t c = p_[i_];
      if (c == U']' && !literal_close) {
        ++i_;
        break;
      }
      literal_close = false;
      if (c == U'[') {
        if (auto posix = posix_bracket()) {
          add_set(*posix, from);
        } else {
          // Oniguruma drops a pending "x-" before a nested class: [a-[bc]] is [bc].
          flush();
          auto [r, nneg] = parse_class(from);
          normalize(r);
          const range_set nested = nneg ? complement(r) : std::move(r);
          acc.insert(acc.end(), nested.begin(), nested.end());
          st = state::complete;
        }
      } else if (c == U'&' && at(i_ + 1, U'&')) {
        i_ += 2;
        flush();
        normalize(acc);
        anded = anded ? intersect(*anded, acc) : std::move(acc);
        acc.clear();
        st = state::start;
      } else if (c == U'-') {
        ++i_;
        if (st == state::start || st == state::range) {
          add_value(U'-', from);  // [-a], and [!--] (a range ending in '-')
        } else if (ends_operand(i_)) {
          flush();
          acc.emplace_back(U'-', U'-');
          st = state::complete;
        } else if (st == state::value) {
          st = state::range;
        } else if (st == state::prop) {
          fail(from, i_, "a character before '-' in a range", "a class");
        } else {
          add_value(U'-', from);  // [0-9-a] is [0-9\-a]
        }
      } else if (c == U'\\') {
        ++i_;
        if (i_ >= p_.size()) fail(from, from + 1, "an escaped character after '\\'", "the end of the pattern");
        const char32_t e = p_[i_++];
        if (const auto v = control_escape(e)) {
          add_value(*v, from);
        } else if (e == U'b') {
          add_value(char32_t(8), from);  // backspace, in a class only
        } else if (auto r = class_escape(e, from, true)) {
          add_set(*r, from);
        } else if (e == U'x' || e == U'u' || e == U'o' || e == U'0') {
          add_value(parse_numeric_escape(e, from), from);
        } else if (e >= U'1' && e <= U'9') {
          unsupported(from, i_, "a backreference");
        } else if (e < 0x80 && unicode::is_word(e)) {
          unsupported(from, i_, "an escape that has no meaning in a class");
        } else {
          add_value(e, from);
        }
      } else {
        ++i_;
        add_value(c, from);
      }
    }
    flush();
    normalize(acc);
    if (anded) acc = intersect(*anded, acc);
    leave();
    return {std::move(acc), neg};
  }
  /// At '[' in a class: a POSIX bracket such as [:alpha:] or [:^space:], or nothing.
  std::optional<range_set> posix_bracket() {
    if (!at(i_ + 1, U':')) return std::nullopt;
    std::size_t k = i_ + 2;
    const bool neg = at(k, U'^');
    if (neg) ++k;
    std::string name;
    while (k < p_.size() && ((p_[k] >= U'a' && p_[k] <= U'z') || (p_[k] >= U'A' && p_[k] <= U'Z')) && name.size() < 16)
      name.push_back(char(p_[k++]));
    if (name.empty() || !at(k, U':') || !at(k + 1, U']')) return std::nullopt;
    const std::size_t from = i_;
    i_ = k + 2;
    range_set r;
    // punct is P, as in Oniguruma 6.9.8 (what HF tokenizers link; 6.9.9 added S).
    if (name == "punct" || name == "word" || name == "space" || name == "digit" || name == "xdigit" || name == "ascii" ||
               name == "blank" || name == "cntrl" || name == "graph" || name == "print") {
      r = property_set(*find_property(name));
    } else {
      fail(from, i_, "a POSIX bracket among [:word:] [:space:] [:digit:] [:xdigit:] [:ascii:] [:blank:] [:cntrl:] "
           "[:graph:] [:print:] [:punct:]", "the unsupported POSIX bracket");
    }
    return neg ? complement(r) : r;
  }
};

// --- compiling -------------------------------------------------------------------------------

class compiler {
 public:
  compiler(program& pg, set_table& sets) : pg_(pg), sets_(sets) {}

  void compile(const node& root) {
    emit(root);
    emit_inst(op::match);
    // A greedy single-character loop that only the end of the match follows never needs to give
    // characters back: the first match reached is the result.
    for (inst& in : pg_.code) {
      if (in.code != op::repeat || in.mode != repeat_mode::greedy) continue;
      std::size_t t = std::size_t(&in - pg_.code.data()) + 1;
      for (std::size_t hops = 0; pg_.code[t].code == op::jump && hops < 64; ++hops) t = pg_.code[t].x;
      if (pg_.code[t].code == op::match) in.mode = repeat_mode::possessive;
    }
    range_union first;
    if (first_chars(root, sets_, first)) {
      range_set r = first.take();
      if (!covers_all(r)) pg_.filter = sets_.intern(std::move(r));
    }
    const node* head = &root;
    while (head->kind == node_kind::concat && !head->kids.empty()) head = &head->kids[0];
    if (head->kind == node_kind::assertion) {
      pg_.at_text_begin = head->at == anchor::begin_text;
      pg_.at_search_begin = head->at == anchor::search_start;
    }
    pg_.sets.reserve(sets_.sets.size());
    for (const range_set& r : sets_.sets) pg_.sets.emplace_back(r);
  }

 private:
  program& pg_;
  set_table& sets_;

  static bool covers_all(const range_set& r) { return r.size() == 1 && r[0].first == 0 && r[0].second == last_value; }

  std::uint32_t here() const { return std::uint32_t(pg_.code.size()); }
  std::uint32_t emit_inst(op code, std::uint32_t a = 0) {
    inst in;
    in.code = code;
    in.a = a;
    pg_.code.push_back(in);
    return here() - 1;
  }
  std::uint32_t new_registers(std::uint32_t k) {
    const std::uint32_t r = pg_.registers;
    pg_.registers += k;
    return r;
  }
  /// The set of code points @p n must start with, or none when it may consume nothing.
  std::uint32_t guard(const node& n) {
    range_union u;
    if (!first_chars(n, sets_, u)) return none;
    range_set r = u.take();
    return covers_all(r) ? none : sets_.intern(std::move(r));
  }

  void emit(const node& n) {
    switch (n.kind) {
      case node_kind::empty:
        return;
      case node_kind::chr:
        emit_inst(op::character, n.c);
        return;
      case node_kind::set:
        emit_inst(op::set, n.set);
        return;
      case node_kind::concat:
        for (const node& k : n.kids) emit(k);
        return;
      case node_kind::alt:
        emit_alt(n);
        return;
      case node_kind::repeat:
        emit_repeat(n.kids[0], n.min, n.max, n.mode);
        return;
      case node_kind::atomic: {
        const std::uint32_t r = new_registers(1);
        emit_inst(op::atomic_begin, r);
        emit(n.kids[0]);
        emit_inst(op::atomic_end, r);
        return;
      }
      case node_kind::look: {
        const std::uint32_t r = new_registers(2);
        const std::uint32_t begin = emit_inst(n.negate ? op::neg_begin : op::look_begin, r);
        if (n.behind) {
          // Step back by each width the body can have, and keep the start from which it ends
          // exactly here.
          const std::uint32_t b = emit_inst(op::step_back, n.min);
          pg_.code[b].max = n.max;
          emit(n.kids[0]);
          if (n.min != n.max) emit_inst(op::check_pos, r);
        } else {
          emit(n.kids[0]);
        }
        emit_inst(n.negate ? op::neg_end : op::look_end, r);
        pg_.code[begin].x = here();
        return;
      }
      case node_kind::assertion: {
        const std::uint32_t k = emit_inst(op::assertion);
        pg_.code[k].at = n.at;
        return;
      }
    }
  }

  void emit_alt(const node& n) {
    const std::size_t k = n.kids.size();
    // Each branch is tried only where the next code point can start it (and the rest only where
    // it can start one of them), so a pattern of many alternatives pushes few entries per position.
    const bool guarded = k <= 64;
    std::vector<std::uint32_t> rest(k + 1, none);
    if (guarded) {
      range_union acc;
      bool all = true;
      for (std::size_t i = k; i-- > 1;) {
        all = first_chars(n.kids[i], sets_, acc) && all;
        if (!all) break;  // a branch that may consume nothing: no guard for it or any before it
        const range_set r = acc.take();
        if (!covers_all(r)) rest[i] = sets_.intern(r);
      }
    }
    std::vector<std::uint32_t> ends;
    for (std::size_t i = 0; i + 1 < k; ++i) {
      const std::uint32_t s = emit_inst(op::split);
      pg_.code[s].x = here();
      pg_.code[s].gx = guarded ? guard(n.kids[i]) : none;
      emit(n.kids[i]);
      ends.push_back(emit_inst(op::jump));
      pg_.code[s].y = here();
      pg_.code[s].gy = rest[i + 1];
    }
    emit(n.kids[k - 1]);
    for (std::uint32_t e : ends) pg_.code[e].x = here();
  }

  /// A split that tries the body first (greedy) or last (lazy); returns its index.
  std::uint32_t emit_split(repeat_mode mode, std::uint32_t body, std::uint32_t body_guard) {
    const std::uint32_t s = emit_inst(op::split);
    if (mode == repeat_mode::lazy) {
      pg_.code[s].y = body;
      pg_.code[s].gy = body_guard;
    } else {
      pg_.code[s].x = body;
      pg_.code[s].gx = body_guard;
    }
    return s;
  }
  void set_exit(std::uint32_t s, repeat_mode mode, std::uint32_t exit) {
    if (mode == repeat_mode::lazy) pg_.code[s].x = exit;
    else pg_.code[s].y = exit;
  }

  void emit_repeat(const node& x, std::uint32_t min, std::uint32_t max, repeat_mode mode) {
    if (max == 0) return;
    if (min == 1 && max == 1) {
      emit(x);
      return;
    }
    if (x.kind == node_kind::chr || x.kind == node_kind::set) {
      const std::uint32_t k = emit_inst(op::repeat, x.kind == node_kind::set ? x.set : sets_.intern({{x.c, x.c}}));
      pg_.code[k].min = min;
      pg_.code[k].max = max;
      pg_.code[k].mode = mode;
      return;
    }
    if (mode == repeat_mode::possessive) {
      const std::uint32_t r = new_registers(1);
      emit_inst(op::atomic_begin, r);
      emit_repeat(x, min, max, repeat_mode::greedy);
      emit_inst(op::atomic_end, r);
      return;
    }
    const bool nullable = width(x).first == 0;
    const std::uint32_t g = guard(x);
    // An iteration that matched nothing leaves an unbounded loop, which could spin forever.
    const bool check = nullable && max == infinite;
    const std::uint32_t e = check ? new_registers(1) : 0;
    std::vector<std::uint32_t> exits;
    auto body = [&] {
      if (check) emit_inst(op::save_pos, e);
      emit(x);
      if (check) exits.push_back(emit_inst(op::empty_check, e));
    };
    if (max == infinite && min == 0) {
      const std::uint32_t loop = here();
      const std::uint32_t s = emit_split(mode, loop + 1, g);
      body();
      pg_.code[emit_inst(op::jump)].x = loop;
      set_exit(s, mode, here());
    } else if (max == infinite && min == 1) {
      const std::uint32_t start = here();
      body();
      const std::uint32_t s = emit_split(mode, start, g);
      set_exit(s, mode, here());
    } else if (min == 0 && max == 1) {
      const std::uint32_t s = emit_split(mode, here() + 1, g);
      emit(x);
      set_exit(s, mode, here());
    } else {
      const std::uint32_t c = new_registers(1);
      emit_inst(op::counter_init, c);
      const std::uint32_t loop = emit_inst(op::counter_loop, c);
      pg_.code[loop].min = min;
      pg_.code[loop].max = max;
      pg_.code[loop].mode = mode;
      pg_.code[loop].x = here();
      body();
      pg_.code[emit_inst(op::counter_next, c)].x = loop;
      pg_.code[loop].y = here();
    }
    for (std::uint32_t k : exits) pg_.code[k].x = here();
  }
};

/// Backtracking entries.
enum class frame_kind : std::uint32_t { choice, undo, give_back, take_more, step_more };
struct frame {
  frame_kind kind;
  std::uint32_t pc;  ///< choice: where to go on; undo: the register; others: the instruction
  /// choice: the position; undo: the old value; give_back / take_more: where the loop ends now;
  /// step_more: where the lookbehind started
  std::size_t pos;
  /// give_back: the fewest the loop may end at; take_more: how many it took; step_more: how far
  /// back it steps now
  std::size_t aux;
};
struct scratch {
  std::vector<frame> stack;
  std::vector<std::size_t> regs;
};

}  // namespace regex_detail

/// A compiled Oniguruma pattern (see the file comment for the syntax): leftmost-first search
/// over code points, as HF tokenizers run Split pre-tokenizer and Replace normalizer patterns.
class regex {
 public:
  /// Matches nothing.
  regex() = default;

  /// Compiles a UTF-8 pattern. Throws format_error (where "tokenizers.regex") naming @p what
  /// (e.g. "pre_tokenizer.pattern.Regex in tokenizer.json"), what syntax was expected and the
  /// offending part, for anything unsupported or malformed. Never UB on any input.
  explicit regex(std::string_view pattern, std::string what = "regex") : pattern_(pattern), what_(std::move(what)) {
    std::u32string p;
    try {
      p = decode_utf8(pattern, what_);
    } catch (const format_error& e) {
      const std::string_view m = e.what();
      const std::size_t got = m.rfind(", got ");
      throw_error<format_error>("tokenizers.regex", what_, "a pattern in valid UTF-8",
                                got == std::string_view::npos ? m : m.substr(got + 6));
    }
    regex_detail::set_table sets;
    const regex_detail::node root = regex_detail::parser(p, what_, sets).parse();
    regex_detail::compiler(prog_, sets).compile(root);
  }

  /// Leftmost-first (Perl/Oniguruma backtracking priority) match starting at the earliest
  /// position >= @p from; {begin, end} in code points, or std::nullopt. Lookbehind and `^` see
  /// the text before @p from. Throws format_error when the pattern takes more steps than the
  /// budget for this text allows (catastrophic backtracking).
  std::optional<std::pair<std::size_t, std::size_t>> search(std::u32string_view s, std::size_t from = 0) const {
    regex_detail::scratch w;
    return search(s, from, w);
  }

  /// All non-overlapping matches left to right, as Oniguruma's find_iter (used by HF
  /// tokenizers) gives them: after a match [b,e) the next search starts at e; an empty match is
  /// skipped (search resumes one code point further) and not reported.
  std::vector<std::pair<std::size_t, std::size_t>> find_all(std::u32string_view s) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    regex_detail::scratch w;
    std::size_t pos = 0;
    while (pos <= s.size()) {
      const auto m = search(s, pos, w);
      if (!m) break;
      if (m->first == m->second) {
        pos = m->second + 1;
        continue;
      }
      out.push_back(*m);
      pos = m->second;
    }
    return out;
  }

  /// The pattern as given (UTF-8).
  const std::string& pattern() const noexcept { return pattern_; }

 private:
  std::string pattern_, what_;
  regex_detail::program prog_;

  [[noreturn]] void too_costly(std::size_t n, std::uint64_t budget) const {
    std::string expected = "a pattern that matches within ", found = "the pattern '";
    expected.append(std::to_string(budget)).append(" steps on ").append(std::to_string(n)).append(" code points");
    found.append(pattern_).append("', too costly for this input (catastrophic backtracking)");
    throw_error<format_error>("tokenizers.regex", what_, expected, found);
  }

  std::optional<std::pair<std::size_t, std::size_t>> search(std::u32string_view s, std::size_t from,
                                                            regex_detail::scratch& w) const {
    using namespace regex_detail;
    const std::size_t n = s.size();
    if (prog_.code.empty() || from > n) return std::nullopt;
    const std::uint64_t budget = base_steps + steps_per_code_point * std::uint64_t(n - from + 1);
    const std::size_t stack_cap = base_stack + stack_per_code_point * (n - from + 1);
    std::uint64_t steps = budget;
    w.regs.resize(prog_.registers);
    const char_set* filter = prog_.filter == none ? nullptr : &prog_.sets[prog_.filter];
    for (std::size_t start = from; start <= n; ++start) {
      if ((prog_.at_text_begin && start != 0) || (prog_.at_search_begin && start != from)) break;
      if (filter) {
        // The pattern must consume a code point from this set first.
        while (start < n && !filter->contains(s[start])) ++start;
        if (start == n) break;
      }
      if (steps == 0) too_costly(n, budget);
      --steps;
      std::size_t end = 0;
      if (run(s, start, from, w, end, steps, budget, stack_cap)) return std::make_pair(start, end);
    }
    return std::nullopt;
  }

  static bool is_word_at(std::u32string_view s, std::size_t i) { return i < s.size() && regex_detail::is_word_char(s[i]); }
  static bool check(regex_detail::anchor a, std::u32string_view s, std::size_t pos, std::size_t from) {
    using regex_detail::anchor;
    const std::size_t n = s.size();
    switch (a) {
      case anchor::bol:  // Oniguruma: not after a newline that ends the text
        return pos == 0 || (pos < n && s[pos - 1] == U'\n');
      case anchor::eol:
        return pos == n || s[pos] == U'\n';
      case anchor::begin_text:
        return pos == 0;
      case anchor::end_text:
        return pos == n;
      case anchor::end_text_nl:
        return pos == n || (pos + 1 == n && s[pos] == U'\n');
      case anchor::word_boundary:
        return (pos > 0 && is_word_at(s, pos - 1)) != is_word_at(s, pos);
      case anchor::not_word_boundary:
        return (pos > 0 && is_word_at(s, pos - 1)) == is_word_at(s, pos);
      case anchor::search_start:
        return pos == from;
    }
    return false;
  }

  /// One attempt at @p start: true and @p end when the pattern matches there.
  bool run(std::u32string_view s, std::size_t start, std::size_t from, regex_detail::scratch& w, std::size_t& end,
           std::uint64_t& steps, std::uint64_t budget, std::size_t stack_cap) const {
    using namespace regex_detail;
    const std::size_t n = s.size();
    const inst* code = prog_.code.data();
    const char_set* sets = prog_.sets.data();
    std::vector<frame>& st = w.stack;
    std::size_t* regs = w.regs.data();
    st.clear();
    auto push = [&](frame f) {
      if (st.size() >= stack_cap) too_costly(n, budget);
      st.push_back(f);
    };
    auto take = [&](std::uint64_t k) {
      if (steps < k) too_costly(n, budget);
      steps -= k;
    };
    auto in_set = [&](std::uint32_t g, std::size_t p) { return g == none || (p < n && sets[g].contains(s[p])); };
    std::uint32_t pc = 0;
    std::size_t pos = start;
    for (;;) {
      take(1);
      const inst& in = code[pc];
      switch (in.code) {
        case op::match:
          end = pos;
          return true;
        case op::character:
          if (pos < n && s[pos] == in.a) {
            ++pos;
            ++pc;
            continue;
          }
          break;
        case op::set:
          if (pos < n && sets[in.a].contains(s[pos])) {
            ++pos;
            ++pc;
            continue;
          }
          break;
        case op::jump:
          pc = in.x;
          continue;
        case op::split: {
          const bool x = in_set(in.gx, pos), y = in_set(in.gy, pos);
          if (x) {
            if (y) push({frame_kind::choice, in.y, pos, 0});
            pc = in.x;
            continue;
          }
          if (y) {
            pc = in.y;
            continue;
          }
          break;
        }
        case op::assertion:
          if (check(in.at, s, pos, from)) {
            ++pc;
            continue;
          }
          break;
        case op::repeat: {
          const char_set& cs = sets[in.a];
          const std::size_t avail = n - pos;
          const std::size_t most = in.max == infinite ? avail : std::min<std::size_t>(avail, in.max);
          const std::size_t want = in.mode == repeat_mode::lazy ? std::min<std::size_t>(most, in.min) : most;
          std::size_t k = 0;
          while (k < want && cs.contains(s[pos + k])) ++k;
          take(k);
          if (k < in.min) break;
          if (in.mode == repeat_mode::greedy && k > in.min) push({frame_kind::give_back, pc, pos + k, pos + in.min});
          if (in.mode == repeat_mode::lazy && k < most) push({frame_kind::take_more, pc, pos + k, k});
          pos += k;
          ++pc;
          continue;
        }
        case op::counter_init:
          push({frame_kind::undo, in.a, regs[in.a], 0});
          regs[in.a] = 0;
          ++pc;
          continue;
        case op::counter_loop: {
          const std::size_t count = regs[in.a];
          if (count < in.min) {
            pc = in.x;
          } else if (in.max != infinite && count >= in.max) {
            pc = in.y;
          } else if (in.mode == repeat_mode::lazy) {
            push({frame_kind::choice, in.x, pos, 0});
            pc = in.y;
          } else {
            push({frame_kind::choice, in.y, pos, 0});
            pc = in.x;
          }
          continue;
        }
        case op::counter_next:
          push({frame_kind::undo, in.a, regs[in.a], 0});
          ++regs[in.a];
          pc = in.x;
          continue;
        case op::save_pos:
          push({frame_kind::undo, in.a, regs[in.a], 0});
          regs[in.a] = pos;
          ++pc;
          continue;
        case op::empty_check:
          pc = pos == regs[in.a] ? in.x : pc + 1;
          continue;
        // Cutting the stack back drops the entries of the constructs inside (their registers are
        // dead once it is left: nothing can backtrack into it any more).
        case op::atomic_begin:
          regs[in.a] = st.size();
          ++pc;
          continue;
        case op::atomic_end:
          st.resize(regs[in.a]);
          ++pc;
          continue;
        case op::look_begin:
          regs[in.a] = st.size();
          regs[in.a + 1] = pos;
          ++pc;
          continue;
        case op::look_end:
          st.resize(regs[in.a]);
          pos = regs[in.a + 1];
          ++pc;
          continue;
        case op::neg_begin:
          regs[in.a] = st.size();
          regs[in.a + 1] = pos;
          push({frame_kind::choice, in.x, pos, 0});
          ++pc;
          continue;
        case op::neg_end:
          st.resize(regs[in.a]);
          break;
        case op::step_back:
          if (pos >= in.a) {
            if (in.max != in.a && pos > in.a) push({frame_kind::step_more, pc, pos, in.a});
            pos -= in.a;
            ++pc;
            continue;
          }
          break;
        case op::check_pos:
          if (pos == regs[in.a + 1]) {
            ++pc;
            continue;
          }
          break;
      }
      // Backtrack to the latest choice, undoing register writes on the way.
      for (;;) {
        if (st.empty()) return false;
        take(1);
        frame& f = st.back();
        if (f.kind == frame_kind::undo) {
          regs[f.pc] = f.pos;
          st.pop_back();
          continue;
        }
        if (f.kind == frame_kind::choice) {
          pc = f.pc;
          pos = f.pos;
          st.pop_back();
          break;
        }
        if (f.kind == frame_kind::give_back) {
          pos = --f.pos;
          pc = f.pc + 1;
          if (f.pos == f.aux) st.pop_back();
          break;
        }
        const inst& r = code[f.pc];
        if (f.kind == frame_kind::step_more) {
          const std::size_t k = ++f.aux;
          pos = f.pos - k;
          pc = f.pc + 1;
          if (k == f.pos || (r.max != infinite && k >= r.max)) st.pop_back();
          break;
        }
        if (f.pos < n && sets[r.a].contains(s[f.pos])) {  // take_more
          pos = ++f.pos;
          ++f.aux;
          pc = f.pc + 1;
          if ((r.max != infinite && f.aux >= r.max) || f.pos == n) st.pop_back();
          break;
        }
        st.pop_back();
      }
    }
  }
};

}  // namespace eigenformer::tokenizers
