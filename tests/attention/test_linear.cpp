// Linear attention (every feature map and state update, causal and not) and Linformer against
// naive double-precision references; causal prefill against the recurrent decode.
#include <eigenformer/attention/linear.hpp>
#include <eigenformer/attention/linformer.hpp>
#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/runner.hpp>
#include <eigenformer/attention/score.hpp>

#include "../support/check.hpp"
#include "decode_check.hpp"
#include "reference.hpp"

namespace ea = eigenformer::attention;
namespace ef = eigenformer;
using namespace eftest;

namespace {

template <class V>
concept has_score_modifier = requires { typename V::modifier_type; };

enum class fmap { elu, relu, identity, favor };

dmatrix features(const dmatrix& x, fmap m, const ef::matrix* w, bool is_query) {
  switch (m) {
    case fmap::elu: return x.unaryExpr([](double v) { return v > 0 ? v + 1.0 : std::exp(v); });
    case fmap::relu: return x.cwiseMax(0.0);
    case fmap::identity: return x;
    case fmap::favor: {
      const double s = 1.0 / std::sqrt(std::sqrt(double(x.cols())));
      dmatrix proj = (x * s) * w->cast<double>().transpose();
      for (long r = 0; r < x.rows(); ++r) {
        double shift = 0.5 * s * s * x.row(r).squaredNorm();
        if (is_query) shift += proj.row(r).maxCoeff();
        proj.row(r) = ((proj.row(r).array() - shift).exp() / std::sqrt(double(w->rows()))).matrix();
      }
      return proj;
    }
  }
  return x;
}

// Explicit quadratic form: w_ij = φ(q_i)·φ(k_j)·γ^(i−j) over visible j; out = Σ w v (/ Σ w).
// The delta rule has no quadratic form: it runs its recurrence in double.
// key_valid (delta rule only): a padding key's φ(k) row is zero.
dmatrix linear_reference(const dmatrix& q, const dmatrix& k, const dmatrix& v, fmap m, const ef::matrix* w,
                         bool causal, bool normalize, double gamma, bool delta, double beta, dmatrix& mag,
                         const std::uint8_t* key_valid = nullptr) {
  dmatrix pq = features(q, m, w, true), pk = features(k, m, w, false);
  const long n = q.rows(), dv = v.cols();
  dmatrix out = dmatrix::Zero(n, dv);
  mag = dmatrix::Zero(n, dv);
  if (delta) {
    for (long r = 0; r < n; ++r) {
      if (pq.row(r).norm() > 0) pq.row(r).normalize();
      if (pk.row(r).norm() > 0) pk.row(r).normalize();
      if (key_valid && !key_valid[r]) pk.row(r).setZero();
    }
    dmatrix s = dmatrix::Zero(pk.cols(), dv);
    for (long t = 0; t < n; ++t) {
      const Eigen::RowVectorXd err = v.row(t) - pk.row(t) * s;
      s += beta * pk.row(t).transpose() * err;
      out.row(t) = pq.row(t) * s;
      mag.row(t) = (pq.row(t).cwiseAbs() * s.cwiseAbs()).array() + v.row(t).cwiseAbs().array();
    }
    return out;
  }
  for (long i = 0; i < n; ++i) {
    double den = 0.0;
    Eigen::RowVectorXd num = Eigen::RowVectorXd::Zero(dv), nmag = num;
    for (long j = 0; j < (causal ? i + 1 : n); ++j) {
      const double wij = pq.row(i).dot(pk.row(j)) * std::pow(gamma, double(causal ? i - j : 0));
      num += wij * v.row(j);
      nmag += std::abs(wij) * v.row(j).cwiseAbs();
      den += wij;
    }
    out.row(i) = normalize ? Eigen::RowVectorXd(num / den) : num;
    mag.row(i) = normalize ? Eigen::RowVectorXd(nmag / std::abs(den)) : nmag;
  }
  return out;
}

template <class Map, class Update>
void check_linear(const std::string& label, const ea::linear_attention<Map, Update>& variant, fmap m,
                  const ef::matrix* w, bool causal, bool normalize, double gamma, bool delta, double beta) {
  for (ef::index_t n : {1, 7, 64, 129}) {
    const ef::index_t d = 32;
    std::srand(unsigned(n));
    const ef::matrix q = ef::matrix::Random(n, d), k = ef::matrix::Random(n, d), v = ef::matrix::Random(n, d);
    ef::matrix out(n, d);
    ea::linear_scratch ws;
    variant.reserve(ws, d, d, n);
    ea::head_problem p{ef::view(q), ef::view(k), ef::view(v), ef::view(out), 0, 1.0f, nullptr, 0};
    variant.prefill(p, ws);
    dmatrix mag;
    const dmatrix want = linear_reference(q.cast<double>(), k.cast<double>(), v.cast<double>(), m, w, causal,
                                          normalize, gamma, delta, beta, mag);
    std::vector<float> got(out.data(), out.data() + out.size());
    std::vector<double> wv(want.data(), want.data() + want.size());
    // Sums of n products of f-length dot products in fp32: ~(n + f)·eps relative to the magnitude
    // (Σ|w||v|, over |Σw| when normalised); 1e-5 covers n, f ≤ 129 with margin.
    require_close(label + " n=" + std::to_string(n), got, wv, [&](std::size_t i) { return 1e-5 * mag.data()[i] + 1e-6; });
  }
}

}  // namespace

