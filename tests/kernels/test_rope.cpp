// simd::rope_{half,interleaved} against ref and against an explicit rotation in double.
#include <eigenformer/kernels/kernels.hpp>

#include "../support/check.hpp"
#include "../support/simd_width.hpp"

namespace k = eigenformer::kernels;
using namespace eftest;

namespace {

struct tables {
  std::vector<float> cos, sin;
};
tables make_tables(std::size_t d, int position, double base = 10000.0) {
  tables t{std::vector<float>(d / 2), std::vector<float>(d / 2)};
  for (std::size_t i = 0; i < d / 2; ++i) {
    const double theta = position * std::pow(base, -2.0 * double(i) / double(d));
    t.cos[i] = float(std::cos(theta));
    t.sin[i] = float(std::sin(theta));
  }
  return t;
}
// The exact rotation of each pair (a, b) by the table's float cos/sin, in double; scale[i] is
// |a·c| + |b·s| (or |b·c| + |a·s|), the magnitude the rounding error is relative to.
void rotate_double(const std::vector<float>& xv, const tables& t, bool interleaved, std::vector<double>& want,
                   std::vector<double>& scale) {
  const std::size_t d = xv.size();
  want.assign(d, 0.0);
  scale.assign(d, 0.0);
  for (std::size_t i = 0; i < d / 2; ++i) {
    const std::size_t ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + d / 2;
    const double a = xv[ia], b = xv[ib], c = t.cos[i], s = t.sin[i];
    want[ia] = a * c - b * s;
    want[ib] = b * c + a * s;
    scale[ia] = std::abs(a * c) + std::abs(b * s);
    scale[ib] = std::abs(b * c) + std::abs(a * s);
  }
}
// The simd kernel on `simd_x` and its ref twin on `ref_x`, same layout and tables.
void rotate_twins(float* simd_x, float* ref_x, std::size_t d, const tables& t, bool interleaved) {
  if (interleaved) {
    k::simd::rope_interleaved(simd_x, d, t.cos.data(), t.sin.data());
    k::ref::rope_interleaved(ref_x, d, t.cos.data(), t.sin.data());
  } else {
    k::simd::rope_half(simd_x, d, t.cos.data(), t.sin.data());
    k::ref::rope_half(ref_x, d, t.cos.data(), t.sin.data());
  }
}
}  // namespace

TEST_CASE("rope: both layouts, every even length and misalignment, against double", "[kernels][rope]") {
  for (std::size_t d = 0; d <= 6 * W + 2; d += 2) {
    for (std::size_t off = 0; off < 4; ++off) {
      const auto t = make_tables(d, 37);
      const auto xv = uniform(d, -2.0f, 2.0f, 600 + d + off);
      for (bool interleaved : {false, true}) {
        std::vector<double> want, scale;
        rotate_double(xv, t, interleaved, want, scale);
        buffer x(xv, off);
        auto r = xv;
        rotate_twins(x.data(), r.data(), d, t, interleaved);
        // Two products and a sum: at most 1.5 ulp of the larger product each (1 when fused).
        const auto tol = [&](std::size_t i) { return 2.0 * eps * scale[i]; };
        const char* name = interleaved ? "rope_interleaved" : "rope_half";
        require_close(std::string("simd ") + case_label(name, d, off), x.to_vector(), want, tol);
        require_close(std::string("ref ") + case_label(name, d, off), r, want, tol);
      }
    }
  }
}

TEST_CASE("rope: rotation preserves pair norms and position 0 is the identity", "[kernels][rope]") {
  const std::size_t d = 128;
  const auto xv = uniform(d, -1.0f, 1.0f, 77);
  auto x = xv;
  const auto t0 = make_tables(d, 0);
  k::simd::rope_half(x.data(), d, t0.cos.data(), t0.sin.data());
  require_same("rope at position 0", x, xv);
  const auto t = make_tables(d, 1000);
  x = xv;
  k::simd::rope_interleaved(x.data(), d, t.cos.data(), t.sin.data());
  for (std::size_t i = 0; i < d / 2; ++i) {
    const double before = std::hypot(double(xv[2 * i]), double(xv[2 * i + 1]));
    const double after = std::hypot(double(x[2 * i]), double(x[2 * i + 1]));
    CHECK(std::abs(before - after) <= 4 * eps * before);
  }
}

TEST_CASE("rope: special values propagate the same way in both twins", "[kernels][rope]") {
  // NaN and inf spread to the pair they sit in (inf·0 and inf − inf are NaN); the other pairs are
  // untouched. The oracle is the double rotation rounded to float, so overflow reads as inf.
  for (std::size_t d : {std::size_t{8}, 2 * W + 6, 4 * W, 6 * W + 2}) {
    for (bool interleaved : {false, true}) {
      const auto t = make_tables(d, 5);
      const auto xv = with_specials(uniform(d, -2.0f, 2.0f, 900 + d), 901 + d);
      std::vector<double> want, scale;
      rotate_double(xv, t, interleaved, want, scale);
      for (auto& w : want) w = double(float(w));  // rounded to float: overflow reads as inf
      auto x = xv, r = xv;
      rotate_twins(x.data(), r.data(), d, t, interleaved);
      const auto tol = [&](std::size_t i) { return 2.0 * eps * scale[i] + 1e-45; };
      const std::string label = std::string(interleaved ? "interleaved" : "half") + " d=" + std::to_string(d);
      require_close("simd rope specials " + label, x, want, tol);
      require_close("ref rope specials " + label, r, want, tol);
    }
  }
}
