#pragma once
/// @file
/// The kernel layer: pointer + size math with no Eigen. Two namespaces with the same functions:
///  - `kernels::ref`: scalar reference twins (the definition of each result), and
///  - `kernels::simd`: the xsimd versions, compiled for the including translation unit's target.
/// Code above this layer calls `kernels::active`, which is `simd` unless the translation unit
/// defines `EIGENFORMER_FORCE_SCALAR`, in which case it is `ref`.

#include <eigenformer/core/config.hpp>
#include <eigenformer/kernels/ref/activation.hpp>
#include <eigenformer/kernels/ref/blas.hpp>
#include <eigenformer/kernels/ref/norm.hpp>
#include <eigenformer/kernels/ref/rope.hpp>
#include <eigenformer/kernels/ref/softmax.hpp>
#include <eigenformer/kernels/simd/activation.hpp>
#include <eigenformer/kernels/simd/blas.hpp>
#include <eigenformer/kernels/simd/norm.hpp>
#include <eigenformer/kernels/simd/rope.hpp>
#include <eigenformer/kernels/simd/softmax.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

namespace eigenformer::kernels {

#if EIGENFORMER_USE_SIMD
namespace active = simd;
#else
namespace active = ref;
#endif

/// The instruction set `kernels::active` runs on: xsimd's name for it (e.g. "avx512bw"), or
/// "scalar" when EIGENFORMER_FORCE_SCALAR is defined.
inline const char* active_arch_name() noexcept {
#if EIGENFORMER_USE_SIMD
  return compat::arch_name();
#else
  return "scalar";
#endif
}

}  // namespace eigenformer::kernels
