#pragma once
/// @file
/// The multi-head attention layer: Q/K/V/O projections (MHA, GQA and MQA by num_kv_heads),
/// RoPE, an optional per-head output gate and Sub-LN norm, packed batches, and the decode path
/// with per-(sequence, kv head) states. The attention variant is a template parameter that
/// models `attention_variant` (attention/variant.hpp): swapping softmax for linear attention is
/// one type change.
///
///     x: [tokens, d_model] (packed: offsets {0, len0, len0+len1, ...}) -> out: [tokens, d_model]

#include <eigenformer/attention/config.hpp>
#include <eigenformer/attention/kv_cache.hpp>
#include <eigenformer/attention/runner.hpp>
#include <eigenformer/attention/variant.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>
#include <eigenformer/ops/positional.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::attention {

/// Split-K decoding (one query's keys across workers) pays off only for long caches: below this
/// many keys one worker per (sequence, head) is faster than the merge ...
inline constexpr index_t split_decode_min_keys = 1024;
/// ... and each chunk keeps at least this many keys, so a chunk's partial outweighs its merge.
inline constexpr index_t split_decode_min_chunk = 512;

/// How many key ranges one decode item's cache is split into (1: no split), for @p items
/// (sequence, head) pairs, caches of up to @p longest keys and @p threads workers: only when
/// there are fewer items than workers and the caches are long (Lean Attention).
inline constexpr index_t split_decode_chunks(index_t items, index_t longest, int threads) noexcept {
  if (items >= threads || longest < split_decode_min_keys) return 1;
  return std::min<index_t>((threads + items - 1) / items, longest / split_decode_min_chunk);
}

/// Multi-head attention with attention variant @p Variant (score_attention<...>,
/// linear_attention<...>, linformer_attention, ...).
template <class Variant>
class multi_head_attention {
  static_assert(attention_variant<Variant>,
                "multi_head_attention<V>: V is not an attention variant; see the contract in "
                "eigenformer/attention/variant.hpp (scratch_type, reserve, prefill, bind, ...)");
  static_assert(!Variant::supports_decode || decodable_variant<Variant>,
                "multi_head_attention<V>: V says supports_decode but lacks part of the decode contract in "
                "eigenformer/attention/variant.hpp (state_type, make_state, fill_state, append, has_room, "
                "capacity, decode)");

 public:
  using variant_type = Variant;
  using cache_type = attention_cache<Variant>;

  /// Validates @p cfg against the variant and the weight shapes; throws config_error /
  /// shape_error naming the field or tensor.
  multi_head_attention(attention_config cfg, attention_weights w, Variant variant = Variant{})
      : cfg_(std::move(cfg)), variant_(std::move(variant)) {
    cfg_.validate();
    variant_.bind(cfg_);
    check_weights(w);
    // The projections are packed for the matmul kernel here, once; the matrices are not kept.
    q_proj_ = ops::linear(w.wq, std::move(w.bq), "wq", w.type);
    k_proj_ = ops::linear(w.wk, std::move(w.bk), "wk", w.type);
    v_proj_ = ops::linear(w.wv, std::move(w.bv), "wv", w.type);
    o_proj_ = ops::linear(w.wo, std::move(w.bo), "wo", w.type);
    if (cfg_.gated) g_proj_ = ops::linear(w.wg, std::move(w.bg), "wg", w.type);
    if (cfg_.position == positional::rope)
      rope_ = ops::rope_table(cfg_.dim(), cfg_.max_positions, cfg_.rope_base, cfg_.rope);
  }

  const attention_config& config() const noexcept { return cfg_; }

  /// Sub-LN: a norm over the heads' concatenated output, [num_heads·head_dim], applied before
  /// the output projection. Throws shape_error for another width.
  void set_sub_norm(ops::inner_norm n) {
    const index_t w = cfg_.num_heads * cfg_.dim(), got = ops::inner_norm_dim(n);
    if (got != 0 && got != w)
      throw_error<shape_error>("attention.sub_norm", "width", std::to_string(w) + " (num_heads·head_dim)", std::to_string(got));
    sub_norm_ = std::move(n);
  }

