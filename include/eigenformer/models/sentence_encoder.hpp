#pragma once
/// @file
/// Sentence embeddings as sentence-transformers computes them, from the folders it saves:
/// `modules.json` (Transformer, Pooling, Dense, Normalize), the pooling config (CLS, max, mean,
/// mean over √length, weighted mean, last token; `include_prompt`), Dense layers, prompts from
/// `config_sentence_transformers.json` (query / passage prefixes), `max_seq_length`, and
/// Matryoshka truncation to a chosen dimension. A plain encoder folder (no modules.json) embeds
/// with a pooling the caller names.
///     texts -> packed batches -> hidden [tokens, d] -> pooled [texts, d·modes] -> Dense… ->
///     normalized -> [texts, dim]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/json.hpp>
#include <eigenformer/models/hf_common.hpp>
#include <eigenformer/models/text_encoder.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/tokenizers/unicode.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::models {

/// sentence-transformers' Pooling: which poolings run, concatenated in its order (cls, max,
/// mean, mean_sqrt_len, weightedmean, lasttoken).
struct pooling_config {
  bool cls = false, max = false, mean = false, mean_sqrt_len = false, weighted_mean = false, last_token = false;
  bool include_prompt = true;  ///< false: a prompt's tokens are left out of every pooling but CLS
  index_t dim = 0;             ///< word_embedding_dimension

  int modes() const noexcept { return int(cls) + int(max) + int(mean) + int(mean_sqrt_len) + int(weighted_mean) + int(last_token); }
  index_t output_dim() const noexcept { return dim * modes(); }
};

/// Pools each sequence of @p hidden [tokens, d] (packed by @p offsets) into @p out
/// [sequences, config.output_dim()], as sentence_transformers.models.Pooling does on an
/// unpadded sequence. @p prompt_lengths: empty, or per sequence the number of leading tokens
/// (prompt, with its special token) that `include_prompt = false` masks. Masked like ST: max
/// over no token is −1e9, a mean over no token 0 (its count clamped to 1e-9), the last token of
/// no token zeros, and CLS reads max's −1e9 fill when its token is masked and max is on (ST
/// fills the hidden states in place). Throws shape_error for mismatched shapes.
inline void pool(const pooling_config& c, const_matrix_view hidden, offsets_view offsets,
                 std::span<const index_t> prompt_lengths, matrix_view out) {
  const char* where = "models.pool";
  validate_offsets(offsets, hidden.rows(), where);
  const index_t n = sequence_count(offsets), d = hidden.cols();
  if (d != c.dim) throw_error<shape_error>(where, "hidden width", std::to_string(c.dim) + " (word_embedding_dimension)", std::to_string(d));
  check_shape(where, "pooled", out, n, c.output_dim());
  if (!prompt_lengths.empty() && index_t(prompt_lengths.size()) != n)
    throw_error<shape_error>(where, "prompt lengths", std::to_string(n) + " (one per sequence)", std::to_string(prompt_lengths.size()));
  for (index_t s = 0; s < n; ++s) {
    const index_t a = offsets[std::size_t(s)], len = offsets[std::size_t(s) + 1] - a;
    const index_t skip = c.include_prompt || prompt_lengths.empty() ? 0 : std::clamp<index_t>(prompt_lengths[std::size_t(s)], 0, len);
    index_t col = 0;
    auto block = [&]() {
      auto b = out.row(s).segment(col, d);
      col += d;
      return b;
    };
    if (c.cls) {
      auto b = block();
      if (len > 0) b = hidden.row(a);
      else b.setZero();
      // ST's max pooling writes its -1e9 fill into the hidden states in place, and its CLS block
      // is a view of them: with a masked first token and max on, CLS reads the fill.
      if (c.max && skip > 0) b.setConstant(-1e9f);
    }
    if (c.max) {
      auto b = block();
      b.setConstant(-1e9f);
      for (index_t r = a + skip; r < a + len; ++r) b = b.cwiseMax(hidden.row(r));
    }
    if (c.mean || c.mean_sqrt_len) {
      Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(d);
      for (index_t r = a + skip; r < a + len; ++r) sum += hidden.row(r).cast<double>();
      const double count = std::max(double(len - skip), 1e-9);
      if (c.mean) block() = (sum / count).cast<float>();
      if (c.mean_sqrt_len) block() = (sum / std::sqrt(count)).cast<float>();
    }
    if (c.weighted_mean) {
      Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(d);
      double weights = 0;
      for (index_t r = a + skip; r < a + len; ++r) {
        const double w = double(r - a + 1);  // 1-based position in the sequence
        sum += w * hidden.row(r).cast<double>();
        weights += w;
      }
      block() = (sum / std::max(weights, 1e-9)).cast<float>();
    }
    if (c.last_token) {  // ST gathers from hidden · mask: nothing unmasked gives zeros
      auto b = block();
      if (skip < len) b = hidden.row(a + len - 1);
      else b.setZero();
    }
  }
}

