// Mixture of experts against a naive per-token loop: same top-k choices, same output; empty
// experts, all tokens on one expert, ties, sigmoid scoring, shared expert, bad configurations.
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/ffn/moe.hpp>

#include "../support/check.hpp"

#include <optional>

namespace ef = eigenformer;
using namespace eftest;

namespace {

using expert = ef::ffn::swiglu;

std::vector<expert> make_experts(int n, ef::index_t d, ef::index_t h) {
  std::vector<expert> v;
  for (int i = 0; i < n; ++i) v.push_back(expert::random(d, h));
  return v;
}

struct naive_result {
  std::vector<float> out;
  std::vector<std::vector<ef::index_t>> chosen;  // per token, best first
};

// The obvious implementation: per token, score every expert in double, rank them (ties to the
// lower index), run each chosen expert on that one row, add it with its weight.
naive_result naive_moe(std::vector<expert> experts, const ef::ops::linear& router, const ef::matrix& x, ef::index_t k,
                       bool sigmoid, bool renorm, std::optional<expert> shared) {
  const ef::index_t t = x.rows(), d = x.cols(), e = ef::index_t(experts.size());
  naive_result res{std::vector<float>(std::size_t(t * d), 0.0f), {}};
  const ef::matrix rw = router.weight();
  for (ef::index_t r = 0; r < t; ++r) {
    const ef::matrix row = x.middleRows(r, 1);
    ef::matrix acc = ef::matrix::Zero(1, d), y(1, d);
    if (shared) {
      shared->forward(ef::view(row), ef::view(acc));
    }
    std::vector<double> s(static_cast<std::size_t>(e));
    double mx = -INFINITY, z = 0.0;
    for (ef::index_t j = 0; j < e; ++j) {
      s[std::size_t(j)] = row.row(0).cast<double>().dot(rw.col(j).cast<double>()) + (router.bias().size() ? router.bias()(j) : 0.0);
      mx = std::max(mx, s[std::size_t(j)]);
    }
    for (auto& v : s) v = sigmoid ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v - mx);
    for (auto v : s) z += v;
    if (!sigmoid)
      for (auto& v : s) v /= z;
    std::vector<ef::index_t> idx(static_cast<std::size_t>(e));
    for (ef::index_t j = 0; j < e; ++j) idx[std::size_t(j)] = j;
    std::stable_sort(idx.begin(), idx.end(), [&](ef::index_t a, ef::index_t b) { return s[std::size_t(a)] > s[std::size_t(b)]; });
    double wsum = 0.0;
    for (ef::index_t q = 0; q < k; ++q) wsum += s[std::size_t(idx[std::size_t(q)])];
    res.chosen.emplace_back(idx.begin(), idx.begin() + k);
    for (ef::index_t q = 0; q < k; ++q) {
      const ef::index_t j = idx[std::size_t(q)];
      experts[std::size_t(j)].forward(ef::view(row), ef::view(y));
      acc += float(s[std::size_t(j)] / (renorm ? wsum : 1.0)) * y;
    }
    std::copy(acc.data(), acc.data() + d, res.out.begin() + r * d);
  }
  return res;
}

