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
#include <limits>
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
  std::vector<std::int64_t> eos_token_ids = {50256};  ///< every end token, ids of the vocabulary (eos_token_id: the first)
  bool tie_word_embeddings = true;
};
/// HF `LlamaForCausalLM` (and the models that share its layout).
struct llama_config {
  std::int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0,
               num_attention_heads = 0, num_key_value_heads = 0, max_position_embeddings = 0;
  std::int64_t head_dim = 0;  ///< 0: hidden_size / num_attention_heads
  std::string hidden_act = "silu";
  double rms_norm_eps = 1e-6, rope_theta = 10000.0;  ///< rope_theta, or rope_parameters.rope_theta
  bool tie_word_embeddings = false, attention_bias = false;
  std::int64_t bos_token_id = 1, eos_token_id = 2;
  std::vector<std::int64_t> eos_token_ids = {2};  ///< every end token (eos_token_id: the first)

  /// The size of one attention head.
  std::int64_t head_size() const noexcept { return head_dim ? head_dim : hidden_size / num_attention_heads; }
};

using model_config = std::variant<bert_config, gpt2_config, llama_config>;

/// The largest size or id a config may give: token ids and the sizes they index are 32-bit.
inline constexpr std::int64_t max_config_integer = 2147483647;

namespace detail {

class config_reader {
 public:
  config_reader(const nlohmann::json& j, std::string file) : j_(j), file_(std::move(file)) {}

