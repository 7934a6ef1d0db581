// simd::{dot, axpy, scale, add, mul} against their ref twins and a double-precision oracle.
#include <eigenformer/kernels/kernels.hpp>

#include "../support/check.hpp"
#include "../support/simd_width.hpp"

namespace k = eigenformer::kernels;
using namespace eftest;

namespace {
}

TEST_CASE("dot: simd and ref against a double oracle", "[kernels][blas]") {
  // Tolerance: the classic summation bound |computed − exact| ≤ L·eps·Σ|a_i·b_i|, with L the
  // longest chain of roundings: n + 1 for the left-to-right ref, n/W + 2·W + 4 for simd (each of
  // the 4 lane accumulators sums n/(4W) products, then the lanes and the scalar tail are added).
  for (std::size_t n : test_lengths(W)) {
    for (std::size_t off = 0; off < 4; ++off) {
      const auto av = uniform(n, -2.0f, 2.0f, 11 + n), bv = uniform(n, -2.0f, 2.0f, 17 + n);
      buffer a(av, off), b(bv, (off + 1) % 4);
      double exact = 0.0, mag = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        exact += double(av[i]) * bv[i];
        mag += std::abs(double(av[i]) * bv[i]);
      }
      const double got_simd = k::simd::dot(a.data(), b.data(), n);
      const double got_ref = k::ref::dot(av.data(), bv.data(), n);
      INFO(case_label("dot", n, off) << " exact " << exact << " simd " << got_simd << " ref " << got_ref);
      CHECK(std::abs(got_simd - exact) <= double(n / W + 2 * W + 4) * eps * mag);
      CHECK(std::abs(got_ref - exact) <= double(n + 1) * eps * mag);
    }
  }
}

TEST_CASE("dot: special values propagate", "[kernels][blas]") {
  for (std::size_t n : {std::size_t{1}, W - 1, W, 2 * W + 3, 4 * W + 5}) {
    for (std::size_t pos : {std::size_t{0}, n / 2, n - 1}) {
      std::vector<float> a(n, 1.0f), b(n, 0.5f);
      a[pos] = f_nan;
      CHECK(std::isnan(k::simd::dot(a.data(), b.data(), n)));
      a[pos] = f_inf;
      CHECK(k::simd::dot(a.data(), b.data(), n) == f_inf);
      a[pos] = -f_inf;
      CHECK(k::simd::dot(a.data(), b.data(), n) == -f_inf);
      b[pos] = 0.0f;  // inf * 0
      CHECK(std::isnan(k::simd::dot(a.data(), b.data(), n)));
    }
  }
  CHECK(k::simd::dot(nullptr, nullptr, 0) == 0.0f);
}

TEST_CASE("axpy: simd within one rounding of ref", "[kernels][blas]") {
  // simd fuses alpha·x + y (one rounding), ref may round twice: they differ by at most
  // eps·(|alpha·x| + |y|) per element.
  for (std::size_t n : test_lengths(W)) {
    for (std::size_t off = 0; off < 4; ++off) {
      const auto xv = uniform(n, -3.0f, 3.0f, 5 + n), yv = uniform(n, -3.0f, 3.0f, 7 + n);
      const float alpha = -1.37f;
      buffer x(xv, off), y(yv, (off + 3) % 4);
      k::simd::axpy(alpha, x.data(), y.data(), n);
      std::vector<float> want = yv;
      k::ref::axpy(alpha, xv.data(), want.data(), n);
      require_close(case_label("axpy", n, off), y.to_vector(), to_double(want), [&](std::size_t i) {
        return eps * (std::abs(double(alpha) * xv[i]) + std::abs(double(yv[i])));
      });
    }
  }
}

TEST_CASE("scale, add, mul: simd equals ref exactly, special values included", "[kernels][blas]") {
  // One IEEE operation per element: the results must be bit-identical (NaN meets NaN).
  for (std::size_t n : test_lengths(W)) {
    for (std::size_t off = 0; off < 4; ++off) {
      const auto av = with_specials(uniform(n, -5.0f, 5.0f, 3 + n), 1 + n);
      const auto bv = with_specials(uniform(n, -5.0f, 5.0f, 9 + n), 2 + n);
      buffer a(av, off), b(bv, (off + 2) % 4), out(n, (off + 1) % 4);

      std::vector<float> want(n);
      k::simd::add(a.data(), b.data(), out.data(), n);
      k::ref::add(av.data(), bv.data(), want.data(), n);
      require_same(case_label("add", n, off), out.to_vector(), want, true);

      k::simd::mul(a.data(), b.data(), out.data(), n);
      k::ref::mul(av.data(), bv.data(), want.data(), n);
      require_same(case_label("mul", n, off), out.to_vector(), want, true);

      k::simd::scale(a.data(), -0.75f, n);
      want = av;
      k::ref::scale(want.data(), -0.75f, n);
      require_same(case_label("scale", n, off), a.to_vector(), want, true);
    }
  }
}

TEST_CASE("add and mul allow out to alias an input", "[kernels][blas]") {
  const std::size_t n = 3 * W + 1;
  auto av = uniform(n, -1.0f, 1.0f, 1), bv = uniform(n, -1.0f, 1.0f, 2);
  std::vector<float> want(n);
  k::ref::add(av.data(), bv.data(), want.data(), n);
  k::simd::add(av.data(), bv.data(), av.data(), n);
  require_same("add in place", av, want);
  k::ref::mul(av.data(), bv.data(), want.data(), n);
  k::simd::mul(av.data(), bv.data(), bv.data(), n);
  require_same("mul in place", bv, want);
}
