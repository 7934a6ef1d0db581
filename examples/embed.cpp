// eigenformer-embed: sentence embeddings from a BERT checkpoint (mean of the final hidden states
// over the tokens, or the [CLS] token's), their cosine-similarity matrix, and with --compare how
// far the vectors of one weight type are from another's (the encoder's fidelity figure).
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/tokenizers/wordpiece.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-embed --model DIR [--pooling mean|cls] [--dtype f32|bf16|int8|int4]
                        [--compare f32|bf16|int8|int4] [--file TEXTS] [TEXT...]

Embeds each TEXT (and each non-empty line of the file TEXTS) with the BERT checkpoint in DIR, in
packed batches of up to 4096 tokens; a text longer than the model's positions keeps its first
tokens and its final [SEP]. Up to 16 texts: prints each embedding's size and first values, then
the cosine-similarity matrix of the texts.
  --pooling mean   average of the final hidden states over the text's tokens (default)
  --pooling cls    the final hidden state of [CLS]
  --compare T      also embeds every text with the weights loaded as T and prints the mean and
                   minimum cosine similarity between the two types' vectors of each text
)";
[[noreturn]] void bad_usage(const std::string& m) {
  std::fprintf(stderr, "eigenformer-embed: %s\n(see eigenformer-embed --help)\n", m.c_str());
  std::exit(2);
}

// The texts' ids packed back to back: ids[off[s], off[s+1]) is text s.
struct packed_texts {
  std::vector<ef::token_id> ids, types;
  std::vector<ef::index_t> off = {0};
};

// [texts, d]: each text's pooled final hidden state, in batches of up to @p batch_tokens tokens.
ef::matrix embed(ef::models::bert<>& bert, const packed_texts& p, bool cls, ef::index_t batch_tokens) {
  const ef::index_t n = ef::index_t(p.off.size()) - 1, d = bert.d_model();
  ef::matrix emb(n, d), hidden;
  for (ef::index_t first = 0; first < n;) {
    ef::index_t last = first + 1;  // texts [first, last) in this batch
    while (last < n && p.off[std::size_t(last) + 1] - p.off[std::size_t(first)] <= batch_tokens) ++last;
    const ef::index_t base = p.off[std::size_t(first)], tokens = p.off[std::size_t(last)] - base;
    std::vector<ef::index_t> off;
    for (ef::index_t s = first; s <= last; ++s) off.push_back(p.off[std::size_t(s)] - base);
    hidden.resize(tokens, d);
    bert.forward(std::span(p.ids).subspan(std::size_t(base), std::size_t(tokens)), off,
                 std::span(p.types).subspan(std::size_t(base), std::size_t(tokens)), ef::view(hidden));
    for (ef::index_t s = first; s < last; ++s) {
      const ef::index_t a = off[std::size_t(s - first)], b = off[std::size_t(s - first) + 1];
      if (cls) emb.row(s) = hidden.row(a);
      else emb.row(s) = hidden.middleRows(a, b - a).colwise().mean();
    }
    first = last;
  }
  return emb;
}

double cosine(const ef::matrix& a, ef::index_t i, const ef::matrix& b, ef::index_t j) {
  double dot = 0, na = 0, nb = 0;
  for (ef::index_t c = 0; c < a.cols(); ++c) {
    dot += double(a(i, c)) * double(b(j, c));
    na += double(a(i, c)) * double(a(i, c));
    nb += double(b(j, c)) * double(b(j, c));
  }
  return dot / std::sqrt(na * nb);
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir, pooling = "mean", dtype = "f32", file;
  std::optional<std::string> compare;
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
    } else if (a == "--compare" && i + 1 < argc) {
      compare = argv[++i];
    } else if (a == "--file" && i + 1 < argc) {
      file = argv[++i];
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
  if (texts.empty() && file.empty()) bad_usage("give at least one TEXT or --file TEXTS");
  try {
    const ef::weight_type type = ef::parse_weight_type(dtype, "--dtype");
    const std::optional<ef::weight_type> base =
        compare ? std::optional(ef::parse_weight_type(*compare, "--compare")) : std::nullopt;
    if (!file.empty()) {
      const std::string content = ef::io::read_file(file);
      for (std::size_t pos = 0; pos < content.size();) {
        std::size_t eol = std::min(content.find('\n', pos), content.size());
        std::string line = content.substr(pos, eol - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") != std::string::npos) texts.push_back(std::move(line));
        pos = eol + 1;
      }
      if (texts.empty()) bad_usage("--file " + file + ": no non-empty line");
    }
    auto bert = ef::models::bert<>::load(dir, {.weights = type});
    const auto tok = ef::tokenizers::wordpiece_tokenizer::from_folder(dir);
    const ef::index_t max_tokens = bert.config().max_position_embeddings;
    packed_texts p;
    for (const auto& t : texts) {
      auto e = tok.encode(t);
      if (ef::index_t(e.ids.size()) > max_tokens) {  // keep [CLS] ... and the final [SEP]
        const ef::token_id sep = e.ids.back();
        e.ids.resize(std::size_t(max_tokens));
        e.token_types.resize(std::size_t(max_tokens));
        e.ids.back() = sep;
      }
      p.ids.insert(p.ids.end(), e.ids.begin(), e.ids.end());
      p.types.insert(p.types.end(), e.token_types.begin(), e.token_types.end());
      p.off.push_back(p.off.back() + ef::index_t(e.ids.size()));
    }
    const bool cls = pooling == "cls";
    const ef::index_t batch_tokens = std::max<ef::index_t>(4096, max_tokens);
    const ef::matrix emb = embed(bert, p, cls, batch_tokens);
    const ef::index_t d = bert.d_model(), n = emb.rows();
    if (n <= 16) {
      for (ef::index_t s = 0; s < n; ++s)
        std::printf("text %ld: %ld tokens, embedding [%ld]: %.4f %.4f %.4f ...\n", long(s),
                    long(p.off[std::size_t(s) + 1] - p.off[std::size_t(s)]), long(d), double(emb(s, 0)),
                    double(emb(s, 1)), double(emb(s, 2)));
      std::printf("cosine similarity:\n");
      for (ef::index_t i = 0; i < n; ++i) {
        for (ef::index_t j = 0; j < n; ++j) std::printf(" %7.4f", cosine(emb, i, emb, j));
        std::printf("\n");
      }
    } else {
      std::printf("embedded %ld texts (%ld tokens), embedding [%ld]\n", long(n), long(p.ids.size()), long(d));
    }
    if (base) {
      bert = ef::models::bert<>::load(dir, {.weights = *base});  // one model resident at a time
      const ef::matrix ref = embed(bert, p, cls, batch_tokens);
      double sum = 0, lowest = 2;
      ef::index_t where = 0;
      for (ef::index_t s = 0; s < n; ++s) {
        const double c = cosine(emb, s, ref, s);
        sum += c;
        if (c < lowest) lowest = c, where = s;
      }
      std::printf("%s against %s over %ld texts: cosine mean %.6f, min %.6f (text %ld)\n", dtype.c_str(),
                  compare->c_str(), long(n), sum / double(n), lowest, long(where));
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
