// kernels::{ref,simd}::{quantize_rows,gemm_int8} and packed_int8_matrix: activation quantisation
// twin against twin (bit for bit) over every length 0..3·16+1 and a long one, misalignments and
// special values; the int8 product twin against twin (bit for bit: the integer sum is exact and
// the float steps are the same), the ref twin against an independent int64 reference before
// scaling, and the whole quantised product against the fp32 product within the bound the scales
// give.
#include <eigenformer/kernels/gemm_int8.hpp>

#include <cfloat>
#include <cstdint>
#include <cstring>

#include "../support/check.hpp"

// The whole file is in a namespace of its own: its helpers are named like test_gemm.cpp's, and
// the kernel tests build as one translation unit (CONTRIBUTING.md, "Tests build in unity groups").
namespace gemm_int8_test {

namespace k = eigenformer::kernels;
using namespace eftest;

struct quantized {
  std::vector<std::uint8_t> u;
  std::vector<float> scales;
};

// Rows of width k starting @p offset floats past a 64-byte boundary, with row stride k + 3.
template <class Quantize>
quantized quantize(Quantize&& fn, buffer& a, std::size_t m, std::size_t kk, std::size_t padded_k) {
  const std::size_t ldu = k::int8_row_bytes(std::max(kk, padded_k)) + 5;
  quantized q{std::vector<std::uint8_t>(m * ldu + 1, 7), std::vector<float>(m, -1.0f)};
  fn(a.data(), std::ptrdiff_t(kk + 3), m, kk, padded_k, q.u.data() + 1, std::ptrdiff_t(ldu), q.scales.data());
  return q;
}

void require_same_bytes(const std::string& label, const quantized& got, const quantized& want) {
  REQUIRE(got.u.size() == want.u.size());
  for (std::size_t i = 0; i < got.u.size(); ++i) {
    if (got.u[i] != want.u[i])
      FAIL(label << ": byte [" << i << "] got " << int(got.u[i]) << ", want " << int(want.u[i]));
  }
  require_same(label + " scales", got.scales, want.scales, true);
}

// A [m, k] (row stride k + 3) and B [k, n], both uniform in ±1 (B's columns scaled apart, so the
// per-column scales differ), with the quantised rows of A.
struct problem {
  std::size_t m, kk, n, ldc;
  std::vector<float> a_values, b_values, bias;
  buffer a, c;
  k::packed_int8_matrix b;
  quantized qa;

  problem(std::size_t m_, std::size_t k_, std::size_t n_, std::size_t offset, std::size_t seed)
      : m(m_), kk(k_), n(n_), ldc(n_ + 5), a_values(uniform(m_ * (k_ + 3), -1.0f, 1.0f, seed)),
        b_values(scaled_columns(uniform(k_ * n_, -1.0f, 1.0f, seed + 1), n_)),
        bias(uniform(n_, -1.0f, 1.0f, seed + 2)), a(a_values, offset), c(m_ * (n_ + 5), (offset + 1) % 4),
        b(b_values.data(), std::ptrdiff_t(n_), k_, n_),
        qa(quantize(k::ref::quantize_rows, a, m_, k_, k_)) {}

  static std::vector<float> scaled_columns(std::vector<float> v, std::size_t n) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] *= 1.0f + float(i % n) / 8.0f;
    return v;
  }
  std::ptrdiff_t ldu() const { return std::ptrdiff_t(k::int8_row_bytes(kk) + 5); }
  k::gemm_int8_args args(bool with_bias) {
    return {qa.u.data() + 1, ldu(), qa.scales.data(), m, n, &b, with_bias ? bias.data() : nullptr, c.data(),
            std::ptrdiff_t(ldc)};
  }
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

