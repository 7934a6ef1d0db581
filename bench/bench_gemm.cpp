// Baselines for the matmul work to come, in one process:
//  - the single-core FMA peak (independent FMA chains on full vectors, no memory traffic), and
//  - Eigen's GEMM on row-major float matrices at the shapes of a BERT-base layer,
//    [M, K] x [K, N] for M x K x N = 128x768x768, 128x768x3072, 128x3072x768 (prefill, seq 128)
//    and 1x768x768, 1x768x3072 (decode), at 1 thread and at all threads.
// GFLOP/s counts 2·M·N·K per product.
//
//   build/release/bench/bench_gemm --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/kernels/gemm_bf16.hpp>
#include <eigenformer/kernels/gemm_int4.hpp>
#include <eigenformer/kernels/gemm_int8.hpp>
#include <eigenformer/kernels/xsimd_compat.hpp>

#include "read_bandwidth.hpp"

#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

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

// kernels::simd::gemm on weights packed once, threads splitting the column panels (what
// ops::linear runs).
void packed_gemm(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0), kk = s.range(1), n = s.range(2);
  const int threads = static_cast<int>(s.range(3));
  eigenformer::set_num_threads(threads);
  matrix a = matrix::Random(m, kk), b = matrix::Random(kk, n), c(m, n);
  const k::packed_matrix bp(b.data(), n, std::size_t(kk), std::size_t(n));
  const k::gemm_args g{a.data(), kk, std::size_t(m), std::size_t(kk), std::size_t(n), &bp, nullptr, c.data(), n};
  const auto panels = std::ptrdiff_t(k::gemm_panels(std::size_t(n)));
  for (auto _ : s) {
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm(g, std::size_t(lo), std::size_t(hi));
    });
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m * n * kk) * 1e-9,
                                             benchmark::Counter::kIsIterationInvariantRate);
  s.counters["threads"] = eigenformer::num_threads();
  eigenformer::set_num_threads(1);
}
BENCHMARK(packed_gemm)->Apply(gemm_shapes);

// kernels::simd::gemm_int8 at the same shapes, each row of A quantised per call
// (kernels::simd::quantize_rows, on the calling thread) as ops::linear does: GOP/s counts
// 2·M·N·K, so it compares with packed_gemm's GFLOP/s directly.
void int8_gemm(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0), kk = s.range(1), n = s.range(2);
  const int threads = static_cast<int>(s.range(3));
  eigenformer::set_num_threads(threads);
  matrix a = matrix::Random(m, kk), b = matrix::Random(kk, n), c(m, n);
  const k::packed_int8_matrix bp(b.data(), n, std::size_t(kk), std::size_t(n));
  const std::size_t width = k::int8_row_bytes(std::size_t(kk));
  std::vector<std::uint8_t> u(std::size_t(m) * width);
  std::vector<float> scales(static_cast<std::size_t>(m));
  const k::gemm_int8_args g{u.data(), std::ptrdiff_t(width), scales.data(), std::size_t(m), std::size_t(n), &bp,
                            nullptr, c.data(), n};
  const auto panels = std::ptrdiff_t(k::gemm_panels(std::size_t(n)));
  for (auto _ : s) {
    k::simd::quantize_rows(a.data(), kk, std::size_t(m), std::size_t(kk), std::size_t(kk), u.data(),
                           std::ptrdiff_t(width), scales.data());
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm_int8(g, std::size_t(lo), std::size_t(hi));
    });
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.counters["GOP/s"] = benchmark::Counter(2.0 * double(m * n * kk) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  s.counters["threads"] = eigenformer::num_threads();
  eigenformer::set_num_threads(1);
}
BENCHMARK(int8_gemm)->Apply(gemm_shapes);

