// Generation: samplers on crafted distributions, seeded reproducibility, and the generate loop
// on the GPT-2 and LLaMA fixture checkpoints: greedy equals the float64 PyTorch reference's
// greedy tokens, top-k 1 equals greedy, a batch of prompts equals each prompt alone, beam search
// of width 1 equals greedy and wider beams find a more likely continuation, stop tokens end a
// sequence.
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/models/gpt2.hpp>
#include <eigenformer/models/llama.hpp>
#include <eigenformer/tokenizers/bpe.hpp>

#include "../support/check.hpp"
#include "../support/fixtures.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace ef = eigenformer;
namespace eg = eigenformer::generation;

namespace {

using eftest::model_dir;

// Logits whose softmax is exactly {0.5, 0.3, 0.15, 0.05} (up to rounding).
std::vector<float> crafted() { return {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)}; }

std::vector<ef::token_id> kept(const eg::sampling_options& o) { return eg::filter(crafted(), o).ids; }

}  // namespace

TEST_CASE("samplers keep exactly the expected candidate sets", "[generation]") {
  using v = std::vector<ef::token_id>;
  eg::sampling_options o;
  CHECK(kept(o) == v{0, 1, 2, 3});
  o.top_k = 3;
  CHECK(kept(o) == v{0, 1, 2});
  o = {};
  o.top_p = 0.75f;  // 0.5 < 0.75 <= 0.5 + 0.3
  CHECK(kept(o) == v{0, 1});
  o.top_p = 0.85f;  // 0.8 < 0.85 <= 0.95
  CHECK(kept(o) == v{0, 1, 2});
  o.top_p = 0.4f;  // the most likely token alone already reaches it
  CHECK(kept(o) == v{0});
  o = {};
  o.min_p = 0.35f;  // keep p >= 0.175: 0.5 and 0.3
  CHECK(kept(o) == v{0, 1});
  o.min_p = 0.09f;  // keep p >= 0.045: all four
  CHECK(kept(o) == v{0, 1, 2, 3});
  // Renormalised probabilities of the kept set.
  o = {};
  o.top_k = 2;
  const auto c = eg::filter(crafted(), o);
  CHECK(c.probs[0] == Approx(0.5 / 0.8).epsilon(1e-6));
  CHECK(c.probs[1] == Approx(0.3 / 0.8).epsilon(1e-6));
  // Temperature 0.5 squares the probabilities before renormalising.
  o = {};
  o.temperature = 0.5f;
  const auto t = eg::filter(crafted(), o);
  const double z = 0.25 + 0.09 + 0.0225 + 0.0025;
  CHECK(t.probs[0] == Approx(0.25 / z).epsilon(1e-5));
  CHECK(t.probs[3] == Approx(0.0025 / z).epsilon(1e-4));
}

TEST_CASE("greedy, repetition penalty, seeded draws", "[generation]") {
  eg::rng r(7);
  eg::sampling_options greedy;
  greedy.temperature = 0.0f;
  std::vector<float> l = {1.0f, 3.0f, 3.0f, -1.0f};
  CHECK(eg::sample(l, {}, greedy, r) == 1);  // ties to the lower id
  // Repetition penalty 2: a seen positive logit halves, a seen negative one doubles.
  std::vector<float> p = {2.0f, -1.0f, 0.5f};
  const std::vector<ef::token_id> seen = {0, 1, 1};
  eg::apply_repetition_penalty(p, seen, 2.0f);
  CHECK(p == std::vector<float>{1.0f, -2.0f, 0.5f});
  // The same seed draws the same tokens; the frequencies follow the distribution.
  eg::sampling_options o;
  o.seed = 42;
  std::vector<int> counts(4, 0);
  eg::rng a(o.seed), b(o.seed), c(o.seed + 1);
  std::vector<ef::token_id> da, db, dc;
  for (int i = 0; i < 20000; ++i) {
    auto x = crafted(), y = crafted(), z = crafted();
    da.push_back(eg::sample(x, {}, o, a));
    db.push_back(eg::sample(y, {}, o, b));
    dc.push_back(eg::sample(z, {}, o, c));
    ++counts[std::size_t(da.back())];
  }
  CHECK(da == db);
  CHECK(da != dc);
  // Binomial standard deviation at n = 20000 is <= 0.0035; 0.015 is over 4 sigma.
  const double want[] = {0.5, 0.3, 0.15, 0.05};
  for (int i = 0; i < 4; ++i) CHECK(std::abs(counts[std::size_t(i)] / 20000.0 - want[i]) < 0.015);
  eg::sampling_options bad;
  bad.top_p = 0.0f;
  CHECK_THROWS_WITH(bad.validate(), Catch::Matchers::Contains("top_p: expected a number in (0, 1]"));
  bad = {};
  bad.temperature = -1.0f;
  CHECK_THROWS_AS(bad.validate(), ef::config_error);
}