/// sentence_transformers.models.Dense: y = act(x·W + b).
struct sentence_dense {
  ops::linear linear;  ///< [in] -> [out]
  ops::activation_fn act = ops::activation_fn::identity;
};

/// Rows scaled to unit L2 norm (torch's F.normalize: x / max(‖x‖, 1e-12)).
inline void normalize_rows(matrix_view x) noexcept {
  for (index_t r = 0; r < x.rows(); ++r) {
    const double norm = x.row(r).cast<double>().norm();
    x.row(r) /= float(std::max(norm, 1e-12));
  }
}

/// What a sentence-transformers folder holds besides the Transformer's own files.
struct sentence_transformers_config {
  pooling_config pooling;
  std::vector<std::filesystem::path> dense;      ///< the Dense modules' folders, in order
  bool normalize = false;                        ///< a Normalize module at the end
  std::map<std::string, std::string> prompts;    ///< prompt name -> prefix
  std::string default_prompt_name;               ///< "" for none
  std::string similarity = "cosine";             ///< similarity_fn_name
  index_t max_seq_length = 0;                    ///< 0: the model's positions
  /// The Transformer module's folder: the model folder itself (path "" or "."), or a subfolder
  /// (older sentence-transformers versions saved it as "0_Transformer"), which then holds the
  /// model's config.json, weights, tokenizer files and sentence_bert_config.json.
  std::filesystem::path transformer;
  bool lower_case = false;                       ///< sentence_bert_config.json's do_lower_case
};

namespace detail {

[[noreturn]] inline void st_fail(const std::string& what, const std::string& expected, const std::string& got,
                                 const std::filesystem::path& file) {
  throw_error<config_error>("models.sentence_transformers", what, expected, got, file.string());
}

/// A module's folder: relative, inside @p dir (no "..", no absolute path, no symlink out).
inline std::filesystem::path module_path(const std::filesystem::path& dir, const std::string& rel,
                                         const std::filesystem::path& file, const std::string& entry) {
  const std::filesystem::path p(rel);
  bool dots = false;
  for (const auto& part : p) dots |= part == "..";
  if (p.is_absolute() || p.has_root_name() || dots)
    st_fail(entry + ".path", "a folder inside the model folder", "\"" + rel + "\"", file);
  const auto full = dir / p;
  std::error_code ec;
  const auto base = std::filesystem::weakly_canonical(dir, ec), target = std::filesystem::weakly_canonical(full, ec);
  const auto [b, t] = std::mismatch(base.begin(), base.end(), target.begin(), target.end());
  if (ec || b != base.end()) st_fail(entry + ".path", "a folder inside the model folder", "\"" + rel + "\" (leads outside)", file);
  if (!io::exists(full)) throw_error<io_error>("models.sentence_transformers", entry + " folder", "present", "no such folder", full.string());
  return full;
}

inline pooling_config read_pooling(const std::filesystem::path& file) {
  const nlohmann::json j = io::read_json(file);
  if (!j.is_object()) st_fail("pooling config", "a JSON object", j.type_name(), file);
  pooling_config c;
  c.mean = !j.contains("pooling_mode_mean_tokens");  // Pooling's constructor default
  const std::pair<const char*, bool*> modes[] = {
      {"pooling_mode_cls_token", &c.cls},           {"pooling_mode_max_tokens", &c.max},
      {"pooling_mode_mean_tokens", &c.mean},        {"pooling_mode_mean_sqrt_len_tokens", &c.mean_sqrt_len},
      {"pooling_mode_weightedmean_tokens", &c.weighted_mean}, {"pooling_mode_lasttoken", &c.last_token}};
  for (const auto& [k, v] : j.items()) {
    if (k == "word_embedding_dimension") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > (1 << 20))
        st_fail("field 'word_embedding_dimension'", "an integer in [1, 1048576]", v.dump(), file);
      c.dim = v.get<index_t>();
      continue;
    }
    if (k == "include_prompt") {
      if (!v.is_boolean()) st_fail("field 'include_prompt'", "true or false", v.dump(), file);
      c.include_prompt = v.get<bool>();
      continue;
    }
    if (k == "pooling_mode") continue;  // read below: it overrides the flags
    bool* flag = nullptr;
    for (const auto& [name, f] : modes)
      if (k == name) flag = f;
    if (!flag) st_fail("field '" + k + "'", "a pooling_mode_* of sentence-transformers, word_embedding_dimension or include_prompt",
                       v.dump() + " (not supported)", file);
    if (!v.is_boolean()) st_fail("field '" + k + "'", "true or false", v.dump(), file);
    *flag = v.get<bool>();
  }
  if (const auto it = j.find("pooling_mode"); it != j.end() && !it->is_null()) {  // ST: one mode by name
    const std::string m = it->is_string() ? it->get<std::string>() : it->dump();
    const std::pair<const char*, bool*> names[] = {{"cls", &c.cls}, {"max", &c.max}, {"mean", &c.mean},
                                                   {"mean_sqrt_len_tokens", &c.mean_sqrt_len},
                                                   {"weightedmean", &c.weighted_mean}, {"lasttoken", &c.last_token}};
    bool* flag = nullptr;
    for (const auto& [name, f] : names)
      if (m == name) flag = f;
    if (!flag) st_fail("field 'pooling_mode'", "cls, max, mean, mean_sqrt_len_tokens, weightedmean or lasttoken", it->dump(), file);
    c.cls = c.max = c.mean = c.mean_sqrt_len = c.weighted_mean = c.last_token = false;
    *flag = true;
  }
  if (c.dim == 0) st_fail("field 'word_embedding_dimension'", "an integer >= 1", "nothing (missing field)", file);
  if (c.modes() == 0) st_fail("pooling mode", "at least one pooling_mode_* true", "none (a pooling config with no mode)", file);
  return c;
}

}  // namespace detail

