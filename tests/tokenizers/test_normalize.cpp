// Unicode normalization (tokenizers/normalize.hpp) against Node.js's String.prototype.normalize:
// exact NFD, NFC, NFKD and NFKC of the reference cases in tests/data/unicode_normalization.json
// (made by tools/make_normalization_goldens.js), and of every code point in several contexts
// through the per-block hashes there; the origin map on hand-made cases; combining classes.
#include <eigenformer/tokenizers/normalize.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tk = eigenformer::tokenizers;
namespace un = eigenformer::tokenizers::unicode;
using un::normal_form;

namespace {

// tests/data/unicode_normalization.json. Read here rather than through support/fixtures.hpp,
// which brings in the model headers this test does not need; same variable, same message.
const nlohmann::json& fixture() {
  static const nlohmann::json j = [] {
    const char* dir = std::getenv("EIGENFORMER_TEST_DATA_DIR");
    INFO("set EIGENFORMER_TEST_DATA_DIR to the repository's tests/data (ctest does)");
    REQUIRE(dir != nullptr);
    std::ifstream in(std::string(dir) + "/unicode_normalization.json");
    INFO("fixture " << dir << "/unicode_normalization.json");
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
  }();
  return j;
}

std::string hex(std::u32string_view s) {
  std::ostringstream o;
  o << std::hex << std::uppercase;
  for (std::size_t i = 0; i < s.size(); ++i) o << (i ? " " : "") << std::uint32_t(s[i]);
  return o.str();
}

constexpr normal_form forms[] = {normal_form::nfd, normal_form::nfc, normal_form::nfkd,
                                 normal_form::nfkc};
constexpr const char* form_names[] = {"nfd", "nfc", "nfkd", "nfkc"};

std::uint32_t fnv(std::uint32_t h, std::uint32_t x) { return (h ^ x) * 16777619u; }

std::u32string nf(std::u32string_view s, normal_form f) { return un::normalize(s, f); }

}  // namespace

TEST_CASE("normalize matches Node.js on the reference cases", "[tokenizers][unicode]") {
  const auto& cases = fixture().at("cases");
  REQUIRE(cases.size() > 2000);
  std::vector<std::size_t> origin;
  for (const auto& c : cases) {
    const std::u32string in = tk::decode_utf8(c[0].get<std::string>());
    for (int k = 0; k < 4; ++k) {
      const std::u32string want = tk::decode_utf8(c[k + 1].get<std::string>());
      INFO(form_names[k] << " of " << hex(in));
      const std::u32string got = un::normalize(in, forms[k]);
      CHECK(hex(got) == hex(want));
      // The origin overload gives the same text, one in-range origin per output code point.
      origin.assign(3, 99);
      CHECK(hex(un::normalize(in, forms[k], origin)) == hex(want));
      REQUIRE(origin.size() == want.size());
      for (std::size_t o : origin) CHECK(o < in.size());
      // Normalized text is a fixed point.
      CHECK(hex(un::normalize(got, forms[k])) == hex(got));
    }
  }
}

