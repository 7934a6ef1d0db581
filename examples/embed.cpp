// eigenformer-embed: sentence embeddings from an encoder folder: a sentence-transformers folder
// (modules.json: its pooling, Dense layers, Normalize, prompts and max_seq_length) or a plain
// BERT / RoBERTa / XLM-R / ModernBERT folder with the pooling given here. Texts go through the
// model in packed batches bounded by a token budget (no padding computed); the vectors go to
// .npy, JSON lines or safetensors, or are summarised with their cosine-similarity matrix.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/safetensors.hpp>
#include <eigenformer/models/sentence_encoder.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace ef = eigenformer;

namespace {
constexpr const char* usage = R"(usage: eigenformer-embed --model DIR [--prompt-name NAME | --prompt TEXT] [--dim N] [--normalize]
                        [--pooling cls|mean|max|mean_sqrt_len|weightedmean|lasttoken]
                        [--output FILE.npy|.jsonl|.safetensors] [--batch-tokens N]
                        [--dtype f32|bf16|int8|int4] [--compare T] [--threads N] [--file TEXTS] [TEXT...]

Embeds each TEXT (and each non-blank line of the file TEXTS; "-" reads standard input) with the
encoder in DIR, in packed batches of at most N tokens (default 8192); a text longer than the
model's positions (or a sentence-transformers folder's max_seq_length) keeps its first tokens
and its final special token.
  A sentence-transformers folder (modules.json) embeds as sentence-transformers does: its
  Pooling (include_prompt too), Dense layers and Normalize. Another encoder folder pools the
  final hidden states by --pooling (default mean over the text's tokens).
  --prompt-name NAME  prefix each text with the folder's prompt NAME (config_sentence_transformers.json)
  --prompt TEXT       prefix each text with TEXT
  --dim N             Matryoshka: keep the first N values of each vector
  --normalize         unit-length vectors (after --dim)
  --output FILE       write the vectors [texts, dim] as float32: .npy, .jsonl (one {"index", "embedding"}
                      object a line) or .safetensors (tensor "embeddings"); written to a
                      temporary file and renamed
  --compare T         also embed with the weights loaded as T and print the mean and minimum
                      cosine similarity between the two types' vectors of each text
Up to 16 texts and no --output: prints each embedding's size and first values, then the
cosine-similarity matrix. Prints texts/s and tokens/s on standard error.
)";
[[noreturn]] void bad_usage(const std::string& m) {
  std::fprintf(stderr, "eigenformer-embed: %s\n(see eigenformer-embed --help)\n", m.c_str());
  std::exit(2);
}
long parse_count(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1 || n > (1L << 30)) bad_usage(flag + ": expected an integer >= 1, got '" + v + "'");
  return n;
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

bool ends_with(const std::string& s, const char* tail) {
  const std::size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// numpy's .npy format, version 1.0: magic, header dict padded to a multiple of 64, raw float32.
void write_npy(const std::string& path, const ef::matrix& m) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(m.rows()) + ", " +
                       std::to_string(m.cols()) + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  ef::io::atomic_writer w(path);
  const unsigned char magic[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  w.write(magic, 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff), static_cast<unsigned char>(header.size() >> 8)};
  w.write(len, 2);
  w.write(header);
  w.write(m.data(), std::size_t(m.size()) * sizeof(float));  // row-major
  w.commit();
}