// kernels::simd::gemm_int4 at the same shapes, each row of A quantised and summed per group per
// call (quantize_rows, int4_prepare_rows) as ops::linear does: GOP/s counts 2·M·N·K.
void int4_gemm(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0), kk = s.range(1), n = s.range(2);
  const int threads = static_cast<int>(s.range(3));
  eigenformer::set_num_threads(threads);
  matrix a = matrix::Random(m, kk), b = matrix::Random(kk, n), c(m, n);
  const k::packed_int4_matrix bp(b.data(), n, std::size_t(kk), std::size_t(n));
  const std::size_t width = k::int4_row_bytes(std::size_t(kk)), groups = k::int4_groups(std::size_t(kk));
  std::vector<std::uint8_t> u(std::size_t(m) * width);
  std::vector<float> scales(static_cast<std::size_t>(m));
  std::vector<std::int32_t> sums(std::size_t(m) * groups);
  const k::gemm_int4_args g{reinterpret_cast<const std::int8_t*>(u.data()), std::ptrdiff_t(width), scales.data(),
                            sums.data(), std::ptrdiff_t(groups), std::size_t(m), std::size_t(n), &bp, nullptr,
                            c.data(), n};
  const auto panels = std::ptrdiff_t(k::gemm_panels(std::size_t(n)));
  for (auto _ : s) {
    k::simd::quantize_rows(a.data(), kk, std::size_t(m), std::size_t(kk), width, u.data(), std::ptrdiff_t(width),
                           scales.data());
    k::int4_prepare_rows(u.data(), std::ptrdiff_t(width), std::size_t(m), groups, sums.data(), std::ptrdiff_t(groups));
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm_int4(g, std::size_t(lo), std::size_t(hi));
    });
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.counters["GOP/s"] = benchmark::Counter(2.0 * double(m * n * kk) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  s.counters["threads"] = eigenformer::num_threads();
  eigenformer::set_num_threads(1);
}
BENCHMARK(int4_gemm)->Apply(gemm_shapes);

// kernels::simd::gemm_bf16 at the same shapes, each row of A rounded to bf16 per call
// (kernels::simd::to_bf16_rows, on the calling thread) as ops::linear does.
void bf16_gemm(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0), kk = s.range(1), n = s.range(2);
  const int threads = static_cast<int>(s.range(3));
  eigenformer::set_num_threads(threads);
  matrix a = matrix::Random(m, kk), b = matrix::Random(kk, n), c(m, n);
  const k::packed_bf16_matrix bp(b.data(), n, std::size_t(kk), std::size_t(n));
  const std::size_t width = k::bf16_row_elems(std::size_t(kk));
  std::vector<std::uint16_t> u(std::size_t(m) * width);
  const k::gemm_bf16_args g{u.data(), std::ptrdiff_t(width), std::size_t(m), std::size_t(n), &bp, nullptr, c.data(), n};
  const auto panels = std::ptrdiff_t(k::gemm_panels(std::size_t(n)));
  for (auto _ : s) {
    k::simd::to_bf16_rows(a.data(), kk, std::size_t(m), std::size_t(kk), std::size_t(kk), u.data(),
                          std::ptrdiff_t(width));
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm_bf16(g, std::size_t(lo), std::size_t(hi));
    });
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m * n * kk) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  s.counters["threads"] = eigenformer::num_threads();
  eigenformer::set_num_threads(1);
}
BENCHMARK(bf16_gemm)->Apply(gemm_shapes);

// Read bandwidth from memory: a simd sum over 512 MiB (far beyond the last-level cache), the
// threads splitting the buffer, four streams per thread. Bytes/s is the figure; the decode GEMV below is compared with it.
void read_bandwidth(benchmark::State& s) {
  const int threads = static_cast<int>(s.range(0));
  eigenformer::set_num_threads(threads);
  const std::size_t n = std::size_t(128) << 20;
  const auto buf = bench::probe_buffer(n);
  for (auto _ : s) benchmark::DoNotOptimize(bench::read_pass({buf.data(), buf.size()}));
  s.SetBytesProcessed(std::int64_t(s.iterations()) * std::int64_t(n * sizeof(float)));
  eigenformer::set_num_threads(1);
}
BENCHMARK(read_bandwidth)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

