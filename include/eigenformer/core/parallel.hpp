#pragma once
/// @file
/// Threading: a parallel-for over index ranges. It uses OpenMP when the translation unit is
/// compiled with `-fopenmp` and runs serially otherwise. Callers write `fn` so that the result for
/// an index does not depend on which chunk it falls in; then results do not depend on the thread
/// count (beyond float summation order where a caller merges partial results).

#include <eigenformer/core/config.hpp>
#include <eigenformer/core/error.hpp>

#include <Eigen/Core>

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

/// The most threads set_num_threads() accepts: the processors this process can run on, or 64
/// when there are fewer (a few threads per core can help, and cost little), and never more than
/// OpenMP's thread limit. Layers keep scratch per thread, so a count nothing can run (100000)
/// would only allocate.
inline int max_threads() noexcept {
#if EIGENFORMER_HAS_OPENMP
  return std::max(1, std::min(std::max(omp_get_num_procs(), 64), omp_get_thread_limit()));
#else
  return 1;
#endif
}

/// Sets the number of threads parallel_for uses (1 = serial), and Eigen's own thread count to the
/// same value, so that a large product outside our parallel regions uses them too while products
/// inside them stay serial (Eigen does not nest inside an OpenMP region). A count above
/// max_threads() is clamped to it; returns the count in effect. Throws config_error when @p n < 1.
/// Has no effect on parallelism when compiled without OpenMP.
inline int set_num_threads(int n) {
  if (n < 1)
    throw_error<config_error>("threads", "thread count", "an integer >= 1", std::to_string(n));
  n = std::min(n, max_threads());
  detail::thread_count_setting.store(n, std::memory_order_relaxed);
  Eigen::setNbThreads(n);
  return n;
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
                         Fn&& fn) noexcept;

/// Like parallel_for, but also hands `fn` the index of the worker running the chunk,
/// `fn(first, last, worker)` with worker in [0, num_threads()), so that each worker can use its
/// own preallocated scratch. A worker index is never used by two chunks at the same time.
template <class Fn>
inline void parallel_for_workers(std::ptrdiff_t begin, std::ptrdiff_t end, std::ptrdiff_t grain,
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
      if (lo < hi) fn(lo, hi, static_cast<int>(t));
    }
    return;
  }
#else
  (void)grain;
#endif
  fn(begin, end, 0);
}

/// Calls `fn(i, worker)` for every i in [0, count), handing items out one at a time to whichever
/// worker is free (OpenMP dynamic schedule): for items of uneven cost, such as the query tiles
/// of causal attention. Serial without OpenMP.
template <class Fn>
inline void parallel_for_dynamic(std::ptrdiff_t count, Fn&& fn) noexcept {
  if (count <= 0) return;
#if EIGENFORMER_HAS_OPENMP
  const int threads = static_cast<int>(std::min<std::ptrdiff_t>(num_threads(), count));
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    {
      const int worker = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
      for (std::ptrdiff_t i = 0; i < count; ++i) fn(i, worker);
    }
    return;
  }
#endif
  for (std::ptrdiff_t i = 0; i < count; ++i) fn(i, 0);
}

template <class Fn>
inline void parallel_for(std::ptrdiff_t begin, std::ptrdiff_t end, std::ptrdiff_t grain,
                         Fn&& fn) noexcept {
  parallel_for_workers(begin, end, grain,
                       [&fn](std::ptrdiff_t lo, std::ptrdiff_t hi, int) { fn(lo, hi); });
}

}  // namespace eigenformer
