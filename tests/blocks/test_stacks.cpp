// Stacks beyond one block type: per-layer heterogeneous attention (ModernBERT's local layers with
// a global one every third; linear-attention layers interleaved with softmax ones in a decoder),
// the workspace the layers of a stack share, and Sub-LN placement.
#include <eigenformer/attention/linear.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/blocks/layer_choice.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/models/decoder.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/ops/norm.hpp>

#include "../support/check.hpp"

namespace ea = eigenformer::attention;
namespace eb = eigenformer::blocks;
namespace ef = eigenformer;
using namespace eftest;

namespace {

using ffn_t = ef::ffn::dense_ffn<ef::ops::gelu_erf>;
template <class Attention, class Placement = eb::post_norm>
using enc_block = eb::encoder_block<Attention, ffn_t, ef::ops::layer_norm, Placement>;
using local_block = enc_block<ea::sliding_window_attention>;
using global_block = enc_block<ea::softmax_attention>;

constexpr ef::index_t d = 32, hidden = 64;
const ea::attention_config cfg{.d_model = d, .num_heads = 2, .max_positions = 64};

ef::ops::layer_norm random_norm(ef::index_t w) {
  return ef::ops::layer_norm(ef::vector(ef::vector::Random(w).array() * 0.2f + 1.0f), ef::vector::Random(w) * 0.1f);
}

// Layer i of the ModernBERT-style pattern: global when i % 3 == 0, else a bidirectional window.
// Weights depend only on i, so the same layer can be built with either attention type.
template <class Block>
Block make_layer(unsigned i, ef::index_t window) {
  std::srand(100 + i);
  auto w = ea::attention_weights::random(cfg, 50 + i);
  std::srand(200 + i);
  auto ffn = ffn_t::random(d, hidden);
  auto n1 = random_norm(d), n2 = random_norm(d);
  if constexpr (std::is_same_v<Block, local_block>) {
    return Block(ea::multi_head_attention<ea::sliding_window_attention>(
                     cfg, std::move(w), ea::sliding_window_attention(ea::sliding_window_layout(window, false))),
                 std::move(ffn), std::move(n1), std::move(n2));
  } else {
    return Block(ea::multi_head_attention<ea::softmax_attention>(cfg, std::move(w)), std::move(ffn), std::move(n1),
                 std::move(n2));
  }
}

ef::const_matrix_view cv(const ef::matrix& m) { return ef::view(m); }

std::vector<float> flat(const ef::matrix& m) { return std::vector<float>(m.data(), m.data() + m.size()); }

}  // namespace

TEST_CASE("heterogeneous encoder: local layers with a global one every third", "[blocks][stacks]") {
  using choice = eb::layer_choice<local_block, global_block>;
  const unsigned layers = 7;
  auto build = [&](ef::index_t window) {
    std::vector<choice> v;
    for (unsigned i = 0; i < layers; ++i) {
      if (i % 3 == 0) v.emplace_back(make_layer<global_block>(i, window));
      else v.emplace_back(make_layer<local_block>(i, window));
    }
    return ef::models::encoder<choice, ef::ops::layer_norm>(std::move(v));
  };
  const std::vector<ef::index_t> offsets = {0, 13, 14, 40};
  std::srand(9);
  const ef::matrix x = ef::matrix::Random(40, d);

  // (1) The pattern runs each layer's own type: the stack equals the layers applied one by one.
  auto stack = build(3);
  ef::matrix got(40, d);
  stack.forward(ef::view(x), offsets, ef::view(got));
  ef::matrix want = x, tmp(40, d);
  for (unsigned i = 0; i < layers; ++i) {
    if (i % 3 == 0) {
      auto l = make_layer<global_block>(i, 3);
      l.forward(cv(want), offsets, ef::view(tmp));
    } else {
      auto l = make_layer<local_block>(i, 3);
      l.forward(cv(want), offsets, ef::view(tmp));
    }
    want = tmp;
  }
  // Same operations, same order, same data: identical.
  require_same("7-layer local/global stack vs layer by layer", flat(got), flat(want));
  CHECK(stack.layer(0).index() == 1);
  CHECK(stack.layer(1).index() == 0);

  // (2) A window that covers every sequence makes the local layers dense: the stack equals an
  // all-global stack with the same weights. Tolerance: the two tilings sum the same scores in
  // different orders through 7 layers with O(1) activations; 2e-5 is ~100 ulp.
  auto wide = build(64);
  ef::matrix wide_out(40, d), dense_out(40, d);
  wide.forward(ef::view(x), offsets, ef::view(wide_out));
  std::vector<global_block> all_global;
  for (unsigned i = 0; i < layers; ++i) all_global.push_back(make_layer<global_block>(i, 64));
  ef::models::encoder<global_block, ef::ops::layer_norm> dense(std::move(all_global));
  dense.forward(ef::view(x), offsets, ef::view(dense_out));
  require_close("window >= n equals dense", flat(wide_out), to_double(flat(dense_out)), [](std::size_t) { return 2e-5; });
  // ...and the narrow window really changed the result.
  CHECK((got - dense_out).cwiseAbs().maxCoeff() > 1e-2f);
}

