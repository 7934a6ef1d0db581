#pragma once
/// @file
/// The multi-head attention layer: Q/K/V/O projections (MHA, GQA and MQA by num_kv_heads),
/// positional policy (none, RoPE, ALiBi), optional per-head output gate, packed batches, and the
/// decode path with per-(sequence, kv head) states. The attention variant is a template
/// parameter: swapping softmax for linear attention is one type change.
///
///     x: [tokens, d_model] (packed: offsets {0, len0, len0+len1, ...}) -> out: [tokens, d_model]

#include <eigenformer/attention/score.hpp>
#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/kernels/kernels.hpp>
#include <eigenformer/ops/linear.hpp>
#include <eigenformer/ops/norm.hpp>
#include <eigenformer/ops/positional.hpp>

#include <Eigen/Core>

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::attention {

/// Where positions enter attention. Learned absolute positions live in the embedding instead.
enum class positional : std::uint8_t { none, rope, alibi };

/// Shape and options of a multi-head attention layer (runtime values, not template parameters).
struct attention_config {
  index_t d_model = 0;
  index_t num_heads = 0;
  index_t num_kv_heads = 0;  ///< 0: num_heads (MHA); 1: MQA; a divisor of num_heads: GQA
  index_t head_dim = 0;      ///< 0: d_model / num_heads; a multiple of 8, at most 256
  bool qkv_bias = true;      ///< q, k and v projections have biases
  bool out_bias = true;      ///< the output projection has a bias
  float scale = 0.0f;        ///< 0: 1/√head_dim
  positional position = positional::none;
  ops::rope_layout rope = ops::rope_layout::half;
  double rope_base = 10000.0;  ///< rope_theta
  index_t max_positions = 4096;  ///< RoPE table length and default decode-cache capacity
  bool gated = false;  ///< per-head sigmoid output gate (Quantizable Transformers)

  index_t kv_heads() const noexcept { return num_kv_heads == 0 ? num_heads : num_kv_heads; }
  index_t dim() const noexcept { return head_dim == 0 && num_heads > 0 ? d_model / num_heads : head_dim; }
  float effective_scale() const noexcept {
    return scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(dim()));
  }

  /// Throws config_error naming the first field that is out of range.
  void validate() const {
    const char* where = "attention.config";
    if (d_model < 1) throw_error<config_error>(where, "d_model", "an integer >= 1", std::to_string(d_model));
    if (num_heads < 1) throw_error<config_error>(where, "num_heads", "an integer >= 1", std::to_string(num_heads));
    if (head_dim == 0 && d_model % num_heads != 0)
      throw_error<config_error>(where, "d_model / num_heads", "d_model divisible by num_heads",
                                std::to_string(d_model) + " / " + std::to_string(num_heads));
    const index_t hd = dim();
    if (hd < 8 || hd > 256 || hd % 8 != 0)
      throw_error<config_error>(where, "head_dim", "a multiple of 8 in [8, 256]", std::to_string(hd));
    const index_t kv = kv_heads();
    if (kv < 1 || num_heads % kv != 0)
      throw_error<config_error>(where, "num_kv_heads", "a divisor of num_heads (" + std::to_string(num_heads) + ")",
                                std::to_string(kv));
    if (max_positions < 1)
      throw_error<config_error>(where, "max_positions", "an integer >= 1", std::to_string(max_positions));
    if (!(scale >= 0.0f) || !std::isfinite(scale))
      throw_error<config_error>(where, "scale", "0 (default) or a finite positive number", std::to_string(scale));
  }
};

/// Weights of a multi-head attention layer, stored [in, out] so that y = x·W + b.
struct attention_weights {
  matrix wq;  ///< [d_model, num_heads·head_dim]
  matrix wk;  ///< [d_model, num_kv_heads·head_dim]
  matrix wv;  ///< [d_model, num_kv_heads·head_dim]
  matrix wo;  ///< [num_heads·head_dim, d_model]
  vector bq, bk, bv;  ///< [num_heads·head_dim], [kv·head_dim] x2; empty without qkv_bias
  vector bo;          ///< [d_model]; empty without out_bias
  matrix wg;          ///< gate: [d_model, num_heads]; empty unless gated
  vector bg;          ///< gate: [num_heads]

