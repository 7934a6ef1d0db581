// eigenformer-perplexity: the perplexity of a GPT-2 or LLaMA-style checkpoint folder on a text
// file, measured as llama.cpp's `perplexity` measures it, and with --kl-base the KL divergence of
// its next-token distributions from those of the same folder at f32 (llama.cpp's
// `perplexity --kl-divergence` report), so that a weight type's cost in quality is one number.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/io/parse.hpp>
#include <eigenformer/models/auto.hpp>
#include <eigenformer/tokenizers/auto.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ef = eigenformer;

namespace {

constexpr const char* usage = R"(usage: eigenformer-perplexity --model DIR --file TEXT [options]

Measures the perplexity of the decoder-only model in DIR (config.json model_type gpt2 or llama,
model.safetensors, and its tokenizer: vocab.json + merges.txt) on the text file TEXT, as
llama.cpp's perplexity tool does: the whole file is tokenized (no special tokens), the ids are cut
into consecutive chunks of --context tokens (a shorter tail is dropped), each chunk is one
sequence, and only the second half of each chunk is scored (the logits at positions
context/2 .. context-2 predict the tokens after them), so every scored token has more than
context/2 tokens of history. Prints "Final estimate: PPL = X +/- Y": X = exp(mean NLL), Y = X times
the standard error of the mean NLL.

options:
  --model DIR      the checkpoint folder
  --file TEXT      the text to score (UTF-8)
  --dtype T        the linear layers' weights: f32 (default), bf16, int8 or int4
  --context N      tokens per chunk (default: the model's max positions, at most 512;
                   between 3 and the max positions)
  --chunks N       score the first N chunks only (default: all)
  --kl-base        also run every chunk through the same folder loaded at f32 (the base) and
                   print llama.cpp's --kl-divergence statistics: both perplexities and their
                   ratio, KL(p_base || p_model) per scored token (mean, percentiles) and how
                   often the most likely token is the same
  --threads N      threads (default: all; clamped to what can run)
  -h, --help       this text
)";

[[noreturn]] void bad_usage(const std::string& msg) {
  std::fprintf(stderr, "eigenformer-perplexity: %s\n(see eigenformer-perplexity --help)\n", msg.c_str());
  std::exit(2);
}

template <class T>
T integer(const std::string& opt, const std::string& v, T min, T max) {
  T x{};
  if (auto e = ef::io::parse_integer(v, min, max, x)) bad_usage(opt + ": " + *e);
  return x;
}

/// The smallest --context that scores a token: context - 1 - context/2 >= 1.
constexpr long min_context = 3;
/// The default --context when the model allows more (llama.cpp's default too).
constexpr long default_context = 512;

/// Sums of a value and of its square over the scored tokens.
struct sums {
  double x = 0.0, x2 = 0.0;
  void add(double v) noexcept {
    x += v;
    x2 += v * v;
  }
};

/// The mean of @p n values and its standard error, sqrt(variance / (n - 1)) (0 when n < 2), as
/// llama.cpp computes both.
std::pair<double, double> mean_and_error(const sums& s, std::size_t n) {
  if (n == 0) return {0.0, 0.0};
  const double mean = s.x / double(n), var = s.x2 / double(n) - mean * mean;
  return {mean, n > 1 && var > 0.0 ? std::sqrt(var / double(n - 1)) : 0.0};
}

/// The covariance of the means of two paired series (llama.cpp's covariance()).
double mean_covariance(double sum_a, double sum_b, double sum_ab, std::size_t n) {
  if (n < 2) return 0.0;
  const double c = sum_ab / double(n) - (sum_a / double(n)) * (sum_b / double(n));
  return c / double(n - 1);
}

/// The @p fraction quantile of sorted @p v, interpolated between neighbours (llama.cpp's).
double percentile(const std::vector<double>& v, double fraction) {
  if (fraction <= 0.0) return v.front();
  if (fraction >= 1.0) return v.back();
  const double p = fraction * double(v.size() - 1);
  const std::size_t i = std::size_t(p);
  const double f = p - double(i);
  return (1.0 - f) * v[i] + f * v[std::min(i + 1, v.size() - 1)];
}

double median(const std::vector<double>& v) {
  const std::size_t n = v.size();
  return n % 2 == 0 ? 0.5 * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
}

/// log Σ_j exp(x_j) of one logits row, in double and max-subtracted: max + log z with
/// z = Σ_j exp(x_j - max).
struct log_sum_exp {
  double max = 0.0, z = 0.0;
  double value() const noexcept { return max + std::log(z); }
};

