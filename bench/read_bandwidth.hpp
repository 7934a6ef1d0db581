#pragma once
// One pass of the memory read-bandwidth probe the decode benchmarks compare against: a SIMD sum
// over @p buf, the threads (parallel_for) splitting it, each reading its share as four
// interleaved sequential streams (more requests in flight than one stream; the decode kernel
// reads two weight panels at once). @p buf should be far larger than the last-level cache and
// allocated as weights are (probe_buffer), so that probe and weights see the same page sizes.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

namespace bench {

/// @p n floats of 1.0 in storage allocated as packed weights are (kernels::weight_buffer).
inline eigenformer::kernels::weight_buffer probe_buffer(std::size_t n) {
  eigenformer::kernels::weight_buffer b(n);
  std::fill(b.data(), b.data() + n, 1.0f);
  return b;
}

inline float read_pass(std::span<const float> buf) {
  using eigenformer::kernels::compat::fbatch;
  constexpr std::size_t W = fbatch::size, chunks = 4096;
  const std::size_t per_chunk = buf.size() / chunks;
  std::vector<float> partial(chunks, 0.0f);
  eigenformer::parallel_for(0, std::ptrdiff_t(chunks), 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
    const std::size_t quarter = std::size_t(hi - lo) * per_chunk / 4;
    const float* base = buf.data() + std::size_t(lo) * per_chunk;
    fbatch a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
    for (std::size_t i = 0; i + W <= quarter; i += W) {
      a0 += fbatch::load_unaligned(base + i);
      a1 += fbatch::load_unaligned(base + quarter + i);
      a2 += fbatch::load_unaligned(base + 2 * quarter + i);
      a3 += fbatch::load_unaligned(base + 3 * quarter + i);
    }
    partial[std::size_t(lo)] = eigenformer::kernels::compat::reduce_sum((a0 + a1) + (a2 + a3));
  });
  float total = 0.0f;
  for (float p : partial) total += p;
  return total;
}

}  // namespace bench
