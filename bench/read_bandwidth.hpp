#pragma once
// One pass of the memory read-bandwidth probe the decode benchmarks compare against: a SIMD sum
// over @p buf, the threads (parallel_for) splitting it, each reading its share as four
// interleaved sequential streams (more requests in flight than one stream; the decode kernel
// reads two weight panels at once). @p buf should be far larger than the last-level cache.
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <cstddef>
#include <vector>

namespace bench {

inline float read_pass(const std::vector<float>& buf) {
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
