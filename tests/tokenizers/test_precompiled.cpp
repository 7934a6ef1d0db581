// SentencePiece's precompiled character map (the Precompiled normalizer of tokenizer.json) and
// the grapheme clusters it is applied over: the cluster rules against Unicode's own
// GraphemeBreakTest, the double-array trie on a blob built here by hand (each unit's bits spelled
// out), the real nmt_nfkc map of the committed Unigram tokenizer on the cases where HF's rule
// (a whole cluster under 6 bytes replaced by its shortest key) differs from per-character NFKC,
// and every malformed blob rejected by name.
#include <eigenformer/tokenizers/grapheme.hpp>
#include <eigenformer/tokenizers/precompiled.hpp>
#include <eigenformer/tokenizers/tokenizer_json.hpp>

#include "../support/check.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ef = eigenformer;
namespace tk = eigenformer::tokenizers;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::string data_file(const std::string& name) {
  const char* dir = std::getenv("EIGENFORMER_TEST_DATA_DIR");
  INFO("set EIGENFORMER_TEST_DATA_DIR to the repository's tests/data (ctest does)");
  REQUIRE(dir != nullptr);
  std::ifstream in(std::string(dir) + "/" + name, std::ios::binary);
  INFO("data file " << dir << "/" << name);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t bits = 0;
    for (std::size_t k = 0; k < 3; ++k)
      bits = (bits << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out.push_back(k <= n ? alphabet[(bits >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

void put32(std::string& blob, std::uint32_t u) {
  for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((u >> (8 * k)) & 0xff));
}

// A 512-unit trie with the single key "a" whose replacement is "b":
//   unit 0 (the root's unit): offset 256 (bits 10.., bit 9 clear), so the root's base is 0 ^ 256;
//   unit 256 ^ 'a' = 0x161: label 'a' (bits 0-7), has-leaf (bit 8), offset 0x61, so the node
//   reached is 0x161 ^ 0x61 = 256;
//   unit 256: a value unit (bit 31) holding 0, the offset of "b" in the replacements "b\0".
std::string one_key_blob(std::uint32_t value_unit = 0x80000000u, const std::string& replacements = std::string("b\0", 2)) {
  std::vector<std::uint32_t> units(512, 0);
  units[0] = 256u << 10;
  units[0x161] = (0x61u << 10) | (1u << 8) | 0x61u;
  units[256] = value_unit;
  std::string blob;
  put32(blob, static_cast<std::uint32_t>(units.size() * 4));
  for (auto u : units) put32(blob, u);
  return blob + replacements;
}

std::u32string u32(std::string_view utf8) { return tk::decode_utf8(utf8, "test text"); }
std::string utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) tk::append_utf8(out, c);
  return out;
}

}  // namespace

TEST_CASE("grapheme clusters: every line of Unicode's GraphemeBreakTest", "[tokenizers][precompiled]") {
  std::istringstream in(data_file("grapheme_break_test.txt"));
  std::string line;
  std::size_t checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    // "÷ 0020 × 0308 ÷ 0020 ÷": the code points, and after each a break or not.
    std::u32string text;
    std::vector<std::size_t> expected;  // the offsets where a cluster ends
    std::istringstream fields(line);
    std::string f;
    while (fields >> f) {
      if (f == "\xc3\xb7") {  // ÷
        if (!text.empty()) expected.push_back(text.size());
      } else if (f != "\xc3\x97") {  // not ×
        text.push_back(static_cast<char32_t>(std::stoul(f, nullptr, 16)));
      }
    }
    std::vector<std::size_t> got;
    std::size_t next = 0;
    bool contiguous = true;
    tk::unicode::for_each_grapheme(text, [&](std::size_t b, std::size_t e) {
      contiguous = contiguous && b == next && e > b;
      next = e;
      got.push_back(e);
    });
    INFO(line);
    CHECK(contiguous);
    CHECK(got == expected);
    ++checked;
  }
  CHECK(checked == 602);
  std::size_t calls = 0;
  tk::unicode::for_each_grapheme(std::u32string_view{}, [&](std::size_t, std::size_t) { ++calls; });
  CHECK(calls == 0);
}

TEST_CASE("precompiled charsmap: the double-array trie, on a hand-built blob", "[tokenizers][precompiled]") {
  const tk::precompiled_charsmap map(one_key_blob(), "hand-built charsmap");
  CHECK(map.transform("a") == std::optional<std::string_view>("b"));
  CHECK(map.transform("ab") == std::optional<std::string_view>("b"));  // the shortest key wins
  CHECK_FALSE(map.transform("b").has_value());
  CHECK_FALSE(map.transform("").has_value());
  CHECK_FALSE(map.transform(std::string_view("\0a", 2)).has_value());  // NUL ends the key
  CHECK(utf8(map.normalize(u32("xay"))) == "xby");
  CHECK(utf8(map.normalize(u32("aa"))) == "bb");
  CHECK(utf8(map.normalize(u32(""))).empty());
  // "a" + U+0301 is one cluster of 3 bytes: its shortest key "a" replaces the whole cluster,
  // the accent with it, as HF's Precompiled does.
  CHECK(utf8(map.normalize(u32("a\xcc\x81z"))) == "bz");
  // A cluster of 6 bytes or more goes character by character: the accent stays.
  CHECK(utf8(map.normalize(u32("a\xcc\x81\xcc\x81\xcc\x81"))) == "b\xcc\x81\xcc\x81\xcc\x81");
  // Through base64, as tokenizer.json holds it.
  CHECK(tk::decode_base64(encode_base64(one_key_blob()), "charsmap") == one_key_blob());
  CHECK(tk::decode_base64("", "charsmap").empty());
  CHECK(tk::decode_base64("YQ==", "charsmap") == "a");
  CHECK(tk::decode_base64("YWI=", "charsmap") == "ab");
}