TEST_CASE("quantize_rows: known values", "[kernels][int8]") {
  // max |a| = 127, so s_a = 1 exactly and u = round(a) + 128 (ties to even).
  buffer a(std::vector<float>{127.0f, -64.0f, 10.4f, -2.5f, 0.5f, -0.0f}, 0);
  for (auto fn : {k::ref::quantize_rows, k::simd::quantize_rows}) {
    const quantized q = quantize(fn, a, 1, 3, 6);
    REQUIRE(q.scales[0] == 1.0f);
    // k = 3 inputs, padded to 6 -> 8 bytes: the padding is 128 (zero).
    const std::vector<int> want = {255, 64, 138, 128, 128, 128, 128, 128};
    for (std::size_t i = 0; i < want.size(); ++i) REQUIRE(int(q.u[1 + i]) == want[i]);
  }
  buffer b(std::vector<float>{0.0f, -0.0f, 0.0f, 1e-44f, f_nan, 3.0f}, 0);
  for (auto fn : {k::ref::quantize_rows, k::simd::quantize_rows}) {
    // All zeros: s_a = 0, u = 128. A row below 127 · the smallest subnormal: s_a = 0 too.
    quantized q = quantize(fn, b, 1, 3, 3);
    REQUIRE(q.scales[0] == 0.0f);
    REQUIRE(int(q.u[1]) == 128);
    REQUIRE(int(q.u[3]) == 128);
    buffer tiny(std::vector<float>{1e-44f, -1e-44f}, 1);
    q = quantize(fn, tiny, 1, 2, 2);
    REQUIRE(q.scales[0] == 0.0f);
    REQUIRE(int(q.u[1]) == 128);
    // A NaN (or an infinity) makes the row's scale NaN and its bytes zeros.
    buffer nan_row(std::vector<float>{2.0f, f_nan, 3.0f}, 2);
    q = quantize(fn, nan_row, 1, 3, 3);
    REQUIRE(std::isnan(q.scales[0]));
    REQUIRE(int(q.u[1]) == 128);
    buffer inf_row(std::vector<float>{-f_inf, 1.0f}, 3);
    q = quantize(fn, inf_row, 1, 2, 2);
    REQUIRE(std::isnan(q.scales[0]));
  }
}

TEST_CASE("quantize_rows: simd is bit-identical to ref over lengths, misalignments and specials",
          "[kernels][int8]") {
  for (std::size_t n : test_lengths(16)) {
    for (std::size_t off = 0; off < 4; ++off) {
      for (bool specials : {false, true}) {
        // Three rows: plain, with specials mixed in (most such rows get a NaN scale), and one with
        // subnormals and huge values but nothing non-finite.
        std::vector<float> rows = uniform(3 * (n + 3), -3.0f, 3.0f, n * 7 + off);
        if (specials) {
          const std::vector<float> mixed = with_specials(rows, n + off);
          for (std::size_t i = n + 3; i < 2 * (n + 3); ++i) rows[i] = mixed[i];
        }
        for (std::size_t i = 2 * (n + 3); i < 3 * (n + 3); i += 3) rows[i] = (i % 2) ? 1e-40f : -3e38f;
        buffer a(rows, off);
        const std::size_t pad = n + off;  // padding beyond k as well
        const quantized want = quantize(k::ref::quantize_rows, a, 3, n, pad);
        const quantized got = quantize(k::simd::quantize_rows, a, 3, n, pad);
        require_same_bytes(case_label(specials ? "quantize_rows specials" : "quantize_rows", n, off), got, want);
        // Every byte is in [1, 255]: round(a / s_a) is clamped to ±127 before the +128.
        for (std::size_t i = 0; i < 3; ++i)
          for (std::size_t r = 0; r < n; ++r) REQUIRE(want.u[1 + i * (k::int8_row_bytes(pad) + 5) + r] >= 1);
      }
    }
  }
}

