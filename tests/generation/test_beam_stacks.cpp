// Beam search on a heterogeneous stack (blocks::layer_choice: softmax and linear-attention
// layers): the cache reorders its per-sequence states through its own operation, for any block
// type. Each returned beam's log-probability, accumulated step by step through the reordered
// caches, must equal the log-probability a fresh forward pass (no cache) gives the same tokens:
// a beam that kept another beam's states would score tokens under the wrong history.
#include <eigenformer/attention/linear.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/blocks/decoder_block.hpp>
#include <eigenformer/blocks/layer_choice.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/models/causal_lm.hpp>
#include <eigenformer/ops/norm.hpp>

#include "../support/check.hpp"

#include <cmath>
#include <cstdlib>

namespace ea = eigenformer::attention;
namespace eb = eigenformer::blocks;
namespace ef = eigenformer;
namespace eg = eigenformer::generation;

namespace {

constexpr ef::index_t d = 32, hidden = 64, vocab = 23, positions = 64;
using ffn_t = ef::ffn::dense_ffn<ef::ops::gelu_erf>;
using lin = ea::linear_attention<ea::elu_plus_one_map>;
using soft_blk = eb::decoder_block<ea::causal_softmax_attention, eb::no_cross_attention, ffn_t, ef::ops::layer_norm,
                                   eb::pre_norm>;
using lin_blk = eb::decoder_block<lin, eb::no_cross_attention, ffn_t, ef::ops::layer_norm, eb::pre_norm>;
using choice = eb::layer_choice<soft_blk, lin_blk>;
using lm = ef::models::causal_lm<choice, ef::ops::layer_norm>;

ef::ops::layer_norm random_norm(ef::index_t w) {
  return ef::ops::layer_norm(ef::vector(ef::vector::Random(w).array() * 0.2f + 1.0f), ef::vector::Random(w) * 0.1f);
}

lm make_model() {
  const ea::attention_config cfg{.d_model = d, .num_heads = 2, .max_positions = positions};
  std::vector<choice> layers;
  for (unsigned i = 0; i < 3; ++i) {
    std::srand(400 + i);
    if (i % 2 == 0)
      layers.emplace_back(soft_blk(ea::multi_head_attention<ea::causal_softmax_attention>(cfg, ea::attention_weights::random(cfg, i)),
                                   ffn_t::random(d, hidden), random_norm(d), random_norm(d)));
    else
      layers.emplace_back(lin_blk(ea::multi_head_attention<lin>(cfg, ea::attention_weights::random(cfg, i), lin(true)),
                                  ffn_t::random(d, hidden), random_norm(d), random_norm(d)));
  }
  std::srand(9);
  ef::ops::embedding tokens{ef::matrix(ef::matrix::Random(vocab, d))};
  // A sharp head (logits of several units) so the beams' scores spread and reorders happen.
  ef::ops::linear head(ef::matrix(ef::matrix::Random(d, vocab) * 3.0f), ef::vector());
  return lm("test.lm", std::move(tokens), std::nullopt,
            lm::stack_type(std::move(layers), random_norm(d)), std::move(head), positions);
}

// Σ log p(tokens[i] | prompt, tokens[:i]) from one forward pass over the whole sequence.
double fresh_log_prob(lm& m, const std::vector<ef::token_id>& prompt, const std::vector<ef::token_id>& tokens) {
  std::vector<ef::token_id> ids = prompt;
  ids.insert(ids.end(), tokens.begin(), tokens.end());
  const ef::index_t n = ef::index_t(ids.size());
  ef::matrix h(n, d), logits(n, vocab);
  m.forward(ids, std::vector<ef::index_t>{0, n}, ef::view(h));
  m.logits(ef::view(h), ef::view(logits));
  double sum = 0.0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto row = logits.row(ef::index_t(prompt.size() + i) - 1).cast<double>();
    const double mx = row.maxCoeff();
    sum += row(tokens[i]) - mx - std::log((row.array() - mx).exp().sum());
  }
  return sum;
}

}  // namespace

TEST_CASE("beam search on a layer_choice stack: reordered caches score each beam's own history",
          "[generation][beam]") {
  lm model = make_model();
  const std::vector<ef::token_id> prompt = {3, 14, 1, 7};
  eg::generate_options o;
  o.max_tokens = 10;
  o.sampling.temperature = 0.0f;
  const auto greedy = eg::generate(model, {prompt}, o);
  for (int beams : {1, 3, 5}) {
    eg::generate_options b = o;
    b.beams = beams;
    b.early_stopping = false;
    const auto r = eg::generate(model, {prompt}, b);
    INFO("beams " << beams);
    REQUIRE(r.tokens.front().size() == std::size_t(o.max_tokens));
    // Cached step-by-step scores vs one uncached pass: float32 through 3 layers and a
    // 23-way log-softmax per token, 10 tokens: ~1e-5 absolute; 1e-3 leaves room, while a beam
    // scored on another beam's states is off by whole nats.
    CHECK(r.log_probs.front() == Approx(fresh_log_prob(model, prompt, r.tokens.front())).margin(1e-3));
    if (beams == 1) CHECK(r.tokens.front() == greedy.tokens.front());
    CHECK(r.log_probs.front() >= greedy.log_probs.front() - 1e-4);
  }
}
