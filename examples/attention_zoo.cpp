// eigenformer-attention-zoo: every attention variant on the same input, side by side: the time of
// a multi-head forward, the decode state it keeps for the whole sequence, and how far its output
// is from dense softmax attention of the same masking (causal or bidirectional). A quick tour.
#include <eigenformer/attention.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/io/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ef = eigenformer;
namespace ea = eigenformer::attention;

namespace {

constexpr const char* usage = R"(usage: eigenformer-attention-zoo [--tokens N] [--threads N]

Runs each attention variant of the library on the same random input (one sequence of N tokens,
default 1024; d_model 256, 4 heads, the same projection weights) and prints, per variant: the
median time of a forward pass, the bytes of decode state it would keep for the N tokens (KV cache,
ring, or d x d state; "-" for variants without decoding), and the largest difference from dense
softmax attention with the same masking (causal or bidirectional).
)";

struct row {
  std::string name;
  double ms;
  long long state_bytes;
  double deviation;
};

template <class State>
long long state_bytes(const State& st) {
  if constexpr (requires { st.bytes(); }) return static_cast<long long>(st.bytes());
  else if constexpr (requires { st.s; st.z; }) return (st.s.size() + st.z.size()) * 4;
  else return -1;
}

template <class Variant>
row run(const std::string& name, Variant v, const ea::attention_config& cfg, const ea::attention_weights& w,
        const ef::matrix& x, const ef::matrix& reference, int reps) {
  ea::multi_head_attention<Variant> mha(cfg, w, std::move(v));
  const std::vector<ef::index_t> off = {0, x.rows()};
  ef::matrix out(x.rows(), x.cols());
  std::vector<double> ms;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    mha.forward(ef::view(x), off, ef::view(out));
    if (r) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  long long bytes = -1;
  if constexpr (Variant::supports_decode) {
    auto cache = mha.make_cache(1, x.rows());
    ef::matrix tmp(x.rows(), x.cols());
    mha.prefill(ef::view(x), off, ef::view(tmp), cache);
    bytes = 0;
    for (const auto& st : cache.states) bytes += state_bytes(st);
  }
  return {name, ms[ms.size() / 2], bytes, double((out - reference).cwiseAbs().maxCoeff())};
}

}  // namespace

int main(int argc, char** argv) {
  ef::index_t n = 1024;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(usage, stdout);
      return 0;
    }
    if ((a == "--tokens" || a == "--threads") && i + 1 < argc) {
      long v = 0;
      if (auto e = ef::io::parse_integer(std::string_view(argv[++i]), 1L, 65536L, v)) {
        std::fprintf(stderr, "eigenformer-attention-zoo: %s: %s\n", a.c_str(), e->c_str());
        return 2;
      }
      if (a == "--tokens") n = v;
      else threads = int(v);
      continue;
    }
    std::fprintf(stderr, "eigenformer-attention-zoo: unknown argument '%s' (see --help)\n", a.c_str());
    return 2;
  }
  try {
    if (threads > 0) ef::set_num_threads(threads);
    const ea::attention_config cfg{.d_model = 256, .num_heads = 4, .max_positions = std::max<ef::index_t>(n, 16)};
    const auto w = ea::attention_weights::random(cfg, 7);
    std::srand(11);
    const ef::matrix x = ef::matrix::Random(n, 256);
    const std::vector<ef::index_t> off = {0, n};
    ef::matrix dense(n, 256), causal(n, 256);
    ea::multi_head_attention<ea::softmax_attention>(cfg, w).forward(ef::view(x), off, ef::view(dense));
    ea::multi_head_attention<ea::causal_softmax_attention>(cfg, w).forward(ef::view(x), off, ef::view(causal));
    std::vector<ef::index_t> globals = {0, 1, 2, 3};
    const ef::index_t blocks_per_side = (n + 63) / 64;
    std::vector<std::uint8_t> mask(std::size_t(blocks_per_side * blocks_per_side), 0);
    for (ef::index_t i = 0; i < blocks_per_side; ++i)
      for (ef::index_t j = std::max<ef::index_t>(0, i - 2); j <= i; ++j) mask[std::size_t(i * blocks_per_side + j)] = 1;
    const int reps = 5;
    std::vector<row> rows;
    rows.push_back(run("softmax, dense", ea::softmax_attention{}, cfg, w, x, dense, reps));
    rows.push_back(run("softmax, causal", ea::causal_softmax_attention{}, cfg, w, x, causal, reps));
    rows.push_back(run("sliding window 128, causal", ea::sliding_window_attention(ea::sliding_window_layout(128, true)), cfg, w, x, causal, reps));
    rows.push_back(run("window 128 + 4 global, causal", ea::window_global_attention(ea::window_global_layout(128, globals, true)), cfg, w, x,
                       causal, reps));
    rows.push_back(run("dilated 64 x 2, causal", ea::dilated_attention(ea::dilated_layout(64, 2, true)), cfg, w, x, causal, reps));
    rows.push_back(run("block-sparse 64 (band of 3), causal",
                       ea::block_sparse_attention(ea::block_sparse_layout(64, blocks_per_side, blocks_per_side, mask, true)), cfg, w, x,
                       causal, reps));
    rows.push_back(run("sigmoid, dense (b = -log n)", ea::sigmoid_attention<>{}, cfg, w, x, dense, reps));
    rows.push_back(run("clipped softmax, dense", ea::clipped_softmax_attention<>({}, ea::clipped_softmax_normalizer(-0.03f, 1.0f)), cfg, w,
                       x, dense, reps));
    rows.push_back(run("linformer k = 64, dense",
                       ea::linformer_attention::shared(ef::matrix::Random(64, n) * 0.05f, ef::matrix::Random(64, n) * 0.05f), cfg, w,
                       x, dense, reps));
    rows.push_back(run("linear elu+1, causal", ea::linear_attention<ea::elu_plus_one_map>(true), cfg, w, x, causal, reps));
    rows.push_back(run("linear FAVOR+ 64 features, causal", ea::linear_attention<ea::favor_map>(true, ea::favor_map::random(64, 64, 1)),
                       cfg, w, x, causal, reps));
    rows.push_back(run("retention (decay 0.98), causal",
                       ea::linear_attention<ea::identity_map, ea::decay_update>(true, {}, {0.98f}, false), cfg, w, x, causal, reps));
    rows.push_back(run("DeltaNet (beta 0.5), causal", ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>(true, {}, {0.5f}), cfg,
                       w, x, causal, reps));
    std::printf("%ld tokens, d_model 256, 4 heads, %d thread(s)\n\n", long(n), ef::num_threads());
    std::printf("%-38s %10s %16s %14s\n", "variant", "time (ms)", "decode state", "max |diff|");
    for (const auto& r : rows) {
      char state[32];
      if (r.state_bytes < 0) std::snprintf(state, sizeof state, "-");
      else std::snprintf(state, sizeof state, "%.1f KB", double(r.state_bytes) / 1024.0);
      std::printf("%-38s %10.2f %16s %14.3g\n", r.name.c_str(), r.ms, state, r.deviation);
    }
    std::printf("\n(max |diff| is against dense softmax with the same masking: 0 for the exact variants, the\n"
                "approximation error for windows covering less than the sequence, other normalizers and\n"
                "linear attention)\n");
  } catch (const ef::error& e) {
    std::fprintf(stderr, "eigenformer-attention-zoo: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // a failure the library did not type: still a message, not an abort
    std::fprintf(stderr, "eigenformer-attention-zoo: unexpected error: %s\n", e.what());
    return 1;
  }
  return 0;
}