/// The log-sum-exp of @p x (@p n values); with @p e not null, also e[j] = exp(x_j - max). Not
/// finite when the row is not (NaN, ±inf).
log_sum_exp row_log_sum_exp(const float* x, std::size_t n, double* e) noexcept {
  log_sum_exp r{double(*std::max_element(x, x + n)), 0.0};
  for (std::size_t j = 0; j < n; ++j) {
    const double t = std::exp(double(x[j]) - r.max);
    if (e) e[j] = t;
    r.z += t;
  }
  return r;
}

/// The most likely token of a row (the first of equal ones).
std::size_t argmax(const float* x, std::size_t n) noexcept { return std::size_t(std::max_element(x, x + n) - x); }

/// What one scored position contributes.
struct scored {
  double nll = 0.0;        ///< -log p_model(target)
  double nll_base = 0.0;   ///< -log p_base(target) (with a base)
  double kld = 0.0;        ///< KL(p_base || p_model) = Σ_j p_base,j (log p_base,j - log p_model,j)
  bool same_top = false;   ///< the two most likely tokens agree
  bool identical = false;  ///< the two logits rows are bitwise equal
  bool finite = true;      ///< both rows were finite
};

/// Scores rows [0, logits.rows()) of one chunk: row r predicts @p targets[r]. @p base is empty
/// without --kl-base. @p scratch holds vocab doubles per worker. Rows are independent, so the
/// result does not depend on the thread count.
void score_rows(const ef::matrix& logits, const ef::matrix* base, std::span<const ef::token_id> targets,
                std::vector<double>& scratch, std::span<scored> out) {
  const std::size_t v = std::size_t(logits.cols());
  ef::parallel_for_workers(0, logits.rows(), 4, [&](std::ptrdiff_t lo, std::ptrdiff_t hi, int worker) {
    double* e = scratch.data() + std::size_t(worker) * v;
    for (std::ptrdiff_t r = lo; r < hi; ++r) {
      scored& s = out[std::size_t(r)];
      const float* q = logits.row(r).data();
      const std::size_t t = std::size_t(targets[std::size_t(r)]);
      const double lq = row_log_sum_exp(q, v, nullptr).value();
      s.finite = std::isfinite(lq);
      s.nll = lq - double(q[t]);
      if (!base) continue;
      const float* b = base->row(r).data();
      const log_sum_exp sb = row_log_sum_exp(b, v, e);
      const double lb = sb.value();
      s.finite = s.finite && std::isfinite(lb);
      s.nll_base = lb - double(b[t]);
      // p_base,j = e_j / z; with equal rows every term is exactly 0 (the same operations on the
      // same numbers), so the same weights give KLD 0, not a rounding residue.
      double kl = 0.0;
      for (std::size_t j = 0; j < v; ++j) kl += (e[j] / sb.z) * ((double(b[j]) - lb) - (double(q[j]) - lq));
      s.kld = kl;
      s.same_top = argmax(q, v) == argmax(b, v);
      s.identical = std::memcmp(q, b, v * sizeof(float)) == 0;
    }
  });
}

/// The settings of a run, from the command line and the model.
struct run_options {
  std::string dir, file;
  ef::weight_type weights = ef::weight_type::f32;
  long context = 0, chunks = 0;
  bool kl_base = false;
};

