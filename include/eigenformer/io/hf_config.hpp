#pragma once
/// @file
/// Hugging Face `config.json` for the presets (BERT, GPT-2, LLaMA-style), read into plain
/// structs with every field checked: a missing required field, a value of the wrong type or
/// range, and an option the presets do not implement (an activation, rope scaling, ...) are
/// config_errors naming the field and the file.

#include <eigenformer/core/error.hpp>
#include <eigenformer/io/json.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace eigenformer::io {

/// HF `BertModel` / `BertForMaskedLM`.
struct bert_config {
  std::int64_t vocab_size = 0, hidden_size = 0, num_hidden_layers = 0, num_attention_heads = 0,
               intermediate_size = 0, max_position_embeddings = 0, type_vocab_size = 2;
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
};
/// HF `GPT2Model` / `GPT2LMHeadModel`.
struct gpt2_config {
  std::int64_t vocab_size = 0, n_positions = 0, n_embd = 0, n_layer = 0, n_head = 0, n_inner = 0;
  std::string activation_function = "gelu_new";
  double layer_norm_epsilon = 1e-5;
  std::int64_t bos_token_id = 50256, eos_token_id = 50256;
  bool tie_word_embeddings = true;
};
/// HF `LlamaForCausalLM` (and the models that share its layout).
struct llama_config {
  std::int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0,
               num_attention_heads = 0, num_key_value_heads = 0, max_position_embeddings = 0;
  std::string hidden_act = "silu";
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;
  bool tie_word_embeddings = false, attention_bias = false;
  std::int64_t bos_token_id = 1, eos_token_id = 2;
};

using model_config = std::variant<bert_config, gpt2_config, llama_config>;

namespace detail {

class config_reader {
 public:
  config_reader(const nlohmann::json& j, std::string file) : j_(j), file_(std::move(file)) {}

  std::int64_t integer(const char* field, std::int64_t min, std::optional<std::int64_t> fallback = std::nullopt) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) {
      if (fallback) return *fallback;
      fail(field, "an integer >= " + std::to_string(min), "nothing (missing field)");
    }
    if (!it->is_number_integer()) fail(field, "an integer >= " + std::to_string(min), it->dump());
    const auto v = it->get<std::int64_t>();
    if (v < min) fail(field, "an integer >= " + std::to_string(min), std::to_string(v));
    return v;
  }
  double number(const char* field, double fallback, bool positive = true) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_number() || (positive && !(it->get<double>() > 0.0))) fail(field, "a positive number", it->dump());
    return it->get<double>();
  }
  bool boolean(const char* field, bool fallback) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(field, "true or false", it->dump());
    return it->get<bool>();
  }
  std::string string(const char* field, std::optional<std::string> fallback = std::nullopt) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) {
      if (fallback) return *fallback;
      fail(field, "a string", "nothing (missing field)");
    }
    if (!it->is_string()) fail(field, "a string", it->dump());
    return it->get<std::string>();
  }
  /// Rejects a field unless absent, null or equal to one of @p allowed.
  void only(const char* field, const std::vector<nlohmann::json>& allowed, const std::string& expected) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) return;
    for (const auto& a : allowed)
      if (*it == a) return;
    fail(field, expected, it->dump() + " (not supported)");
  }
  [[noreturn]] void fail(const std::string& field, const std::string& expected, const std::string& got) const {
    throw_error<config_error>("io.config", "field '" + field + "'", expected, got, file_);
  }

 private:
  const nlohmann::json& j_;
  std::string file_;
};

}  // namespace detail

