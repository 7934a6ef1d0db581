#pragma once
// The float width of one SIMD batch of the kernels under test (16 on AVX-512, 1 in the scalar
// build): kernel tests sweep every length 0 .. 3·W + 1. Shared so that the kernel tests, one
// translation unit in the unity build, define it once.
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cstddef>

namespace eftest {
inline constexpr std::size_t W = eigenformer::kernels::compat::width;
}  // namespace eftest
