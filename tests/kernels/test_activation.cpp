// simd::{exp, sigmoid, silu, gelu_erf, gelu_tanh, relu} against their ref twins.
#include <eigenformer/kernels/kernels.hpp>

#include "../support/check.hpp"
#include "../support/simd_width.hpp"

namespace k = eigenformer::kernels;
using namespace eftest;

namespace {
using kernel_fn = void (*)(const float*, float*, std::size_t);

// Runs simd and ref over every test length and misalignment, random values in [lo, hi] with the
// special values sprinkled in, and hands each pair of outputs to `compare`.
template <class Compare>
void sweep(const char* name, kernel_fn simd_fn, kernel_fn ref_fn, float lo, float hi,
           Compare compare) {
  for (std::size_t n : test_lengths(W)) {
    for (std::size_t off = 0; off < 4; ++off) {
      const auto xv = with_specials(uniform(n, lo, hi, 100 + n), 200 + n + off);
      buffer x(xv, off), out(n, (off + 1) % 4);
      std::vector<float> want(n);
      simd_fn(x.data(), out.data(), n);
      ref_fn(xv.data(), want.data(), n);
      compare(case_label(name, n, off), xv, out.to_vector(), want);
    }
  }
}

// |got − want| ≤ ulps, counted in units in the last place (subnormals included).
void require_ulps(const std::string& label, const std::vector<float>& got,
                  const std::vector<float>& want, std::int64_t ulps) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]) || std::isinf(want[i])) {
      if (!same_value(got[i], want[i])) FAIL(label << " [" << i << "] got " << got[i] << " want " << want[i]);
      continue;
    }
    if (std::isnan(got[i]) || ulp_distance(got[i], want[i]) > ulps)
      FAIL(label << " [" << i << "] got " << got[i] << " want " << want[i] << ": "
                 << ulp_distance(got[i], want[i]) << " ulp > " << ulps);
  }
  SUCCEED(label);
}
}  // namespace

TEST_CASE("exp: within 2 ulp of std::exp over the whole float range it can reach", "[kernels][exp]") {
  // Every 997th float bit pattern in [-104, 89] (2.2 million values, spread over every binade
  // from the smallest subnormal input to the overflow threshold), then the boundaries: overflow
  // to inf above 88.7228, 0 below -103.97, subnormal results in between.
  std::vector<float> xs;
  auto bits_of = [](float f) { std::uint32_t u; std::memcpy(&u, &f, 4); return u; };
  auto from_bits = [](std::uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; };
  for (std::uint32_t u = 0; u <= bits_of(104.0f); u += 997) {
    xs.push_back(-from_bits(u));
    if (u <= bits_of(89.0f)) xs.push_back(from_bits(u));
  }
  for (float x : {88.72283f, 88.72284f, 88.7229f, -87.33655f, -87.3366f, -103.2789f, -103.97f,
                  -103.98f, -104.0f, -150.0f, 0.0f, -0.0f, 1e-8f, -1e-8f})
    xs.push_back(x);
  std::vector<float> got(xs.size()), want(xs.size());
  k::simd::exp(xs.data(), got.data(), xs.size());
  k::ref::exp(xs.data(), want.data(), xs.size());
  require_ulps("exp sweep", got, want, 2);
}

TEST_CASE("exp: lengths, misalignment and special values", "[kernels][exp]") {
  sweep("exp", k::simd::exp, k::ref::exp, -100.0f, 80.0f,
        [](const std::string& l, const auto&, const auto& got, const auto& want) {
          require_ulps(l, got, want, 2);
        });
  const std::vector<float> x = {f_inf, -f_inf, f_nan, -1e30f, 1e30f, 0.0f, -0.0f};
  std::vector<float> y(x.size());
  k::simd::exp(x.data(), y.data(), x.size());  // tail path
  std::vector<float> xw(W * 2, 0.0f);
  std::copy(x.begin(), x.end(), xw.begin());
  std::vector<float> yw(xw.size());
  k::simd::exp(xw.data(), yw.data(), xw.size());  // vector path
  for (const auto& v : {y, std::vector<float>(yw.begin(), yw.begin() + 7)}) {
    CHECK(v[0] == f_inf);
    CHECK(v[1] == 0.0f);
    CHECK(std::isnan(v[2]));
    CHECK(v[3] == 0.0f);
    CHECK(v[4] == f_inf);
    CHECK(v[5] == 1.0f);
    CHECK(v[6] == 1.0f);
  }
}