/// Runs every chunk through @p model (and @p base when given) and prints the report.
template <class Model>
void measure(Model& model, Model* base, const std::vector<ef::token_id>& ids, const run_options& o) {
  const ef::index_t ctx = o.context, first = ctx / 2, n_scored = ctx - 1 - first;
  const ef::index_t vocab = model.vocab_size();
  const std::size_t chunks = std::size_t(o.chunks);
  // A tokenizer that does not belong to the model: said once, naming both, before any work.
  const auto top = std::max_element(ids.begin(), ids.end());
  if (*top >= vocab)
    ef::throw_error<ef::config_error>("perplexity", "token ids of the text",
                                      "ids below the model's vocabulary size " + std::to_string(vocab) +
                                          " (the folder's tokenizer and model disagree)",
                                      std::to_string(*top) + " at token " + std::to_string(top - ids.begin()), o.file);
  std::printf("model: %s (%s weights%s), text: %s, %zu tokens\n", o.dir.c_str(), ef::weight_type_name(o.weights),
              base ? "; base: the same folder at f32" : "", o.file.c_str(), ids.size());
  std::printf("%zu chunks of %ld tokens, the last %ld of each scored: %zu tokens scored\n", chunks, long(ctx),
              long(n_scored), chunks * std::size_t(n_scored));

  // Every buffer once, before the loop: the hidden states of a chunk, the logits of its scored
  // rows (the model's and the base's), a row of doubles per worker, the per-token results.
  ef::matrix hidden(ctx, model.d_model()), logits(n_scored, vocab), logits_base(base ? n_scored : 0, vocab);
  std::vector<double> scratch(base ? std::size_t(ef::num_threads()) * std::size_t(vocab) : 0);
  std::vector<scored> rows(static_cast<std::size_t>(n_scored));
  std::vector<double> klds;
  klds.reserve(base ? chunks * std::size_t(n_scored) : 0);
  const std::array<ef::index_t, 2> offsets{0, ctx};
  const auto run = [&](Model& m, ef::matrix& out, std::span<const ef::token_id> chunk) {
    m.forward(chunk, offsets, ef::view(hidden));
    m.logits(ef::rows(ef::as_const(ef::view(hidden)), first, n_scored), ef::view(out));
  };

  sums nll, nll_base, kld;
  double nll_x_base = 0.0;
  std::size_t count = 0, same_top = 0, identical = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::span<const ef::token_id> chunk(ids.data() + c * std::size_t(ctx), std::size_t(ctx));
    run(model, logits, chunk);
    if (base) run(*base, logits_base, chunk);
    score_rows(logits, base ? &logits_base : nullptr, chunk.subspan(std::size_t(first) + 1), scratch, rows);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const scored& s = rows[r];
      if (!s.finite)
        ef::throw_error<ef::numeric_error>("perplexity", "logits of chunk " + std::to_string(c) + " at position " +
                                           std::to_string(first + ef::index_t(r)), "finite values", "NaN or infinity");
      nll.add(s.nll);
      if (base) {
        nll_base.add(s.nll_base);
        nll_x_base += s.nll * s.nll_base;
        kld.add(s.kld);
        klds.push_back(s.kld);
        same_top += s.same_top;
        identical += s.identical;
      }
    }
    count += rows.size();
    std::printf("[%zu]%.4f,", c + 1, std::exp(nll.x / double(count)));
    std::fflush(stdout);
  }
  std::printf("\n");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "%zu chunks in %.2f s (%.0f tokens/s%s)\n", chunks, seconds,
               double(chunks) * double(ctx) * (base ? 2.0 : 1.0) / seconds, base ? ", both models" : "");

  const auto [mean_nll, se_nll] = mean_and_error(nll, count);
  const double ppl = std::exp(mean_nll);
  std::printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, ppl * se_nll);
  if (!base) return;

  // llama.cpp's --kl-divergence report: the same lines, the same formats.
  const auto [mean_nll_b, se_nll_b] = mean_and_error(nll_base, count);
  const double ppl_b = std::exp(mean_nll_b);
  const double cov = mean_covariance(nll.x, nll_base.x, nll_x_base, count);
  const double ln_ratio = mean_nll - mean_nll_b;
  const double ln_ratio_var = se_nll * se_nll + se_nll_b * se_nll_b - 2.0 * cov;
  const double ln_ratio_se = ln_ratio_var > 0.0 ? std::sqrt(ln_ratio_var) : 0.0;
  const double diff_var = ppl * ppl * se_nll * se_nll + ppl_b * ppl_b * se_nll_b * se_nll_b - 2.0 * ppl * ppl_b * cov;
  std::printf("\n====== Perplexity statistics ======\n");
  std::printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", ppl, ppl * se_nll);
  std::printf("Mean PPL(base)                : %10.6f ± %10.6f\n", ppl_b, ppl_b * se_nll_b);
  if (se_nll > 0.0 && se_nll_b > 0.0)
    std::printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * cov / (se_nll * se_nll_b));
  std::printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", ln_ratio, ln_ratio_se);
  std::printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", std::exp(ln_ratio), std::exp(ln_ratio) * ln_ratio_se);
  std::printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", ppl - ppl_b, diff_var > 0.0 ? std::sqrt(diff_var) : 0.0);

  std::sort(klds.begin(), klds.end());
  const auto [mean_kld, se_kld] = mean_and_error(kld, count);
  std::printf("\n====== KL divergence statistics ======\n");
  std::printf("Mean    KLD: %10.6f ± %10.6f\n", mean_kld, se_kld);
  std::printf("Maximum KLD: %10.6f\n", klds.back());
  std::printf("99.9%%   KLD: %10.6f\n", percentile(klds, 0.999));
  std::printf("99.0%%   KLD: %10.6f\n", percentile(klds, 0.99));
  std::printf("95.0%%   KLD: %10.6f\n", percentile(klds, 0.95));
  std::printf("90.0%%   KLD: %10.6f\n", percentile(klds, 0.90));
  std::printf("Median  KLD: %10.6f\n", median(klds));
  std::printf("10.0%%   KLD: %10.6f\n", percentile(klds, 0.10));
  std::printf(" 5.0%%   KLD: %10.6f\n", percentile(klds, 0.05));
  std::printf(" 1.0%%   KLD: %10.6f\n", percentile(klds, 0.01));
  std::printf("Minimum KLD: %10.6f\n", klds.front());

  const double p_top = double(same_top) / double(count);
  const double se_top = count > 1 ? std::sqrt(p_top * (1.0 - p_top) / double(count - 1)) : 0.0;
  std::printf("\n====== Token probability statistics ======\n");
  std::printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * p_top, 100.0 * se_top);
  // Not in llama.cpp's report: whether the two runs computed the very same numbers (they do when
  // --dtype is f32: the same weights through the same code).
  std::printf("Identical logits: %zu of %zu scored positions\n", identical, count);
}

}  // namespace

