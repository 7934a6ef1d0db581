// kernels::{ref,simd}::{dot_rows_bf16,axpy_rows_bf16}, the decode products against a bf16 K/V
// cache: the ref against a double reference of the same (rounded) rows within the bound of its
// fp32 sum; the simd twin bit for bit against the ref over every length 0..3·16+1 and the head
// sizes 64, 80, 128 and 256, row counts around the 4-row blocks, misaligned rows and query, and
// special values.
#include <eigenformer/kernels/gemm_bf16.hpp>
#include <eigenformer/kernels/kv_bf16.hpp>

#include <cstdint>
#include <cstring>

#include "../support/check.hpp"

// A namespace of its own: the kernel tests build as one translation unit (CONTRIBUTING.md).
namespace kv_bf16_test {

namespace k = eigenformer::kernels;
using namespace eftest;

// rows × d bf16 rows (stride d + 5, one element past an even boundary) from @p values.
std::vector<std::uint16_t> bf16_rows(const std::vector<float>& values, std::size_t rows, std::size_t d) {
  std::vector<std::uint16_t> out(rows * (d + 5) + 1, 0x7fc1);  // NaN bits beyond each row
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t i = 0; i < d; ++i) out[1 + r * (d + 5) + i] = k::to_bf16(values[r * d + i]);
  return out;
}

bool same_bits(float a, float b) { return std::isnan(a) ? std::isnan(b) : std::memcmp(&a, &b, 4) == 0; }

TEST_CASE("dot_rows_bf16: ref within its fp32 sum's bound of a double reference", "[kernels][bf16][kv]") {
  for (std::size_t d : {1, 16, 17, 64, 100, 256}) {
    const std::size_t rows = 9;
    const std::vector<float> kv = uniform(rows * d, -3.0f, 3.0f, d), q = uniform(d, -2.0f, 2.0f, d + 1);
    const auto k16 = bf16_rows(kv, rows, d);
    std::vector<float> s(rows, f_nan);
    k::ref::dot_rows_bf16(k16.data() + 1, std::ptrdiff_t(d + 5), rows, d, q.data(), s.data());
    for (std::size_t r = 0; r < rows; ++r) {
      double exact = 0, mag = 0;
      for (std::size_t i = 0; i < d; ++i) {
        const double kr = k::from_bf16(k16[1 + r * (d + 5) + i]);
        exact += kr * q[i];
        mag += std::abs(kr * q[i]);
      }
      // Each lane adds at most ceil(d / 16) products with one rounding each, the fold 4 more:
      // |error| ≤ (ceil(d/16) + 4) · 2^-24 · Σ|k·q| (to first order).
      const double bound = double((d + 15) / 16 + 4) * std::ldexp(1.0, -24) * mag * 1.01;
      INFO("d=" << d << " r=" << r);
      REQUIRE(std::abs(double(s[r]) - exact) <= bound);
    }
  }
}

TEST_CASE("dot_rows_bf16 and axpy_rows_bf16: simd is bit-identical to ref over lengths, misalignments and specials",
          "[kernels][bf16][kv]") {
  std::vector<std::size_t> lengths = test_lengths(16);
  lengths.back() = 64;  // the head sizes with a path of their own (64, 128), and 80 and 256
  lengths.insert(lengths.end(), {80, 128, 256});
  for (std::size_t d : lengths) {
    for (std::size_t rows : {0, 1, 3, 4, 5, 9}) {
      for (std::size_t off = 0; off < 3; ++off) {
        std::vector<float> kv = uniform(rows * d, -4.0f, 4.0f, d * 31 + rows + off);
        if (off == 2) kv = with_specials(kv, d + rows);
        const auto k16 = bf16_rows(kv, rows, d);
        buffer q(uniform(d, -2.0f, 2.0f, d + 7), off), w(uniform(rows, 0.0f, 1.0f, rows + 3), off);
        if (off == 1 && d > 0) q.data()[d / 2] = -1e30f;  // a large negative
        std::vector<float> s_ref(rows + 1, 5.0f), s_simd(rows + 1, 5.0f);
        k::ref::dot_rows_bf16(k16.data() + 1, std::ptrdiff_t(d + 5), rows, d, q.data(), s_ref.data());
        k::simd::dot_rows_bf16(k16.data() + 1, std::ptrdiff_t(d + 5), rows, d, q.data(), s_simd.data());
        const std::vector<float> start = uniform(d + 1, -1.0f, 1.0f, d + 11);
        buffer a_ref(start, off), a_simd(start, off);
        k::ref::axpy_rows_bf16(w.data(), k16.data() + 1, std::ptrdiff_t(d + 5), rows, d, a_ref.data());
        k::simd::axpy_rows_bf16(w.data(), k16.data() + 1, std::ptrdiff_t(d + 5), rows, d, a_simd.data());
        INFO("d=" << d << " rows=" << rows << " offset=" << off);
        for (std::size_t r = 0; r <= rows; ++r) REQUIRE(same_bits(s_ref[r], s_simd[r]));
        REQUIRE(s_simd[rows] == 5.0f);  // nothing written past the rows
        for (std::size_t i = 0; i <= d; ++i) REQUIRE(same_bits(a_ref.data()[i], a_simd.data()[i]));
        REQUIRE(a_simd.data()[d] == start[d]);  // nothing written past dv
      }
    }
  }
}

TEST_CASE("dot_rows_bf16 and axpy_rows_bf16: known values", "[kernels][bf16][kv]") {
  // Keys 1, 2, ..., 20 (exact in bf16), q all 0.5: Σ = 105; a NaN or inf in a row reaches its score.
  std::vector<float> kv(3 * 20);
  for (std::size_t i = 0; i < 20; ++i) kv[i] = float(i + 1), kv[20 + i] = 1.0f, kv[40 + i] = -2.0f;
  kv[25] = f_nan;
  kv[47] = -f_inf;
  const auto k16 = bf16_rows(kv, 3, 20);
  const std::vector<float> q(20, 0.5f), w = {1.0f, 0.5f, 0.25f};
  std::vector<float> s(3);
  k::simd::dot_rows_bf16(k16.data() + 1, 25, 3, 20, q.data(), s.data());
  CHECK(s[0] == 105.0f);
  CHECK(std::isnan(s[1]));
  CHECK(s[2] == -f_inf);
  std::vector<float> acc(20, 1.0f);
  k::simd::axpy_rows_bf16(w.data(), k16.data() + 1, 25, 1, 20, acc.data());  // row 0 only
  for (std::size_t i = 0; i < 20; ++i) CHECK(acc[i] == 1.0f + float(i + 1));
}

}  // namespace kv_bf16_test
