// kernels::{ref,simd}::gemm_int4, packed_int4_matrix and int4_prepare_rows: the packing against
// known values and the round trip within the bound its scales give; the ref twin against an
// independent int64 reference (the nibbles' offset taken out term by term, not through the group
// sums); the simd twin against the ref bit for bit over shapes, strides, panel ranges and
// epilogues; non-finite inputs; and the whole quantised product against the exact product of the
// dequantised operands (float rounding only) and against fp32 (what 4 bits cost).
#include <eigenformer/kernels/gemm_int4.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../support/check.hpp"

// The whole file is in a namespace of its own: the kernel tests build as one translation unit.
namespace gemm_int4_test {

namespace k = eigenformer::kernels;
using namespace eftest;

// A [m, ka] (row stride ka + 3, ka ≤ k: a sub-network's first inputs) and B [k, n] uniform in
// ±1 (B's columns scaled apart), with A quantised and prepared for the int4 product.
struct problem {
  std::size_t m, kk, ka, n, ldc, groups, ldu;
  std::vector<float> a_values, b_values, bias;
  buffer a, c;
  k::packed_int4_matrix b;
  std::vector<std::uint8_t> u;
  std::vector<float> scales;
  std::vector<std::int32_t> sums;

  problem(std::size_t m_, std::size_t k_, std::size_t n_, std::size_t offset, std::size_t seed, std::size_t ka_ = 0)
      : m(m_), kk(k_), ka(ka_ ? ka_ : k_), n(n_), ldc(n_ + 5), groups(k::int4_groups(k_)),
        ldu(k::int4_row_bytes(k_) + 7), a_values(uniform(m_ * (ka + 3), -1.0f, 1.0f, seed)),
        b_values(scaled_columns(uniform(k_ * n_, -1.0f, 1.0f, seed + 1), n_)),
        bias(uniform(n_, -1.0f, 1.0f, seed + 2)), a(a_values, offset), c(m_ * (n_ + 5), (offset + 1) % 4),
        b(b_values.data(), std::ptrdiff_t(n_), k_, n_) {
    prepare();
  }
  void prepare() {
    u.assign(m * ldu + 1, 7);
    scales.assign(m, -1.0f);
    sums.assign(m * groups + 1, -1);
    k::ref::quantize_rows(a.data(), std::ptrdiff_t(ka + 3), m, ka, k::int4_row_bytes(kk), u.data() + 1,
                          std::ptrdiff_t(ldu), scales.data());
    k::int4_prepare_rows(u.data() + 1, std::ptrdiff_t(ldu), m, groups, sums.data() + 1, std::ptrdiff_t(groups));
  }
  static std::vector<float> scaled_columns(std::vector<float> v, std::size_t n) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] *= 1.0f + float(i % n) / 8.0f;
    return v;
  }
  const std::int8_t* row(std::size_t i) const { return reinterpret_cast<const std::int8_t*>(u.data() + 1 + i * ldu); }
  k::gemm_int4_args args(bool with_bias) {
    return {row(0), std::ptrdiff_t(ldu), scales.data(), sums.data() + 1, std::ptrdiff_t(groups), m, n, &b,
            with_bias ? bias.data() : nullptr, c.data(), std::ptrdiff_t(ldc)};
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

TEST_CASE("packed_int4_matrix: known values, the group scales, zero and non-finite groups", "[kernels][int4]") {
  // One column, k = 40, both groups on Q4_0's grid of their largest magnitude, so no error and no
  // other candidate scale can win: group 0 (rows 0..31) has −4, so d = 0.5 and −4 is level −8
  // (nibble 0); group 1 (rows 32..39, the rest padding) has +4, so d = −0.5 and 4 is level −8
  // too, while −3.5 is level 7 (nibble 15).
  std::vector<float> w(40, 0.0f);
  w[0] = -4.0f, w[1] = 1.0f, w[2] = 2.0f, w[3] = 3.5f, w[4] = -0.5f, w[5] = 3.0f;
  w[32] = 4.0f, w[33] = -3.5f, w[34] = 1.5f;
  const k::packed_int4_matrix p(w.data(), 1, 40, 1);
  REQUIRE(p.groups() == 2);
  REQUIRE(p.panels() == 1);
  REQUIRE(p.size_bytes() == 2 * 1024);
  REQUIRE(p.bytes() == 2 * 1024 + 2 * 64 * 2);
  REQUIRE(p.scale(0, 0) == 0.5f);
  REQUIRE(p.scale(1, 0) == -0.5f);
  const std::vector<std::pair<std::size_t, unsigned>> want = {
      {0, 0}, {1, 10}, {2, 12}, {3, 15}, {4, 7}, {5, 14}, {6, 8},
      {32, 0}, {33, 15}, {34, 5}, {39, 8}};
  for (const auto& [r, nib] : want) {
    INFO("row " << r);
    REQUIRE(p.nibble(r, 0) == nib);
  }
  REQUIRE(p.dequantized(5, 0) == 3.0f);
  REQUIRE(p.dequantized(33, 0) == -3.5f);
  for (std::size_t r = 40; r < 64; ++r) REQUIRE(p.nibble(r, 0) == 8);  // padding is zero
  for (std::size_t c = 1; c < 64; ++c) REQUIRE(p.scale(0, c) == 0.0f);

  // Three columns, k = 2: a column of zeros (d = 0, nibbles 8) and columns holding ±inf or NaN
  // (d = NaN, so their outputs are NaN).
  const std::vector<float> z = {0.0f, f_inf, 2.0f, -0.0f, 1.0f, f_nan};  // B [k = 2, n = 3]
  const k::packed_int4_matrix q(z.data(), 3, 2, 3);
  REQUIRE(q.scale(0, 0) == 0.0f);
  REQUIRE(q.nibble(0, 0) == 8);
  REQUIRE(q.nibble(1, 0) == 8);
  REQUIRE(std::isnan(q.scale(0, 1)));
  REQUIRE(std::isnan(q.scale(0, 2)));
}

TEST_CASE("packed_int4_matrix: round trip within the bound its scales give, transposed packing", "[kernels][int4]") {
  // Σ over all groups of the squared errors: the packer's, Q4_0's, and the least of every divisor
  // from −7 to −9 in steps of 1/8 (17 scores where the packer makes 11).
  double err_searched = 0, err_q4_0 = 0, err_exhaustive = 0;
  for (std::size_t n : {std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{130}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{31}, std::size_t{32}, std::size_t{33}, std::size_t{257}}) {
      auto w = uniform(kk * n, -2.0f, 2.0f, n + kk);
      for (std::size_t i = 0; i < w.size(); i += 5) w[i] *= 1e-3f;  // small values beside large ones
      std::vector<float> wt(n * kk);
      for (std::size_t r = 0; r < kk; ++r)
        for (std::size_t c = 0; c < n; ++c) wt[c * kk + r] = w[r * n + c];
      const k::packed_int4_matrix p(w.data(), std::ptrdiff_t(n), kk, n), pt(wt.data(), std::ptrdiff_t(kk), kk, n, true);
      REQUIRE(p.groups() == (kk + 31) / 32);
      REQUIRE(p.size_bytes() == p.groups() * 1024 * p.panels());
      for (std::size_t c = 0; c < n; ++c) {
        for (std::size_t g = 0; g < p.groups(); ++g) {
          const std::size_t r1 = std::min(kk, 32 * g + 32);
          float extreme = 0.0f;
          for (std::size_t r = 32 * g; r < r1; ++r)
            if (std::fabs(w[r * n + c]) > std::fabs(extreme)) extreme = w[r * n + c];
          const float d = p.scale(g, c);
          REQUIRE(pt.scale(g, c) == d);
          // Every candidate's squared error, in double, each value at its nearest level.
          const auto sse = [&](double dd) {
            double e2 = 0;
            for (std::size_t r = 32 * g; r < r1; ++r) {
              const double q = dd != 0 ? std::clamp(std::nearbyint(w[r * n + c] / dd), -8.0, 7.0) : 0.0;
              e2 += (w[r * n + c] - q * dd) * (w[r * n + c] - q * dd);
            }
            return e2;
          };
          const auto candidate = [&](float s) { return double(k::from_bf16(k::to_bf16(extreme / s))); };
          const double err0 = sse(candidate(-8.0f));  // Q4_0's grid
          // The first round's divisors, and the exhaustive grid the two rounds approximate.
          double err_first = err0, err_grid = err0;
          for (float s : k::int4_scale_candidates) err_first = std::min(err_first, sse(candidate(s)));
          bool from_search = false;  // d is one of the divisors the two rounds can reach
          for (int i = -8; i <= 24; ++i) {
            const float s = -7.0f - 0.125f * float(i);  // −6 .. −10 in steps of 1/8
            if (i >= 0 && i <= 16) err_grid = std::min(err_grid, sse(candidate(s)));
            if (i >= -1 && i <= 17 && d == float(candidate(s))) from_search = true;
          }
          if (d == 0.0f || std::isnan(d)) from_search = true;  // zero groups (k = 1 rows of zeros)
          REQUIRE(from_search);
          double group_err = 0;
          for (std::size_t r = 32 * g; r < r1; ++r) {
            REQUIRE(p.nibble(r, c) == pt.nibble(r, c));
            // Each value is at its nearest level of −8..7 · d: within half a step inside the
            // grid, at the grid's end beyond it.
            const double x = double(w[r * n + c]) / d, e = std::abs(double(p.dequantized(r, c)) - w[r * n + c]);
            const double step = std::abs(double(d));
            if (x > 7.5) REQUIRE(int(p.nibble(r, c)) - 8 == 7);
            else if (x < -8.5) REQUIRE(int(p.nibble(r, c)) - 8 == -8);
            else REQUIRE(e <= step * (0.5 + 1e-5) + 1e-30);
            group_err += e * e;
          }
          // The scale is never worse than the first round's best (float sums in the packer
          // against these double ones: 1e-5 of slack), so never worse than Q4_0's.
          REQUIRE(group_err <= err_first * (1 + 1e-5) + 1e-30);
          err_searched += group_err, err_q4_0 += err0, err_exhaustive += err_grid;
        }
        for (std::size_t r = kk; r < p.groups() * 32; ++r) REQUIRE(p.nibble(r, c) == 8);
      }
    }
  }
  // And it pays: over all these groups the squared error is well below Q4_0's, and close to
  // what the exhaustive grid finds.
  INFO("squared error, searched / Q4_0: " << err_searched / err_q4_0
       << ", searched / exhaustive: " << err_searched / err_exhaustive);
  REQUIRE(err_searched < 0.9 * err_q4_0);
  REQUIRE(err_searched < 1.01 * err_exhaustive);
}