  /// Random weights of the right shapes (uniform in ±1/√fan_in, like PyTorch's default init),
  /// for tests and benchmarks.
  static attention_weights random(const attention_config& c, unsigned seed = 1) {
    std::srand(seed);
    const index_t hd = c.dim(), q = c.num_heads * hd, kv = c.kv_heads() * hd;
    const float a = 1.0f / std::sqrt(static_cast<float>(c.d_model)), b = 1.0f / std::sqrt(static_cast<float>(q));
    attention_weights w;
    w.wq = matrix::Random(c.d_model, q) * a;
    w.wk = matrix::Random(c.d_model, kv) * a;
    w.wv = matrix::Random(c.d_model, kv) * a;
    w.wo = matrix::Random(q, c.d_model) * b;
    if (c.qkv_bias) {
      w.bq = vector::Random(q) * a;
      w.bk = vector::Random(kv) * a;
      w.bv = vector::Random(kv) * a;
    }
    if (c.out_bias) w.bo = vector::Random(c.d_model) * b;
    if (c.gated) {
      w.wg = matrix::Random(c.d_model, c.num_heads) * a;
      w.bg = vector::Random(c.num_heads);
    }
    return w;
  }
};

/// Decode state of one layer for a batch of sequences: one variant state per (sequence, kv head),
/// and each sequence's length (the position of its next token).
template <class Variant>
struct attention_cache {
  index_t batch = 0;
  index_t kv_heads = 0;
  std::vector<typename Variant::state_type> states;  ///< [batch · kv_heads]
  std::vector<index_t> lengths;                       ///< [batch]

  typename Variant::state_type& state(index_t b, index_t h) { return states[std::size_t(b * kv_heads + h)]; }
  const typename Variant::state_type& state(index_t b, index_t h) const {
    return states[std::size_t(b * kv_heads + h)];
  }
};

/// Runs a variant over every head of every sequence of a packed batch of already projected (and
/// rotated) Q, K, V, in parallel over (sequence, head, block of query rows). Owns the per-worker
/// scratch, grown once per shape. multi_head_attention uses it after its projections; benchmarks
/// and researchers can call it directly on their own Q, K, V.
///
///     q: [tokens, heads·d], k, v: [tokens, kv_heads·d] -> attn: [tokens, heads·d]
template <class Variant>
class packed_attention_runner {
 public:
  using scratch_type = typename Variant::scratch_type;

  /// @param slopes   per-head ALiBi slopes, or empty
  /// @param key_valid [tokens] 0 = padding key, or empty
  /// Shapes are the caller's responsibility (multi_head_attention validates them).
  void run(const Variant& variant, const_matrix_view q, const_matrix_view k, const_matrix_view v,
           offsets_view offsets, matrix_view attn, index_t heads, index_t kv_heads, float scale,
           std::span<const float> slopes = {}, std::span<const std::uint8_t> key_valid = {}) {
    run(variant, q, k, v, offsets, offsets, attn, heads, kv_heads, scale, slopes, key_valid);
  }

