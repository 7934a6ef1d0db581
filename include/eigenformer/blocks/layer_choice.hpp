#pragma once
/// @file
/// Per-layer heterogeneous stacks: `layer_choice<BlockA, BlockB, ...>` holds one of several block
/// types and offers the block interface, so `models::encoder<layer_choice<local, global>, Norm>`
/// mixes sliding-window layers with a global layer every third (ModernBERT), or a decoder mixes
/// linear-attention layers with softmax ones. The choice is made when the stack is built; each
/// call visits the layer's type once and then runs that block's code, with no branch inside
/// any layer's loops (one indirect jump per layer per call).

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>
#include <variant>

namespace eigenformer::blocks {

namespace detail {
template <class B>
struct cache_of {
  using type = std::monostate;
};
template <class B>
  requires requires { typename B::cache_type; }
struct cache_of<B> {
  using type = typename B::cache_type;
};
}  // namespace detail

template <class... Blocks>
class layer_choice {
 public:
  /// One decode cache per layer: the cache type of whichever block the layer holds.
  using cache_type = std::variant<typename detail::cache_of<Blocks>::type...>;

  template <class B>
    requires(std::is_same_v<std::decay_t<B>, Blocks> || ...)
  layer_choice(B&& block) : v_(std::forward<B>(block)) {}  // NOLINT: implicit on purpose

  /// Which of Blocks... this layer is.
  std::size_t index() const noexcept { return v_.index(); }
  template <class B>
  B* get_if() noexcept {
    return std::get_if<B>(&v_);
  }

  index_t d_model() const noexcept {
    return std::visit([](const auto& b) { return b.d_model(); }, v_);
  }
  void use_workspace(workspace& ws) noexcept {
    std::visit([&](auto& b) { b.use_workspace(ws); }, v_);
  }
  template <class... A>
  void check(const A&... a) const {
    std::visit([&](const auto& b) { b.check(a...); }, v_);
  }
  template <class... A>
  void forward(A&&... a) {
    std::visit([&](auto& b) { b.forward(std::forward<A>(a)...); }, v_);
  }
  template <class... A>
  void run(A&&... a) {
    std::visit([&](auto& b) { b.run(std::forward<A>(a)...); }, v_);
  }
  void check_limits(index_t longest, index_t ffn_width) const {
    std::visit([&](const auto& b) { b.check_limits(longest, ffn_width); }, v_);
  }

  // ----- decoding (blocks with caches)
  cache_type make_cache(index_t batch, index_t max_positions = 0) const {
    return std::visit(
        [&](const auto& b) -> cache_type {
          return cache_type(std::in_place_index<index_of<std::decay_t<decltype(b)>>()>, b.make_cache(batch, max_positions));
        },
        v_);
  }
  /// True when @p cache was made by this layer (same block type).
  bool matches(const cache_type& cache) const noexcept { return cache.index() == v_.index(); }
  /// Prefill / decode with this layer's cache. The stack checks matches() first; a mismatched
  /// cache does nothing here.
  template <class... A>
  void prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache, A&&... rest) {
    with_cache(cache, [&](auto& b, auto& c) { b.prefill(x, offsets, out, c, std::forward<A>(rest)...); });
  }
  template <class... A>
  void decode(const_matrix_view x, matrix_view out, cache_type& cache, A&&... rest) {
    with_cache(cache, [&](auto& b, auto& c) { b.decode(x, out, c, std::forward<A>(rest)...); });
  }
  template <class... A>
  void run_prefill(const_matrix_view x, offsets_view offsets, matrix_view out, cache_type& cache, A&&... rest) {
    with_cache(cache, [&](auto& b, auto& c) { b.run_prefill(x, offsets, out, c, std::forward<A>(rest)...); });
  }
  template <class... A>
  void run_decode(const_matrix_view x, matrix_view out, cache_type& cache, A&&... rest) {
    with_cache(cache, [&](auto& b, auto& c) { b.run_decode(x, out, c, std::forward<A>(rest)...); });
  }
  void check_cache(const cache_type& cache, offsets_view offsets) const {
    with_cache(cache, [&](const auto& b, const auto& c) { b.check_cache(c, offsets); });
  }
  void check_step(const_matrix_view x, const matrix_view& out, const cache_type& cache) const {
    with_cache(cache, [&](const auto& b, const auto& c) { b.check_step(x, out, c); });
  }

 private:
  template <class B>
  static constexpr std::size_t index_of() noexcept {
    std::size_t i = 0, found = 0;
    ((std::is_same_v<B, Blocks> ? (found = i, ++i) : ++i), ...);
    return found;
  }
  template <class Fn>
  void with_cache(cache_type& cache, Fn&& fn) {
    visit_matching(v_, cache, fn);
  }
  template <class Fn>
  void with_cache(const cache_type& cache, Fn&& fn) const {
    visit_matching(v_, cache, fn);
  }
  /// fn(block, cache) when the cache is of the block's type (the stack checked matches()).
  template <class V, class C, class Fn>
  static void visit_matching(V& v, C& cache, Fn& fn) {
    std::visit(
        [&](auto& b, auto& c) {
          using B = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<std::decay_t<decltype(c)>, typename detail::cache_of<B>::type> &&
                        !std::is_same_v<std::decay_t<decltype(c)>, std::monostate>)
            fn(b, c);
        },
        v, cache);
  }

  std::variant<Blocks...> v_;
};

}  // namespace eigenformer::blocks
