// The Oniguruma-syntax regex engine of tokenizer.json patterns: each construct on crafted inputs
// (begin/end in code points), the pre-tokenizer patterns of GPT-2, Llama 3, Qwen2, o200k-style
// (Phi-4), DeepSeek and BLOOM on tricky strings, every rejected construct with its message, the
// step budget, long inputs, and the Unicode tables behind \p{..}.
//
// The expected splits of the tokenizer patterns come from JavaScript's RegExp (Node 20, `u` flag):
// JavaScript has no (?i:...) and a different \s, so the reference ran the patterns with
// (?i:'s|...) spelled out ('[sS\u017f]|'[tT]|...) and \s replaced by Oniguruma's White_Space set
// [\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]. Every expectation in this
// file also agrees with libonig 6.9.8 (the Oniguruma HF tokenizers link), which was run on the same
// inputs while writing it.
#include <eigenformer/tokenizers/regex.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace tk = eigenformer::tokenizers;
using Catch::Matchers::Contains;

// Everything lives in this namespace: the file may be built in one unity unit with other tests.
namespace regex_test {

std::string span_text(std::size_t b, std::size_t e) {
  std::string s = "[";
  s.append(std::to_string(b)).append(",").append(std::to_string(e)).append(")");
  return s;
}
// "[b,e) [b,e) ..." for every match of find_all: compact, and readable when a check fails.
std::string spans(const tk::regex& r, std::u32string_view s) {
  std::string out;
  for (const auto& [b, e] : r.find_all(s)) {
    if (!out.empty()) out += ' ';
    out += span_text(b, e);
  }
  return out;
}
std::string spans(std::string_view pattern, std::u32string_view s) { return spans(tk::regex(pattern), s); }
// The first match at or after @p from, as "[b,e)", or "none".
std::string first(std::string_view pattern, std::u32string_view s, std::size_t from = 0) {
  const auto m = tk::regex(pattern).search(s, from);
  return m ? span_text(m->first, m->second) : "none";
}
// The message of the format_error compiling @p pattern throws (empty when it compiles).
std::string error_of(std::string_view pattern) {
  try {
    tk::regex r(pattern, "pre_tokenizer.pattern.Regex in tokenizer.json");
  } catch (const eigenformer::format_error& e) {
    return e.what();
  }
  return {};
}

struct split_case {
  std::u32string text;
  std::string want;
};
void check_splits(const tk::regex& r, const std::vector<split_case>& cases) {
  for (const auto& c : cases) {
    INFO("text: " << tk::encode_utf8(c.text));
    CHECK(spans(r, c.text) == c.want);
  }
}

const char* const gpt2_pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const llama3_pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

TEST_CASE("regex: literals and escapes", "[tokenizers][regex]") {
  CHECK(first("abc", U"xxabcabc") == "[2,5)");
  CHECK(spans("abc", U"xxabcabc") == "[2,5) [5,8)");
  CHECK(first("abc", U"xxabcabc", 3) == "[5,8)");
  CHECK(first("abc", U"ab") == "none");
  CHECK(first("abc", U"abc", 4) == "none");  // past the end
  // Every escaped metacharacter is itself.
  CHECK(first(R"(\.\\\(\)\[\]\{\}\|\?\*\+\^\$\/\-)", U"x.\\()[]{}|?*+^$/-") == "[1,17)");
  CHECK(first(R"(\t\n\r\f\v\a\e)", U"_\t\n\r\f\v\a\x1b") == "[1,8)");
  CHECK(first(R"(\x41\x{4E2D}\u00e9\o{101}\0)", std::u32string(U"_A中éA\0", 6)) == "[1,6)");
  CHECK(first(R"(\x{1F600}+)", U"a😀😀b") == "[1,3)");
  CHECK(first("中文", U"说中文") == "[1,3)");  // UTF-8 literals
  CHECK(first("😀", U"a😀") == "[1,2)");       // one code point, not two UTF-16 units
  // An escaped non-ASCII character is itself; '}' and ']' alone are literals.
  CHECK(first(R"(\…}])", U"x…}]") == "[1,4)");
  // A '{' that does not start an interval is a literal, as Oniguruma reads it.
  CHECK(first("a{", U"a{") == "[0,2)");
  CHECK(first("a{1,x}", U"a{1,x}") == "[0,6)");
  CHECK(first("{", U"x{") == "[1,2)");
  CHECK(first("a{,}", U"a{,}") == "[0,4)");
  // Comments are skipped, even between an atom and its quantifier.
  CHECK(first("a(?#note)b", U"ab") == "[0,2)");
  CHECK(first("a(?#x)+", U"aaa") == "[0,3)");
}

TEST_CASE("regex: dot, classes, ranges, negation, nesting, intersection", "[tokenizers][regex]") {
  CHECK(spans(".", U"a\nb") == "[0,1) [2,3)");  // not \n
  CHECK(first(".", U"\r") == "[0,1)");           // but \r, unlike JavaScript's
  CHECK(first("(?m:.+)", U"a\nb") == "[0,3)");   // (?m): the dot takes \n too
  CHECK(first("[a-c]+", U"xxabcd") == "[2,5)");
  CHECK(first("[^a-c]+", U"abxyc") == "[2,4)");
  CHECK(first("[^a-c]", U"abc") == "none");
  CHECK(first("[a-cx-z]+", U"-azbyc-") == "[1,6)");
  CHECK(first(R"([\p{Lu}\d]+)", U"abC3D4e") == "[2,6)");
  CHECK(first(R"([^\s\p{L}\p{N}]+)", U"ab !?…x") == "[3,6)");
  CHECK(first(R"([\x{4E00}-\x{9FFF}]+)", U"a中文b") == "[1,3)");
  CHECK(first(R"([\t\n\]\\\-]+)", U"a\t\n]\\-b") == "[1,6)");
  // '-' first or last, ']' first, '[' nested: as Oniguruma reads them.
  CHECK(spans("[-a]", U"-ab") == "[0,1) [1,2)");
  CHECK(spans("[a-]", U"-ab") == "[0,1) [1,2)");
  CHECK(spans("[]a]", U"]ab") == "[0,1) [1,2)");
  CHECK(spans("[^]a]", U"]ab") == "[2,3)");
  CHECK(spans("[0-9-a]", U"5-ab") == "[0,1) [1,2) [2,3)");  // "-" after a range is a literal
  CHECK(spans("[!--]", U"!,-.") == "[0,1) [1,2) [2,3)");    // a range ending in '-'
  CHECK(spans("[a[bc]]", U"abcd") == "[0,1) [1,2) [2,3)");  // nested class: union
  CHECK(spans("[a[^b]]", U"abc") == "[0,1) [2,3)");
  CHECK(spans("[a-[bc]]", U"a-bc") == "[2,3) [3,4)");       // Oniguruma drops "a-" before a nested class
  CHECK(first("[a-z&&[^aeiou]]+", U"aebcdi") == "[2,5)");   // intersection
  CHECK(first("[a-w&&[^c-g]z]+", U"czabhw") == "[2,6)");    // Oniguruma's example: [abh-w]
  CHECK(first("[^a-z&&b]+", U"bac") == "[1,3)");            // negation applies last
  CHECK(first("[a&&]", U"a&") == "none");                   // empty intersection
  CHECK(spans("[[:digit:]x]", U"1x٣a") == "[0,1) [1,2) [2,3)");
  CHECK(spans("[[:^space:]]", U" a\u00a0b") == "[1,2) [3,4)");
  CHECK(spans("[[:punct:]]", U"a!$") == "[1,2)");  // punct is P in Oniguruma 6.9.8
  // BLOOM's pattern: a class holding a nested class and '(' '|' ')' as literals.
  CHECK(spans(R"( ?[^(\s|[.,!?…。，、।۔،])]+)", U"Hello, world! (x|y) 中文。好") ==
        "[0,5) [6,12) [15,16) [17,18) [19,22) [23,24)");
}

TEST_CASE("regex: the shorthand classes (space, digit, word, horizontal space) and properties", "[tokenizers][regex]") {
  // \s is White_Space: U+0085 and U+00A0 are in, U+FEFF and U+200B are not (JavaScript's \s has
  // U+FEFF and lacks U+0085).
  CHECK(spans(R"(\s)", U"\t\n\v\f\r \u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000") ==
        "[0,1) [1,2) [2,3) [3,4) [4,5) [5,6) [6,7) [7,8) [8,9) [9,10) [10,11) [11,12) [12,13) [13,14) [14,15) [15,16)");
  CHECK(spans(R"(\s)", U"\ufeff\u200b\u180ex") == "");
  CHECK(spans(R"(\S+)", U"a\u00a0b\ufeffc") == "[0,1) [2,5)");
  // \d is \p{Nd}: Arabic-Indic and fullwidth digits are in, superscripts (No) are not.
  CHECK(spans(R"(\d)", U"1٣３²Ⅻ") == "[0,1) [1,2) [2,3)");
  CHECK(spans(R"(\D+)", U"1²Ⅻ2") == "[1,3)");
  CHECK(spans(R"(\h+)", U"0aFgG9") == "[0,3) [5,6)");
  CHECK(spans(R"(\H+)", U"0aFgG9") == "[3,5)");
  // \w: Alphabetic, marks, Nd, Pc; outside a class also ² ³ ¹ ¼ ½ ¾ (Oniguruma's Latin-1 table).
  CHECK(spans(R"(\w+)", U"é_1\u0301 x‿y Ⓐ") == "[0,4) [5,8) [9,10)");
  CHECK(spans(R"(\w+)", U"a²b ¾") == "[0,3) [4,5)");
  CHECK(spans(R"([\w]+)", U"a²b ¾") == "[0,1) [2,3)");
  CHECK(spans(R"(\W+)", U"a²b ¾") == "[3,4)");
  CHECK(spans(R"([\W]+)", U"a²b ¾") == "[1,2) [3,5)");
  // General categories and groups.
  CHECK(spans(R"(\p{Lu})", U"aBǅÉ") == "[1,2) [3,4)");
  CHECK(spans(R"(\p{Ll}+)", U"aBcdÉé") == "[0,1) [2,4) [5,6)");
  CHECK(spans(R"(\p{Lt})", U"ǅǄǆ") == "[0,1)");
  CHECK(spans(R"(\p{Lm})", U"aʰー") == "[1,2) [2,3)");
  CHECK(spans(R"(\p{Lo}+)", U"a中文かなא") == "[1,6)");
  CHECK(spans(R"(\p{M})", U"e\u0301\u093f\u20dd") == "[1,2) [2,3) [3,4)");
  CHECK(spans(R"(\p{Mn})", U"e\u0301\u093f\u20dd") == "[1,2)");
  CHECK(spans(R"(\p{Mc})", U"e\u0301\u093f\u20dd") == "[2,3)");
  CHECK(spans(R"(\p{Me})", U"e\u0301\u093f\u20dd") == "[3,4)");
  CHECK(spans(R"(\p{N})", U"1²Ⅻa") == "[0,1) [1,2) [2,3)");
  CHECK(spans(R"(\p{Nl}|\p{No})", U"1²Ⅻa") == "[1,2) [2,3)");
  CHECK(spans(R"(\p{P}+)", U"a!?«-_(x") == "[1,7)");
  CHECK(spans(R"(\p{Pc}|\p{Pd}|\p{Ps}|\p{Pe}|\p{Pi}|\p{Pf}|\p{Po})", U"_-()«»!") ==
        "[0,1) [1,2) [2,3) [3,4) [4,5) [5,6) [6,7)");
  CHECK(spans(R"(\p{S}+)", U"a+$^©😀b") == "[1,6)");
  CHECK(spans(R"(\p{Sm}|\p{Sc}|\p{Sk}|\p{So})", U"+$^©") == "[0,1) [1,2) [2,3) [3,4)");
  CHECK(spans(R"(\p{Z})", U" \u00a0\u2028\u2029\t") == "[0,1) [1,2) [2,3) [3,4)");
  CHECK(spans(R"(\p{Zs}|\p{Zl}|\p{Zp})", U" \u2028\u2029") == "[0,1) [1,2) [2,3)");
  CHECK(spans(R"(\p{Cc}|\p{Cf})", U"a\x01\u200d\u00ad") == "[1,2) [2,3) [3,4)");
  CHECK(spans(R"(\p{Co})", U"a\ue000\U000f0000") == "[1,2) [2,3)");
  CHECK(spans(R"(\p{Cn})", U"a\u0378\U0010ffff") == "[1,2) [2,3)");
  CHECK(spans(R"(\p{C})", U"a\x01\u0378\ue000") == "[1,2) [2,3) [3,4)");
  // Surrogates cannot come from UTF-8, but a caller's string may hold them.
  const std::u32string surrogate{U'a', char32_t(0xd800), U'b'};
  CHECK(spans(R"(\p{Cs})", surrogate) == "[1,2)");
  CHECK(spans(R"(\p{LC}+)", U"aBǅʰ中") == "[0,3)");
  // Negations and the one-letter form.
  CHECK(spans(R"(\P{L}+)", U"ab12 cd") == "[2,5)");
  CHECK(spans(R"(\p{^L}+)", U"ab12 cd") == "[2,5)");
  CHECK(spans(R"(\P{^L}+)", U"ab12 cd") == "[0,2) [5,7)");
  CHECK(spans(R"(\pL+\pN)", U"ab1") == "[0,3)");
  CHECK(spans(R"(\PL+)", U"ab1") == "[2,3)");
  // Long names, in any case and with spaces, '-' or '_'.
  CHECK(spans(R"(\p{Letter}+)", U"ab1") == "[0,2)");
  CHECK(spans(R"(\p{Uppercase_Letter})", U"aB") == "[1,2)");
  CHECK(spans(R"(\p{lowercase letter})", U"aB") == "[0,1)");
  CHECK(spans(R"(\p{DECIMAL-NUMBER})", U"a1") == "[1,2)");
  CHECK(spans(R"(\p{Punctuation}|\p{Symbol}|\p{Separator}|\p{Mark}|\p{Number}|\p{Other})", U"!+ \u0301" "1\x01") ==
        "[0,1) [1,2) [2,3) [3,4) [4,5) [5,6)");
  // Properties beyond categories.
  CHECK(spans(R"(\p{Any}+)", U"a\n中") == "[0,3)");
  CHECK(spans(R"(\p{ASCII}+)", U"ab中c") == "[0,2) [3,4)");
  CHECK(spans(R"(\p{Assigned}+)", U"a\u0378b") == "[0,1) [2,3)");
  CHECK(spans(R"(\p{Word}+)", U"a²_") == "[0,1) [2,3)");
  CHECK(spans(R"(\p{Space}+)", U"a\u0085\u3000b") == "[1,3)");
  CHECK(spans(R"(\p{Digit}+)", U"a٣1") == "[1,3)");
  CHECK(spans(R"(\p{XDigit}+)", U"fg") == "[0,1)");
  CHECK(spans(R"(\p{Blank}+)", U"a\t \u00a0\nb") == "[1,4)");
  CHECK(spans(R"(\p{Cntrl}+)", U"a\x01\x7f\u0085\u200db") == "[1,4)");
  CHECK(spans(R"(\p{Graph}+)", U"a b\u200d\x01") == "[0,1) [2,4)");
  CHECK(spans(R"(\p{Print}+)", U"a b\x01") == "[0,3)");
}

TEST_CASE("regex: groups and alternation", "[tokenizers][regex]") {
  CHECK(first("a|ab", U"ab") == "[0,1)");  // leftmost-first, not longest
  CHECK(first("ab|a", U"ab") == "[0,2)");
  CHECK(first("(?:ab|a)c", U"ac") == "[0,2)");
  CHECK(first("x(?:ab|a)(?:bc|c)", U"xabc") == "[0,4)");
  CHECK(first("(a)(b)|c", U"zab") == "[1,3)");      // capture groups match like (?:)
  CHECK(first("(?<word>ab)+", U"abab") == "[0,4)");  // named groups too
  CHECK(first("(?'q'a)b", U"ab") == "[0,2)");
  CHECK(first("a||b", U"b") == "[0,0)");  // an empty alternative
  CHECK(spans("a||b", U"ab") == "[0,1)");
  CHECK(first("()", U"x") == "[0,0)");
  CHECK(first("(?>a|ab)c", U"abc") == "none");  // atomic: no going back to try "ab"
  CHECK(first("(?:a|ab)c", U"abc") == "[0,3)");
}

TEST_CASE("regex: quantifiers greedy, lazy, possessive", "[tokenizers][regex]") {
  CHECK(first("a*", U"aaab") == "[0,3)");
  CHECK(first("a*", U"baa") == "[0,0)");  // empty at 0
  CHECK(first("a+", U"baa") == "[1,3)");
  CHECK(first("a?b", U"ab") == "[0,2)");
  CHECK(first("a{2}", U"aaaa") == "[0,2)");
  CHECK(first("a{2,}", U"aaaa") == "[0,4)");
  CHECK(first("a{2,3}", U"aaaa") == "[0,3)");
  CHECK(first("a{,2}", U"aaaa") == "[0,2)");
  CHECK(first("a{0}b", U"ab") == "[1,2)");
  CHECK(first("a{3}", U"aab") == "none");
  CHECK(spans(R"(\p{N}{1,3})", U"1234567") == "[0,3) [3,6) [6,7)");
  // Lazy forms take as few as they can.
  CHECK(first("a*?", U"aaa") == "[0,0)");
  CHECK(first("a+?", U"aaa") == "[0,1)");
  CHECK(first("a??b", U"ab") == "[0,2)");
  CHECK(first("a{2,3}?", U"aaaa") == "[0,2)");
  CHECK(first("a{2,}?", U"aaaa") == "[0,2)");
  CHECK(first("<.+?>", U"<a><b>") == "[0,3)");
  CHECK(first("<.+>", U"<a><b>") == "[0,6)");
  CHECK(first("(?:ab)+?c", U"ababc") == "[0,5)");
  CHECK(first("(?:a|b)*?c", U"abac") == "[0,4)");
  // {n}? is (?:a{n})? in Oniguruma, not lazy; {n,m}+ is (?:a{n,m})+, not possessive.
  CHECK(first("a{2}?", U"aaa") == "[0,2)");
  CHECK(first("xa{2}?", U"xa") == "[0,1)");
  CHECK(first("a{1,2}+", U"aaaaa") == "[0,5)");
  // Possessive forms never give back.
  CHECK(first("a*+a", U"aaa") == "none");
  CHECK(first("a++b", U"aab") == "[0,3)");
  CHECK(first("a?+a", U"a") == "none");
  CHECK(first("(?:ab)*+ab", U"ababab") == "none");
  CHECK(first("(?:ab)*ab", U"ababab") == "[0,6)");
  CHECK(first("a{3,1}a", U"aaa") == "none");  // {n,m} with n > m: possessive {m,n}
  CHECK(first("a{3,1}", U"aaaa") == "[0,3)");
  // Greedy against the rest of the pattern.
  CHECK(first(R"(\s+(?!\S))", U"a   b") == "[1,3)");
  CHECK(first("a*ab", U"aaab") == "[0,4)");
  // Counted loops over groups, nested.
  CHECK(first("(?:ab){2}", U"abababab") == "[0,4)");
  CHECK(first("(?:a{2}b){2,3}", U"aabaabaabaab") == "[0,9)");
  CHECK(first("(?:(?:ab){1,2}c){2}", U"abcababcx") == "[0,8)");
  // Stacked quantifiers, and loops whose body can match nothing (an empty pass ends the loop).
  CHECK(first("a**", U"aa") == "[0,2)");
  CHECK(first("(?:a{2}){2}", U"aaaaa") == "[0,4)");
  CHECK(first("(?:a*)*b", U"aab") == "[0,3)");
  CHECK(first("(?:a|)*b", U"aab") == "[0,3)");
  CHECK(first("(?:|a)*", U"aa") == "[0,0)");  // Oniguruma stops at the empty pass (JavaScript would not)
  CHECK(first("(?:a?){3,}b", U"ab") == "[0,2)");
}

TEST_CASE("regex: case-insensitive matching", "[tokenizers][regex]") {
  CHECK(first("(?i)abc", U"xAbC") == "[1,4)");
  CHECK(first("(?i:ab)c", U"ABc ABC") == "[0,3)");
  CHECK(first("(?i:ab)c", U"ABC") == "none");
  CHECK(spans("(?i:'s|'t|'re|'ve|'m|'ll|'d)", U"'S 'LL 'Re 'ſ 'x") == "[0,2) [3,6) [7,10) [11,13)");
  // Simple case folding: the Kelvin sign is k, long s is s, final sigma is sigma.
  CHECK(spans("(?i)k", U"kK\u212a") == "[0,1) [1,2) [2,3)");
  CHECK(spans("(?i)σ", U"Σσς") == "[0,1) [1,2) [2,3)");
  CHECK(spans("(?i)[a-z]+", U"Hello ſK\u212a!") == "[0,5) [6,9)");
  CHECK(spans("(?i)[^a]", U"aAb") == "[2,3)");
  CHECK(spans(R"((?i)\x{C9})", U"éÉ") == "[0,1) [1,2)");
  // One code point to one: ß is not "ss" here (Oniguruma's multi-character folding is left out).
  CHECK(spans("(?i)ss", U"ß SS") == "[2,4)");
  // An isolated option reaches the end of its group, alternatives included: a(?i)b|c is a(?i:b|c).
  CHECK(first("a(?i)b|c", U"c") == "none");
  CHECK(first("a(?i)b|c", U"aC") == "[0,2)");
  CHECK(first("(?:x(?i)y|z)w", U"Zw") == "none");
  CHECK(first("(?:x(?i)y|z)w", U"xZw") == "[0,3)");
  CHECK(first("(?i)a(?-i)b", U"Ab AB") == "[0,2)");
  CHECK(first("(?i:a(?-i:b))", U"AB Ab") == "[3,5)");
  // Outside a class a property is not folded; inside one it is (as Oniguruma does).
  CHECK(spans(R"((?i)\p{Lu})", U"aB") == "[1,2)");
  CHECK(spans(R"((?i)[\p{Lu}])", U"aB") == "[0,1) [1,2)");
}

TEST_CASE("regex: lookahead and lookbehind", "[tokenizers][regex]") {
  CHECK(spans("a(?=b)", U"abac") == "[0,1)");
  CHECK(spans("a(?!b)", U"abac") == "[2,3)");
  CHECK(spans("(?<=a)b", U"abcb") == "[1,2)");
  CHECK(spans("(?<!a)b", U"abcb") == "[3,4)");
  CHECK(spans("(?<=a|bc)d", U"adbcdxd") == "[1,2) [4,5)");  // alternatives of different widths
  CHECK(spans("(?<!a|bc)d", U"adbcdxd") == "[6,7)");
  CHECK(spans("(?<=a+)b", U"aab b") == "[2,3)");           // variable width, as Oniguruma 6.9.8 allows
  CHECK(spans(R"((?<=\p{L}{2,3})\d)", U"a1ab2abcd3") == "[4,5) [9,10)");
  CHECK(first("(?<=a)b", U"ab", 1) == "[1,2)");  // lookbehind sees the text before `from`
  CHECK(first(R"((?<=^|\s)x)", U"ax x") == "[3,4)");
  CHECK(first("(?=a)", U"ba") == "[1,1)");
  CHECK(first("(?=(?:a|ab)c)", U"abc") == "[0,0)");
  CHECK(first("(?!a)", U"aab") == "[2,2)");
  CHECK(first("x(?=a*+a)", U"xaa") == "none");
  CHECK(first("(?=a+)a", U"aa") == "[0,1)");   // a lookahead consumes nothing
  CHECK(first("(?<=(?:ab){2})c", U"ababc") == "[4,5)");
}

TEST_CASE("regex: anchors", "[tokenizers][regex]") {
  CHECK(spans("^a", U"a\na") == "[0,1) [2,3)");  // ^ and $ are line anchors (Ruby syntax)
  CHECK(spans("a$", U"a\na") == "[0,1) [2,3)");
  CHECK(spans(R"(\Aa)", U"a\na") == "[0,1)");
  CHECK(spans(R"(a\z)", U"a\na") == "[2,3)");
  CHECK(spans(R"(a\Z)", U"a\na\n") == "[2,3)");  // \Z: the end or before a final \n
  CHECK(first(R"(\Z)", U"a\n\n") == "[2,2)");
  CHECK(first("^$", U"a\n") == "none");           // Oniguruma's ^ does not match after a final \n
  CHECK(first(R"(\s+$)", U"a  \nb  ") == "[1,3)");  // gives the \n back: $ holds before it
  CHECK(spans(R"(\bfoo\b)", U"foo foobar (foo)") == "[0,3) [12,15)");
  CHECK(spans(R"(\Boo)", U"foo oo") == "[1,3)");
  CHECK(spans(R"(\b\w+\b)", U"中文 é1") == "[0,2) [3,5)");
  CHECK(spans(R"(\Ga)", U"aaba") == "[0,1) [1,2)");  // \G: where each search starts
  CHECK(first(R"(\Ga)", U"aba", 1) == "none");
}

TEST_CASE("regex: find_all and empty matches", "[tokenizers][regex]") {
  // An empty match is not reported; the search goes on one code point further.
  CHECK(spans("a*", U"baac") == "[1,3)");
  CHECK(spans("a*", U"") == "");
  CHECK(spans(R"(\b)", U"ab cd") == "");
  CHECK(spans("x?", U"axbx") == "[1,2) [3,4)");
  CHECK(spans(R"(\s*)", U"a  b ") == "[1,3) [4,5)");
  // After a match the next search starts at its end, even when that could extend a match.
  CHECK(spans("aa", U"aaaaa") == "[0,2) [2,4)");
  CHECK(first("a*", U"b") == "[0,0)");  // search itself does report an empty match
  const tk::regex none;                // default-constructed: matches nothing
  CHECK(!none.search(U"abc"));
  CHECK(none.find_all(U"abc").empty());
  CHECK(tk::regex(" ?\\p{L}+", "x").pattern() == " ?\\p{L}+");
}

TEST_CASE("regex: GPT-2 pre-tokenizer pattern", "[tokenizers][regex]") {
  const tk::regex r(gpt2_pattern);
  check_splits(r, {
      {U"Hello world's end",
       "[0,5) [5,11) [11,13) [13,17)"},  // Hello | world | 's | end
      {U"I'M HE'LL 'S 'Ll we're",
       "[0,1) [1,2) [2,3) [3,6) [6,7) [7,9) [9,11) [11,12) [12,14) [14,16) [16,19) [19,22)"},  // case-sensitive: 'M is ' M
      {U"   leading spaces and trailing   ",
       "[0,2) [2,10) [10,17) [17,21) [21,30) [30,33)"},  // "  " | " leading" ... | "   "
      {U"tabs\tand\nnewlines\n\n  x",
       "[0,4) [4,5) [5,8) [8,9) [9,17) [17,20) [20,22)"},  // tabs | \t | and | \n | newlines | "\n\n " | " x"
      {U"\r\n\r\nwindows\r\n",
       "[0,3) [3,4) [4,11) [11,13)"},  // \r\n\r | \n | windows | \r\n
      {U"digits 1234567 and 3.14",
       "[0,6) [6,14) [14,18) [18,20) [20,21) [21,23)"},  // digits | " 1234567" | and | " 3" | . | 14
      {U"emoji 😀👍\U0001f3fd ok",
       "[0,5) [5,9) [9,12)"},  // emoji | " 😀👍🏽" | " ok"
      {U"CJK 中文字符 and かな",
       "[0,3) [3,8) [8,12) [12,15)"},  // CJK | " 中文字符" | " and" | " かな"
      {U"accents: café naïve e\u0301",
       "[0,7) [7,8) [8,13) [13,19) [19,21) [21,22)"},  // accents | : | " café" | " naïve" | " e" | U+0301
      {U"nbsp\u00a0here \u00a0 x",
       "[0,4) [4,5) [5,9) [9,11) [11,13)"},  // nbsp | NBSP | here | " NBSP" | " x"
      {U"NEL\u0085x\ufeffy",
       "[0,3) [3,4) [4,5) [5,6) [6,7)"},  // NEL | U+0085 (\s) | x | U+FEFF (not \s, not L or N) | y
  });
}

TEST_CASE("regex: Llama 3 pre-tokenizer pattern", "[tokenizers][regex]") {
  const tk::regex r(llama3_pattern);
  check_splits(r, {
      {U"I'M HE'LL 'S 'Ll we'RE",
       "[0,1) [1,3) [3,6) [6,9) [9,11) [11,12) [12,14) [14,16) [16,19) [19,22)"},  // I | 'M | HE | 'LL | " '" | S | ...
      {U"  leading\n\n\ntrailing  \n  ",
       "[0,1) [1,9) [9,12) [12,20) [20,23) [23,25)"},  // " " | " leading" | \n\n\n | trailing | "  \n" | "  "
      {U"\r\n\r\n  x\r\n",
       "[0,4) [4,5) [5,7) [7,9)"},  // \r\n\r\n | " " | " x" | \r\n
      {U"1234567 12 1",
       "[0,3) [3,6) [6,7) [7,8) [8,10) [10,11) [11,12)"},  // 123 | 456 | 7 | " " | 12 | " " | 1
      {U"$100,000.00!!!\n",
       "[0,1) [1,4) [4,5) [5,8) [8,9) [9,11) [11,15)"},  // $ | 100 | , | 000 | . | 00 | "!!!\n"
      {U"...hello world",
       "[0,3) [3,8) [8,14)"},  // ... | hello | " world"
      {U"emoji 😀👍\U0001f3fd ok",
       "[0,5) [5,9) [9,12)"},  // emoji | " 😀👍🏽" | " ok"
      {U"CJK 中文字符 and かな",
       "[0,3) [3,8) [8,12) [12,15)"},  // CJK | " 中文字符" | " and" | " かな"
      {U"e\u0301té \u00a0x  ",
       "[0,1) [1,4) [4,5) [5,7) [7,9)"},  // e | U+0301 "té" | " " | NBSP x | "  "
  });
}

TEST_CASE("regex: Qwen2, o200k-style, DeepSeek and BLOOM patterns", "[tokenizers][regex]") {
  const tk::regex qwen2(
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  check_splits(qwen2, {
      {U"12345 x1y22", "[0,1) [1,2) [2,3) [3,4) [4,5) [5,7) [7,8) [8,9) [9,10) [10,11)"},  // digits one by one
      {U"I'M 'Ll\r\n", "[0,1) [1,3) [3,5) [5,7) [7,9)"},                                 // I | 'M | " '" | Ll | \r\n
  });
  const tk::regex o200k(
      R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
      R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|)"
      R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  check_splits(o200k, {
      // Hello | World | " Camel" | Case | " I'm" | " JSON's"
      {U"HelloWorld CamelCase I'm JSON's", "[0,5) [5,10) [10,16) [16,20) [20,24) [24,31)"},
      {U"x/y\n\nz", "[0,1) [1,3) [3,5) [5,6)"},                                              // x | /y | \n\n | z
      {U"ÉCOLE élève", "[0,5) [5,11)"},
  });
  const tk::regex deepseek(
      R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|)"
      R"( ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  check_splits(deepseek, {
      // (hello | ) | " x" | +y | =z | " " (DeepSeek splits digits off with another pattern first)
      {U"(hello) x+y=z 1234567", "[0,6) [6,7) [7,9) [9,11) [11,13) [13,14)"},
      {U"'ll don't", "[0,3) [3,7) [7,9)"},                                     // 'll | " don" | 't
      {U"中文, ok!\r\n", "[0,2) [2,3) [3,6) [6,9)"},                            // 中文 | , | " ok" | "!\r\n"
  });
  const tk::regex bloom(R"( ?[^(\s|[.,!?…。，、।۔،])]+)");
  check_splits(bloom, {
      {U"Hello, world! (x|y) 中文。好", "[0,5) [6,12) [15,16) [17,18) [19,22) [23,24)"},
      {U"a[b]c", "[0,5)"},
  });
}