TEST_CASE("precompiled charsmap: malformed blobs are rejected by name", "[tokenizers][precompiled]") {
  const auto rejects = [](const std::string& blob, const std::string& what) {
    INFO(what);
    CHECK_THROWS_AS(tk::precompiled_charsmap(blob, "normalizer.precompiled_charsmap", "t.json"), ef::format_error);
    CHECK_THROWS_WITH(tk::precompiled_charsmap(blob, "normalizer.precompiled_charsmap", "t.json"),
                      Contains(what) && Contains("normalizer.precompiled_charsmap") && Contains("t.json"));
  };
  rejects(std::string("\x04\x00", 2), "at least 4 bytes");
  std::string odd = one_key_blob();
  odd[0] = 3;  // a trie of 512*4 + 3 bytes
  rejects(odd, "multiple of 4");
  std::string big = one_key_blob();
  big[2] = 0x7f;  // far more units than the blob holds
  rejects(big, "bytes that follow");
  rejects(std::string(8, '\0'), "at least one unit");
  rejects(one_key_blob(0x80000000u | 5), "character offsets");  // 5 is past "b\0"
  rejects(one_key_blob(0x80000000u | 1, "\xc3\xa9\0"), "character offsets");  // inside 'é'
  rejects(one_key_blob(0x80000000u, std::string("\xff\0", 2)), "replacement strings");
  std::string root = one_key_blob();
  root[4 + 1] = 0;
  root[4 + 2] = 0x10;  // the root's offset 1024 is past the 512 units
  rejects(root, "root offset");

  const auto bad64 = [](const std::string& s) {
    INFO(s);
    CHECK_THROWS_AS(tk::decode_base64(s, "normalizer.precompiled_charsmap"), ef::format_error);
    CHECK_THROWS_WITH(tk::decode_base64(s, "normalizer.precompiled_charsmap"), Contains("normalizer.precompiled_charsmap"));
  };
  bad64("abc");
  bad64("ab!d");
  bad64("a===");
}

TEST_CASE("precompiled charsmap: SentencePiece's nmt_nfkc map as HF applies it", "[tokenizers][precompiled]") {
  const json file = json::parse(data_file("tokenizer_json/t5-unigram-spm.json"));
  const json& steps = file["normalizer"]["normalizers"];
  REQUIRE(steps.size() == 3);
  REQUIRE(steps[0]["type"] == "Precompiled");
  const std::string blob = tk::decode_base64(steps[0]["precompiled_charsmap"].get<std::string>(), "charsmap");
  const tk::precompiled_charsmap map(blob, "t5-unigram-spm.json normalizer");
  const auto norm = [&](std::string_view s) { return utf8(map.normalize(u32(s))); };
  CHECK(norm("\xef\xac\x81") == "fi");                   // U+FB01, the fi ligature (NFKC)
  CHECK(norm("\xe2\x91\xa0") == "1");                    // U+2460, circled digit one
  CHECK(norm("e\xcc\x81") == "\xc3\xa9");                // e + U+0301 composes to é
  CHECK(norm("\xef\xbc\xa1\xcc\x81") == "A");            // fullwidth A + U+0301: the cluster maps
                                                         // by its shortest key, the accent lost
  CHECK(norm("\xe3\x80\x80") == " ");                    // ideographic space
  CHECK(norm("plain ascii") == "plain ascii");
  CHECK(norm("\xe4\xb8\xad\xe6\x96\x87") == "\xe4\xb8\xad\xe6\x96\x87");  // CJK unchanged

  // Through tokenizer.json: a charsmap that does not parse is rejected, naming the field.
  json bad = file;
  bad["normalizer"]["normalizers"][0]["precompiled_charsmap"] = encode_base64(std::string("\x04\x00\x00\x00", 4));
  CHECK_THROWS_AS(tk::hf_tokenizer(bad, "bad.json"), ef::format_error);
  CHECK_THROWS_WITH(tk::hf_tokenizer(bad, "bad.json"), Contains("normalizer.normalizers[0].precompiled_charsmap") && Contains("bad.json"));
  bad["normalizer"]["normalizers"][0]["precompiled_charsmap"] = "not base64!";
  CHECK_THROWS_WITH(tk::hf_tokenizer(bad, "bad.json"), Contains("normalizer.normalizers[0].precompiled_charsmap"));
  bad["normalizer"]["normalizers"][0] = {{"type", "Precompiled"}, {"precompiled_charsmap", encode_base64(blob)}, {"extra", 1}};
  CHECK_THROWS_WITH(tk::hf_tokenizer(bad, "bad.json"), Contains("extra"));
}