TEST_CASE("sigmoid and silu: within 4 ulp of ref", "[kernels][activation]") {
  // Same formula; the only difference is the exp (≤ 2 ulp), to which 1 + e^−x and the division
  // each add at most half an ulp of rounding: 4 ulp covers it.
  auto cmp = [](const std::string& l, const auto&, const auto& got, const auto& want) {
    require_ulps(l, got, want, 4);
  };
  sweep("sigmoid", k::simd::sigmoid, k::ref::sigmoid, -30.0f, 30.0f, cmp);
  sweep("silu", k::simd::silu, k::ref::silu, -30.0f, 30.0f, cmp);
}

TEST_CASE("gelu_erf: simd within erf's accuracy of ref", "[kernels][activation]") {
  // 0.5·x·(1 + erf(x/√2)): an error δ in erf moves the result by 0.5·|x|·δ. Both erfs are
  // accurate to a few ulp of values ≤ 1 (δ ≤ 4·2^-24), plus 4 ulp of rounding in the products.
  sweep("gelu_erf", k::simd::gelu_erf, k::ref::gelu_erf, -10.0f, 10.0f,
        [](const std::string& l, const auto& x, const auto& got, const auto& want) {
          require_close(l, got, to_double(want), [&](std::size_t i) {
            return 0.5 * std::abs(double(x[i])) * 4.0 * eps / 2 + 4.0 * eps * std::abs(double(want[i]));
          });
        });
}

TEST_CASE("gelu_tanh: simd (x·σ(2u)) within rounding of ref (0.5·x·(1 + tanh u))", "[kernels][activation]") {
  // The two forms are equal in exact arithmetic. The ref's 1 + tanh(u) cancels for negative u:
  // its absolute error is up to eps·0.5·|x|; the simd form's relative error is a few ulp.
  sweep("gelu_tanh", k::simd::gelu_tanh, k::ref::gelu_tanh, -10.0f, 10.0f,
        [](const std::string& l, const auto& x, const auto& got, const auto& want) {
          require_close(l, got, to_double(want), [&](std::size_t i) {
            return eps * std::abs(double(x[i])) + 4.0 * eps * std::abs(double(want[i]));
          });
        });
}

TEST_CASE("gelu: both forms agree with a double-precision formula", "[kernels][activation]") {
  const auto xv = uniform(4 * W + 3, -6.0f, 6.0f, 7);
  std::vector<float> e(xv.size()), t(xv.size());
  k::simd::gelu_erf(xv.data(), e.data(), xv.size());
  k::simd::gelu_tanh(xv.data(), t.data(), xv.size());
  std::vector<double> we(xv.size()), wt(xv.size());
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const double x = xv[i];
    we[i] = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    wt[i] = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  auto tol = [&](std::size_t i) { return 2.0 * eps * std::abs(double(xv[i])) + 1e-30; };
  require_close("gelu_erf vs double", e, we, tol);
  require_close("gelu_tanh vs double", t, wt, tol);
}

TEST_CASE("elu_plus_one: within 2 ulp of ref (exp on the negative side, exact on the positive)", "[kernels][activation]") {
  sweep("elu_plus_one", k::simd::elu_plus_one, k::ref::elu_plus_one, -20.0f, 20.0f,
        [](const std::string& l, const auto&, const auto& got, const auto& want) { require_ulps(l, got, want, 2); });
}

TEST_CASE("relu: simd equals ref exactly (NaN kept, -0 to +0)", "[kernels][activation]") {
  sweep("relu", k::simd::relu, k::ref::relu, -5.0f, 5.0f,
        [](const std::string& l, const auto&, const auto& got, const auto& want) {
          require_same(l, got, want, true);
        });
  const std::vector<float> x = {-0.0f, f_nan, -f_inf, f_inf};
  std::vector<float> y(4);
  k::ref::relu(x.data(), y.data(), 4);
  CHECK((y[0] == 0.0f && !std::signbit(y[0])));
  CHECK(std::isnan(y[1]));
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == f_inf);
}

TEST_CASE("activations run in place", "[kernels][activation]") {
  const std::size_t n = 2 * W + 5;
  using pair = std::pair<kernel_fn, kernel_fn>;
  for (auto [simd_fn, ref_fn] : {pair{k::simd::silu, k::ref::silu}, pair{k::simd::relu, k::ref::relu},
                                 pair{k::simd::exp, k::ref::exp}}) {
    auto x = uniform(n, -3.0f, 3.0f, 42);
    std::vector<float> want(n);
    ref_fn(x.data(), want.data(), n);
    simd_fn(x.data(), x.data(), n);
    require_close("in place", x, to_double(want), [&](std::size_t i) { return 8 * eps * std::abs(double(want[i])); });
  }
}
