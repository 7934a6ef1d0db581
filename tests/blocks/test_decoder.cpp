// Decoder-only stacks: a LLaMA-style stack (pre-norm RMSNorm, SwiGLU, GQA, RoPE) and a GPT-style
// one (pre-norm LayerNorm, GELU tanh), run token by token with caches, must equal the same stack
// run over whole sequences, for a packed batch whose sequences sit at different positions.
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/models/decoder.hpp>
#include <eigenformer/ops/norm.hpp>

#include "../support/check.hpp"

namespace ea = eigenformer::attention;
namespace ef = eigenformer;
using namespace eftest;

namespace {

template <class Attention, class Ffn, class Norm>
using pre_norm_decoder = ef::blocks::decoder_block<Attention, ef::blocks::no_cross_attention, Ffn, Norm, ef::blocks::pre_norm>;

template <class Stack>
void check_incremental(const std::string& label, Stack& stack, ef::index_t d) {
  const std::vector<ef::index_t> prompt = {3, 9, 1};
  const ef::index_t steps = 12, batch = 3;
  std::vector<ef::index_t> full_off = {0}, prompt_off = {0};
  for (auto p : prompt) {
    full_off.push_back(full_off.back() + p + steps);
    prompt_off.push_back(prompt_off.back() + p);
  }
  std::srand(4);
  const ef::matrix x = ef::matrix::Random(full_off.back(), d);
  ef::matrix full(x.rows(), d);
  stack.forward(ef::view(x), full_off, ef::view(full));

  auto cache = stack.make_cache(batch, 64);
  ef::matrix xp(prompt_off.back(), d), outp(prompt_off.back(), d);
  for (ef::index_t s = 0; s < batch; ++s)
    xp.middleRows(prompt_off[std::size_t(s)], prompt[std::size_t(s)]) = x.middleRows(full_off[std::size_t(s)], prompt[std::size_t(s)]);
  stack.prefill(ef::view(xp), prompt_off, ef::view(outp), cache);
  std::vector<float> got, want;
  for (ef::index_t s = 0; s < batch; ++s)
    for (ef::index_t r = 0; r < prompt[std::size_t(s)]; ++r)
      for (ef::index_t c = 0; c < d; ++c) {
        got.push_back(outp(prompt_off[std::size_t(s)] + r, c));
        want.push_back(full(full_off[std::size_t(s)] + r, c));
      }
  for (ef::index_t step = 0; step < steps; ++step) {
    ef::matrix xs(batch, d), os(batch, d);
    for (ef::index_t s = 0; s < batch; ++s) xs.row(s) = x.row(full_off[std::size_t(s)] + prompt[std::size_t(s)] + step);
    stack.step(ef::view(xs), ef::view(os), cache);
    for (ef::index_t s = 0; s < batch; ++s)
      for (ef::index_t c = 0; c < d; ++c) {
        got.push_back(os(s, c));
        want.push_back(full(full_off[std::size_t(s)] + prompt[std::size_t(s)] + step, c));
      }
  }
  // Same fp32 operations in another order (tiles vs one row) through 2 layers and their norms:
  // outputs are O(1); 2e-5 absolute is ~100 ulp.
  require_close(label, got, to_double(want), [](std::size_t) { return 2e-5; });
}

}  // namespace

TEST_CASE("decoder stack: prefill + step equals forward over whole sequences", "[blocks][decoder]") {
  const ef::index_t d = 64;
  {  // LLaMA-style
    using blk = pre_norm_decoder<ea::causal_softmax_attention, ef::ffn::swiglu, ef::ops::rms_norm>;
    ea::attention_config cfg{.d_model = d, .num_heads = 4, .num_kv_heads = 2, .qkv_bias = false, .out_bias = false,
                             .position = ea::positional::rope, .max_positions = 64};
    std::vector<blk> layers;
    for (unsigned i = 0; i < 2; ++i)
      layers.emplace_back(ea::multi_head_attention<ea::causal_softmax_attention>(cfg, ea::attention_weights::random(cfg, i)),
                          ef::ffn::swiglu::random(d, 160), ef::ops::rms_norm(ef::vector::Random(d).array() + 1.5f),
                          ef::ops::rms_norm(ef::vector::Random(d).array() + 1.5f));
    ef::models::decoder<blk, ef::ops::rms_norm> llama(std::move(layers), ef::ops::rms_norm::identity(d));
    check_incremental("llama-style decoder", llama, d);
  }
  {  // GPT-style with a sliding window in the second half of the sequence's life
    using blk = pre_norm_decoder<ea::sliding_window_attention, ef::ffn::dense_ffn<ef::ops::gelu_tanh>, ef::ops::layer_norm>;
    ea::attention_config cfg{.d_model = d, .num_heads = 2, .max_positions = 64};
    std::vector<blk> layers;
    for (unsigned i = 0; i < 2; ++i)
      layers.emplace_back(ea::multi_head_attention<ea::sliding_window_attention>(
                              cfg, ea::attention_weights::random(cfg, i + 7), ea::sliding_window_attention(ea::sliding_window_layout(6))),
                          ef::ffn::dense_ffn<ef::ops::gelu_tanh>::random(d, 256), ef::ops::layer_norm::identity(d),
                          ef::ops::layer_norm::identity(d));
    ef::models::decoder<blk, ef::ops::layer_norm> gpt(std::move(layers), ef::ops::layer_norm::identity(d));
    check_incremental("gpt-style decoder, window 6 (ring caches)", gpt, d);
  }
}

TEST_CASE("decoder stack: bad input is rejected", "[blocks][decoder][errors]") {
  using blk = pre_norm_decoder<ea::causal_softmax_attention, ef::ffn::swiglu, ef::ops::rms_norm>;
  ea::attention_config cfg{.d_model = 32, .num_heads = 2};
  std::vector<blk> layers;
  layers.emplace_back(ea::multi_head_attention<ea::causal_softmax_attention>(cfg, ea::attention_weights::random(cfg)),
                      ef::ffn::swiglu::random(32, 64), ef::ops::rms_norm::identity(32), ef::ops::rms_norm::identity(32));
  ef::models::decoder<blk, ef::ops::rms_norm> dec(std::move(layers));
  ef::matrix x(4, 32), out(4, 32), bad(4, 16);
  CHECK_THROWS_WITH(dec.forward(ef::view(bad), std::vector<ef::index_t>{0, 4}, ef::view(out)),
                    "[eigenformer.models.decoder] input: expected [4, 32], got [4, 16]");
  auto cache = dec.make_cache(2);
  decltype(cache) wrong;
  CHECK_THROWS_AS(dec.step(ef::view(x), ef::view(out), wrong), ef::shape_error);
  CHECK_THROWS_AS(dec.step(ef::view(x), ef::view(out), cache), ef::shape_error);  // 4 tokens for 2 sequences
  using stack = ef::models::decoder<blk, ef::ops::rms_norm>;
  CHECK_THROWS_AS(stack(std::vector<blk>{}), ef::config_error);
}
