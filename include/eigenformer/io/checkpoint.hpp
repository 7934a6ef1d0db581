#pragma once
/// @file
/// A Hugging Face checkpoint folder's weights: `model.safetensors`, or the shards named by
/// `model.safetensors.index.json` (`{"weight_map": {"tensor name": "shard file", ...}}`), and a
/// binder that hands out weights by scoped name with their shape and dtype checked, recording
/// which tensors were used so that missing and unexpected ones are reported together.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/io/file.hpp>
#include <eigenformer/io/json.hpp>
#include <eigenformer/io/safetensors.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace eigenformer::io {

/// The weights of a checkpoint folder (all shards mapped).
class checkpoint {
 public:
  /// @p dir holds model.safetensors, or model.safetensors.index.json and its shards.
  explicit checkpoint(const std::filesystem::path& dir) : dir_(dir) {
    const auto single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
    if (io::exists(index)) {
      const auto j = read_json(index);
      const auto wm = j.find("weight_map");
      if (wm == j.end() || !wm->is_object())
        throw_error<format_error>("io.checkpoint", "weight_map", "an object of tensor name -> shard file",
                                  wm == j.end() ? "nothing" : std::string(wm->type_name()), index.string());
      std::map<std::string, std::size_t> shard_index;
      for (auto& [name, shard] : wm->items()) {
        if (!shard.is_string())
          throw_error<format_error>("io.checkpoint", "weight_map entry '" + name + "'", "a shard file name",
                                    std::string(shard.type_name()), index.string());
        const std::string f = shard.get<std::string>();
        if (f.find('/') != std::string::npos || f == ".." || f.empty())
          throw_error<format_error>("io.checkpoint", "shard of '" + name + "'", "a file name in the folder", f,
                                    index.string());
        auto [it, fresh] = shard_index.try_emplace(f, files_.size());
        if (fresh) files_.push_back(std::make_unique<safetensors_file>(dir / f));
        const auto& file = *files_[it->second];
        if (!file.find(name))
          throw_error<format_error>("io.checkpoint", "tensor '" + name + "'", "present in its shard " + f,
                                    "absent", index.string());
        where_[name] = it->second;
      }
    } else if (io::exists(single)) {
      files_.push_back(std::make_unique<safetensors_file>(single));
      for (const auto& t : files_[0]->info().tensors) where_[t.name] = 0;
    } else {
      throw_error<io_error>("io.checkpoint", "weights", "model.safetensors or model.safetensors.index.json",
                            "neither", dir.string());
    }
  }

  const std::filesystem::path& dir() const noexcept { return dir_; }
  /// Bytes of all its safetensors files together (what any allocation sized by the weights is
  /// bounded by).
  std::uint64_t bytes() const noexcept {
    std::uint64_t n = 0;
    for (const auto& f : files_) n += f->info().data_start + f->info().data_size;
    return n;
  }
  bool has(const std::string& name) const noexcept { return where_.count(name) != 0; }
  /// Every tensor name, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto& [n, _] : where_) v.push_back(n);
    return v;
  }
  /// The tensor @p name and its file, or {nullptr, nullptr}.
  std::pair<const tensor_info*, const safetensors_file*> find(const std::string& name) const noexcept {
    auto it = where_.find(name);
    if (it == where_.end()) return {nullptr, nullptr};
    const auto* f = files_[it->second].get();
    return {f->find(name), f};
  }

 private:
  std::filesystem::path dir_;
  std::vector<std::unique_ptr<safetensors_file>> files_;
  std::map<std::string, std::size_t> where_;
};

/// A tensor a model will ask for: @p name under the binder's prefix (under none when
/// @p top_level), with @p shape; an optional one may be absent (a buffer, a head that some
/// checkpoints lack) and is then not reported.
struct expected_tensor_entry {
  std::string name;
  std::vector<std::int64_t> shape;
  bool optional = false, top_level = false;
};

/// Hands out the weights of a checkpoint by name, converted to float, with shape and dtype
/// checked (shape_error / format_error at once). A missing tensor is recorded and zeros are
/// returned, so that `finish()` can report every missing name at once, together with the
/// tensors nobody asked for.
class weight_binder {
 public:
  /// @p prefix is prepended to every name asked for ("bert.", "transformer.", "model.", "").
  explicit weight_binder(const checkpoint& ckpt, std::string prefix = "")
      : state_(std::make_shared<state>(state{&ckpt, {}, {}})), prefix_(std::move(prefix)) {}

