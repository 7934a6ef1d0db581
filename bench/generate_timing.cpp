// Prefill and decode speed of a decoder checkpoint folder (greedy, random prompt ids), and the
// memory read bandwidth measured in the same process right before and after each repetition;
// prints one JSON line. `bound_fraction` is the median over repetitions of decode tokens/s against
// the bandwidth bound of that repetition (weight bytes of the folder's *.safetensors read once per
// token / the mean of the two adjacent bandwidth probes): on a shared machine whose bandwidth
// drifts with its neighbours, a ratio of figures taken seconds apart is steadier than a ratio of
// medians taken a minute apart. bench/compare_pytorch.py --generation runs it beside a PyTorch
// implementation with a KV cache on the same weights.
// --dtype bf16 / int8 / int4 loads the linear layers as bf16 / int8 / int4; the bound then counts
// two bytes / one byte / 4.5 bits per F32 weight of the folder (int8's per-channel scales add
// 0.3 %, int4's per-group scales are in its 4.5 bits; the position table, which is not read whole
// and stays fp32, 0.6 %).
// `bytes_bound_fraction` counts everything a decode step reads, not only the weights: also the
// KV cache, 2 · n_layer · n_embd · 4 bytes (2 with --kv-dtype bf16) per cached position at the
// decode's mean context (prefill + decode / 2 positions; 42 MB per step at 576 positions for
// GPT-2-124M in fp32, a third of int8's weight bytes).
//   build/release/bench/bench_generate_timing --model build/gpt2-124m [--threads 1] [--prefill 512] [--decode 64] [--reps 3] [--dtype f32|bf16|int8|int4] [--kv-dtype f32|bf16]
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/models/gpt2.hpp>

#include "read_bandwidth.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace ef = eigenformer;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
// GB/s of bench::read_pass over @p buf (512 MiB), median of 3.
double read_bandwidth(const ef::kernels::weight_buffer& buf) {
  const std::size_t n = buf.size();
  std::vector<double> gbs;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    volatile float sink = bench::read_pass({buf.data(), buf.size()});
    (void)sink;
    gbs.push_back(double(n * sizeof(float)) / 1e9 /
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(gbs);
}
double weight_bytes(const std::string& dir) {
  double bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") bytes += double(e.file_size());
  return bytes;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = "build/gpt2-124m";
  int threads = 1, prefill = 512, decode = 64, reps = 3;
  std::string dtype = "f32", kv_dtype = "f32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--model") dir = v;
    else if (a == "--threads") threads = std::atoi(v.c_str());
    else if (a == "--prefill") prefill = std::atoi(v.c_str());
    else if (a == "--decode") decode = std::atoi(v.c_str());
    else if (a == "--reps") reps = std::atoi(v.c_str());
    else if (a == "--dtype") dtype = v;
    else if (a == "--kv-dtype") kv_dtype = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  try {
    ef::set_num_threads(std::max(1, threads));
    const ef::weight_type type = ef::parse_weight_type(dtype, "--dtype");
    const ef::weight_type kv = ef::parse_weight_type(kv_dtype, "--kv-dtype");
    auto model = ef::models::gpt2<>::load(dir, {.weights = type, .kv_cache = kv});
    std::mt19937 g(1);
    std::vector<ef::token_id> prompt(static_cast<std::size_t>(prefill));
    for (auto& t : prompt) t = ef::token_id(g() % std::uint32_t(model.vocab_size()));
    ef::generation::generate_options o;
    o.sampling.temperature = 0.0f;
    o.max_tokens = decode;
    const auto buf = bench::probe_buffer(std::size_t(128) << 20);
    const double bytes = weight_bytes(dir) / (type == ef::weight_type::int4   ? 32.0 / 4.5
                                               : type == ef::weight_type::int8 ? 4.0
                                               : type == ef::weight_type::bf16 ? 2.0
                                                                               : 1.0);
    const auto& c = model.config();
    const double kv_bytes = 2.0 * double(c.n_layer) * double(c.n_embd) * (kv == ef::weight_type::bf16 ? 2.0 : 4.0) *
                            (double(prefill) + 0.5 * decode);
    std::vector<double> pre, dec, gbs, frac, all_frac;
    ef::generation::generate(model, {prompt}, o);  // warm-up
    for (int r = 0; r < std::max(1, reps); ++r) {
      const double before = read_bandwidth(buf);
      const auto res = ef::generation::generate(model, {prompt}, o);
      const double after = read_bandwidth(buf), bw = 0.5 * (before + after);
      pre.push_back(res.stats.prefill_tokens_per_second());
      dec.push_back(res.stats.decode_tokens_per_second());
      gbs.push_back(bw);
      frac.push_back(dec.back() * bytes / (bw * 1e9));
      all_frac.push_back(dec.back() * (bytes + kv_bytes) / (bw * 1e9));
    }
    std::printf("{\"dtype\": \"%s\", \"kv_dtype\": \"%s\", \"prefill_tps\": %.2f, \"decode_tps\": %.2f, \"read_gbs\": %.2f, \"weight_gb\": %.4f, "
                "\"bound_fraction\": %.4f, \"kv_gb\": %.4f, \"bytes_bound_fraction\": %.4f}\n",
                dtype.c_str(), kv_dtype.c_str(), median(pre), median(dec), median(gbs), bytes / 1e9, median(frac), kv_bytes / 1e9,
                median(all_frac));
  } catch (const ef::error& e) {
    std::fprintf(stderr, "bench_generate_timing: %s\n", e.what());
    return 1;
  }
  return 0;
}