TEST_CASE("int4_prepare_rows: signed bytes and the group sums", "[kernels][int4]") {
  // Two rows of one group and a bit: u = v + 128.
  std::vector<std::uint8_t> u(2 * 64 + 3, 128);
  u[0] = 255, u[1] = 1, u[2] = 130, u[31] = 0x80 + 5, u[32] = 0, u[64 + 3] = 200;
  std::vector<std::int32_t> sums(4, 99);
  k::int4_prepare_rows(u.data(), 64 + 3, 2, 2, sums.data(), 2);
  const auto v = [&](std::size_t i) { return int(static_cast<std::int8_t>(u[i])); };
  REQUIRE(v(0) == 127);
  REQUIRE(v(1) == -127);
  REQUIRE(v(2) == 2);
  REQUIRE(v(3) == 0);
  REQUIRE(v(32) == -128);
  REQUIRE(sums[0] == 127 - 127 + 2 + 5);
  REQUIRE(sums[1] == -128);
  REQUIRE(sums[2] == 200 - 128);
  REQUIRE(sums[3] == 0);
}

TEST_CASE("gemm_int4: ref equals an int64 reference of the dequantised levels", "[kernels][int4]") {
  for (std::size_t m : {std::size_t{1}, std::size_t{3}}) {
    for (std::size_t kk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{301}}) {
      for (std::size_t n : {std::size_t{5}, std::size_t{64}, std::size_t{70}}) {
        for (std::size_t ka : {kk, (kk + 1) / 2}) {  // all inputs, and a sub-network's first ones
          problem pr(m, kk, n, 1, m * 100 + kk + n, ka);
          for (bool with_bias : {false, true}) {
            k::ref::gemm_int4(pr.args(with_bias));
            const std::vector<float> got = pr.result();
            for (std::size_t i = 0; i < m; ++i) {
              for (std::size_t c = 0; c < n; ++c) {
                float acc = 0.0f;
                for (std::size_t g = 0; g < pr.groups; ++g) {
                  std::int64_t dot = 0;  // Σ q · v over the real inputs, q = nibble − 8
                  for (std::size_t r = 32 * g; r < std::min(ka, 32 * g + 32); ++r)
                    dot += (std::int64_t(pr.b.nibble(r, c)) - 8) * pr.row(i)[r];
                  acc = std::fma(pr.b.scale(g, c), float(dot), acc);
                }
                const float want = with_bias ? std::fma(acc, pr.scales[i], pr.bias[c]) : acc * pr.scales[i];
                REQUIRE(same_value(got[i * n + c], want, true));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("gemm_int4: simd is bit-identical to ref over shapes, strides, panel ranges and epilogues",
          "[kernels][int4]") {
  const std::size_t heights[] = {0, 1, 2, 3, 4, 5, 7, 13, 200};
  const std::size_t depths[] = {0, 1, 31, 32, 33, 64, 100, 257};
  std::vector<std::size_t> widths;
  for (std::size_t n = 1; n <= 49; n += 4) widths.push_back(n);
  for (std::size_t n : {63, 64, 65, 129, 300}) widths.push_back(n);
  for (std::size_t m : heights) {
    for (std::size_t kk : depths) {
      for (std::size_t n : widths) {
        if (m == 200 && n != 300 && n != 65) continue;  // the row blocking, on two widths
        const std::size_t off = (m + kk + n) % 4;
        problem pr(m, kk, n, off, m * 1000 + kk * 10 + n);
        for (bool with_bias : {false, true}) {
          k::ref::gemm_int4(pr.args(with_bias));
          const std::vector<float> want = pr.result();
          k::simd::gemm_int4(pr.args(with_bias));
          require_same(label(with_bias ? "gemm_int4 bias" : "gemm_int4", m, kk, n, off), pr.result(), want, true);
#if EIGENFORMER_HAS_VNNI_GEMM
          // The AVX-512BW path (what runs where the target lacks VNNI): the same integers.
          k::simd::detail::gemm_int4_impl<false>(pr.args(with_bias), 0, k::gemm_panels(n));
          require_same(label(with_bias ? "gemm_int4 (avx512bw) bias" : "gemm_int4 (avx512bw)", m, kk, n, off),
                       pr.result(), want, true);
#endif
        }
      }
    }
  }
  // Panel ranges and an epilogue: columns [64, 128) only, each finished stretch doubled.
  problem pr(7, 70, 200, 2, 99);
  const auto twice = [](float* row, std::size_t w) {
    for (std::size_t j = 0; j < w; ++j) row[j] *= 2.0f;
  };
  k::ref::gemm_int4(pr.args(true), 1, 2, twice);
  const std::vector<float> want = pr.result();
  for (std::size_t i = 0; i < 7; ++i) pr.c.data()[i * pr.ldc + 10] = -5.0f;  // outside the range: kept
  k::simd::gemm_int4(pr.args(true), 1, 2, twice);
  std::vector<float> got = pr.result();
  for (std::size_t i = 0; i < 7; ++i) {
    REQUIRE(got[i * 200 + 10] == -5.0f);
    got[i * 200 + 10] = want[i * 200 + 10];
  }
  require_same("gemm_int4 panel range with epilogue", got, want, true);
}

TEST_CASE("gemm_int4: non-finite rows and groups give NaN outputs, zero rows give the bias", "[kernels][int4]") {
  problem pr(3, 50, 70, 0, 5);
  pr.a.data()[1 * (50 + 3) + 4] = f_nan;   // row 1
  pr.a.data()[2 * (50 + 3) + 0] = -f_inf;  // row 2
  pr.b_values[40 * 70 + 66] = f_inf;       // column 66, group 1
  pr.b = k::packed_int4_matrix(pr.b_values.data(), 70, 50, 70);
  pr.prepare();
  for (auto run : {+[](const k::gemm_int4_args& g) { k::ref::gemm_int4(g); },
                   +[](const k::gemm_int4_args& g) { k::simd::gemm_int4(g); }}) {
    run(pr.args(true));
    const std::vector<float> c = pr.result();
    for (std::size_t j = 0; j < 70; ++j) {
      REQUIRE(std::isnan(c[1 * 70 + j]));
      REQUIRE(std::isnan(c[2 * 70 + j]));
      REQUIRE(std::isnan(c[0 * 70 + j]) == (j == 66));
    }
  }
  std::fill(pr.a.data(), pr.a.data() + 2 * 53, 0.0f);
  pr.m = 2;
  pr.prepare();
  k::simd::gemm_int4(pr.args(true));
  const std::vector<float> c = pr.result();
  for (std::size_t j = 0; j < 70; ++j)
    if (j != 66) REQUIRE(c[j] == pr.bias[j]);
}

TEST_CASE("gemm_int4: the product is the dequantised operands' up to float rounding, and within what 4 bits cost",
          "[kernels][int4]") {
  // Against the exact (double) product of the operands as quantised, s_a · v and (nibble − 8) · d:
  // each group's integer sum is exact, so the error is the float steps', at most (groups + 2)
  // roundings of a partial sum ≤ Σ|a'·w'|: (groups + 2) · 2^-24 · Σ|a'·w'| (checked with a 2x
  // margin). Against the fp32 product, the error is what quantisation costs, at worst over the
  // outputs: measured 7.6 % of Σ|a·w| at k = 16 (one group, half of it padding), 1.1 % at k = 768
  // and 0.60 % at k = 3072, where the groups' errors average out; it must stay under 10 %. (The
  // scale search lowers each group's squared error, not every output's worst case: with Q4_0's
  // grid alone these were 6.9, 0.84 and 0.65 %.)
  for (std::size_t kk : {std::size_t{16}, std::size_t{768}, std::size_t{3072}}) {
    problem pr(4, kk, 96, 0, kk);
    k::simd::gemm_int4(pr.args(false));
    const std::vector<float> got = pr.result();
    std::vector<double> exact(4 * 96), bound(4 * 96);
    double worst = 0.0;
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t c = 0; c < 96; ++c) {
        double acc = 0.0, mag = 0.0, fp = 0.0, fmag = 0.0;
        for (std::size_t r = 0; r < kk; ++r) {
          const double t = double(pr.scales[i]) * pr.row(i)[r] * double(pr.b.dequantized(r, c));
          acc += t;
          mag += std::abs(t);
          const double f = double(pr.a_values[i * (kk + 3) + r]) * pr.b_values[r * 96 + c];
          fp += f;
          fmag += std::abs(f);
        }
        exact[i * 96 + c] = acc;
        bound[i * 96 + c] = 2.0 * double(pr.groups + 2) * std::ldexp(1.0, -24) * mag + 1e-30;
        worst = std::max(worst, std::abs(got[i * 96 + c] - fp) / fmag);
      }
    }
    require_close("gemm_int4 against the dequantised operands, k=" + std::to_string(kk), got, exact,
                  [&](std::size_t i) { return bound[i]; });
    INFO("k=" << kk << " worst error against fp32: " << worst << " of sum |a w|");
    REQUIRE(worst < 0.10);
  }
}

// An executor as the packers' contract allows (disjoint ranges, any order): one panel per call,
// last panel first.
struct reversed_panels {
  template <class Fn>
  void operator()(std::size_t panels, Fn&& fn) const noexcept {
    for (std::size_t p = panels; p-- > 0;) fn(p, p + 1);
  }
};

TEST_CASE("packed matrices: panels packed one by one in any order give the bytes of one pass", "[kernels][int4]") {
  for (const auto& [kk, n] : {std::pair<std::size_t, std::size_t>{7, 130}, {33, 64}, {100, 65}, {64, 1}}) {
    for (const bool transposed : {false, true}) {
      const std::ptrdiff_t ld = std::ptrdiff_t(transposed ? kk : n) + 3;
      std::vector<float> b = uniform(std::size_t(ld) * (transposed ? n : kk), -2.0f, 2.0f, kk + n);
      const std::size_t c_inf = transposed ? 0 : n - 1;  // a non-finite group and column
      b[transposed ? std::min<std::size_t>(5, kk - 1) : n - 1] = INFINITY;
      if (b.size() >= 3 * std::size_t(ld))  // a zero row, or (transposed) a zero column
        for (std::size_t i = 0; i < std::size_t(ld); ++i) b[2 * std::size_t(ld) + i] = 0.0f;
      INFO("k=" << kk << " n=" << n << " transposed=" << transposed);
      const k::packed_int4_matrix q4(b.data(), ld, kk, n, transposed), r4(b.data(), ld, kk, n, transposed, reversed_panels{});
      for (std::size_t p = 0; p < q4.panels(); ++p) {
        CHECK(std::memcmp(q4.panel(p), r4.panel(p), q4.groups() * k::packed_int4_matrix::group_bytes) == 0);
        CHECK(std::memcmp(q4.panel_scales(p), r4.panel_scales(p), q4.groups() * 64 * sizeof(std::uint16_t)) == 0);
      }
      const k::packed_int8_matrix q8(b.data(), ld, kk, n, transposed), r8(b.data(), ld, kk, n, transposed, reversed_panels{});
      for (std::size_t p = 0; p < q8.panels(); ++p)
        CHECK(std::memcmp(q8.panel(p), r8.panel(p), q8.quads() * k::packed_int8_matrix::quad_bytes) == 0);
      CHECK(std::memcmp(q8.scales(), r8.scales(), q8.panels() * 64 * sizeof(float)) == 0);
      CHECK(std::memcmp(q8.zero_terms(), r8.zero_terms(), q8.panels() * 64 * sizeof(std::int32_t)) == 0);
      const k::packed_bf16_matrix qb(b.data(), ld, kk, n, transposed), rb(b.data(), ld, kk, n, transposed, reversed_panels{});
      for (std::size_t p = 0; p < qb.panels(); ++p)
        CHECK(std::memcmp(qb.panel(p), rb.panel(p), qb.pairs() * k::packed_bf16_matrix::pair_elems * 2) == 0);
      const k::packed_matrix qf(b.data(), ld, kk, n, transposed), rf(b.data(), ld, kk, n, transposed, reversed_panels{});
      CHECK(std::memcmp(qf.panel(0), rf.panel(0), qf.size() * sizeof(float)) == 0);
      CHECK(std::isnan(q8.scales()[c_inf]));  // the cases are there
      CHECK(std::isnan(q4.scale(0, c_inf)));
    }
  }
}

}  // namespace gemm_int4_test
