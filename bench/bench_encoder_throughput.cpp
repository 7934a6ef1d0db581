// Embedding throughput of an encoder folder (BERT / RoBERTa / ModernBERT, models::load_encoder)
// over a file of tokenised texts, run in packed batches (models::for_each_batch: no padding is
// computed) of at most --batch-tokens tokens: the median wall time of a full pass over all texts,
// and texts/s and tokens/s from it, as one JSON line on stdout. bench/compare_pytorch_encoders.py
// runs it beside PyTorch on the same texts.
//   bench_encoder_throughput --model DIR --ids FILE [--threads 1] [--batch-tokens 8192] [--reps 3]
//                            [--dtype f32|bf16|int8] [--dump FILE]
// --ids: one text per line, its token ids separated by spaces (special tokens included).
// --dtype bf16 / int8 stores every linear layer as bf16 / int8 (load_options::weights).
// --dump FILE writes the final hidden states of the first text, [tokens, d] row-major raw
// float32, after the timed passes (so the comparison script can check both sides agree).
// An untimed warm-up forward of the first text precedes the timed passes.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/models/text_encoder.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace ef = eigenformer;

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "bench_encoder_throughput: %s\nusage: bench_encoder_throughput --model DIR --ids FILE [--threads N] "
               "[--batch-tokens N] [--reps N] [--dtype f32|bf16|int8] [--dump FILE]\n",
               why);
  return 2;
}

std::vector<ef::tokenizers::encoding> read_ids(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open --ids file " + path);
  std::vector<ef::tokenizers::encoding> texts;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    ef::tokenizers::encoding e;
    long v = 0;
    while (ss >> v) e.ids.push_back(ef::token_id(v));
    if (!ss.eof()) throw std::runtime_error(path + ": line " + std::to_string(texts.size() + 1) + " is not integers");
    if (!e.ids.empty()) texts.push_back(std::move(e));
  }
  if (texts.empty()) throw std::runtime_error(path + " holds no texts");
  return texts;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, ids_path, dump_path, dtype = "f32";
  long threads = 1, batch_tokens = 8192, reps = 3;
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
    const char* v = argv[i + 1];
    if (a == "--model") model_dir = v;
    else if (a == "--ids") ids_path = v;
    else if (a == "--dump") dump_path = v;
    else if (a == "--dtype") dtype = v;
    else if (a == "--threads") threads = std::strtol(v, nullptr, 10);
    else if (a == "--batch-tokens") batch_tokens = std::strtol(v, nullptr, 10);
    else if (a == "--reps") reps = std::strtol(v, nullptr, 10);
    else return usage(("unknown option " + a).c_str());
  }
  if (model_dir.empty() || ids_path.empty()) return usage("--model and --ids are required");
  if (threads < 1 || batch_tokens < 1 || reps < 1) return usage("--threads, --batch-tokens and --reps must be >= 1");
  try {
    const int used_threads = ef::set_num_threads(int(threads));
    const ef::load_options options{.weights = ef::parse_weight_type(dtype, "--dtype")};
    ef::models::any_encoder model = ef::models::load_encoder(model_dir, options);
    const std::vector<ef::tokenizers::encoding> texts = read_ids(ids_path);
    std::size_t tokens = 0, longest = 0;
    for (const auto& t : texts) {
      tokens += t.ids.size();
      longest = std::max(longest, t.ids.size());
    }
    const ef::index_t d = std::visit([](const auto& m) { return m.d_model(); }, model);
    const char* arch = std::holds_alternative<ef::models::bert<>>(model) ? "bert" : "modernbert";
    // One buffer of the largest batch (a text longer than the budget goes alone).
    ef::matrix hidden(ef::index_t(std::max<std::size_t>(std::size_t(batch_tokens), longest)), d);
    std::vector<float> first;  // hidden states of text 0
    std::size_t batches = 0;
    bool finite = true;
    const auto pass = [&](bool keep_first) {
      batches = 0;
      std::visit(
          [&](auto& m) {
            ef::models::for_each_batch(std::span<const ef::tokenizers::encoding>(texts), ef::index_t(batch_tokens),
                                       [&](const ef::models::packed_batch& b) {
                                         const ef::index_t n = b.offsets.back();
                                         ef::matrix_view h = ef::rows(ef::view(hidden), 0, n);
                                         m.forward(b.ids, b.offsets, b.types, h);
                                         ++batches;
                                         if (!h.row(n - 1).allFinite()) finite = false;
                                         if (keep_first && b.first == 0) {
                                           const ef::index_t n0 = b.offsets[1];
                                           first.resize(std::size_t(n0) * std::size_t(d));
                                           for (ef::index_t r = 0; r < n0; ++r)
                                             for (ef::index_t c = 0; c < d; ++c)
                                               first[std::size_t(r) * std::size_t(d) + std::size_t(c)] = h(r, c);
                                         }
                                       });
          },
          model);
    };
    {  // warm-up, untimed: the first text alone (the first forward allocates the scratch)
      const auto& t0 = texts.front().ids;
      const std::vector<ef::index_t> offsets = {0, ef::index_t(t0.size())};
      std::visit([&](auto& m) { m.forward(t0, offsets, {}, ef::rows(ef::view(hidden), 0, offsets[1])); }, model);
    }
    std::vector<double> secs;
    for (long r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      pass(false);
      secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::vector<double> sorted = secs;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                            : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
    if (!dump_path.empty()) {
      pass(true);
      std::ofstream out(dump_path, std::ios::binary);
      out.write(reinterpret_cast<const char*>(first.data()), std::streamsize(first.size() * sizeof(float)));
      if (!out) throw std::runtime_error("cannot write --dump file " + dump_path);
    }
    std::string all;
    for (std::size_t i = 0; i < secs.size(); ++i) all += (i ? "," : "") + std::to_string(secs[i]);
    std::printf(
        "{\"model\":\"%s\",\"arch\":\"%s\",\"dtype\":\"%s\",\"threads\":%d,\"batch_tokens\":%ld,\"texts\":%zu,"
        "\"tokens\":%zu,\"batches\":%zu,\"reps\":%ld,\"median_s\":%.6f,\"texts_per_s\":%.3f,\"tokens_per_s\":%.1f,"
        "\"all_s\":[%s]}\n",
        model_dir.c_str(), arch, dtype.c_str(), used_threads, batch_tokens, texts.size(), tokens, batches, reps, median,
        double(texts.size()) / median, double(tokens) / median, all.c_str());
    return finite ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_encoder_throughput: %s\n", e.what());
    return 1;
  }
}