namespace {
// A crafted "model" over 4 tokens whose next-token distribution depends only on the last token:
// after the prompt (token 0) token 1 has p 0.6 and token 2 p 0.4; after 1 every token is equally
// likely; after 2 token 3 has p 0.97. Greedy takes 1 then 0 (log p = log 0.6 + log 0.25 = -1.90);
// the best two-token continuation is 2, 3 (log 0.4 + log 0.97 = -0.95).
struct crafted_lm {
  using layer_cache = eigenformer::attention::layer_cache<ef::token_id>;
  using cache_type = std::vector<layer_cache>;
  void reorder_cache(cache_type& c, std::span<const ef::index_t> src) const {
    for (auto& l : c) l.reorder(src);
  }
  ef::index_t d_model() const { return 1; }
  ef::index_t vocab_size() const { return 4; }
  ef::index_t max_positions() const { return 64; }
  cache_type make_cache(ef::index_t b, ef::index_t) const {
    return {layer_cache{b, 1, std::vector<ef::token_id>(std::size_t(b), 0), std::vector<ef::index_t>(std::size_t(b), 0)}};
  }
  void prefill(std::span<const ef::token_id> ids, ef::offsets_view, ef::matrix_view hidden, cache_type&) {
    for (std::size_t r = 0; r < ids.size(); ++r) hidden(ef::index_t(r), 0) = float(ids[r]);
  }
  void step(std::span<const ef::token_id> ids, ef::matrix_view hidden, cache_type& c) {
    for (std::size_t b = 0; b < ids.size(); ++b) {
      hidden(ef::index_t(b), 0) = float(ids[b]);
      c[0].states[b] = ids[b];
    }
  }
  void logits(ef::const_matrix_view hidden, ef::matrix_view out) const {
    const float table[4][4] = {{1e-6f, 0.6f, 0.4f, 1e-6f}, {0.25f, 0.25f, 0.25f, 0.25f}, {0.01f, 0.01f, 0.01f, 0.97f},
                               {0.25f, 0.25f, 0.25f, 0.25f}};
    for (ef::index_t r = 0; r < hidden.rows(); ++r)
      for (int t = 0; t < 4; ++t) out(r, t) = std::log(table[int(hidden(r, 0))][t]);
  }
};
}  // namespace

TEST_CASE("beam search beats greedy on a crafted case", "[generation]") {
  crafted_lm m;
  eg::generate_options o;
  o.sampling.temperature = 0.0f;
  o.max_tokens = 2;
  const auto g = eg::generate(m, {{0}}, o);
  CHECK(g.tokens.front() == std::vector<ef::token_id>{1, 0});
  CHECK(g.log_probs.front() == Approx(std::log(0.6) + std::log(0.25)).epsilon(1e-5));
  o.beams = 2;
  const auto b = eg::generate(m, {{0}}, o);
  CHECK(b.tokens.front() == std::vector<ef::token_id>{2, 3});
  CHECK(b.log_probs.front() == Approx(std::log(0.4) + std::log(0.97)).epsilon(1e-5));
  // With token 3 as a stop token the beam hypothesis ends there and still wins.
  o.stop_tokens = {3};
  CHECK(eg::generate(m, {{0}}, o).tokens.front() == std::vector<ef::token_id>{2, 3});
}

