// Every attention variant on the same inputs: prefill over n tokens (12 heads x head_dim 64,
// batch 1) and one decode step against a cache, at 1 thread and at all threads.
//
//   build/release/bench/bench_attention --benchmark_repetitions=3
//     --benchmark_report_aggregates_only=true --benchmark_out_format=json --benchmark_out=attn.json
//   /usr/bin/python3 bench/plot_attention.py attn.json bench/attention_prefill.png
//
// Counters: tokens_per_second; GFLOP/s (4·n²·64 per head for the score family, non-causal, the
// figure the targets use); scratch_MB, the working memory the kernel holds beyond Q, K, V and
// the output (per worker scratch, summed over workers); and, for decode, cache_MB.
// What each prefill costs in accuracy, beside its time: rel_error = ‖out − ref‖_F / ‖ref‖_F and
// cosine = ⟨out, ref⟩ / (‖out‖·‖ref‖), with ref the softmax attention of the same causality
// (dense for bidirectional variants, causal for causal ones) on the same Q, K, V, computed once
// per (n, causality) outside the timed loop. softmax_dense / softmax_causal are the references
// themselves (error 0 up to the thread count's summation order).
#include <eigenformer/attention.hpp>
#include <eigenformer/core/parallel.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <thread>
#include <vector>

namespace ea = eigenformer::attention;
namespace ef = eigenformer;

namespace {

constexpr ef::index_t heads = 12, hd = 64, width = heads * hd;

struct inputs {
  ef::matrix q, k, v;
};
// The same Q, K, V for every variant at a given n.
const inputs& inputs_for(ef::index_t n) {
  static std::map<ef::index_t, inputs> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    std::srand(1);
    inputs in;
    in.q = ef::matrix::Random(n, width);
    in.k = ef::matrix::Random(n, width);
    in.v = ef::matrix::Random(n, width);
    it = cache.emplace(n, std::move(in)).first;
  }
  return it->second;
}

constexpr float scale = 1.0f / 8.0f;

template <class Variant>
void run_once(ea::packed_attention_runner<Variant>& runner, const Variant& variant, const inputs& in, ef::matrix& out) {
  const std::vector<ef::index_t> offsets = {0, in.q.rows()};
  runner.run(variant, ef::view(in.q), ef::view(in.k), ef::view(in.v), offsets, ef::view(out), heads, heads, scale);
}

// Softmax attention of the given causality on inputs_for(n), computed once per (n, causal).
const ef::matrix& reference_for(ef::index_t n, bool causal) {
  static std::map<std::pair<ef::index_t, bool>, ef::matrix> cache;
  auto it = cache.find({n, causal});
  if (it == cache.end()) {
    ef::matrix out(n, width);
    if (causal) {
      ea::packed_attention_runner<ea::causal_softmax_attention> r;
      run_once(r, ea::causal_softmax_attention{}, inputs_for(n), out);
    } else {
      ea::packed_attention_runner<ea::softmax_attention> r;
      run_once(r, ea::softmax_attention{}, inputs_for(n), out);
    }
    it = cache.emplace(std::make_pair(n, causal), std::move(out)).first;
  }
  return it->second;
}

