#pragma once
/// @file
/// A checkpoint folder whose architecture is only known at run time: config.json's model_type
/// picks the preset once, here, as a std::variant; callers std::visit it once at the top and
/// run the chosen preset's code from there (docs/DESIGN.md, "Models": a run-time choice becomes a type once).

#include <eigenformer/io/hf_config.hpp>
#include <eigenformer/models/bert.hpp>
#include <eigenformer/models/gpt2.hpp>
#include <eigenformer/models/llama.hpp>
#include <eigenformer/models/modernbert.hpp>

#include <filesystem>
#include <type_traits>
#include <variant>

namespace eigenformer::models {

using any_model = std::variant<bert<>, gpt2<>, llama<>, modernbert<>>;

/// True for the encoder presets (bidirectional; heads instead of an LM head).
template <class M>
inline constexpr bool is_encoder_v = std::is_same_v<M, bert<>> || std::is_same_v<M, modernbert<>>;

/// Loads the preset config.json names, with @p options (the linear layers' weight type).
/// Throws io_error, format_error, config_error or shape_error naming the file and the tensor or
/// field.
inline any_model load_model(const std::filesystem::path& dir, const load_options& options = {}) {
  const auto cfg = io::read_config(dir);
  return std::visit(
      [&](const auto& c) -> any_model {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, io::bert_config>) return bert<>::load(dir, options);
        else if constexpr (std::is_same_v<C, io::gpt2_config>) return gpt2<>::load(dir, options);
        else if constexpr (std::is_same_v<C, io::llama_config>) return llama<>::load(dir, options);
        else return modernbert<>::load(dir, options);
      },
      cfg);
}

}  // namespace eigenformer::models
