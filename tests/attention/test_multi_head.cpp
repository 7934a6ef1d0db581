// multi_head_attention against the double-precision MHA reference: packed ragged batches, MHA /
// GQA / MQA, RoPE (both layouts) and ALiBi, gate, key padding; prefill + decode against prefill.
#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>

#include "../support/check.hpp"
#include "decode_check.hpp"
#include "mha_reference.hpp"

namespace ea = eigenformer::attention;
namespace ef = eigenformer;
using namespace eftest;

namespace {

// fp32 vs double (see test_score.cpp for the per-head part); the projections add d_model-length
// dot products (64-128 terms: ~1e-5 relative), so 5e-5 of the magnitude each output is built from.
constexpr double mha_rel_tol = 5e-5, mha_abs_tol = 1e-6;

const std::vector<ef::index_t> ragged = {0, 1, 8, 72, 201};  // lengths 1, 7, 64, 129

ef::matrix random_input(ef::index_t rows, ef::index_t cols, unsigned seed) {
  std::srand(seed);
  return ef::matrix::Random(rows, cols);
}

template <class Variant>
void check_forward(const std::string& label, const ea::attention_config& cfg, const Variant& variant,
                   std::function<ref_options(long, long)> options_for,
                   const std::vector<ef::index_t>& offsets = ragged, std::vector<std::uint8_t> key_valid = {}) {
  const auto w = ea::attention_weights::random(cfg, 7);
  ea::multi_head_attention<Variant> mha(cfg, w, variant);
  const ef::index_t t = offsets.back();
  const ef::matrix x = random_input(t, cfg.d_model, 3);
  ef::matrix out(t, cfg.d_model);
  mha.forward(ef::view(x), offsets, ef::view(out), key_valid);
  std::vector<long> loff(offsets.begin(), offsets.end());
  auto opts = options_for;
  if (!key_valid.empty())
    opts = [&, options_for](long s, long h) {
      ref_options ro = options_for(s, h);
      ro.key_valid = key_valid.data() + offsets[std::size_t(s)];
      return ro;
    };
  const auto want = mha_reference(cfg, w, x.cast<double>(), loff, opts);
  std::vector<float> got(out.data(), out.data() + out.size());
  std::vector<double> wv(want.out.data(), want.out.data() + want.out.size());
  require_close(label, got, wv, [&](std::size_t i) { return mha_rel_tol * want.mag.data()[i] + mha_abs_tol; });
}

ref_options causal_options(long, long) {
  ref_options ro;
  ro.allowed = [](long i, long j) { return j <= i; };
  return ro;
}

}  // namespace

TEST_CASE("multi-head: MHA, dense softmax, packed ragged batch", "[attention][mha]") {
  ea::attention_config c{.d_model = 64, .num_heads = 4};
  check_forward("mha dense", c, ea::softmax_attention{}, [](long, long) { return ref_options{}; });
  c.qkv_bias = c.out_bias = false;
  check_forward("mha dense, no biases", c, ea::softmax_attention{}, [](long, long) { return ref_options{}; });
}

TEST_CASE("multi-head: the head sizes at both ends of the supported range (8 and 256)", "[attention][mha]") {
  check_forward("head_dim 8", ea::attention_config{.d_model = 32, .num_heads = 4}, ea::causal_softmax_attention{},
                causal_options);
  check_forward("head_dim 256", ea::attention_config{.d_model = 512, .num_heads = 2, .position = ea::positional::rope},
                ea::causal_softmax_attention{}, causal_options, {0, 1, 8, 72});
}

TEST_CASE("multi-head: GQA and MQA with RoPE, causal", "[attention][mha]") {
  for (auto layout : {ef::ops::rope_layout::half, ef::ops::rope_layout::interleaved}) {
    ea::attention_config c{.d_model = 128, .num_heads = 8, .num_kv_heads = 2, .position = ea::positional::rope,
                           .rope = layout, .max_positions = 256};
    check_forward("gqa rope", c, ea::causal_softmax_attention{}, causal_options);
    c.num_kv_heads = 1;
    c.rope_base = 500000.0;
    check_forward("mqa rope", c, ea::causal_softmax_attention{}, causal_options);
  }
}

