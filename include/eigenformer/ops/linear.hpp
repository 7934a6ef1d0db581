#pragma once
/// @file
/// Linear layer y = x·W + b, W given [in, out] (PyTorch's nn.Linear holds [out, in]:
/// `linear::from_out_in` packs that layout directly).
///     x: [tokens, in] -> y: [tokens, out]
///
/// The weights are stored as the layer's `weight_type` says (chosen at construction):
///  - `f32`: where the translation unit targets AVX-512 (`kernels::simd::has_gemm`), packed
///    once into the panel layout of `kernels::simd::gemm` and only that copy is kept; elsewhere
///    (and under EIGENFORMER_FORCE_SCALAR) kept as a matrix for Eigen's product.
///  - `bf16`: rounded once and packed for `kernels::simd::gemm_bf16` (AVX-512 BF16, or the
///    AVX-512F widening path, or the scalar twin); each call rounds the rows of x to bf16 into a
///    per-thread buffer that grows to the largest shape seen, then runs the product.
///  - `int8`: quantised once per output channel and packed for `kernels::simd::gemm_int8`
///    (AVX-512 VNNI, or its AVX-512BW equal; the scalar twin elsewhere); each call quantises the rows of x per token
///    into the per-thread buffer, then runs the product.
///  - `int4`: quantised once in groups of 32 inputs with a bf16 scale each and packed for
///    `kernels::simd::gemm_int4` (as int8: VNNI, AVX-512BW or the scalar twin); each call quantises
///    the rows of x as for int8 and adds their group sums, then runs the product.
/// Threads split the output columns.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/kernels/gemm.hpp>
#include <eigenformer/kernels/gemm_bf16.hpp>
#include <eigenformer/kernels/gemm_int4.hpp>
#include <eigenformer/kernels/gemm_int8.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

namespace eigenformer::ops {

/// Packs a weight matrix's panels on the library's threads (parallel_for over panel ranges):
/// the executor ops::linear hands the packed matrices' constructors, so that quantising at
/// load scales with set_num_threads().
struct parallel_panels {
  template <class Fn>
  void operator()(std::size_t panels, Fn&& fn) const noexcept {
    parallel_for(0, std::ptrdiff_t(panels), 1,
                 [&fn](std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept { fn(std::size_t(lo), std::size_t(hi)); });
  }
};

class linear {
 public:
  /// True when this build runs the packed AVX-512 product (false: Eigen's product).
  static constexpr bool packed = kernels::simd::has_gemm;

  linear() = default;
  /// weight: [in, out]; bias: [out] or empty for none; stored as @p type. Throws shape_error
  /// when the bias size is neither, or (int8) when in exceeds kernels::int8_max_k. @p name
  /// appears in error messages.
  linear(const matrix& weight, vector bias, const std::string& name = "linear",
         weight_type type = weight_type::f32)
      : b_(std::move(bias)) {
    check_bias(weight.cols(), name);
    store(weight.data(), weight.cols(), weight.rows(), weight.cols(), false, type, name);
  }
  /// weight given as [out, in] row-major (PyTorch nn.Linear, HF checkpoints), with row stride
  /// @p ld (= in when contiguous): packed without an intermediate transposed copy.
  static linear from_out_in(const float* weight, index_t out, index_t in, index_t ld, vector bias,
                            const std::string& name = "linear", weight_type type = weight_type::f32) {
    return from_pointer(weight, ld, in, out, true, std::move(bias), name, type);
  }
  /// weight given as [in, out] row-major (GPT-2's Conv1D) with row stride @p ld (= out when
  /// contiguous): packed straight from the pointer, with no matrix copy.
  static linear from_in_out(const float* weight, index_t in, index_t out, index_t ld, vector bias,
                            const std::string& name = "linear", weight_type type = weight_type::f32) {
    return from_pointer(weight, ld, in, out, false, std::move(bias), name, type);
  }
  /// weight given as [out, in] row-major bf16 bits (a BF16 checkpoint's tensor, any alignment),
  /// row stride @p ld, stored as bf16 with no float copy in between.
  static linear from_out_in_bf16(const std::byte* weight, index_t out, index_t in, index_t ld, vector bias,
                                 const std::string& name = "linear") {
    linear l;
    l.b_ = std::move(bias);
    l.check_bias(out, name);
    l.in_ = in;
    l.out_ = out;
    l.type_ = weight_type::bf16;
    l.w_bf16_ =
        kernels::packed_bf16_matrix::from_bits(weight, ld, std::size_t(in), std::size_t(out), true, parallel_panels{});
    return l;
  }
  /// Uniform(±1/√in) weights and biases, PyTorch's default initialisation, for tests and benchmarks.
  static linear random(index_t in, index_t out, bool bias = true) {
    const float a = 1.0f / std::sqrt(static_cast<float>(in));
    return linear(matrix(matrix::Random(in, out) * a), bias ? vector(vector::Random(out) * a) : vector());
  }