TEST_CASE("packed_int8_matrix: per-column scales, round trip within half a step, transposed packing",
          "[kernels][int8]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{130}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{5}, std::size_t{64}, std::size_t{257}}) {
      auto w = uniform(kk * n, -2.0f, 2.0f, n + kk);
      if (n > 1) {
        for (std::size_t r = 0; r < kk; ++r) w[r * n + 1] = 0.0f;  // column 1: zeros
      }
      std::vector<float> wt(n * kk);
      for (std::size_t r = 0; r < kk; ++r)
        for (std::size_t c = 0; c < n; ++c) wt[c * kk + r] = w[r * n + c];
      const k::packed_int8_matrix p(w.data(), std::ptrdiff_t(n), kk, n), pt(wt.data(), std::ptrdiff_t(kk), kk, n, true);
      REQUIRE(p.rows() == kk);
      REQUIRE(p.cols() == n);
      REQUIRE(p.quads() == (kk + 3) / 4);
      REQUIRE(p.size_bytes() == p.quads() * 256 * p.panels());
      for (std::size_t c = 0; c < n; ++c) {
        float max_abs = 0.0f;
        std::int64_t sum = 0;
        for (std::size_t r = 0; r < kk; ++r) max_abs = std::max(max_abs, std::fabs(w[r * n + c]));
        REQUIRE(p.scales()[c] == max_abs / 127.0f);
        REQUIRE(pt.scales()[c] == p.scales()[c]);
        for (std::size_t r = 0; r < kk; ++r) {
          REQUIRE(p.q(r, c) == pt.q(r, c));
          REQUIRE(std::abs(p.q(r, c)) <= 127);
          sum += p.q(r, c);
          // |q·s − w| ≤ s/2, plus the rounding of w / s (one ulp of a value ≤ 127.5) times s.
          const double s = p.scales()[c];
          REQUIRE(std::abs(double(p.dequantized(r, c)) - double(w[r * n + c])) <= s * (0.5 + 128.0 * eps) + 1e-30);
        }
        for (std::size_t r = kk; r < p.quads() * 4; ++r) REQUIRE(p.q(r, c) == 0);
        REQUIRE(p.zero_terms()[c] == 128 * sum);
      }
      if (n > 1) {
        REQUIRE(p.scales()[1] == 0.0f);
        REQUIRE(p.zero_terms()[1] == 0);
      }
      for (std::size_t c = n; c < p.panels() * 64; ++c) {
        REQUIRE(p.scales()[c] == 0.0f);
        REQUIRE(p.zero_terms()[c] == 0);
      }
    }
  }
  // A column holding ±inf or NaN gets a NaN scale (its outputs are NaN) and zero weights.
  const std::vector<float> w = {1.0f, f_inf, 2.0f, -1.0f, f_nan, 0.5f};  // B [k = 2, n = 3]
  const k::packed_int8_matrix p(w.data(), 3, 2, 3);
  REQUIRE(p.scales()[0] == 1.0f / 127.0f);
  REQUIRE(std::isnan(p.scales()[1]));
  REQUIRE(p.q(0, 1) == 0);
  REQUIRE(p.q(1, 1) == 0);
  REQUIRE(p.scales()[2] == 2.0f / 127.0f);
}

TEST_CASE("gemm_int8: ref equals an int64 reference before scaling", "[kernels][int8]") {
  for (std::size_t m : {std::size_t{1}, std::size_t{3}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{301}}) {
      for (std::size_t n : {std::size_t{5}, std::size_t{64}, std::size_t{70}}) {
        problem pr(m, kk, n, 1, m * 100 + kk + n);
        for (bool with_bias : {false, true}) {
          k::ref::gemm_int8(pr.args(with_bias));
          const std::vector<float> got = pr.result();
          for (std::size_t i = 0; i < m; ++i) {
            const std::uint8_t* u = pr.qa.u.data() + 1 + std::ptrdiff_t(i) * pr.ldu();
            for (std::size_t c = 0; c < n; ++c) {
              std::int64_t dot = 0;  // Σ (u − 128) · q, the zero point taken out term by term
              for (std::size_t r = 0; r < kk; ++r) dot += (std::int64_t(u[r]) - 128) * pr.b.q(r, c);
              const float scale = pr.qa.scales[i] * pr.b.scales()[c];
              const float want = with_bias ? std::fma(float(dot), scale, pr.bias[c]) : float(dot) * scale;
              REQUIRE(same_value(got[i * n + c], want, true));
            }
          }
        }
      }
    }
  }
}

TEST_CASE("gemm_int8: simd is bit-identical to ref over shapes, strides, panel ranges and epilogues",
          "[kernels][int8]") {
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
          k::ref::gemm_int8(pr.args(with_bias));
          const std::vector<float> want = pr.result();
          k::simd::gemm_int8(pr.args(with_bias));
          require_same(label(with_bias ? "gemm_int8 bias" : "gemm_int8", m, kk, n, off), pr.result(), want, true);
#if EIGENFORMER_HAS_VNNI_GEMM
          // The AVX-512BW path (what runs where the target lacks VNNI): the same integers.
          k::simd::detail::gemm_int8_impl<false>(pr.args(with_bias), 0, k::gemm_panels(n));
          require_same(label(with_bias ? "gemm_int8 (avx512bw) bias" : "gemm_int8 (avx512bw)", m, kk, n, off),
                       pr.result(), want, true);
#endif
        }
      }
    }
  }
  // Panel ranges and an epilogue: columns [64, 128) only, each finished stretch doubled.
  problem pr(7, 33, 200, 2, 99);
  const auto twice = [](float* row, std::size_t w) {
    for (std::size_t j = 0; j < w; ++j) row[j] *= 2.0f;
  };
  k::ref::gemm_int8(pr.args(true), 1, 2, twice);
  const std::vector<float> want = pr.result();
  for (std::size_t i = 0; i < 7; ++i) pr.c.data()[i * pr.ldc + 10] = -5.0f;  // outside the range: kept
  k::simd::gemm_int8(pr.args(true), 1, 2, twice);
  std::vector<float> got = pr.result();
  for (std::size_t i = 0; i < 7; ++i) {
    REQUIRE(got[i * 200 + 10] == -5.0f);
    got[i * 200 + 10] = want[i * 200 + 10];
  }
  require_same("gemm_int8 panel range with epilogue", got, want, true);
}

