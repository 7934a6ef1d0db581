// kernels::{ref,simd}::{to_bf16_rows,gemm_bf16} and packed_bf16_matrix: the rounding against
// known values; the row conversion twin against twin (bit for bit) over every length 0..3·16+1,
// misalignments and special values; the packing's layout and round trip; the ref product against
// a double reference within the bound of its fp32 sum; the AVX-512F product bit for bit against
// the ref and the `vdpbf16ps` product within the bound the file comment states; the whole
// product against the fp32 one within the bound bf16's 8-bit mantissa gives.
#include <eigenformer/kernels/gemm_bf16.hpp>

#include <cfloat>
#include <cstdint>
#include <cstring>

#include "../support/check.hpp"

// A namespace of its own: the kernel tests build as one translation unit (CONTRIBUTING.md).
namespace gemm_bf16_test {

namespace k = eigenformer::kernels;
using namespace eftest;

constexpr double u24 = 1.0 / 16777216.0;  // 2^-24, fp32's unit roundoff

std::uint32_t bits_of(float x) { return std::bit_cast<std::uint32_t>(x); }

// Rows of width kk starting @p offset floats past a 64-byte boundary (row stride kk + 3),
// converted with @p fn into rows of stride bf16_row_elems(max(kk, padded)) + 5, one element in.
template <class Convert>
std::vector<std::uint16_t> convert(Convert&& fn, buffer& a, std::size_t m, std::size_t kk, std::size_t padded) {
  const std::size_t ldu = k::bf16_row_elems(std::max(kk, padded)) + 5;
  std::vector<std::uint16_t> u(m * ldu + 1, 0x1234);
  fn(a.data(), std::ptrdiff_t(kk + 3), m, kk, padded, u.data() + 1, std::ptrdiff_t(ldu));
  return u;
}

TEST_CASE("to_bf16: rounds to nearest even and keeps NaNs and signs", "[kernels][bf16]") {
  REQUIRE(k::to_bf16(1.0f) == 0x3f80);
  REQUIRE(k::to_bf16(-2.0f) == 0xc000);
  REQUIRE(k::to_bf16(-0.0f) == 0x8000);
  REQUIRE(k::to_bf16(1.0f + 0x1p-8f) == 0x3f80);          // a tie: down to the even 0x3f80
  REQUIRE(k::to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);      // a tie: up to the even 0x3f82
  REQUIRE(k::to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81);  // above the tie
  REQUIRE(k::to_bf16(f_inf) == 0x7f80);
  REQUIRE(k::to_bf16(-f_inf) == 0xff80);
  REQUIRE(k::to_bf16(FLT_MAX) == 0x7f80);  // beyond bf16's largest finite (0x7f7f): +inf
  REQUIRE(k::to_bf16(std::bit_cast<float>(0x7f7f7fffu)) == 0x7f7f);
  REQUIRE(k::to_bf16(std::bit_cast<float>(0x7f800001u)) == 0x7fc0);  // a signalling NaN, quieted
  REQUIRE(k::to_bf16(std::bit_cast<float>(0xffc00000u)) == 0xffc0);
  REQUIRE(k::to_bf16(std::bit_cast<float>(0x00018000u)) == 0x0002);  // a subnormal tie, to even
  for (float x : {1.0f, -3.5f, 0x1p-100f, 0x1.fep+127f}) REQUIRE(k::from_bf16(k::to_bf16(x)) == x);
  // Round trip within half a bf16 step: 8 bits of precision (7 stored), so |x̃ − x| ≤ 2^-8 |x|
  // for normal x.
  for (float x : uniform(1000, -100.0f, 100.0f, 3))
    REQUIRE(std::abs(double(k::from_bf16(k::to_bf16(x))) - x) <= std::ldexp(std::abs(double(x)), -8));
}

TEST_CASE("to_bf16_rows: simd is bit-identical to ref over lengths, misalignments and specials",
          "[kernels][bf16]") {
  for (std::size_t n : test_lengths(16)) {
    for (std::size_t off = 0; off < 4; ++off) {
      std::vector<float> rows = uniform(2 * (n + 3), -3.0f, 3.0f, n * 7 + off);
      const std::vector<float> mixed = with_specials(rows, n + off);
      for (std::size_t i = n + 3; i < 2 * (n + 3); ++i) rows[i] = mixed[i];
      buffer a(rows, off);
      const std::size_t pad = n + off;
      const auto want = convert(k::ref::to_bf16_rows, a, 2, n, pad);
      const auto got = convert(k::simd::to_bf16_rows, a, 2, n, pad);
      const std::size_t ldu = k::bf16_row_elems(pad) + 5;
      for (std::size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i]) FAIL(case_label("to_bf16_rows", n, off) << ": element " << i << " got " << got[i] << ", want " << want[i]);
      for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t r = 0; r < n; ++r)
          REQUIRE(want[1 + i * ldu + r] == k::to_bf16(a.data()[i * (n + 3) + r]));
        for (std::size_t r = n; r < k::bf16_row_elems(pad); ++r) REQUIRE(want[1 + i * ldu + r] == 0);
        REQUIRE(want[1 + i * ldu + k::bf16_row_elems(pad)] == 0x1234);  // nothing past the row
      }
    }
  }
}

