// simd::{layer_norm, rms_norm} and their ref twins against double-precision formulas.
#include <eigenformer/kernels/kernels.hpp>

#include "../support/check.hpp"
#include "../support/simd_width.hpp"

namespace k = eigenformer::kernels;
using namespace eftest;

namespace {

struct ln_case {
  std::vector<double> y;  // exact output
  std::vector<double> z;  // exact normalised value (x − mean)·rstd, the error's scale
};

ln_case layer_norm_double(const std::vector<float>& x, const float* g, const float* b, float eps_) {
  const std::size_t n = x.size();
  ln_case r{std::vector<double>(n), std::vector<double>(n)};
  double mean = 0.0, var = 0.0;
  for (float v : x) mean += v;
  mean /= double(n);
  for (float v : x) var += (v - mean) * (v - mean);
  const double rstd = 1.0 / std::sqrt(var / double(n) + eps_);
  for (std::size_t i = 0; i < n; ++i) {
    r.z[i] = (x[i] - mean) * rstd;
    r.y[i] = r.z[i] * (g ? g[i] : 1.0) + (b ? b[i] : 0.0);
  }
  return r;
}

// The normalised value z carries the summation error of the mean and of the variance (chain
// length L each) relative to its own scale, which is 1 + |z| standard deviations, plus a few
// roundings; the gain scales it and the bias adds one rounding.
double ln_tol(std::size_t chain, double z, double g, double b, double y) {
  return (double(chain) + 8.0) * eps * (1.0 + std::abs(z)) * std::abs(g) + eps * (std::abs(b) + std::abs(y));
}
}  // namespace

TEST_CASE("layer_norm: simd and ref against double, with and without gain/bias", "[kernels][norm]") {
  for (std::size_t n : test_lengths(W)) {
    if (n == 0) continue;
    for (std::size_t off = 0; off < 4; ++off) {
      for (float offset : {0.0f, 1000.0f}) {  // a large common offset tests the two-pass variance
        auto xv = uniform(n, -2.0f, 2.0f, 400 + n + off);
        for (auto& v : xv) v += offset;
        const auto gv = uniform(n, 0.5f, 1.5f, 401 + n), bv = uniform(n, -0.5f, 0.5f, 402 + n);
        for (bool affine : {false, true}) {
          const float* g = affine ? gv.data() : nullptr;
          const float* b = affine ? bv.data() : nullptr;
          const auto want = layer_norm_double(xv, g, b, 1e-5f);
          buffer x(xv, off), y(n, (off + 1) % 4);
          k::simd::layer_norm(x.data(), y.data(), n, g, b, 1e-5f);
          std::vector<float> r(n);
          k::ref::layer_norm(xv.data(), r.data(), n, g, b, 1e-5f);
          const std::size_t simd_chain = n / (2 * W) + 2 * W + 2;
          // |offset| / std of the data (≈ 1000 / 1.15) amplifies the rounding of x − mean.
          const double amp = 1.0 + double(offset);
          auto tol = [&](std::size_t chain) {
            return [&, chain](std::size_t i) {
              return amp * ln_tol(chain, want.z[i], g ? g[i] : 1.0, b ? b[i] : 0.0, want.y[i]);
            };
          };
          const std::string label = case_label(affine ? "layer_norm affine" : "layer_norm", n, off);
          require_close("simd " + label, y.to_vector(), want.y, tol(simd_chain));
          require_close("ref " + label, r, want.y, tol(n));
        }
      }
    }
  }
}

TEST_CASE("rms_norm: simd and ref against double", "[kernels][norm]") {
  for (std::size_t n : test_lengths(W)) {
    if (n == 0) continue;
    for (std::size_t off = 0; off < 4; ++off) {
      const auto xv = uniform(n, -3.0f, 3.0f, 500 + n + off), gv = uniform(n, 0.5f, 1.5f, 501 + n);
      for (bool with_gain : {false, true}) {
        const float* g = with_gain ? gv.data() : nullptr;
        double ms = 0.0;
        for (float v : xv) ms += double(v) * v;
        const double rstd = 1.0 / std::sqrt(ms / double(n) + 1e-6);
        std::vector<double> want(n);
        for (std::size_t i = 0; i < n; ++i) want[i] = xv[i] * rstd * (g ? g[i] : 1.0);
        buffer x(xv, off), y(n, (off + 3) % 4);
        k::simd::rms_norm(x.data(), y.data(), n, g, 1e-6f);
        std::vector<float> r(n);
        k::ref::rms_norm(xv.data(), r.data(), n, g, 1e-6f);
        // Sum of squares: L·eps relative (non-negative terms); then sqrt, reciprocal, 2 products.
        auto tol = [&](std::size_t chain) {
          return [&, chain](std::size_t i) { return (double(chain) + 6.0) * eps * std::abs(want[i]) + 1e-30; };
        };
        const std::string label = case_label(with_gain ? "rms_norm gain" : "rms_norm", n, off);
        require_close("simd " + label, y.to_vector(), want, tol(n / (2 * W) + 2 * W + 2));
        require_close("ref " + label, r, want, tol(n));
      }
    }
  }
}

TEST_CASE("norms: special values and degenerate rows", "[kernels][norm]") {
  const std::size_t n = 2 * W + 3;
  for (std::size_t pos : {std::size_t{0}, n / 2, n - 1}) {
    for (float bad : {f_nan, f_inf, -f_inf}) {
      auto x = uniform(n, -1.0f, 1.0f, 3);
      x[pos] = bad;
      std::vector<float> ys(n), yr(n), rs(n), rr(n);
      k::simd::layer_norm(x.data(), ys.data(), n, nullptr, nullptr, 1e-5f);
      k::ref::layer_norm(x.data(), yr.data(), n, nullptr, nullptr, 1e-5f);
      k::simd::rms_norm(x.data(), rs.data(), n, nullptr, 1e-6f);
      k::ref::rms_norm(x.data(), rr.data(), n, nullptr, 1e-6f);
      // A non-finite value poisons the mean (LayerNorm) or the mean square (RMSNorm): every
      // LayerNorm output is NaN, and both twins agree element for element on both norms.
      for (float v : ys) CHECK(std::isnan(v));
      require_same("layer_norm special", ys, yr);
      require_same("rms_norm special", rs, rr);
    }
  }
  // A constant row has zero variance: LayerNorm gives exactly the bias.
  std::vector<float> c(n, 3.5f), b = uniform(n, -1.0f, 1.0f, 8), y(n);
  k::simd::layer_norm(c.data(), y.data(), n, nullptr, b.data(), 1e-5f);
  require_same("constant row gives the bias", y, b);
  // In place works.
  auto x = uniform(n, -1.0f, 1.0f, 4);
  std::vector<float> want(n);
  k::ref::rms_norm(x.data(), want.data(), n, nullptr, 1e-6f);
  k::simd::rms_norm(x.data(), x.data(), n, nullptr, 1e-6f);
  require_close("rms_norm in place", x, to_double(want), [&](std::size_t i) { return 4 * eps * std::abs(double(want[i])); });
}
