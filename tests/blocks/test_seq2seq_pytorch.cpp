// The encoder-decoder stack against PyTorch nn.Transformer (post-norm, ReLU, final norms, causal
// target mask; fixture tests/data/seq2seq_pytorch.json from tools/make_seq2seq_fixtures.py), two
// (source, target) pairs as one packed batch; then decoding the targets token by token with
// cached self- and cross-attention equals the whole-target forward.
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/models/encoder_decoder.hpp>

#include "../support/check.hpp"
#include "../support/fixtures.hpp"

namespace ea = eigenformer::attention;
namespace ef = eigenformer;
using namespace eftest;

namespace {

using torch_ffn = ef::ffn::dense_ffn<ef::ops::relu>;
using torch_encoder_layer = ef::blocks::encoder_block<ea::softmax_attention, torch_ffn, ef::ops::layer_norm, ef::blocks::post_norm>;
using torch_decoder_layer = ef::blocks::decoder_block<ea::causal_softmax_attention, ea::softmax_attention, torch_ffn, ef::ops::layer_norm,
                                            ef::blocks::post_norm>;
using torch_transformer = ef::models::encoder_decoder<torch_encoder_layer, torch_decoder_layer, ef::ops::layer_norm>;

torch_transformer load(const nlohmann::json& fx) {
  const ef::index_t d = fx["d_model"], heads = fx["heads"], ff = fx["ffn"];
  const float eps = fx["eps"];
  ea::attention_config cfg{.d_model = d, .num_heads = heads};
  std::vector<torch_encoder_layer> enc;
  for (const auto& w : fx["encoder"])
    enc.emplace_back(ea::multi_head_attention<ea::softmax_attention>(cfg, pytorch_attention(w["self_attn"], d)),
                     pytorch_ffn<ef::ops::relu>(w, d, ff), pytorch_norm(w, "norm1", eps), pytorch_norm(w, "norm2", eps));
  std::vector<torch_decoder_layer> dec;
  for (const auto& w : fx["decoder"])
    dec.emplace_back(ea::multi_head_attention<ea::causal_softmax_attention>(cfg, pytorch_attention(w["self_attn"], d)),
                     ea::multi_head_attention<ea::softmax_attention>(cfg, pytorch_attention(w["cross_attn"], d)),
                     pytorch_ffn<ef::ops::relu>(w, d, ff), pytorch_norm(w, "norm1", eps), pytorch_norm(w, "norm2", eps),
                     pytorch_norm(w, "norm3", eps));
  return torch_transformer(ef::models::encoder<torch_encoder_layer, ef::ops::layer_norm>(std::move(enc), pytorch_norm(fx["encoder_norm"], "", eps)),
                 std::move(dec), pytorch_norm(fx["decoder_norm"], "", eps));
}

std::vector<ef::index_t> offsets_of(const nlohmann::json& lengths) {
  std::vector<ef::index_t> o = {0};
  for (ef::index_t len : lengths.get<std::vector<ef::index_t>>()) o.push_back(o.back() + len);
  return o;
}

}  // namespace

TEST_CASE("encoder-decoder stack matches PyTorch nn.Transformer, and decodes token by token", "[blocks][pytorch][seq2seq]") {
  const auto fx = load_fixture("seq2seq_pytorch.json");
  torch_transformer model = load(fx);
  const ef::index_t d = fx["d_model"];
  const auto so = offsets_of(fx["src_lengths"]), to = offsets_of(fx["tgt_lengths"]);
  const ef::matrix src = fixture_matrix(fx["src"], so.back(), d), tgt = fixture_matrix(fx["tgt"], to.back(), d);
  ef::matrix out(tgt.rows(), d);
  model.forward(ef::view(src), so, ef::view(tgt), to, ef::view(out));
  const auto want = fx["out"].get<std::vector<float>>();
  std::vector<float> got(out.data(), out.data() + out.size());
  // fp32 both sides, 4 layers deep, LayerNorm-scaled O(1) outputs: 1e-5 absolute.
  require_close("nn.Transformer", got, to_double(want), [](std::size_t) { return 1e-5; });

  // Incremental decoding: both targets advance one token per step (the shorter one stops being
  // compared once it is done; it keeps receiving its own last token).
  auto st = model.begin(ef::view(src), so, 16);
  std::vector<float> inc, full;
  const ef::index_t batch = 2, steps = std::max(to[1] - to[0], to[2] - to[1]);
  for (ef::index_t step = 0; step < steps; ++step) {
    ef::matrix xs(batch, d), os(batch, d);
    for (ef::index_t b = 0; b < batch; ++b) {
      const ef::index_t len = to[std::size_t(b + 1)] - to[std::size_t(b)];
      xs.row(b) = tgt.row(to[std::size_t(b)] + std::min(step, len - 1));
    }
    model.step(ef::view(xs), ef::view(os), st);
    for (ef::index_t b = 0; b < batch; ++b) {
      if (step >= to[std::size_t(b + 1)] - to[std::size_t(b)]) continue;
      for (ef::index_t c = 0; c < d; ++c) {
        inc.push_back(os(b, c));
        full.push_back(out(to[std::size_t(b)] + step, c));
      }
    }
  }
  require_close("step-by-step decoding equals the whole-target forward", inc, to_double(full), [](std::size_t) { return 1e-5; });
}
