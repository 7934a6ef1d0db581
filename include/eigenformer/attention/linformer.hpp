#pragma once
/// @file
/// Linformer (Wang et al., 2020): keys and values are projected along the sequence with learned
/// E, F ∈ R^{k × n_max}, truncated to the current length n: K' = E[:, :n]·K, V' = F[:, :n]·V
/// ([k, head_dim] each), and the dense softmax kernel runs on the short K', V'. O(n·k·d) time.
/// Bidirectional only (there is no causal Linformer), no decode form, no ALiBi.

#include <eigenformer/attention/config.hpp>
#include <eigenformer/attention/tiled_kernel.hpp>
#include <eigenformer/attention/variant.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <string>
#include <utility>
#include <vector>

namespace eigenformer::attention {

/// Placeholder decode state of variants without a decode form.
struct no_state {};

struct linformer_scratch {
  score_scratch inner;
  scratch_matrix kp, vp;
  std::size_t bytes() const noexcept { return inner.bytes() + sizeof(float) * (kp.capacity() + vp.capacity()); }
};

/// Linformer attention with one (E, F) pair shared by all heads, or one pair per head.
class linformer_attention {
 public:
  using scratch_type = linformer_scratch;
  using state_type = no_state;
  static constexpr bool supports_decode = false;
  static constexpr bool query_splittable = false;

  linformer_attention() = default;
  /// @param e, f one [k, n_max] matrix each (shared by every head), or one per head.
  /// Throws config_error when the lists differ in length or the matrices in shape, or k < 1.
  linformer_attention(std::vector<matrix> e, std::vector<matrix> f, tile_sizes tiles = {})
      : e_(std::move(e)), f_(std::move(f)), tiles_(tiles) {
    const char* where = "attention.linformer";
    if (e_.empty() || e_.size() != f_.size())
      throw_error<config_error>(where, "projections E and F", "the same number (1 shared, or 1 per head) of each",
                                std::to_string(e_.size()) + " E and " + std::to_string(f_.size()) + " F");
    const index_t k = e_[0].rows(), nmax = e_[0].cols();
    if (k < 1 || nmax < 1)
      throw_error<config_error>(where, "E[0]", "a [k, n_max] matrix with k, n_max >= 1", format_shape({k, nmax}));
    for (std::size_t i = 0; i < e_.size(); ++i) {
      if (e_[i].rows() != k || e_[i].cols() != nmax)
        throw_error<config_error>(where, "E[" + std::to_string(i) + "]", format_shape({k, nmax}),
                                  format_shape({e_[i].rows(), e_[i].cols()}));
      if (f_[i].rows() != k || f_[i].cols() != nmax)
        throw_error<config_error>(where, "F[" + std::to_string(i) + "]", format_shape({k, nmax}),
                                  format_shape({f_[i].rows(), f_[i].cols()}));
    }
  }
  /// One (E, F) pair shared by all heads.
  static linformer_attention shared(matrix e, matrix f, tile_sizes tiles = {}) {
    std::vector<matrix> es, fs;
    es.push_back(std::move(e));
    fs.push_back(std::move(f));
    return linformer_attention(std::move(es), std::move(fs), tiles);
  }

  index_t rank() const noexcept { return e_.empty() ? 0 : e_[0].rows(); }
  index_t max_length() const noexcept { return e_.empty() ? 0 : e_[0].cols(); }

  /// Called by multi_head_attention: per-head projections need one pair per head.
  void bind(const attention_config& cfg) const {
    const index_t heads = cfg.num_heads;
    if (e_.size() != 1 && index_t(e_.size()) != heads)
      throw_error<config_error>("attention.linformer", "number of (E, F) pairs", "1 or num_heads = " + std::to_string(heads),
                                std::to_string(e_.size()));
  }
  /// Throws shape_error when a sequence is longer than n_max.
  void check_sequence_length(index_t n) const {
    if (n > max_length())
      throw_error<shape_error>("attention.linformer", "sequence length", "at most n_max = " + std::to_string(max_length()),
                               std::to_string(n));
  }

  void reserve(scratch_type& ws, index_t d, index_t dv, index_t) const {
    ws.inner.reserve(tiles_.query, tiles_.key, d, dv);
    ws.kp.get(rank(), d);
    ws.vp.get(rank(), dv);
  }

  void prefill(const head_problem& p, scratch_type& ws) const noexcept {
    const std::size_t which = e_.size() == 1 ? 0 : std::size_t(p.head);
    const matrix& e = e_[which];
    const matrix& f = f_[which];
    const index_t n = p.k.rows(), k = rank();
    matrix_view kp = ws.kp.view(k, p.k.cols()), vp = ws.vp.view(k, p.v.cols());
    kp.noalias() = e.leftCols(n) * p.k;
    vp.noalias() = f.leftCols(n) * p.v;
    if (p.key_valid)  // padding keys take no part in the projection
      for (index_t j = 0; j < n; ++j)
        if (!p.key_valid[j]) {
          kp.noalias() -= e.col(j) * p.k.row(j);
          vp.noalias() -= f.col(j) * p.v.row(j);
        }
    head_problem inner{p.q, as_const(kp), as_const(vp), p.out, 0, p.scale, nullptr, p.head};
    score_attention_head(inner, softmax_normalizer{}, dense_layout{}, tiles_, ws.inner);
  }

 private:
  std::vector<matrix> e_, f_;
  tile_sizes tiles_{};
};

static_assert(attention_variant<linformer_attention>);

}  // namespace eigenformer::attention
