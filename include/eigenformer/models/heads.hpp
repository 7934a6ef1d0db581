#pragma once
/// @file
/// The heads encoder presets put on their final hidden states, as HF's *ForMaskedLM,
/// *ForSequenceClassification and *ForTokenClassification classes define them: a dense
/// transform (dense, activation, optional LayerNorm), a label classifier with its id2label
/// names, and the sequence poolings the classifiers read (first token, mean over the tokens).
///     hidden [tokens, d] (packed by offsets) -> logits [tokens or sequences, labels or vocab]

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ops/activation.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::models {

/// y = norm(act(x·W + b)): BERT's cls.predictions.transform, RoBERTa's lm_head before its
/// decoder, ModernBERT's `head`; with act = tanh and no norm, BERT's pooler and RoBERTa's
/// classifier.dense.
struct dense_transform {
  ops::linear dense;  ///< [d_in] -> [d_out]
  ops::activation_fn act = ops::activation_fn::identity;
  std::optional<ops::layer_norm> norm;

  index_t in() const noexcept { return dense.in(); }
  index_t out() const noexcept { return dense.out(); }
  /// x: [rows, in] -> y: [rows, out] (y must not alias x). Shapes are the caller's to check.
  void forward(const_matrix_view x, matrix_view y) const noexcept {
    dense.forward(x, y);
    for (index_t r = 0; r < y.rows(); ++r) ops::apply_activation(act, y.row(r).data(), std::size_t(y.cols()));
    if (norm) norm->forward(as_const(y), y);
  }
};

/// The label classifier of a sequence- or token-classification head: logits = x·W + b, with the
/// names of config.json's id2label.
struct label_classifier {
  ops::linear out;                  ///< [d] -> [labels]
  std::vector<std::string> labels;  ///< id2label, in id order

  index_t size() const noexcept { return out.out(); }
};

/// The first token of each sequence: out.row(s) = hidden.row(offsets[s]). out: [sequences, d].
inline void first_tokens(const_matrix_view hidden, offsets_view offsets, matrix_view out) noexcept {
  for (index_t s = 0; s < out.rows(); ++s) out.row(s) = hidden.row(offsets[std::size_t(s)]);
}
/// The mean over each sequence's tokens (ModernBERT's classifier_pooling "mean"; an empty
/// sequence gives zeros). out: [sequences, d].
inline void mean_tokens(const_matrix_view hidden, offsets_view offsets, matrix_view out) noexcept {
  for (index_t s = 0; s < out.rows(); ++s) {
    const index_t a = offsets[std::size_t(s)], n = offsets[std::size_t(s) + 1] - a;
    out.row(s).setZero();
    for (index_t r = a; r < a + n; ++r) out.row(s) += hidden.row(r);
    if (n > 0) out.row(s) /= float(n);
  }
}

namespace detail {
/// Throws config_error when the model has no @p head (named for the message, with the tensors
/// that would hold it).
inline void require_head(bool present, const char* where, const char* head, const char* tensors) {
  if (!present) throw_error<config_error>(where, head, std::string(tensors), "none in the checkpoint");
}
}  // namespace detail

}  // namespace eigenformer::models
