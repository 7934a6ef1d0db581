// Tokenizer throughput (MB/s of UTF-8 input) for GPT-2 BPE and BERT WordPiece on the real
// vocabularies (tools/fetch_tokenizer_files.sh), and for the Qwen3, Llama 3 and Gemma 3
// tokenizer.json files it caches (with their load times), over a text file given on the command
// line (e.g. the repository's docs and headers concatenated), median of N passes, one thread.
//   cat README.md bench/RESULTS.md include/eigenformer/*/*.hpp > /tmp/text.txt
//   build/release/bench/bench_tokenizer_throughput ~/.cache/eigenformer/tokenizers /tmp/text.txt [--reps 5]
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
    std::fprintf(stderr, "usage: bench_tokenizer_throughput TOKENIZER_FILES TEXT_FILE [--reps N]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int reps = argc == 5 ? std::max(1, std::atoi(argv[4])) : 5;
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
    for (const char* name : {"qwen3", "llama3", "gemma3"}) {
      const std::string file = dir + "/" + name + "/tokenizer.json";
      if (!std::filesystem::exists(file)) continue;
      std::optional<tk::hf_tokenizer> t;
      const double tl = median_ms(1, [&] { t.emplace(tk::hf_tokenizer::from_file(file)); });
      std::size_t n = 0;
      const double te = median_ms(reps, [&] {
        for (const auto& l : lines) n += t->encode(l).ids.size();
      });
      std::printf("%-7s tokenizer.json: load %.0f ms, encode %.1f MB/s (median of %d), %zu tokens a pass\n", name, tl,
                  double(bytes) / 1e6 / (te / 1e3), reps, n / std::size_t(reps));
    }
  } catch (const eigenformer::error& e) {
    std::fprintf(stderr, "bench_tokenizer_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