TEST_CASE("heterogeneous decoder: linear-attention layers interleaved with softmax ones", "[blocks][stacks]") {
  using lin = ea::linear_attention<ea::elu_plus_one_map>;
  using soft_blk = eb::decoder_block<ea::causal_softmax_attention, eb::no_cross_attention, ffn_t, ef::ops::layer_norm,
                                     eb::pre_norm>;
  using lin_blk = eb::decoder_block<lin, eb::no_cross_attention, ffn_t, ef::ops::layer_norm, eb::pre_norm>;
  using choice = eb::layer_choice<soft_blk, lin_blk>;
  std::vector<choice> layers;
  for (unsigned i = 0; i < 4; ++i) {
    std::srand(300 + i);
    if (i % 2 == 0) {
      layers.emplace_back(soft_blk(ea::multi_head_attention<ea::causal_softmax_attention>(cfg, ea::attention_weights::random(cfg, i)),
                                   ffn_t::random(d, hidden), random_norm(d), random_norm(d)));
    } else {
      layers.emplace_back(lin_blk(ea::multi_head_attention<lin>(cfg, ea::attention_weights::random(cfg, i), lin(true)),
                                  ffn_t::random(d, hidden), random_norm(d), random_norm(d)));
    }
  }
  ef::models::decoder<choice, ef::ops::layer_norm> dec(std::move(layers), ef::ops::layer_norm::identity(d));

  // Two sequences: prefill prompts of 5 and 2 tokens, then 6 steps each; compare with forward
  // over the whole sequences (causal), row by row.
  const std::vector<ef::index_t> prompt = {5, 2};
  const ef::index_t steps = 6;
  const std::vector<ef::index_t> full_off = {0, 11, 19}, prompt_off = {0, 5, 7};
  std::srand(17);
  const ef::matrix x = ef::matrix::Random(19, d);
  ef::matrix full(19, d);
  dec.forward(ef::view(x), full_off, ef::view(full));
  auto cache = dec.make_cache(2, 32);
  CHECK(cache[0].index() == 0);
  CHECK(cache[1].index() == 1);
  ef::matrix xp(7, d), op(7, d);
  xp.topRows(5) = x.topRows(5);
  xp.bottomRows(2) = x.middleRows(11, 2);
  dec.prefill(ef::view(xp), prompt_off, ef::view(op), cache);
  std::vector<float> got = flat(op), want;
  for (ef::index_t r = 0; r < 5; ++r)
    for (ef::index_t c = 0; c < d; ++c) want.push_back(full(r, c));
  for (ef::index_t r = 11; r < 13; ++r)
    for (ef::index_t c = 0; c < d; ++c) want.push_back(full(r, c));
  for (ef::index_t s = 0; s < steps; ++s) {
    ef::matrix xs(2, d), os(2, d);
    xs.row(0) = x.row(5 + s);
    xs.row(1) = x.row(13 + s);
    dec.step(ef::view(xs), ef::view(os), cache);
    for (ef::index_t c = 0; c < d; ++c) {
      got.push_back(os(0, c));
      want.push_back(full(5 + s, c));
    }
    for (ef::index_t c = 0; c < d; ++c) {
      got.push_back(os(1, c));
      want.push_back(full(13 + s, c));
    }
  }
  // Tolerance: chunked linear prefill vs the recurrent update and tiled softmax vs one row sum
  // the same terms in other orders through 4 layers; outputs are O(1): 5e-5 is ~400 ulp.
  require_close("mixed decoder: prefill + steps vs forward", got, to_double(want), [](std::size_t) { return 5e-5; });

  // A cache from another layer's type is refused by name.
  std::swap(cache[0], cache[1]);
  ef::matrix xs(2, d), os(2, d);
  CHECK_THROWS_WITH(dec.step(ef::view(xs), ef::view(os), cache), Catch::Matchers::Contains("cache of layer 0"));
}

TEST_CASE("stacks share one workspace across layers and copies get their own", "[blocks][stacks][memory]") {
  std::vector<global_block> layers;
  for (unsigned i = 0; i < 6; ++i) layers.push_back(make_layer<global_block>(i, 0));
  ef::models::encoder<global_block, ef::ops::layer_norm> stack(std::move(layers));
  const ef::index_t t = 40;
  std::srand(3);
  const ef::matrix x = ef::matrix::Random(t, d);
  ef::matrix out(t, d);
  stack.forward(ef::view(x), std::vector<ef::index_t>{0, t}, ef::view(out));
  // One layer's worth: 3 residual buffers + q, k, v and the heads' output, [t, d] each, plus the
  // FFN's hidden [t, hidden]; the same after six layers as after one.
  const std::size_t one_layer = sizeof(float) * std::size_t(7 * t * d + t * hidden);
  CHECK(stack.workspace_bytes() == one_layer);
  ef::matrix again(t, d);
  stack.forward(ef::view(x), std::vector<ef::index_t>{0, t}, ef::view(again));
  CHECK(stack.workspace_bytes() == one_layer);
  require_same("second call, same workspace", flat(again), flat(out));

  // A copy runs on its own workspace and gives the same numbers.
  auto copy = stack;
  ef::matrix from_copy(t, d);
  copy.forward(ef::view(x), std::vector<ef::index_t>{0, t}, ef::view(from_copy));
  require_same("copy of the stack", flat(from_copy), flat(out));
  CHECK(copy.workspace_bytes() == one_layer);
}

