// libFuzzer target: the vocabulary and merges readers on arbitrary bytes. The input is split at
// its first NUL byte into a vocab.json and a merges.txt for byte-level BPE; the whole input is
// also read as a WordPiece vocab.txt. Each reader either builds a tokenizer (which then encodes
// a fixed text) or throws a typed eigenformer::error; nothing else is acceptable (crash,
// sanitizer report, an allocation sized by a number in the file, another exception).
#include <eigenformer/io/json.hpp>
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tk = eigenformer::tokenizers;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = all.find('\0');
  const std::string_view vocab = all.substr(0, nul), merges = nul == std::string_view::npos ? std::string_view() : all.substr(nul + 1);
  try {
    tk::bpe_tokenizer t(eigenformer::io::parse_json(vocab, "vocab.json"), merges, "vocab.json", "merges.txt");
    const auto ids = t.encode("the quick brown fox");
    if (t.decode(ids) != "the quick brown fox") __builtin_trap();  // byte-level BPE is lossless
  } catch (const eigenformer::error&) {
  }
  try {
    const tk::wordpiece_tokenizer t(all, "vocab.txt");
    const auto e = t.encode("the quick brown fox");
    if (e.ids.size() < 2 || e.ids.front() != t.cls_id() || e.ids.back() != t.sep_id()) __builtin_trap();
  } catch (const eigenformer::error&) {
  }
  return 0;
}