TEST_CASE("packed_bf16_matrix: layout, transposed packing and packing from bf16 bits", "[kernels][bf16]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{130}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{5}, std::size_t{64}, std::size_t{257}}) {
      const auto w = uniform(kk * n, -2.0f, 2.0f, n + kk);
      std::vector<float> wt(n * kk);
      std::vector<std::uint16_t> wt_bits(n * kk);
      for (std::size_t r = 0; r < kk; ++r) {
        for (std::size_t c = 0; c < n; ++c) {
          wt[c * kk + r] = w[r * n + c];
          wt_bits[c * kk + r] = k::to_bf16(w[r * n + c]);
        }
      }
      std::vector<std::byte> unaligned(wt_bits.size() * 2 + 1);
      std::memcpy(unaligned.data() + 1, wt_bits.data(), wt_bits.size() * 2);
      const k::packed_bf16_matrix p(w.data(), std::ptrdiff_t(n), kk, n), pt(wt.data(), std::ptrdiff_t(kk), kk, n, true);
      const auto pb = k::packed_bf16_matrix::from_bits(unaligned.data() + 1, std::ptrdiff_t(kk), kk, n, true);
      REQUIRE(p.rows() == kk);
      REQUIRE(p.cols() == n);
      REQUIRE(p.pairs() == (kk + 1) / 2);
      REQUIRE(p.bytes() == p.pairs() * 256 * p.panels());
      REQUIRE(reinterpret_cast<std::uintptr_t>(p.panel(p.panels() - 1)) % 64 == 0);
      for (std::size_t c = 0; c < p.panels() * 64; ++c) {
        for (std::size_t r = 0; r < p.pairs() * 2; ++r) {
          const std::uint16_t want = r < kk && c < n ? k::to_bf16(w[r * n + c]) : 0;
          REQUIRE(p.bits(r, c) == want);
          REQUIRE(pt.bits(r, c) == want);
          REQUIRE(pb.bits(r, c) == want);
        }
      }
      // The 32-bit word of pair t, column c: B[2t + 1, c] << 16 | B[2t, c].
      std::uint32_t word;
      std::memcpy(&word, p.panel(0), 4);
      REQUIRE(word == (std::uint32_t(p.bits(1, 0)) << 16 | p.bits(0, 0)));
      const k::packed_bf16_matrix copy = p;
      REQUIRE(copy.bits(kk - 1, n - 1) == p.bits(kk - 1, n - 1));
    }
  }
}

// A [m, k] (row stride k + 3) and B [k, n], uniform in ±1, with A's rows converted.
struct problem {
  std::size_t m, kk, n, ldc;
  std::vector<float> a_values, b_values, bias;
  buffer a, c;
  k::packed_bf16_matrix b;
  std::vector<std::uint16_t> ua;

  problem(std::size_t m_, std::size_t k_, std::size_t n_, std::size_t offset, std::size_t seed)
      : m(m_), kk(k_), n(n_), ldc(n_ + 5), a_values(uniform(m_ * (k_ + 3), -1.0f, 1.0f, seed)),
        b_values(uniform(k_ * n_, -1.0f, 1.0f, seed + 1)), bias(uniform(n_, -1.0f, 1.0f, seed + 2)),
        a(a_values, offset), c(m_ * (n_ + 5), (offset + 1) % 4), b(b_values.data(), std::ptrdiff_t(n_), k_, n_),
        ua(convert(k::ref::to_bf16_rows, a, m_, k_, k_)) {}