  /// Same, with keys and values packed by their own offsets (cross-attention: sequence i of the
  /// queries attends to sequence i of the memory). key_valid follows the key offsets.
  void run(const Variant& variant, const_matrix_view q, const_matrix_view k, const_matrix_view v,
           offsets_view q_offsets, offsets_view kv_offsets, matrix_view attn, index_t heads, index_t kv_heads,
           float scale, std::span<const float> slopes = {}, std::span<const std::uint8_t> key_valid = {}) {
    const index_t hd = q.cols() / heads, group = heads / kv_heads, nseq = sequence_count(q_offsets);
    index_t longest = 0, longest_q = 0;
    for (index_t s = 0; s < nseq; ++s) {
      longest_q = std::max(longest_q, q_offsets[std::size_t(s + 1)] - q_offsets[std::size_t(s)]);
      longest = std::max(longest, kv_offsets[std::size_t(s + 1)] - kv_offsets[std::size_t(s)]);
    }
    reserve(variant, hd, std::max(longest, longest_q));
    // A block is a few query tiles, so that even one long sequence keeps every core busy.
    const index_t block =
        Variant::query_splittable ? std::max<index_t>(256, longest_q / 8) : std::max<index_t>(longest_q, 1);
    items_.clear();
    for (index_t s = 0; s < nseq; ++s) {
      const index_t len = q_offsets[std::size_t(s + 1)] - q_offsets[std::size_t(s)];
      for (index_t h = 0; h < heads; ++h)
        for (index_t r0 = 0; r0 < len; r0 += block) items_.push_back({s, h, r0, std::min(block, len - r0)});
    }
    parallel_for_dynamic(std::ptrdiff_t(items_.size()), [&](std::ptrdiff_t i, int worker) {
      const work_item& it = items_[std::size_t(i)];
      const index_t o = q_offsets[std::size_t(it.seq)];
      const index_t ko = kv_offsets[std::size_t(it.seq)], klen = kv_offsets[std::size_t(it.seq + 1)] - ko;
      const index_t kvh = it.head / group;
      head_problem p{rows(columns(q, it.head * hd, hd), o + it.row0, it.rows),
                     rows(columns(k, kvh * hd, hd), ko, klen),
                     rows(columns(v, kvh * hd, hd), ko, klen),
                     rows(columns(attn, it.head * hd, hd), o + it.row0, it.rows),
                     it.row0,
                     scale,
                     slopes.empty() ? 0.0f : slopes[std::size_t(it.head)],
                     key_valid.empty() ? nullptr : key_valid.data() + ko,
                     it.head};
      variant.prefill(p, scratch_[std::size_t(worker)]);
    });
  }

  /// Grows one scratch per worker for head_dim @p hd and @p max_keys keys.
  void reserve(const Variant& variant, index_t hd, index_t max_keys) {
    const auto workers = std::size_t(std::max(1, num_threads()));
    if (scratch_.size() < workers) scratch_.resize(workers);
    for (auto& s : scratch_) variant.reserve(s, hd, hd, max_keys);
  }
  std::vector<scratch_type>& scratch() noexcept { return scratch_; }

 private:
  struct work_item {
    index_t seq, head, row0, rows;
  };
  std::vector<scratch_type> scratch_;
  std::vector<work_item> items_;
};

/// Multi-head attention with attention variant @p Variant (score_attention<...>,
/// linear_attention<...>, linformer_attention, ...).
template <class Variant>
class multi_head_attention {
 public:
  using variant_type = Variant;
  using cache_type = attention_cache<Variant>;

