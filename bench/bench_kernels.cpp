// Each kernel's ref twin and SIMD version side by side at n = 64, 768 (BERT-base d_model) and
// 4096, in one process. bytes_per_second counts the floats each call reads and writes.
//
//   build/release/bench/bench_kernels --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <eigenformer/kernels/kernels.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace k = eigenformer::kernels;

namespace {

std::vector<float> data(std::size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void set_bytes(benchmark::State& s, std::size_t n, int streams) {
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations()) * static_cast<int64_t>(n) * streams *
                      static_cast<int64_t>(sizeof(float)));
}

using unary_fn = void (*)(const float*, float*, std::size_t);

template <unary_fn F>
void unary(benchmark::State& s, float lo, float hi) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto x = data(n, lo, hi, 1);
  std::vector<float> y(n);
  for (auto _ : s) {
    F(x.data(), y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 2);
}

template <float (*F)(const float*, const float*, std::size_t)>
void dot(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto a = data(n, -1, 1, 1), b = data(n, -1, 1, 2);
  for (auto _ : s) benchmark::DoNotOptimize(F(a.data(), b.data(), n));
  set_bytes(s, n, 2);
}

template <void (*F)(float, const float*, float*, std::size_t)>
void axpy(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto x = data(n, -1, 1, 1), y = data(n, -1, 1, 2);
  for (auto _ : s) {
    F(1e-3f, x.data(), y.data(), n);
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 3);
}

template <void (*F)(const float*, const float*, float*, std::size_t)>
void binary(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto a = data(n, -1, 1, 1), b = data(n, -1, 1, 2);
  std::vector<float> c(n);
  for (auto _ : s) {
    F(a.data(), b.data(), c.data(), n);
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 3);
}

template <void (*F)(float*, std::size_t)>
void softmax(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  const auto x0 = data(n, -8, 8, 3);
  auto x = x0;
  for (auto _ : s) {
    F(x.data(), n);  // repeated in place: the row stays a probability vector, same cost
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 2);
}

template <void (*F)(const float*, float*, std::size_t, const float*, const float*, float)>
void layer_norm(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto x = data(n, -2, 2, 1), g = data(n, 0.5f, 1.5f, 2), b = data(n, -1, 1, 3);
  std::vector<float> y(n);
  for (auto _ : s) {
    F(x.data(), y.data(), n, g.data(), b.data(), 1e-5f);
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 4);
}

template <void (*F)(const float*, float*, std::size_t, const float*, float)>
void rms_norm(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto x = data(n, -2, 2, 1), g = data(n, 0.5f, 1.5f, 2);
  std::vector<float> y(n);
  for (auto _ : s) {
    F(x.data(), y.data(), n, g.data(), 1e-6f);
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 3);
}

template <void (*F)(float*, std::size_t, const float*, const float*)>
void rope(benchmark::State& s) {
  const auto n = static_cast<std::size_t>(s.range(0));
  auto x = data(n, -1, 1, 1), c = data(n / 2, -1, 1, 2), sn = data(n / 2, -1, 1, 3);
  for (std::size_t i = 0; i < n / 2; ++i) {  // a real rotation keeps x bounded across iterations
    const float t = std::atan2(sn[i], c[i]);
    c[i] = std::cos(t);
    sn[i] = std::sin(t);
  }
  for (auto _ : s) {
    F(x.data(), n, c.data(), sn.data());
    benchmark::ClobberMemory();
  }
  set_bytes(s, n, 3);
}

template <class Fn, class... Args>
void pair(const char* name, Fn ref_fn, Fn simd_fn, Args... args) {
  for (auto [prefix, fn] : {std::pair{"ref/", ref_fn}, std::pair{"simd/", simd_fn}})
    benchmark::RegisterBenchmark((std::string(prefix) + name).c_str(), fn, args...)
        ->Arg(64)->Arg(768)->Arg(4096);
}

}  // namespace

int main(int argc, char** argv) {
  pair("dot", dot<k::ref::dot>, dot<k::simd::dot>);
  pair("axpy", axpy<k::ref::axpy>, axpy<k::simd::axpy>);
  pair("add", binary<k::ref::add>, binary<k::simd::add>);
  pair("mul", binary<k::ref::mul>, binary<k::simd::mul>);
  pair("exp", unary<k::ref::exp>, unary<k::simd::exp>, -80.0f, 0.0f);
  pair("softmax", softmax<k::ref::softmax>, softmax<k::simd::softmax>);
  pair("layer_norm", layer_norm<k::ref::layer_norm>, layer_norm<k::simd::layer_norm>);
  pair("rms_norm", rms_norm<k::ref::rms_norm>, rms_norm<k::simd::rms_norm>);
  pair("gelu_erf", unary<k::ref::gelu_erf>, unary<k::simd::gelu_erf>, -6.0f, 6.0f);
  pair("gelu_tanh", unary<k::ref::gelu_tanh>, unary<k::simd::gelu_tanh>, -6.0f, 6.0f);
  pair("silu", unary<k::ref::silu>, unary<k::simd::silu>, -6.0f, 6.0f);
  pair("sigmoid", unary<k::ref::sigmoid>, unary<k::simd::sigmoid>, -6.0f, 6.0f);
  pair("relu", unary<k::ref::relu>, unary<k::simd::relu>, -6.0f, 6.0f);
  pair("elu_plus_one", unary<k::ref::elu_plus_one>, unary<k::simd::elu_plus_one>, -6.0f, 6.0f);
  pair("rope_half", rope<k::ref::rope_half>, rope<k::simd::rope_half>);
  pair("rope_interleaved", rope<k::ref::rope_interleaved>, rope<k::simd::rope_interleaved>);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
