// eigenformer-fill-mask: the most likely tokens for each mask token of a sentence, with an
// encoder checkpoint that has its masked-LM head (BERT, RoBERTa, XLM-R or ModernBERT
// *ForMaskedLM / BertForPreTraining weights).
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/parse.hpp>
#include <eigenformer/models/text_encoder.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <string_view>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-fill-mask --model DIR [--top N] [--dtype f32|bf16|int8|int4] TEXT

Prints, for each mask token ([MASK], or <mask> for RoBERTa-style vocabularies) in TEXT, the N
(default 5) most likely tokens and their probabilities according to the encoder in DIR
(config.json, model.safetensors with the masked-LM head, tokenizer.json or vocab.txt).
Example: eigenformer-fill-mask --model models/kjv-modernbert "In the beginning God created the [MASK] and the earth."
)";
[[noreturn]] void bad_usage(const std::string& m) {
  std::fprintf(stderr, "eigenformer-fill-mask: %s\n(see eigenformer-fill-mask --help)\n", m.c_str());
  std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir, text, dtype = "f32";
  long top = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--model" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--dtype" && i + 1 < argc) {
      dtype = argv[++i];
    } else if (a == "--top" && i + 1 < argc) {
      if (auto e = ef::io::parse_integer(std::string_view(argv[++i]), 1L, std::numeric_limits<long>::max(), top))
        bad_usage(std::string("--top: ") + *e);
    } else if (a.rfind("--", 0) == 0) {
      bad_usage("unknown argument '" + a + "'");
    } else if (text.empty()) {
      text = a;
    } else {
      bad_usage("give one TEXT (quote it)");
    }
  }
  if (dir.empty()) bad_usage("--model DIR is required");
  if (text.empty()) bad_usage("TEXT is required");
  try {
    auto enc_model = ef::models::text_encoder::load(dir, {.weights = ef::parse_weight_type(dtype, "--dtype")});
    auto& tok = enc_model.tokenizer();
    ef::token_id mask = tok.token_to_id("[MASK]");
    if (mask < 0) mask = tok.token_to_id("<mask>");
    if (mask < 0)
      throw ef::config_error("[eigenformer.fill-mask] tokenizer: expected a [MASK] or <mask> token, got neither (" + dir + ")");
    const auto enc = enc_model.encode(text);
    std::vector<ef::index_t> masks;
    for (std::size_t i = 0; i < enc.ids.size(); ++i)
      if (enc.ids[i] == mask) masks.push_back(ef::index_t(i));
    if (masks.empty()) bad_usage("TEXT has no [MASK]");
    const ef::matrix logits = enc_model.mlm_logits(enc);  // config_error without the head
    const ef::index_t v = logits.cols();
    const auto shown = [&](ef::token_id id) {  // the token as text, without the word's leading space
      std::string s = tok.decode(std::span(&id, 1));
      const auto a = s.find_first_not_of(' ');
      s = a == std::string::npos ? std::string() : s.substr(a);
      return s.empty() ? "#" + std::to_string(id) : s;
    };
    for (ef::index_t m : masks) {
      std::vector<double> p(static_cast<std::size_t>(v));
      const double mx = logits.row(m).maxCoeff();
      double z = 0.0;
      for (ef::index_t j = 0; j < v; ++j) z += p[std::size_t(j)] = std::exp(double(logits(m, j)) - mx);
      std::vector<ef::token_id> order(static_cast<std::size_t>(v));
      std::iota(order.begin(), order.end(), 0);
      const auto k = std::min<std::size_t>(std::size_t(top), order.size());
      std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                        [&](ef::token_id a, ef::token_id b) { return p[std::size_t(a)] > p[std::size_t(b)]; });
      std::printf("[MASK] at token %ld:\n", long(m));
      for (std::size_t i = 0; i < k; ++i)
        std::printf("  %-16s %.4f\n", shown(order[i]).c_str(), p[std::size_t(order[i])] / z);
    }
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-fill-mask: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-fill-mask: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
