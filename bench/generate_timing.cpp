// Prefill and decode speed of a decoder checkpoint folder (greedy, random prompt ids), and the
// memory read bandwidth measured in the same process; prints one JSON line. bench/compare_pytorch.py
// --generation runs it beside a PyTorch implementation with a KV cache on the same weights.
//   build/release/bench/bench_generate_timing --model build/gpt2-124m [--threads 1] [--prefill 512] [--decode 64] [--reps 3]
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/models/gpt2.hpp>

#include "read_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
// GB/s of bench::read_pass over 512 MiB (median of 5).
double read_bandwidth() {
  const std::size_t n = std::size_t(128) << 20;
  const std::vector<float> buf(n, 1.0f);
  std::vector<double> gbs;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile float sink = bench::read_pass(buf);
    (void)sink;
    gbs.push_back(double(n * sizeof(float)) / 1e9 /
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(gbs.begin(), gbs.end());
  return gbs[gbs.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build/gpt2-124m";
  int threads = 1, prefill = 512, decode = 64, reps = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--model") dir = v;
    else if (a == "--threads") threads = std::atoi(v.c_str());
    else if (a == "--prefill") prefill = std::atoi(v.c_str());
    else if (a == "--decode") decode = std::atoi(v.c_str());
    else if (a == "--reps") reps = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    ef::set_num_threads(std::max(1, threads));
    auto model = ef::models::gpt2<>::load(dir);
    std::mt19937 g(1);
    std::vector<ef::token_id> prompt(static_cast<std::size_t>(prefill));
    for (auto& t : prompt) t = ef::token_id(g() % std::uint32_t(model.vocab_size()));
    ef::generation::generate_options o;
    o.sampling.temperature = 0.0f;
    o.max_tokens = decode;
    std::vector<double> pre, dec;
    ef::generation::generate(model, {prompt}, o);  // warm-up
    for (int r = 0; r < std::max(1, reps); ++r) {
      const auto res = ef::generation::generate(model, {prompt}, o);
      pre.push_back(res.stats.prefill_tokens_per_second());
      dec.push_back(res.stats.decode_tokens_per_second());
    }
    std::sort(pre.begin(), pre.end());
    std::sort(dec.begin(), dec.end());
    std::printf("{\"prefill_tps\": %.2f, \"decode_tps\": %.2f, \"read_gbs\": %.2f}\n", pre[pre.size() / 2],
                dec[dec.size() / 2], read_bandwidth());
  } catch (const ef::error& e) {
    std::fprintf(stderr, "bench_generate_timing: %s\n", e.what());
    return 1;
  }
  return 0;
}
