#pragma once
/// @file
/// Reading the JSON files of a model folder (config.json, tokenizer files, shard indexes) with
/// typed errors that name the file.

#include <eigenformer/core/error.hpp>
#include <eigenformer/io/file.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace eigenformer::io {

namespace detail {
/// The deepest nesting of arrays and objects a JSON file may have (serde_json's limit, which
/// the Hugging Face tools that write these files share): deeper values would make every
/// recursive walk over them, such as printing one in an error, a stack overflow.
inline constexpr int max_json_depth = 128;

/// Parses @p text without throwing: discarded on a parse error; @p duplicate receives the first
/// key an object holds twice (nlohmann keeps the last one silently), else stays empty;
/// @p depth (when given) the deepest nesting seen.
inline nlohmann::json parse_json_strict(std::string_view text, std::string& duplicate, int* depth_seen = nullptr) {
  std::vector<std::unordered_set<std::string>> keys;  // the keys of each object being parsed, by depth
  const nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (depth_seen && depth > *depth_seen) *depth_seen = depth;
    const auto d = std::size_t(depth);
    if (ev == E::object_start) {
      if (keys.size() <= d) keys.resize(d + 1);
      keys[d].clear();
    } else if (ev == E::key && d >= 1 && keys.size() >= d && duplicate.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!keys[d - 1].insert(k).second) duplicate = k;
    }
    return true;
  };
  return nlohmann::json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
}
/// nlohmann's description of why @p text is not JSON (position and reason).
inline std::string json_parse_failure(std::string_view text) {
  try {
    const auto j = nlohmann::json::parse(text.begin(), text.end());
    if (j.is_discarded()) return "a parse error";
  } catch (const nlohmann::json::exception& e) {
    return e.what();
  }
  return "a parse error";
}
}  // namespace detail

/// Parses JSON text; format_error naming @p file when it is not JSON (invalid UTF-8 in a string
/// included) or holds an object with a key twice (which value would count is not defined).
inline nlohmann::json parse_json(std::string_view text, const std::string& file) {
  std::string duplicate;
  int depth = 0;
  nlohmann::json j = detail::parse_json_strict(text, duplicate, &depth);
  if (j.is_discarded())
    throw_error<format_error>("io.json", "content", "valid JSON (UTF-8)", detail::json_parse_failure(text), file);
  if (depth > detail::max_json_depth)
    throw_error<format_error>("io.json", "nesting", "arrays and objects at most " + std::to_string(detail::max_json_depth) + " deep",
                              std::to_string(depth) + " deep", file);
  if (!duplicate.empty())
    throw_error<format_error>("io.json", "object key '" + duplicate + "'", "each key once in an object", "twice", file);
  return j;
}

/// Throws format_error unless @p s is valid UTF-8 (what JSON text, and so a safetensors header,
/// can hold); @p what says which text it is.
inline void check_utf8(std::string_view s, const std::string& what, const std::string& file) {
  try {
    const std::string dumped = nlohmann::json(std::string(s)).dump();
    if (dumped.empty()) return;
  } catch (const nlohmann::json::exception&) {
    throw_error<format_error>("io.json", what, "valid UTF-8 text", "invalid UTF-8", file);
  }
}

/// Reads a JSON file; io_error when it cannot be read (absent, a directory, a device, larger
/// than io::max_text_file_bytes), format_error when it is not JSON.
inline nlohmann::json read_json(const std::filesystem::path& path) {
  return parse_json(read_file(path), path.string());
}

}  // namespace eigenformer::io