TEST_CASE("linear attention: every feature map, causal and bidirectional, against the quadratic form", "[attention][linear]") {
  for (bool causal : {false, true}) {
    const std::string c = causal ? " causal" : " bidirectional";
    check_linear("elu+1" + c, ea::linear_attention<ea::elu_plus_one_map>(causal), fmap::elu, nullptr, causal, true, 1.0, false, 0);
    check_linear("relu" + c, ea::linear_attention<ea::relu_map>(causal), fmap::relu, nullptr, causal, true, 1.0, false, 0);
    check_linear("identity unnormalised" + c,
                 ea::linear_attention<ea::identity_map>(causal, {}, {}, false), fmap::identity, nullptr, causal, false,
                 1.0, false, 0);
    const auto favor = ea::favor_map::random(48, 32, 1234);
    check_linear("favor+" + c, ea::linear_attention<ea::favor_map>(causal, favor), fmap::favor, &favor.w, causal, true,
                 1.0, false, 0);
  }
  check_linear("elu+1 chunk 5", ea::linear_attention<ea::elu_plus_one_map>(true, {}, {}, true, 5), fmap::elu, nullptr,
               true, true, 1.0, false, 0);
}

TEST_CASE("linear attention: decayed (retention) and delta-rule updates", "[attention][linear]") {
  using decayed = ea::linear_attention<ea::elu_plus_one_map, ea::decay_update>;
  check_linear("decay 0.9", decayed(true, {}, ea::decay_update{0.9f}), fmap::elu, nullptr, true, true, 0.9, false, 0);
  check_linear("decay 0.9 chunk 7", decayed(true, {}, ea::decay_update{0.9f}, true, 7), fmap::elu, nullptr, true, true,
               0.9, false, 0);
  using retention = ea::linear_attention<ea::identity_map, ea::decay_update>;
  check_linear("retention (identity, unnormalised)", retention(true, {}, ea::decay_update{0.97f}, false), fmap::identity,
               nullptr, true, false, 0.97, false, 0);
  using delta = ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>;
  check_linear("delta rule", delta(true, {}, ea::delta_update{0.7f}), fmap::elu, nullptr, true, false, 1.0, true, 0.7);
}