TEST_CASE("multi-head: ALiBi (6 heads: not a power of two), gated output, sliding window", "[attention][mha]") {
  ea::attention_config c{.d_model = 96, .num_heads = 6, .gated = true};
  const auto slopes = ef::ops::alibi_slopes(6);
  // ALiBi is the variant's score modifier; the layer binds the reference slopes for 6 heads.
  check_forward("alibi gated causal", c, ea::alibi_attention<>{}, [&](long s, long h) {
    ref_options ro = causal_options(s, h);
    ro.alibi_slope = slopes[std::size_t(h)];
    return ro;
  });
  // Slopes given by the caller must be one per head.
  const ea::alibi_attention<> two_slopes(ea::causal_layout{}, {}, {}, ea::alibi_bias({0.5f, 0.25f}));
  CHECK_THROWS_WITH(ea::multi_head_attention<ea::alibi_attention<>>(c, ea::attention_weights::random(c), two_slopes),
                    "[eigenformer.attention.alibi] slopes: expected 6 (one per head), got 2");
  check_forward("window 16", c, ea::sliding_window_attention(ea::sliding_window_layout(16, true)), [](long, long) {
    ref_options ro;
    ro.allowed = [](long i, long j) { return j <= i && j > i - 16; };
    return ro;
  });
}

TEST_CASE("multi-head: key padding mask for padded input", "[attention][mha]") {
  ea::attention_config c{.d_model = 64, .num_heads = 2};
  std::vector<std::uint8_t> valid(201, 1);
  for (std::size_t i = 60; i < 72; ++i) valid[i] = 0;    // sequence 2 padded at its end
  for (std::size_t i = 190; i < 201; ++i) valid[i] = 0;  // sequence 3 too
  check_forward("key padding", c, ea::softmax_attention{}, [](long, long) { return ref_options{}; }, ragged, valid);
}

TEST_CASE("multi-head: sigmoid attention's default bias is -log(max_positions) of the layer", "[attention][mha]") {
  ea::attention_config c{.d_model = 64, .num_heads = 4, .max_positions = 300};
  check_forward("sigmoid default bias", c, ea::sigmoid_attention<ea::causal_layout>{}, [](long s, long h) {
    ref_options ro = causal_options(s, h);
    ro.norm = ref_norm::sigmoid;
    ro.sigmoid_bias = -std::log(300.0);
    return ro;
  });
}

TEST_CASE("alibi slopes follow the reference recipe", "[attention][mha]") {
  const auto s8 = ef::ops::alibi_slopes(8);
  for (int h = 0; h < 8; ++h) CHECK(s8[std::size_t(h)] == Approx(std::pow(2.0, -(h + 1.0))).epsilon(1e-6));
  // 12 heads: the 8-head slopes, then slopes 1, 3, 5, 7 (1-based odd) of the 16-head sequence.
  const auto s12 = ef::ops::alibi_slopes(12);
  REQUIRE(s12.size() == 12);
  for (int i = 0; i < 4; ++i) CHECK(s12[std::size_t(8 + i)] == Approx(std::pow(2.0, -0.5 * (2 * i + 1))).epsilon(1e-6));
}


TEST_CASE("prefill then decode equals prefill of the whole sequence, for every decodable variant", "[attention][decode]") {
  ea::attention_config c{.d_model = 64, .num_heads = 4, .num_kv_heads = 2, .position = ea::positional::rope,
                         .max_positions = 512};
  const std::vector<ef::index_t> prompts = {5, 12, 1};
  check_prefill_then_decode("causal softmax", c, ea::causal_softmax_attention{}, prompts, 20);
  check_prefill_then_decode("sliding window (ring of 8)", c, ea::sliding_window_attention(ea::sliding_window_layout(8)),
                            prompts, 20);
  // The default bias is a constant of the layer (−log max_positions), so decode agrees with
  // prefill: with −log(keys so far) an earlier position's output would depend on the length.
  check_prefill_then_decode("sigmoid causal, default bias", c, ea::sigmoid_attention<ea::causal_layout>{}, prompts, 20);
  check_prefill_then_decode("sigmoid causal", c, ea::sigmoid_attention<ea::causal_layout>({}, ea::sigmoid_normalizer{-3.0f}),
                            prompts, 20);
  check_prefill_then_decode("clipped causal", c,
                            ea::clipped_softmax_attention<ea::causal_layout>({}, ea::clipped_softmax_normalizer(-0.05f, 1.0f)),
                            prompts, 20);
  check_prefill_then_decode("window+global causal", c,
                            ea::window_global_attention(ea::window_global_layout(4, {0, 1}, true)), prompts, 20);
  check_prefill_then_decode("dilated causal", c, ea::dilated_attention(ea::dilated_layout(4, 2, true)), prompts, 20);
  check_prefill_then_decode("block-sparse causal", c,
                            ea::block_sparse_attention(ea::block_sparse_layout(8, 4, 4, {1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1}, true)),
                            prompts, 20);
  c.position = ea::positional::none;
  check_prefill_then_decode("causal softmax alibi", c, ea::alibi_attention<>{}, prompts, 20);
  check_prefill_then_decode("sliding window alibi (ring of 8)", c,
                            ea::alibi_attention<ea::sliding_window_layout>(ea::sliding_window_layout(8)), prompts, 20);
}

