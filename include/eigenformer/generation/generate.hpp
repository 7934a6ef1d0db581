#pragma once
/// @file
/// The generate loop for decoder-only models (models::gpt2, models::llama or anything with
/// their prefill / step / logits API): a batch of prompts of different lengths prefilled as one
/// packed batch, then one token per sequence per step through the caches, each sequence with its
/// own seeded generator (so a prompt gives the same text alone or in a batch); stop tokens,
/// a token budget, a per-token callback for streaming, and prefill / decode timings. Beam search
/// (width, length penalty, early stopping) for one prompt at a time.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/generation/sampling.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <utility>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace eigenformer::generation {

struct generate_options {
  sampling_options sampling;
  int max_tokens = 64;                ///< new tokens per sequence at most
  std::vector<token_id> stop_tokens;  ///< a sequence ends after emitting one of these (it is kept)
  int beams = 1;                      ///< > 1: beam search (temperature etc. are then unused)
  float length_penalty = 1.0f;        ///< beam score = sum log p / length^length_penalty
  bool early_stopping = true;         ///< beam search stops once `beams` hypotheses have ended

  /// The widest beam search: each step keeps 2·beams candidates per beam and reorders the
  /// caches of every beam, so the cost grows with beams² (20,000 beams: gigabytes for 3 tokens).
  static constexpr int max_beams = 256;

  void validate() const {
    sampling.validate();
    if (max_tokens < 1) throw_error<config_error>("generation", "max_tokens", "an integer >= 1", std::to_string(max_tokens));
    if (beams < 1 || beams > max_beams)
      throw_error<config_error>("generation", "beams", "an integer in [1, " + std::to_string(max_beams) + "]", std::to_string(beams));
    if (!std::isfinite(length_penalty))
      throw_error<config_error>("generation", "length_penalty", "a finite number", format_number(length_penalty));
  }
};

struct generation_stats {
  index_t prefill_tokens = 0, decode_tokens = 0;
  double prefill_seconds = 0.0, decode_seconds = 0.0;
  double prefill_tokens_per_second() const noexcept { return prefill_seconds > 0 ? double(prefill_tokens) / prefill_seconds : 0.0; }
  double decode_tokens_per_second() const noexcept { return decode_seconds > 0 ? double(decode_tokens) / decode_seconds : 0.0; }
};

struct generate_result {
  std::vector<std::vector<token_id>> tokens;  ///< per prompt: the generated tokens only
  std::vector<double> log_probs;              ///< per prompt: Σ log p of the generated tokens (model's distribution)
  generation_stats stats;
};

/// Called for every new token: (prompt index, token id).
using token_callback = std::function<void(std::size_t, token_id)>;

namespace detail {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class Model>
void check_prompts(const Model& m, const std::vector<std::vector<token_id>>& prompts, const generate_options& o) {
  if (prompts.empty()) throw_error<config_error>("generation", "prompts", "at least one", "none");
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty())
      throw_error<config_error>("generation", "prompt " + std::to_string(i), "at least one token", "none");
    if (index_t(prompts[i].size()) + o.max_tokens > m.max_positions())
      throw_error<config_error>("generation", "prompt " + std::to_string(i) + " length + max_tokens",
                                "at most " + std::to_string(m.max_positions()) + " (the model's positions)",
                                std::to_string(prompts[i].size() + std::size_t(o.max_tokens)));
  }
}

