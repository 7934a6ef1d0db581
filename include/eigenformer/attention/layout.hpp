#pragma once
/// @file
/// Attention layouts: which keys each query may see. A layout answers two questions, both on
/// positions within one sequence (query position i, key position j, 0-based):
///  - `allowed(i, j)`: may query i attend to key j?
///  - `classify(q0, q1, k0, k1)`: for the tile of queries [q0, q1) and keys [k0, k1), is every
///    pair allowed (`tile::full`), none (`tile::skip`: the tiled kernel never computes it), or
///    some (`tile::partial`: computed, then masked with `allowed`)?
/// and one hint, `key_range(q0, q1, keys)`: the keys [lo, hi) outside which no query of the tile
/// has anything to see, so the kernel's loop visits only those tiles (a sliding window costs
/// O(n·w), not O(n²)).

#include <eigenformer/core/error.hpp>
#include <eigenformer/core/tensor.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace eigenformer::attention {

/// How a tile of the score matrix relates to a layout.
enum class tile : std::uint8_t { skip, partial, full };

/// Half-open key range.
struct key_span {
  index_t lo = 0, hi = 0;
};

/// Every query sees every key (BERT-style bidirectional attention).
struct dense_layout {
  static constexpr bool is_causal = false;
  bool allowed(index_t, index_t) const noexcept { return true; }
  tile classify(index_t, index_t, index_t, index_t) const noexcept { return tile::full; }
  key_span key_range(index_t, index_t, index_t keys) const noexcept { return {0, keys}; }
};

/// Query i sees keys j ≤ i (GPT-style).
struct causal_layout {
  static constexpr bool is_causal = true;
  bool allowed(index_t i, index_t j) const noexcept { return j <= i; }
  /// The keys query i sees form one run: [lo, hi) (before clipping to the keys present).
  key_span row_keys(index_t i) const noexcept { return {0, i + 1}; }
  tile classify(index_t q0, index_t q1, index_t k0, index_t k1) const noexcept {
    if (k0 > q1 - 1) return tile::skip;
    return k1 - 1 <= q0 ? tile::full : tile::partial;
  }
  key_span key_range(index_t, index_t q1, index_t keys) const noexcept {
    return {0, std::min(q1, keys)};
  }
};

/// Sliding window of width w. Causal: query i sees the w keys i − w < j ≤ i (Mistral, Longformer's
/// local attention in decoders). Symmetric: query i sees |i − j| ≤ w (w keys on each side).
struct sliding_window_layout {
  index_t window = 0;
  bool causal = true;

  /// Throws config_error unless w ≥ 1.
  explicit sliding_window_layout(index_t w, bool is_causal = true) : window(w), causal(is_causal) {
    if (w < 1)
      throw_error<config_error>("attention.sliding_window", "window", "an integer >= 1",
                                std::to_string(w));
  }
  bool allowed(index_t i, index_t j) const noexcept {
    return causal ? (j <= i && j > i - window) : (j - i <= window && i - j <= window);
  }
  /// The keys query i sees form one run: [lo, hi) (before clipping to the keys present).
  key_span row_keys(index_t i) const noexcept {
    return causal ? key_span{i - window + 1, i + 1} : key_span{i - window, i + window + 1};
  }
  tile classify(index_t q0, index_t q1, index_t k0, index_t k1) const noexcept {
    if (causal) {
      if (k0 > q1 - 1 || k1 - 1 <= q0 - window) return tile::skip;
      return (k1 - 1 <= q0 && k0 > q1 - 1 - window) ? tile::full : tile::partial;
    }
    if (k0 > q1 - 1 + window || k1 - 1 < q0 - window) return tile::skip;
    return std::max(q1 - 1 - k0, k1 - 1 - q0) <= window ? tile::full : tile::partial;
  }
  key_span key_range(index_t q0, index_t q1, index_t keys) const noexcept {
    const index_t lo = std::max<index_t>(0, q0 - window + (causal ? 1 : 0));
    const index_t hi = causal ? q1 : q1 + window;
    return {std::min(lo, keys), std::min(hi, keys)};
  }
};

/// Sliding window plus global tokens (Longformer / BigBird): a global token sees every key and
/// is seen by every query; the rest see their window. With `causal`, j ≤ i holds on top (global
/// keys become "attention sinks" every later query sees). Global positions are sorted, unique.
struct window_global_layout {
  sliding_window_layout local;
  std::vector<index_t> globals;

  /// Throws config_error for w < 1 or negative global positions.
  window_global_layout(index_t w, std::vector<index_t> global_positions, bool causal = false)
      : local(w, causal), globals(std::move(global_positions)) {
    std::sort(globals.begin(), globals.end());
    globals.erase(std::unique(globals.begin(), globals.end()), globals.end());
    if (!globals.empty() && globals.front() < 0)
      throw_error<config_error>("attention.window_global", "global token position",
                                "a position >= 0", std::to_string(globals.front()));
  }
  bool is_global(index_t p) const noexcept {
    return std::binary_search(globals.begin(), globals.end(), p);
  }
  bool any_global(index_t lo, index_t hi) const noexcept {
    auto it = std::lower_bound(globals.begin(), globals.end(), lo);
    return it != globals.end() && *it < hi;
  }
  bool allowed(index_t i, index_t j) const noexcept {
    if (local.causal && j > i) return false;
    return local.allowed(i, j) || is_global(i) || is_global(j);
  }
  tile classify(index_t q0, index_t q1, index_t k0, index_t k1) const noexcept {
    const tile t = local.classify(q0, q1, k0, k1);
    if (t == tile::full) return t;
    if (local.causal && k0 > q1 - 1) return tile::skip;
    if (any_global(q0, q1) || any_global(k0, k1)) return tile::partial;
    return t;
  }
  key_span key_range(index_t q0, index_t q1, index_t keys) const noexcept {
    if (any_global(q0, q1) || !globals.empty()) return {0, local.causal ? std::min(q1, keys) : keys};
    return local.key_range(q0, q1, keys);
  }
};

