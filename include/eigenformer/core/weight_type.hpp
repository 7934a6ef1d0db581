#pragma once
/// @file
/// How linear layers store their weights, chosen when a model is loaded. Activations, norms,
/// attention scores and everything between the linear layers stay fp32 at every type.

#include <eigenformer/core/config.hpp>
#include <eigenformer/core/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace eigenformer {

enum class weight_type : std::uint8_t {
  /// fp32, packed for the fp32 GEMM. The default, so that numbers never change silently.
  f32,
  /// bf16 (round to nearest even from F32/F16 checkpoints, taken as stored from BF16 ones); each
  /// call rounds the activations to bf16 as well, and the products are summed in fp32 on AVX-512
  /// BF16 (`vdpbf16ps`; kernels/gemm_bf16.hpp). 2 bytes per weight.
  bf16,
  /// int8, symmetric with one scale per output channel; each token's activations are quantised
  /// to int8 (one scale per token) for the product, which runs on AVX-512 VNNI
  /// (kernels/gemm_int8.hpp). 1 byte per weight + 8 bytes per output channel.
  int8,
  /// 4-bit, in groups of 32 inputs of one output channel with a bf16 scale each (the 16 levels
  /// −8..7 · scale, llama.cpp's Q4_0 layout, the scale searched for least squared error);
  /// activations quantised to int8 per token as for
  /// `int8`, the product on AVX-512 VNNI (kernels/gemm_int4.hpp). 4.5 bits per weight.
  int4,
};

/// "f32", "bf16", "int8" or "int4": the name `--dtype` takes.
inline const char* weight_type_name(weight_type t) noexcept {
  switch (t) {
    case weight_type::bf16: return "bf16";
    case weight_type::int8: return "int8";
    case weight_type::int4: return "int4";
    case weight_type::f32: break;
  }
  return "f32";
}

/// Parses a weight type by name ("f32", "bf16", "int8", "int4"); throws config_error naming @p what
/// otherwise.
inline weight_type parse_weight_type(std::string_view text, const std::string& what = "weight type") {
  if (text == "f32") return weight_type::f32;
  if (text == "bf16") return weight_type::bf16;
  if (text == "int8") return weight_type::int8;
  if (text == "int4") return weight_type::int4;
  throw_error<config_error>("core.weight_type", what, "f32, bf16, int8 or int4", "'" + std::string(text) + "'");
}

/// Options of a model load: `models::gpt2<>::load(dir, {.weights = weight_type::int8})`.
struct load_options {
  /// The storage of every linear layer (attention projections, FFNs, heads; a tied LM head's
  /// token lookups read the same storage).
  weight_type weights = weight_type::f32;
  /// The rows of the decoders' K/V caches: f32, or bf16 (half the bytes each decode step reads
  /// from the cache; keys and values rounded to nearest even as they are appended). Other
  /// types are rejected with config_error. Encoders, which keep no cache, ignore it.
  weight_type kv_cache = weight_type::f32;
};

}  // namespace eigenformer
