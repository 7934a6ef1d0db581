#pragma once
// Reading the JSON fixtures that tools/*.py write with PyTorch: flat float arrays into matrices.
#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/ops/norm.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace eftest {

/// tests/data/<name>. CTest passes the folder in the environment (EIGENFORMER_TEST_DATA_DIR) rather
/// than as a compile definition, so that compiler caches hit across checkouts in other folders.
inline nlohmann::json load_fixture(const std::string& name) {
  const char* dir = std::getenv("EIGENFORMER_TEST_DATA_DIR");
  INFO("set EIGENFORMER_TEST_DATA_DIR to the repository's tests/data (ctest does)");
  REQUIRE(dir != nullptr);
  std::ifstream in(std::string(dir) + "/" + name);
  INFO("fixture " << dir << "/" << name);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}
/// A packed batch of token ids as a model fixture's reference.json holds it.
struct model_inputs {
  std::vector<eigenformer::token_id> ids, types;  ///< types: empty unless the fixture has token_types
  std::vector<eigenformer::index_t> offsets;
};
inline model_inputs read_model_inputs(const nlohmann::json& ref) {
  model_inputs in;
  in.ids = ref["ids"].get<std::vector<eigenformer::token_id>>();
  in.offsets = ref["offsets"].get<std::vector<eigenformer::index_t>>();
  if (ref.contains("token_types")) in.types = ref["token_types"].get<std::vector<eigenformer::token_id>>();
  return in;
}
/// tests/data/models/<name>: the committed model folders (see tests/data/models/README.md).
inline std::filesystem::path model_dir(const std::string& name) {
  const char* dir = std::getenv("EIGENFORMER_TEST_DATA_DIR");
  INFO("set EIGENFORMER_TEST_DATA_DIR to the repository's tests/data (ctest does)");
  REQUIRE(dir != nullptr);
  return std::filesystem::path(dir) / "models" / name;
}
inline eigenformer::matrix fixture_matrix(const nlohmann::json& j, eigenformer::index_t rows, eigenformer::index_t cols) {
  const auto v = j.get<std::vector<float>>();
  REQUIRE(eigenformer::index_t(v.size()) == rows * cols);
  return Eigen::Map<const eigenformer::matrix>(v.data(), rows, cols);
}
inline eigenformer::vector fixture_vector(const nlohmann::json& j) {
  const auto v = j.get<std::vector<float>>();
  return Eigen::Map<const eigenformer::vector>(v.data(), eigenformer::index_t(v.size()));
}

/// Attention weights from PyTorch's nn.MultiheadAttention tensors (`in_proj_weight` [3d, d] holding
/// q, k, v; `out_proj_*`), with `prefix` prepended to each name; transposed to [in, out].
inline eigenformer::attention::attention_weights pytorch_attention(const nlohmann::json& w, eigenformer::index_t d,
                                                                   const std::string& prefix = "") {
  eigenformer::attention::attention_weights aw;
  const eigenformer::matrix in_proj = fixture_matrix(w[prefix + "in_proj_weight"], 3 * d, d);
  const eigenformer::vector in_bias = fixture_vector(w[prefix + "in_proj_bias"]);
  aw.wq = in_proj.topRows(d).transpose();
  aw.wk = in_proj.middleRows(d, d).transpose();
  aw.wv = in_proj.bottomRows(d).transpose();
  aw.bq = in_bias.head(d);
  aw.bk = in_bias.segment(d, d);
  aw.bv = in_bias.tail(d);
  aw.wo = fixture_matrix(w[prefix + "out_proj_weight"], d, d).transpose();
  aw.bo = fixture_vector(w[prefix + "out_proj_bias"]);
  return aw;
}

/// The dense FFN of an nn.Transformer*Layer (`linear1_*`, `linear2_*`).
template <class Act>
eigenformer::ffn::dense_ffn<Act> pytorch_ffn(const nlohmann::json& w, eigenformer::index_t d, eigenformer::index_t ff) {
  return eigenformer::ffn::dense_ffn<Act>(
      eigenformer::ops::linear(fixture_matrix(w["linear1_weight"], ff, d).transpose(), fixture_vector(w["linear1_bias"])),
      eigenformer::ops::linear(fixture_matrix(w["linear2_weight"], d, ff).transpose(), fixture_vector(w["linear2_bias"])));
}

/// LayerNorm `name` (`name_weight`, `name_bias`; `weight`, `bias` when name is empty).
inline eigenformer::ops::layer_norm pytorch_norm(const nlohmann::json& w, const std::string& name, float epsilon) {
  const std::string p = name.empty() ? "" : name + "_";
  return eigenformer::ops::layer_norm(fixture_vector(w[p + "weight"]), fixture_vector(w[p + "bias"]), epsilon);
}

}  // namespace eftest
