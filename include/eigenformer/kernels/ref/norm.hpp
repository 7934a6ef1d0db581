#pragma once
/// @file
/// Scalar reference LayerNorm and RMSNorm over one row. The mean and variance are two-pass
/// (mean first, then Σ(x − mean)²), which keeps rows with a large common offset accurate.

#include <eigenformer/core/config.hpp>

#include <cmath>
#include <cstddef>

namespace eigenformer::kernels::ref {

/// y = (x − mean)/√(var + eps)·gain + bias, with the biased variance (as PyTorch's LayerNorm).
/// x, y: [n] (y may equal x); gain, bias: [n] or nullptr for 1 and 0. n = 0 does nothing.
inline void layer_norm(const float* x, float* y, std::size_t n, const float* gain,
                       const float* bias, float eps) noexcept {
  if (n == 0) return;
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(n);
  float sq = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
  for (std::size_t i = 0; i < n; ++i) {
    float v = (x[i] - mean) * rstd;
    if (gain) v *= gain[i];
    if (bias) v += bias[i];
    y[i] = v;
  }
}

/// y = x/√(mean(x²) + eps)·gain (LLaMA / T5 RMSNorm). x, y: [n] (y may equal x); gain: [n] or
/// nullptr for 1. n = 0 does nothing.
inline void rms_norm(const float* x, float* y, std::size_t n, const float* gain,
                     float eps) noexcept {
  if (n == 0) return;
  float sq = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sq += x[i] * x[i];
  const float rstd = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
  for (std::size_t i = 0; i < n; ++i) y[i] = gain ? x[i] * rstd * gain[i] : x[i] * rstd;
}

}  // namespace eigenformer::kernels::ref
