#pragma once
/// @file
/// Reading the JSON files of a model folder (config.json, tokenizer files, shard indexes) with
/// typed errors that name the file.

#include <eigenformer/core/error.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace eigenformer::io {

/// Reads a JSON file; io_error when it cannot be read, format_error when it is not JSON.
inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_error<io_error>("io.json", "file", "a readable JSON file", "cannot open", path.string());
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw_error<format_error>("io.json", "content", "valid JSON", "a parse error", path.string());
  return j;
}

}  // namespace eigenformer::io
