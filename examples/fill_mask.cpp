// eigenformer-fill-mask: the most likely tokens for each [MASK] of a sentence, with a BERT
// checkpoint that has its masked-LM head (BertForMaskedLM / BertForPreTraining weights).
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/parse.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

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

Prints, for each [MASK] in TEXT, the N (default 5) most likely tokens and their probabilities
according to the BERT checkpoint in DIR (config.json, model.safetensors with the masked-LM head,
vocab.txt). Example: eigenformer-fill-mask --model bert-base-uncased "Paris is the [MASK] of France."
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
    auto bert = ef::models::bert<>::load(dir, {.weights = ef::parse_weight_type(dtype, "--dtype")});
    if (!bert.has_mlm_head())
      throw ef::config_error("[eigenformer.fill-mask] checkpoint: expected masked-LM head weights (cls.predictions.*), got none (" + dir + ")");
    const auto tok = ef::tokenizers::wordpiece_tokenizer::from_folder(dir);
    const auto enc = tok.encode(text);
    const ef::token_id mask = tok.mask_id();
    std::vector<ef::index_t> masks;
    for (std::size_t i = 0; i < enc.ids.size(); ++i)
      if (enc.ids[i] == mask) masks.push_back(ef::index_t(i));
    if (masks.empty()) bad_usage("TEXT has no [MASK]");
    const ef::index_t t = ef::index_t(enc.ids.size()), v = bert.vocab_size();
    ef::matrix hidden(t, bert.d_model()), logits(t, v);
    bert.forward(enc.ids, std::vector<ef::index_t>{0, t}, enc.token_types, ef::view(hidden));
    bert.mlm_logits(ef::view(std::as_const(hidden)), ef::view(logits));
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
        std::printf("  %-16s %.4f\n", tok.id_to_token(order[i]).c_str(), p[std::size_t(order[i])] / z);
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