/// Reads @p dir's sentence-transformers files, or nullopt when it has no modules.json. Throws
/// config_error naming the file and entry for an unknown module type, a module path outside the
/// folder, a pooling config with no mode, an unknown similarity function; io_error for a
/// missing module folder.
inline std::optional<sentence_transformers_config> read_sentence_transformers(const std::filesystem::path& dir) {
  const auto modules_file = dir / "modules.json";
  if (!io::exists(modules_file)) return std::nullopt;
  const nlohmann::json modules = io::read_json(modules_file);
  if (!modules.is_array() || modules.empty()) detail::st_fail("modules", "a non-empty list of modules", modules.dump(), modules_file);
  sentence_transformers_config st;
  bool transformer = false, pooling = false;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const auto& m = modules[i];
    const std::string entry = "modules[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string() || !m.contains("path") || !m["path"].is_string())
      detail::st_fail(entry, "an object with \"type\" and \"path\" strings", m.dump(), modules_file);
    const std::string type = m["type"], path = m["path"];
    const std::string prefix = "sentence_transformers.models.";
    const std::string kind = type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
    const auto order = [&](bool ok, const char* want) {
      if (!ok) detail::st_fail(entry + ".type", want, "\"" + type + "\" here", modules_file);
    };
    if (kind == "Transformer") {
      order(i == 0, "the Transformer first");
      st.transformer = path.empty() || path == "." ? dir : detail::module_path(dir, path, modules_file, entry);
      transformer = true;
    } else if (kind == "Pooling") {
      order(transformer && !pooling && st.dense.empty() && !st.normalize, "Pooling once, after the Transformer");
      st.pooling = detail::read_pooling(detail::module_path(dir, path, modules_file, entry) / "config.json");
      pooling = true;
    } else if (kind == "Dense") {
      order(pooling && !st.normalize, "Dense after Pooling, before Normalize");
      st.dense.push_back(detail::module_path(dir, path, modules_file, entry));
    } else if (kind == "Normalize") {
      order(pooling && !st.normalize, "Normalize once, after Pooling");
      // Normalize has no files: its folder (empty, so often not kept) need not exist, but the
      // path must still stay inside the model folder.
      const std::filesystem::path p(path);
      bool dots = false;
      for (const auto& part : p) dots |= part == "..";
      if (p.is_absolute() || dots) detail::st_fail(entry + ".path", "a folder inside the model folder", "\"" + path + "\"", modules_file);
      st.normalize = true;
    } else {
      detail::st_fail(entry + ".type", "sentence_transformers.models.Transformer, Pooling, Dense or Normalize",
                      "\"" + type + "\" (not supported)", modules_file);
    }
  }
  if (!pooling) detail::st_fail("modules", "a Pooling module", "none", modules_file);

  if (const auto f = dir / "config_sentence_transformers.json"; io::exists(f)) {
    const nlohmann::json j = io::read_json(f);
    if (!j.is_object()) detail::st_fail("config", "a JSON object", j.type_name(), f);
    if (const auto p = j.find("prompts"); p != j.end() && !p->is_null()) {
      if (!p->is_object()) detail::st_fail("field 'prompts'", "an object of name: prefix strings", p->dump(), f);
      for (const auto& [k, v] : p->items()) {
        if (!v.is_string()) detail::st_fail("field 'prompts." + k + "'", "a string", v.dump(), f);
        st.prompts[k] = v.get<std::string>();
      }
    }
    if (const auto p = j.find("default_prompt_name"); p != j.end() && !p->is_null()) {
      if (!p->is_string() || !st.prompts.count(p->get<std::string>()))
        detail::st_fail("field 'default_prompt_name'", "null or one of the prompts' names", p->dump(), f);
      st.default_prompt_name = p->get<std::string>();
    }
    if (const auto p = j.find("similarity_fn_name"); p != j.end() && !p->is_null()) {
      const std::string s = p->is_string() ? p->get<std::string>() : p->dump();
      if (s != "cosine" && s != "dot" && s != "euclidean" && s != "manhattan")
        detail::st_fail("field 'similarity_fn_name'", "cosine, dot, euclidean or manhattan", p->dump() + " (not supported)", f);
      st.similarity = s;
    }
  }
  if (const auto f = st.transformer / "sentence_bert_config.json"; io::exists(f)) {
    const nlohmann::json j = io::read_json(f);
    if (!j.is_object()) detail::st_fail("config", "a JSON object", j.type_name(), f);
    if (const auto p = j.find("max_seq_length"); p != j.end() && !p->is_null()) {
      if (!p->is_number_integer() || p->get<std::int64_t>() < 1 || p->get<std::int64_t>() > (1 << 24))
        detail::st_fail("field 'max_seq_length'", "an integer in [1, 16777216]", p->dump(), f);
      st.max_seq_length = p->get<index_t>();
    }
    if (const auto p = j.find("do_lower_case"); p != j.end() && !p->is_null()) {
      if (!p->is_boolean()) detail::st_fail("field 'do_lower_case'", "true or false", p->dump(), f);
      st.lower_case = p->get<bool>();
    }
  }
  return st;
}