TEST_CASE("a bf16 K/V cache: prefill then decode within bf16's bound of the fp32 whole-sequence prefill",
          "[attention][decode][bf16]") {
  ea::attention_config c{.d_model = 64, .num_heads = 4, .num_kv_heads = 2, .position = ea::positional::rope,
                         .max_positions = 512, .kv_cache = ef::weight_type::bf16};
  {
    ea::multi_head_attention<ea::causal_softmax_attention> f32(
        ea::attention_config{.d_model = 64, .num_heads = 4, .num_kv_heads = 2, .max_positions = 512},
        ea::attention_weights::random(c, 11));
    ea::multi_head_attention<ea::causal_softmax_attention> bf16(c, ea::attention_weights::random(c, 11));
    const auto a = f32.make_cache(1, 100), b = bf16.make_cache(1, 100);
    REQUIRE(b.states[0].bf16);
    CHECK(!a.states[0].bf16);
    CHECK(b.states[0].bytes() * 2 == a.states[0].bytes());  // 2 · 100 rows · 16 values · 2 bytes
    CHECK(b.states[0].bytes() == 6400);
  }
  // The decode rows read keys and values rounded to bf16 (relative error ≤ 2^-9 each): the
  // outputs, convex mixes of values with |v| ≲ 1.5, move by ≤ 2^-9 · max|v| through v and by
  // Σ|Δp|·max|v| through the scores (|Δs| ≤ 2^-9 · Σ|q·k| / √16 ≈ 2^-9 · 4, |Δp| ≤ 2|Δs|·p):
  // ~1e-2 of the output scale at worst. Measured (2026-12-03): 7.0e-4 for causal softmax, all
  // four within 2e-3; 5e-3 fails a decode that reads a wrong row (an O(1) change).
  const double tol = 5e-3;
  const std::vector<ef::index_t> prompts = {5, 12, 1};
  check_prefill_then_decode("causal softmax, bf16 cache", c, ea::causal_softmax_attention{}, prompts, 20, tol);
  check_prefill_then_decode("sliding window (ring of 8), bf16 cache", c,
                            ea::sliding_window_attention(ea::sliding_window_layout(8)), prompts, 20, tol);
  check_prefill_then_decode("sigmoid causal, bf16 cache", c, ea::sigmoid_attention<ea::causal_layout>{}, prompts, 20,
                            tol);
  c.position = ea::positional::none;
  check_prefill_then_decode("causal softmax alibi, bf16 cache", c, ea::alibi_attention<>{}, prompts, 20, tol);
  ea::attention_config bad = c;
  bad.kv_cache = ef::weight_type::int8;
  CHECK_THROWS_AS(bad.validate(), ef::config_error);
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("kv_cache") && Catch::Contains("f32 or bf16"));
}

TEST_CASE("decode of one long sequence splits its cache across threads and merges exactly", "[attention][decode]") {
  // One (sequence, head) item with caches of 1500+ keys: at 2 workers the policy splits each
  // step's keys in 2 ranges, merged by merge_decode_partials.
  CHECK(ea::split_decode_chunks(1, 1501, 2) == 2);
  CHECK(ea::split_decode_chunks(2, 1501, 2) == 1);  // as many items as workers: no split
  CHECK(ea::split_decode_chunks(1, 1000, 2) == 1);  // a short cache: no split
  if (!ef::has_threads()) {
    WARN("EIGENFORMER-SKIPPED: built without OpenMP: one worker, the split-K path cannot run here");
    return;
  }
  ef::set_num_threads(2);
  REQUIRE(ef::num_threads() == 2);
  ea::attention_config c{.d_model = 16, .num_heads = 1, .qkv_bias = false};
  check_prefill_then_decode("split-K decode", c, ea::causal_softmax_attention{}, {1500}, 3);
  ef::set_num_threads(1);
  check_prefill_then_decode("serial decode", c, ea::causal_softmax_attention{}, {1500}, 3);
}