  std::ptrdiff_t lda() const { return std::ptrdiff_t(k::bf16_row_elems(kk) + 5); }
  k::gemm_bf16_args args(bool with_bias) {
    return {ua.data() + 1, lda(), m, n, &b, with_bias ? bias.data() : nullptr, c.data(), std::ptrdiff_t(ldc)};
  }
  std::vector<float> result() {
    std::vector<float> out;
    for (std::size_t i = 0; i < m; ++i) out.insert(out.end(), c.data() + i * ldc, c.data() + i * ldc + n);
    return out;
  }
  // bias + Σ Ã·B̃ in double over the rounded operands, and Σ|terms| (the scale of the bounds).
  void exact(bool with_bias, std::vector<double>& want, std::vector<double>& mag) const {
    want.assign(m * n, 0.0);
    mag.assign(m * n, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        double acc = with_bias ? bias[j] : 0.0, s = std::abs(acc);
        for (std::size_t r = 0; r < kk; ++r) {
          const double t = double(k::from_bf16(ua[1 + i * std::size_t(lda()) + r])) * b.value(r, j);
          acc += t;
          s += std::abs(t);
        }
        want[i * n + j] = acc;
        mag[i * n + j] = s;
      }
    }
  }
};

std::string label(const char* what, std::size_t m, std::size_t kk, std::size_t n, std::size_t off) {
  return std::string(what) + " m=" + std::to_string(m) + " k=" + std::to_string(kk) + " n=" + std::to_string(n) +
         " offset=" + std::to_string(off);
}

TEST_CASE("gemm_bf16: ref is within its fp32 sum's bound of a double reference", "[kernels][bf16]") {
  // An fma chain of k terms from the bias: each step rounds once, so |C − exact| ≤ k · 2^-24 ·
  // Σ|terms| to first order; (k + 1) covers the second-order terms at these k.
  for (std::size_t m : {std::size_t{1}, std::size_t{3}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{301}}) {
      for (std::size_t n : {std::size_t{5}, std::size_t{64}, std::size_t{70}}) {
        problem pr(m, kk, n, 1, m * 100 + kk + n);
        for (bool with_bias : {false, true}) {
          k::ref::gemm_bf16(pr.args(with_bias));
          std::vector<double> want, mag;
          pr.exact(with_bias, want, mag);
          require_close(label("ref gemm_bf16", m, kk, n, 1), pr.result(), want,
                        [&](std::size_t i) { return double(kk + 1) * u24 * mag[i]; });
        }
      }
    }
  }
}

TEST_CASE("gemm_bf16: simd against ref over shapes, strides, panel ranges and epilogues", "[kernels][bf16]") {
  const std::size_t heights[] = {0, 1, 2, 3, 5, 6, 7, 12, 13, 25, 200};
  const std::size_t depths[] = {0, 1, 3, 4, 5, 17, 64, 257};
  std::vector<std::size_t> widths;
  for (std::size_t n = 1; n <= 49; n += 3) widths.push_back(n);
  for (std::size_t n : {63, 64, 65, 129, 300}) widths.push_back(n);
  for (std::size_t m : heights) {
    for (std::size_t kk : depths) {
      for (std::size_t n : widths) {
        if (m == 200 && n != 300 && n != 65) continue;  // the row blocking, on two widths
        const std::size_t off = (m + kk + n) % 4;
        problem pr(m, kk, n, off, m * 1000 + kk * 10 + n);
        for (bool with_bias : {false, true}) {
          k::ref::gemm_bf16(pr.args(with_bias));
          const std::vector<float> want = pr.result();
#if EIGENFORMER_HAS_AVX512_BF16_GEMM
          // The AVX-512F path: the same fma chain in the same order.
          k::simd::detail::gemm_bf16_impl<false>(pr.args(with_bias), 0, k::gemm_panels(n));
          require_same(label(with_bias ? "gemm_bf16 (avx512f) bias" : "gemm_bf16 (avx512f)", m, kk, n, off),
                       pr.result(), want, true);
#endif
          // What simd::gemm_bf16 runs here (vdpbf16ps where the target has it): within
          // k · 2^-24 · Σ|terms| of the ref (no subnormals arise from operands in ±1 at these k).
          k::simd::gemm_bf16(pr.args(with_bias));
          std::vector<double> ref_values(want.begin(), want.end()), mag;
          std::vector<double> unused;
          pr.exact(with_bias, unused, mag);
          require_close(label(with_bias ? "gemm_bf16 bias" : "gemm_bf16", m, kk, n, off), pr.result(), ref_values,
                        [&](std::size_t i) { return double(kk + 1) * u24 * mag[i]; });
        }
      }
    }
  }
  // Panel ranges and an epilogue: columns [64, 128) only, each finished stretch doubled.
  problem pr(7, 33, 200, 2, 99);
  const auto twice = [](float* row, std::size_t w) {
    for (std::size_t j = 0; j < w; ++j) row[j] *= 2.0f;
  };
  k::ref::gemm_bf16(pr.args(true), 1, 2, twice);
  const std::vector<float> want = pr.result();
  for (std::size_t i = 0; i < 7; ++i) pr.c.data()[i * pr.ldc + 10] = -5.0f;  // outside the range: kept
  k::simd::gemm_bf16(pr.args(true), 1, 2, twice);
  std::vector<float> got = pr.result();
  for (std::size_t i = 0; i < 7; ++i) {
    REQUIRE(got[i * 200 + 10] == -5.0f);
    got[i * 200 + 10] = want[i * 200 + 10];
  }
  std::vector<double> want_d(want.begin(), want.end()), mag, unused;
  pr.exact(true, unused, mag);
  require_close("gemm_bf16 panel range with epilogue", got, want_d,
                [&](std::size_t i) { return 2.0 * 34.0 * u24 * mag[i]; });
}

