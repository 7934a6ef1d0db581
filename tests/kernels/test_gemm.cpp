// kernels::{ref,simd}::gemm on packed weights: the AVX-512 micro-kernel against its scalar twin
// (bit for bit: both evaluate bias + Σ_k a·b as one fma chain in increasing k), the twin against
// a double-precision oracle, packing, panel ranges, epilogues; and ops::linear on top of it.
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/ops/linear.hpp>

#include <array>
#include <cstring>

#include "../support/check.hpp"

namespace k = eigenformer::kernels;
namespace ef = eigenformer;
using namespace eftest;

namespace {

// Row-major operands with row strides larger than their widths, starting at a chosen
// misalignment, so every kernel load and store sees unaligned, strided memory.
struct problem {
  std::size_t m, kk, n, lda, ldc;
  std::vector<float> a_values, b_values, bias;
  buffer a, c;
  k::packed_matrix b;

  problem(std::size_t m_, std::size_t k_, std::size_t n_, std::size_t offset, std::size_t seed, bool specials)
      : m(m_), kk(k_), n(n_), lda(k_ + 3), ldc(n_ + 5),
        a_values(uniform(m_ * (k_ + 3), -1.0f, 1.0f, seed)),
        b_values(uniform(k_ * n_, -1.0f, 1.0f, seed + 1)),
        bias(uniform(n_, -1.0f, 1.0f, seed + 2)),
        a(specials ? with_specials(a_values, seed + 3) : a_values, offset),
        c(m_ * (n_ + 5), (offset + 1) % 4),
        b(specials ? with_specials(b_values, seed + 4).data() : b_values.data(), std::ptrdiff_t(n_), k_, n_) {
    if (specials) {
      a_values = a.to_vector();
      b_values.assign(k_ * n_, 0.0f);
      b.unpack(b_values.data(), std::ptrdiff_t(n_));
    }
  }
  k::gemm_args args(bool with_bias) {
    return {a.data(), std::ptrdiff_t(lda), m, kk, n, &b, with_bias ? bias.data() : nullptr, c.data(),
            std::ptrdiff_t(ldc)};
  }
  // C without the padding columns of each row.
  std::vector<float> result() {
    std::vector<float> out;
    for (std::size_t i = 0; i < m; ++i) out.insert(out.end(), c.data() + i * ldc, c.data() + i * ldc + n);
    return out;
  }
};

std::string label(const char* what, std::size_t m, std::size_t kk, std::size_t n, std::size_t off) {
  return std::string(what) + " m=" + std::to_string(m) + " k=" + std::to_string(kk) + " n=" + std::to_string(n) +
         " offset=" + std::to_string(off);
}

// n: every width 0 .. 3·16 + 1 (one zmm is 16 floats), then around one and two 64-column panels.
std::vector<std::size_t> widths() {
  std::vector<std::size_t> v;
  for (std::size_t n = 0; n <= 49; ++n) v.push_back(n);
  for (std::size_t n : {63, 64, 65, 127, 129}) v.push_back(n);
  return v;
}
// m: every micro-tile height 1..6, two tiles (the decode paths up to 12 rows), and more.
constexpr std::size_t heights[] = {0, 1, 2, 3, 5, 6, 7, 12, 13, 25};
// k: empty, short, around the 256 block of many rows, beyond the 1024 block of few rows.
constexpr std::size_t depths[] = {0, 1, 17, 257, 1100};

}  // namespace

TEST_CASE("packed_matrix: packing, transposed packing and unpacking round-trip", "[kernels][gemm]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{130}}) {
    const std::size_t kk = 7;
    const auto w = uniform(kk * n, -1.0f, 1.0f, n);
    std::vector<float> wt(n * kk);
    for (std::size_t r = 0; r < kk; ++r)
      for (std::size_t c = 0; c < n; ++c) wt[c * kk + r] = w[r * n + c];
    const k::packed_matrix p(w.data(), std::ptrdiff_t(n), kk, n), pt(wt.data(), std::ptrdiff_t(kk), kk, n, true);
    CHECK(p.panels() == (n + 63) / 64);
    CHECK(p.size() == kk * 64 * p.panels());
    CHECK(reinterpret_cast<std::uintptr_t>(p.panel(0)) % 64 == 0);
    std::vector<float> back(kk * n), back_t(kk * n);
    p.unpack(back.data(), std::ptrdiff_t(n));
    pt.unpack(back_t.data(), std::ptrdiff_t(n));
    require_same("unpack(pack(w)) n=" + std::to_string(n), back, w, true);
    require_same("unpack(pack_transposed(wᵀ)) n=" + std::to_string(n), back_t, w, true);
    // The padding of the last panel is zero (the kernel multiplies it, never stores it).
    for (std::size_t r = 0; r < kk; ++r)
      for (std::size_t c = n % 64 ? n % 64 : 64; c < 64; ++c) CHECK(p.panel(p.panels() - 1)[r * 64 + c] == 0.0f);
    const k::packed_matrix copy = p;
    CHECK(copy(kk - 1, n - 1) == w[kk * n - 1]);
  }
}

