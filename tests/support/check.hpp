#pragma once
// Test helpers shared by the kernel tests: misaligned buffers, input generators, ulp distance and
// an elementwise comparison that reports the label, the worst index, the values and the tolerance.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace eftest {

inline constexpr float f_inf = std::numeric_limits<float>::infinity();
inline constexpr float f_nan = std::numeric_limits<float>::quiet_NaN();
inline constexpr double eps = std::numeric_limits<float>::epsilon();  // 2^-23

/// n floats starting @p offset floats past a 64-byte boundary, so kernels see every misalignment.
class buffer {
 public:
  buffer(std::size_t n, std::size_t offset) : storage_(n + offset + 16, f_nan), n_(n) {
    auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
    const std::size_t skip = ((64 - addr % 64) % 64) / sizeof(float);
    data_ = storage_.data() + skip + offset;
  }
  buffer(const std::vector<float>& v, std::size_t offset) : buffer(v.size(), offset) {
    if (!v.empty()) std::memcpy(data_, v.data(), v.size() * sizeof(float));
  }
  float* data() { return data_; }
  std::size_t size() const { return n_; }
  std::vector<float> to_vector() const { return std::vector<float>(data_, data_ + n_); }

 private:
  std::vector<float> storage_;
  float* data_ = nullptr;
  std::size_t n_;
};

/// Lengths every kernel test covers: 0 .. 3·width + 1, and one large length with a tail.
inline std::vector<std::size_t> test_lengths(std::size_t width) {
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 3 * width + 1; ++n) lengths.push_back(n);
  lengths.push_back(4096 + width / 2 + 1);
  return lengths;
}

inline std::vector<float> uniform(std::size_t n, float lo, float hi, std::size_t seed) {
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

/// The special values of rule 2: ±0, ±inf, NaN, large negatives, large positives, subnormals.
inline std::vector<float> special_values() {
  return {0.0f, -0.0f, f_inf, -f_inf, f_nan, -1e30f, 1e30f, -88.0f, 88.0f, 1e-40f, -1e-40f,
          std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest(),
          std::numeric_limits<float>::min(), 1.0f, -1.0f};
}

/// @p base with the special values written over it at spread-out positions (main loop and tail).
inline std::vector<float> with_specials(std::vector<float> base, std::size_t seed) {
  const auto specials = special_values();
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  for (std::size_t i = 0; i < base.size(); ++i)
    if (rng() % 3 == 0) base[i] = specials[rng() % specials.size()];
  return base;
}

/// Distance in units in the last place between two finite or infinite floats of the same kind.
inline std::int64_t ulp_distance(float a, float b) {
  auto ordered = [](float f) {
    std::int32_t i;
    std::memcpy(&i, &f, sizeof i);
    return i < 0 ? std::int64_t{std::numeric_limits<std::int32_t>::min()} - i : std::int64_t{i};
  };
  return std::llabs(ordered(a) - ordered(b));
}

/// Both NaN, or equal (infinities of the same sign included; +0 == -0 unless @p signed_zero).
inline bool same_value(float got, float want, bool signed_zero = false) {
  if (std::isnan(want)) return std::isnan(got);
  if (signed_zero && got == 0.0f && want == 0.0f) return std::signbit(got) == std::signbit(want);
  return got == want;
}

/// Elementwise comparison. For each i: NaN must meet NaN and ±inf the same infinity; otherwise
/// |got − want| ≤ tol(i). Fails once, reporting the worst element.
inline void require_close(const std::string& label, const std::vector<float>& got,
                          const std::vector<double>& want,
                          const std::function<double(std::size_t)>& tol) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0, worst = 0;
  double worst_ratio = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    bool ok;
    double ratio = 0.0;
    if (std::isnan(w) || std::isinf(w)) {
      ok = std::isnan(w) ? std::isnan(g) : g == w;
      ratio = ok ? 0.0 : f_inf;
    } else {
      const double t = tol(i);
      const double d = std::abs(g - w);
      ok = !std::isnan(g) && d <= t;
      ratio = std::isnan(g) ? f_inf : (t > 0 ? d / t : (d > 0 ? f_inf : 0.0));
    }
    if (!ok) ++bad;
    if (ratio > worst_ratio || (!ok && bad == 1)) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (bad != 0) {
    std::ostringstream os;
    os.precision(9);
    os << label << ": " << bad << " of " << got.size() << " elements out of tolerance; worst at ["
       << worst << "]: got " << got[worst] << ", want " << want[worst] << ", |diff| "
       << std::abs(double(got[worst]) - want[worst]) << ", tolerance " << tol(worst);
    FAIL(os.str());
  }
  SUCCEED(label);
}

/// Exact comparison (bitwise up to NaN payloads; ±0 distinguished when @p signed_zero).
inline void require_same(const std::string& label, const std::vector<float>& got,
                         const std::vector<float>& want, bool signed_zero = false) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!same_value(got[i], want[i], signed_zero)) {
      std::ostringstream os;
      os.precision(9);
      os << label << ": element [" << i << "] got " << got[i] << ", want " << want[i];
      FAIL(os.str());
    }
  }
  SUCCEED(label);
}

inline std::vector<double> to_double(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

inline std::string case_label(const char* kernel, std::size_t n, std::size_t offset) {
  return std::string(kernel) + " n=" + std::to_string(n) + " offset=" + std::to_string(offset);
}

}  // namespace eftest
