#pragma once
/// @file
/// Scalar reference kernels: exp and the activations (GELU erf and tanh forms, SiLU, sigmoid,
/// ReLU), written as the textbook formulas over the C++ standard library's float functions.
/// Every kernel takes (in, out, n) and allows out == in.

#include <eigenformer/core/config.hpp>

#include <cmath>
#include <cstddef>

namespace eigenformer::kernels::ref {

/// The per-element formulas, shared with the SIMD kernels' scalar tails.
namespace scalar {
inline float exp(float x) noexcept { return std::exp(x); }
/// GELU, exact form (BERT, PyTorch `approximate='none'`): 0.5·x·(1 + erf(x/√2)).
inline float gelu_erf(float x) noexcept {
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}
/// GELU, tanh form (GPT-2, PyTorch `approximate='tanh'`): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
inline float gelu_tanh(float x) noexcept {
  const float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + std::tanh(u));
}
/// Logistic sigmoid 1 / (1 + e^−x).
inline float sigmoid(float x) noexcept { return 1.0f / (1.0f + std::exp(-x)); }
/// SiLU (swish): x·σ(x), written x / (1 + e^−x).
inline float silu(float x) noexcept { return x / (1.0f + std::exp(-x)); }
/// elu(x) + 1: x + 1 for x > 0, e^x otherwise (the positive feature map of linear attention).
inline float elu_plus_one(float x) noexcept { return x > 0.0f ? x + 1.0f : std::exp(x); }
/// ReLU with NaN passed through and −0 mapped to +0: x if x > 0 or x is NaN, else +0.
inline float relu(float x) noexcept { return x <= 0.0f ? 0.0f : x; }
}  // namespace scalar

/// out[i] = e^x[i].
inline void exp(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::exp(x[i]);
}
/// out[i] = GELU(x[i]), erf form.
inline void gelu_erf(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::gelu_erf(x[i]);
}
/// out[i] = GELU(x[i]), tanh form.
inline void gelu_tanh(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::gelu_tanh(x[i]);
}
/// out[i] = σ(x[i]).
inline void sigmoid(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::sigmoid(x[i]);
}
/// out[i] = x[i]·σ(x[i]).
inline void silu(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::silu(x[i]);
}
/// out[i] = elu(x[i]) + 1.
inline void elu_plus_one(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::elu_plus_one(x[i]);
}
/// out[i] = max(x[i], 0), NaN kept.
inline void relu(const float* x, float* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = scalar::relu(x[i]);
}

}  // namespace eigenformer::kernels::ref