// Decode-shaped products (1..8 rows) on weights that do not fit in cache: a ring of 24 packed
// 768×3072 matrices (226 MB, the FFN up-projections of two BERT-base stacks), one product per
// iteration, so every weight byte comes from memory as it does for a real decode step.
// Bytes/s counts the packed weight bytes read; compare with read_bandwidth at the same threads.
void packed_gemv_stream(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0);
  const int threads = static_cast<int>(s.range(1));
  eigenformer::set_num_threads(threads);
  constexpr std::size_t kk = 768, n = 3072, ring = 24;
  const matrix b = matrix::Random(kk, n);
  std::vector<k::packed_matrix> weights;
  for (std::size_t i = 0; i < ring; ++i) weights.emplace_back(b.data(), std::ptrdiff_t(n), kk, n);
  matrix a = matrix::Random(m, kk), c(m, n);
  const auto panels = std::ptrdiff_t(k::gemm_panels(n));
  std::size_t next = 0;
  for (auto _ : s) {
    const k::gemm_args g{a.data(), kk, std::size_t(m), kk, n, &weights[next], nullptr, c.data(), n};
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm(g, std::size_t(lo), std::size_t(hi));
    });
    next = (next + 1) % ring;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.SetBytesProcessed(std::int64_t(s.iterations()) * std::int64_t(kk * n * sizeof(float)));
  eigenformer::set_num_threads(1);
}

// The same ring through Eigen's product (row-major [in, out] weights).
void eigen_gemv_stream(benchmark::State& s) {
  const auto m = s.range(0);
  const int threads = static_cast<int>(s.range(1));
  eigenformer::set_num_threads(threads);
  constexpr std::size_t kk = 768, n = 3072, ring = 24;
  std::vector<matrix> weights(ring, matrix::Random(kk, n));
  matrix a = matrix::Random(m, kk), c(m, n);
  std::size_t next = 0;
  for (auto _ : s) {
    c.noalias() = a * weights[next];
    next = (next + 1) % ring;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.SetBytesProcessed(std::int64_t(s.iterations()) * std::int64_t(kk * n * sizeof(float)));
  eigenformer::set_num_threads(1);
}

// The decode-shaped products on int8 weights: a ring of 96 packed 768×3072 int8 matrices (the
// same 226 MB as the fp32 ring, four times the matrices), rows quantised per call. Bytes/s
// counts the weight bytes read (panels, scales and zero-point terms).
void int8_gemv_stream(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0);
  const int threads = static_cast<int>(s.range(1));
  eigenformer::set_num_threads(threads);
  constexpr std::size_t kk = 768, n = 3072, ring = 96;
  const matrix b = matrix::Random(kk, n);
  std::vector<k::packed_int8_matrix> weights;
  for (std::size_t i = 0; i < ring; ++i) weights.emplace_back(b.data(), std::ptrdiff_t(n), kk, n);
  matrix a = matrix::Random(m, kk), c(m, n);
  std::vector<std::uint8_t> u(std::size_t(m) * kk);
  std::vector<float> scales(static_cast<std::size_t>(m));
  const auto panels = std::ptrdiff_t(k::gemm_panels(n));
  std::size_t next = 0;
  for (auto _ : s) {
    k::simd::quantize_rows(a.data(), kk, std::size_t(m), kk, kk, u.data(), kk, scales.data());
    const k::gemm_int8_args g{u.data(), kk, scales.data(), std::size_t(m), n, &weights[next], nullptr, c.data(), n};
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm_int8(g, std::size_t(lo), std::size_t(hi));
    });
    next = (next + 1) % ring;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.SetBytesProcessed(std::int64_t(s.iterations()) * std::int64_t(weights[0].bytes()));
  eigenformer::set_num_threads(1);
}

