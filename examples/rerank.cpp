// eigenformer-rerank: scores passages against a query with a cross-encoder (a BERT, RoBERTa,
// XLM-R or ModernBERT *ForSequenceClassification folder with one label, as sentence-transformers'
// CrossEncoder rerankers are saved) and prints them best first.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/models/text_encoder.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-rerank --model DIR --query Q [--file PASSAGES] [--top N]
                         [--dtype f32|bf16|int8|int4] [--threads N] [--batch-tokens N] [PASSAGE...]

Scores each PASSAGE (and each non-blank line of the file PASSAGES; "-" reads standard input)
against the query Q with the cross-encoder in DIR, each pair as the folder's tokenizer joins two
texts and truncated longest-first to the model's positions, in packed batches of at most N tokens
(default 8192), and prints score, logit and passage, best first (--top N: the first N only).
The score is sigmoid(logit), as sentence-transformers' CrossEncoder reports a one-label model.
)";
[[noreturn]] void bad_usage(const std::string& m) {
  std::fprintf(stderr, "eigenformer-rerank: %s\n(see eigenformer-rerank --help)\n", m.c_str());
  std::exit(2);
}
long parse_count(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1 || n > (1L << 30)) bad_usage(flag + ": expected an integer >= 1, got '" + v + "'");
  return n;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir, query, dtype = "f32", file;
  bool have_query = false;
  long top = 0, threads = 0, batch_tokens = 8192;
  std::vector<std::string> passages;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--model") dir = value();
    else if (a == "--query") query = value(), have_query = true;
    else if (a == "--file") file = value();
    else if (a == "--dtype") dtype = value();
    else if (a == "--top") top = parse_count(a, value());
    else if (a == "--threads") threads = parse_count(a, value());
    else if (a == "--batch-tokens") batch_tokens = parse_count(a, value());
    else if (a.rfind("--", 0) == 0) bad_usage("unknown argument '" + a + "'");
    else passages.push_back(a);
  }
  if (dir.empty()) bad_usage("--model DIR is required");
  if (!have_query) bad_usage("--query Q is required");
  try {
    const ef::weight_type type = ef::parse_weight_type(dtype, "--dtype");
    if (threads > 0 && ef::set_num_threads(int(threads)) < threads)
      std::fprintf(stderr, "--threads %ld: using %d, the most that can run here\n", threads, ef::num_threads());
    if (!file.empty()) {
      const auto lines = ef::io::nonblank_lines(file == "-" ? ef::io::read_stdin() : ef::io::read_file(file));
      passages.insert(passages.end(), lines.begin(), lines.end());
    }
    if (passages.empty()) bad_usage("give at least one PASSAGE or --file PASSAGES");
    auto enc = ef::models::text_encoder::load(dir, {.weights = type});
    if (enc.head() != ef::io::encoder_head::sequence_classification || enc.labels().size() != 1)
      ef::throw_error<ef::config_error>("rerank", "model", "a cross-encoder (*ForSequenceClassification with one label)",
                                        enc.head() == ef::io::encoder_head::sequence_classification
                                            ? std::to_string(enc.labels().size()) + " labels (see eigenformer-classify)"
                                            : std::string("another architecture"),
                                        dir);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<float> logits = enc.rerank(query, passages, ef::index_t(batch_tokens));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<std::size_t> order(passages.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
    const std::size_t shown = top > 0 ? std::min(order.size(), std::size_t(top)) : order.size();
    std::printf("%8s %9s  passage\n", "score", "logit");
    for (std::size_t r = 0; r < shown; ++r) {
      const std::size_t i = order[r];
      std::printf("%8.5f %9.4f  %s\n", 1.0 / (1.0 + std::exp(-double(logits[i]))), double(logits[i]), passages[i].c_str());
    }
    std::fprintf(stderr, "scored %zu passages in %.3f s (%.1f pairs/s)\n", passages.size(), secs,
                 double(passages.size()) / std::max(secs, 1e-9));
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-rerank: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-rerank: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
