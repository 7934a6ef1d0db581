// libFuzzer target: the tokenizer.json regex engine (tokenizers/regex.hpp) compiling arbitrary
// patterns and matching them against arbitrary text. The input is the pattern's bytes, a NUL,
// then the text's (valid UTF-8 is decoded; anything else is read one byte per code point, so the
// text still reaches the matcher); without a NUL the whole input is the pattern, matched against
// a fixed sample. A pattern may only fail with format_error, and a search only with format_error
// (the step budget); the matches must be in order, non-empty, non-overlapping and inside the text.
#include <eigenformer/tokenizers/regex.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace tk = eigenformer::tokenizers;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view pattern = input.substr(0, nul);
  std::u32string text;
  if (nul == std::string_view::npos) {
    text = U"Hello world's  end\r\n\t12345 \u00a0x\u0085y café 中文 😀!! 'LL";
  } else {
    const std::string_view bytes = input.substr(nul + 1);
    try {
      text = tk::decode_utf8(bytes);
    } catch (const eigenformer::format_error&) {
      text.clear();
      for (unsigned char b : bytes) text.push_back(b);
    }
  }
  std::optional<tk::regex> re;
  try {
    re.emplace(pattern, "fuzzed pattern");
  } catch (const eigenformer::format_error&) {
    return 0;  // malformed or unsupported: the only acceptable failure
  }
  try {
    const auto all = re->find_all(text);
    std::size_t last = 0;
    for (const auto& [b, e] : all) {
      if (b < last || e <= b || e > text.size()) __builtin_trap();
      last = e;
    }
    if (const auto m = re->search(text, text.size() / 2)) {
      if (m->first < text.size() / 2 || m->second < m->first || m->second > text.size()) __builtin_trap();
    }
    if (re->search(text, text.size() + 1)) __builtin_trap();  // past the end: nothing
  } catch (const eigenformer::format_error&) {
    // the step budget ran out: a pattern too costly for this text
  }
  return 0;
}
