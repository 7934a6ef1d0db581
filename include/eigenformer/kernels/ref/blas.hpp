#pragma once
/// @file
/// Scalar reference kernels: dot, axpy, scale, elementwise add and mul. The slow twins of
/// kernels/simd/blas.hpp: same names, same arguments, plain loops.

#include <eigenformer/core/config.hpp>

#include <cstddef>

namespace eigenformer::kernels::ref {

/// Σ a[i]·b[i] over n elements, summed left to right in float.
inline float dot(const float* a, const float* b, std::size_t n) noexcept {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

/// y[i] += alpha·x[i].
inline void axpy(float alpha, const float* x, float* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

/// x[i] *= alpha, in place.
inline void scale(float* x, float alpha, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] *= alpha;
}

/// out[i] = a[i] + b[i]; out may alias a or b.
inline void add(const float* a, const float* b, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

/// out[i] = a[i]·b[i]; out may alias a or b.
inline void mul(const float* a, const float* b, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

}  // namespace eigenformer::kernels::ref
