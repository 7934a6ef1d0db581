#pragma once
/// @file
/// The score-based (quadratic) attention variant: scores = q·kᵀ·scale, a score modifier
/// (attention/score_modifiers.hpp), a layout (attention/layout.hpp) and a normaliser
/// (attention/normalizers.hpp). Prefill runs the tiled kernel (attention/tiled_kernel.hpp);
/// decode runs one query against a K/V cache (attention/kv_cache.hpp) through the same
/// modifier and normaliser policies. Aliases at the end name the common ones.

#include <eigenformer/attention/kv_cache.hpp>
#include <eigenformer/attention/layout.hpp>
#include <eigenformer/attention/normalizers.hpp>
#include <eigenformer/attention/score_modifiers.hpp>
#include <eigenformer/attention/tiled_kernel.hpp>
#include <eigenformer/attention/variant.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace eigenformer::attention {

/// Score-based attention with normaliser @p Normalizer, layout @p Layout and score modifier
/// @p Modifier; a model of `split_decodable_variant` for softmax, `decodable_variant` otherwise.
/// Its decode state is a kv_cache (a ring of `window` rows for causal sliding windows).
template <score_normalizer Normalizer, class Layout, score_modifier Modifier = no_score_modifier>
class score_attention {
 public:
  using normalizer_type = Normalizer;
  using layout_type = Layout;
  using modifier_type = Modifier;
  using scratch_type = score_scratch;
  using state_type = kv_cache;
  static constexpr bool supports_decode = true;
  static constexpr bool query_splittable = true;  ///< query rows of a head can run in parallel
  /// Split-K decode: partials over disjoint key ranges merge exactly (softmax).
  static constexpr bool splittable_decode = Normalizer::mergeable;

  score_attention() = default;
  explicit score_attention(Layout layout, Normalizer norm = {}, tile_sizes tiles = {}, Modifier modifier = {})
      : layout_(std::move(layout)), norm_(std::move(norm)), modifier_(std::move(modifier)), tiles_(tiles) {
    if (tiles.query < 1 || tiles.key < 1)
      throw_error<config_error>("attention.tiles", "tile sizes", "query >= 1 and key >= 1",
                                std::to_string(tiles.query) + " x " + std::to_string(tiles.key));
  }

  const Layout& layout() const noexcept { return layout_; }
  const Normalizer& normalizer() const noexcept { return norm_; }
  const Modifier& modifier() const noexcept { return modifier_; }
  const tile_sizes& tiles() const noexcept { return tiles_; }

  /// Binds the normaliser and the modifier to the layer (sigmoid's default bias, ALiBi slopes).
  void bind(const attention_config& cfg) {
    if constexpr (requires { norm_.bind(cfg.max_positions); }) norm_.bind(cfg.max_positions);
    if constexpr (requires { modifier_.bind(cfg.num_heads); }) modifier_.bind(cfg.num_heads);
  }
  /// Any sequence length is fine for the score family.
  void check_sequence_length(index_t) const noexcept {}

  void reserve(scratch_type& ws, index_t d, index_t dv, index_t max_keys) const {
    ws.reserve(tiles_.query, tiles_.key, d, dv);
    ws.reserve_decode(max_keys, dv);
    ws.reserve_panels(max_keys, d, dv);
  }
  void prefill(const head_problem& p, scratch_type& ws) const noexcept {
    score_attention_head(p, norm_, layout_, modifier_, tiles_, ws);
  }

  /// A cache for @p max_positions positions (a ring of `window` rows for a causal sliding
  /// window), its rows fp32 or (@p kv = weight_type::bf16) bf16.
  state_type make_state(index_t max_positions, index_t d, index_t dv, weight_type kv = weight_type::f32) const {
    if constexpr (std::is_same_v<Layout, sliding_window_layout>)
      if (layout_.causal) return state_type(std::min(max_positions, layout_.window), d, dv, true, kv);
    return state_type(max_positions, d, dv, false, kv);
  }
  bool has_room(const state_type& st, index_t n) const noexcept { return st.has_room(n); }
  index_t capacity(const state_type& st) const noexcept {
    return st.ring ? std::numeric_limits<index_t>::max() : st.capacity();
  }
  void append(state_type& st, const float* k, const float* v) const noexcept { st.append(k, v); }
  void fill_state(state_type& st, const_matrix_view k, const_matrix_view v) const noexcept {
    st.clear();
    for (index_t r = 0; r < k.rows(); ++r) st.append(k.row(r).data(), v.row(r).data());
  }