TEST_CASE("gemm_bf16: non-finite inputs give non-finite outputs, zero rows give the bias", "[kernels][bf16]") {
  problem pr(3, 20, 70, 0, 5);
  pr.a.data()[1 * (20 + 3) + 4] = f_nan;    // row 1: NaN everywhere
  pr.a.data()[2 * (20 + 3) + 0] = f_inf;    // row 2: ±inf or NaN everywhere (inf · ±w, inf · 0)
  pr.b_values[7 * 70 + 66] = f_nan;         // column 66: NaN in every row
  pr.b = k::packed_bf16_matrix(pr.b_values.data(), 70, 20, 70);
  pr.ua = convert(k::ref::to_bf16_rows, pr.a, 3, 20, 20);
  for (auto run : {+[](const k::gemm_bf16_args& g) { k::ref::gemm_bf16(g); },
                   +[](const k::gemm_bf16_args& g) { k::simd::gemm_bf16(g); }}) {
    run(pr.args(true));
    const std::vector<float> c = pr.result();
    for (std::size_t j = 0; j < 70; ++j) {
      REQUIRE(std::isnan(c[1 * 70 + j]));
      REQUIRE(!std::isfinite(c[2 * 70 + j]));
      REQUIRE(std::isnan(c[0 * 70 + j]) == (j == 66));
    }
  }
  buffer zeros(std::vector<float>(2 * 23, 0.0f), 0);
  pr.ua = convert(k::ref::to_bf16_rows, zeros, 2, 20, 20);
  pr.m = 2;
  k::simd::gemm_bf16(pr.args(true));
  const std::vector<float> c = pr.result();
  for (std::size_t j = 0; j < 70; ++j)
    if (j != 66) REQUIRE(c[j] == pr.bias[j]);
}

TEST_CASE("gemm_bf16: the product of rounded operands is within bf16's bound of the fp32 product",
          "[kernels][bf16]") {
  // ã = a(1 + δ), w̃ = w(1 + ε) with |δ|, |ε| ≤ 2^-8 (8 bits of precision, round to nearest),
  // so |ã w̃ − a w| ≤ (2^-7 + 2^-16)|a w| per term: |C_bf16 − C| ≤ (2^-7 + 2^-16) Σ|a w|, plus
  // the fp32 sum's (k + 1) · 2^-24 · Σ|a w|.
  for (std::size_t kk : {std::size_t{16}, std::size_t{768}, std::size_t{3072}}) {
    problem pr(4, kk, 96, 0, kk);
    k::simd::gemm_bf16(pr.args(true));
    const std::vector<float> got = pr.result();
    std::vector<double> want(4 * 96), mag(4 * 96);
    double worst = 0.0;
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t c = 0; c < 96; ++c) {
        double acc = pr.bias[c], s = std::abs(pr.bias[c]);
        for (std::size_t r = 0; r < kk; ++r) {
          const double t = double(pr.a_values[i * (kk + 3) + r]) * pr.b_values[r * 96 + c];
          acc += t;
          s += std::abs(t);
        }
        want[i * 96 + c] = acc;
        mag[i * 96 + c] = s;
        worst = std::max(worst, std::abs(got[i * 96 + c] - acc) / s);
      }
    }
    require_close("gemm_bf16 against fp64, k=" + std::to_string(kk), got, want,
                  [&](std::size_t i) { return (0x1p-7 + 0x1p-16 + double(kk + 1) * u24) * mag[i]; });
    // The rounding errors partly cancel: the worst is inside half the bound (measured 0.18 % of
    // Σ|a·w| at k = 16, 0.039 % at 768, 0.015 % at 3072).
    REQUIRE(worst < 0x1p-8);
  }
}

}  // namespace gemm_bf16_test