  index_t in() const noexcept { return in_; }
  index_t out() const noexcept { return out_; }
  /// How the weights are stored.
  weight_type type() const noexcept { return type_; }
  /// The weight the product uses, [in, out] (a copy: the layer may hold it packed; for int8,
  /// and int4, the dequantised values q · scale).
  matrix weight() const {
    if (type_ == weight_type::bf16) {
      matrix w(in_, out_);
      for (index_t r = 0; r < in_; ++r)
        for (index_t c = 0; c < out_; ++c) w(r, c) = w_bf16_.value(std::size_t(r), std::size_t(c));
      return w;
    }
    if (type_ == weight_type::int8) {
      matrix w(in_, out_);
      for (index_t r = 0; r < in_; ++r)
        for (index_t c = 0; c < out_; ++c) w(r, c) = w_int8_.dequantized(std::size_t(r), std::size_t(c));
      return w;
    }
    if (type_ == weight_type::int4) {
      matrix w(in_, out_);
      for (index_t r = 0; r < in_; ++r)
        for (index_t c = 0; c < out_; ++c) w(r, c) = w_int4_.dequantized(std::size_t(r), std::size_t(c));
      return w;
    }
    if constexpr (packed) {
      matrix w(in_, out_);
      if (w.size()) w_packed_.unpack(w.data(), out_);
      return w;
    } else {
      return w_;
    }
  }
  /// out[k] = W[k, c] for k < in(): column c of the weight (row c of PyTorch's [out, in]), e.g.
  /// the embedding of token c when an LM head is tied to the embeddings.
  void column(index_t c, float* out) const noexcept {
    if (type_ == weight_type::bf16) {
      for (index_t k = 0; k < in_; ++k) out[k] = w_bf16_.value(std::size_t(k), std::size_t(c));
      return;
    }
    if (type_ == weight_type::int8) {
      for (index_t k = 0; k < in_; ++k) out[k] = w_int8_.dequantized(std::size_t(k), std::size_t(c));
      return;
    }
    if (type_ == weight_type::int4) {
      for (index_t k = 0; k < in_; ++k) out[k] = w_int4_.dequantized(std::size_t(k), std::size_t(c));
      return;
    }
    if constexpr (packed) {
      const float* p = w_packed_.panel(std::size_t(c) / kernels::packed_matrix::panel_width) +
                       std::size_t(c) % kernels::packed_matrix::panel_width;
      for (index_t k = 0; k < in_; ++k) out[k] = p[std::size_t(k) * kernels::packed_matrix::panel_width];
    } else {
      for (index_t k = 0; k < in_; ++k) out[k] = w_(k, c);
    }
  }
  /// [out], or empty when the layer has no bias.
  const vector& bias() const noexcept { return b_; }
  /// Bytes of weight storage held (packed panels include their zero padding).
  std::size_t weight_bytes() const noexcept {
    if (type_ == weight_type::bf16) return w_bf16_.bytes();
    if (type_ == weight_type::int8) return w_int8_.bytes();
    if (type_ == weight_type::int4) return w_int4_.bytes();
    if constexpr (packed) return w_packed_.size() * sizeof(float);
    return std::size_t(w_.size()) * sizeof(float);
  }