  /// Use the stack's shared scratch for Q, K, V and the heads' output (see core/tensor.hpp).
  void use_workspace(workspace& ws) noexcept {
    q_buf_.share(ws.attention[0]);
    k_buf_.share(ws.attention[1]);
    v_buf_.share(ws.attention[2]);
    attn_buf_.share(ws.attention[3]);
    g_buf_.share(ws.attention[4]);
    part_acc_buf_.share(ws.attention[5]);
  }
  /// Bytes of the projections' weight storage (ops::linear::weight_bytes of each; biases not
  /// counted).
  std::size_t weight_bytes() const noexcept {
    std::size_t n = q_proj_.weight_bytes() + k_proj_.weight_bytes() + v_proj_.weight_bytes() + o_proj_.weight_bytes();
    return cfg_.gated ? n + g_proj_.weight_bytes() : n;
  }
  /// The weights, unpacked into the [in, out] matrices they were given as (a copy; for a
  /// reduced-precision type, the values the products use), with their weight type.
  attention_weights weights() const {
    attention_weights w;
    w.type = q_proj_.type();
    w.wq = q_proj_.weight();
    w.wk = k_proj_.weight();
    w.wv = v_proj_.weight();
    w.wo = o_proj_.weight();
    w.bq = q_proj_.bias();
    w.bk = k_proj_.bias();
    w.bv = v_proj_.bias();
    w.bo = o_proj_.bias();
    if (cfg_.gated) {
      w.wg = g_proj_.weight();
      w.bg = g_proj_.bias();
    }
    return w;
  }
  const Variant& variant() const noexcept { return variant_; }

  // ----- checks: each public entry point runs its own; a stack runs them once, at its entry,
  // and then calls the unchecked run_* paths of its layers.

  /// Validates a forward() call: x [tokens, d_model], out the same, offsets of a packed batch of
  /// x's rows, key_valid empty or one flag per token, and the sequence limits (check_limits).
  /// Throws shape_error / config_error naming what is wrong.
  void check(const_matrix_view x, offsets_view offsets, const matrix_view& out,
             std::span<const std::uint8_t> key_valid = {}) const {
    const char* where = "attention.forward";
    check_shape(where, "input x", x, any_rows, cfg_.d_model);
    check_shape(where, "output", out, x.rows(), cfg_.d_model);
    validate_offsets(offsets, x.rows(), where);
    if (!key_valid.empty() && index_t(key_valid.size()) != x.rows())
      throw_error<shape_error>(where, "key_valid mask", format_shape({x.rows()}) + " (one flag per token)",
                               format_shape({index_t(key_valid.size())}));
    check_limits(longest_sequence(offsets));
  }
  /// Throws shape_error when a sequence of @p longest tokens is beyond the RoPE table or the
  /// variant's own limit (Linformer's n_max).
  void check_limits(index_t longest) const {
    if (cfg_.position == positional::rope && longest > cfg_.max_positions)
      throw_error<shape_error>("attention.forward", "sequence length",
                               "at most max_positions " + std::to_string(cfg_.max_positions), std::to_string(longest));
    variant_.check_sequence_length(longest);
  }
  /// Validates @p cache for a prefill of the packed batch @p offsets: one cache sequence per
  /// sequence, each within the cache's capacity.
  void check_cache(const cache_type& cache, offsets_view offsets) const {
    if (sequence_count(offsets) != cache.batch)
      throw_error<shape_error>("attention.prefill", "number of sequences", std::to_string(cache.batch) + " (the cache's batch)",
                               std::to_string(sequence_count(offsets)));
    for (index_t s = 0; s < cache.batch; ++s) {
      const index_t len = sequence_length(offsets, s), room = variant_.capacity(cache.state(s, 0));
      if (len > room)
        throw_error<shape_error>("attention.prefill", "sequence " + std::to_string(s) + " length",
                                 "at most the cache capacity " + std::to_string(room), std::to_string(len));
    }
  }
  /// Validates a decode() call: x, out [cache.batch, d_model], room for one more token in every
  /// sequence, positions within the RoPE table.
  void check_step(const_matrix_view x, const matrix_view& out, const cache_type& cache) const {
    const char* where = "attention.decode";
    check_shape(where, "input x", x, cache.batch, cfg_.d_model);
    check_shape(where, "output", out, x.rows(), cfg_.d_model);
    for (index_t b = 0; b < cache.batch; ++b) {
      if (!variant_.has_room(cache.state(b, 0), 1))
        throw_error<shape_error>(where, "sequence " + std::to_string(b) + " cache", "room for one more token",
                                 "a full cache of " + std::to_string(cache.lengths[std::size_t(b)]) + " tokens");
      if (cfg_.position == positional::rope && cache.lengths[std::size_t(b)] >= cfg_.max_positions)
        throw_error<shape_error>(where, "sequence " + std::to_string(b) + " position",
                                 "< max_positions " + std::to_string(cfg_.max_positions),
                                 std::to_string(cache.lengths[std::size_t(b)]));
    }
  }
  /// Validates a forward_cross() call (see there).
  void check_cross(const_matrix_view x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                   const matrix_view& out, std::span<const std::uint8_t> memory_valid = {}) const {
    const char* where = "attention.cross";
    if (cfg_.position != positional::none)
      throw_error<config_error>(where, "position", "none for cross-attention", "rope");
    check_shape(where, "input x", x, any_rows, cfg_.d_model);
    check_shape(where, "memory", memory, any_rows, cfg_.d_model);
    check_shape(where, "output", out, x.rows(), cfg_.d_model);
    validate_offsets(q_offsets, x.rows(), where);
    validate_offsets(m_offsets, memory.rows(), where);
    if (sequence_count(q_offsets) != sequence_count(m_offsets))
      throw_error<shape_error>(where, "memory sequences", std::to_string(sequence_count(q_offsets)) + " (one per query sequence)",
                               std::to_string(sequence_count(m_offsets)));
    if (!memory_valid.empty() && index_t(memory_valid.size()) != memory.rows())
      throw_error<shape_error>(where, "memory_valid mask", format_shape({memory.rows()}),
                               format_shape({index_t(memory_valid.size())}));
    variant_.check_sequence_length(longest_sequence(m_offsets));
  }
  /// Validates a decode_cross() call: x, out [cache.batch, d_model].
  void check_cross_step(const_matrix_view x, const matrix_view& out, const cache_type& cache) const {
    check_shape("attention.cross", "input x", x, cache.batch, cfg_.d_model);
    check_shape("attention.cross", "output", out, x.rows(), cfg_.d_model);
  }