TEST_CASE("regex: malformed and unsupported patterns", "[tokenizers][regex]") {
  // The message names the caller's what, what was expected, the offending part and where.
  const std::string e = error_of("ab(c");
  CHECK_THAT(e, Contains("[eigenformer.tokenizers.regex] pre_tokenizer.pattern.Regex in tokenizer.json: expected ')'"));
  CHECK_THAT(e, Contains("unclosed '('"));
  CHECK_THAT(e, Contains("at code point 2 of the pattern 'ab(c'"));
  CHECK_THAT(error_of("a)"), Contains("an unmatched ')' ')' at code point 1"));
  CHECK_THAT(error_of("(?:a"), Contains("unclosed '('"));
  CHECK_THAT(error_of("[z-a]"), Contains("a range whose start is not above its end, got the range 'z-a' at code point 1"));
  CHECK_THAT(error_of("[a"), Contains("the end of the pattern in the class"));
  CHECK_THAT(error_of("[]"), Contains("an empty class"));
  CHECK_THAT(error_of(R"([\w-a])"), Contains("a character before '-' in a range"));
  CHECK_THAT(error_of(R"([a-\w])"), Contains("a character as the end of a range"));
  CHECK_THAT(error_of(R"(\p{Foo})"), Contains("the unknown or unsupported property '\\p{Foo}'"));
  CHECK_THAT(error_of(R"(\p{Foo})"), Contains("a general category (L, LC, Lu"));
  CHECK_THAT(error_of(R"(\p{Han})"), Contains("unsupported property"));  // scripts are not supported
  CHECK_THAT(error_of(R"(\p{L)"), Contains("the end of the pattern in the property"));
  CHECK_THAT(error_of(R"(\pX)"), Contains("\\pX with X one of C L M N P S Z"));
  CHECK_THAT(error_of("[[:alpha:]]"), Contains("the unsupported POSIX bracket '[:alpha:]'"));
  CHECK_THAT(error_of(R"((a)\1)"), Contains("a backreference '\\1'"));
  CHECK_THAT(error_of(R"((?<n>a)\k<n>)"), Contains("a named backreference"));
  CHECK_THAT(error_of(R"((?<n>a)\g<n>)"), Contains("a subexpression call"));
  CHECK_THAT(error_of("(?(1)a|b)"), Contains("a conditional group"));
  CHECK_THAT(error_of("(?~abc)"), Contains("an absent operator"));
  CHECK_THAT(error_of("(?{x})"), Contains("a callout"));
  CHECK_THAT(error_of(R"(a\Kb)"), Contains("the keep escape"));
  CHECK_THAT(error_of(R"(\X)"), Contains("a text segment"));
  CHECK_THAT(error_of(R"(\cA)"), Contains("a control or meta escape"));
  CHECK_THAT(error_of(R"(\q)"), Contains("an unknown escape '\\q'"));
  CHECK_THAT(error_of(R"([\q])"), Contains("an escape that has no meaning in a class"));
  CHECK_THAT(error_of("(?x)a b"), Contains("the extended-syntax option 'x'"));
  CHECK_THAT(error_of("(?W)a"), Contains("the option 'W'"));
  CHECK_THAT(error_of("(?P<n>a)"), Contains("the option 'P'"));
  CHECK_THAT(error_of("(?Q)"), Contains("a group type"));
  CHECK_THAT(error_of("(?i"), Contains("the end of the pattern in the group"));
  CHECK_THAT(error_of("(?<n"), Contains("a group name of word characters"));
  CHECK_THAT(error_of(R"(\xff)"), Contains("a raw byte above 0x7F"));
  CHECK_THAT(error_of(R"(\x{110000})"), Contains("a Unicode scalar value"));
  CHECK_THAT(error_of(R"(\uD800)"), Contains("a Unicode scalar value"));
  CHECK_THAT(error_of(R"(\u12)"), Contains("\\u followed by 4 hex digits"));
  CHECK_THAT(error_of(R"(\x{12)"), Contains("\\x{ followed by 1 to 8 hex digits"));
  CHECK_THAT(error_of("a\\"), Contains("an escaped character after '\\', got the end of the pattern"));
  CHECK_THAT(error_of("(?#abc"), Contains("a comment closed by ')'"));
  // Quantifiers need a target, and an anchor or lookaround is not one (Oniguruma's rule; a
  // capturing or atomic group around one is).
  CHECK_THAT(error_of("*a"), Contains("something to repeat before a quantifier, got a quantifier '*' at code point 0"));
  CHECK_THAT(error_of("a|+"), Contains("something to repeat"));
  CHECK_THAT(error_of("(?i)*"), Contains("something to repeat"));
  CHECK_THAT(error_of("{2}"), Contains("something to repeat"));
  CHECK_THAT(error_of("^*"), Contains("a quantifier on an anchor or lookaround '*'"));
  CHECK_THAT(error_of("(?=a)+"), Contains("a quantifier on an anchor or lookaround"));
  CHECK_THAT(error_of("(?<=a)?"), Contains("a quantifier on an anchor or lookaround"));
  CHECK_THAT(error_of("(?:a|$)*"), Contains("a quantifier on an anchor or lookaround"));
  CHECK(error_of("(^)*a").empty());
  CHECK(error_of("(?>$)?").empty());
  CHECK(error_of("(?:^a)*").empty());
  // Counts above 1000.
  CHECK_THAT(error_of("a{1001}"), Contains("a repeat count of at most 1000, got the count '1001'"));
  CHECK_THAT(error_of("a{2,99999999999999999999}"), Contains("a repeat count of at most 1000"));
  CHECK(error_of("a{1000}").empty());
  CHECK(error_of("(?:a{1000}){1000}").empty());  // counted, not unrolled
  // Nesting deeper than 64 (groups, classes, isolated options and stacked quantifiers).
  const auto nested = [](int n, const std::string& open, const std::string& close) {
    std::string p;
    for (int i = 0; i < n; ++i) p += open;
    p += "a";
    for (int i = 0; i < n; ++i) p += close;
    return p;
  };
  CHECK(error_of(nested(64, "(", ")")).empty());
  CHECK_THAT(error_of(nested(65, "(", ")")), Contains("nested at most 64 deep, got deeper nesting '(' at code point 64"));
  CHECK_THAT(error_of(nested(100000, "(?:", ")")), Contains("nested at most 64 deep"));
  CHECK_THAT(error_of(nested(65, "[", "]")), Contains("nested at most 64 deep"));
  CHECK_THAT(error_of(std::string(65, '(') + "?i)"), Contains("nested at most 64 deep"));
  std::string isolated;
  for (int i = 0; i < 70; ++i) isolated += "a(?i)";
  CHECK_THAT(error_of(isolated), Contains("nested at most 64 deep"));
  CHECK_THAT(error_of(std::string("a").append(70, '*')), Contains("nested at most 64 deep"));
  CHECK(error_of(std::string("a").append(60, '*')).empty());
  // Invalid UTF-8 is reported as the regex's error.
  CHECK_THAT(error_of("a\xff"), Contains("[eigenformer.tokenizers.regex] pre_tokenizer.pattern.Regex in tokenizer.json: "
                                          "expected a pattern in valid UTF-8, got an invalid lead byte at byte 1"));
  // The default what.
  CHECK_THROWS_WITH(tk::regex("("), Contains("[eigenformer.tokenizers.regex] regex: expected ')'"));
}

