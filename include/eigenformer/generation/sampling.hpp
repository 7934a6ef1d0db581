#pragma once
/// @file
/// Choosing the next token from a row of logits: repetition penalty, then temperature, top-k,
/// top-p and min-p (the order of Hugging Face's logits processors), then a draw from a seeded
/// generator; temperature 0 is greedy (arg-max, ties to the lower id).
///     logits: [vocab] -> token id

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace eigenformer::generation {

struct sampling_options {
  float temperature = 1.0f;         ///< 0: greedy; otherwise logits are divided by it
  int top_k = 0;                    ///< keep the k most likely tokens (0: off)
  float top_p = 1.0f;               ///< keep the smallest most-likely set with probability >= p (1: off)
  float min_p = 0.0f;               ///< keep tokens with probability >= min_p · the largest (0: off)
  float repetition_penalty = 1.0f;  ///< CTRL: a seen token's logit is divided by it if > 0, else multiplied
  std::uint64_t seed = 0;

  bool greedy() const noexcept { return temperature == 0.0f; }
  /// Throws config_error naming the first field out of range.
  void validate() const {
    const char* where = "generation.sampling";
    if (!(temperature >= 0.0f) || !std::isfinite(temperature))
      throw_error<config_error>(where, "temperature", "a finite number >= 0", format_number(temperature));
    if (top_k < 0) throw_error<config_error>(where, "top_k", "an integer >= 0", std::to_string(top_k));
    if (!(top_p > 0.0f && top_p <= 1.0f)) throw_error<config_error>(where, "top_p", "a number in (0, 1]", format_number(top_p));
    if (!(min_p >= 0.0f && min_p <= 1.0f)) throw_error<config_error>(where, "min_p", "a number in [0, 1]", format_number(min_p));
    if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty))
      throw_error<config_error>(where, "repetition_penalty", "a finite number > 0", format_number(repetition_penalty));
  }
};

/// A reproducible generator: the same seed gives the same draws on every platform
/// (std::mt19937_64 and 53-bit uniforms; no implementation-defined distributions).
class rng {
 public:
  explicit rng(std::uint64_t seed) : g_(seed) {}
  /// Uniform in [0, 1).
  double uniform() noexcept { return double(g_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 g_;
};

/// Applies the repetition penalty in place over the distinct tokens of @p history.
inline void apply_repetition_penalty(std::span<float> logits, std::span<const token_id> history, float penalty) {
  if (penalty == 1.0f) return;
  std::vector<bool> seen(logits.size(), false);
  for (token_id t : history) {
    if (t < 0 || std::size_t(t) >= logits.size() || seen[std::size_t(t)]) continue;
    seen[std::size_t(t)] = true;
    float& l = logits[std::size_t(t)];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

/// The candidates that survive temperature, top-k, top-p and min-p, most likely first, with
/// their renormalised probabilities. (Exposed so that tests can check the kept sets.)
struct candidates {
  std::vector<token_id> ids;
  std::vector<double> probs;
};

inline candidates filter(std::span<const float> logits, const sampling_options& o) {
  candidates c;
  const std::size_t n = logits.size();
  std::vector<token_id> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Most likely first; equal logits by lower id (deterministic).
  std::stable_sort(order.begin(), order.end(), [&](token_id a, token_id b) { return logits[std::size_t(a)] > logits[std::size_t(b)]; });
  std::size_t keep = n;
  if (o.top_k > 0) keep = std::min<std::size_t>(keep, std::size_t(o.top_k));
  const double t = o.temperature > 0.0f ? o.temperature : 1.0;
  const double mx = n ? double(logits[std::size_t(order[0])]) / t : 0.0;
  std::vector<double> p(keep);
  double z = 0.0;
  for (std::size_t i = 0; i < keep; ++i) z += p[i] = std::exp(double(logits[std::size_t(order[i])]) / t - mx);
  for (auto& v : p) v /= z;
  // top-p: the shortest prefix whose probability reaches p.
  if (o.top_p < 1.0f) {
    double cum = 0.0;
    std::size_t i = 0;
    while (i < keep) {
      cum += p[i++];
      if (cum >= double(o.top_p)) break;
    }
    keep = std::max<std::size_t>(i, 1);
  }
  // min-p: relative to the most likely token.
  if (o.min_p > 0.0f) {
    std::size_t i = 1;
    while (i < keep && p[i] >= double(o.min_p) * p[0]) ++i;
    keep = i;
  }
  double kept = 0.0;
  for (std::size_t i = 0; i < keep; ++i) kept += p[i];
  for (std::size_t i = 0; i < keep; ++i) {
    c.ids.push_back(order[i]);
    c.probs.push_back(p[i] / kept);
  }
  return c;
}

/// Throws numeric_error unless every logit is finite: no token can be chosen from NaN or
/// infinite logits (a model that overflowed), and greedy, sampling and beam search would each
/// choose differently, or crash. @p what names the row ("logits of sequence 0 at step 3").
inline void check_finite(std::span<const float> logits, const std::string& what) {
  for (std::size_t i = 0; i < logits.size(); ++i)
    if (!std::isfinite(logits[i]))
      throw_error<numeric_error>("generation", what, "finite values",
                                 (std::isnan(logits[i]) ? std::string("NaN") : logits[i] > 0 ? std::string("+inf") : std::string("-inf")) +
                                     " at token id " + std::to_string(i));
  if (logits.empty()) throw_error<shape_error>("generation", what, "at least one logit", "none");
}

/// The next token. @p logits is modified (repetition penalty). @p history: prompt and generated
/// tokens so far. Throws numeric_error when a logit is not finite (check_finite).
inline token_id sample(std::span<float> logits, std::span<const token_id> history, const sampling_options& o, rng& r) {
  check_finite(logits, "logits");
  apply_repetition_penalty(logits, history, o.repetition_penalty);
  if (o.greedy() || o.top_k == 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < logits.size(); ++i)
      if (logits[i] > logits[best]) best = i;
    return token_id(best);
  }
  const candidates c = filter(logits, o);
  const double u = r.uniform();
  double cum = 0.0;
  for (std::size_t i = 0; i < c.ids.size(); ++i) {
    cum += c.probs[i];
    if (u < cum) return c.ids[i];
  }
  return c.ids.back();
}

/// log-softmax of a row (for beam scores).
inline void log_softmax(std::span<const float> logits, std::vector<double>& out) {
  out.resize(logits.size());
  double mx = -std::numeric_limits<double>::infinity();
  for (float l : logits) mx = std::max(mx, double(l));
  double z = 0.0;
  for (float l : logits) z += std::exp(double(l) - mx);
  const double lz = mx + std::log(z);
  for (std::size_t i = 0; i < logits.size(); ++i) out[i] = double(logits[i]) - lz;
}

}  // namespace eigenformer::generation
