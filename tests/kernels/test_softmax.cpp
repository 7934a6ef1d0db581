// simd::softmax and ref::softmax against a double-precision softmax.
#include <eigenformer/kernels/kernels.hpp>

#include "../support/check.hpp"
#include "../support/simd_width.hpp"

namespace k = eigenformer::kernels;
using namespace eftest;

namespace {

std::vector<double> softmax_double(const std::vector<float>& x) {
  std::vector<double> y(x.size());
  if (x.empty()) return y;
  double m = -INFINITY;
  for (float v : x) m = std::max<double>(m, v);
  double s = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) s += (y[i] = std::exp(double(x[i]) - m));
  for (auto& v : y) v /= s;
  return y;
}

// Each output is e_i / Σ e_j. The argument x_i − m is rounded (half an ulp of |x_i − m|, which exp
// turns into that much relative error), the exps carry ≤ 2 ulp (ref: std::exp, 0.5 ulp), the sum
// of L non-negative terms carries ≤ L·eps relative, the reciprocal and the product one rounding
// each. L = n for ref, n/(2W) + 2W + 2 for simd (two lane accumulators + lanes + tail).
double softmax_tol(std::size_t chain, double y, double dist) {
  return (0.5 * dist + double(chain) + 6.0) * eps * y + 1e-44;
}
std::vector<double> dist_to_max(const std::vector<float>& x) {
  float m = -INFINITY;
  for (float v : x) m = std::max(m, v);
  std::vector<double> d(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) d[i] = std::isfinite(x[i]) ? double(m) - x[i] : 0.0;
  return d;
}
}  // namespace

TEST_CASE("softmax: simd and ref against double, every length and misalignment", "[kernels][softmax]") {
  for (std::size_t n : test_lengths(W)) {
    for (std::size_t off = 0; off < 4; ++off) {
      for (float spread : {1.0f, 30.0f}) {
        const auto xv = uniform(n, -spread, spread, 300 + n + off);
        const auto want = softmax_double(xv);
        const auto dist = dist_to_max(xv);
        buffer x(xv, off);
        k::simd::softmax(x.data(), n);
        require_close(case_label("simd softmax", n, off), x.to_vector(), want,
                      [&](std::size_t i) { return softmax_tol(n / (2 * W) + 2 * W + 2, want[i], dist[i]); });
        auto r = xv;
        k::ref::softmax(r.data(), n);
        require_close(case_label("ref softmax", n, off), r, want,
                      [&](std::size_t i) { return softmax_tol(n, want[i], dist[i]); });
      }
    }
  }
}

TEST_CASE("softmax: large logits and large negatives", "[kernels][softmax]") {
  for (std::size_t n : {std::size_t{3}, W + 3, 3 * W + 1}) {
    for (float big : {1e30f, -1e30f, 3e38f, 1e4f}) {
      // One large logit among small ones: it takes all the mass (or, if negative, none).
      std::vector<float> x = uniform(n, -1.0f, 1.0f, 5);
      x[n / 2] = big;
      const auto want = softmax_double(x);
      const auto dist = dist_to_max(x);
      auto s = x, r = x;
      k::simd::softmax(s.data(), n);
      k::ref::softmax(r.data(), n);
      const auto tol = [&](std::size_t i) { return softmax_tol(n, want[i], dist[i]); };
      require_close("simd softmax with a large logit", s, want, tol);
      require_close("ref softmax with a large logit", r, want, tol);
    }
  }
}

