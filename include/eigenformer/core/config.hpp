#pragma once
/// @file
/// Version and build-configuration macros. Every eigenformer header includes this first.

#define EIGENFORMER_VERSION_MAJOR 0
#define EIGENFORMER_VERSION_MINOR 1
#define EIGENFORMER_VERSION_PATCH 0
#define EIGENFORMER_VERSION_STRING "0.1.0"

/// Defined to 1 when the SIMD kernels are in use, 0 when `EIGENFORMER_FORCE_SCALAR` routes every
/// caller above `kernels/` to the scalar reference kernels (the `ref` namespace).
#if defined(EIGENFORMER_FORCE_SCALAR) && EIGENFORMER_FORCE_SCALAR
#define EIGENFORMER_USE_SIMD 0
#else
#define EIGENFORMER_USE_SIMD 1
#endif

#if defined(_OPENMP)
#define EIGENFORMER_HAS_OPENMP 1
#else
#define EIGENFORMER_HAS_OPENMP 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define EIGENFORMER_RESTRICT __restrict__
#else
#define EIGENFORMER_RESTRICT
#endif