  // ----- checked entry points

  /// Attention over a packed batch, no cache. x, out: [tokens, d_model]; offsets as in
  /// core/tensor.hpp; key_valid: empty, or [tokens] with 0 marking padding keys (for callers who
  /// bring padded sequences). out must not alias x.
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out,
               std::span<const std::uint8_t> key_valid = {}) {
    check(x, offsets, out, key_valid);
    run(x, offsets, out, key_valid);
  }
  /// Same, for a mutable input view (e.g. `view(x)` of a non-const matrix).
  void forward(const matrix_view& x, offsets_view offsets, matrix_view out,
               std::span<const std::uint8_t> key_valid = {}) {
    forward(as_const(x), offsets, out, key_valid);
  }

  /// An empty decode cache for @p batch sequences of up to @p max_positions tokens each
  /// (0: config().max_positions).
  cache_type make_cache(index_t batch, index_t max_positions = 0) const {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    if (batch < 1) throw_error<config_error>("attention.cache", "batch", "an integer >= 1", std::to_string(batch));
    if (max_positions == 0) max_positions = cfg_.max_positions;
    cache_type c;
    c.batch = batch;
    c.kv_heads = cfg_.kv_heads();
    c.lengths.assign(std::size_t(batch), 0);
    c.states.reserve(std::size_t(batch * c.kv_heads));
    for (index_t i = 0; i < batch * c.kv_heads; ++i)
      if constexpr (requires { variant_.make_state(max_positions, cfg_.dim(), cfg_.dim(), cfg_.kv_cache); })
        c.states.push_back(variant_.make_state(max_positions, cfg_.dim(), cfg_.dim(), cfg_.kv_cache));
      else
        c.states.push_back(variant_.make_state(max_positions, cfg_.dim(), cfg_.dim()));
    return c;
  }

  /// forward() over the prompts of a batch, which also (re)fills @p cache with them: sequence i of
  /// the packed batch becomes cache sequence i. The batch must have cache.batch sequences.
  void prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache) {
    check(x, offsets, out);
    check_cache(cache, offsets);
    run_prefill(x, offsets, out, cache);
  }
  void prefill(const matrix_view& x, offsets_view offsets, matrix_view out, cache_type& cache) {
    prefill(as_const(x), offsets, out, cache);
  }

  /// One decode step: one new token per cache sequence. x, out: [cache.batch, d_model]; token b
  /// goes to sequence b at position cache.lengths[b], which then grows by one.
  void decode(const_matrix_view x, matrix_view out, cache_type& cache) {
    check_step(x, out, cache);
    run_decode(x, out, cache);
  }
  void decode(const matrix_view& x, matrix_view out, cache_type& cache) { decode(as_const(x), out, cache); }

  /// Cross-attention over a packed batch (encoder-decoder): queries from x ([tokens, d_model],
  /// packed by q_offsets), keys and values from memory ([memory_tokens, d_model], packed by
  /// m_offsets with as many sequences): sequence i attends to memory sequence i. Use a
  /// bidirectional variant (softmax_attention, ...). memory_valid: empty, or one flag per memory
  /// token (0 = padding). Throws config_error for RoPE, shape_error for bad shapes.
  void forward_cross(const_matrix_view x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                     matrix_view out, std::span<const std::uint8_t> memory_valid = {}) {
    check_cross(x, q_offsets, memory, m_offsets, out, memory_valid);
    run_cross(x, q_offsets, memory, m_offsets, out, memory_valid);
  }
  void forward_cross(const matrix_view& x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                     matrix_view out) {
    forward_cross(as_const(x), q_offsets, memory, m_offsets, out);
  }

  /// Decode-time cross-attention state: the memory's keys and values, projected once per
  /// sequence (cache sequence i holds memory sequence i).
  cache_type make_cross_cache(const_matrix_view memory, offsets_view m_offsets) {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    const char* where = "attention.cross";
    check_shape(where, "memory", memory, any_rows, cfg_.d_model);
    validate_offsets(m_offsets, memory.rows(), where);
    if (cfg_.position != positional::none)
      throw_error<config_error>(where, "position", "none for cross-attention", "rope");
    const index_t nseq = sequence_count(m_offsets), hd = cfg_.dim();
    cache_type cache = make_cache(nseq, std::max<index_t>(1, longest_sequence(m_offsets)));
    project_kv(memory);
    const const_matrix_view k = as_const(k_()), v = as_const(v_());
    for (index_t s = 0; s < nseq; ++s) {
      const index_t o = m_offsets[std::size_t(s)], len = sequence_length(m_offsets, s);
      for (index_t h = 0; h < cfg_.kv_heads(); ++h)
        variant_.fill_state(cache.state(s, h), rows(columns(k, h * hd, hd), o, len), rows(columns(v, h * hd, hd), o, len));
      cache.lengths[std::size_t(s)] = len;
    }
    return cache;
  }

  /// One query per sequence against its memory: x, out: [cache.batch, d_model]. The cache is
  /// read, never changed.
  void decode_cross(const_matrix_view x, matrix_view out, const cache_type& cache) {
    check_cross_step(x, out, cache);
    run_decode_cross(x, out, cache);
  }
  void decode_cross(const matrix_view& x, matrix_view out, const cache_type& cache) { decode_cross(as_const(x), out, cache); }

  // ----- unchecked paths, for callers that ran the matching check (blocks and stacks). They do
  // not throw for the shapes they are given; they only grow scratch on a shape larger than any
  // seen before.

  /// forward() without its check.
  void run(const_matrix_view x, offsets_view offsets, matrix_view out, std::span<const std::uint8_t> key_valid = {}) {
    prefill_impl(x, offsets, out, key_valid, nullptr);
  }
  /// prefill() without its checks (check and check_cache).
  void run_prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache) {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    prefill_impl(x, offsets, out, {}, &cache);
  }
  /// decode() without its check (check_step).
  void run_decode(const_matrix_view x, matrix_view out, cache_type& cache) {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    decode_impl(x, out, cache);
  }
  /// forward_cross() without its check.
  void run_cross(const_matrix_view x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                 matrix_view out, std::span<const std::uint8_t> memory_valid = {}) {
    project_q(x);
    project_kv(memory);
    runner_.run(variant_, as_const(q_()), as_const(k_()), as_const(v_()), q_offsets, m_offsets, attn_(), cfg_.num_heads,
                cfg_.kv_heads(), cfg_.effective_scale(), memory_valid);
    finish(x, out);
  }
  /// decode_cross() without its check.
  void run_decode_cross(const_matrix_view x, matrix_view out, const cache_type& cache) {
    const index_t hd = cfg_.dim(), heads = cfg_.num_heads, group = heads / cfg_.kv_heads();
    project_q(x);
    index_t longest = 1;
    for (auto len : cache.lengths) longest = std::max(longest, len);
    runner_.reserve(variant_, hd, longest);
    auto& scratch = runner_.scratch();
    const matrix_view q = q_();
    matrix_view attn = attn_();
    const float scale = cfg_.effective_scale();
    parallel_for_dynamic(std::ptrdiff_t(x.rows() * heads), [&](std::ptrdiff_t i, int worker) {
      const index_t r = index_t(i) / heads, h = index_t(i) % heads;
      variant_.decode(decode_query{q.row(r).data() + h * hd, 0, h, scale}, cache.state(r, h / group),
                      attn.row(r).data() + h * hd, scratch[std::size_t(worker)]);
    });
    finish(x, out);
  }

 private:
  using scratch_type = typename Variant::scratch_type;

  void check_weights(const attention_weights& w) const {
    const index_t hd = cfg_.dim(), q = cfg_.num_heads * hd, kv = cfg_.kv_heads() * hd, d = cfg_.d_model;
    auto check = [](const char* name, index_t r, index_t c, index_t er, index_t ec) {
      if (r != er || c != ec)
        throw_error<shape_error>("attention.weights", std::string("weight '") + name + "'", format_shape({er, ec}),
                                 format_shape({r, c}));
    };
    auto check_vec = [](const char* name, index_t n, index_t en) {
      if (n != en)
        throw_error<shape_error>("attention.weights", std::string("bias '") + name + "'",
                                 en == 0 ? std::string("none (disabled in the config)") : format_shape({en}),
                                 format_shape({n}));
    };
    check("wq", w.wq.rows(), w.wq.cols(), d, q);
    check("wk", w.wk.rows(), w.wk.cols(), d, kv);
    check("wv", w.wv.rows(), w.wv.cols(), d, kv);
    check("wo", w.wo.rows(), w.wo.cols(), q, d);
    check_vec("bq", w.bq.size(), cfg_.qkv_bias ? q : 0);
    check_vec("bk", w.bk.size(), cfg_.qkv_bias ? kv : 0);
    check_vec("bv", w.bv.size(), cfg_.qkv_bias ? kv : 0);
    check_vec("bo", w.bo.size(), cfg_.out_bias ? d : 0);
    if (cfg_.gated) {
      check("wg", w.wg.rows(), w.wg.cols(), d, cfg_.num_heads);
      check_vec("bg", w.bg.size(), cfg_.num_heads);
    } else {
      check("wg", w.wg.rows(), w.wg.cols(), 0, 0);
    }
  }

  // Views of the scratch of the current call (tokens_ rows).
  matrix_view q_() noexcept { return q_buf_.view(tokens_, cfg_.num_heads * cfg_.dim()); }
  matrix_view k_() noexcept { return k_buf_.view(kv_tokens_, cfg_.kv_heads() * cfg_.dim()); }
  matrix_view v_() noexcept { return v_buf_.view(kv_tokens_, cfg_.kv_heads() * cfg_.dim()); }
  matrix_view attn_() noexcept { return attn_buf_.view(tokens_, cfg_.num_heads * cfg_.dim()); }

  /// Q = x·Wq + bq, K, V likewise, into the scratch (grown once per shape).
  void project(const_matrix_view x) {
    const index_t t = x.rows(), hd = cfg_.dim();
    tokens_ = kv_tokens_ = t;
    attn_buf_.get(t, cfg_.num_heads * hd);
    ops::shared_input::forward(x, std::array<const ops::linear*, 3>{&q_proj_, &k_proj_, &v_proj_},
                               std::array<matrix_view, 3>{q_buf_.get(t, cfg_.num_heads * hd),
                                                          k_buf_.get(t, cfg_.kv_heads() * hd),
                                                          v_buf_.get(t, cfg_.kv_heads() * hd)});
  }
  void project_q(const_matrix_view x) {
    const index_t t = x.rows(), hd = cfg_.dim();
    tokens_ = t;
    matrix_view q = q_buf_.get(t, cfg_.num_heads * hd);
    attn_buf_.get(t, cfg_.num_heads * hd);
    q_proj_.forward(x, q);
  }
  void project_kv(const_matrix_view x) {
    const index_t t = x.rows(), hd = cfg_.dim();
    kv_tokens_ = t;
    matrix_view k = k_buf_.get(t, cfg_.kv_heads() * hd);
    matrix_view v = v_buf_.get(t, cfg_.kv_heads() * hd);
    k_proj_.forward(x, k);
    v_proj_.forward(x, v);
  }

  /// RoPE on every head of row r of q_ and k_ at position pos.
  void rotate_row(index_t r, index_t pos) noexcept {
    const index_t hd = cfg_.dim();
    float* q = q_().row(r).data();
    float* k = k_().row(r).data();
    for (index_t h = 0; h < cfg_.num_heads; ++h) rope_.apply(q + h * hd, pos);
    for (index_t h = 0; h < cfg_.kv_heads(); ++h) rope_.apply(k + h * hd, pos);
  }


  /// Gate (optional) and output projection: out = (attn ⊙ gate)·Wo + bo.
  void finish(const_matrix_view x, matrix_view out) {
    const index_t hd = cfg_.dim();
    matrix_view attn = attn_();
    if (cfg_.gated) {
      matrix_view g = g_buf_.get(x.rows(), cfg_.num_heads);
      g_proj_.forward(x, g);
      for (index_t r = 0; r < g.rows(); ++r) {
        kernels::active::sigmoid(g.row(r).data(), g.row(r).data(), std::size_t(cfg_.num_heads));
        for (index_t h = 0; h < cfg_.num_heads; ++h)
          kernels::active::scale(attn.row(r).data() + h * hd, g(r, h), std::size_t(hd));
      }
    }
    ops::apply_inner_norm(sub_norm_, attn);
    o_proj_.forward(as_const(attn), out);
  }

  void prefill_impl(const_matrix_view x, offsets_view offsets, matrix_view out,
                    std::span<const std::uint8_t> key_valid, cache_type* cache) {
    const index_t hd = cfg_.dim(), heads = cfg_.num_heads, nseq = sequence_count(offsets);
    project(x);
    if (cfg_.position == positional::rope) {
      parallel_for(0, nseq, 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
        for (std::ptrdiff_t s = lo; s < hi; ++s)
          for (index_t r = offsets[std::size_t(s)]; r < offsets[std::size_t(s + 1)]; ++r)
            rotate_row(r, r - offsets[std::size_t(s)]);
      });
    }
    const const_matrix_view q = as_const(q_()), k = as_const(k_()), v = as_const(v_());
    runner_.run(variant_, q, k, v, offsets, attn_(), heads, cfg_.kv_heads(), cfg_.effective_scale(), key_valid);

    if constexpr (Variant::supports_decode) {
      if (cache) {
        parallel_for(0, nseq * cfg_.kv_heads(), 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
          for (std::ptrdiff_t i = lo; i < hi; ++i) {
            const index_t s = index_t(i) / cfg_.kv_heads(), kvh = index_t(i) % cfg_.kv_heads();
            const index_t o = offsets[std::size_t(s)], len = offsets[std::size_t(s + 1)] - o;
            variant_.fill_state(cache->state(s, kvh), rows(columns(k, kvh * hd, hd), o, len),
                                rows(columns(v, kvh * hd, hd), o, len));
          }
        });
        for (index_t s = 0; s < nseq; ++s)
          cache->lengths[std::size_t(s)] = offsets[std::size_t(s + 1)] - offsets[std::size_t(s)];
      }
    }
    finish(x, out);
  }

  void decode_impl(const_matrix_view x, matrix_view out, cache_type& cache) {
    const index_t b = x.rows(), hd = cfg_.dim(), heads = cfg_.num_heads, kvh = cfg_.kv_heads();
    const index_t group = heads / kvh;
    project(x);
    if (cfg_.position == positional::rope)
      for (index_t r = 0; r < b; ++r) rotate_row(r, cache.lengths[std::size_t(r)]);
    const matrix_view q = q_(), k = k_(), v = v_();
    matrix_view attn = attn_();
    index_t longest = 0;
    for (index_t r = 0; r < b; ++r) {
      for (index_t h = 0; h < kvh; ++h)
        variant_.append(cache.state(r, h), k.row(r).data() + h * hd, v.row(r).data() + h * hd);
      longest = std::max(longest, cache.lengths[std::size_t(r)] + 1);
    }
    runner_.reserve(variant_, hd, longest);
    auto& scratch = runner_.scratch();
    const float scale = cfg_.effective_scale();
    const index_t items = b * heads;

    // Split each item's keys across workers when there are fewer items than workers and the
    // caches are long (Lean Attention): partial (max, sum, acc) per chunk, merged exactly.
    bool split = false;
    if constexpr (split_decodable_variant<Variant>) {
      const index_t chunks = split_decode_chunks(items, longest, num_threads());
      if (chunks > 1) {
        run_split_decode(as_const(q), attn, cache, chunks);
        split = true;
      }
    }
    if (!split)
      parallel_for_dynamic(std::ptrdiff_t(items), [&](std::ptrdiff_t i, int worker) {
        const index_t r = index_t(i) / heads, h = index_t(i) % heads;
        variant_.decode(decode_query{q.row(r).data() + h * hd, cache.lengths[std::size_t(r)], h, scale},
                        cache.state(r, h / group), attn.row(r).data() + h * hd, scratch[std::size_t(worker)]);
      });
    for (index_t r = 0; r < b; ++r) ++cache.lengths[std::size_t(r)];
    finish(x, out);
  }

  /// Split-K decode: the cache rows of each (sequence, head) in @p chunks ranges on different
  /// workers, the partials merged exactly (merge_decode_partials).
  void run_split_decode(const_matrix_view q, matrix_view attn, const cache_type& cache, index_t chunks)
    requires split_decodable_variant<Variant>
  {
    const index_t hd = cfg_.dim(), heads = cfg_.num_heads, group = heads / cfg_.kv_heads();
    const index_t items = q.rows() * heads;
    const float scale = cfg_.effective_scale();
    auto& scratch = runner_.scratch();
    parts_.resize(std::size_t(items * chunks));
    matrix_view accs = part_acc_buf_.get(items * chunks, hd);
    parallel_for_dynamic(std::ptrdiff_t(items * chunks), [&](std::ptrdiff_t i, int worker) {
      const index_t item = index_t(i) / chunks, c = index_t(i) % chunks;
      const index_t r = item / heads, h = item % heads;
      const auto& st = cache.state(r, h / group);
      const index_t n = st.stored(), r0 = n * c / chunks, r1 = n * (c + 1) / chunks;
      parts_[std::size_t(i)] =
          variant_.decode_range(decode_query{q.row(r).data() + h * hd, cache.lengths[std::size_t(r)], h, scale}, st,
                                r0, r1, accs.row(index_t(i)).data(), scratch[std::size_t(worker)].s());
    });
    for (index_t item = 0; item < items; ++item) {
      const index_t r = item / heads, h = item % heads;
      merge_decode_partials(parts_.data() + item * chunks, accs.row(item * chunks).data(), chunks, hd,
                            attn.row(r).data() + h * hd);
    }
  }

  attention_config cfg_;
  ops::linear q_proj_, k_proj_, v_proj_, o_proj_, g_proj_;
  ops::inner_norm sub_norm_;
  Variant variant_;
  ops::rope_table rope_;
  // Scratch, grown once per shape and reused.
  scratch_matrix q_buf_, k_buf_, v_buf_, attn_buf_, g_buf_, part_acc_buf_;
  index_t tokens_ = 0, kv_tokens_ = 0;
  packed_attention_runner<Variant> runner_;
  std::vector<decode_partial> parts_;
};

}  // namespace eigenformer::attention