template <class Variant>
void prefill(benchmark::State& state, Variant variant, bool quadratic, bool causal) {
  const ef::index_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  ef::set_num_threads(threads);
  const inputs& in = inputs_for(n);
  // Faulted in before timing: a first write to 50 MB of fresh pages (n = 16K) costs more than
  // the cheapest variants' kernels, and would inflate t(16K) of exactly those.
  ef::matrix out = ef::matrix::Zero(n, width);
  ea::packed_attention_runner<Variant> runner;
  for (auto _ : state) {
    run_once(runner, variant, in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const ef::matrix& ref = reference_for(n, causal);
  const double ref_norm = double(ref.norm()), out_norm = double(out.norm());
  state.counters["rel_error"] = double((out - ref).norm()) / ref_norm;
  state.counters["cosine"] = double(out.cwiseProduct(ref).sum()) / (out_norm * ref_norm);
  std::size_t bytes = 0;
  for (const auto& s : runner.scratch()) bytes += s.bytes();
  state.counters["scratch_MB"] = double(bytes) / 1e6;
  state.counters["tokens_per_second"] = benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate);
  if (quadratic)
    state.counters["GFLOP/s"] = benchmark::Counter(4.0 * double(n) * double(n) * hd * heads * 1e-9,
                                                   benchmark::Counter::kIsIterationInvariantRate);
  ef::set_num_threads(1);
}

template <class Variant>
void decode(benchmark::State& state, Variant variant) {
  const ef::index_t len = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  ef::set_num_threads(threads);
  ea::attention_config c{.d_model = width, .num_heads = heads, .max_positions = len + 1};
  ea::multi_head_attention<Variant> mha(c, ea::attention_weights::random(c), variant);
  auto cache = mha.make_cache(1, len + 1);
  std::srand(2);
  const ef::matrix kv = ef::matrix::Random(len, hd);
  for (auto& st : cache.states)
    for (ef::index_t r = 0; r < len; ++r) variant.append(st, kv.row(r).data(), kv.row(r).data());
  cache.lengths[0] = len;
  const ef::matrix x = ef::matrix::Random(1, width);
  ef::matrix out(1, width);
  for (auto _ : state) {
    mha.decode(ef::view(x), ef::view(out), cache);
    // Undo the append so every iteration sees the same cache length.
    cache.lengths[0] -= 1;
    for (auto& st : cache.states) st.length -= 1;
    benchmark::DoNotOptimize(out.data());
  }
  std::size_t cache_bytes = 0;
  for (const auto& st : cache.states) {
    if constexpr (requires { st.bytes(); }) cache_bytes += st.bytes();
    else cache_bytes += sizeof(float) * std::size_t(st.s.size() + st.z.size());
  }
  state.counters["cache_MB"] = double(cache_bytes) / 1e6;
  state.counters["tokens_per_second"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  ef::set_num_threads(1);
}

/// @p causal: which softmax the error is measured against (the variant's own causality).
template <class Variant>
void register_prefill(const std::string& name, Variant v, bool quadratic, bool causal, ef::index_t max_n = 16384) {
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  auto* b = benchmark::RegisterBenchmark(("prefill/" + name).c_str(),
                                         [v, quadratic, causal](benchmark::State& s) { prefill(s, v, quadratic, causal); });
  b->ArgNames({"n", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
  for (int t : {1, all})
    for (ef::index_t n : {128, 512, 1024, 2048, 4096, 8192, 16384})
      if (n <= max_n) b->Args({n, t});
}

template <class Variant>
void register_decode(const std::string& name, Variant v) {
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  auto* b = benchmark::RegisterBenchmark(("decode/" + name).c_str(), [v](benchmark::State& s) { decode(s, v); });
  b->ArgNames({"cache", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
  for (int t : {1, all})
    for (ef::index_t n : {512, 4096, 16384}) b->Args({n, t});
}

// The baseline the dense target is stated against: Eigen's single-core GEMM at a BERT-base
// shape, in the same process.
void eigen_gemm_baseline(benchmark::State& state) {
  ef::set_num_threads(1);
  const ef::matrix a = ef::matrix::Random(128, 768), b = ef::matrix::Random(768, 768);
  ef::matrix c(128, 768);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 128 * 768 * 768 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  const ea::sliding_window_layout window(256, true);
  std::vector<ef::index_t> globals;
  for (ef::index_t g = 0; g < 16; ++g) globals.push_back(g);  // 16 global tokens (CLS-style, at the start)
  std::vector<std::uint8_t> blocks(256 * 256, 0);  // 64-token blocks: local band + first block
  for (int i = 0; i < 256; ++i) {
    blocks[std::size_t(i * 256)] = 1;
    for (int j = std::max(0, i - 3); j <= i; ++j) blocks[std::size_t(i * 256 + j)] = 1;
  }
  benchmark::RegisterBenchmark("baseline/eigen_gemm_128x768x768/threads:1", eigen_gemm_baseline)->UseRealTime();
  register_prefill("softmax_dense", ea::softmax_attention{}, true, false);
  register_prefill("softmax_causal", ea::causal_softmax_attention{}, true, true);
  register_prefill("sigmoid_dense", ea::sigmoid_attention<>{}, true, false);
  register_prefill("clipped_softmax_dense", ea::clipped_softmax_attention<>({}, ea::clipped_softmax_normalizer(-0.03f, 1.0f)), true, false);
  register_prefill("alibi_causal", ea::alibi_attention<>(ea::causal_layout{}, {}, {}, ea::alibi_bias::for_heads(heads)), true, true);
  register_prefill("sliding_window_256", ea::sliding_window_attention(window), false, true);
  register_prefill("window_global_256+16", ea::window_global_attention(ea::window_global_layout(256, globals, true)), false, true);
  register_prefill("dilated_128x2", ea::dilated_attention(ea::dilated_layout(128, 2, true)), false, true);
  register_prefill("block_sparse_64", ea::block_sparse_attention(ea::block_sparse_layout(64, 256, 256, blocks, true)), false, true);
  register_prefill("linformer_k256", ea::linformer_attention::shared(ef::matrix::Random(256, 16384) * 0.01f,
                                                                     ef::matrix::Random(256, 16384) * 0.01f), false, false);
  register_prefill("linear_elu_bidirectional", ea::linear_attention<ea::elu_plus_one_map>(false), false, false);
  register_prefill("linear_elu_causal", ea::linear_attention<ea::elu_plus_one_map>(true), false, true);
  register_prefill("linear_favor64_causal", ea::linear_attention<ea::favor_map>(true, ea::favor_map::random(64, 64, 1)), false, true);
  register_prefill("retention_causal", ea::linear_attention<ea::identity_map, ea::decay_update>(true, {}, {0.98f}, false), false, true);
  register_prefill("deltanet_causal", ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>(true, {}, {0.5f}), false, true);

  register_decode("softmax_causal", ea::causal_softmax_attention{});
  register_decode("sigmoid_causal", ea::sigmoid_attention<ea::causal_layout>({}, ea::sigmoid_normalizer{-8.0f}));
  register_decode("sliding_window_256", ea::sliding_window_attention(window));
  register_decode("linear_elu_causal", ea::linear_attention<ea::elu_plus_one_map>(true));
  register_decode("deltanet_causal", ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>(true, {}, {0.5f}));

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