TEST_CASE("Sub-LN: inner norms before the output and down projections", "[blocks][stacks][norm]") {
  using dmat = ef::row_matrix<double>;
  auto layer_norm_d = [](const dmat& x, const ef::ops::layer_norm& n) {
    dmat y(x.rows(), x.cols());
    for (ef::index_t r = 0; r < x.rows(); ++r) {
      const double mean = x.row(r).mean();
      const double var = (x.row(r).array() - mean).square().mean();
      for (ef::index_t c = 0; c < x.cols(); ++c)
        y(r, c) = (x(r, c) - mean) / std::sqrt(var + n.eps) * n.gain(c) + n.bias(c);
    }
    return y;
  };
  const ef::index_t t = 9;
  std::srand(21);
  const ef::matrix x = ef::matrix::Random(t, d);
  const std::vector<ef::index_t> offsets = {0, 4, t};
  const auto inner_attn = random_norm(d), inner_ffn = random_norm(hidden);

  // Attention: with the inner norm, out = LN(heads)·Wo + bo. The heads' output comes from the
  // same layer with Wo = I and no bias (tested elsewhere against a double reference).
  auto w = ea::attention_weights::random(cfg, 5);
  ea::attention_config no_bias = cfg;
  no_bias.out_bias = false;
  auto w_id = w;
  w_id.wo = ef::matrix::Identity(d, d);
  w_id.bo.resize(0);
  ea::multi_head_attention<ea::softmax_attention> heads(no_bias, w_id), sub(cfg, w);
  sub.set_sub_norm(inner_attn);
  ef::matrix h(t, d), got(t, d);
  heads.forward(ef::view(x), offsets, ef::view(h));
  sub.forward(ef::view(x), offsets, ef::view(got));
  const dmat want = (layer_norm_d(h.cast<double>(), inner_attn) * w.wo.cast<double>()).rowwise() +
                    w.bo.cast<double>().transpose();
  // Tolerance: the float LN and product (k = 32 terms of O(1)) against double: 1e-5.
  require_close("attention with a sub-norm", flat(got), std::vector<double>(want.data(), want.data() + want.size()),
                [](std::size_t) { return 1e-5; });

  // FFN: out = LN(gelu(x·W1 + b1))·W2 + b2, against double.
  std::srand(22);
  auto ffn = ffn_t::random(d, hidden);
  ffn.set_sub_norm(inner_ffn);
  ef::matrix f(t, d);
  ffn.forward(ef::view(x), ef::view(f));
  dmat pre = (x.cast<double>() * ffn.up().weight().cast<double>()).rowwise() + ffn.up().bias().cast<double>().transpose();
  for (ef::index_t i = 0; i < pre.size(); ++i) pre.data()[i] = 0.5 * pre.data()[i] * (1.0 + std::erf(pre.data()[i] / std::sqrt(2.0)));
  const dmat fwant = (layer_norm_d(pre, inner_ffn) * ffn.down().weight().cast<double>()).rowwise() +
                     ffn.down().bias().cast<double>().transpose();
  require_close("ffn with a sub-norm", flat(f), std::vector<double>(fwant.data(), fwant.data() + fwant.size()),
                [](std::size_t) { return 2e-5; });
  ef::matrix narrow(t, d);
  CHECK_THROWS_AS(ffn.check(ef::view(x), ef::view(narrow), 16), ef::config_error);  // MatFormer width with a sub-norm

  // The block: pre-norm wiring around the two sub-normed sub-layers.
  using sub_block = enc_block<ea::softmax_attention, eb::sub_ln>;
  const auto n1 = random_norm(d), n2 = random_norm(d);
  ea::multi_head_attention<ea::softmax_attention> attn2(cfg, w);
  sub_block blk(std::move(attn2), ffn, n1, n2, inner_attn, inner_ffn);
  ef::matrix bout(t, d);
  blk.forward(ef::view(x), offsets, ef::view(bout));
  ef::matrix a(t, d), r1(t, d), a2(t, d), r2(t, d);
  n1.forward(ef::view(x), ef::view(a));
  sub.forward(cv(a), offsets, ef::view(r1));
  r1 += x;
  n2.forward(cv(r1), ef::view(a2));
  ffn.forward(cv(a2), ef::view(r2));
  r2 += r1;
  require_same("sub_ln block == x + attn_sub(LN1 x), then + ffn_sub(LN2 h)", flat(bout), flat(r2));

  CHECK_THROWS_AS(sub_block(ea::multi_head_attention<ea::softmax_attention>(cfg, w), ffn, n1, n2, random_norm(d + 1),
                            inner_ffn),
                  ef::shape_error);
  CHECK_THROWS_AS(sub_block(ea::multi_head_attention<ea::softmax_attention>(cfg, w), ffn, n1, n2, inner_attn,
                            random_norm(hidden - 1)),
                  ef::shape_error);
}