  /// A binder over the same checkpoint and the same record of used and missing tensors, with
  /// another prefix (a head stored outside the backbone's prefix, such as BERT's "cls.").
  weight_binder scoped(std::string prefix) const {
    weight_binder b(*this);
    b.prefix_ = std::move(prefix);
    return b;
  }
  /// A binder over the same checkpoint and the same record of used and missing tensors whose
  /// prefix is this one's + @p name + "." (`w.sub("h").sub(3).sub("attn")` binds "h.3.attn.*").
  weight_binder sub(const std::string& name) const { return scoped(prefix_ + name + "."); }
  /// The scope of layer @p i: this prefix + "i.".
  weight_binder sub(index_t i) const { return sub(std::to_string(i)); }
  const std::string& prefix() const noexcept { return prefix_; }
  /// How the linear layers bound through this binder (and every binder sharing its record)
  /// store their weights: load_options::weights.
  weight_type linear_weights() const noexcept { return state_->linear_weights; }
  void set_linear_weights(weight_type t) noexcept { state_->linear_weights = t; }
  /// The decoders' K/V cache rows (load_options::kv_cache), for the presets' attention configs.
  weight_type kv_cache() const noexcept { return state_->kv_cache; }
  void set_kv_cache(weight_type t) noexcept { state_->kv_cache = t; }
  /// The prefix without its trailing '.' ("h.3.attn" for "h.3.attn."): the name of the part
  /// the scope holds, for messages.
  std::string scope_name() const {
    return !prefix_.empty() && prefix_.back() == '.' ? prefix_.substr(0, prefix_.size() - 1) : prefix_;
  }
  /// Tensor @p name under this prefix, as an entry of require()'s list (named in full, so that a
  /// scoped binder describes the same names it binds).
  expected_tensor_entry expect(const std::string& name, std::vector<std::int64_t> shape, bool optional = false) const {
    return {prefix_ + name, std::move(shape), optional, true};
  }
  /// The checkpoint's folder and total size in bytes (what config sizes are checked against).
  const std::filesystem::path& checkpoint_dir() const noexcept { return state_->ckpt->dir(); }
  std::uint64_t checkpoint_bytes() const noexcept { return state_->ckpt->bytes(); }
  /// True when the tensor exists (under the prefix).
  bool has(const std::string& name) const noexcept { return state_->ckpt->has(prefix_ + name); }
  /// Marks a tensor (under the prefix) as known but unused: a buffer such as position_ids, or
  /// a copy of a tied weight.
  void ignore(const std::string& name) { state_->used.insert(prefix_ + name); }

  /// Calls `fn(const float* data)` with tensor @p name, which must have shape @p shape, as
  /// contiguous row-major floats: the mapped bytes themselves for an aligned F32 tensor (no
  /// copy), else a converted temporary. The tensor's pages are released afterwards. A missing
  /// tensor is recorded and fn sees zeros.
  template <class Fn>
  void visit(const std::string& name, const std::vector<std::int64_t>& shape, Fn&& fn) {
    const std::string full = prefix_ + name;
    std::size_t n = 1;
    for (auto d : shape) n *= std::size_t(d);
    auto [t, file] = state_->ckpt->find(full);
    if (!t) {
      state_->missing.push_back(full + " " + shape_string(shape));
      const std::vector<float> zeros(n, 0.0f);
      fn(zeros.data());
      return;
    }
    state_->used.insert(full);
    if (t->shape != shape)
      throw_error<shape_error>("io.load", "tensor '" + full + "'", "shape " + shape_string(shape),
                               shape_string(t->shape), file->path());
    if (t->type != dtype::f32 && t->type != dtype::f16 && t->type != dtype::bf16)
      throw_error<format_error>("io.load", "tensor '" + full + "' dtype", "F32, F16 or BF16", dtype_name(t->type),
                                file->path());
    const std::byte* bytes = file->data(*t);
    if (t->type == dtype::f32 && reinterpret_cast<std::uintptr_t>(bytes) % alignof(float) == 0) {
      fn(reinterpret_cast<const float*>(bytes));
    } else {
      std::vector<float> tmp(n);
      to_float(t->type, bytes, n, tmp.data());
      fn(static_cast<const float*>(tmp.data()));
    }
    file->release(*t);
  }
  /// The stored element type of tensor @p name (under the prefix), or nullopt when absent.
  std::optional<dtype> stored_type(const std::string& name) const noexcept {
    auto [t, file] = state_->ckpt->find(prefix_ + name);
    if (!t) return std::nullopt;
    return t->type;
  }
  /// Calls `fn(const std::byte* bits)` with BF16 tensor @p name of shape @p shape, its bytes as
  /// stored (little-endian, any alignment): for layers that keep bf16, with no float copy. The
  /// caller has checked `stored_type(name) == dtype::bf16`; a missing tensor or another dtype is
  /// handled as visit() handles it, through a float copy rounded back by @p from_floats.
  template <class Fn, class FromFloats>
  void visit_bf16(const std::string& name, const std::vector<std::int64_t>& shape, Fn&& fn, FromFloats&& from_floats) {
    auto [t, file] = state_->ckpt->find(prefix_ + name);
    if (!t || t->type != dtype::bf16 || t->shape != shape) {
      visit(name, shape, from_floats);
      return;
    }
    state_->used.insert(prefix_ + name);
    fn(file->data(*t));
    file->release(*t);
  }
  /// Tensor @p name, which must have shape @p shape, as row-major floats.
  std::vector<float> get(const std::string& name, const std::vector<std::int64_t>& shape) {
    std::vector<float> out;
    visit(name, shape, [&](const float* p) {
      std::size_t n = 1;
      for (auto d : shape) n *= std::size_t(d);
      out.assign(p, p + n);
    });
    return out;
  }
  /// A 2-D tensor as a row-major matrix (allocated once its shape is checked).
  matrix get_matrix(const std::string& name, index_t rows, index_t cols) {
    matrix m;
    visit(name, {rows, cols}, [&](const float* p) {
      m.resize(rows, cols);
      if (m.size()) std::memcpy(m.data(), p, std::size_t(m.size()) * sizeof(float));
    });
    return m;
  }
  vector get_vector(const std::string& name, index_t n) {
    vector out;
    visit(name, {n}, [&](const float* p) {
      out.resize(n);
      if (n) std::memcpy(out.data(), p, std::size_t(n) * sizeof(float));
    });
    return out;
  }
  /// Tensor @p name [n] when the checkpoint has it (shape checked as get_vector does), else
  /// nullopt, with nothing recorded missing.
  std::optional<vector> get_optional_vector(const std::string& name, index_t n) {
    if (!has(name)) return std::nullopt;
    return get_vector(name, n);
  }
  /// Tensor @p name [rows, cols] when the checkpoint has it (shape checked), else nullopt, with
  /// nothing recorded missing.
  std::optional<matrix> get_optional_matrix(const std::string& name, index_t rows, index_t cols) {
    if (!has(name)) return std::nullopt;
    return get_matrix(name, rows, cols);
  }
  /// Marks tensor @p name as known but unused when the checkpoint has it (a buffer some
  /// checkpoints store, such as GPT-2's attn.bias mask).
  void ignore_optional(const std::string& name) {
    if (has(name)) ignore(name);
  }

