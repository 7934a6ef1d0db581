#pragma once
/// @file
/// Positional encodings applied inside attention: rotary tables (RoPE) and ALiBi slopes.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace eigenformer::ops {

/// How RoPE pairs the coordinates of a head: half-split (GPT-NeoX, Hugging Face Llama) or
/// interleaved (GPT-J, Meta's original Llama).
enum class rope_layout : std::uint8_t { half, interleaved };

/// Precomputed cos/sin of RoPE for positions [0, max_positions): θ_i = base^(−2i/d), angle p·θ_i,
/// computed in double and rounded once. Tables: [max_positions, d/2].
class rope_table {
 public:
  rope_table() = default;
  /// Throws config_error unless head_dim is even and ≥ 2, max_positions ≥ 1 and base > 1.
  rope_table(index_t head_dim, index_t max_positions, double base = 10000.0,
             rope_layout layout = rope_layout::half)
      : head_dim_(head_dim), layout_(layout) {
    if (head_dim < 2 || head_dim % 2 != 0)
      throw_error<config_error>("ops.rope", "head_dim", "an even number >= 2", std::to_string(head_dim));
    if (max_positions < 1)
      throw_error<config_error>("ops.rope", "max_positions", "an integer >= 1", std::to_string(max_positions));
    if (!(base > 1.0))
      throw_error<config_error>("ops.rope", "base (rope_theta)", "a number > 1", std::to_string(base));
    const index_t h = head_dim / 2;
    cos_.resize(max_positions, h);
    sin_.resize(max_positions, h);
    for (index_t i = 0; i < h; ++i) {
      const double theta = std::pow(base, -2.0 * double(i) / double(head_dim));
      for (index_t p = 0; p < max_positions; ++p) {
        cos_(p, i) = static_cast<float>(std::cos(double(p) * theta));
        sin_(p, i) = static_cast<float>(std::sin(double(p) * theta));
      }
    }
  }
  index_t head_dim() const noexcept { return head_dim_; }
  index_t max_positions() const noexcept { return cos_.rows(); }
  rope_layout layout() const noexcept { return layout_; }

  /// Rotates one head vector x: [head_dim] in place for position @p pos (< max_positions()).
  void apply(float* x, index_t pos) const noexcept {
    const float* c = cos_.row(pos).data();
    const float* s = sin_.row(pos).data();
    if (layout_ == rope_layout::half)
      kernels::active::rope_half(x, std::size_t(head_dim_), c, s);
    else
      kernels::active::rope_interleaved(x, std::size_t(head_dim_), c, s);
  }

 private:
  index_t head_dim_ = 0;
  rope_layout layout_ = rope_layout::half;
  matrix cos_, sin_;
};

/// ALiBi slopes (Press et al., 2022) for @p heads heads: the geometric sequence 2^(−8/n·h),
/// h = 1..n, for n a power of two; otherwise the sequence for the largest power of two below, then
/// every other slope of the sequence for twice that, as in the reference implementation.
inline std::vector<float> alibi_slopes(index_t heads) {
  if (heads < 1)
    throw_error<config_error>("ops.alibi", "number of heads", "an integer >= 1", std::to_string(heads));
  auto power_of_two_slopes = [](index_t n) {
    std::vector<double> s(static_cast<std::size_t>(n));
    const double start = std::pow(2.0, -8.0 / double(n));
    for (index_t i = 0; i < n; ++i) s[std::size_t(i)] = std::pow(start, double(i + 1));
    return s;
  };
  index_t p2 = 1;
  while (p2 * 2 <= heads) p2 *= 2;
  std::vector<double> s = power_of_two_slopes(p2);
  if (p2 < heads) {
    const std::vector<double> extra = power_of_two_slopes(2 * p2);
    for (index_t i = 0; i < heads - p2; ++i) s.push_back(extra[std::size_t(2 * i)]);
  }
  return std::vector<float>(s.begin(), s.end());
}

}  // namespace eigenformer::ops