  /// y[:, :cols] = act(x[:, :k]·W[:k, :cols] + b[:cols]) with cols = out() and k = in() when 0
  /// (the first outputs and inputs only: a MatFormer sub-network). x: [t, k], y: [t, cols].
  /// Shapes are the caller's to check. @p act: an activation policy (`ops::gelu_erf`, ...) run
  /// on each finished output tile while it is in cache.
  template <class Act = void>
  void forward(const_matrix_view x, matrix_view y, index_t cols = 0, index_t k = 0) const noexcept {
    if (cols == 0) cols = out_;
    if (k == 0) k = in_;
    if (type_ == weight_type::bf16) {
      const bf16_rows a = to_bf16(x, k);
      const kernels::gemm_bf16_args g = bf16_args(a, y, cols);
      over_panels<Act>(g, cols);
      return;
    }
    if (type_ == weight_type::int8) {
      const int8_rows q = quantize(x, k);
      const kernels::gemm_int8_args g = int8_args(q, y, cols);
      over_panels<Act>(g, cols);
      return;
    }
    if (type_ == weight_type::int4) {
      const int4_rows q = quantize_int4(x, k);
      const kernels::gemm_int4_args g = int4_args(q, y, cols);
      over_panels<Act>(g, cols);
      return;
    }
    if constexpr (packed) {
      over_panels<Act>(args(x, y, cols, k), cols);
    } else {
      if (cols == out_ && k == in_) {
        y.noalias() = x * w_;
      } else {
        y.noalias() = x.leftCols(k) * w_.topLeftCorner(k, cols);
      }
      if (b_.size()) y.rowwise() += b_.head(cols).transpose();
      if constexpr (!std::is_void_v<Act>) {
        parallel_for(0, y.rows(), 16, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
          for (std::ptrdiff_t r = lo; r < hi; ++r) Act::apply(y.row(r).data(), std::size_t(cols));
        });
      }
    }
  }

 private:
  friend struct shared_input;

  /// x's rows quantised for the int8 product, in the calling thread's buffer.
  struct int8_rows {
    const std::uint8_t* u;
    std::ptrdiff_t ld;
    const float* scales;
    std::size_t m;
  };
  /// x's rows quantised for the int4 product, with their group sums, in the calling thread's buffer.
  struct int4_rows {
    const std::int8_t* v;
    std::ptrdiff_t ld;
    const float* scales;
    const std::int32_t* sums;
    std::ptrdiff_t ld_sums;
    std::size_t m;
  };
  /// x's rows rounded to bf16 for the bf16 product, in the calling thread's buffer.
  struct bf16_rows {
    const std::uint16_t* u;
    std::ptrdiff_t ld;
    std::size_t m;
  };
  /// The calling thread's buffers for the converted rows of x: they grow to the largest shape
  /// seen; a call that needs more allocates.
  struct scratch {
    std::vector<std::uint8_t> u8;
    std::vector<std::uint16_t> u16;
    std::vector<float> scales;
    std::vector<std::int32_t> sums;
  };
  static scratch& thread_scratch() noexcept {
    thread_local scratch s;
    return s;
  }
  /// Rounds x[:, :k] to bf16 for a product with this layer's packed k (the padding is zeros).
  bf16_rows to_bf16(const const_matrix_view& x, index_t k) const noexcept {
    scratch& s = thread_scratch();
    const std::size_t m = std::size_t(x.rows()), width = kernels::bf16_row_elems(std::size_t(in_));
    if (s.u16.size() < m * width) s.u16.resize(m * width);
    std::uint16_t* u = s.u16.data();
    const auto rows = [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      kernels::simd::to_bf16_rows(x.data() + lo * x.outerStride(), x.outerStride(), std::size_t(hi - lo),
                                  std::size_t(k), std::size_t(in_), u + std::size_t(lo) * width,
                                  std::ptrdiff_t(width));
    };
    over_rows(m, rows);
    return {u, std::ptrdiff_t(width), m};
  }
  kernels::gemm_bf16_args bf16_args(const bf16_rows& a, matrix_view y, index_t cols) const noexcept {
    return {a.u, a.ld, a.m, std::size_t(cols), &w_bf16_, b_.size() ? b_.data() : nullptr, y.data(), y.outerStride()};
  }

