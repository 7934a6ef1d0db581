// Blocks at BERT-base shapes (d_model 768, 12 heads, FFN 3072), 1 thread and all threads:
//  - encoder layer (post-norm, GELU) at batch 1 x 128 and 8 x 128 packed;
//  - FFN variants with the same active parameters: dense 3072, SwiGLU 2048, MoE 8 experts
//    top-2 of dense 1536 each (router included), over 128 tokens;
//  - decoder layer (pre-norm, causal) decode step at cache length 1024.
//
//   build/release/bench/bench_blocks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <eigenformer/eigenformer.hpp>

#include <benchmark/benchmark.h>

#include <thread>
#include <vector>

namespace ef = eigenformer;
namespace ea = eigenformer::attention;

namespace {

constexpr ef::index_t d = 768, heads = 12, ff = 3072;
using gelu_ffn = ef::ffn::dense_ffn<ef::ops::gelu_erf>;
using enc_layer = ef::blocks::encoder_block<ea::softmax_attention, gelu_ffn, ef::ops::layer_norm, ef::blocks::post_norm>;
using dec_layer = ef::blocks::decoder_block<ea::causal_softmax_attention, ef::blocks::no_cross_attention, gelu_ffn,
                                            ef::ops::layer_norm, ef::blocks::pre_norm>;

void encoder_layer(benchmark::State& s) {
  const ef::index_t batch = s.range(0), seq = 128;
  ef::set_num_threads(int(s.range(1)));
  ea::attention_config cfg{.d_model = d, .num_heads = heads};
  enc_layer layer(ea::multi_head_attention<ea::softmax_attention>(cfg, ea::attention_weights::random(cfg)),
                  gelu_ffn::random(d, ff), ef::ops::layer_norm::identity(d), ef::ops::layer_norm::identity(d));
  std::vector<ef::index_t> offsets = {0};
  for (ef::index_t b = 0; b < batch; ++b) offsets.push_back(offsets.back() + seq);
  const ef::matrix x = ef::matrix::Random(batch * seq, d);
  ef::matrix out(x.rows(), d);
  for (auto _ : s) {
    layer.forward(ef::view(x), offsets, ef::view(out));
    benchmark::DoNotOptimize(out.data());
  }
  s.counters["tokens_per_second"] = benchmark::Counter(double(batch * seq), benchmark::Counter::kIsIterationInvariantRate);
  ef::set_num_threads(1);
}

template <class Ffn>
void ffn_variant(benchmark::State& s, Ffn ffn) {
  ef::set_num_threads(int(s.range(0)));
  const ef::matrix x = ef::matrix::Random(128, d);
  ef::matrix out(128, d);
  for (auto _ : s) {
    ffn.forward(ef::view(x), ef::view(out));
    benchmark::DoNotOptimize(out.data());
  }
  ef::set_num_threads(1);
}

void decoder_step(benchmark::State& s) {
  ef::set_num_threads(int(s.range(0)));
  const ef::index_t len = 1024;
  ea::attention_config cfg{.d_model = d, .num_heads = heads, .max_positions = len + 1};
  dec_layer layer(ea::multi_head_attention<ea::causal_softmax_attention>(cfg, ea::attention_weights::random(cfg)),
                  gelu_ffn::random(d, ff), ef::ops::layer_norm::identity(d), ef::ops::layer_norm::identity(d));
  auto cache = layer.make_cache(1, len + 1);
  const ef::matrix prompt = ef::matrix::Random(len, d);
  ef::matrix prompt_out(len, d);
  layer.prefill(ef::view(prompt), std::vector<ef::index_t>{0, len}, ef::view(prompt_out), cache);
  const ef::matrix x = ef::matrix::Random(1, d);
  ef::matrix out(1, d);
  for (auto _ : s) {
    layer.decode(ef::view(x), ef::view(out), cache);
    cache.lengths[0] -= 1;  // keep the cache at 1024 tokens
    for (auto& st : cache.states) st.length -= 1;
    benchmark::DoNotOptimize(out.data());
  }
  ef::set_num_threads(1);
}

}  // namespace

int main(int argc, char** argv) {
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  for (int t : {1, all}) {
    benchmark::RegisterBenchmark("encoder_layer_bert_base", encoder_layer)
        ->ArgNames({"batch", "threads"})->Args({1, t})->Args({8, t})->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("ffn/dense_gelu_3072", [](benchmark::State& s) { ffn_variant(s, gelu_ffn::random(d, ff)); })
        ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("ffn/swiglu_2048", [](benchmark::State& s) { ffn_variant(s, ef::ffn::swiglu::random(d, 2048)); })
        ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("ffn/moe_8x1536_top2", [](benchmark::State& s) {
      std::vector<gelu_ffn> experts;
      for (int e = 0; e < 8; ++e) experts.push_back(gelu_ffn::random(d, 1536));
      ffn_variant(s, ef::ffn::moe<gelu_ffn>(ef::ops::linear::random(d, 8), std::move(experts), {2}));
    })->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("decoder_layer_step_cache_1024", decoder_step)
        ->ArgName("threads")->Arg(t)->UseRealTime()->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
