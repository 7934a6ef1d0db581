#pragma once
/// @file
/// Hugging Face `config.json` for the presets (BERT, GPT-2, LLaMA-style), read into plain
/// structs with every field checked: a missing required field, a value of the wrong type or
/// range, and an option the presets do not implement (an activation, rope scaling, ...) are
/// config_errors naming the field and the file.

#include <eigenformer/core/error.hpp>
#include <eigenformer/io/json.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace eigenformer::io {

/// What sits on top of an encoder, from config.json's `architectures` (the first entry) and
/// `id2label`: the class HF instantiates decides which head the checkpoint's tensors belong to
/// (BERT's sequence and token classifiers are both a `classifier` of [num_labels, d]).
enum class encoder_head {
  none,                     ///< *Model (hidden states only; a pooler when present)
  masked_lm,                ///< *ForMaskedLM, BertForPreTraining
  sequence_classification,  ///< *ForSequenceClassification (classifiers, cross-encoder rerankers)
  token_classification,     ///< *ForTokenClassification (NER)
};
struct head_config {
  encoder_head head = encoder_head::none;
  std::string architecture;         ///< as written ("" when the config names none)
  std::vector<std::string> labels;  ///< id2label in id order (HF's default LABEL_0, LABEL_1 for classifiers)
  std::string problem_type;         ///< "", "regression", "single_label_classification", "multi_label_classification"
};

/// HF `BertModel` / `BertForMaskedLM` / `BertFor{Sequence,Token}Classification`, and the
/// RoBERTa family, which is BERT with positions offset by `pad_token_id + 1` and one token type
/// (`RobertaModel`, `XLMRobertaModel`, their MLM and classification classes).
struct bert_config {
  std::string model_type = "bert";  ///< "bert", "roberta" or "xlm-roberta"
  std::int64_t vocab_size = 0, hidden_size = 0, num_hidden_layers = 0, num_attention_heads = 0,
               intermediate_size = 0, max_position_embeddings = 0, type_vocab_size = 2;
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-12;
  std::int64_t pad_token_id = 0;
  head_config head;

  bool is_roberta() const noexcept { return model_type != "bert"; }
  /// The position row of a sequence's first token: 0 for BERT, pad_token_id + 1 for RoBERTa
  /// (HF's create_position_ids_from_input_ids on unpadded input).
  std::int64_t position_offset() const noexcept { return is_roberta() ? pad_token_id + 1 : 0; }
  /// The longest sequence the position table holds.
  std::int64_t max_sequence() const noexcept { return max_position_embeddings - position_offset(); }
};
/// HF `ModernBertModel` / `ModernBertForMaskedLM` / `ModernBertFor{Sequence,Token}Classification`.
struct modernbert_config {
  std::int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0,
               num_attention_heads = 0, max_position_embeddings = 8192;
  std::string hidden_activation = "gelu";
  double norm_eps = 1e-5, global_rope_theta = 160000.0, local_rope_theta = 10000.0;
  std::int64_t local_attention = 128;            ///< a local layer sees |i − j| <= local_attention / 2
  std::int64_t global_attn_every_n_layers = 3;   ///< layer i is global when i % n == 0
  std::vector<bool> global_layers;               ///< one per layer (from the above, or layer_types)
  bool norm_bias = false, attention_bias = false, mlp_bias = false, decoder_bias = true, classifier_bias = false;
  std::string classifier_pooling = "cls";        ///< "cls" or "mean"
  std::string classifier_activation = "gelu";    ///< the prediction head's activation
  std::int64_t pad_token_id = 50283;
  head_config head;

