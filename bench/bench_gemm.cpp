// Baselines for the matmul work to come, in one process:
//  - the single-core FMA peak (independent FMA chains on full vectors, no memory traffic), and
//  - Eigen's GEMM on row-major float matrices at the shapes of a BERT-base layer,
//    [M, K] x [K, N] for M x K x N = 128x768x768, 128x768x3072, 128x3072x768 (prefill, seq 128)
//    and 1x768x768, 1x768x3072 (decode), at 1 thread and at all threads.
// GFLOP/s counts 2·M·N·K per product.
//
//   build/release/bench/bench_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include <benchmark/benchmark.h>

#include <thread>

namespace {

using eigenformer::matrix;
using eigenformer::kernels::compat::fbatch;

void fma_peak(benchmark::State& s) {
  // 12 independent accumulators cover the FMA latency (4 cycles) times 2 FMA ports, plus slack.
  constexpr int chains = 12, steps = 1000;
  fbatch acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = fbatch(1.0f + 0.01f * static_cast<float>(c));
  const fbatch a(0.999999f), b(1e-7f);
  for (auto _ : s) {
    for (int i = 0; i < steps; ++i)
      for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
    for (int c = 0; c < chains; ++c) benchmark::DoNotOptimize(acc[c]);
  }
  s.counters["GFLOP/s"] = benchmark::Counter(2.0 * chains * steps * fbatch::size * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(fma_peak);

void eigen_gemm(benchmark::State& s) {
  const auto m = s.range(0), k = s.range(1), n = s.range(2);
  const int threads = static_cast<int>(s.range(3));
  Eigen::setNbThreads(threads);
  matrix a = matrix::Random(m, k), b = matrix::Random(k, n), c(m, n);
  for (auto _ : s) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m * n * k) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
  s.counters["threads"] = Eigen::nbThreads();
  Eigen::setNbThreads(1);
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "threads"});
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  for (int t : {1, all}) {
    for (auto [m, k, n] : {std::tuple{128, 768, 768}, std::tuple{128, 768, 3072},
                           std::tuple{128, 3072, 768}, std::tuple{1, 768, 768},
                           std::tuple{1, 768, 3072}})
      b->Args({m, k, n, t});
    if (all == 1) break;
  }
  b->UseRealTime();
}
BENCHMARK(eigen_gemm)->Apply(gemm_shapes);

}  // namespace

BENCHMARK_MAIN();
