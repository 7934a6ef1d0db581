#include <eigenformer/core/parallel.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <vector>

namespace ef = eigenformer;

TEST_CASE("parallel_for visits every index exactly once, for any thread count", "[core][parallel]") {
  for (int threads : {1, 2, 3, 8}) {
    ef::set_num_threads(threads);
    CHECK(ef::num_threads() == (ef::has_threads() ? threads : 1));
    for (std::ptrdiff_t n : {0, 1, 2, 7, 1000}) {
      for (std::ptrdiff_t grain : {1, 3, 64}) {
        std::vector<int> hits(static_cast<std::size_t>(n) + 10, 0);
        std::atomic<int> chunks{0};
        ef::parallel_for(5, 5 + n, grain, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
          ++chunks;
          for (std::ptrdiff_t i = lo; i < hi; ++i) ++hits[static_cast<std::size_t>(i)];
        });
        for (std::ptrdiff_t i = 0; i < n + 10; ++i)
          CHECK(hits[static_cast<std::size_t>(i)] == (i >= 5 && i < 5 + n ? 1 : 0));
        // Never more chunks than threads, nor than the range allows at this grain.
        CHECK(chunks.load() <= std::max(threads, 1));
        CHECK(chunks.load() <= (n + grain - 1) / grain);
      }
    }
  }
  ef::set_num_threads(1);
}

TEST_CASE("parallel_for nested inside parallel_for runs the inner loop serially", "[core][parallel]") {
  ef::set_num_threads(2);
  std::vector<int> inner_chunks(2, 0);
  ef::parallel_for(0, 2, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
    for (std::ptrdiff_t i = lo; i < hi; ++i)
      ef::parallel_for(0, 100, 1, [&](std::ptrdiff_t, std::ptrdiff_t) { ++inner_chunks[static_cast<std::size_t>(i)]; });
  });
  CHECK(inner_chunks[0] == 1);
  CHECK(inner_chunks[1] == 1);
  ef::set_num_threads(1);
}

TEST_CASE("set_num_threads rejects counts below 1", "[core][parallel]") {
  CHECK_THROWS_AS(ef::set_num_threads(0), ef::config_error);
  CHECK_THROWS_WITH(ef::set_num_threads(-3),
                    "[eigenformer.threads] thread count: expected an integer >= 1, got -3");
}