namespace {

// The packed runner gives linear attention a group of heads at a time (prefill_heads: chunk-outer,
// head-inner, one state per head), and prefill() of one head is a group of one: the same
// operations in the same order per head. What can differ is Eigen's reductions (dot products and
// sums of f or dv ≤ 24 terms), which peel a different number of leading terms by the alignment of
// their buffers: at most ~24·eps of the terms' magnitude (≤ max |out| here), so 1e-5 of max |out|.
// A head given another head's state or rows would be off by ~0.1. One sequence (the runner
// splits the heads into a group per worker) and two (one group per sequence), grouped-query
// heads, and padding keys.
template <class Variant>
void check_head_groups(const std::string& label, const Variant& variant) {
  const ef::index_t d = 16, heads = 4, kv_heads = 2;
  for (const std::vector<ef::index_t>& offsets : {std::vector<ef::index_t>{0, 45}, std::vector<ef::index_t>{0, 7, 44}}) {
    const ef::index_t tokens = offsets.back();
    std::srand(unsigned(tokens));
    const ef::matrix q = ef::matrix::Random(tokens, heads * d), k = ef::matrix::Random(tokens, kv_heads * d),
                     v = ef::matrix::Random(tokens, kv_heads * d);
    std::vector<std::uint8_t> valid(std::size_t(tokens), 1);
    valid[3] = valid[20] = 0;
    ef::matrix got(tokens, heads * d), want(tokens, heads * d);
    ea::packed_attention_runner<Variant> runner;
    runner.run(variant, ef::view(q), ef::view(k), ef::view(v), offsets, ef::view(got), heads, kv_heads, 1.0f, valid);
    ea::linear_scratch ws;
    variant.reserve(ws, d, d, tokens);
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
      const ef::index_t o = offsets[s], len = offsets[s + 1] - o;
      for (ef::index_t h = 0; h < heads; ++h) {
        const ef::index_t kvh = h / (heads / kv_heads);
        ea::head_problem p{ef::rows(ef::columns(ef::view(q), h * d, d), o, len),
                           ef::rows(ef::columns(ef::view(k), kvh * d, d), o, len),
                           ef::rows(ef::columns(ef::view(v), kvh * d, d), o, len),
                           ef::rows(ef::columns(ef::view(want), h * d, d), o, len),
                           0, 1.0f, valid.data() + o, h};
        variant.prefill(p, ws);
      }
    }
    const double tol = 1e-5 * std::max(1.0, double(want.cwiseAbs().maxCoeff()));
    require_close(label + ", " + std::to_string(offsets.size() - 1) + " sequence(s)",
                  std::vector<float>(got.data(), got.data() + got.size()),
                  std::vector<double>(want.data(), want.data() + want.size()), [&](std::size_t) { return tol; });
  }
}

}  // namespace

TEST_CASE("linear attention: the runner's head-batched prefill equals per-head prefill", "[attention][linear]") {
  check_head_groups("elu+1 bidirectional", ea::linear_attention<ea::elu_plus_one_map>(false));
  check_head_groups("elu+1 causal, chunk 5", ea::linear_attention<ea::elu_plus_one_map>(true, {}, {}, true, 5));
  check_head_groups("favor+ causal", ea::linear_attention<ea::favor_map>(true, ea::favor_map::random(24, 16, 7)));
  check_head_groups("retention, chunk 8",
                    ea::linear_attention<ea::identity_map, ea::decay_update>(true, {}, {0.9f}, false, 8));
  check_head_groups("delta rule, chunk 4",
                    ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>(true, {}, {0.5f}, false, 4));
  static_assert(ea::head_batched_variant<ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>>);
  static_assert(!ea::head_batched_variant<ea::softmax_attention>);
}