/// Dilated sliding window: query i sees keys at distances 0, r, 2r, ..., (w − 1)·r before it
/// (causal), or at distances |i − j| = 0, r, ..., w·r on both sides (symmetric). r = 1 is the
/// sliding window.
struct dilated_layout {
  index_t window = 0;
  index_t dilation = 1;
  bool causal = true;

  /// Throws config_error unless w ≥ 1 and r ≥ 1.
  dilated_layout(index_t w, index_t r, bool is_causal = true)
      : window(w), dilation(r), causal(is_causal) {
    if (w < 1)
      throw_error<config_error>("attention.dilated", "window", "an integer >= 1", std::to_string(w));
    if (r < 1)
      throw_error<config_error>("attention.dilated", "dilation", "an integer >= 1",
                                std::to_string(r));
  }
  bool allowed(index_t i, index_t j) const noexcept {
    const index_t d = i - j;
    if (causal) return d >= 0 && d % dilation == 0 && d / dilation < window;
    const index_t a = d < 0 ? -d : d;
    return a % dilation == 0 && a / dilation <= window;
  }
  index_t reach() const noexcept { return causal ? (window - 1) * dilation : window * dilation; }
  tile classify(index_t q0, index_t q1, index_t k0, index_t k1) const noexcept {
    const index_t r = reach();
    if (k0 > q1 - 1 + (causal ? 0 : r) || k1 - 1 < q0 - r) return tile::skip;
    if (dilation == 1) {
      const bool full = causal ? (k1 - 1 <= q0 && k0 >= q1 - 1 - r)
                               : std::max(q1 - 1 - k0, k1 - 1 - q0) <= r;
      return full ? tile::full : tile::partial;
    }
    return (q1 - q0 == 1 && k1 - k0 == 1 && allowed(q0, k0)) ? tile::full : tile::partial;
  }
  key_span key_range(index_t q0, index_t q1, index_t keys) const noexcept {
    const index_t r = reach();
    const index_t lo = std::max<index_t>(0, q0 - r);
    const index_t hi = causal ? q1 : q1 + r;
    return {std::min(lo, keys), std::min(hi, keys)};
  }
};

/// Block-sparse layout: positions are grouped into blocks of `block` tokens and
/// `mask[qb * key_blocks + kb]` says whether query block qb sees key block kb; with `causal`,
/// j ≤ i holds on top. Blocks beyond the mask's extent are not seen.
struct block_sparse_layout {
  index_t block = 0;
  index_t query_blocks = 0, key_blocks = 0;
  std::vector<std::uint8_t> mask;  ///< [query_blocks, key_blocks], row-major, nonzero = visible
  bool causal = false;

  /// Throws config_error unless block ≥ 1 and the mask has query_blocks × key_blocks entries.
  block_sparse_layout(index_t block_size, index_t q_blocks, index_t k_blocks,
                      std::vector<std::uint8_t> block_mask, bool is_causal = false)
      : block(block_size), query_blocks(q_blocks), key_blocks(k_blocks),
        mask(std::move(block_mask)), causal(is_causal) {
    if (block < 1)
      throw_error<config_error>("attention.block_sparse", "block size", "an integer >= 1",
                                std::to_string(block));
    if (q_blocks < 0 || k_blocks < 0 || index_t(mask.size()) != q_blocks * k_blocks)
      throw_error<config_error>("attention.block_sparse", "block mask",
                                std::to_string(q_blocks) + " x " + std::to_string(k_blocks) + " entries",
                                std::to_string(mask.size()) + " entries");
  }
  bool block_visible(index_t qb, index_t kb) const noexcept {
    return qb < query_blocks && kb < key_blocks && mask[std::size_t(qb * key_blocks + kb)] != 0;
  }
  bool allowed(index_t i, index_t j) const noexcept {
    if (causal && j > i) return false;
    return block_visible(i / block, j / block);
  }
  tile classify(index_t q0, index_t q1, index_t k0, index_t k1) const noexcept {
    if (causal && k0 > q1 - 1) return tile::skip;
    bool any = false, all = true;
    for (index_t qb = q0 / block; qb <= (q1 - 1) / block; ++qb)
      for (index_t kb = k0 / block; kb <= (k1 - 1) / block; ++kb) {
        const bool v = block_visible(qb, kb);
        any = any || v;
        all = all && v;
      }
    if (!any) return tile::skip;
    if (causal && k1 - 1 > q0) return tile::partial;
    return all ? tile::full : tile::partial;
  }
  key_span key_range(index_t, index_t q1, index_t keys) const noexcept {
    return {0, causal ? std::min(q1, keys) : keys};
  }
};

}  // namespace eigenformer::attention