  /// Quantises x[:, :k] for a product with this layer's packed k (the padding is zeros), into
  /// the calling thread's buffer.
  int8_rows quantize(const const_matrix_view& x, index_t k) const noexcept {
    scratch& s = thread_scratch();
    const std::size_t m = std::size_t(x.rows()), width = kernels::int8_row_bytes(std::size_t(in_));
    if (s.u8.size() < m * width) s.u8.resize(m * width);
    if (s.scales.size() < m) s.scales.resize(m);
    std::uint8_t* u = s.u8.data();
    float* scales = s.scales.data();
    const auto rows = [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      kernels::simd::quantize_rows(x.data() + lo * x.outerStride(), x.outerStride(), std::size_t(hi - lo),
                                   std::size_t(k), std::size_t(in_), u + std::size_t(lo) * width,
                                   std::ptrdiff_t(width), scales + lo);
    };
    over_rows(m, rows);
    return {u, std::ptrdiff_t(width), scales, m};
  }
  kernels::gemm_int8_args int8_args(const int8_rows& q, matrix_view y, index_t cols) const noexcept {
    return {q.u, q.ld, q.scales, q.m, std::size_t(cols), &w_int8_, b_.size() ? b_.data() : nullptr, y.data(),
            y.outerStride()};
  }

  /// Quantises x[:, :k] as `quantize` does, padded to whole groups of this layer's k, then makes
  /// the rows signed and sums their groups (kernels::int4_prepare_rows).
  int4_rows quantize_int4(const const_matrix_view& x, index_t k) const noexcept {
    scratch& s = thread_scratch();
    const std::size_t m = std::size_t(x.rows()), width = kernels::int4_row_bytes(std::size_t(in_)),
                      groups = kernels::int4_groups(std::size_t(in_));
    if (s.u8.size() < m * width) s.u8.resize(m * width);
    if (s.scales.size() < m) s.scales.resize(m);
    if (s.sums.size() < m * groups) s.sums.resize(m * groups);
    std::uint8_t* u = s.u8.data();
    float* scales = s.scales.data();
    std::int32_t* sums = s.sums.data();
    const auto rows = [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      kernels::simd::quantize_rows(x.data() + lo * x.outerStride(), x.outerStride(), std::size_t(hi - lo),
                                   std::size_t(k), width, u + std::size_t(lo) * width, std::ptrdiff_t(width),
                                   scales + lo);
      kernels::int4_prepare_rows(u + std::size_t(lo) * width, std::ptrdiff_t(width), std::size_t(hi - lo), groups,
                                 sums + std::size_t(lo) * groups, std::ptrdiff_t(groups));
    };
    over_rows(m, rows);
    return {reinterpret_cast<const std::int8_t*>(u), std::ptrdiff_t(width), scales, sums, std::ptrdiff_t(groups), m};
  }
  kernels::gemm_int4_args int4_args(const int4_rows& q, matrix_view y, index_t cols) const noexcept {
    return {q.v,      q.ld, q.scales, q.sums, q.ld_sums, q.m, std::size_t(cols), &w_int4_, b_.size() ? b_.data() : nullptr,
            y.data(), y.outerStride()};
  }

  kernels::gemm_args args(const const_matrix_view& x, matrix_view y, index_t cols, index_t k) const noexcept {
    return {x.data(),          x.outerStride(), std::size_t(x.rows()), std::size_t(k), std::size_t(cols),
            &w_packed_,        b_.size() ? b_.data() : nullptr, y.data(), y.outerStride()};
  }