/// Loads one Dense module folder (config.json + model.safetensors with `linear.weight` [out, in]
/// and `linear.bias`). Throws config_error for an unknown activation, shape_error for weights of
/// another shape than the config says or an input width other than @p in, io_error when only
/// pytorch_model.bin is there.
inline sentence_dense load_sentence_dense(const std::filesystem::path& dir, index_t in, const load_options& options = {}) {
  const auto file = dir / "config.json";
  const nlohmann::json j = io::read_json(file);
  const auto integer = [&](const char* k) -> index_t {
    const auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > (1 << 20))
      detail::st_fail(std::string("field '") + k + "'", "an integer in [1, 1048576]", it == j.end() ? "nothing" : it->dump(), file);
    return it->get<index_t>();
  };
  const index_t n_in = integer("in_features"), n_out = integer("out_features");
  if (n_in != in)
    throw_error<shape_error>("models.sentence_transformers", "Dense in_features", std::to_string(in) + " (the previous module's width)",
                             std::to_string(n_in), file.string());
  bool bias = true;
  if (const auto it = j.find("bias"); it != j.end()) {
    if (!it->is_boolean()) detail::st_fail("field 'bias'", "true or false", it->dump(), file);
    bias = it->get<bool>();
  }
  // Required: sentence-transformers' Dense.load reads it by key.
  const auto act_it = j.find("activation_function");
  if (act_it == j.end() || !act_it->is_string())
    detail::st_fail("field 'activation_function'", "a torch module name", act_it == j.end() ? "nothing (missing field)" : act_it->dump(), file);
  const std::string act = act_it->get<std::string>();
  sentence_dense d;
  if (act == "torch.nn.modules.linear.Identity") d.act = ops::activation_fn::identity;
  else if (act == "torch.nn.modules.activation.Tanh") d.act = ops::activation_fn::tanh;
  else if (act == "torch.nn.modules.activation.ReLU") d.act = ops::activation_fn::relu;
  else if (act == "torch.nn.modules.activation.GELU") d.act = ops::activation_fn::gelu;
  else if (act == "torch.nn.modules.activation.SiLU") d.act = ops::activation_fn::silu;
  else if (act == "torch.nn.modules.activation.Sigmoid") d.act = ops::activation_fn::sigmoid;
  else
    detail::st_fail("field 'activation_function'", "torch.nn.modules.linear.Identity or activation.Tanh / ReLU / GELU / SiLU / Sigmoid",
                    "\"" + act + "\" (not supported)", file);
  if (!io::exists(dir / "model.safetensors"))
    throw_error<io_error>("models.sentence_transformers", "Dense weights", "model.safetensors (pytorch_model.bin is not read)",
                          "no model.safetensors", dir.string());
  io::checkpoint ckpt(dir);
  io::weight_binder w(ckpt, "");
  w.set_linear_weights(options.weights == weight_type::f32 || options.weights == weight_type::bf16 ? options.weights : weight_type::f32);
  d.linear = hf::linear(w.sub("linear"), n_out, n_in, bias);
  w.finish();
  return d;
}

