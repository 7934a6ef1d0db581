// eigenformer-classify: the label and probability of each text with a text classifier (a BERT,
// RoBERTa, XLM-R or ModernBERT *ForSequenceClassification folder), or of each token with a token
// classifier (*ForTokenClassification, NER).
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
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-classify --model DIR [--file TEXTS] [--all] [--pair TEXT]
                           [--dtype f32|bf16|int8|int4] [--threads N] [--batch-tokens N] [TEXT...]

Classifies each TEXT (and each non-blank line of the file TEXTS; "-" reads standard input) with
the classifier in DIR, truncated to the model's positions, in packed batches of at most N tokens
(default 8192). Prints the most probable label (config.json's id2label) and its probability
per text: softmax over the labels, or a sigmoid per label when the config's problem_type is
multi_label_classification or the model has one label (regression: the raw value).
  --all         every label's probability, not only the best
  --pair TEXT   classify (TEXT_i, TEXT) pairs, as the tokenizer joins two texts (NLI)
A token classifier (NER) prints each token with its best label instead.
)";
[[noreturn]] void bad_usage(const std::string& m) {
  std::fprintf(stderr, "eigenformer-classify: %s\n(see eigenformer-classify --help)\n", m.c_str());
  std::exit(2);
}
long parse_count(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1 || n > (1L << 30)) bad_usage(flag + ": expected an integer >= 1, got '" + v + "'");
  return n;
}
// Probabilities of one row of logits, as HF's text-classification pipeline turns them.
std::vector<double> probabilities(const ef::matrix& logits, ef::index_t row, bool sigmoid) {
  std::vector<double> p(std::size_t(logits.cols()));
  double top = -INFINITY, sum = 0;
  for (ef::index_t c = 0; c < logits.cols(); ++c) top = std::max(top, double(logits(row, c)));
  for (ef::index_t c = 0; c < logits.cols(); ++c) {
    const double x = double(logits(row, c));
    p[std::size_t(c)] = sigmoid ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x - top);
    sum += p[std::size_t(c)];
  }
  if (!sigmoid)
    for (auto& v : p) v /= sum;
  return p;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir, dtype = "f32", file, pair;
  bool all = false, have_pair = false;
  long threads = 0, batch_tokens = 8192;
  std::vector<std::string> texts;
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
    else if (a == "--file") file = value();
    else if (a == "--dtype") dtype = value();
    else if (a == "--pair") pair = value(), have_pair = true;
    else if (a == "--all") all = true;
    else if (a == "--threads") threads = parse_count(a, value());
    else if (a == "--batch-tokens") batch_tokens = parse_count(a, value());
    else if (a.rfind("--", 0) == 0) bad_usage("unknown argument '" + a + "'");
    else texts.push_back(a);
  }
  if (dir.empty()) bad_usage("--model DIR is required");
  try {
    const ef::weight_type type = ef::parse_weight_type(dtype, "--dtype");
    if (threads > 0 && ef::set_num_threads(int(threads)) < threads)
      std::fprintf(stderr, "--threads %ld: using %d, the most that can run here\n", threads, ef::num_threads());
    if (!file.empty()) {
      const auto lines = ef::io::nonblank_lines(file == "-" ? ef::io::read_stdin() : ef::io::read_file(file));
      texts.insert(texts.end(), lines.begin(), lines.end());
    }
    if (texts.empty()) bad_usage("give at least one TEXT or --file TEXTS");
    auto enc = ef::models::text_encoder::load(dir, {.weights = type});
    const auto& labels = enc.labels();
    const std::string problem = std::visit([](const auto& m) { return m.config().head.problem_type; }, enc.model());
    const auto t0 = std::chrono::steady_clock::now();
    if (enc.head() == ef::io::encoder_head::token_classification) {
      if (have_pair) bad_usage("--pair: the model classifies tokens, not text pairs");
      for (const auto& t : texts) {
        const auto e = enc.encode(t);
        const ef::matrix logits = enc.token_logits(e);
        std::printf("%s\n", t.c_str());
        for (ef::index_t r = 0; r < logits.rows(); ++r) {
          const auto p = probabilities(logits, r, false);
          const auto best = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());
          const ef::token_id id = e.ids[std::size_t(r)];
          std::printf("  %-16s %-12s %.4f\n", enc.tokenizer().decode(std::span(&id, 1)).c_str(), labels[best].c_str(), p[best]);
        }
      }
    } else {
      if (enc.head() != ef::io::encoder_head::sequence_classification)
        ef::throw_error<ef::config_error>("classify", "model", "a *ForSequenceClassification or *ForTokenClassification checkpoint",
                                          "another architecture (config.json's architectures)", dir);
      std::vector<ef::tokenizers::encoding> items;
      for (const auto& t : texts) items.push_back(have_pair ? enc.encode_pair(t, pair) : enc.encode(t));
      const ef::matrix logits = enc.classify(std::span<const ef::tokenizers::encoding>(items), ef::index_t(batch_tokens));
      const bool regression = problem == "regression";
      const bool sigmoid = problem == "multi_label_classification" || labels.size() == 1;
      for (std::size_t s = 0; s < texts.size(); ++s) {
        if (regression) {
          std::printf("%-12s %.4f  %s\n", labels[0].c_str(), double(logits(ef::index_t(s), 0)), texts[s].c_str());
          continue;
        }
        const auto p = probabilities(logits, ef::index_t(s), sigmoid);
        const auto best = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());
        std::printf("%-12s %.4f  %s\n", labels[best].c_str(), p[best], texts[s].c_str());
        if (all)
          for (std::size_t l = 0; l < p.size(); ++l) std::printf("    %-12s %.4f\n", labels[l].c_str(), p[l]);
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "classified %zu texts in %.3f s (%.1f texts/s)\n", texts.size(), secs,
                 double(texts.size()) / std::max(secs, 1e-9));
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-classify: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-classify: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
