// A config is checked against its checkpoint before a model allocates anything: every tensor of
// every layer must be there with the shape the config implies, so that num_hidden_layers 1e6,
// hidden_size 1e9 or max_position_embeddings 2^30 are reported, not allocated (they used to build
// zero layers until memory ran out, or die of std::bad_alloc). Config keys that change the math
// (head_dim, rope_parameters) are used, not ignored.
#include <eigenformer/models/auto.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/models/gpt2.hpp>
#include <eigenformer/models/llama.hpp>

#include "../support/fixtures.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

namespace ef = eigenformer;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

using eftest::model_dir;

// A copy of fixture @p name whose config.json @p edit changes.
struct edited_model {
  fs::path path;
  edited_model(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    static int n = 0;
    path = fs::temp_directory_path() / ("eigenformer_cfg_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    fs::create_directories(path);
    for (const auto& e : fs::directory_iterator(model_dir(name))) fs::copy(e.path(), path / e.path().filename());
    nlohmann::json j;
    std::ifstream(path / "config.json") >> j;
    edit(j);
    std::ofstream(path / "config.json", std::ios::trunc) << j.dump(2);
  }
  ~edited_model() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

ef::matrix llama_logits(ef::models::llama<>& m) {
  const std::vector<ef::token_id> ids = {5, 6, 7, 8, 9, 10, 11, 12};
  ef::matrix h(8, m.d_model()), l(8, m.vocab_size());
  m.forward(ids, std::vector<ef::index_t>{0, 8}, ef::view(h));
  m.logits(ef::view(std::as_const(h)), ef::view(l));
  return l;
}

}  // namespace

TEST_CASE("a config with more layers than the checkpoint is reported before any layer is built", "[models][errors]") {
  for (const auto& [name, field] : {std::pair{"llama", "num_hidden_layers"}, {"gpt2", "n_layer"}, {"bert", "num_hidden_layers"}}) {
    edited_model m(name, [&](nlohmann::json& j) { j[field] = 1000000; });
    const auto t0 = std::chrono::steady_clock::now();
    try {
      (void)ef::models::load_model(m.path);
      FAIL("no error");
    } catch (const ef::format_error& e) {
      CHECK_THAT(std::string(e.what()), Contains("checkpoint tensors: expected exactly the tensors of the model; missing: ") &&
                                            Contains("(1000 or more in all)"));
    }
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  }
}

TEST_CASE("sizes from a config are checked against the checkpoint's shapes before allocation", "[models][errors]") {
  {
    edited_model m("llama", [](nlohmann::json& j) { j["hidden_size"] = 1000000000; j["head_dim"] = 16; });
    CHECK_THROWS_WITH(ef::models::load_model(m.path),
                      Contains("tensor 'model.embed_tokens.weight': expected shape [72, 1000000000], got [72, 64]"));
  }
  {
    edited_model m("bert", [](nlohmann::json& j) { j["hidden_size"] = 1000000000; j["num_attention_heads"] = 1; });
    CHECK_THROWS_AS(ef::models::load_model(m.path), ef::shape_error);
  }
  {
    edited_model m("gpt2", [](nlohmann::json& j) { j["vocab_size"] = 2000000000; });
    CHECK_THROWS_WITH(ef::models::load_model(m.path), Contains("wte.weight': expected shape [2000000000, 32], got [80, 32]"));
  }
  {
    edited_model m("gpt2", [](nlohmann::json& j) { j["vocab_size"] = std::int64_t(1) << 62; });
    CHECK_THROWS_AS(ef::models::load_model(m.path), ef::config_error);
  }
  {
    edited_model m("gpt2", [](nlohmann::json& j) { j["n_positions"] = 1 << 30; });
    CHECK_THROWS_WITH(ef::models::load_model(m.path), Contains("wpe.weight': expected shape [1073741824, 32]"));
  }
  {  // RoPE positions are no tensor: their tables are bounded by the checkpoint's size.
    edited_model m("llama", [](nlohmann::json& j) { j["max_position_embeddings"] = 1 << 30; });
    CHECK_THROWS_WITH(ef::models::load_model(m.path),
                      Contains("field 'max_position_embeddings': expected at most") && Contains("got 1073741824") &&
                          Contains("config.json"));
  }
  {
    edited_model m("llama", [](nlohmann::json& j) { j["max_position_embeddings"] = std::int64_t(1) << 40; });
    CHECK_THROWS_AS(ef::models::load_model(m.path), ef::config_error);
  }
}

TEST_CASE("llama: rope_parameters' rope_theta is used, and head_dim shapes the projections", "[models][llama][errors]") {
  auto ref = ef::models::llama<>::load(model_dir("llama"));  // rope_theta 500000 at the top level
  const ef::matrix want = llama_logits(ref);
  {
    edited_model m("llama", [](nlohmann::json& j) {
      j.erase("rope_theta");
      j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
    });
    auto got = ef::models::llama<>::load(m.path);
    CHECK(got.config().rope_theta == 500000.0);
    CHECK(llama_logits(got) == want);
  }
  {  // Another theta gives other logits: the value is read, not defaulted.
    edited_model m("llama", [](nlohmann::json& j) {
      j.erase("rope_theta");
      j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 10000.0}};
    });
    auto got = ef::models::llama<>::load(m.path);
    CHECK((llama_logits(got) - want).cwiseAbs().maxCoeff() > 1e-4f);
  }
  {
    edited_model m("llama", [](nlohmann::json& j) { j["rope_parameters"] = {{"rope_type", "yarn"}, {"factor", 4.0}}; });
    CHECK_THROWS_WITH(ef::models::load_model(m.path), Contains("rope_parameters.rope_type") && Contains("\"yarn\""));
  }
  {  // head_dim equal to hidden_size / heads: the same model.
    edited_model m("llama", [](nlohmann::json& j) { j["head_dim"] = 16; j["eos_token_id"] = {2, 3}; });
    auto got = ef::models::llama<>::load(m.path);
    CHECK(llama_logits(got) == want);
    CHECK(got.config().eos_token_ids == std::vector<std::int64_t>{2, 3});
  }
  {  // head_dim 32 with 4 heads: q_proj must be [128, 64], which the checkpoint's is not.
    edited_model m("llama", [](nlohmann::json& j) { j["head_dim"] = 32; });
    CHECK_THROWS_WITH(ef::models::load_model(m.path),
                      Contains("tensor 'model.layers.0.self_attn.q_proj.weight': expected shape [128, 64], got [64, 64]"));
  }
}