TEST_CASE("gemm_int8: non-finite rows and columns give NaN outputs, zero rows give the bias",
          "[kernels][int8]") {
  problem pr(3, 20, 70, 0, 5);
  pr.a.data()[1 * (20 + 3) + 4] = f_nan;    // row 1
  pr.a.data()[2 * (20 + 3) + 0] = -f_inf;   // row 2
  pr.b_values[7 * 70 + 66] = f_inf;        // column 66
  pr.b = k::packed_int8_matrix(pr.b_values.data(), 70, 20, 70);
  pr.qa = quantize(k::ref::quantize_rows, pr.a, 3, 20, 20);
  for (auto run : {+[](const k::gemm_int8_args& g) { k::ref::gemm_int8(g); },
                   +[](const k::gemm_int8_args& g) { k::simd::gemm_int8(g); }}) {
    run(pr.args(true));
    const std::vector<float> c = pr.result();
    for (std::size_t j = 0; j < 70; ++j) {
      REQUIRE(std::isnan(c[1 * 70 + j]));
      REQUIRE(std::isnan(c[2 * 70 + j]));
      REQUIRE(std::isnan(c[0 * 70 + j]) == (j == 66));
    }
  }
  buffer zeros(std::vector<float>(2 * 23, 0.0f), 0);
  pr.qa = quantize(k::ref::quantize_rows, zeros, 2, 20, 20);
  pr.m = 2;
  k::simd::gemm_int8(pr.args(true));
  const std::vector<float> c = pr.result();
  for (std::size_t j = 0; j < 70; ++j)
    if (j != 66) REQUIRE(c[j] == pr.bias[j]);
}

TEST_CASE("gemm_int8: the quantised product is within the bound its scales give of the fp32 product",
          "[kernels][int8]") {
  // a = s_a (u − 128 + e_a), w = s_b (q + e_b) with |e_a|, |e_b| ≤ 1/2 (+ the rounding of the
  // divisions), so |a·w − s_a s_b (u − 128) q| ≤ s_a s_b (127/2 + 127/2 + 1/4) per term:
  // |C_int8 − C| ≤ k · s_a · s_b · 127.25 · (1 + 1e-5), plus the float rounding of both sums
  // (k · eps · Σ|a||w| for the fp32 one, evaluated here in double).
  for (std::size_t kk : {std::size_t{16}, std::size_t{768}, std::size_t{3072}}) {
    problem pr(4, kk, 96, 0, kk);
    k::simd::gemm_int8(pr.args(true));
    const std::vector<float> got = pr.result();
    std::vector<double> want(4 * 96), bound(4 * 96);
    double worst = 0.0;
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t c = 0; c < 96; ++c) {
        double acc = pr.bias[c], mag = std::abs(pr.bias[c]);
        for (std::size_t r = 0; r < kk; ++r) {
          const double t = double(pr.a_values[i * (kk + 3) + r]) * pr.b_values[r * 96 + c];
          acc += t;
          mag += std::abs(t);
        }
        want[i * 96 + c] = acc;
        const double scales = double(pr.qa.scales[i]) * pr.b.scales()[c];
        bound[i * 96 + c] = double(kk) * scales * 127.25 * (1.0 + 1e-5) + 2.0 * double(kk) * eps * mag;
        worst = std::max(worst, std::abs(got[i * 96 + c] - acc) / mag);
      }
    }
    require_close("gemm_int8 against fp64, k=" + std::to_string(kk), got, want,
                  [&](std::size_t i) { return bound[i]; });
    // And the error is what quantisation costs, not a wrong product: well under 1 % of Σ|a·w|.
    REQUIRE(worst < 0.01);
  }
}

}  // namespace gemm_int8_test