  /// One query (after its own key was appended) against the cache. out: [value_dim]. ws must
  /// have been reserved for the cache's capacity.
  void decode(const decode_query& dq, const state_type& st, float* out, scratch_type& ws) const noexcept {
    const decode_partial part = decode_range(dq, st, 0, st.stored(), ws.acc(), ws.s());
    norm_.finish(ws.acc(), part.m, part.l, out, st.value_dim());
  }

  /// The query against rows [r0, r1) of the cache: the unnormalised output into acc
  /// [value_dim] and its (max, sum); s: [r1 − r0] floats of scratch. Partials of disjoint row
  /// ranges merge with merge_decode_partials when the normaliser is mergeable.
  decode_partial decode_range(const decode_query& dq, const state_type& st, index_t r0, index_t r1, float* acc,
                              float* s) const noexcept {
    const index_t dv = st.value_dim(), count = r1 - r0;
    decode_partial part;
    accumulator av(acc, 1, dv);
    av.setZero();
    for (int pass = 0; pass < Normalizer::passes; ++pass) {
      scores(dq, st, r0, r1, s);
      if (pass + 1 < Normalizer::passes) {
        norm_.gather(s, 1, count, &part.m, &part.l);
        continue;
      }
      norm_.weigh(s, 1, count, st.stored(), &part.m, &part.l, av);
      if (st.bf16) {
        std::fill(acc, acc + dv, 0.0f);
        kernels::active::axpy_rows_bf16(s, st.v16.data() + r0 * dv, dv, std::size_t(count), std::size_t(dv), acc);
      } else {
        Eigen::Map<Eigen::VectorXf>(acc, dv).noalias() =
            st.v.middleRows(r0, count).transpose() * Eigen::Map<const Eigen::VectorXf>(s, count);
      }
    }
    return part;
  }

 private:
  /// s = scale·K[r0:r1]·q, modified, masked by the layout.
  void scores(const decode_query& dq, const state_type& st, index_t r0, index_t r1, float* s) const noexcept {
    const index_t d = st.head_dim(), count = r1 - r0;
    Eigen::Map<Eigen::VectorXf> sv(s, count);
    if (st.bf16)
      kernels::active::dot_rows_bf16(st.k16.data() + r0 * d, d, std::size_t(count), std::size_t(d), dq.q, s);
    else
      sv.noalias() = st.k.middleRows(r0, count) * Eigen::Map<const Eigen::VectorXf>(dq.q, d);
    sv *= dq.scale;
    st.for_each_run(r0, r1, [&](index_t row, index_t n, index_t pos) {
      if constexpr (!is_identity_modifier<Modifier>)
        modifier_.apply(score_tile{s + (row - r0), n, 1, n, dq.position, pos, dq.head});
      for (index_t c = 0; c < n; ++c)
        if (!layout_.allowed(dq.position, pos + c)) s[row - r0 + c] = -std::numeric_limits<float>::infinity();
    });
  }

  Layout layout_{};
  Normalizer norm_{};
  Modifier modifier_{};
  tile_sizes tiles_{};
};

/// Dense softmax attention (BERT; causal when the layout is causal_layout).
using softmax_attention = score_attention<softmax_normalizer, dense_layout>;
/// Causal softmax attention (GPT).
using causal_softmax_attention = score_attention<softmax_normalizer, causal_layout>;
/// Softmax over a sliding window (Mistral, Longformer local).
using sliding_window_attention = score_attention<softmax_normalizer, sliding_window_layout>;
/// Softmax over a window plus global tokens (Longformer, BigBird).
using window_global_attention = score_attention<softmax_normalizer, window_global_layout>;
/// Softmax over a dilated window.
using dilated_attention = score_attention<softmax_normalizer, dilated_layout>;
/// Softmax over a block-sparse layout.
using block_sparse_attention = score_attention<softmax_normalizer, block_sparse_layout>;
/// Sigmoid attention over any layout.
template <class Layout = dense_layout>
using sigmoid_attention = score_attention<sigmoid_normalizer, Layout>;
/// Clipped-softmax attention over any layout.
template <class Layout = dense_layout>
using clipped_softmax_attention = score_attention<clipped_softmax_normalizer, Layout>;
/// Softmax attention with ALiBi biases (BLOOM, MPT), causal by default.
template <class Layout = causal_layout>
using alibi_attention = score_attention<softmax_normalizer, Layout, alibi_bias>;

static_assert(split_decodable_variant<softmax_attention>);
static_assert(decodable_variant<sigmoid_attention<causal_layout>>);
static_assert(decodable_variant<clipped_softmax_attention<causal_layout>>);

}  // namespace eigenformer::attention
