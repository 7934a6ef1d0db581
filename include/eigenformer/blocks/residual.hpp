#pragma once
/// @file
/// What encoder and decoder blocks share: the residual wiring of an attention sub-layer and a
/// feed-forward sub-layer with their norms, pre- or post-norm, and the check that the parts agree
/// on d_model.

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/shape.hpp>
#include <eigenformer/core/tensor.hpp>
#include <eigenformer/ops/norm.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

namespace eigenformer::blocks {

/// h = x + attn(norm1(x)); out = h + ffn(norm2(h)).
struct pre_norm {};
/// h = norm1(x + attn(x)); out = norm2(h + ffn(h)).
struct post_norm {};
/// Sub-LN (Wang et al., 2022, "Foundation Transformers"): pre-norm wiring, plus a norm inside
/// each sub-layer, before the attention output projection and before the FFN down projection.
/// Blocks with this placement take the two inner norms at construction.
struct sub_ln {};

template <class P>
inline constexpr bool is_pre_norm_wiring = std::is_same_v<P, pre_norm> || std::is_same_v<P, sub_ln>;

namespace detail {

/// Throws shape_error naming the first part whose width is not d_model.
inline void check_parts(const char* where, index_t d, index_t ffn_d, index_t norm1_d, index_t norm2_d) {
  auto check = [&](const char* what, index_t got) {
    if (got != d) throw_error<shape_error>(where, what, "d_model " + std::to_string(d), std::to_string(got));
  };
  check("ffn d_model", ffn_d);
  check("norm1 width", norm1_d);
  check("norm2 width", norm2_d);
}

/// The checks a block runs before a whole-sequence call: x and out [tokens, d], offsets of a
/// packed batch of x's rows, a key mask of one flag per token (or none). Per-layer limits (the
/// attention's sequence limits, the FFN width) are the block's check_limits.
inline void check_block_io(const char* where, const_matrix_view x, offsets_view offsets, const matrix_view& out,
                           index_t d, std::span<const std::uint8_t> key_valid = {}) {
  check_io(where, x, out, d, d);
  validate_offsets(offsets, x.rows(), where);
  if (!key_valid.empty() && index_t(key_valid.size()) != x.rows())
    throw_error<shape_error>(where, "key_valid mask", format_shape({x.rows()}) + " (one flag per token)",
                             format_shape({index_t(key_valid.size())}));
}

/// Scratch of one block: three [tokens, d_model] buffers, grown once per shape.
struct block_scratch {
  scratch_matrix a, h, f;
  void use(workspace& ws) noexcept {
    a.share(ws.block[0]);
    h.share(ws.block[1]);
    f.share(ws.block[2]);
  }
};

/// Hands @p ws to a part that can use it (attention, dense and gated FFNs; MoE keeps its own).
template <class Part>
inline void share_workspace(Part& part, workspace& ws) noexcept {
  if constexpr (requires { part.use_workspace(ws); }) part.use_workspace(ws);
}

/// Installs Sub-LN inner norms into an attention layer and an FFN.
template <class Attention, class Ffn, class Norm>
inline void install_sub_norms(const char* where, Attention& attn, Ffn& ffn, Norm attn_inner, Norm ffn_inner) {
  attn.set_sub_norm(ops::inner_norm(std::move(attn_inner)));
  if constexpr (requires { ffn.set_sub_norm(ops::inner_norm{}); }) {
    ffn.set_sub_norm(ops::inner_norm(std::move(ffn_inner)));
  } else {
    (void)ffn_inner;
    throw_error<config_error>(where, "placement", "an FFN with a sub-norm (dense or gated) for sub_ln",
                              "an FFN without one (e.g. MoE)");
  }
}

/// Runs attention and FFN sub-layers with residuals and norms. attend(in, out) is the attention
/// sub-layer (out must not alias in). x may equal out.
template <class Placement, class Norm, class Ffn, class Attend>
inline void residual_block(const_matrix_view x, matrix_view out, const Norm& norm1, const Norm& norm2, Ffn& ffn,
                           index_t ffn_width, block_scratch& s, Attend&& attend) {
  const index_t t = x.rows(), d = x.cols();
  matrix_view a = s.a.get(t, d), h = s.h.get(t, d), f = s.f.get(t, d);
  if constexpr (is_pre_norm_wiring<Placement>) {
    norm1.forward(x, a);
    attend(as_const(a), h);  // h = attn(norm1(x))
    h += x;
    norm2.forward(as_const(h), a);
    ffn.forward(as_const(a), f, ffn_width);
    out = h + f;
  } else {
    static_assert(std::is_same_v<Placement, post_norm>, "Placement is pre_norm, post_norm or sub_ln");
    attend(x, a);
    a += x;
    norm1.forward(as_const(a), h);  // h = norm1(x + attn(x))
    ffn.forward(as_const(h), f, ffn_width);
    f += h;
    norm2.forward(as_const(f), out);
  }
}

/// Three sub-layers (decoder with cross-attention): self-attention, cross-attention, FFN, each
/// with its norm and residual, pre- or post-norm. (Sub-LN is refused by decoder_block at compile
/// time for this wiring: it would need an inner norm in the cross-attention as well.)
template <class Placement, class Norm, class Ffn, class AttendSelf, class AttendCross>
inline void residual_block3(const_matrix_view x, matrix_view out, const Norm& norm1, const Norm& norm2,
                            const Norm& norm3, Ffn& ffn, index_t ffn_width, block_scratch& s, AttendSelf&& self,
                            AttendCross&& cross) {
  const index_t t = x.rows(), d = x.cols();
  matrix_view a = s.a.get(t, d), h = s.h.get(t, d), f = s.f.get(t, d);
  if constexpr (is_pre_norm_wiring<Placement>) {
    norm1.forward(x, a);
    self(as_const(a), h);
    h += x;  // h = x + self(norm1(x))
    norm2.forward(as_const(h), a);
    cross(as_const(a), f);
    h += f;  // h += cross(norm2(h))
    norm3.forward(as_const(h), a);
    ffn.forward(as_const(a), f, ffn_width);
    out = h + f;
  } else {
    static_assert(std::is_same_v<Placement, post_norm>, "Placement is pre_norm, post_norm or sub_ln");
    self(x, a);
    a += x;
    norm1.forward(as_const(a), h);  // h = norm1(x + self(x))
    cross(as_const(h), f);
    f += h;
    norm2.forward(as_const(f), a);  // a = norm2(h + cross(h))
    ffn.forward(as_const(a), f, ffn_width);
    f += a;
    norm3.forward(as_const(f), out);
  }
}

}  // namespace detail
}  // namespace eigenformer::blocks