TEST_CASE("softmax: special-value rules shared by simd and ref", "[kernels][softmax]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{5}, W, 2 * W + 3, 4 * W + 1}) {
    for (std::size_t pos : {std::size_t{0}, n / 2, n - 1}) {
      SECTION("n=" + std::to_string(n) + " pos=" + std::to_string(pos)) {
        auto check_both = [&](std::vector<float> x, auto&& expect) {
          auto s = x, r = x;
          k::simd::softmax(s.data(), n);
          k::ref::softmax(r.data(), n);
          expect(s);
          expect(r);
        };
        // NaN anywhere: the whole row is NaN.
        std::vector<float> x = uniform(n, -1.0f, 1.0f, 9);
        x[pos] = f_nan;
        check_both(x, [](const std::vector<float>& y) {
          for (float v : y) CHECK(std::isnan(v));
        });
        // A fully masked row (all -inf) becomes zeros.
        check_both(std::vector<float>(n, -f_inf), [](const std::vector<float>& y) {
          for (float v : y) CHECK(v == 0.0f);
        });
        // Masked entries get exactly 0 and the rest still sums to 1.
        x = uniform(n, -1.0f, 1.0f, 10);
        std::fill(x.begin(), x.begin() + pos, -f_inf);
        check_both(x, [&](const std::vector<float>& y) {
          double s = 0.0;
          for (std::size_t i = 0; i < n; ++i) {
            if (i < pos) CHECK(y[i] == 0.0f);
            s += y[i];
          }
          CHECK(std::abs(s - 1.0) <= double(n + 6) * eps);
        });
        // +inf: inf − inf is NaN, as in PyTorch.
        x = uniform(n, -1.0f, 1.0f, 11);
        x[pos] = f_inf;
        check_both(x, [](const std::vector<float>& y) {
          for (float v : y) CHECK(std::isnan(v));
        });
      }
    }
  }
  float* none = nullptr;
  k::simd::softmax(none, 0);  // an empty row is a no-op
  k::ref::softmax(none, 0);
  SUCCEED("empty rows are no-ops");
}

TEST_CASE("online_softmax_step: a row fed in chunks gives the softmax of the whole row", "[kernels][softmax]") {
  // The caller's side of FlashAttention: the accumulator acc = Σ_j p_j·v_j, rescaled by α at
  // every chunk, divided by l at the end, must equal the softmax-weighted sum in double.
  using step_fn = float (*)(float*, std::size_t, float&, float&);
  for (auto [name, step] : {std::pair<const char*, step_fn>{"simd", k::simd::online_softmax_step},
                            std::pair<const char*, step_fn>{"ref", k::ref::online_softmax_step}}) {
    for (std::size_t n : {std::size_t{1}, std::size_t{7}, 3 * W + 1, std::size_t{300}}) {
      for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, W, std::size_t{64}}) {
        auto x = uniform(n, -20.0f, 20.0f, 700 + n);
        const auto v = uniform(n, -1.0f, 1.0f, 701 + n);
        for (std::size_t i = 0; i < n; i += 3) x[i] = -f_inf;  // masked keys, some whole chunks
        x[n / 2] = 1.0f;                                        // at least one key is visible
        const auto p = softmax_double(x);
        double want = 0.0;
        for (std::size_t i = 0; i < n; ++i) want += p[i] * v[i];
        float m = -f_inf, l = 0.0f, acc = 0.0f;
        for (std::size_t c = 0; c < n; c += chunk) {
          const std::size_t len = std::min(chunk, n - c);
          std::vector<float> s(x.begin() + long(c), x.begin() + long(c + len));
          const float alpha = step(s.data(), len, m, l);
          acc *= alpha;
          for (std::size_t j = 0; j < len; ++j) acc += s[j] * v[c + j];
        }
        INFO(name << " n=" << n << " chunk=" << chunk << " got " << acc / l << " want " << want);
        // Σ p·|v| ≤ 1 bounds the scale; the chunked sums and rescalings add ~n/chunk + chunk roundings.
        CHECK(std::abs(double(acc / l) - want) <= double(n + 32) * 4 * eps);
      }
    }
    float m = -f_inf, l = 0.0f;
    std::vector<float> masked(5, -f_inf);
    CHECK(step(masked.data(), 5, m, l) == 1.0f);  // an all-masked chunk changes nothing
    CHECK(l == 0.0f);
    CHECK(m == -f_inf);
    for (float e : masked) CHECK(e == 0.0f);
  }
}
