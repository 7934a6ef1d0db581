#pragma once
// Reading the JSON fixtures that tools/*.py write with PyTorch: flat float arrays into matrices.
#include <eigenformer/core/tensor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace eftest {

inline nlohmann::json load_fixture(const std::string& name) {
  std::ifstream in(std::string(EIGENFORMER_TEST_DATA_DIR) + "/" + name);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
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

}  // namespace eftest