TEST_CASE("normalize matches Node.js on every code point in each context",
          "[tokenizers][unicode]") {
  const auto& ex = fixture().at("exhaustive");
  const int shift = ex.at("block_shift").get<int>();
  const auto contexts = ex.at("contexts").get<std::vector<std::vector<long>>>();
  const std::size_t blocks = std::size_t(0x110000) >> shift;
  std::vector<std::vector<std::vector<std::uint32_t>>> want(4);  // [form][context][block]
  for (int k = 0; k < 4; ++k) {
    want[std::size_t(k)] =
        ex.at("hashes").at(form_names[k]).get<std::vector<std::vector<std::uint32_t>>>();
    REQUIRE(want[std::size_t(k)].size() == contexts.size());
    for (const auto& row : want[std::size_t(k)]) REQUIRE(row.size() == blocks);
  }
  std::u32string in;
  std::vector<std::size_t> origin;
  for (std::size_t x = 0; x < contexts.size(); ++x) {
    // Half the contexts go through the origin overload, so that it too covers every code point.
    const bool with_origin = x % 2 == 1;
    for (std::size_t b = 0; b < blocks; ++b) {
      // h[k]: form k directly; r[k]: form k of another form's output (NFC of NFD, NFD of NFC,
      // NFKC of NFKD, NFKD of NFKC), which must be the same text.
      std::uint32_t h[4], r[4];
      for (int k = 0; k < 4; ++k) h[k] = r[k] = 2166136261u;
      for (char32_t c = char32_t(b << shift); c < char32_t((b + 1) << shift); ++c) {
        if (c >= 0xd800 && c <= 0xdfff) continue;
        in.clear();
        for (long v : contexts[x]) in.push_back(v < 0 ? c : char32_t(v));
        std::u32string out[4];
        for (int k = 0; k < 4; ++k) {
          if (with_origin) {
            out[k] = un::normalize(in, forms[k], origin);
            if (origin.size() != out[k].size())
              FAIL("origin size for U+" << hex(std::u32string(1, c)));
          } else {
            out[k] = un::normalize(in, forms[k]);
          }
          for (char32_t o : out[k]) h[k] = fnv(h[k], o);
          h[k] = fnv(h[k], 0x110000);
        }
        const std::u32string again[4] = {nf(out[1], normal_form::nfd), nf(out[0], normal_form::nfc),
                                         nf(out[3], normal_form::nfkd),
                                         nf(out[2], normal_form::nfkc)};
        for (int k = 0; k < 4; ++k) {
          for (char32_t o : again[k]) r[k] = fnv(r[k], o);
          r[k] = fnv(r[k], 0x110000);
        }
      }
      for (int k = 0; k < 4; ++k) {
        INFO(form_names[k] << ", context " << x << ", code points " << std::hex << (b << shift)
                           << " to " << ((b + 1) << shift) - 1);
        CHECK(h[k] == want[std::size_t(k)][x][b]);
        CHECK(r[k] == want[std::size_t(k)][x][b]);
      }
    }
  }
}

TEST_CASE("normalize maps each output code point to its origin", "[tokenizers][unicode]") {
  auto origins = [](std::u32string_view s, normal_form f) {
    std::vector<std::size_t> o{7, 7, 7};  // replaced, not appended to
    const std::u32string out = un::normalize(s, f, o);
    REQUIRE(o.size() == out.size());
    return o;
  };
  using v = std::vector<std::size_t>;
  // Reordering: the marks keep their own indexes, so the map is not monotonic.
  CHECK(origins(U"a\u0301\u0323", normal_form::nfd) == v{0, 2, 1});
  CHECK(origins(U"a\u0301\u0323", normal_form::nfc) == v{0, 1});  // U+1EA1 U+0301
  // Decomposition: every piece points at the code point it came from.
  CHECK(origins(U"\u00e9x", normal_form::nfd) == v{0, 0, 1});
  CHECK(origins(U"\ufb01x", normal_form::nfkd) == v{0, 0, 1});
  CHECK(origins(U"\ufb01x", normal_form::nfkc) == v{0, 0, 1});
  CHECK(origins(U"\uac01", normal_form::nfd) == v{0, 0, 0});
  CHECK(origins(U"\u0958", normal_form::nfc) == v{0, 0});
  CHECK(origins(U"\u00bd", normal_form::nfkc) == v{0, 0, 0});
  // Composition: the composite has its starter's index; marks that joined it have none.
  CHECK(origins(U"e\u0301", normal_form::nfc) == v{0});
  CHECK(origins(U"\u1100\u1161\u11a8", normal_form::nfc) == v{0});
  CHECK(origins(U"\uac00\u11a8!", normal_form::nfc) == v{0, 2});
  CHECK(origins(U"\u1e9b\u0323", normal_form::nfc) ==
        v{0, 1});                                              // U+1E9B U+0323: the dot below stays
  CHECK(origins(U"\u1e9b\u0323", normal_form::nfkc) == v{0});  // U+1E69
  CHECK(origins(U"A\u0301\u030a", normal_form::nfc) == v{0, 2});  // U+00C1 U+030A: ring blocked
  CHECK(origins(U"A\u030a\u0301", normal_form::nfc) == v{0});     // U+01FA
  // Stretches that need no work are copied with their own indexes around one that does.
  CHECK(origins(U"abe\u0301cd", normal_form::nfc) == v{0, 1, 2, 4, 5});
  CHECK(origins(U"\u00e9\u4e2d\ud55c", normal_form::nfc) == v{0, 1, 2});
  CHECK(origins(U"", normal_form::nfkc).empty());
  // A long run of marks (the sort's scratch path) keeps equal classes in input order.
  std::u32string s = U"a";
  for (int i = 0; i < 40; ++i) s += U"\u0301\u0323";
  const v o = origins(s, normal_form::nfd);
  for (std::size_t i = 0; i < 40; ++i) {
    CHECK(o[1 + i] == 2 + 2 * i);   // the dots below (220) first, in order
    CHECK(o[41 + i] == 1 + 2 * i);  // then the acutes (230)
  }
}