int main(int argc, char** argv) {
  run_options o;
  std::string dtype = "f32";
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bad_usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (a == "--model") o.dir = value();
    else if (a == "--file") o.file = value();
    else if (a == "--dtype") dtype = value();
    else if (a == "--context") o.context = integer(a, value(), min_context, std::numeric_limits<long>::max());
    else if (a == "--chunks") o.chunks = integer(a, value(), 1L, std::numeric_limits<long>::max());
    else if (a == "--kl-base") o.kl_base = true;
    else if (a == "--threads") threads = integer(a, value(), 1, std::numeric_limits<int>::max());
    else bad_usage("unknown argument '" + a + "'");
  }
  if (o.dir.empty()) bad_usage("--model DIR is required");
  if (o.file.empty()) bad_usage("--file TEXT is required");

  try {
    o.weights = ef::parse_weight_type(dtype, "--dtype");
    if (threads > 0 && ef::set_num_threads(threads) < threads)
      std::fprintf(stderr, "--threads %d: using %d, the most that can run here\n", threads, ef::num_threads());
    // The config first: a folder that is not a decoder is refused before anything is loaded.
    const long max_positions = std::visit(
        [&](const auto& c) -> long {
          using C = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<C, ef::io::bert_config> || std::is_same_v<C, ef::io::modernbert_config>)
            ef::throw_error<ef::config_error>("perplexity", "model_type", "a decoder: gpt2 or llama", "an encoder", o.dir);
          else if constexpr (std::is_same_v<C, ef::io::gpt2_config>) return long(c.n_positions);
          else return long(c.max_position_embeddings);
        },
        ef::io::read_config(o.dir));
    if (o.context == 0) o.context = std::min(max_positions, default_context);
    if (o.context < min_context || o.context > max_positions)
      bad_usage("--context: expected an integer in [" + std::to_string(min_context) + ", " + std::to_string(max_positions) +
                "] (" + std::to_string(max_positions) + " = the model's max positions), got " + std::to_string(o.context));

    auto tok = ef::tokenizers::any_tokenizer::from_folder(o.dir);
    const std::string text = ef::io::read_file(o.file);
    const std::vector<ef::token_id> ids = tok.encode(text, false);
    const long available = long(ids.size()) / o.context;
    if (available == 0)
      ef::throw_error<ef::config_error>("perplexity", "tokens of the text",
                                        "at least " + std::to_string(o.context) + " tokens (one chunk of --context " +
                                            std::to_string(o.context) + ")",
                                        std::to_string(ids.size()) + " tokens", o.file);
    o.chunks = o.chunks == 0 ? available : std::min(o.chunks, available);

    const auto t0 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "loading %s ...\n", o.dir.c_str());
    auto model = ef::models::load_model(o.dir, {.weights = o.weights});
    std::visit(
        [&](auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (ef::models::is_encoder_v<M>) {
            ef::throw_error<ef::config_error>("perplexity", "model_type", "a decoder: gpt2 or llama", "an encoder", o.dir);
          } else {
            std::optional<M> base;
            if (o.kl_base) base.emplace(M::load(o.dir, ef::load_options{}));
            std::fprintf(stderr, "loaded in %.2f s\n",
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            measure(m, base ? &*base : nullptr, ids, o);
          }
        },
        model);
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-perplexity: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-perplexity: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