TEST_CASE("gemm: ref twin against a double-precision oracle", "[kernels][gemm]") {
  // Tolerance: each element is one chain of k fused multiply-adds starting from the bias, so
  // |computed − exact| ≤ k·eps·(|bias| + Σ|a·b|) (Higham's γ_k bound with one rounding per fma).
  for (std::size_t m : {std::size_t{1}, std::size_t{7}}) {
    for (std::size_t kk : depths) {
      for (std::size_t n : {std::size_t{1}, std::size_t{33}, std::size_t{65}}) {
        problem p(m, kk, n, 1, m * 1000 + kk + n, false);
        k::ref::gemm(p.args(true));
        const auto got = p.result();
        for (std::size_t i = 0; i < m; ++i) {
          for (std::size_t j = 0; j < n; ++j) {
            double exact = p.bias[j], mag = std::abs(double(p.bias[j]));
            for (std::size_t r = 0; r < kk; ++r) {
              const double t = double(p.a_values[i * p.lda + r]) * p.b_values[r * n + j];
              exact += t;
              mag += std::abs(t);
            }
            INFO(label("ref oracle", m, kk, n, 1) << " element " << i << "," << j);
            REQUIRE(std::abs(got[i * n + j] - exact) <= double(std::max<std::size_t>(kk, 1)) * eps * mag);
          }
        }
      }
    }
  }
}

TEST_CASE("gemm: simd is bit-identical to ref over shapes, strides and misalignments", "[kernels][gemm]") {
  if (!k::simd::has_gemm) {
    WARN("EIGENFORMER-SKIPPED: no AVX-512 gemm in this build (simd::gemm is the ref loop); the ref "
         "oracle test and the ops::linear tests cover the product");
    return;
  }
  std::size_t seed = 1;
  for (std::size_t m : heights) {
    for (std::size_t kk : depths) {
      for (std::size_t n : widths()) {
        const std::size_t off = seed % 4;
        const bool with_bias = seed % 2 == 0;
        problem want(m, kk, n, off, seed, false), got(m, kk, n, off, seed, false);
        k::ref::gemm(want.args(with_bias));
        k::simd::gemm(got.args(with_bias));
        require_same(label("simd vs ref", m, kk, n, off), got.result(), want.result(), true);
        ++seed;
      }
    }
  }
}

TEST_CASE("gemm: special values (±0, ±inf, NaN, huge, subnormal) agree bit for bit", "[kernels][gemm]") {
  if (!k::simd::has_gemm) {
    WARN("EIGENFORMER-SKIPPED: no AVX-512 gemm in this build (simd::gemm is the ref loop)");
    return;
  }
  std::size_t seed = 7;
  for (std::size_t m : {std::size_t{1}, std::size_t{6}, std::size_t{13}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{9}, std::size_t{300}}) {
      for (std::size_t n : {std::size_t{1}, std::size_t{16}, std::size_t{49}, std::size_t{130}}) {
        problem want(m, kk, n, 2, seed, true), got(m, kk, n, 2, seed, true);
        k::ref::gemm(want.args(true));
        k::simd::gemm(got.args(true));
        const auto w = want.result();
        require_same(label("specials", m, kk, n, 2), got.result(), w, true);
        // The inputs do carry specials into the output (the comparison above is not vacuous).
        if (kk == 300) CHECK(std::count_if(w.begin(), w.end(), [](float x) { return !std::isfinite(x); }) > 0);
        ++seed;
      }
    }
  }
}

TEST_CASE("gemm: panel ranges partition the product and the epilogue sees each finished row stretch",
          "[kernels][gemm]") {
  const std::size_t m = 9, kk = 300, n = 200;  // 4 panels, the last one 8 columns wide
  problem whole(m, kk, n, 0, 99, false), parts(m, kk, n, 0, 99, false);
  k::simd::gemm(whole.args(true));
  const auto g = parts.args(true);
  k::simd::gemm(g, 2, 9);  // panels 2..3 (the range is clipped to the panel count)
  k::simd::gemm(g, 0, 2);
  require_same("panels [0,2) + [2,4) == whole", parts.result(), whole.result(), true);

  problem fused(m, kk, n, 0, 99, false);
  std::size_t calls = 0, columns = 0;
  k::simd::gemm(fused.args(true), [&](float* row, std::size_t w) {
    ef::ops::gelu_erf::apply(row, w);
    ++calls;
    columns += w;
  });
  CHECK(calls == m * 4);
  CHECK(columns == m * n);
  std::vector<float> want = whole.result();
  for (std::size_t i = 0; i < m; ++i) ef::ops::gelu_erf::apply(want.data() + i * n, n);
  require_same("gelu epilogue == gelu after", fused.result(), want, true);
}