TEST_CASE("regex: the step budget stops catastrophic backtracking", "[tokenizers][regex]") {
  const auto t0 = std::chrono::steady_clock::now();
  const tk::regex r("(a+)+b", "normalizer.pattern.Regex");
  const std::u32string text(30, U'a');
  CHECK_THROWS_AS(r.search(text), eigenformer::format_error);
  CHECK_THROWS_WITH(r.find_all(text),
                    Contains("[eigenformer.tokenizers.regex] normalizer.pattern.Regex: expected a pattern that matches within") &&
                        Contains("the pattern '(a+)+b', too costly for this input (catastrophic backtracking)"));
  CHECK_THROWS_AS(tk::regex("(?:a|a)*b").search(text), eigenformer::format_error);
  CHECK_THROWS_AS(tk::regex("(?:a*)*b").search(std::u32string(5000, U'a')), eigenformer::format_error);
  // Well inside the budget: the same shape on a short text, and a linear pattern on a long one.
  CHECK(first("(a+)+b", U"aaaaaaaaaab") == "[0,11)");
  CHECK(tk::regex("(a+)+b").search(std::u32string(10, U'a')) == std::nullopt);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < 10);  // it stops, rather than run for 2^30 steps (generous for sanitizer builds)
}

TEST_CASE("regex: long inputs need no deep stack", "[tokenizers][regex]") {
  const tk::regex gpt2(gpt2_pattern), llama3(llama3_pattern);
  const std::u32string spaces(100000, U' '), letters(100000, U'x');
  CHECK(spans(gpt2, spaces) == "[0,100000)");
  CHECK(spans(gpt2, letters) == "[0,100000)");
  CHECK(spans(llama3, spaces) == "[0,100000)");
  CHECK(spans(gpt2, spaces + U"x") == "[0,99999) [99999,100001)");
  CHECK(spans(llama3, spaces + U"\n") == "[0,100001)");
  // Loops over groups keep their backtracking entries on the heap.
  std::u32string abab;
  for (int i = 0; i < 50000; ++i) abab += U"ab";
  CHECK(first("(?:ab)+", abab) == "[0,100000)");
  CHECK(first("(?:a|b)+?$", abab) == "[0,100000)");
  CHECK(first("(?:(?:a|b)c?)*", abab) == "[0,100000)");
  CHECK(first("(?:ab){1,1000}", abab) == "[0,2000)");
  // Many matches, each searched from the end of the last.
  std::u32string words;
  for (int i = 0; i < 20000; ++i) words += U"word ";
  CHECK(gpt2.find_all(words).size() == 20001);  // "word", then " word" 19999 times, and the final " "
  // The deepest pattern allowed, on a long text.
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "(?:";
  deep += "x+";
  for (int i = 0; i < 64; ++i) deep += ")+";
  CHECK(first(deep, letters) == "[0,100000)");
}