/// How to embed: which prompt, the output size, normalization, the batch budget.
struct embed_options {
  std::string prompt_name = {};  ///< one of the folder's prompts ("" = the default prompt, if any)
  std::string prompt = {};       ///< a prefix given directly (overrides prompt_name)
  index_t truncate_dim = 0;  ///< Matryoshka: keep the first truncate_dim values (0 = all)
  bool normalize = false;    ///< normalize after truncation (sentence-transformers' normalize_embeddings)
  index_t batch_tokens = 8192;
};

/// A sentence-embedding model: an encoder folder with sentence-transformers' modules, or a
/// plain encoder with a pooling the caller gives.
class sentence_encoder {
 public:
  /// Loads @p dir: its encoder and tokenizer, and modules.json's Pooling, Dense and Normalize
  /// modules. A folder without modules.json embeds with @p fallback pooling (mean over the
  /// tokens when not given), as sentence-transformers does for a plain Hugging Face model.
  static sentence_encoder load(const std::filesystem::path& dir, const load_options& options = {},
                               std::optional<pooling_config> fallback = std::nullopt) {
    auto st = read_sentence_transformers(dir);
    text_encoder enc = text_encoder::load(st ? st->transformer : dir, options);
    sentence_encoder s(std::move(enc));
    if (st) {
      s.st_ = std::move(*st);
    } else {
      s.st_.pooling = fallback ? *fallback : pooling_config{.mean = true};
    }
    const index_t d = s.encoder_.d_model();
    if (s.st_.pooling.dim == 0) s.st_.pooling.dim = d;
    if (s.st_.pooling.dim != d)
      throw_error<shape_error>("models.sentence_transformers", "Pooling word_embedding_dimension",
                               std::to_string(d) + " (the model's hidden size)", std::to_string(s.st_.pooling.dim),
                               (dir / "modules.json").string());
    index_t width = s.st_.pooling.output_dim();
    for (const auto& p : s.st_.dense) {
      s.dense_.push_back(load_sentence_dense(p, width, options));
      width = s.dense_.back().linear.out();
    }
    s.dim_ = width;
    return s;
  }

  text_encoder& encoder() noexcept { return encoder_; }
  const sentence_transformers_config& config() const noexcept { return st_; }
  /// The embedding's size before truncation.
  index_t dim() const noexcept { return dim_; }
  /// The longest text in tokens (max_seq_length, within the model's positions).
  index_t max_seq_length() const {
    const index_t most = encoder_.max_sequence();
    return st_.max_seq_length > 0 ? std::min(st_.max_seq_length, most) : most;
  }
  /// The prefix @p o asks for (its prompt, a named prompt, the default prompt, or none). Throws
  /// config_error for a prompt name the folder does not have.
  std::string prompt_for(const embed_options& o) const {
    if (!o.prompt.empty()) return o.prompt;
    const std::string name = o.prompt_name.empty() ? st_.default_prompt_name : o.prompt_name;
    if (name.empty()) return "";
    const auto it = st_.prompts.find(name);
    if (it == st_.prompts.end()) {
      std::string names;
      for (const auto& [k, v] : st_.prompts) names += (names.empty() ? "" : ", ") + k;
      throw_error<config_error>("models.sentence_encoder", "prompt name", names.empty() ? "none (the folder has no prompts)" : names,
                                "\"" + name + "\"");
    }
    return it->second;
  }
  /// sentence-transformers' prompt length: the prompt's ids with special tokens, less one when
  /// the last is special (the [SEP] a lone prompt ends with).
  index_t prompt_length(const std::string& prompt) {
    if (prompt.empty()) return 0;
    const auto ids = encoder_.tokenizer().encode_with_types(input_text("", prompt), true, std::size_t(max_seq_length())).ids;
    index_t n = index_t(ids.size());
    if (n > 0 && encoder_.tokenizer().is_special(ids.back())) --n;
    return n;
  }

