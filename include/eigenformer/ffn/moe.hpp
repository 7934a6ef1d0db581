#pragma once
/// @file
/// Mixture of experts (Shazeer et al., 2017; Switch / Mixtral / DeepSeek-MoE): a linear router
/// scores every expert per token (softmax, or independent sigmoids), the top k experts are kept
/// (ties go to the lower expert index), their weights optionally renormalised to sum to 1, and
/// out = Σ_k w_k·expert_k(x) (+ shared_expert(x), always on). Tokens are grouped per expert, so
/// each expert runs one product over all of its tokens, never one per token.
///     x: [tokens, d_model] -> out: [tokens, d_model]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>
#include <eigenformer/ops/linear.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::ffn {

/// How router logits become expert scores.
enum class router_scoring : std::uint8_t {
  softmax,  ///< softmax over all experts, then top-k (Switch, Mixtral)
  sigmoid   ///< σ(logit) per expert, then top-k (DeepSeek-V3 style)
};

struct moe_config {
  index_t top_k = 2;
  router_scoring scoring = router_scoring::softmax;
  bool renormalize = true;  ///< divide the kept weights by their sum
};

/// @p Expert and @p Shared are FFN types with forward(x, out) (dense_ffn, gated_ffn, ...).
template <class Expert, class Shared = Expert>
class moe {
 public:
  /// router: [d_model, experts]. Throws config_error for k outside [1, experts] or no experts,
  /// shape_error when an expert or the shared expert has another d_model.
  moe(ops::linear router, std::vector<Expert> experts, moe_config cfg = {}, std::optional<Shared> shared = std::nullopt)
      : router_(std::move(router)), experts_(std::move(experts)), cfg_(cfg), shared_(std::move(shared)) {
    const char* where = "ffn.moe";
    const index_t e = index_t(experts_.size());
    if (e < 1) throw_error<config_error>(where, "experts", "at least one", "none");
    if (router_.out() != e)
      throw_error<shape_error>(where, "router", format_shape({router_.in(), e}), format_shape({router_.in(), router_.out()}));
    if (cfg_.top_k < 1 || cfg_.top_k > e)
      throw_error<config_error>(where, "top_k", "1.." + std::to_string(e) + " (the number of experts)",
                                std::to_string(cfg_.top_k));
    for (std::size_t i = 0; i < experts_.size(); ++i)
      if (experts_[i].d_model() != router_.in())
        throw_error<shape_error>(where, "expert " + std::to_string(i) + " d_model", std::to_string(router_.in()),
                                 std::to_string(experts_[i].d_model()));
    if (shared_ && shared_->d_model() != router_.in())
      throw_error<shape_error>(where, "shared expert d_model", std::to_string(router_.in()), std::to_string(shared_->d_model()));
    counts_.assign(experts_.size(), 0);
  }

  index_t d_model() const noexcept { return router_.in(); }
  index_t num_experts() const noexcept { return index_t(experts_.size()); }
  const moe_config& config() const noexcept { return cfg_; }
  /// Tokens each expert received in the last forward() (for inspection and load-balance stats).
  std::span<const index_t> expert_counts() const noexcept { return counts_; }
  /// Expert chosen for (token, slot) in the last forward(), slot < top_k, best first.
  index_t choice(index_t token, index_t slot) const noexcept { return choice_[std::size_t(token * cfg_.top_k + slot)]; }
  float weight(index_t token, index_t slot) const noexcept { return weight_[std::size_t(token * cfg_.top_k + slot)]; }

  /// Validates shapes and @p width (applied to every expert); forward() assumes they passed.
  void check(const_matrix_view x, const matrix_view& out, index_t width = 0) const {
    check_io("ffn.moe", x, out, d_model(), d_model());
    check_width(width);
  }
  void check_width(index_t width) const {
    for (const auto& e : experts_) e.check_width(width);
  }

  /// out must not alias x. The width argument is accepted for interface compatibility with the
  /// dense FFNs and applies to every expert (0 = full).
  void forward(const_matrix_view x, matrix_view out, index_t width = 0) {
    const index_t t = x.rows(), d = d_model(), e = num_experts(), k = cfg_.top_k;
    matrix_view logits = logits_.get(t, e);
    router_.forward(x, logits);
    route(logits);
    // Group (token, slot) pairs by expert: counting sort, stable in token order.
    std::fill(counts_.begin(), counts_.end(), 0);
    for (index_t i = 0; i < t * k; ++i) ++counts_[std::size_t(choice_[std::size_t(i)])];
    start_.assign(std::size_t(e + 1), 0);
    for (index_t j = 0; j < e; ++j) start_[std::size_t(j + 1)] = start_[std::size_t(j)] + counts_[std::size_t(j)];
    order_.resize(std::size_t(t * k));
    fill_.assign(start_.begin(), start_.end() - 1);
    for (index_t i = 0; i < t * k; ++i) order_[std::size_t(fill_[std::size_t(choice_[std::size_t(i)])]++)] = i;

    if (shared_)
      shared_->forward(x, out);
    else
      out.setZero();
    for (index_t j = 0; j < e; ++j) {
      const index_t n = counts_[std::size_t(j)];
      if (n == 0) continue;
      matrix_view xin = gather_.get(n, d), yout = expert_out_.get(n, d);
      for (index_t r = 0; r < n; ++r) xin.row(r) = x.row(order_[std::size_t(start_[std::size_t(j)] + r)] / k);
      experts_[std::size_t(j)].forward(as_const(xin), yout, width);
      for (index_t r = 0; r < n; ++r) {
        const index_t pair = order_[std::size_t(start_[std::size_t(j)] + r)];
        kernels::active::axpy(weight_[std::size_t(pair)], yout.row(r).data(), out.row(pair / k).data(), std::size_t(d));
      }
    }
  }

 private:
  /// Scores, top-k with ties to the lower index, optional renormalisation.
  void route(const matrix_view& logits) {
    const index_t t = logits.rows(), e = logits.cols(), k = cfg_.top_k;
    choice_.resize(std::size_t(t * k));
    weight_.resize(std::size_t(t * k));
    scores_.resize(std::size_t(e));
    for (index_t r = 0; r < t; ++r) {
      std::copy(logits.row(r).data(), logits.row(r).data() + e, scores_.data());
      if (cfg_.scoring == router_scoring::softmax)
        kernels::active::softmax(scores_.data(), std::size_t(e));
      else
        kernels::active::sigmoid(scores_.data(), scores_.data(), std::size_t(e));
      float sum = 0.0f;
      for (index_t s = 0; s < k; ++s) {
        index_t best = -1;
        for (index_t j = 0; j < e; ++j) {
          bool taken = false;
          for (index_t q = 0; q < s; ++q) taken = taken || choice_[std::size_t(r * k + q)] == j;
          if (!taken && (best < 0 || scores_[std::size_t(j)] > scores_[std::size_t(best)])) best = j;
        }
        choice_[std::size_t(r * k + s)] = best;
        weight_[std::size_t(r * k + s)] = scores_[std::size_t(best)];
        sum += scores_[std::size_t(best)];
      }
      if (cfg_.renormalize && sum > 0.0f)
        for (index_t s = 0; s < k; ++s) weight_[std::size_t(r * k + s)] /= sum;
    }
  }

  ops::linear router_;
  std::vector<Expert> experts_;
  moe_config cfg_;
  std::optional<Shared> shared_;
  std::vector<index_t> counts_, start_, fill_, order_, choice_;
  std::vector<float> weight_, scores_;
  scratch_matrix logits_, gather_, expert_out_;
};

}  // namespace eigenformer::ffn
