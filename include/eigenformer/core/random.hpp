#pragma once
/// @file
/// A small portable random stream (splitmix64): the same seed gives the same numbers on every
/// platform and standard library, and no global state is touched (unlike std::srand or Eigen's
/// Random, which share the C library's generator with the application).

#include <cmath>
#include <cstdint>

namespace eigenformer {

class random_stream {
 public:
  explicit random_stream(std::uint64_t seed) noexcept : state_(seed) {}

  /// The next 64 random bits (splitmix64, Steele et al. 2014).
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) from 53 random bits.
  double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [−a, a).
  float symmetric(float a) noexcept { return static_cast<float>((2.0 * uniform() - 1.0) * double(a)); }
  /// Standard normal (Box-Muller on two uniforms, the first in (0, 1]).
  double gaussian() noexcept {
    const double u1 = uniform() + 0x1.0p-53, u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Fills any Eigen dense object (matrix, vector, view) with uniform values in [−a, a).
  template <class Dense>
  void fill_symmetric(Dense&& x, float a) noexcept {
    for (decltype(x.rows()) r = 0; r < x.rows(); ++r)
      for (decltype(x.cols()) c = 0; c < x.cols(); ++c) x(r, c) = symmetric(a);
  }

 private:
  std::uint64_t state_;
};

}  // namespace eigenformer