  /// A tensor a model will ask for (see expected_tensor_entry).
  using expected_tensor = expected_tensor_entry;
  /// Checks, before a model allocates anything, the tensors it will bind: a present one of
  /// another shape is a shape_error at once; every absent one is reported together with the
  /// tensors of the checkpoint that are not on the list (format_error, as finish() does).
  /// @p each is called as `each(add)` and calls `add(expected_tensor)` for every tensor; it
  /// stops being asked once 1000 are missing (a config with a million layers is reported, not
  /// built).
  template <class Each>
  void require(Each&& each) const {
    std::vector<std::string> missing;
    std::size_t missing_count = 0;
    std::set<std::string> listed;
    struct stop {};
    try {
      each([&](const expected_tensor& e) {
        const std::string full = (e.top_level ? std::string() : prefix_) + e.name;
        auto [t, file] = state_->ckpt->find(full);
        if (!t) {
          if (e.optional) return;
          if (missing.size() < 100) missing.push_back(full + " " + shape_string(e.shape));
          if (++missing_count >= 1000) throw stop{};
          return;
        }
        listed.insert(full);
        if (!e.shape.empty() && t->shape != e.shape)
          throw_error<shape_error>("io.load", "tensor '" + full + "'", "shape " + shape_string(e.shape),
                                   shape_string(t->shape), file->path());
      });
    } catch (const stop&) {
    }
    if (missing.empty()) return;
    std::vector<std::string> unexpected;
    for (const auto& n : state_->ckpt->names())
      if (!listed.count(n)) unexpected.push_back(n);
    throw_error<format_error>("io.load", "checkpoint tensors",
                              "exactly the tensors of the model; missing: " +
                                  list(missing, missing_count >= 1000 ? "1000 or more" : std::to_string(missing_count)),
                              "unexpected: " + list(unexpected, std::to_string(unexpected.size())),
                              state_->ckpt->dir().string());
  }

  /// Throws format_error listing the missing tensors (with the shapes expected) and the
  /// tensors of the checkpoint that were not used, when there are any.
  void finish() const {
    std::vector<std::string> unexpected;
    for (const auto& n : state_->ckpt->names())
      if (!state_->used.count(n)) unexpected.push_back(n);
    if (state_->missing.empty() && unexpected.empty()) return;
    throw_error<format_error>("io.load", "checkpoint tensors",
                              "exactly the tensors of the model; missing: " +
                                  list(state_->missing, std::to_string(state_->missing.size())),
                              "unexpected: " + list(unexpected, std::to_string(unexpected.size())),
                              state_->ckpt->dir().string());
  }

 private:
  /// Names joined with ", " within a budget that fits an error message, then how many in all.
  static std::string list(const std::vector<std::string>& v, const std::string& count) {
    std::string s;
    std::size_t i = 0;
    for (; i < v.size() && s.size() + v[i].size() < 360; ++i) s += (i ? ", " : "") + v[i];
    if (i < v.size()) s += (i ? ", ... (" : "... (") + count + " in all)";
    return s.empty() ? std::string("none") : s;
  }

  struct state {
    const checkpoint* ckpt;
    std::vector<std::string> missing;
    std::set<std::string> used;
    weight_type linear_weights = weight_type::f32;
    weight_type kv_cache = weight_type::f32;
  };
  std::shared_ptr<state> state_;
  std::string prefix_;
};

}  // namespace eigenformer::io
