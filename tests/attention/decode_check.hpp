#pragma once
// Prefill + decode against one full prefill: the invariant every decodable variant must keep.
#include <eigenformer/attention/multi_head.hpp>

#include "../support/check.hpp"

namespace eftest {
namespace ea = eigenformer::attention;
namespace ef = eigenformer;
// Prefill the first prompt[i] tokens of each sequence, decode the rest one token per step (all
// sequences in one batch, at different positions), and compare every output row with a single
// full prefill of the whole sequences.
inline ef::matrix random_matrix(ef::index_t rows, ef::index_t cols, unsigned seed) {
  std::srand(seed);
  return ef::matrix::Random(rows, cols);
}

template <class Variant>
void check_prefill_then_decode(const std::string& label, ea::attention_config c, const Variant& variant,
                               std::vector<ef::index_t> prompt, ef::index_t steps, double rel = 2e-6) {
  const auto w = ea::attention_weights::random(c, 11);
  ea::multi_head_attention<Variant> mha(c, w, variant);
  const ef::index_t batch = ef::index_t(prompt.size());
  std::vector<ef::index_t> full_off = {0}, prompt_off = {0};
  for (auto p : prompt) {
    full_off.push_back(full_off.back() + p + steps);
    prompt_off.push_back(prompt_off.back() + p);
  }
  const ef::matrix x = random_matrix(full_off.back(), c.d_model, 5);
  ef::matrix full(x.rows(), c.d_model);
  mha.forward(ef::view(x), full_off, ef::view(full));

  ef::matrix xp(prompt_off.back(), c.d_model), outp(prompt_off.back(), c.d_model);
  for (ef::index_t s = 0; s < batch; ++s)
    xp.middleRows(prompt_off[std::size_t(s)], prompt[std::size_t(s)]) = x.middleRows(full_off[std::size_t(s)], prompt[std::size_t(s)]);
  ef::index_t longest = 0;
  for (auto p : prompt) longest = std::max(longest, p + steps);
  auto cache = mha.make_cache(batch, std::max<ef::index_t>(512, longest));
  mha.prefill(ef::view(xp), prompt_off, ef::view(outp), cache);
  std::vector<float> got, want_f;
  for (ef::index_t s = 0; s < batch; ++s)
    for (ef::index_t r = 0; r < prompt[std::size_t(s)]; ++r)
      for (ef::index_t c2 = 0; c2 < c.d_model; ++c2) {
        got.push_back(outp(prompt_off[std::size_t(s)] + r, c2));
        want_f.push_back(full(full_off[std::size_t(s)] + r, c2));
      }
  for (ef::index_t step = 0; step < steps; ++step) {
    ef::matrix xs(batch, c.d_model), os(batch, c.d_model);
    for (ef::index_t s = 0; s < batch; ++s) xs.row(s) = x.row(full_off[std::size_t(s)] + prompt[std::size_t(s)] + step);
    mha.decode(ef::view(xs), ef::view(os), cache);
    for (ef::index_t s = 0; s < batch; ++s) {
      CHECK(cache.lengths[std::size_t(s)] == prompt[std::size_t(s)] + step + 1);
      for (ef::index_t c2 = 0; c2 < c.d_model; ++c2) {
        got.push_back(os(s, c2));
        want_f.push_back(full(full_off[std::size_t(s)] + prompt[std::size_t(s)] + step, c2));
      }
    }
  }
  // Same fp32 math in a different order (tiles vs one row): a few ulp of the output scale by
  // default; the linear variants sum chunked prefixes vs a running state (rel given by caller).
  double scale = 0.0;
  for (float v : want_f) scale = std::max(scale, std::abs(double(v)));
  require_close(label, got, to_double(want_f), [&](std::size_t) { return rel * scale + 1e-7; });
}

}  // namespace eftest