TEST_CASE("ops::linear: packed or Eigen product with bias, sub-blocks and out-by-in weights", "[ops][gemm]") {
  std::srand(5);
  const ef::index_t in = 70, out = 150, t = 11;
  const ef::matrix w = ef::matrix::Random(in, out);
  const ef::vector b = ef::vector::Random(out);
  const ef::ops::linear lin(w, b);
  const ef::matrix wt = w.transpose();
  const auto lin_t = ef::ops::linear::from_out_in(wt.data(), out, in, in, b);
  CHECK(lin.in() == in);
  CHECK(lin.out() == out);
  CHECK(lin.weight() == w);
  CHECK(lin_t.weight() == w);
  CHECK(lin.bias() == b);

  const ef::matrix x = ef::matrix::Random(t, in);
  using dmat = ef::row_matrix<double>;
  const dmat xd = x.cast<double>(), wd = w.cast<double>();
  // Tolerance: k·eps·Σ|x·w| per element as in the gemm oracle (Eigen's blocked sum obeys the
  // same bound with k the chain length).
  auto check = [&](const ef::ops::linear& l, ef::index_t cols, ef::index_t kk, const std::string& what) {
    ef::matrix y = ef::matrix::Constant(t, cols, f_nan);
    l.forward(ef::view(x), ef::view(y), cols == out ? 0 : cols, kk == in ? 0 : kk);
    const dmat want = (xd.leftCols(kk) * wd.topLeftCorner(kk, cols)).rowwise() + b.head(cols).cast<double>().transpose();
    const dmat mag = xd.leftCols(kk).cwiseAbs() * wd.topLeftCorner(kk, cols).cwiseAbs();
    const double err = ((y.cast<double>() - want).cwiseAbs() - (double(kk) * eps * (mag.array() + 1.0)).matrix()).maxCoeff();
    INFO(what << " cols " << cols << " k " << kk);
    CHECK(err <= 0.0);
  };
  check(lin, out, in, "[in, out]");
  check(lin_t, out, in, "[out, in]");
  check(lin, 33, in, "first 33 outputs");
  check(lin, out, 40, "first 40 inputs");
  check(lin, 1, 1, "one output of one input");

  CHECK_THROWS_AS(ef::ops::linear(w, ef::vector::Zero(out - 1)), ef::shape_error);
  CHECK_THROWS_WITH(ef::ops::linear(w, ef::vector::Zero(3), "ffn.up"),
                    Catch::Matchers::Contains("ffn.up") && Catch::Matchers::Contains("[150]") &&
                        Catch::Matchers::Contains("[3]"));
}

namespace {
bool same_bits(const ef::matrix& got, const ef::matrix& want) {
  return got.rows() == want.rows() && got.cols() == want.cols() &&
         std::memcmp(got.data(), want.data(), sizeof(float) * std::size_t(want.size())) == 0;
}
}  // namespace

TEST_CASE("ops::shared_input: layers reading one input in one region equal each forward bit for bit",
          "[ops][gemm]") {
  std::srand(9);
  // Widths that split panels unevenly (150 = 2 panels + 22 columns, 64, 7) and a sub-width, at
  // decode (1 row), a few rows and many rows; results must not depend on the thread count.
  const ef::index_t in = 70;
  const ef::ops::linear a = ef::ops::linear::random(in, 150), b = ef::ops::linear::random(in, 64),
                        c = ef::ops::linear::random(in, 7, false);
  for (const ef::index_t t : {1, 5, 31}) {
    const ef::matrix x = ef::matrix::Random(t, in);
    ef::matrix ya(t, 150), yb(t, 64), yc(t, 7), wa(t, 150), wb(t, 64), wc(t, 7);
    a.forward<ef::ops::gelu_tanh>(ef::view(x), ef::view(wa));
    b.forward(ef::view(x), ef::view(wb));
    c.forward(ef::view(x), ef::view(wc));
    for (const int threads : {1, 2, 3}) {
      ef::set_num_threads(threads);
      ya.setConstant(f_nan);
      yb.setConstant(f_nan);
      yc.setConstant(f_nan);
      ef::ops::shared_input::forward<ef::ops::gelu_tanh>(
          ef::view(x), std::array<const ef::ops::linear*, 3>{&a, &b, &c},
          std::array<ef::matrix_view, 3>{ef::view(ya), ef::view(yb), ef::view(yc)});
      INFO("rows " << t << " threads " << threads);
      CHECK(same_bits(ya, wa));
      CHECK(same_bits(yb, wb));
      CHECK(same_bits(yc, wc));
    }
    ef::set_num_threads(1);
    // A sub-width (the first 40 outputs of a, as a MatFormer width asks) through the group.
    ef::matrix sub(t, 40), want(t, 40);
    a.forward(ef::view(x), ef::view(want), 40);
    ef::ops::shared_input::forward(ef::view(x), std::array<const ef::ops::linear*, 1>{&a},
                                   std::array<ef::matrix_view, 1>{ef::view(sub)});
    CHECK(same_bits(sub, want));
  }
}
