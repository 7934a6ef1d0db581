// Times a BERT-base-shaped encoder (random weights, post-norm, GELU, d_model 768, 12 heads, FFN
// 3072) over one sequence and prints the median milliseconds; bench/compare_pytorch.py runs it
// beside PyTorch in the same script.
//   bench_encoder_timing [--layers 12] [--seq 128] [--batch 1] [--threads 1] [--reps 10] [--memory 1] [--dtype f32|bf16|int8|int4]
// --dtype bf16 / int8 stores every linear layer as bf16 / int8, converted from the same weights.
// --memory 1 prints, instead of the time, the weight bytes, the shared workspace and the peak
// resident set size of the process (the figures of README "Memory").
#include <eigenformer/eigenformer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace ef = eigenformer;
namespace ea = eigenformer::attention;

int main(int argc, char** argv) {
  long layers = 12, seq = 128, threads = 1, reps = 10, memory = 0, batch = 1;
  std::string dtype = "f32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long v = std::strtol(argv[i + 1], nullptr, 10);
    if (a == "--dtype") dtype = argv[i + 1];
    else if (a == "--layers") layers = v;
    else if (a == "--seq") seq = v;
    else if (a == "--threads") threads = v;
    else if (a == "--reps") reps = v;
    else if (a == "--memory") memory = v;
    else if (a == "--batch") batch = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (layers < 1 || seq < 1 || threads < 1 || reps < 1 || batch < 1) {
    std::fprintf(stderr, "all options must be >= 1\n");
    return 2;
  }
  ef::set_num_threads(int(threads));
  constexpr ef::index_t d = 768, ff = 3072;
  using ffn = ef::ffn::dense_ffn<ef::ops::gelu_erf>;
  using layer = ef::blocks::encoder_block<ea::softmax_attention, ffn, ef::ops::layer_norm, ef::blocks::post_norm>;
  ea::attention_config cfg{.d_model = d, .num_heads = 12};
  ef::weight_type type;
  try {
    type = ef::parse_weight_type(dtype, "--dtype");
  } catch (const ef::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  const auto stored = [&](const ef::ops::linear& l) { return ef::ops::linear(l.weight(), l.bias(), "linear", type); };
  std::vector<layer> stack;
  for (long l = 0; l < layers; ++l) {
    ea::attention_weights w = ea::attention_weights::random(cfg, unsigned(l));
    w.type = type;
    const ffn f = ffn::random(d, ff);
    stack.emplace_back(ea::multi_head_attention<ea::softmax_attention>(cfg, std::move(w)), ffn(stored(f.up()), stored(f.down())),
                       ef::ops::layer_norm::identity(d), ef::ops::layer_norm::identity(d));
  }
  ef::models::encoder<layer, ef::ops::layer_norm> enc(std::move(stack));
  const ef::matrix x = ef::matrix::Random(seq * batch, d);
  ef::matrix out(seq * batch, d);
  std::vector<ef::index_t> offsets = {0};
  for (long b = 0; b < batch; ++b) offsets.push_back(offsets.back() + seq);
  enc.forward(ef::view(x), offsets, ef::view(out));  // warm-up: scratch grows once
  if (memory) {
    std::size_t weights = 0;
    for (long l = 0; l < layers; ++l) {
      auto& blk = enc.layer(std::size_t(l));
      weights += blk.ffn().up().weight_bytes() + blk.ffn().down().weight_bytes();
      weights += blk.attention().weight_bytes();
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("weight_bytes %zu\nworkspace_bytes %zu\nactivations_bytes %zu\npeak_rss_bytes %ld\n", weights,
                enc.workspace_bytes(), std::size_t(2 * x.size()) * sizeof(float), ru.ru_maxrss * 1024L);
    return 0;
  }
  std::vector<double> ms;
  for (long r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    enc.forward(ef::view(x), offsets, ef::view(out));
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%.3f\n", ms[ms.size() / 2]);
  return out.allFinite() ? 0 : 1;
}