void check_moe(const std::string& label, const ef::ops::linear& router, int n_experts, ef::ffn::moe_config cfg,
               bool with_shared, const ef::matrix& x, std::vector<ef::index_t> expect_counts = {}) {
  const ef::index_t d = x.cols();
  std::srand(11);
  auto experts = make_experts(n_experts, d, 48);
  std::optional<expert> shared;
  if (with_shared) shared = expert::random(d, 48);
  ef::ffn::moe<expert> moe(router, experts, cfg, shared);
  ef::matrix out(x.rows(), d);
  moe.forward(ef::view(x), ef::view(out));
  const auto want = naive_moe(experts, router, x, cfg.top_k, cfg.scoring == ef::ffn::router_scoring::sigmoid,
                              cfg.renormalize, shared);
  for (ef::index_t r = 0; r < x.rows(); ++r)
    for (ef::index_t q = 0; q < cfg.top_k; ++q) {
      INFO(label << " token " << r << " slot " << q);
      CHECK(moe.choice(r, q) == want.chosen[std::size_t(r)][std::size_t(q)]);
    }
  ef::index_t total = 0;
  for (auto c : moe.expert_counts()) total += c;
  CHECK(total == x.rows() * cfg.top_k);
  if (!expect_counts.empty())
    for (std::size_t j = 0; j < expect_counts.size(); ++j) {
      INFO(label << " expert " << j);
      CHECK(moe.expert_counts()[j] == expect_counts[j]);
    }
  double scale = 0.0;
  for (float v : want.out) scale = std::max(scale, std::abs(double(v)));
  // Same fp32 expert code on grouped rows vs one row at a time; the router in double vs float
  // only matters through the weights (relative 1e-6).
  std::vector<float> got(out.data(), out.data() + out.size());
  require_close(label, got, to_double(want.out), [&](std::size_t) { return 2e-6 * scale + 1e-7; });
}

}  // namespace

TEST_CASE("MoE against a naive per-token loop", "[ffn][moe]") {
  std::srand(5);
  const ef::index_t d = 32;
  const ef::matrix x = ef::matrix::Random(37, d);
  const auto router = ef::ops::linear::random(d, 8, true);
  check_moe("top-2 softmax, renormalised", router, 8, {2, ef::ffn::router_scoring::softmax, true}, false, x);
  check_moe("top-1 softmax (Switch)", router, 8, {1, ef::ffn::router_scoring::softmax, false}, false, x);
  check_moe("top-3 sigmoid + shared expert", router, 8, {3, ef::ffn::router_scoring::sigmoid, true}, true, x);

  // Expert 3 can never win (a huge negative bias): it receives no tokens.
  ef::vector starved_bias = router.bias();
  starved_bias(3) = -1e4f;
  const ef::ops::linear starved(router.weight(), starved_bias);
  check_moe("an expert with no tokens", starved, 8, {2, ef::ffn::router_scoring::softmax, true}, false, x);
  // A zero router with a bias favouring expert 5, then expert 1: every token picks the same pair.
  ef::vector same_bias = ef::vector::Zero(8);
  same_bias(5) = 3.0f;
  same_bias(1) = 2.0f;
  const ef::ops::linear same(ef::matrix::Zero(d, 8), same_bias);
  check_moe("all tokens on the same experts", same, 8, {2, ef::ffn::router_scoring::softmax, true}, false, x,
            {0, 37, 0, 0, 0, 37, 0, 0});
  // All scores equal: ties go to the lower index, deterministically.
  ef::ops::linear tie(ef::matrix::Zero(d, 8), ef::vector::Zero(8));
  // Built element by element: GCC 12.2 at -O3 -march=native turned the braced list
  // {37, 37, 0, 0, 0, 0, 0, 0} passed here into eight 37s (not at -O1, not with ASan).
  std::vector<ef::index_t> tie_counts(8, 0);
  tie_counts[0] = tie_counts[1] = 37;
  check_moe("ties to the lower index", tie, 8, {2, ef::ffn::router_scoring::softmax, true}, false, x, tie_counts);
}

TEST_CASE("MoE rejects bad configurations", "[ffn][moe][errors]") {
  const auto router = ef::ops::linear::random(16, 4);
  CHECK_THROWS_WITH(ef::ffn::moe<expert>(router, make_experts(4, 16, 32), {5}),
                    "[eigenformer.ffn.moe] top_k: expected 1..4 (the number of experts), got 5");
  CHECK_THROWS_AS(ef::ffn::moe<expert>(router, make_experts(3, 16, 32)), ef::shape_error);
  CHECK_THROWS_AS(ef::ffn::moe<expert>(router, make_experts(4, 24, 32)), ef::shape_error);
  CHECK_THROWS_AS(ef::ffn::moe<expert>(router, {}), ef::config_error);
}
