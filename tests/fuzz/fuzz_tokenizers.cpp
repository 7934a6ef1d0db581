// libFuzzer targets: each tokenizer's encode on arbitrary bytes (built twice, with
// EIGENFORMER_FUZZ_BPE or EIGENFORMER_FUZZ_WORDPIECE). Invalid UTF-8 must throw format_error;
// valid text must encode without a crash, and byte-level BPE must decode back to the input.
// The vocabularies are small ones written at start-up (every byte symbol plus merges of common
// pairs for BPE; a few hundred words and pieces for WordPiece), so no download is needed.
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace tk = eigenformer::tokenizers;

namespace {
std::filesystem::path dir() {
  static const auto d = [] {
    auto p = std::filesystem::temp_directory_path() / ("eigenformer_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p;
  }();
  return d;
}

#if defined(EIGENFORMER_FUZZ_BPE)
std::unique_ptr<tk::bpe_tokenizer> make() {
  const auto b2u = tk::bytes_to_unicode();
  std::string vocab = "{";
  int id = 0;
  std::vector<std::string> syms;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    tk::append_utf8(s, b2u[std::size_t(b)]);
    syms.push_back(s);
    std::string key = s == "\"" || s == "\\" ? "\\" + s : s;
    if (b) vocab += ',';
    vocab.append("\"").append(key).append("\":").append(std::to_string(id++));
  }
  std::string merges = "#version: 0.2\n";
  const char* pairs[] = {"t h", "th e", "i n", "e r", "a n", "\xc4\xa0 t", "h e", "\xc4\xa0t he", "o n", "r e", "e s"};
  for (const char* p : pairs) {
    merges.append(p).append("\n");
    std::string joined(p);
    joined.erase(joined.find(' '), 1);
    vocab.append(",\"").append(joined).append("\":").append(std::to_string(id++));
  }
  vocab += "}";
  std::ofstream(dir() / "vocab.json") << vocab;
  std::ofstream(dir() / "merges.txt") << merges;
  return std::make_unique<tk::bpe_tokenizer>(dir() / "vocab.json", dir() / "merges.txt");
}
#else
std::unique_ptr<tk::wordpiece_tokenizer> make() {
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (char c = 'a'; c <= 'z'; ++c) vocab += std::string(1, c) + "\n##" + std::string(1, c) + "\n";
  for (const char* w : {"the", "and", "ing", "##ing", "##ed", "caf", ".", ",", "!", "?", "\xe4\xb8\xad"}) vocab += std::string(w) + "\n";
  std::ofstream(dir() / "vocab.txt") << vocab;
  return std::make_unique<tk::wordpiece_tokenizer>(dir() / "vocab.txt");
}
#endif
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto tok = make();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
#if defined(EIGENFORMER_FUZZ_BPE)
    const auto ids = tok->encode(text);
    if (tok->decode(ids) != text) __builtin_trap();  // byte-level BPE is lossless
#else
    const auto e = tok->encode(text);
    if (e.ids.size() < 2 || e.ids.front() != tok->cls_id() || e.ids.back() != tok->sep_id()) __builtin_trap();
#endif
  } catch (const eigenformer::format_error&) {
    // invalid UTF-8: the only acceptable failure
  }
  return 0;
}
