#pragma once
/// @file
/// Threading: a parallel-for over index ranges. It uses OpenMP when the translation unit is
/// compiled with `-fopenmp` and runs serially otherwise. Callers write `fn` so that the result for
/// an index does not depend on which chunk it falls in; then results do not depend on the thread
/// count (beyond float summation order where a caller merges partial results).

#include <eigenformer/core/config.hpp>
#include <eigenformer/core/error.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string>

#if EIGENFORMER_HAS_OPENMP
#include <omp.h>
#endif

namespace eigenformer {

namespace detail {
/// 0 means "not set": use the OpenMP default (OMP_NUM_THREADS or the core count).
inline std::atomic<int> thread_count_setting{0};
}  // namespace detail

/// Sets the number of threads parallel_for uses (1 = serial). Throws config_error when
/// @p n < 1. Has no effect on parallelism when compiled without OpenMP.
inline void set_num_threads(int n) {
  if (n < 1)
    throw_error<config_error>("threads", "thread count", "an integer >= 1", std::to_string(n));
  detail::thread_count_setting.store(n, std::memory_order_relaxed);
}

/// Number of threads parallel_for will use: 1 without OpenMP, else the value given to
/// set_num_threads(), or OpenMP's default when none was given.
inline int num_threads() noexcept {
#if EIGENFORMER_HAS_OPENMP
  const int n = detail::thread_count_setting.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

/// True when built with OpenMP, so set_num_threads() changes the degree of parallelism.
inline constexpr bool has_threads() noexcept { return EIGENFORMER_HAS_OPENMP != 0; }

/// Calls `fn(first, last)` over disjoint chunks covering `[begin, end)`, each at least @p grain
/// long (except possibly the last), in parallel when OpenMP is on and the range is long enough.
/// Chunks are static and contiguous; inside an enclosing parallel region the loop runs serially.
/// @p fn must not throw (it is called from OpenMP threads, where an exception would terminate).
template <class Fn>
inline void parallel_for(std::ptrdiff_t begin, std::ptrdiff_t end, std::ptrdiff_t grain,
                         Fn&& fn) noexcept {
  if (end <= begin) return;
#if EIGENFORMER_HAS_OPENMP
  grain = std::max<std::ptrdiff_t>(grain, 1);
  const std::ptrdiff_t n = end - begin;
  const std::ptrdiff_t max_chunks = (n + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<std::ptrdiff_t>(num_threads(), max_chunks));
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    {
      const std::ptrdiff_t t = omp_get_thread_num();
      const std::ptrdiff_t nt = omp_get_num_threads();
      const std::ptrdiff_t lo = begin + n * t / nt;
      const std::ptrdiff_t hi = begin + n * (t + 1) / nt;
      if (lo < hi) fn(lo, hi);
    }
    return;
  }
#else
  (void)grain;
#endif
  fn(begin, end);
}

}  // namespace eigenformer