TEST_CASE("delta rule: the chunk-parallel prefill equals the token-by-token recurrence", "[attention][linear]") {
  // Every chunk size against lengths around its boundaries, β from small to near the stable
  // limit 2, with padding keys (single ones and a run across a chunk boundary), d ≠ dv.
  const ef::index_t d = 32, dv = 16;
  for (ef::index_t chunk : {1, 3, 16, 64})
    for (float beta : {0.3f, 1.0f, 1.9f})
      for (bool relu : {false, true})
        for (ef::index_t n : {ef::index_t(0), ef::index_t(1), chunk - 1, chunk, chunk + 1, 3 * chunk + 5}) {
          if (n < 0) continue;
          std::srand(unsigned(100 * n + chunk));
          const ef::matrix q = ef::matrix::Random(n, d), k = ef::matrix::Random(n, d), v = ef::matrix::Random(n, dv);
          std::vector<std::uint8_t> valid(std::size_t(n), 1);
          for (ef::index_t r = 0; r < n; ++r)
            if (r % 7 == 3 || (r >= chunk - 2 && r <= chunk + 1)) valid[std::size_t(r)] = 0;
          ef::matrix out = ef::matrix::Constant(n, dv, 99.0f);
          ea::linear_scratch ws;
          ea::head_problem p{ef::view(q), ef::view(k), ef::view(v), ef::view(out), 0, 1.0f, valid.data(), 0};
          dmatrix mag;
          const fmap m = relu ? fmap::relu : fmap::elu;
          const dmatrix want = linear_reference(q.cast<double>(), k.cast<double>(), v.cast<double>(), m, nullptr, true,
                                                false, 1.0, true, beta, mag, valid.data());
          if (relu) {
            const ea::linear_attention<ea::relu_map, ea::delta_update> variant(true, {}, {beta}, false, chunk);
            variant.reserve(ws, d, dv, n);
            variant.prefill(p, ws);
          } else {
            const ea::linear_attention<ea::elu_plus_one_map, ea::delta_update> variant(true, {}, {beta}, false, chunk);
            variant.reserve(ws, d, dv, n);
            variant.prefill(p, ws);
          }
          std::vector<float> got(out.data(), out.data() + out.size());
          std::vector<double> wv(want.data(), want.data() + want.size());
          const std::string label = std::string(relu ? "relu" : "elu+1") + " chunk=" + std::to_string(chunk) +
                                    " beta=" + std::to_string(beta) + " n=" + std::to_string(n);
          // Relative to each output's scale Σ|φ(q)||S| + |v|. The fp32 recurrence stays within
          // ~7 eps of the double one here. The chunked form (exact in double: 1e-15 in a side
          // check) passes its fp32 products through a c×c unit-triangular solve with
          // off-diagonal β·k_i·k_j up to 1.9·0.8 (elu+1 keys are all positive, nearly parallel),
          // whose conditioning grows with c and amplifies their rounding: measured worst 43 eps
          // (5.1e-6) at c = 64, β = 1.9, elu+1, n = 63; ≤ 11 eps for c ≤ 16. 2e-5 (170 eps)
          // leaves 4x for another compiler's or ISA's rounding; a wrong mask, β or carried
          // state is off by O(1).
          require_close(label, got, wv, [&](std::size_t i) { return 2e-5 * mag.data()[i] + 1e-6; });
        }
}

TEST_CASE("linear attention: a state records its key width, so append and decode read rows of d floats", "[attention][linear][decode]") {
  // FAVOR+ with m = 48 features of d = 16 (f ≠ d) and dv = 8: decoding from appended keys must
  // give the causal prefill's rows.
  const ef::index_t d = 16, dv = 8, n = 10;
  const ea::linear_attention<ea::favor_map> lin(true, ea::favor_map::random(48, d, 3));
  auto st = lin.make_state(0, d, dv);
  CHECK(st.key_dim == d);
  CHECK(st.s.rows() == 48);
  CHECK(st.s.cols() == dv);
  std::srand(9);
  const ef::matrix q = ef::matrix::Random(n, d), k = ef::matrix::Random(n, d), v = ef::matrix::Random(n, dv);
  ef::matrix out(n, dv), dec(n, dv);
  ea::linear_scratch ws;
  lin.reserve(ws, d, dv, n);
  lin.prefill(ea::head_problem{ef::view(q), ef::view(k), ef::view(v), ef::view(out), 0, 1.0f, nullptr, 0}, ws);
  for (ef::index_t t = 0; t < n; ++t) {
    lin.append(st, k.row(t).data(), v.row(t).data());
    lin.decode(ea::decode_query{q.row(t).data(), t + 1, 0, 1.0f}, st, dec.row(t).data(), ws);
  }
  CHECK(st.length == n);
  std::vector<float> got(dec.data(), dec.data() + dec.size());
  std::vector<double> want(out.data(), out.data() + out.size());
  // Normalised averages of v (|v| ≤ 1), chunked vs running sums: 1e-5 as in the decode test.
  require_close("favor+ decode from appended state", got, want, [](std::size_t) { return 1e-5; });
}

