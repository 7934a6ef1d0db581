// eigenformer-embed: sentence embeddings from a BERT checkpoint (mean of the final hidden states
// over the tokens, or the [CLS] token's), and their cosine-similarity matrix.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <cstdlib>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-embed --model DIR [--pooling mean|cls] [--dtype f32|bf16|int8|int4] TEXT...

Embeds each TEXT with the BERT checkpoint in DIR (all texts run as one packed batch) and prints
each embedding's size and first values, then the cosine-similarity matrix of the texts.
  --pooling mean   average of the final hidden states over the text's tokens (default)
  --pooling cls    the final hidden state of [CLS]
)";
[[noreturn]] void bad_usage(const std::string& m) {
  std::fprintf(stderr, "eigenformer-embed: %s\n(see eigenformer-embed --help)\n", m.c_str());
  std::exit(2);
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir, pooling = "mean", dtype = "f32";
  std::vector<std::string> texts;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--model" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--dtype" && i + 1 < argc) {
      dtype = argv[++i];
    } else if (a == "--pooling" && i + 1 < argc) {
      pooling = argv[++i];
      if (pooling != "mean" && pooling != "cls") bad_usage("--pooling: expected mean or cls, got '" + pooling + "'");
    } else if (a.rfind("--", 0) == 0) {
      bad_usage("unknown argument '" + a + "'");
    } else {
      texts.push_back(a);
    }
  }
  if (dir.empty()) bad_usage("--model DIR is required");
  if (texts.empty()) bad_usage("give at least one TEXT");
  try {
    auto bert = ef::models::bert<>::load(dir, {.weights = ef::parse_weight_type(dtype, "--dtype")});
    const auto tok = ef::tokenizers::wordpiece_tokenizer::from_folder(dir);
    std::vector<ef::token_id> ids, types;
    std::vector<ef::index_t> off = {0};
    for (const auto& t : texts) {
      const auto e = tok.encode(t);
      ids.insert(ids.end(), e.ids.begin(), e.ids.end());
      types.insert(types.end(), e.token_types.begin(), e.token_types.end());
      off.push_back(off.back() + ef::index_t(e.ids.size()));
    }
    const ef::index_t d = bert.d_model(), n = ef::index_t(texts.size());
    ef::matrix hidden(ef::index_t(ids.size()), d), emb(n, d);
    bert.forward(ids, off, types, ef::view(hidden));
    for (ef::index_t s = 0; s < n; ++s) {
      const ef::index_t a = off[std::size_t(s)], b = off[std::size_t(s) + 1];
      emb.row(s) = pooling == "cls" ? ef::matrix(hidden.row(a)) : ef::matrix(hidden.middleRows(a, b - a).colwise().mean());
      std::printf("text %ld: %ld tokens, embedding [%ld]: %.4f %.4f %.4f ...\n", long(s), long(b - a), long(d),
                  double(emb(s, 0)), double(emb(s, 1)), double(emb(s, 2)));
    }
    std::printf("cosine similarity:\n");
    for (ef::index_t i = 0; i < n; ++i) {
      for (ef::index_t j = 0; j < n; ++j)
        std::printf(" %7.4f", double(emb.row(i).dot(emb.row(j)) / (emb.row(i).norm() * emb.row(j).norm())));
      std::printf("\n");
    }
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-embed: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-embed: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