/// Reads `config.json` from an object already parsed (@p file names it in errors).
inline model_config parse_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw_error<config_error>("io.config", "config", "a JSON object", std::string(j.type_name()), file);
  detail::config_reader r(j, file);
  const std::string type = r.string("model_type");
  if (type == "bert") {
    bert_config c;
    c.vocab_size = r.integer("vocab_size", 1);
    c.hidden_size = r.integer("hidden_size", 1);
    c.num_hidden_layers = r.integer("num_hidden_layers", 1);
    c.num_attention_heads = r.integer("num_attention_heads", 1);
    c.intermediate_size = r.integer("intermediate_size", 1);
    c.max_position_embeddings = r.integer("max_position_embeddings", 1);
    c.type_vocab_size = r.integer("type_vocab_size", 1, 2);
    c.hidden_act = r.string("hidden_act", "gelu");
    if (c.hidden_act != "gelu") r.fail("hidden_act", "\"gelu\" (the activation of the bert preset)", "\"" + c.hidden_act + "\" (not supported)");
    c.layer_norm_eps = r.number("layer_norm_eps", 1e-12);
    c.pad_token_id = r.integer("pad_token_id", 0, 0);
    r.only("position_embedding_type", {"absolute"}, "\"absolute\"");
    r.only("is_decoder", {false}, "false");
    r.only("add_cross_attention", {false}, "false");
    if (c.hidden_size % c.num_attention_heads != 0)
      r.fail("num_attention_heads", "a divisor of hidden_size " + std::to_string(c.hidden_size),
             std::to_string(c.num_attention_heads));
    return c;
  }
  if (type == "gpt2") {
    gpt2_config c;
    c.vocab_size = r.integer("vocab_size", 1);
    c.n_positions = r.integer("n_positions", 1);
    c.n_embd = r.integer("n_embd", 1);
    c.n_layer = r.integer("n_layer", 1);
    c.n_head = r.integer("n_head", 1);
    c.n_inner = r.integer("n_inner", 1, 4 * c.n_embd);
    c.activation_function = r.string("activation_function", "gelu_new");
    if (c.activation_function != "gelu_new" && c.activation_function != "gelu_pytorch_tanh")
      r.fail("activation_function", "\"gelu_new\" or \"gelu_pytorch_tanh\" (the activation of the gpt2 preset)",
             "\"" + c.activation_function + "\" (not supported)");
    c.layer_norm_epsilon = r.number("layer_norm_epsilon", 1e-5);
    c.bos_token_id = r.integer("bos_token_id", 0, 50256);
    c.eos_token_id = r.integer("eos_token_id", 0, 50256);
    c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
    r.only("scale_attn_weights", {true}, "true");
    r.only("scale_attn_by_inverse_layer_idx", {false}, "false");
    r.only("add_cross_attention", {false}, "false");
    if (c.n_embd % c.n_head != 0)
      r.fail("n_head", "a divisor of n_embd " + std::to_string(c.n_embd), std::to_string(c.n_head));
    return c;
  }
  if (type == "llama") {
    llama_config c;
    c.vocab_size = r.integer("vocab_size", 1);
    c.hidden_size = r.integer("hidden_size", 1);
    c.intermediate_size = r.integer("intermediate_size", 1);
    c.num_hidden_layers = r.integer("num_hidden_layers", 1);
    c.num_attention_heads = r.integer("num_attention_heads", 1);
    c.num_key_value_heads = r.integer("num_key_value_heads", 1, c.num_attention_heads);
    c.max_position_embeddings = r.integer("max_position_embeddings", 1);
    c.hidden_act = r.string("hidden_act", "silu");
    if (c.hidden_act != "silu")
      r.fail("hidden_act", "\"silu\" (the activation of the llama preset)", "\"" + c.hidden_act + "\" (not supported)");
    c.rms_norm_eps = r.number("rms_norm_eps", 1e-6);
    c.rope_theta = r.number("rope_theta", 10000.0);
    c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
    c.attention_bias = r.boolean("attention_bias", false);
    c.bos_token_id = r.integer("bos_token_id", 0, 1);
    c.eos_token_id = r.integer("eos_token_id", 0, 2);
    r.only("rope_scaling", {}, "null (rope scaling is not supported)");
    r.only("mlp_bias", {false}, "false");
    r.only("pretraining_tp", {1}, "1");
    if (c.hidden_size % c.num_attention_heads != 0)
      r.fail("num_attention_heads", "a divisor of hidden_size " + std::to_string(c.hidden_size),
             std::to_string(c.num_attention_heads));
    if (c.num_attention_heads % c.num_key_value_heads != 0)
      r.fail("num_key_value_heads", "a divisor of num_attention_heads " + std::to_string(c.num_attention_heads),
             std::to_string(c.num_key_value_heads));
    return c;
  }
  r.fail("model_type", "\"bert\", \"gpt2\" or \"llama\"", "\"" + type + "\" (not supported)");
}

/// Reads `<dir>/config.json`.
inline model_config read_config(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  return parse_config(read_json(path), path.string());
}

}  // namespace eigenformer::io
