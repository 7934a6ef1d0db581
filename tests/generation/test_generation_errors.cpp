// Generation's error contract: logits that are not finite stop every sampler and beam search
// with a numeric_error naming the sequence or beam and the step (beam search used to skip every
// beam and then read an empty list), and beam width is bounded.
#include <eigenformer/generation/generate.hpp>
#include <eigenformer/models/gpt2.hpp>

#include "../support/fixtures.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

namespace ef = eigenformer;
namespace eg = eigenformer::generation;
using Catch::Matchers::Contains;

namespace {
using eftest::model_dir;
}  // namespace

TEST_CASE("non-finite logits stop greedy, sampling and beam search with the step named", "[generation][errors]") {
  // The GPT-2 fixture with one NaN in ln_f.bias: every logit is NaN.
  auto m = ef::models::gpt2<>::load(model_dir("gpt2_nan"));
  const std::vector<std::vector<ef::token_id>> prompt = {{1, 2, 3}};
  eg::generate_options o;
  o.max_tokens = 4;
  o.sampling.temperature = 0.0f;
  CHECK_THROWS_MATCHES(eg::generate(m, prompt, o), ef::numeric_error,
                       Catch::Matchers::Message("[eigenformer.generation] logits of sequence 0 at step 0: expected finite "
                                                "values, got NaN at token id 0"));
  o.sampling.temperature = 0.8f;
  o.sampling.top_k = 40;
  o.sampling.top_p = 0.9f;
  CHECK_THROWS_AS(eg::generate(m, prompt, o), ef::numeric_error);
  for (int beams : {2, 3}) {
    o.beams = beams;
    CHECK_THROWS_WITH(eg::generate(m, prompt, o), Contains("logits of beam 0 at step 0: expected finite values, got NaN"));
  }
  // The sampler itself, on any row: NaN, +inf and -inf.
  eg::rng r(0);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> row = {0.0f, 1.0f, bad};
    CHECK_THROWS_WITH(eg::sample(row, {}, {}, r), Contains("logits: expected finite values") && Contains("at token id 2"));
  }
}

TEST_CASE("beam width is bounded", "[generation][errors]") {
  eg::generate_options o;
  o.beams = eg::generate_options::max_beams;
  CHECK_NOTHROW(o.validate());
  o.beams = 20000;
  CHECK_THROWS_WITH(o.validate(), "[eigenformer.generation] beams: expected an integer in [1, 256], got 20000");
}