template <class Model>
generate_result sample_loop(Model& m, const std::vector<std::vector<token_id>>& prompts, const generate_options& o,
                            const token_callback& on_token) {
  const std::size_t batch = prompts.size();
  const index_t d = m.d_model(), vocab = m.vocab_size();
  index_t longest = 0;
  std::vector<token_id> ids;
  std::vector<index_t> offsets = {0};
  for (const auto& p : prompts) {
    ids.insert(ids.end(), p.begin(), p.end());
    offsets.push_back(offsets.back() + index_t(p.size()));
    longest = std::max(longest, index_t(p.size()));
  }
  generate_result res;
  res.tokens.resize(batch);
  res.log_probs.assign(batch, 0.0);
  auto cache = m.make_cache(index_t(batch), longest + o.max_tokens);

  const auto t0 = std::chrono::steady_clock::now();
  matrix hidden(index_t(ids.size()), d), last(index_t(batch), d), logits(index_t(batch), vocab);
  m.prefill(ids, offsets, view(hidden), cache);
  for (std::size_t s = 0; s < batch; ++s) last.row(index_t(s)) = hidden.row(offsets[s + 1] - 1);
  m.logits(view(std::as_const(last)), view(logits));
  res.stats.prefill_tokens = index_t(ids.size());
  res.stats.prefill_seconds = seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  std::vector<rng> gens(batch, rng(o.sampling.seed));
  std::vector<bool> done(batch, false);
  std::vector<token_id> history, next(batch, 0);
  std::vector<double> lp;
  std::vector<float> row(static_cast<std::size_t>(vocab));
  for (int step = 0; step < o.max_tokens; ++step) {
    for (std::size_t s = 0; s < batch; ++s) {
      if (done[s]) continue;
      std::copy(logits.row(index_t(s)).data(), logits.row(index_t(s)).data() + vocab, row.begin());
      check_finite(row, "logits of sequence " + std::to_string(s) + " at step " + std::to_string(step));
      log_softmax(row, lp);
      history.assign(prompts[s].begin(), prompts[s].end());
      history.insert(history.end(), res.tokens[s].begin(), res.tokens[s].end());
      const token_id t = sample(row, history, o.sampling, gens[s]);
      next[s] = t;
      res.tokens[s].push_back(t);
      res.log_probs[s] += lp[std::size_t(t)];
      if (on_token) on_token(s, t);
      if (std::find(o.stop_tokens.begin(), o.stop_tokens.end(), t) != o.stop_tokens.end()) done[s] = true;
    }
    if (std::all_of(done.begin(), done.end(), [](bool b) { return b; }) || step + 1 == o.max_tokens) break;
    // Finished sequences keep stepping on their last token (their outputs are ignored): the
    // batch keeps its shape and the other sequences are unaffected.
    m.step(next, view(last), cache);
    m.logits(view(std::as_const(last)), view(logits));
    res.stats.decode_tokens += index_t(std::count(done.begin(), done.end(), false));
  }
  res.stats.decode_seconds = seconds_since(t1);
  return res;
}

