// eigenformer-tokenize: prints the token ids of each TEXT argument, one line each.
#include <eigenformer/tokenizers/auto.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-tokenize --model DIR [--no-special-tokens] TEXT...

Tokenizes each TEXT (any Unicode, newlines included; UTF-8) with the tokenizer files of DIR
(vocab.txt: BERT WordPiece; vocab.json + merges.txt: GPT-2 byte-level BPE) and prints one line
of space-separated token ids per TEXT, in order. BERT adds [CLS] and [SEP] unless
--no-special-tokens; GPT-2 adds none.
)";
}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  bool special = true;
  std::vector<std::string> texts;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (!options_done && (a == "-h" || a == "--help")) {
      std::fputs(usage, stdout);
      return 0;
    } else if (!options_done && a == "--model") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "eigenformer-tokenize: --model needs a value\n");
        return 2;
      }
      dir = argv[++i];
    } else if (!options_done && a == "--no-special-tokens") {
      special = false;
    } else if (!options_done && a == "--") {
      options_done = true;
    } else if (!options_done && a.size() > 1 && a[0] == '-' && a[1] == '-') {
      std::fprintf(stderr, "eigenformer-tokenize: unknown option '%s' (use -- before a text that starts with --)\n", a.c_str());
      return 2;
    } else {
      texts.push_back(a);
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "eigenformer-tokenize: --model DIR is required (see --help)\n");
    return 2;
  }
  try {
    auto tok = ef::tokenizers::any_tokenizer::from_folder(dir);
    for (const auto& t : texts) {
      const auto ids = tok.encode(t, special);
      std::string line;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += std::to_string(ids[i]);
      }
      std::printf("%s\n", line.c_str());
    }
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-tokenize: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-tokenize: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