TEST_CASE("regex: unicode tables behind the properties", "[tokenizers][regex]") {
  namespace u = tk::unicode;
  using gc = tk::unicode::general_category;
  CHECK(u::category(U'A') == gc::Lu);
  CHECK(u::category(U'a') == gc::Ll);
  CHECK(u::category(0x01c5) == gc::Lt);
  CHECK(u::category(0x02b0) == gc::Lm);
  CHECK(u::category(0x4e2d) == gc::Lo);
  CHECK(u::category(0x0301) == gc::Mn);
  CHECK(u::category(U'5') == gc::Nd);
  CHECK(u::category(0x2168) == gc::Nl);
  CHECK(u::category(0x00b2) == gc::No);
  CHECK(u::category(U'_') == gc::Pc);
  CHECK(u::category(U'€') == gc::Sc);
  CHECK(u::category(U' ') == gc::Zs);
  CHECK(u::category(0x2028) == gc::Zl);
  CHECK(u::category(0x2029) == gc::Zp);
  CHECK(u::category(0x0000) == gc::Cc);
  CHECK(u::category(0x200d) == gc::Cf);
  CHECK(u::category(0xd800) == gc::Cs);
  CHECK(u::category(0xdfff) == gc::Cs);
  CHECK(u::category(0xe000) == gc::Co);
  CHECK(u::category(0x10fffd) == gc::Co);
  CHECK(u::category(0x0378) == gc::Cn);
  CHECK(u::category(0x10ffff) == gc::Cn);
  CHECK(u::category(0x110000) == gc::Cn);
  CHECK(u::category(0xffffffff) == gc::Cn);
  CHECK(u::is_white_space(0x0085));
  CHECK(!u::is_white_space(0xfeff));
  CHECK(u::is_word(0x24b6));   // Ⓐ: So, but Alphabetic
  CHECK(!u::is_word(0x00b2));  // the Word property; \w's Latin-1 extras are the regex's
  CHECK(u::case_class(U'k') == U'K');
  CHECK(u::case_class(0x212a) == U'K');
  CHECK(u::case_class(U'K') == U'K');
  CHECK(u::case_class(0x017f) == U'S');
  CHECK(u::case_class(0x03c2) == 0x03a3);
  CHECK(u::case_class(U'1') == U'1');
  CHECK(u::case_class(0x0130) == 0x0130);  // İ: no simple fold
}

}  // namespace regex_test