  std::int64_t head_size() const noexcept { return hidden_size / num_attention_heads; }
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

using model_config = std::variant<bert_config, gpt2_config, llama_config, modernbert_config>;

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

/// The head of `architectures[0]` and the labels of `id2label` (keys "0" .. "n-1", each once).
/// An architecture eigenformer has no head for (question answering, multiple choice, ...) is
/// refused by name rather than run as the bare encoder.
inline head_config read_head(const config_reader& r) {
  head_config h;
  if (const auto* a = r.find("architectures")) {
    if (!a->is_array() || a->empty() || !(*a)[0].is_string())
      r.fail("architectures", "a list of class names", a->dump());
    h.architecture = (*a)[0].get<std::string>();
    const auto ends = [&](std::string_view tail) {
      return h.architecture.size() >= tail.size() &&
             std::string_view(h.architecture).substr(h.architecture.size() - tail.size()) == tail;
    };
    if (ends("ForMaskedLM") || ends("ForPreTraining")) h.head = encoder_head::masked_lm;
    else if (ends("ForSequenceClassification")) h.head = encoder_head::sequence_classification;
    else if (ends("ForTokenClassification")) h.head = encoder_head::token_classification;
    else if (ends("Model")) h.head = encoder_head::none;
    else
      r.fail("architectures", "a *Model, *ForMaskedLM, *ForPreTraining, *ForSequenceClassification or "
             "*ForTokenClassification class", "\"" + h.architecture + "\" (not supported)");
  }
  if (const auto* m = r.find("id2label")) {
    if (!m->is_object() || m->empty()) r.fail("id2label", "an object {\"0\": label, ...}", m->dump());
    h.labels.resize(m->size());
    std::vector<bool> seen(m->size(), false);
    for (const auto& [k, v] : m->items()) {
      std::size_t id = 0, used = 0;
      try {
        id = std::stoul(k, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != k.size() || k.empty() || k[0] == '-' || k[0] == '+' || id >= h.labels.size() || seen[id] || !v.is_string())
        r.fail("id2label", "keys \"0\" .. \"" + std::to_string(h.labels.size() - 1) + "\", each once, naming strings",
               "\"" + k + "\": " + v.dump());
      seen[id] = true;
      h.labels[id] = v.get<std::string>();
    }
  }
  if (const auto* n = r.find("num_labels")) {
    const auto want = r.integer_value("num_labels", *n, 1, 1 << 20);
    if (!h.labels.empty() && std::size_t(want) != h.labels.size())
      r.fail("num_labels", "the size of id2label " + std::to_string(h.labels.size()), n->dump());
    if (h.labels.empty())
      for (std::int64_t i = 0; i < want; ++i) h.labels.push_back("LABEL_" + std::to_string(i));
  }
  if (h.labels.empty() && h.head != encoder_head::none && h.head != encoder_head::masked_lm)
    h.labels = {"LABEL_0", "LABEL_1"};  // HF's PretrainedConfig default
  h.problem_type = r.string("problem_type", "");
  if (!h.problem_type.empty() && h.problem_type != "regression" && h.problem_type != "single_label_classification" &&
      h.problem_type != "multi_label_classification")
    r.fail("problem_type", "\"regression\", \"single_label_classification\" or \"multi_label_classification\"",
           "\"" + h.problem_type + "\" (not supported)");
  return h;
}

}  // namespace detail

/// Reads `config.json` from an object already parsed (@p file names it in errors).
inline model_config parse_config(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw_error<config_error>("io.config", "config", "a JSON object", std::string(j.type_name()), file);
  detail::config_reader r(j, file);
  const std::string type = r.string("model_type");
  if (type == "bert" || type == "roberta" || type == "xlm-roberta") {
    bert_config c;
    c.model_type = type;
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
    c.pad_token_id = r.integer("pad_token_id", 0, c.is_roberta() ? 1 : 0);
    if (c.is_roberta() && c.max_sequence() < 1)
      r.fail("max_position_embeddings", "more than pad_token_id + 1 = " + std::to_string(c.position_offset()) +
             " (RoBERTa's positions start after the padding row)", std::to_string(c.max_position_embeddings));
    c.head = detail::read_head(r);
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
  if (type == "modernbert") {
    modernbert_config c;
    c.vocab_size = r.integer("vocab_size", 1);
    c.hidden_size = r.integer("hidden_size", 1);
    c.intermediate_size = r.integer("intermediate_size", 1);
    c.num_hidden_layers = r.integer("num_hidden_layers", 1);
    c.num_attention_heads = r.integer("num_attention_heads", 1);
    c.max_position_embeddings = r.integer("max_position_embeddings", 1, 8192);
    c.hidden_activation = r.string("hidden_activation", "gelu");
    if (c.hidden_activation != "gelu")
      r.fail("hidden_activation", "\"gelu\" (the GeGLU of the modernbert preset)",
             "\"" + c.hidden_activation + "\" (not supported)");
    c.norm_eps = r.epsilon("norm_eps", 1e-5);
    constexpr double max_theta = 1e300;
    c.global_rope_theta = r.number("global_rope_theta", 160000.0, 1.0, max_theta);
    c.local_rope_theta = r.number("local_rope_theta", c.global_rope_theta, 1.0, max_theta);
    c.local_attention = r.integer("local_attention", 2, 128);
    if (c.local_attention % 2 != 0)
      r.fail("local_attention", "an even window (HF splits it in two halves)", std::to_string(c.local_attention));
    c.global_attn_every_n_layers = r.integer("global_attn_every_n_layers", 1, 3);
    for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
      c.global_layers.push_back(i % c.global_attn_every_n_layers == 0);
    // Current transformers write the choice out as layer_types, but still take the window from
    // global_attn_every_n_layers and the RoPE base from layer_types: a file where the two
    // disagree would run differently by version, so it is refused.
    if (const auto* lt = r.find("layer_types")) {
      if (!lt->is_array() || std::int64_t(lt->size()) != c.num_hidden_layers)
        r.fail("layer_types", "a list of " + std::to_string(c.num_hidden_layers) +
               " \"full_attention\" / \"sliding_attention\"", lt->dump());
      for (std::size_t i = 0; i < lt->size(); ++i) {
        const auto& t = (*lt)[i];
        if (t != "full_attention" && t != "sliding_attention")
          r.fail("layer_types[" + std::to_string(i) + "]", "\"full_attention\" or \"sliding_attention\"", t.dump());
        if ((t == "full_attention") != c.global_layers[i])
          r.fail("layer_types[" + std::to_string(i) + "]",
                 std::string(c.global_layers[i] ? "\"full_attention\"" : "\"sliding_attention\"") +
                     " (layer i is global when i % global_attn_every_n_layers == 0, which HF's attention follows)",
                 t.dump());
      }
    }
    r.only("rope_scaling", {}, "null (rope scaling is not supported)");
    // Current transformers: rope_parameters {"full_attention": {"rope_type": "default",
    // "rope_theta": …}, "sliding_attention": {…}} in place of global_ / local_rope_theta.
    if (const auto* rp = r.find("rope_parameters")) {
      if (!rp->is_object()) r.fail("rope_parameters", "an object keyed by full_attention / sliding_attention", rp->dump());
      for (const auto& [kind, p] : rp->items()) {
        const std::string name = "rope_parameters." + kind;
        if (kind != "full_attention" && kind != "sliding_attention") r.fail(name, "full_attention or sliding_attention", "\"" + kind + "\"");
        if (!p.is_object()) r.fail(name, "an object with rope_type and rope_theta", p.dump());
        for (const auto& [k, v] : p.items()) {
          if (k == "rope_type" || k == "type") {
            if (v != "default") r.fail(name + "." + k, "\"default\" (other RoPE variants are not supported)", v.dump() + " (not supported)");
          } else if (k == "rope_theta") {
            (kind == "full_attention" ? c.global_rope_theta : c.local_rope_theta) =
                r.number_value(name + ".rope_theta", v, 1.0, max_theta);
          } else {
            r.fail(name + "." + k, "only rope_type \"default\" and rope_theta", v.dump() + " (not supported)");
          }
        }
      }
    }
    c.norm_bias = r.boolean("norm_bias", false);
    c.attention_bias = r.boolean("attention_bias", false);
    c.mlp_bias = r.boolean("mlp_bias", false);
    c.decoder_bias = r.boolean("decoder_bias", true);
    c.classifier_bias = r.boolean("classifier_bias", false);
    c.classifier_pooling = r.string("classifier_pooling", "cls");
    if (c.classifier_pooling != "cls" && c.classifier_pooling != "mean")
      r.fail("classifier_pooling", "\"cls\" or \"mean\"", "\"" + c.classifier_pooling + "\" (not supported)");
    c.classifier_activation = r.string("classifier_activation", "gelu");
    const std::array<std::string_view, 8> activations{"gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh", "linear"};
    if (std::find(activations.begin(), activations.end(), c.classifier_activation) == activations.end())
      r.fail("classifier_activation", "gelu, gelu_new, gelu_pytorch_tanh, relu, silu, swish, tanh or linear",
             "\"" + c.classifier_activation + "\" (not supported)");
    c.pad_token_id = r.integer("pad_token_id", 0, 50283);
    r.only("sparse_prediction", {false, true}, "a boolean");  // training only: which rows get logits
    if (c.hidden_size % c.num_attention_heads != 0)
      r.fail("num_attention_heads", "a divisor of hidden_size " + std::to_string(c.hidden_size),
             std::to_string(c.num_attention_heads));
    if (c.head_size() < 8 || c.head_size() > 256 || c.head_size() % 8 != 0)
      r.fail("hidden_size / num_attention_heads", "a head size that is a multiple of 8 in [8, 256] (what attention supports)",
             std::to_string(c.head_size()));
    c.head = detail::read_head(r);
    return c;
  }
  r.fail("model_type", "\"bert\", \"roberta\", \"xlm-roberta\", \"modernbert\", \"gpt2\" or \"llama\"",
         "\"" + type + "\" (not supported)");
}

/// Reads `<dir>/config.json`.
inline model_config read_config(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  if (!io::exists(dir))
    throw_error<io_error>("io.config", "model folder", "a folder holding config.json", "no such folder", dir.string());
  return parse_config(read_json(path), path.string());
}

}  // namespace eigenformer::io