TEST_CASE("invariants between variants", "[attention][invariants]") {
  ea::attention_config c{.d_model = 64, .num_heads = 2};
  const auto w = ea::attention_weights::random(c, 2);
  const ef::matrix x = random_input(201, 64, 9);
  auto run = [&](auto variant) {
    ea::multi_head_attention<decltype(variant)> mha(c, w, variant);
    ef::matrix out(x.rows(), c.d_model);
    mha.forward(ef::view(x), ragged, ef::view(out));
    return std::vector<float>(out.data(), out.data() + out.size());
  };
  const auto dense = run(ea::softmax_attention{});
  const auto causal = run(ea::causal_softmax_attention{});
  auto same = [](const std::string& l, const std::vector<float>& a, const std::vector<float>& b) {
    double scale = 0.0;
    for (float v : b) scale = std::max(scale, std::abs(double(v)));
    require_close(l, a, to_double(b), [&](std::size_t) { return 1e-6 * scale; });
  };
  // A window at least as long as the sequence is no window.
  same("symmetric window >= n is dense", run(ea::sliding_window_attention(ea::sliding_window_layout(129, false))), dense);
  same("causal window >= n is causal", run(ea::sliding_window_attention(ea::sliding_window_layout(129, true))), causal);
  // Every token global is dense.
  std::vector<ef::index_t> all(129);
  for (ef::index_t i = 0; i < 129; ++i) all[std::size_t(i)] = i;
  same("all tokens global is dense", run(ea::window_global_attention(ea::window_global_layout(1, all, false))), dense);
  // Dilation 1 is the sliding window; a block mask of ones is dense.
  same("dilated r=1 is the window", run(ea::dilated_attention(ea::dilated_layout(5, 1, true))),
       run(ea::sliding_window_attention(ea::sliding_window_layout(5, true))));
  same("all-ones block mask is dense", run(ea::block_sparse_attention(ea::block_sparse_layout(32, 5, 5, std::vector<std::uint8_t>(25, 1)))), dense);
  // Clipped softmax with γ = 0, ζ = 1 is softmax.
  same("clipped(0, 1) is softmax", run(ea::clipped_softmax_attention<ea::dense_layout>({}, ea::clipped_softmax_normalizer(0.0f, 1.0f))), dense);
}

TEST_CASE("multi-head: bad input gets a typed error that names the problem", "[attention][errors]") {
  ea::attention_config c{.d_model = 64, .num_heads = 4};
  const auto w = ea::attention_weights::random(c);
  ea::multi_head_attention<ea::softmax_attention> mha(c, w);
  ef::matrix x(10, 64), out(10, 64), bad(10, 32);
  const std::vector<ef::index_t> ok = {0, 4, 10}, decreasing = {0, 6, 4, 10};
  CHECK_THROWS_WITH(mha.forward(ef::view(bad), ok, ef::view(out)),
                    "[eigenformer.attention.forward] input x: expected [10, 64], got [10, 32]");
  CHECK_THROWS_AS(mha.forward(ef::view(x), ok, ef::view(bad)), ef::shape_error);
  CHECK_THROWS_WITH(mha.forward(ef::view(x), decreasing, ef::view(out)),
                    "[eigenformer.attention.forward] packed-batch offsets[2]: expected non-decreasing offsets (>= 6), got 4");
  std::vector<std::uint8_t> short_mask(3, 1);
  CHECK_THROWS_AS(mha.forward(ef::view(x), ok, ef::view(out), short_mask), ef::shape_error);

  ea::attention_config hd12{.d_model = 48, .num_heads = 4};  // head_dim 12: not a multiple of 8
  CHECK_THROWS_WITH(ea::multi_head_attention<ea::softmax_attention>(hd12, ea::attention_weights{}),
                    "[eigenformer.attention.config] head_dim: expected a multiple of 8 in [8, 256], got 12");
  ea::attention_config gqa{.d_model = 64, .num_heads = 4, .num_kv_heads = 3};
  CHECK_THROWS_AS(ea::multi_head_attention<ea::softmax_attention>(gqa, ea::attention_weights{}), ef::config_error);
  auto wrong = w;
  wrong.wk = ef::matrix::Zero(64, 32);
  CHECK_THROWS_WITH(ea::multi_head_attention<ea::softmax_attention>(c, wrong),
                    "[eigenformer.attention.weights] weight 'wk': expected [64, 64], got [64, 32]");

  ea::attention_config rope{.d_model = 64, .num_heads = 4, .position = ea::positional::rope, .max_positions = 4};
  ea::multi_head_attention<ea::causal_softmax_attention> rmha(rope, ea::attention_weights::random(rope));
  CHECK_THROWS_WITH(rmha.forward(ef::view(x), ok, ef::view(out)),
                    "[eigenformer.attention.forward] sequence length: expected at most max_positions 4, got 6");
  auto cache = rmha.make_cache(2, 4);
  CHECK_THROWS_AS(rmha.prefill(ef::view(x), std::vector<ef::index_t>{0, 10}, ef::view(out), cache), ef::shape_error);
  ef::matrix one(1, 64), one_out(1, 64);
  CHECK_THROWS_WITH(rmha.decode(ef::view(one), ef::view(one_out), cache),
                    "[eigenformer.attention.decode] input x: expected [2, 64], got [1, 64]");
}