  /// An integer in [min, max] (sizes and token ids are 32-bit, hence the default bound).
  std::int64_t integer(const char* field, std::int64_t min, std::optional<std::int64_t> fallback = std::nullopt,
                       std::int64_t max = max_config_integer) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) {
      if (fallback) return *fallback;
      fail(field, range(min, max), "nothing (missing field)");
    }
    return integer_value(field, *it, min, max);
  }
  /// @p v as an integer in [min, max]; else config_error naming @p field with v as written.
  std::int64_t integer_value(const std::string& field, const nlohmann::json& v, std::int64_t min, std::int64_t max) const {
    // An unsigned value above INT64_MAX must not read as a negative number; a value above the
    // bound is reported with the bound, as written (v.dump()).
    if (!v.is_number_integer()) fail(field, range(min, max), v.dump());
    if ((v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(max)) || v.get<std::int64_t>() > max)
      fail(field, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", v.dump());
    const auto x = v.get<std::int64_t>();
    if (x < min) fail(field, range(min, max), v.dump());
    return x;
  }
  /// A number in (@p lower, @p upper] (positive and finite by default).
  double number(const char* field, double fallback, double lower = 0.0,
                double upper = std::numeric_limits<double>::max()) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) return fallback;
    return number_value(field, *it, lower, upper);
  }
  double number_value(const std::string& field, const nlohmann::json& v, double lower, double upper) const {
    const std::string want = "a number in (" + format_number(lower) + ", " + format_number(upper) + "]";
    if (!v.is_number() || !(v.get<double>() > lower && v.get<double>() <= upper)) fail(field, want, v.dump());
    return v.get<double>();
  }
  /// A float-sized epsilon: positive, and not so small that it reads as 0 in float.
  double epsilon(const char* field, double fallback) const {
    return number(field, fallback, double(std::numeric_limits<float>::denorm_min()) / 2, 1.0);
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
  /// Token ids given as one integer or a list (Hugging Face writes both), each in [0, @p vocab).
  std::vector<std::int64_t> token_ids(const char* field, std::int64_t vocab, std::int64_t fallback) const {
    const auto it = j_.find(field);
    const std::string want = "a token id in [0, " + std::to_string(vocab) + ") or a list of them";
    // Absent: the preset's default, unless the vocabulary has no such id (then no end token, as
    // before: a default that can never be sampled).
    if (it == j_.end() || it->is_null()) return fallback < vocab ? std::vector<std::int64_t>{fallback} : std::vector<std::int64_t>{};
    auto id = [&](const nlohmann::json& v) {
      if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<std::uint64_t>() >= std::uint64_t(vocab)) ||
          v.get<std::int64_t>() < 0 || v.get<std::int64_t>() >= vocab)
        fail(field, want, it->dump());
      return v.get<std::int64_t>();
    };
    std::vector<std::int64_t> out;
    if (!it->is_array()) return {id(*it)};
    if (it->empty()) fail(field, want, "[]");
    for (const auto& v : *it) out.push_back(id(v));
    return out;
  }
  /// Rejects a field unless absent, null or equal to one of @p allowed.
  void only(const char* field, const std::vector<nlohmann::json>& allowed, const std::string& expected) const {
    const auto it = j_.find(field);
    if (it == j_.end() || it->is_null()) return;
    for (const auto& a : allowed)
      if (*it == a) return;
    fail(field, expected, it->dump() + " (not supported)");
  }
  const nlohmann::json* find(const char* field) const {
    const auto it = j_.find(field);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  [[noreturn]] void fail(const std::string& field, const std::string& expected, const std::string& got) const {
    throw_error<config_error>("io.config", "field '" + field + "'", expected, got, file_);
  }

 private:
  static std::string range(std::int64_t min, std::int64_t max) {
    return max == max_config_integer ? "an integer >= " + std::to_string(min)
                                     : "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
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
    c.layer_norm_eps = r.epsilon("layer_norm_eps", 1e-12);
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
    c.layer_norm_epsilon = r.epsilon("layer_norm_epsilon", 1e-5);
    c.bos_token_id = r.integer("bos_token_id", 0, 50256);
    c.eos_token_ids = r.token_ids("eos_token_id", c.vocab_size, 50256);
    c.eos_token_id = c.eos_token_ids.empty() ? 50256 : c.eos_token_ids.front();
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
    c.rms_norm_eps = r.epsilon("rms_norm_eps", 1e-6);
    // RoPE: rope_theta at the top level (older transformers) or in rope_parameters (current
    // ones, with rope_type); only the default rotation is implemented, so any other rope_type
    // (linear, dynamic, yarn, llama3, ...) is refused by name, never run as the default.
    constexpr double max_theta = 1e300;
    c.rope_theta = r.number("rope_theta", 10000.0, 1.0, max_theta);
    const auto rope_type_of = [&](const nlohmann::json& o, const std::string& name) {
      for (const char* k : {"rope_type", "type"}) {
        const auto t = o.find(k);
        if (t == o.end()) continue;
        if (!t->is_string() || *t != "default")
          r.fail(name + "." + k, "\"default\" (other RoPE variants are not supported)", t->dump() + " (not supported)");
      }
    };
    if (const auto* rp = r.find("rope_parameters")) {
      if (!rp->is_object()) r.fail("rope_parameters", "an object with rope_type and rope_theta", rp->dump());
      rope_type_of(*rp, "rope_parameters");
      for (auto& [k, v] : rp->items()) {
        if (k == "rope_type" || k == "type") continue;
        if (k == "rope_theta") {
          const double t = r.number_value("rope_parameters.rope_theta", v, 1.0, max_theta);
          if (r.find("rope_theta") && t != c.rope_theta)
            r.fail("rope_parameters.rope_theta", "the value of rope_theta " + format_number(c.rope_theta),
                   format_number(t) + " (two different values)");
          c.rope_theta = t;
        } else if (k == "partial_rotary_factor" && v == 1.0) {
          continue;
        } else {
          r.fail("rope_parameters." + k, "only rope_type \"default\" and rope_theta", v.dump() + " (not supported)");
        }
      }
    }
    if (const auto* rs = r.find("rope_scaling")) {
      // Some configs carry {"rope_type": "default"} here: the same as none.
      if (!rs->is_object()) r.fail("rope_scaling", "null (rope scaling is not supported)", rs->dump() + " (not supported)");
      rope_type_of(*rs, "rope_scaling");
      for (auto& [k, v] : rs->items())
        if (k != "rope_type" && k != "type" && !(k == "rope_theta" && v.is_number() && v.get<double>() == c.rope_theta))
          r.fail("rope_scaling", "null (rope scaling is not supported)", rs->dump() + " (not supported)");
    }
    r.only("partial_rotary_factor", {1, 1.0}, "1 (partial rotary embeddings are not supported)");
    c.tie_word_embeddings = r.boolean("tie_word_embeddings", false);
    c.attention_bias = r.boolean("attention_bias", false);
    c.bos_token_id = r.integer("bos_token_id", 0, 1);
    c.eos_token_ids = r.token_ids("eos_token_id", c.vocab_size, 2);
    c.eos_token_id = c.eos_token_ids.empty() ? 2 : c.eos_token_ids.front();
    r.only("mlp_bias", {false}, "false");
    r.only("pretraining_tp", {1}, "1");
    c.head_dim = r.integer("head_dim", 0, 0);
    if (c.head_dim == 0 && c.hidden_size % c.num_attention_heads != 0)
      r.fail("num_attention_heads", "a divisor of hidden_size " + std::to_string(c.hidden_size),
             std::to_string(c.num_attention_heads));
    if (c.head_dim == c.hidden_size / c.num_attention_heads && c.hidden_size % c.num_attention_heads == 0) c.head_dim = 0;
    if (c.head_size() < 8 || c.head_size() > 256 || c.head_size() % 8 != 0)
      r.fail(c.head_dim ? "head_dim" : "hidden_size / num_attention_heads",
             "a head size that is a multiple of 8 in [8, 256] (what attention supports)", std::to_string(c.head_size()));
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
  if (!io::exists(dir))
    throw_error<io_error>("io.config", "model folder", "a folder holding config.json", "no such folder", dir.string());
  return parse_config(read_json(path), path.string());
}

}  // namespace eigenformer::io
