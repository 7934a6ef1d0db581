#pragma once
/// @file
/// Activation policies: types with `static void apply(float* x, std::size_t n)` (in place) that
/// blocks and FFNs take as template parameters.

#include <eigenformer/kernels/kernels.hpp>

#include <cstddef>

namespace eigenformer::ops {

/// GELU, exact erf form (BERT; PyTorch approximate='none').
struct gelu_erf {
  static constexpr const char* name = "gelu";
  static void apply(float* x, std::size_t n) noexcept { kernels::active::gelu_erf(x, x, n); }
};
/// GELU, tanh approximation (GPT-2; PyTorch approximate='tanh', HF "gelu_new").
struct gelu_tanh {
  static constexpr const char* name = "gelu_tanh";
  static void apply(float* x, std::size_t n) noexcept { kernels::active::gelu_tanh(x, x, n); }
};
/// ReLU.
struct relu {
  static constexpr const char* name = "relu";
  static void apply(float* x, std::size_t n) noexcept { kernels::active::relu(x, x, n); }
};
/// SiLU / swish (LLaMA's SwiGLU gate).
struct silu {
  static constexpr const char* name = "silu";
  static void apply(float* x, std::size_t n) noexcept { kernels::active::silu(x, x, n); }
};
/// No activation (the bilinear GLU).
struct identity {
  static constexpr const char* name = "identity";
  static void apply(float*, std::size_t) noexcept {}
};

}  // namespace eigenformer::ops