TEST_CASE("FAVOR+ features are seeded, orthogonal within blocks, and approximate softmax", "[attention][linear]") {
  const auto a = ea::favor_map::random(64, 32, 7), b = ea::favor_map::random(64, 32, 7), c = ea::favor_map::random(64, 32, 8);
  CHECK(a.w == b.w);
  CHECK(a.w != c.w);
  // Rows of one block are orthogonal.
  const ef::matrix g = a.w.topRows(32) * a.w.topRows(32).transpose();
  for (int i = 0; i < 32; ++i)
    for (int j = 0; j < 32; ++j)
      if (i != j) CHECK(std::abs(g(i, j)) < 1e-3f * std::sqrt(g(i, i) * g(j, j)));
  // With many features, φ(q)·φ(k) ≈ exp(q·k/√d): the Performer's unbiased estimator.
  const auto big = ea::favor_map::random(8192, 16, 99);
  std::srand(3);
  const ef::matrix q = ef::matrix::Random(4, 16) * 0.5f, k = ef::matrix::Random(4, 16) * 0.5f;
  ef::matrix pq(4, 8192), pk(4, 8192);
  big.apply(ef::view(q), ef::view(pq), false);
  big.apply(ef::view(k), ef::view(pk), false);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const double est = pq.row(i).dot(pk.row(j)), exact = std::exp(q.row(i).dot(k.row(j)) / 4.0);
      CHECK(std::abs(est - exact) < 0.05 * exact);
    }
}

TEST_CASE("linear attention: causal prefill then recurrent decode equals prefill of the whole sequence", "[attention][linear][decode]") {
  ea::attention_config c{.d_model = 64, .num_heads = 4, .num_kv_heads = 2, .position = ea::positional::rope,
                         .max_positions = 256};
  const std::vector<ef::index_t> prompts = {5, 12, 1};
  // Chunked prefix sums vs a running state: ~1e-5 of the output scale apart in fp32.
  check_prefill_then_decode("linear elu+1", c, ea::linear_attention<ea::elu_plus_one_map>(true), prompts, 20, 1e-5);
  check_prefill_then_decode("linear favor+", c, ea::linear_attention<ea::favor_map>(true, ea::favor_map::random(32, 16, 5)),
                            prompts, 20, 1e-5);
  check_prefill_then_decode("retention", c,
                            ea::linear_attention<ea::elu_plus_one_map, ea::decay_update>(true, {}, ea::decay_update{0.9f}),
                            prompts, 20, 1e-5);
  check_prefill_then_decode("delta rule", c,
                            ea::linear_attention<ea::relu_map, ea::delta_update>(true, {}, ea::delta_update{0.5f}), prompts,
                            20, 1e-5);
  // Prompts spanning several chunks, so that the decode continues where a chunked prefill
  // stopped: the prompt's outputs come from the chunked form, the cache state from fill_state's
  // recurrence, and both must agree with one chunked prefill of the whole sequence. Measured
  // worst 1.1e-6 of the output scale (c = 16, β = 1.9); 1e-5 as for the other variants.
  const std::vector<ef::index_t> long_prompts = {37, 16, 70};
  for (ef::index_t chunk : {3, 16})
    for (float beta : {0.5f, 1.9f})
      check_prefill_then_decode("delta rule chunk " + std::to_string(chunk) + " beta " + std::to_string(beta), c,
                                ea::linear_attention<ea::elu_plus_one_map, ea::delta_update>(true, {}, {beta}, false, chunk),
                                long_prompts, 20, 1e-5);
}

