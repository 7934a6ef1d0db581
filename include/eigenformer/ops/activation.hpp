#pragma once
/// @file
/// Activation policies: types with `static void apply(float* x, std::size_t n)` (in place) that
/// blocks and FFNs take as template parameters.

#include <eigenformer/kernels/kernels.hpp>

#include <cmath>
#include <cstddef>
#include <string>

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

/// An activation chosen at run time by its Hugging Face name (ACT2FN), for heads that run once
/// per batch rather than in a block's loops (ModernBERT's classifier_activation).
enum class activation_fn { gelu, gelu_tanh, relu, silu, tanh, sigmoid, identity };

/// HF's name -> activation_fn: "gelu" (erf), "gelu_new" / "gelu_pytorch_tanh" (tanh form),
/// "relu", "silu" / "swish", "tanh", "sigmoid", "linear". Returns false for any other name.
inline bool activation_from_hf_name(const std::string& name, activation_fn& out) noexcept {
  if (name == "gelu") out = activation_fn::gelu;
  else if (name == "gelu_new" || name == "gelu_pytorch_tanh") out = activation_fn::gelu_tanh;
  else if (name == "relu") out = activation_fn::relu;
  else if (name == "silu" || name == "swish") out = activation_fn::silu;
  else if (name == "tanh") out = activation_fn::tanh;
  else if (name == "sigmoid") out = activation_fn::sigmoid;
  else if (name == "linear") out = activation_fn::identity;
  else return false;
  return true;
}
/// x[0, n) = f(x) in place.
inline void apply_activation(activation_fn f, float* x, std::size_t n) noexcept {
  switch (f) {
    case activation_fn::gelu: gelu_erf::apply(x, n); break;
    case activation_fn::gelu_tanh: gelu_tanh::apply(x, n); break;
    case activation_fn::relu: relu::apply(x, n); break;
    case activation_fn::silu: silu::apply(x, n); break;
    case activation_fn::tanh:
      for (std::size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      break;
    case activation_fn::sigmoid:
      for (std::size_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
      break;
    case activation_fn::identity: break;
  }
}

}  // namespace eigenformer::ops