  /// The epilogue that runs activation policy Act on each finished stretch of a row (none for void).
  template <class Act>
  struct act_epilogue {
    void operator()(float* row, std::size_t n) const noexcept { Act::apply(row, n); }
  };
  template <class Act>
  using epilogue_of = std::conditional_t<std::is_void_v<Act>, kernels::no_epilogue, act_epilogue<Act>>;
  /// Panels [lo, hi) of one product, then Act on its outputs: each weight type's kernel.
  template <class Act>
  static void run_panels(const kernels::gemm_args& g, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    kernels::simd::gemm(g, std::size_t(lo), std::size_t(hi), epilogue_of<Act>{});
  }
  template <class Act>
  static void run_panels(const kernels::gemm_bf16_args& g, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    kernels::simd::gemm_bf16(g, std::size_t(lo), std::size_t(hi), epilogue_of<Act>{});
  }
  template <class Act>
  static void run_panels(const kernels::gemm_int8_args& g, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    kernels::simd::gemm_int8(g, std::size_t(lo), std::size_t(hi), epilogue_of<Act>{});
  }
  template <class Act>
  static void run_panels(const kernels::gemm_int4_args& g, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    kernels::simd::gemm_int4(g, std::size_t(lo), std::size_t(hi), epilogue_of<Act>{});
  }
  /// One product over all its panels, the threads splitting them, then Act on its outputs.
  template <class Act, class Args>
  static void over_panels(const Args& g, index_t cols) noexcept {
    parallel_for(0, std::ptrdiff_t(kernels::gemm_panels(std::size_t(cols))), 1,
                 [&](std::ptrdiff_t lo, std::ptrdiff_t hi) { run_panels<Act>(g, lo, hi); });
  }
  /// rows(lo, hi) over [0, m): split across the threads from 64 rows up; fewer rows (decode)
  /// convert in less time than a fork and join takes.
  template <class Rows>
  static void over_rows(std::size_t m, const Rows& rows) noexcept {
    if (m >= 64) {
      parallel_for(0, std::ptrdiff_t(m), 16, rows);
    } else {
      rows(0, std::ptrdiff_t(m));
    }
  }

  void check_bias(index_t out, const std::string& name) const {
    if (b_.size() != 0 && b_.size() != out)
      throw_error<shape_error>("ops.linear", "bias of '" + name + "'", format_shape({out}), format_shape({b_.size()}));
  }
  /// Stores B = [in, out] given either row-major [in, out] or (transposed) [out, in].
  static linear from_pointer(const float* w, index_t ld, index_t in, index_t out, bool transposed, vector bias,
                             const std::string& name, weight_type type) {
    linear l;
    l.b_ = std::move(bias);
    l.check_bias(out, name);
    l.store(w, ld, in, out, transposed, type, name);
    return l;
  }
  void store(const float* w, index_t ld, index_t in, index_t out, bool transposed, weight_type type,
             const std::string& name) {
    in_ = in;
    out_ = out;
    type_ = type;
    if (type == weight_type::bf16) {
      w_bf16_ = kernels::packed_bf16_matrix(w, ld, std::size_t(in), std::size_t(out), transposed, parallel_panels{});
      return;
    }
    if (type == weight_type::int8) {
      if (std::size_t(in) > kernels::int8_max_k)
        throw_error<shape_error>("ops.linear", "inputs of '" + name + "' stored as int8",
                                 "at most " + std::to_string(kernels::int8_max_k) + " (int32 sums)",
                                 std::to_string(in));
      w_int8_ = kernels::packed_int8_matrix(w, ld, std::size_t(in), std::size_t(out), transposed, parallel_panels{});
      return;
    }
    if (type == weight_type::int4) {
      w_int4_ = kernels::packed_int4_matrix(w, ld, std::size_t(in), std::size_t(out), transposed, parallel_panels{});
      return;
    }
    if constexpr (packed) {
      w_packed_ = kernels::packed_matrix(w, ld, std::size_t(in), std::size_t(out), transposed, parallel_panels{});
    } else {
      w_.resize(in, out);
      for (index_t r = 0; r < in; ++r)
        for (index_t c = 0; c < out; ++c) w_(r, c) = transposed ? w[c * ld + r] : w[r * ld + c];
    }
  }