// The decode-shaped products on bf16 weights: a ring of 48 packed 768×3072 bf16 matrices (the
// same 226 MB as the fp32 ring), rows rounded per call. Bytes/s counts the weight bytes read.
void bf16_gemv_stream(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0);
  const int threads = static_cast<int>(s.range(1));
  eigenformer::set_num_threads(threads);
  constexpr std::size_t kk = 768, n = 3072, ring = 48;
  const matrix b = matrix::Random(kk, n);
  std::vector<k::packed_bf16_matrix> weights;
  for (std::size_t i = 0; i < ring; ++i) weights.emplace_back(b.data(), std::ptrdiff_t(n), kk, n);
  matrix a = matrix::Random(m, kk), c(m, n);
  std::vector<std::uint16_t> u(std::size_t(m) * kk);
  const auto panels = std::ptrdiff_t(k::gemm_panels(n));
  std::size_t next = 0;
  for (auto _ : s) {
    k::simd::to_bf16_rows(a.data(), kk, std::size_t(m), kk, kk, u.data(), kk);
    const k::gemm_bf16_args g{u.data(), kk, std::size_t(m), n, &weights[next], nullptr, c.data(), n};
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm_bf16(g, std::size_t(lo), std::size_t(hi));
    });
    next = (next + 1) % ring;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.SetBytesProcessed(std::int64_t(s.iterations()) * std::int64_t(weights[0].bytes()));
  eigenformer::set_num_threads(1);
}

// The decode-shaped products on int4 weights: a ring of 160 packed 768×3072 int4 matrices (the
// fp32 ring's 226 MB within 5 %), rows quantised per call. Bytes/s counts the weight bytes read
// (nibbles and scales).
void int4_gemv_stream(benchmark::State& s) {
  namespace k = eigenformer::kernels;
  const auto m = s.range(0);
  const int threads = static_cast<int>(s.range(1));
  eigenformer::set_num_threads(threads);
  constexpr std::size_t kk = 768, n = 3072, ring = 160, groups = kk / k::int4_group;
  const matrix b = matrix::Random(kk, n);
  std::vector<k::packed_int4_matrix> weights;
  for (std::size_t i = 0; i < ring; ++i) weights.emplace_back(b.data(), std::ptrdiff_t(n), kk, n);
  matrix a = matrix::Random(m, kk), c(m, n);
  std::vector<std::uint8_t> u(std::size_t(m) * kk);
  std::vector<float> scales(static_cast<std::size_t>(m));
  std::vector<std::int32_t> sums(std::size_t(m) * groups);
  const auto panels = std::ptrdiff_t(k::gemm_panels(n));
  std::size_t next = 0;
  for (auto _ : s) {
    k::simd::quantize_rows(a.data(), kk, std::size_t(m), kk, kk, u.data(), kk, scales.data());
    k::int4_prepare_rows(u.data(), kk, std::size_t(m), groups, sums.data(), groups);
    const k::gemm_int4_args g{reinterpret_cast<const std::int8_t*>(u.data()), kk, scales.data(), sums.data(), groups,
                              std::size_t(m), n, &weights[next], nullptr, c.data(), n};
    eigenformer::parallel_for(0, panels, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      k::simd::gemm_int4(g, std::size_t(lo), std::size_t(hi));
    });
    next = (next + 1) % ring;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  s.SetBytesProcessed(std::int64_t(s.iterations()) * std::int64_t(weights[0].bytes()));
  eigenformer::set_num_threads(1);
}

void gemv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "threads"});
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  for (int t : {1, all}) {
    for (int m : {1, 4, 8}) b->Args({m, t});
    if (all == 1) break;
  }
  b->UseRealTime();
}
BENCHMARK(packed_gemv_stream)->Apply(gemv_shapes);
BENCHMARK(eigen_gemv_stream)->Apply(gemv_shapes);
BENCHMARK(int8_gemv_stream)->Apply(gemv_shapes);
BENCHMARK(bf16_gemv_stream)->Apply(gemv_shapes);
BENCHMARK(int4_gemv_stream)->Apply(gemv_shapes);

}  // namespace

BENCHMARK_MAIN();
