// Dense softmax multi-head attention against PyTorch's nn.MultiheadAttention on the same weights
// (fixture: tests/data/mha_pytorch.json, made by tools/make_attention_fixtures.py), bidirectional
// and causal, MHA and GQA, three sequences run by eigenformer as one packed batch.
#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/attention/score.hpp>

#include <nlohmann/json.hpp>

#include "../support/check.hpp"
#include "../support/fixtures.hpp"

#include <fstream>

namespace ea = eigenformer::attention;
namespace ef = eigenformer;
using namespace eftest;

TEST_CASE("multi-head softmax attention matches PyTorch nn.MultiheadAttention", "[attention][pytorch]") {
  const auto fixture = load_fixture("mha_pytorch.json");
  for (const auto& c : fixture["cases"]) {
    const ef::index_t d = c["d_model"], h = c["num_heads"], kv = c["num_kv_heads"], hd = d / h;
    ea::attention_config cfg{.d_model = d, .num_heads = h, .num_kv_heads = kv};
    ea::attention_weights w;
    // PyTorch stores Linear weights [out, in]; eigenformer multiplies x·W with W [in, out].
    w.wq = fixture_matrix(c["wq"], h * hd, d).transpose();
    w.wk = fixture_matrix(c["wk"], kv * hd, d).transpose();
    w.wv = fixture_matrix(c["wv"], kv * hd, d).transpose();
    w.wo = fixture_matrix(c["wo"], d, h * hd).transpose();
    w.bq = fixture_vector(c["bq"]);
    w.bk = fixture_vector(c["bk"]);
    w.bv = fixture_vector(c["bv"]);
    w.bo = fixture_vector(c["bo"]);
    std::vector<ef::index_t> offsets = {0};
    for (ef::index_t len : c["lengths"].get<std::vector<ef::index_t>>()) offsets.push_back(offsets.back() + len);
    const ef::matrix x = fixture_matrix(c["x"], offsets.back(), d);
    ef::matrix out(x.rows(), d);
    auto compare = [&](const std::string& label, const nlohmann::json& want_json) {
      const auto want = want_json.get<std::vector<float>>();
      std::vector<float> got(out.data(), out.data() + out.size());
      // Both sides are fp32 with different summation orders; outputs are O(1). The largest
      // difference observed is 1.8e-7 (~3 ulp at 0.33); 2e-6 leaves a 10x margin.
      require_close(label, got, to_double(want), [](std::size_t) { return 2e-6; });
    };
    ea::multi_head_attention<ea::softmax_attention> dense(cfg, w);
    dense.forward(ef::view(x), offsets, ef::view(out));
    compare(c["name"].get<std::string>() + " bidirectional", c["out"]);
    ea::multi_head_attention<ea::causal_softmax_attention> causal(cfg, w);
    causal.forward(ef::view(x), offsets, ef::view(out));
    compare(c["name"].get<std::string>() + " causal", c["out_causal"]);
  }
}
