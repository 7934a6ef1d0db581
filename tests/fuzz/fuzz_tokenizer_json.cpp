// libFuzzer target: tokenizer.json. An input that starts with '{' is a tokenizer.json to load
// (then used on a few texts); any other input is text for a fixed tokenizer.json that uses most
// components (NFKC and a regex Replace, Llama 3's Split regex before ByteLevel, byte-level BPE
// with merges, added tokens with lstrip / rstrip / single_word, a template with a pair, the
// ByteLevel decoder). Loading may fail only with eigenformer's typed errors; valid UTF-8 text
// must encode and decode without one, and invalid UTF-8 must be a format_error.
#include <eigenformer/tokenizers/tokenizer_json.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace ef = eigenformer;
namespace tk = eigenformer::tokenizers;

namespace {

const tk::hf_tokenizer& fixed() {
  static const auto t = [] {
    const auto b2u = tk::bytes_to_unicode();
    nlohmann::json vocab = nlohmann::json::object();
    int id = 0;
    std::vector<std::string> sym(256);
    for (int b = 0; b < 256; ++b) {
      tk::append_utf8(sym[std::size_t(b)], b2u[std::size_t(b)]);
      vocab[sym[std::size_t(b)]] = id++;
    }
    nlohmann::json merges = nlohmann::json::array();
    for (const char* p : {"t h", "th e", "i n", "e r", "a n", "\xc4\xa0 t", "h e", "\xc4\xa0t he", "o n", "r e"}) {
      merges.push_back(p);
      std::string joined(p);
      joined.erase(joined.find(' '), 1);
      if (!vocab.contains(joined)) vocab[joined] = id++;
    }
    const int bos = id++, sep = id++, mask = id++, ok = id++;
    const nlohmann::json j = {
        {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}, {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}}}}}},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{"Regex", R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", true}}},
        {"added_tokens",
         {{{"id", bos}, {"content", "<s>"}, {"special", true}},
          {{"id", sep}, {"content", "</s>"}, {"special", true}, {"rstrip", true}},
          {{"id", mask}, {"content", "<mask>"}, {"special", true}, {"lstrip", true}},
          {{"id", ok}, {"content", "ok"}, {"special", false}, {"single_word", true}, {"normalized", true}}}},
        {"post_processor",
         {{"type", "TemplateProcessing"},
          {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
          {"pair",
           {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
            {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
            {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}},
            {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
          {"special_tokens",
           {{"<s>", {{"id", "<s>"}, {"ids", {bos}}, {"tokens", {"<s>"}}}}, {"</s>", {{"id", "</s>"}, {"ids", {sep}}, {"tokens", {"</s>"}}}}}}}},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}}};
    return tk::hf_tokenizer(j, "fuzz tokenizer.json");
  }();
  return t;
}

void use(const tk::hf_tokenizer& t, std::string_view text) {
  bool valid = true;
  try {
    tk::decode_utf8(text);
  } catch (const ef::format_error&) {
    valid = false;
  }
  try {
    const auto e = t.encode(text);
    if (!valid) std::abort();  // invalid UTF-8 must not encode
    if (e.ids.size() != e.token_types.size()) std::abort();
    (void)t.decode(e.ids);
    (void)t.decode(e.ids, true);
    (void)t.encode_pair(text, "a pair");
  } catch (const ef::format_error&) {
    // Invalid UTF-8, or a regex too costly for this text: typed, named.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (!in.empty() && in[0] == '{') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
      return 0;  // not JSON: the loader's strict reader is io/json.hpp's, fuzzed elsewhere
    }
    try {
      const tk::hf_tokenizer t(j, "fuzz input");
      for (std::string_view text : {"", "Hello, world! It's 2026.", "  \t\n x", "caf\u00e9 \u2581 <s>"}) use(t, text);
    } catch (const ef::error&) {
      // Rejected with a typed error: what the loader promises.
    }
    return 0;
  }
  use(fixed(), in);
  return 0;
}
