// MatFormer widths through every stack: the encoder, decoder (forward, prefill, step) and
// encoder-decoder stacks pass ffn_width to each layer's FFN, so a stack at width w equals its
// layers run one by one at width w (and differs from the full width); a width no FFN can take
// is refused at the stack's entry.
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/models/decoder.hpp>
#include <eigenformer/models/encoder.hpp>
#include <eigenformer/models/encoder_decoder.hpp>
#include <eigenformer/ops/norm.hpp>

#include "../support/check.hpp"

namespace ea = eigenformer::attention;
namespace eb = eigenformer::blocks;
namespace ef = eigenformer;
using namespace eftest;

// The tests build in unity groups (tests/CMakeLists.txt): this file's helpers share names with
// test_stacks.cpp's, so its whole body is a namespace of its own.
namespace matformer_stacks_test {
namespace {

constexpr ef::index_t d = 32, hidden = 64, width = 24;
using ffn_t = ef::ffn::dense_ffn<ef::ops::gelu_erf>;
using enc_block = eb::encoder_block<ea::softmax_attention, ffn_t, ef::ops::layer_norm, eb::pre_norm>;
using dec_block = eb::decoder_block<ea::causal_softmax_attention, eb::no_cross_attention, ffn_t, ef::ops::layer_norm,
                                    eb::pre_norm>;
using x_block = eb::decoder_block<ea::causal_softmax_attention, ea::softmax_attention, ffn_t, ef::ops::layer_norm,
                                  eb::post_norm>;
const ea::attention_config cfg{.d_model = d, .num_heads = 2, .max_positions = 64};

ef::ops::layer_norm norm(unsigned seed) {
  std::srand(seed);
  return ef::ops::layer_norm(ef::vector(ef::vector::Random(d).array() * 0.2f + 1.0f), ef::vector::Random(d) * 0.1f);
}
template <class Variant>
ea::multi_head_attention<Variant> attn(unsigned seed) {
  return ea::multi_head_attention<Variant>(cfg, ea::attention_weights::random(cfg, seed));
}
ffn_t ffn(unsigned seed) {
  std::srand(seed);
  return ffn_t::random(d, hidden);
}
enc_block make_enc(unsigned i) { return enc_block(attn<ea::softmax_attention>(i), ffn(10 + i), norm(20 + i), norm(30 + i)); }
dec_block make_dec(unsigned i) {
  return dec_block(attn<ea::causal_softmax_attention>(40 + i), ffn(50 + i), norm(60 + i), norm(70 + i));
}
x_block make_x(unsigned i) {
  return x_block(attn<ea::causal_softmax_attention>(80 + i), attn<ea::softmax_attention>(90 + i), ffn(100 + i),
                 norm(110 + i), norm(120 + i), norm(130 + i));
}
std::vector<float> flat(const ef::matrix& m) { return std::vector<float>(m.data(), m.data() + m.size()); }
double max_diff(const ef::matrix& a, const ef::matrix& b) { return double((a - b).cwiseAbs().maxCoeff()); }

}  // namespace

TEST_CASE("MatFormer width through the encoder stack", "[blocks][stacks][matformer]") {
  std::vector<enc_block> layers = {make_enc(0), make_enc(1)};
  std::vector<enc_block> manual = layers;
  ef::models::encoder<enc_block, ef::ops::layer_norm> stack(std::move(layers));
  const std::vector<ef::index_t> off = {0, 5, 12};
  std::srand(1);
  const ef::matrix x = ef::matrix::Random(12, d);
  ef::matrix got(12, d), full(12, d), want = x;
  stack.forward(ef::view(x), off, ef::view(got), {}, width);
  stack.forward(ef::view(x), off, ef::view(full));
  for (auto& l : manual) l.forward(ef::view(static_cast<const ef::matrix&>(want)), off, ef::view(want), {}, width);
  // The same layers, the same order of operations: bit for bit.
  require_same("encoder stack at width 24 vs its layers at width 24", flat(got), flat(want));
  CHECK(max_diff(got, full) > 1e-3);  // the width is used, not dropped
  CHECK_THROWS_WITH(stack.forward(ef::view(x), off, ef::view(got), {}, hidden + 1),
                    "[eigenformer.ffn.dense] width: expected 0 (all) or 1..64, got 65");
}

TEST_CASE("MatFormer width through the decoder stack: forward, prefill and step", "[blocks][stacks][matformer]") {
  std::vector<dec_block> layers = {make_dec(0), make_dec(1)};
  std::vector<dec_block> manual = layers;
  ef::models::decoder<dec_block, ef::ops::layer_norm> stack(std::move(layers));
  const std::vector<ef::index_t> off = {0, 7};
  std::srand(2);
  const ef::matrix x = ef::matrix::Random(8, d);
  ef::matrix got(7, d), full(7, d), want = x.topRows(7);
  stack.forward(ef::rows(ef::view(x), 0, 7), off, ef::view(got), width);
  stack.forward(ef::rows(ef::view(x), 0, 7), off, ef::view(full));
  for (auto& l : manual) l.forward(ef::view(static_cast<const ef::matrix&>(want)), off, ef::view(want), width);
  require_same("decoder stack at width 24 vs its layers", flat(got), flat(want));
  CHECK(max_diff(got, full) > 1e-3);

  // Prefill 7 tokens and step the 8th at width 24: the same as a forward over all 8 at width 24.
  ef::matrix all(8, d);
  stack.forward(ef::view(x), std::vector<ef::index_t>{0, 8}, ef::view(all), width);
  auto cache = stack.make_cache(1, 16);
  ef::matrix pre(7, d), step(1, d);
  stack.prefill(ef::rows(ef::view(x), 0, 7), off, ef::view(pre), cache, width);
  stack.step(ef::rows(ef::view(x), 7, 1), ef::view(step), cache, width);
  // Tiled prefill vs one decode row: the same terms in another order (outputs O(1)).
  require_close("prefill + step at width 24 vs forward", flat(step), to_double(flat(ef::matrix(all.bottomRows(1)))),
                [](std::size_t) { return 2e-5; });
  CHECK_THROWS_WITH(stack.step(ef::rows(ef::view(x), 7, 1), ef::view(step), cache, hidden + 1),
                    "[eigenformer.ffn.dense] width: expected 0 (all) or 1..64, got 65");
}

TEST_CASE("MatFormer width through the encoder-decoder stack", "[blocks][stacks][matformer]") {
  std::vector<enc_block> enc_layers = {make_enc(5)};
  std::vector<x_block> dec_layers = {make_x(0), make_x(1)};
  ef::models::encoder<enc_block, ef::ops::layer_norm> enc(enc_layers);
  std::vector<x_block> manual = dec_layers;
  ef::models::encoder_decoder<enc_block, x_block, ef::ops::layer_norm> model(enc, std::move(dec_layers));
  const std::vector<ef::index_t> src_off = {0, 6}, tgt_off = {0, 4};
  std::srand(3);
  const ef::matrix src = ef::matrix::Random(6, d), tgt = ef::matrix::Random(4, d);
  ef::matrix got(4, d), full(4, d);
  model.forward(ef::view(src), src_off, ef::view(tgt), tgt_off, ef::view(got), width);
  model.forward(ef::view(src), src_off, ef::view(tgt), tgt_off, ef::view(full));
  ef::matrix memory(6, d), want = tgt;
  enc.forward(ef::view(src), src_off, ef::view(memory), {}, width);
  for (auto& l : manual)
    l.forward(ef::view(static_cast<const ef::matrix&>(want)), tgt_off, ef::view(static_cast<const ef::matrix&>(memory)),
              src_off, ef::view(want), width);
  require_same("encoder-decoder at width 24 vs its stacks", flat(got), flat(want));
  CHECK(max_diff(got, full) > 1e-3);
}

}  // namespace matformer_stacks_test