void write_jsonl(const std::string& path, const ef::matrix& m) {
  ef::io::atomic_writer w(path);
  std::string line;
  char buf[32];
  for (ef::index_t r = 0; r < m.rows(); ++r) {
    line = "{\"index\": " + std::to_string(r) + ", \"embedding\": [";
    for (ef::index_t c = 0; c < m.cols(); ++c) {
      std::snprintf(buf, sizeof buf, c ? ", %.9g" : "%.9g", double(m(r, c)));
      line += buf;
    }
    line += "]}\n";
    w.write(line);
  }
  w.commit();
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir, dtype = "f32", file, output, pooling;
  std::optional<std::string> compare;
  ef::models::embed_options opt;
  long threads = 0;
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
    else if (a == "--dtype") dtype = value();
    else if (a == "--compare") compare = value();
    else if (a == "--file") file = value();
    else if (a == "--output") output = value();
    else if (a == "--prompt-name") opt.prompt_name = value();
    else if (a == "--prompt") opt.prompt = value();
    else if (a == "--dim") opt.truncate_dim = ef::index_t(parse_count(a, value()));
    else if (a == "--normalize") opt.normalize = true;
    else if (a == "--batch-tokens") opt.batch_tokens = ef::index_t(parse_count(a, value()));
    else if (a == "--threads") threads = parse_count(a, value());
    else if (a == "--pooling") {
      pooling = value();
      if (pooling != "mean" && pooling != "cls" && pooling != "max" && pooling != "mean_sqrt_len" &&
          pooling != "weightedmean" && pooling != "lasttoken")
        bad_usage("--pooling: expected cls, mean, max, mean_sqrt_len, weightedmean or lasttoken, got '" + pooling + "'");
    } else if (a.rfind("--", 0) == 0) bad_usage("unknown argument '" + a + "'");
    else texts.push_back(a);
  }
  if (dir.empty()) bad_usage("--model DIR is required");
  if (!output.empty() && !ends_with(output, ".npy") && !ends_with(output, ".jsonl") && !ends_with(output, ".safetensors"))
    bad_usage("--output: expected a name ending in .npy, .jsonl or .safetensors, got '" + output + "'");
  try {
    const ef::weight_type type = ef::parse_weight_type(dtype, "--dtype");
    const std::optional<ef::weight_type> base =
        compare ? std::optional(ef::parse_weight_type(*compare, "--compare")) : std::nullopt;
    if (threads > 0 && ef::set_num_threads(int(threads)) < threads)
      std::fprintf(stderr, "--threads %ld: using %d, the most that can run here\n", threads, ef::num_threads());
    if (!file.empty()) {
      const auto lines = ef::io::nonblank_lines(file == "-" ? ef::io::read_stdin() : ef::io::read_file(file));
      if (lines.empty()) bad_usage("--file " + file + ": no non-blank line");
      texts.insert(texts.end(), lines.begin(), lines.end());
    }
    if (texts.empty()) bad_usage("give at least one TEXT or --file TEXTS");

    std::optional<ef::models::pooling_config> fallback;
    if (!pooling.empty()) {
      ef::models::pooling_config p;
      p.cls = pooling == "cls", p.max = pooling == "max", p.mean = pooling == "mean";
      p.mean_sqrt_len = pooling == "mean_sqrt_len", p.weighted_mean = pooling == "weightedmean";
      p.last_token = pooling == "lasttoken";
      fallback = p;
    }
    const auto load = [&](ef::weight_type t) {
      auto s = ef::models::sentence_encoder::load(dir, {.weights = t}, fallback);
      if (fallback && ef::io::exists(std::filesystem::path(dir) / "modules.json"))
        bad_usage("--pooling: " + dir + " is a sentence-transformers folder, whose modules.json sets the pooling");
      return s;
    };
    auto st = load(type);
    // Tokenize once (the prompt prefixed), and report what the batches hold.
    const std::string prompt = st.prompt_for(opt);
    const ef::index_t plen = st.config().pooling.include_prompt ? 0 : st.prompt_length(prompt);
    std::vector<ef::tokenizers::encoding> items;
    items.reserve(texts.size());
    std::size_t tokens = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      items.push_back(st.encoder().encode(st.input_text(prompt, texts[i]), st.max_seq_length()));
      tokens += items.back().ids.size();
      if (texts.size() > 10000 && (i + 1) % 10000 == 0) std::fprintf(stderr, "\rtokenized %zu / %zu texts", i + 1, texts.size());
    }
    if (texts.size() > 10000) std::fprintf(stderr, "\n");
    // Embed in chunks of about 8 batches' worth of tokens, so that a long run shows a progress
    // line (on a terminal); each chunk is packed into batches as one call would pack it.
    const auto t0 = std::chrono::steady_clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    const ef::index_t width = opt.truncate_dim ? opt.truncate_dim : st.dim();
    ef::matrix emb(ef::index_t(items.size()), width);
    const std::size_t chunk_tokens = 8 * std::size_t(std::max<ef::index_t>(opt.batch_tokens, 1));
    const bool progress = isatty(2) && tokens > chunk_tokens;
    for (std::size_t first = 0, done_tokens = 0; first < items.size();) {
      std::size_t last = first, t = 0;
      while (last < items.size() && (last == first || t + items[last].ids.size() <= chunk_tokens)) t += items[last++].ids.size();
      emb.middleRows(ef::index_t(first), ef::index_t(last - first)) =
          st.embed(std::span<const ef::tokenizers::encoding>(items).subspan(first, last - first), plen, opt);
      done_tokens += t;
      first = last;
      if (progress)
        std::fprintf(stderr, "\rembedded %zu / %zu texts (%.0f%% of the tokens), %.0f tokens/s ", last, items.size(),
                     100.0 * double(done_tokens) / double(tokens), double(done_tokens) / std::max(elapsed(), 1e-9));
    }
    if (progress) std::fprintf(stderr, "\n");
    const double secs = elapsed();
    std::fprintf(stderr, "embedded %zu texts (%zu tokens) in %.3f s: %.1f texts/s, %.0f tokens/s\n", texts.size(), tokens,
                 secs, double(texts.size()) / std::max(secs, 1e-9), double(tokens) / std::max(secs, 1e-9));
    const ef::index_t d = emb.cols(), n = emb.rows();
    if (!output.empty()) {
      if (ends_with(output, ".npy")) write_npy(output, emb);
      else if (ends_with(output, ".jsonl")) write_jsonl(output, emb);
      else ef::io::write_safetensors(output, {{"embeddings", {n, d}, emb.data()}}, {{"producer", "eigenformer-embed"}, {"model", dir}});
      std::printf("wrote %s: [%ld, %ld] float32\n", output.c_str(), long(n), long(d));
    } else if (n <= 16) {
      for (ef::index_t s = 0; s < n; ++s)
        std::printf("text %ld: %zu tokens, embedding [%ld]: %.4f %.4f %.4f ...\n", long(s), items[std::size_t(s)].ids.size(),
                    long(d), double(emb(s, 0)), double(emb(s, 1)), double(emb(s, 2)));
      std::printf("cosine similarity:\n");
      for (ef::index_t i = 0; i < n; ++i) {
        for (ef::index_t j = 0; j < n; ++j) std::printf(" %7.4f", cosine(emb, i, emb, j));
        std::printf("\n");
      }
    } else {
      std::printf("embedded %ld texts (%zu tokens), embedding [%ld]\n", long(n), tokens, long(d));
    }
    if (base) {
      st = load(*base);  // one model resident at a time
      const ef::matrix ref = st.embed(std::span<const ef::tokenizers::encoding>(items), plen, opt);
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