  /// Embeddings [texts, dim] (or [texts, truncate_dim]) of @p texts. Throws config_error for
  /// bad options, what the tokenizer and model throw for bad input.
  matrix embed(std::span<const std::string> texts, const embed_options& o = {}) {
    if (o.truncate_dim < 0 || o.truncate_dim > dim_)
      throw_error<config_error>("models.sentence_encoder", "truncate_dim", "an integer in [0, " + std::to_string(dim_) + "]",
                                std::to_string(o.truncate_dim));
    const std::string prompt = prompt_for(o);
    const index_t plen = st_.pooling.include_prompt ? 0 : prompt_length(prompt);
    std::vector<tokenizers::encoding> items;
    items.reserve(texts.size());
    for (const auto& t : texts) items.push_back(encoder_.encode(input_text(prompt, t), max_seq_length()));
    return embed(std::span<const tokenizers::encoding>(items), plen, o);
  }
  /// The same from encodings, with @p prompt_length leading tokens left out of the pooling when
  /// the config's include_prompt is false.
  matrix embed(std::span<const tokenizers::encoding> items, index_t prompt_length, const embed_options& o = {}) {
    const index_t n = index_t(items.size()), out_dim = o.truncate_dim ? o.truncate_dim : dim_;
    matrix out(n, out_dim);
    std::vector<index_t> plens;
    encoder_.run(items, o.batch_tokens, [&](const packed_batch& b, const_matrix_view hidden) {
      const index_t m = index_t(b.offsets.size()) - 1;
      plens.assign(std::size_t(m), prompt_length);
      // Pooling, then each Dense, ping-ponging between two scratch buffers.
      bool in_a = true;
      index_t cols = st_.pooling.output_dim();
      pool(st_.pooling, hidden, b.offsets, plens, a_.get(m, cols));
      for (auto& dn : dense_) {
        const const_matrix_view x = as_const((in_a ? a_ : b_).get(m, cols));
        matrix_view y = (in_a ? b_ : a_).get(m, dn.linear.out());
        dn.linear.forward(x, y);
        for (index_t r = 0; r < m; ++r) ops::apply_activation(dn.act, y.row(r).data(), std::size_t(y.cols()));
        in_a = !in_a;
        cols = dn.linear.out();
      }
      matrix_view x = (in_a ? a_ : b_).get(m, cols);
      if (st_.normalize) normalize_rows(x);
      matrix_view dst = rows(view(out), index_t(b.first), m);
      dst = x.leftCols(out_dim);
      if (o.normalize) normalize_rows(dst);
    });
    return out;
  }

  /// What the tokenizer is given for @p text after @p prompt, as sentence-transformers'
  /// Transformer module prepares it: the two joined, stripped of leading and trailing whitespace,
  /// and lower-cased as Python's str.lower() does when sentence_bert_config.json sets
  /// do_lower_case (tokenizers::unicode::lower_full). Throws format_error for invalid UTF-8 then.
  std::string input_text(std::string_view prompt, std::string_view text) const {
    std::string s = stripped(std::string(prompt) + std::string(text));
    if (!st_.lower_case) return s;
    return tokenizers::encode_utf8(tokenizers::unicode::lower_full(tokenizers::decode_utf8(s, "text to embed")));
  }

  /// @p text without leading and trailing whitespace, as sentence-transformers' Transformer
  /// strips every input (prompt included) before tokenizing.
  static std::string stripped(std::string_view text) {
    const auto ws = " \t\n\r\f\v";
    const auto a = text.find_first_not_of(ws);
    if (a == std::string_view::npos) return {};
    return std::string(text.substr(a, text.find_last_not_of(ws) - a + 1));
  }

 private:
  explicit sentence_encoder(text_encoder e) : encoder_(std::move(e)) {}

  text_encoder encoder_;
  sentence_transformers_config st_;
  std::vector<sentence_dense> dense_;
  index_t dim_ = 0;
  scratch_matrix a_, b_;
};

}  // namespace eigenformer::models