  index_t in_ = 0, out_ = 0;
  weight_type type_ = weight_type::f32;
  kernels::packed_matrix w_packed_;      // f32, when packed
  matrix w_;                             // f32, otherwise
  kernels::packed_bf16_matrix w_bf16_;   // bf16
  kernels::packed_int8_matrix w_int8_;   // int8
  kernels::packed_int4_matrix w_int4_;   // int4
  vector b_;
};

/// Several linear layers that read the same input (Q, K and V; a GLU's gate and up) run as one
/// parallel region over all their panels: one fork and join instead of one per layer, and the
/// threads balance over the whole set (at decode, three 768-wide projections are 12 panels each).
/// Each result is the one `forward` gives, bit for bit.
struct shared_input {
 private:
  /// The layers' 64-column panels laid end to end and split across the threads in one parallel
  /// region: run(i, lo, hi) computes panels [lo, hi) of layer i.
  template <std::size_t N, class Run>
  static void over_panels(const std::array<matrix_view, N>& ys, Run&& run) noexcept {
    std::array<std::ptrdiff_t, N + 1> first{};
    for (std::size_t i = 0; i < N; ++i)
      first[i + 1] = first[i] + std::ptrdiff_t(kernels::gemm_panels(std::size_t(ys[i].cols())));
    parallel_for(0, first[N], 1, [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
      for (std::size_t i = 0; i < N; ++i) {
        const std::ptrdiff_t a = std::max(lo, first[i]), b = std::min(hi, first[i + 1]);
        if (a < b) run(i, a - first[i], b - first[i]);
      }
    });
  }
  /// Every layer's product (g[i] for layer i) in one parallel region, act_0 = FirstAct.
  template <class FirstAct, std::size_t N, class Args>
  static void run_all(const std::array<matrix_view, N>& ys, const std::array<Args, N>& g) noexcept {
    over_panels(ys, [&](std::size_t i, std::ptrdiff_t lo, std::ptrdiff_t hi) {
      if (i == 0) {
        linear::run_panels<FirstAct>(g[i], lo, hi);
      } else {
        linear::run_panels<void>(g[i], lo, hi);
      }
    });
  }

 public:
  /// ys[i][:, :c_i] = act_i(x·W_i[:k, :c_i] + b_i) with c_i = ys[i].cols() and k = x.cols();
  /// act_0 = @p FirstAct (void: none), the others none. Shapes are the caller's to check.
  template <class FirstAct = void, std::size_t N>
  static void forward(const_matrix_view x, const std::array<const linear*, N>& layers,
                      const std::array<matrix_view, N>& ys) noexcept {
    const weight_type type = layers[0]->type_;
    bool same_type = true, same_in = true;  // bf16, int8, int4: x is converted once for all of them
    for (const linear* l : layers) {
      same_type = same_type && l->type_ == type;
      same_in = same_in && l->in_ == layers[0]->in_;
    }
    const bool same = same_type && same_in;
    if (same && type == weight_type::bf16) {
      const linear::bf16_rows a = layers[0]->to_bf16(x, x.cols());
      std::array<kernels::gemm_bf16_args, N> g;
      for (std::size_t i = 0; i < N; ++i) g[i] = layers[i]->bf16_args(a, ys[i], ys[i].cols());
      run_all<FirstAct>(ys, g);
    } else if (same && type == weight_type::int8) {
      const linear::int8_rows q = layers[0]->quantize(x, x.cols());
      std::array<kernels::gemm_int8_args, N> g;
      for (std::size_t i = 0; i < N; ++i) g[i] = layers[i]->int8_args(q, ys[i], ys[i].cols());
      run_all<FirstAct>(ys, g);
    } else if (same && type == weight_type::int4) {
      const linear::int4_rows q = layers[0]->quantize_int4(x, x.cols());
      std::array<kernels::gemm_int4_args, N> g;
      for (std::size_t i = 0; i < N; ++i) g[i] = layers[i]->int4_args(q, ys[i], ys[i].cols());
      run_all<FirstAct>(ys, g);
    } else if (linear::packed && same_type && type == weight_type::f32) {
      std::array<kernels::gemm_args, N> g;
      for (std::size_t i = 0; i < N; ++i) g[i] = layers[i]->args(x, ys[i], ys[i].cols(), x.cols());
      run_all<FirstAct>(ys, g);
    } else {
      for (std::size_t i = 0; i < N; ++i) {
        if (i == 0) {
          layers[i]->template forward<FirstAct>(x, ys[i], ys[i].cols(), x.cols());
        } else {
          layers[i]->forward(x, ys[i], ys[i].cols(), x.cols());
        }
      }
    }
  }
};

}  // namespace eigenformer::ops