TEST_CASE("normalize passes ASCII, normalized text and non-characters unchanged",
          "[tokenizers][unicode]") {
  const std::u32string ascii = U"The quick brown fox jumps over the lazy dog. 0123456789 {}[]~\t\n";
  for (normal_form f : forms) CHECK(un::normalize(ascii, f) == ascii);
  const std::u32string nfc_text =
      U"na\u00efve caf\u00e9 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \u0915\u093f";
  CHECK(un::normalize(nfc_text, normal_form::nfc) == nfc_text);
  CHECK(un::normalize(nfc_text, normal_form::nfkc) == nfc_text);
  // Values that are not scalar values pass through, as starters.
  const std::u32string odd = {U'a', char32_t(0xd800), U'\u0301', char32_t(0x110000),
                              char32_t(0xffffffff)};
  CHECK(hex(un::normalize(odd, normal_form::nfc)) == hex(odd));
  CHECK(hex(un::normalize(odd, normal_form::nfkd)) == hex(odd));
  CHECK(hex(un::normalize(std::u32string{U'e', char32_t(0x110000), U'\u0301'}, normal_form::nfc)) ==
        "65 110000 301");
  // What Node gives for a lone surrogate (UTF-8 cannot carry it into the fixture).
  CHECK(hex(un::normalize(std::u32string{U'e', char32_t(0xd800), U'\u0301'}, normal_form::nfc)) ==
        "65 D800 301");
  CHECK(hex(un::normalize(std::u32string{U'\u0301', char32_t(0xd800), U'\u0300', U'\u0323'},
                          normal_form::nfd)) == "301 D800 323 300");
}

TEST_CASE("combining classes are Unicode's", "[tokenizers][unicode]") {
  CHECK(un::combining_class(U'a') == 0);
  CHECK(un::combining_class(0) == 0);
  CHECK(un::combining_class(0x0334) == 1);
  CHECK(un::combining_class(0x0338) == 1);
  CHECK(un::combining_class(0x093c) == 7);
  CHECK(un::combining_class(0x3099) == 8);
  CHECK(un::combining_class(0x094d) == 9);
  CHECK(un::combining_class(0x05b0) == 10);
  CHECK(un::combining_class(0x05bc) == 21);
  CHECK(un::combining_class(0x0651) == 33);
  CHECK(un::combining_class(0x0e38) == 103);
  CHECK(un::combining_class(0x0f71) == 129);
  CHECK(un::combining_class(0x0f72) == 130);
  CHECK(un::combining_class(0x031b) == 216);
  CHECK(un::combining_class(0x0323) == 220);
  CHECK(un::combining_class(0x0301) == 230);
  CHECK(un::combining_class(0x035c) == 233);
  CHECK(un::combining_class(0x035d) == 234);
  CHECK(un::combining_class(0x0345) == 240);
  CHECK(un::combining_class(0x0344) == 230);  // decomposes: its class cannot show in any output
  CHECK(un::combining_class(0x0f73) == 0);
  CHECK(un::combining_class(0x1d165) == 216);
  CHECK(un::combining_class(0xac00) == 0);
  CHECK(un::combining_class(0x10ffff) == 0);
  CHECK(un::combining_class(0x110000) == 0);
  // Every class agrees with the order NFD puts marks in (so with Node's order).
  for (char32_t a : {0x0334, 0x093c, 0x05b0, 0x0e38, 0x031b, 0x0323, 0x0301, 0x035c, 0x0345})
    for (char32_t b : {0x0334, 0x093c, 0x05b0, 0x0e38, 0x031b, 0x0323, 0x0301, 0x035c, 0x0345}) {
      const std::u32string d = un::normalize(std::u32string{U'x', a, b}, normal_form::nfd);
      CHECK((d[1] == a) == (un::combining_class(a) <= un::combining_class(b)));
    }
}