template <class Model>
generate_result beam_search(Model& m, const std::vector<token_id>& prompt, const generate_options& o,
                            const token_callback& on_token, std::size_t prompt_index) {
  const index_t w = o.beams, d = m.d_model(), vocab = m.vocab_size();
  const index_t n = index_t(prompt.size());
  generate_result res;
  auto cache = m.make_cache(w, n + o.max_tokens);
  const auto t0 = std::chrono::steady_clock::now();
  // Every beam starts from the same prompt (prefilled once per beam, one packed batch).
  std::vector<token_id> ids;
  std::vector<index_t> offsets = {0};
  for (index_t b = 0; b < w; ++b) {
    ids.insert(ids.end(), prompt.begin(), prompt.end());
    offsets.push_back(offsets.back() + n);
  }
  matrix hidden(index_t(ids.size()), d), last(w, d), logits(w, vocab);
  m.prefill(ids, offsets, view(hidden), cache);
  for (index_t b = 0; b < w; ++b) last.row(b) = hidden.row(offsets[std::size_t(b) + 1] - 1);
  m.logits(view(std::as_const(last)), view(logits));
  res.stats.prefill_tokens = n;
  res.stats.prefill_seconds = seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  struct hypothesis {
    std::vector<token_id> tokens;
    double log_prob, score;
  };
  std::vector<std::vector<token_id>> beams(static_cast<std::size_t>(w));
  std::vector<double> beam_lp(static_cast<std::size_t>(w), -std::numeric_limits<double>::infinity());
  beam_lp[0] = 0.0;  // only one live beam at first: the others would duplicate it
  std::vector<hypothesis> finished;
  auto norm = [&](double lp, std::size_t len) { return lp / std::pow(double(len), double(o.length_penalty)); };
  std::vector<double> lp;
  std::vector<float> row(static_cast<std::size_t>(vocab));
  for (int step = 0; step < o.max_tokens; ++step) {
    struct cand {
      double lp;
      index_t beam;
      token_id tok;
    };
    std::vector<cand> cands;
    for (index_t b = 0; b < w; ++b) {
      if (!std::isfinite(beam_lp[std::size_t(b)])) continue;
      std::copy(logits.row(b).data(), logits.row(b).data() + vocab, row.begin());
      check_finite(row, "logits of beam " + std::to_string(b) + " at step " + std::to_string(step));
      log_softmax(row, lp);
      // The 2w best continuations of each beam are enough: at most w of them can be stops.
      std::vector<token_id> order(static_cast<std::size_t>(vocab));
      for (index_t i = 0; i < vocab; ++i) order[std::size_t(i)] = token_id(i);
      const std::size_t k = std::min<std::size_t>(std::size_t(2 * w), order.size());
      std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                        [&](token_id a, token_id c) { return lp[std::size_t(a)] > lp[std::size_t(c)] || (lp[std::size_t(a)] == lp[std::size_t(c)] && a < c); });
      for (std::size_t i = 0; i < k; ++i) cands.push_back({beam_lp[std::size_t(b)] + lp[std::size_t(order[i])], b, order[i]});
    }
    std::stable_sort(cands.begin(), cands.end(), [](const cand& a, const cand& c) { return a.lp > c.lp; });
    std::vector<std::vector<token_id>> next_beams;
    std::vector<double> next_lp;
    std::vector<index_t> src;
    std::vector<token_id> next_tok;
    for (const auto& c : cands) {
      if (index_t(next_beams.size()) == w) break;
      auto toks = beams[std::size_t(c.beam)];
      toks.push_back(c.tok);
      if (std::find(o.stop_tokens.begin(), o.stop_tokens.end(), c.tok) != o.stop_tokens.end()) {
        finished.push_back({toks, c.lp, norm(c.lp, toks.size())});
        continue;
      }
      next_beams.push_back(std::move(toks));
      next_lp.push_back(c.lp);
      src.push_back(c.beam);
      next_tok.push_back(c.tok);
    }
    const bool last_step = step + 1 == o.max_tokens;
    if ((o.early_stopping && index_t(finished.size()) >= w) || next_beams.empty() || last_step) {
      for (std::size_t i = 0; i < next_beams.size(); ++i)
        finished.push_back({next_beams[i], next_lp[i], norm(next_lp[i], next_beams[i].size())});
      break;
    }
    while (index_t(next_beams.size()) < w) {  // fewer live candidates than beams: pad with dead ones
      next_beams.push_back(next_beams.front());
      next_lp.push_back(-std::numeric_limits<double>::infinity());
      src.push_back(src.front());
      next_tok.push_back(next_tok.front());
    }
    beams = std::move(next_beams);
    beam_lp = std::move(next_lp);
    m.reorder_cache(cache, src);
    m.step(next_tok, view(last), cache);
    m.logits(view(std::as_const(last)), view(logits));
    res.stats.decode_tokens += w;
  }
  res.stats.decode_seconds = seconds_since(t1);
  if (finished.empty())  // cannot happen with finite logits (checked above); never read an empty list
    throw_error<numeric_error>("generation", "beam search", "at least one hypothesis", "none");
  const auto best = std::max_element(finished.begin(), finished.end(),
                                     [](const hypothesis& a, const hypothesis& b) { return a.score < b.score; });
  res.tokens.push_back(best->tokens);
  res.log_probs.push_back(best->log_prob);
  if (on_token)
    for (token_id t : best->tokens) on_token(prompt_index, t);
  return res;
}

}  // namespace detail

/// Generates for each prompt (packed as one batch). Throws config_error for bad options or
/// prompts that do not fit the model's positions; token ids are checked by the model.
/// With beams > 1 each prompt runs its own beam search (the callback then receives the best
/// hypothesis once it is known).
template <class Model>
generate_result generate(Model& model, const std::vector<std::vector<token_id>>& prompts, const generate_options& o,
                         const token_callback& on_token = {}) {
  o.validate();
  detail::check_prompts(model, prompts, o);
  if (o.beams == 1) return detail::sample_loop(model, prompts, o, on_token);
  generate_result all;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto r = detail::beam_search(model, prompts[i], o, on_token, i);
    all.tokens.push_back(std::move(r.tokens.front()));
    all.log_probs.push_back(r.log_probs.front());
    all.stats.prefill_tokens += r.stats.prefill_tokens;
    all.stats.decode_tokens += r.stats.decode_tokens;
    all.stats.prefill_seconds += r.stats.prefill_seconds;
    all.stats.decode_seconds += r.stats.decode_seconds;
  }
  return all;
}

}  // namespace eigenformer::generation
