#pragma once
/// @file
/// What the Hugging Face presets share: binding PyTorch-layout weights (nn.Linear [out, in],
/// LayerNorm gain/bias) into eigenformer's layers, the prefix probe, and checks of token inputs.

#include <eigenformer/attention/multi_head.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/io/checkpoint.hpp>
#include <eigenformer/ops/embedding.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>

#include <initializer_list>
#include <span>
#include <string>

namespace eigenformer::models::hf {

/// nn.Linear `name.weight` [out, in] (+ `name.bias` [out]).
inline ops::linear linear(io::weight_binder& w, const std::string& name, index_t out, index_t in, bool bias) {
  vector b = bias ? w.get_vector(name + ".bias", out) : vector();
  ops::linear l;
  w.visit(name + ".weight", {out, in},
          [&](const float* p) { l = ops::linear::from_out_in(p, out, in, in, std::move(b), w.prefix() + name); });
  return l;
}
/// An nn.Linear weight [out, in] as the [in, out] matrix attention_weights holds.
inline matrix linear_in_out(io::weight_binder& w, const std::string& name, index_t out, index_t in) {
  matrix m(in, out);
  w.visit(name, {out, in}, [&](const float* p) { m = Eigen::Map<const matrix>(p, out, in).transpose(); });
  return m;
}
inline ops::layer_norm layer_norm(io::weight_binder& w, const std::string& name, index_t d, double eps,
                                  const char* gain = "weight", const char* bias = "bias") {
  return ops::layer_norm(w.get_vector(name + "." + gain, d), w.get_vector(name + "." + bias, d), float(eps));
}
inline ops::rms_norm rms_norm(io::weight_binder& w, const std::string& name, index_t d, double eps) {
  return ops::rms_norm(w.get_vector(name + ".weight", d), float(eps));
}
inline ops::embedding embedding(io::weight_binder& w, const std::string& name, index_t rows, index_t d) {
  return ops::embedding{w.get_matrix(name, rows, d)};
}

/// The first of @p prefixes under which @p probe exists in the checkpoint ("" when none does:
/// the binder then reports the missing tensors by their unprefixed names).
inline std::string find_prefix(const io::checkpoint& c, const std::string& probe,
                               std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes)
    if (c.has(std::string(p) + probe)) return p;
  return "";
}

/// Checks a packed batch of token ids: offsets, ids in range, no sequence longer than
/// @p max_positions. Throws shape_error naming the first problem.
inline void check_tokens(const char* where, std::span<const token_id> ids, offsets_view offsets,
                         const ops::embedding& table, index_t max_positions) {
  validate_offsets(offsets, index_t(ids.size()), where);
  table.check_ids(ids, "token id");
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
    if (offsets[s + 1] - offsets[s] > max_positions)
      throw_error<shape_error>(where, "sequence " + std::to_string(s) + " length",
                               "at most " + std::to_string(max_positions) + " (max positions)",
                               std::to_string(offsets[s + 1] - offsets[s]));
}

inline void check_output(const char* where, const char* what, const matrix_view& out, index_t rows, index_t cols) {
  if (out.rows() != rows || out.cols() != cols)
    throw_error<shape_error>(where, what, format_shape({rows, cols}), format_shape({out.rows(), out.cols()}));
}

}  // namespace eigenformer::models::hf