TEST_CASE("Linformer: projections against the reference, and identity projections equal dense softmax", "[attention][linformer]") {
  ea::attention_config c{.d_model = 64, .num_heads = 2};
  const auto w = ea::attention_weights::random(c, 4);
  const std::vector<ef::index_t> offsets = {0, 60};  // k = n = n_max
  std::srand(5);
  const ef::matrix x = ef::matrix::Random(60, 64);
  ef::matrix dense_out(60, 64), lin_out(60, 64);
  ea::multi_head_attention<ea::softmax_attention>(c, w).forward(ef::view(x), offsets, ef::view(dense_out));
  // k = n_max and E = F = I: the projection keeps every key, so it is dense attention.
  ea::multi_head_attention<ea::linformer_attention> lin(
      c, w, ea::linformer_attention::shared(ef::matrix::Identity(60, 60), ef::matrix::Identity(60, 60)));
  lin.forward(ef::view(x), offsets, ef::view(lin_out));
  std::vector<float> got(lin_out.data(), lin_out.data() + lin_out.size());
  std::vector<double> want(dense_out.data(), dense_out.data() + dense_out.size());
  require_close("linformer identity = dense", got, want, [](std::size_t) { return 1e-6; });

  // Random per-head E, F against the explicit formula in double.
  std::vector<ef::matrix> es, fs;
  for (int h = 0; h < 2; ++h) {
    es.push_back(ef::matrix::Random(16, 64) * 0.2f);
    fs.push_back(ef::matrix::Random(16, 64) * 0.2f);
  }
  const ea::linformer_attention variant(es, fs);
  const ef::matrix q = ef::matrix::Random(60, 16), k = ef::matrix::Random(60, 16), v = ef::matrix::Random(60, 16);
  ef::matrix out(60, 16);
  ea::linformer_scratch ws;
  variant.reserve(ws, 16, 16, 60);
  variant.prefill(ea::head_problem{ef::view(q), ef::view(k), ef::view(v), ef::view(out), 0, 0.25f, nullptr, 1}, ws);
  const dmatrix kp = es[1].leftCols(60).cast<double>() * k.cast<double>(), vp = fs[1].leftCols(60).cast<double>() * v.cast<double>();
  ref_options ro;
  ro.scale = 0.25;
  dmatrix mag;
  const dmatrix ref = naive_attention(q.cast<double>(), kp, vp, ro, &mag);
  std::vector<float> g2(out.data(), out.data() + out.size());
  std::vector<double> w2(ref.data(), ref.data() + ref.size());
  require_close("linformer per-head projections", g2, w2, [&](std::size_t i) { return 2e-5 * mag.data()[i] + 1e-6; });
}

TEST_CASE("linear and low-rank variants reject bad configurations", "[attention][errors]") {
  using decayed = ea::linear_attention<ea::elu_plus_one_map, ea::decay_update>;
  CHECK_THROWS_WITH(decayed(false), "[eigenformer.attention.linear] causal: expected true for a decayed or delta-rule update, got false");
  CHECK_THROWS_AS(decayed(true, {}, ea::decay_update{1.5f}), ef::config_error);
  CHECK_THROWS_AS((ea::linear_attention<ea::relu_map, ea::delta_update>(true, {}, ea::delta_update{0.0f})), ef::config_error);
  CHECK_THROWS_AS(ea::favor_map::random(0, 16, 1), ef::config_error);
  CHECK_THROWS_AS(ea::linformer_attention({ef::matrix::Zero(8, 32)}, {}), ef::config_error);
  CHECK_THROWS_AS(ea::linformer_attention({ef::matrix::Zero(8, 32)}, {ef::matrix::Zero(8, 16)}), ef::config_error);

  ea::attention_config c{.d_model = 32, .num_heads = 2};
  const auto lin = ea::linformer_attention::shared(ef::matrix::Random(4, 16), ef::matrix::Random(4, 16));
  ea::multi_head_attention<ea::linformer_attention> mha(c, ea::attention_weights::random(c), lin);
  ef::matrix x(20, 32), out(20, 32);
  CHECK_THROWS_WITH(mha.forward(ef::view(x), std::vector<ef::index_t>{0, 20}, ef::view(out)),
                    "[eigenformer.attention.linformer] sequence length: expected at most n_max = 16, got 20");
  c.num_heads = 4;
  // ALiBi needs scores: it is a score modifier of score_attention, which linear attention has not.
  STATIC_REQUIRE(!has_score_modifier<ea::linear_attention<ea::relu_map>>);
  STATIC_REQUIRE(has_score_modifier<ea::alibi_attention<>>);
  std::vector<ef::matrix> three(3, ef::matrix::Zero(4, 16));
  CHECK_THROWS_AS(ea::multi_head_attention<ea::linformer_attention>(c, ea::attention_weights::random(c),
                                                                     ea::linformer_attention(three, three)),
                  ef::config_error);
}