TEMPLATE_TEST_CASE("generate on the fixture checkpoints", "[generation]", ef::models::gpt2<>, ef::models::llama<>) {
  const std::string name = std::is_same_v<TestType, ef::models::gpt2<>> ? "gpt2" : "llama";
  auto model = TestType::load(model_dir(name));
  const auto ref = eftest::load_fixture("models/" + name + "/reference.json")["greedy"];
  const auto prompt = ref["prompt"].get<std::vector<ef::token_id>>();
  const auto want = ref["tokens"].get<std::vector<ef::token_id>>();

  eg::generate_options o;
  o.sampling.temperature = 0.0f;
  o.max_tokens = int(want.size());
  std::vector<ef::token_id> streamed;
  const auto greedy = eg::generate(model, {prompt}, o, [&](std::size_t s, ef::token_id t) {
    CHECK(s == 0);
    streamed.push_back(t);
  });
  // The reference's smallest top-2 logit gap is > 0.05 (reference.json): float32 cannot flip it.
  CHECK(greedy.tokens.front() == want);
  CHECK(streamed == want);
  CHECK(greedy.stats.prefill_tokens == ef::index_t(prompt.size()));

  eg::generate_options k1;
  k1.sampling.top_k = 1;
  k1.sampling.seed = 5;
  k1.max_tokens = o.max_tokens;
  CHECK(eg::generate(model, {prompt}, k1).tokens.front() == want);

  // A batch of three prompts of different lengths, sampled, equals each prompt alone.
  eg::generate_options s;
  s.sampling.temperature = 0.9f;
  s.sampling.top_p = 0.9f;
  s.sampling.seed = 123;
  s.max_tokens = 8;
  const std::vector<std::vector<ef::token_id>> prompts = {prompt, {3}, {7, 8, 9, 10, 11, 12, 13}};
  const auto batched = eg::generate(model, prompts, s);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto alone = eg::generate(model, {prompts[i]}, s);
    INFO("prompt " << i);
    CHECK(batched.tokens[i] == alone.tokens.front());
    CHECK(batched.log_probs[i] == Approx(alone.log_probs.front()).epsilon(1e-4));
  }
  CHECK(eg::generate(model, {prompt}, s).tokens == eg::generate(model, {prompt}, s).tokens);  // same seed, same text

  // A stop token ends the sequence (and is kept).
  eg::generate_options stop = o;
  stop.stop_tokens = {want[2]};
  const auto stopped = eg::generate(model, {prompt}, stop).tokens.front();
  CHECK(stopped == std::vector<ef::token_id>(want.begin(), want.begin() + std::ptrdiff_t(std::find(want.begin(), want.end(), want[2]) - want.begin()) + 1));

  // Beam search: width 1 is greedy; width 4 finds a continuation at least as likely.
  eg::generate_options b1 = o;
  b1.beams = 1;
  eg::generate_options b4 = o;
  b4.beams = 4;
  b4.early_stopping = false;
  const auto beam1 = eg::detail::beam_search(model, prompt, b1, {}, 0);  // the beam code path, width 1
  CHECK(beam1.tokens.front() == want);
  CHECK(beam1.log_probs.front() == Approx(greedy.log_probs.front()).epsilon(1e-6));
  const auto beam4 = eg::generate(model, {prompt}, b4);
  CHECK(beam4.tokens.front().size() == want.size());
  // When both find the same tokens their log-probabilities still differ by float32 rounding:
  // the beam runs the model on 4 rows per step, greedy on 1, and a product's summation blocking
  // (Eigen's in the scalar build) depends on the row count: ~1e-6 over 12 tokens; 1e-4 margin.
  CHECK(beam4.log_probs.front() >= greedy.log_probs.front() - 1e-4);

  // Bad requests are refused by name.
  eg::generate_options too_long = o;
  too_long.max_tokens = int(model.max_positions());
  CHECK_THROWS_WITH(eg::generate(model, {prompt}, too_long), Catch::Matchers::Contains("length + max_tokens"));
  CHECK_THROWS_AS(eg::generate(model, {std::vector<ef::token_id>{}}, o), ef::config_error);
}

TEST_CASE("the shipped model: tokenizer and greedy continuations equal the PyTorch reference", "[generation][shipped]") {
  const char* data = std::getenv("EIGENFORMER_TEST_DATA_DIR");  // <repository>/tests/data
  REQUIRE(data != nullptr);
  const auto dir = std::filesystem::path(data).parent_path().parent_path() / "models" / "kjv-gpt2";
  REQUIRE(std::filesystem::exists(dir / "model.safetensors"));
  auto model = ef::models::gpt2<>::load(dir);
  auto tok = ef::tokenizers::bpe_tokenizer::from_folder(dir);
  const auto ref = eftest::load_fixture("kjv_greedy.json");
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    INFO("prompt: " << text);
    const auto prompt = c["prompt"].get<std::vector<ef::token_id>>();
    CHECK(tok.encode(text) == prompt);  // the C++ BPE reproduces the training tokenizer
    eg::generate_options o;
    o.sampling.temperature = 0.0f;
    o.max_tokens = int(c["tokens"].size());
    const auto got = eg::generate(model, {prompt}, o).tokens.front();
    // Compare up to the first step whose top-2 logit gap is too small for float32 to be sure.
    const auto want = c["tokens"].get<std::vector<ef::token_id>>();
    const auto gaps = c["gaps"].get<std::vector<double>>();
    std::size_t n = 0;
    while (n < want.size() && gaps[n] > 1e-3) ++n;
    CHECK(n >= 8);
    CHECK(std::vector<ef::token_id>(got.begin(), got.begin() + std::ptrdiff_t(n)) ==
          std::vector<ef::token_id>(want.begin(), want.begin() + std::ptrdiff_t(n)));
    const std::string continuation = tok.decode(got);
    CHECK(std::count_if(continuation.begin(), continuation.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); }) > 20);
  }
}
