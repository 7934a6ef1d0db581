// kernels/panel.hpp: packing keys (transposed) and values (rows) into panels, and the panel
// product: the AVX-512 twin against the scalar one bit for bit (both one fma chain per element in
// increasing k), the scalar twin against a double oracle, at misaligned, strided operands.
#include <eigenformer/kernels/panel.hpp>

#include <cstring>

#include "../support/check.hpp"

namespace k = eigenformer::kernels;
using namespace eftest;

namespace {

constexpr std::size_t PW = k::panel_width;

// A [m, kk] (row stride kk + 3, misaligned by off) and the panels of a [kk, n] matrix B (packed
// with pack_rows: B's rows become the panels' rows), C [m, n] with row stride n + 5.
struct product {
  std::size_t m, kk, n;
  std::vector<float> a_values, b_values, c_start;
  buffer a, panels, c;
  std::size_t stride;

  product(std::size_t m_, std::size_t k_, std::size_t n_, std::size_t off, std::size_t seed, bool specials)
      : m(m_), kk(k_), n(n_), a_values(uniform(m_ * (k_ + 3), -1.0f, 1.0f, seed)),
        b_values(uniform(k_ * n_, -1.0f, 1.0f, seed + 1)), c_start(uniform(m_ * (n_ + 5), -1.0f, 1.0f, seed + 2)),
        a(specials ? with_specials(a_values, seed + 3) : a_values, off),
        panels(k::panel_count(n_) * PW * std::max<std::size_t>(k_, 1), 0), c(c_start, (off + 1) % 4),
        stride(PW * std::max<std::size_t>(k_, 1)) {
    if (specials) b_values = with_specials(b_values, seed + 4);
    a_values = a.to_vector();
    k::pack_rows(b_values.data(), std::ptrdiff_t(n_), k_, n_, panels.data(), stride, 0);
  }
  k::panel_args args(bool init) {
    return {a.data(), std::ptrdiff_t(kk + 3), panels.data(), stride, m, kk, n, c.data(), std::ptrdiff_t(n + 5), init};
  }
  std::vector<float> result() const { return c.to_vector(); }
};

std::string label(const char* what, std::size_t m, std::size_t kk, std::size_t n, bool init) {
  return std::string(what) + " m=" + std::to_string(m) + " k=" + std::to_string(kk) + " n=" + std::to_string(n) +
         (init ? " (=)" : " (+=)");
}

}  // namespace

TEST_CASE("panel: pack_transposed writes Kᵀ and zeros past the used width", "[kernels][panel]") {
  for (std::size_t w : {std::size_t{0}, std::size_t{1}, std::size_t{17}, PW - 1, PW}) {
    for (std::size_t d : {std::size_t{1}, std::size_t{8}, std::size_t{64}}) {
      const std::size_t ld = d + 2;
      const auto x = uniform(std::max<std::size_t>(w, 1) * ld, -1.0f, 1.0f, w * 131 + d);
      buffer panel(PW * d, 0);
      k::pack_transposed(x.data(), std::ptrdiff_t(ld), w, d, panel.data());
      for (std::size_t r = 0; r < d; ++r)
        for (std::size_t c = 0; c < PW; ++c) {
          const float want = c < w ? x[c * ld + r] : 0.0f;
          REQUIRE(panel.data()[r * PW + c] == want);
        }
    }
  }
}

TEST_CASE("panel: pack_rows splits rows into 64-column panels at a row offset", "[kernels][panel]") {
  for (std::size_t n : {std::size_t{1}, std::size_t{64}, std::size_t{65}, std::size_t{130}}) {
    const std::size_t rows = 5, row0 = 3, ld = n + 1, total_rows = row0 + rows, stride = PW * total_rows;
    const auto x = uniform(rows * ld, -1.0f, 1.0f, n);
    buffer panels(k::panel_count(n) * stride, 0);
    k::pack_rows(x.data(), std::ptrdiff_t(ld), rows, n, panels.data(), stride, row0);
    for (std::size_t j = 0; j < k::panel_count(n); ++j)
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < PW; ++c) {
          const std::size_t col = j * PW + c;
          const float want = col < n ? x[r * ld + col] : 0.0f;
          REQUIRE(panels.data()[j * stride + (row0 + r) * PW + c] == want);
        }
  }
}

TEST_CASE("panel: ref product against a double oracle", "[kernels][panel]") {
  std::size_t seed = 1;
  for (std::size_t m : {std::size_t{1}, std::size_t{7}}) {
    for (std::size_t kk : {std::size_t{0}, std::size_t{1}, std::size_t{33}, std::size_t{128}}) {
      for (std::size_t n : {std::size_t{1}, std::size_t{63}, std::size_t{129}}) {
        for (bool init : {true, false}) {
          product p(m, kk, n, seed % 4, seed, false);
          k::ref::panel_product(p.args(init));
          const auto got = p.result();
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
              double exact = init ? 0.0 : double(p.c_start[i * (n + 5) + j]), mag = std::abs(exact);
              for (std::size_t r = 0; r < kk; ++r) {
                const double t = double(p.a_values[i * (kk + 3) + r]) * double(p.b_values[r * n + j]);
                exact += t;
                mag += std::abs(t);
              }
              // A chain of kk fmas (plus the start) rounds at most kk + 1 times, each ≤ eps/2 of
              // the partial sum, itself ≤ Σ|terms|: (kk + 1)·eps·mag bounds the error.
              REQUIRE(std::abs(got[i * (n + 5) + j] - exact) <= double(kk + 1) * eps * mag);
            }
          // Padding columns of C (row stride n + 5) are untouched.
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = n; j < n + 5; ++j) REQUIRE(same_value(got[i * (n + 5) + j], p.c_start[i * (n + 5) + j]));
          ++seed;
        }
      }
    }
  }
}

TEST_CASE("panel: simd product is bit-identical to ref over shapes, misalignments and specials",
          "[kernels][panel]") {
  if (!k::simd::has_gemm) {
    WARN("EIGENFORMER-SKIPPED: no AVX-512 micro-kernel in this build (simd::panel_product is the ref loop)");
    return;
  }
  std::size_t seed = 11;
  for (std::size_t m : {0, 1, 2, 5, 6, 7, 12, 13}) {  // around the 6-row micro-tile
    for (std::size_t kk : {std::size_t{0}, std::size_t{1}, std::size_t{5}, std::size_t{64}, std::size_t{129}}) {
      for (std::size_t n : test_lengths(PW)) {
        if (n > 3 * PW + 1 && m > 2) continue;  // the long length once per few heights is enough
        const bool init = seed % 2 == 0, specials = seed % 5 == 0;
        const std::size_t off = seed % 4;
        product want(m, kk, n, off, seed, specials), got(m, kk, n, off, seed, specials);
        k::ref::panel_product(want.args(init));
        k::simd::panel_product(got.args(init));
        require_same(label("simd vs ref", m, kk, n, init), got.result(), want.result(), true);
        ++seed;
      }
    }
  }
}