  /// Validates @p cfg against the variant and the weight shapes; throws config_error /
  /// shape_error naming the field or tensor.
  multi_head_attention(attention_config cfg, attention_weights w, Variant variant = Variant{})
      : cfg_(std::move(cfg)), variant_(std::move(variant)) {
    cfg_.validate();
    if (cfg_.position == positional::alibi && !Variant::supports_alibi)
      throw_error<config_error>("attention.config", "position", "none or rope for this attention variant",
                                "alibi (it needs an explicit score matrix)");
    check_weights(w);
    // The projections are packed for the matmul kernel here, once; the matrices are not kept.
    q_proj_ = ops::linear(w.wq, std::move(w.bq), "wq");
    k_proj_ = ops::linear(w.wk, std::move(w.bk), "wk");
    v_proj_ = ops::linear(w.wv, std::move(w.bv), "wv");
    o_proj_ = ops::linear(w.wo, std::move(w.bo), "wo");
    if (cfg_.gated) g_proj_ = ops::linear(w.wg, std::move(w.bg), "wg");
    if constexpr (requires { variant_.check_heads(index_t{}); }) variant_.check_heads(cfg_.num_heads);
    if (cfg_.position == positional::rope)
      rope_ = ops::rope_table(cfg_.dim(), cfg_.max_positions, cfg_.rope_base, cfg_.rope);
    if (cfg_.position == positional::alibi) slopes_ = ops::alibi_slopes(cfg_.num_heads);
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
  /// The weights, unpacked into the [in, out] matrices they were given as (a copy).
  attention_weights weights() const {
    attention_weights w;
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

  /// Attention over a packed batch, no cache. x, out: [tokens, d_model]; offsets as in
  /// core/tensor.hpp; key_valid: empty, or [tokens] with 0 marking padding keys (for callers who
  /// bring padded sequences). out must not alias x.
  void forward(const_matrix_view x, offsets_view offsets, matrix_view out,
               std::span<const std::uint8_t> key_valid = {}) {
    check_io(x, offsets, out, key_valid);
    run_prefill(x, offsets, out, key_valid, nullptr);
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
      c.states.push_back(variant_.make_state(max_positions, cfg_.dim(), cfg_.dim()));
    return c;
  }

  /// forward() over the prompts of a batch, which also (re)fills @p cache with them: sequence i of
  /// the packed batch becomes cache sequence i. The batch must have cache.batch sequences.
  void prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache) {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    check_io(x, offsets, out, {});
    if (sequence_count(offsets) != cache.batch)
      throw_error<shape_error>("attention.prefill", "number of sequences", std::to_string(cache.batch) + " (the cache's batch)",
                               std::to_string(sequence_count(offsets)));
    for (index_t s = 0; s < cache.batch; ++s) {
      const index_t len = offsets[std::size_t(s + 1)] - offsets[std::size_t(s)];
      const auto& st = cache.state(s, 0);
      if (!state_fits(st, len))
        throw_error<shape_error>("attention.prefill", "sequence " + std::to_string(s) + " length",
                                 "at most the cache capacity " + std::to_string(capacity_of(st)), std::to_string(len));
    }
    run_prefill(x, offsets, out, {}, &cache);
  }

  void prefill(const matrix_view& x, offsets_view offsets, matrix_view out, cache_type& cache) {
    prefill(as_const(x), offsets, out, cache);
  }

  /// One decode step: one new token per cache sequence. x, out: [cache.batch, d_model]; token b
  /// goes to sequence b at position cache.lengths[b], which then grows by one.
  void decode(const_matrix_view x, matrix_view out, cache_type& cache) {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    const char* where = "attention.decode";
    if (x.rows() != cache.batch || x.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "input x", format_shape({cache.batch, cfg_.d_model}), format_shape({x.rows(), x.cols()}));
    if (out.rows() != x.rows() || out.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "output", format_shape({x.rows(), cfg_.d_model}), format_shape({out.rows(), out.cols()}));
    for (index_t b = 0; b < cache.batch; ++b) {
      if (!variant_.can_append(cache.state(b, 0)))
        throw_error<shape_error>(where, "sequence " + std::to_string(b) + " cache", "room for one more token",
                                 "a full cache of " + std::to_string(cache.lengths[std::size_t(b)]) + " tokens");
      if (cfg_.position == positional::rope && cache.lengths[std::size_t(b)] >= cfg_.max_positions)
        throw_error<shape_error>(where, "sequence " + std::to_string(b) + " position",
                                 "< max_positions " + std::to_string(cfg_.max_positions),
                                 std::to_string(cache.lengths[std::size_t(b)]));
    }
    run_decode(x, out, cache);
  }
  void decode(const matrix_view& x, matrix_view out, cache_type& cache) { decode(as_const(x), out, cache); }

  /// Cross-attention over a packed batch (encoder-decoder): queries from x ([tokens, d_model],
  /// packed by q_offsets), keys and values from memory ([memory_tokens, d_model], packed by
  /// m_offsets with as many sequences): sequence i attends to memory sequence i. Use a
  /// bidirectional variant (softmax_attention, ...). memory_valid: empty, or one flag per memory
  /// token (0 = padding). Throws config_error for RoPE or ALiBi, shape_error for bad shapes.
  void forward_cross(const_matrix_view x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                     matrix_view out, std::span<const std::uint8_t> memory_valid = {}) {
    check_cross(x, q_offsets, memory, m_offsets, out);
    if (!memory_valid.empty() && index_t(memory_valid.size()) != memory.rows())
      throw_error<shape_error>("attention.cross", "memory_valid mask", format_shape({memory.rows()}),
                               format_shape({index_t(memory_valid.size())}));
    project_q(x);
    project_kv(memory);
    runner_.run(variant_, as_const(q_()), as_const(k_()), as_const(v_()), q_offsets, m_offsets, attn_(), cfg_.num_heads,
                cfg_.kv_heads(), cfg_.effective_scale(), {}, memory_valid);
    finish(x, out);
  }

  /// Decode-time cross-attention state: the memory's keys and values, projected once per
  /// sequence (cache sequence i holds memory sequence i).
  cache_type make_cross_cache(const_matrix_view memory, offsets_view m_offsets) {
    static_assert(Variant::supports_decode, "this attention variant has no decode form");
    const char* where = "attention.cross";
    if (memory.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "memory", format_shape({memory.rows(), cfg_.d_model}),
                               format_shape({memory.rows(), memory.cols()}));
    validate_offsets(m_offsets, memory.rows(), where);
    if (cfg_.position != positional::none)
      throw_error<config_error>(where, "position", "none for cross-attention", "rope or alibi");
    const index_t nseq = sequence_count(m_offsets), hd = cfg_.dim();
    index_t longest = 1;
    for (index_t s = 0; s < nseq; ++s) longest = std::max(longest, m_offsets[std::size_t(s + 1)] - m_offsets[std::size_t(s)]);
    cache_type cache = make_cache(nseq, longest);
    project_kv(memory);
    const const_matrix_view k = as_const(k_()), v = as_const(v_());
    for (index_t s = 0; s < nseq; ++s) {
      const index_t o = m_offsets[std::size_t(s)], len = m_offsets[std::size_t(s + 1)] - o;
      for (index_t h = 0; h < cfg_.kv_heads(); ++h)
        variant_.fill_state(cache.state(s, h), rows(columns(k, h * hd, hd), o, len), rows(columns(v, h * hd, hd), o, len));
      cache.lengths[std::size_t(s)] = len;
    }
    return cache;
  }

  /// One query per sequence against its memory: x, out: [cache.batch, d_model]. The cache is
  /// read, never changed.
  void decode_cross(const_matrix_view x, matrix_view out, const cache_type& cache) {
    const char* where = "attention.cross";
    if (x.rows() != cache.batch || x.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "input x", format_shape({cache.batch, cfg_.d_model}), format_shape({x.rows(), x.cols()}));
    if (out.rows() != x.rows() || out.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "output", format_shape({x.rows(), cfg_.d_model}), format_shape({out.rows(), out.cols()}));
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
      variant_.decode(q.row(r).data() + h * hd, cache.state(r, h / group), 0, scale, 0.0f,
                      attn.row(r).data() + h * hd, scratch[std::size_t(worker)]);
    });
    finish(x, out);
  }
  void forward_cross(const matrix_view& x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                     matrix_view out) {
    forward_cross(as_const(x), q_offsets, memory, m_offsets, out);
  }
  void decode_cross(const matrix_view& x, matrix_view out, const cache_type& cache) { decode_cross(as_const(x), out, cache); }

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

  void check_io(const_matrix_view x, offsets_view offsets, matrix_view out,
                std::span<const std::uint8_t> key_valid) const {
    const char* where = "attention.forward";
    if (x.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "input x", format_shape({x.rows(), cfg_.d_model}), format_shape({x.rows(), x.cols()}));
    if (out.rows() != x.rows() || out.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "output", format_shape({x.rows(), cfg_.d_model}), format_shape({out.rows(), out.cols()}));
    validate_offsets(offsets, x.rows(), where);
    if (!key_valid.empty() && index_t(key_valid.size()) != x.rows())
      throw_error<shape_error>(where, "key_valid mask", format_shape({x.rows()}) + " (one flag per token)",
                               format_shape({index_t(key_valid.size())}));
    index_t longest = 0;
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) longest = std::max(longest, offsets[s + 1] - offsets[s]);
    if (cfg_.position == positional::rope && longest > cfg_.max_positions)
      throw_error<shape_error>(where, "sequence length", "at most max_positions " + std::to_string(cfg_.max_positions),
                               std::to_string(longest));
    variant_.check_sequence_length(longest);
  }

  void check_cross(const_matrix_view x, offsets_view q_offsets, const_matrix_view memory, offsets_view m_offsets,
                   const matrix_view& out) const {
    const char* where = "attention.cross";
    if (cfg_.position != positional::none)
      throw_error<config_error>(where, "position", "none for cross-attention", "rope or alibi");
    if (x.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "input x", format_shape({x.rows(), cfg_.d_model}), format_shape({x.rows(), x.cols()}));
    if (memory.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "memory", format_shape({memory.rows(), cfg_.d_model}),
                               format_shape({memory.rows(), memory.cols()}));
    if (out.rows() != x.rows() || out.cols() != cfg_.d_model)
      throw_error<shape_error>(where, "output", format_shape({x.rows(), cfg_.d_model}), format_shape({out.rows(), out.cols()}));
    validate_offsets(q_offsets, x.rows(), where);
    validate_offsets(m_offsets, memory.rows(), where);
    if (sequence_count(q_offsets) != sequence_count(m_offsets))
      throw_error<shape_error>(where, "memory sequences", std::to_string(sequence_count(q_offsets)) + " (one per query sequence)",
                               std::to_string(sequence_count(m_offsets)));
    index_t longest = 0;
    for (std::size_t s = 0; s + 1 < m_offsets.size(); ++s) longest = std::max(longest, m_offsets[s + 1] - m_offsets[s]);
    variant_.check_sequence_length(longest);
  }

  template <class State>
  static index_t capacity_of(const State& st) {
    if constexpr (requires { st.capacity(); }) return st.capacity();
    return std::numeric_limits<index_t>::max();
  }
  template <class State>
  static bool state_fits(const State& st, index_t len) {
    if constexpr (requires { st.ring; }) {
      if (st.ring) return true;
    }
    return len <= capacity_of(st);
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

  void run_prefill(const_matrix_view x, offsets_view offsets, matrix_view out,
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
    runner_.run(variant_, q, k, v, offsets, attn_(), heads, cfg_.kv_heads(), cfg_.effective_scale(), slopes_, key_valid);

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

  void run_decode(const_matrix_view x, matrix_view out, cache_type& cache) {
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
    index_t chunks = 1;
    if constexpr (requires { Variant::splittable_decode; }) {
      if (Variant::splittable_decode && items < num_threads() && longest >= 1024)
        chunks = std::min<index_t>((num_threads() + items - 1) / items, longest / 512);
    }
    if (chunks > 1) {
      if constexpr (requires { Variant::splittable_decode; }) {
        parts_.resize(std::size_t(items * chunks));
        matrix_view accs = part_acc_buf_.get(items * chunks, hd);
        parallel_for_dynamic(std::ptrdiff_t(items * chunks), [&](std::ptrdiff_t i, int worker) {
          const index_t item = index_t(i) / chunks, c = index_t(i) % chunks;
          const index_t r = item / heads, h = item % heads;
          const auto& st = cache.state(r, h / group);
          const index_t n = st.stored(), r0 = n * c / chunks, r1 = n * (c + 1) / chunks;
          parts_[std::size_t(i)] = variant_.decode_range(q.row(r).data() + h * hd, st, r0, r1, cache.lengths[std::size_t(r)],
                                                         scale, slopes_.empty() ? 0.0f : slopes_[std::size_t(h)],
                                                         accs.row(index_t(i)).data(), scratch[std::size_t(worker)].s());
        });
        for (index_t item = 0; item < items; ++item) {
          const index_t r = item / heads, h = item % heads;
          merge_decode_partials(parts_.data() + item * chunks, accs.row(item * chunks).data(), chunks, hd,
                                attn.row(r).data() + h * hd);
        }
      }
    } else {
      parallel_for_dynamic(std::ptrdiff_t(items), [&](std::ptrdiff_t i, int worker) {
        const index_t r = index_t(i) / heads, h = index_t(i) % heads;
        variant_.decode(q.row(r).data() + h * hd, cache.state(r, h / group), cache.lengths[std::size_t(r)], scale,
                        slopes_.empty() ? 0.0f : slopes_[std::size_t(h)], attn.row(r).data() + h * hd,
                        scratch[std::size_t(worker)]);
      });
    }
    for (index_t r = 0; r < b; ++r) ++cache.lengths[std::size_t(r)];
    finish(x, out);
  }

  attention_config cfg_;
  ops::linear q_proj_, k_proj_, v_proj_, o_proj_, g_proj_;
  ops::inner_norm sub_norm_;
  Variant variant_;
  ops::rope_table rope_;
  std::vector<float> slopes_;
  // Scratch, grown once per shape and reused.
  scratch_matrix q_buf_, k_buf_, v_buf_, attn_buf_, g_buf_, part_acc_buf_;
  index_t tokens_ = 0, kv_tokens_ = 0;
  packed_attention_runner<Variant> runner_;
  std::vector<decode_partial> parts_;
};

}  // namespace eigenformer::attention
