// Tokenizer throughput (MB/s of UTF-8 input), one family per row, over a text file given on the
// command line (e.g. the repository's docs and headers concatenated), median of N passes, one
// thread, every row in the same run:
//   - the older readers on the real vocabularies (tools/fetch_tokenizer_files.sh): GPT-2 BPE
//     (vocab.json + merges.txt) and BERT WordPiece (vocab.txt);
//   - tokenizer.json WordPiece: BERT's pipeline (BertNormalizer, BertPreTokenizer, WordPiece,
//     BertProcessing) built on the same vocab.txt, so its row is the older reader's twin;
//   - the Qwen3 (byte-level BPE), Llama 3 (byte-level BPE, ignore_merges) and Gemma 3
//     (SentencePiece-style BPE with byte fallback) tokenizer.json files the script caches;
//   - each further tokenizer.json named after the options, e.g. the committed Unigram one
//     (tests/data/tokenizer_json/t5-unigram-spm.json: Precompiled, Metaspace, Unigram).
//   cat README.md bench/RESULTS.md include/eigenformer/*/*.hpp > /tmp/text.txt
//   build/release/bench/bench_tokenizer_throughput "$(tools/fetch_tokenizer_files.sh)" /tmp/text.txt
//     [--reps 5] [tests/data/tokenizer_json/t5-unigram-spm.json ...]   (one command line)
#include <eigenformer/tokenizers/bpe.hpp>
#include <eigenformer/tokenizers/tokenizer_json.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tk = eigenformer::tokenizers;

template <class Fn>
double median_ms(int reps, Fn&& fn) {
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizer_throughput TOKENIZER_FILES TEXT_FILE [--reps N] [TOKENIZER_JSON ...]\n");
    return 2;
  }
  const std::string dir = argv[1];
  int reps = 5;
  std::vector<std::pair<std::string, std::string>> files;  // (row name, tokenizer.json)
  for (const char* name : {"qwen3", "llama3", "gemma3"}) files.emplace_back(name, dir + "/" + name + "/tokenizer.json");
  for (int i = 3; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
    else files.emplace_back(std::filesystem::path(a).stem().string(), a);
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  // Lines as separate inputs, the way text arrives in practice.
  std::vector<std::string> lines;
  std::string line;
  std::size_t bytes = 0;
  while (std::getline(ss, line)) {
    bytes += line.size();
    lines.push_back(line);
  }
  try {
    tk::bpe_tokenizer bpe(dir + "/gpt2/vocab.json", dir + "/gpt2/merges.txt");
    const auto bert = tk::wordpiece_tokenizer::from_folder(dir + "/bert-base-uncased");
    std::size_t nb = 0, nw = 0;
    for (const auto& l : lines) nb += bpe.encode(l).size();  // warm-up (fills the BPE cache as real use does)
    const double tb = median_ms(reps, [&] {
      for (const auto& l : lines) nb += bpe.encode(l).size();
    });
    const double tw = median_ms(reps, [&] {
      for (const auto& l : lines) nw += bert.encode(l).ids.size();
    });
    std::printf("text: %.2f MB in %zu lines\n", double(bytes) / 1e6, lines.size());
    std::printf("GPT-2 BPE:       %.1f MB/s (median of %d, warm cache)\n", double(bytes) / 1e6 / (tb / 1e3), reps);
    std::printf("BERT WordPiece:  %.1f MB/s (median of %d)\n", double(bytes) / 1e6 / (tw / 1e3), reps);
    std::printf("(%zu + %zu tokens)\n", nb, nw);
    {
      // BERT's tokenizer.json, as transformers writes it for bert-base-uncased, on the same vocab.txt.
      nlohmann::json vocab = nlohmann::json::object();
      std::ifstream v(dir + "/bert-base-uncased/vocab.txt");
      std::size_t id = 0;
      for (std::string l; std::getline(v, l);) vocab[l] = id++;
      const nlohmann::json j = {
          {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true}, {"strip_accents", nullptr}, {"lowercase", true}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"}, {"max_input_chars_per_word", 100}, {"vocab", vocab}}},
          {"post_processor", {{"type", "BertProcessing"}, {"sep", {"[SEP]", 102}}, {"cls", {"[CLS]", 101}}}}};
      const tk::hf_tokenizer t(j, "bert-base-uncased tokenizer.json (built from vocab.txt)");
      std::size_t n = 0;
      const double te = median_ms(reps, [&] {
        for (const auto& l : lines) n += t.encode(l).ids.size();
      });
      std::printf("%-7s tokenizer.json: encode %.1f MB/s (median of %d), %zu tokens a pass\n", "bert", double(bytes) / 1e6 / (te / 1e3),
                  reps, n / std::size_t(reps));
    }
    for (const auto& [name, file] : files) {
      if (!std::filesystem::exists(file)) continue;
      std::optional<tk::hf_tokenizer> t;
      const double tl = median_ms(1, [&] { t.emplace(tk::hf_tokenizer::from_file(file)); });
      std::size_t n = 0;
      const double te = median_ms(reps, [&] {
        for (const auto& l : lines) n += t->encode(l).ids.size();
      });
      std::printf("%-7s tokenizer.json: load %.0f ms, encode %.1f MB/s (median of %d), %zu tokens a pass\n", name.c_str(), tl,
                  double(bytes) / 1e6 / (te / 1e3), reps, n / std::size_t(reps));
    }
  } catch (const eigenformer::error& e) {
    std::fprintf(stderr, "bench_tokenizer_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
