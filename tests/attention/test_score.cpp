// The tiled score-based kernel (every normaliser × every layout) against the naive double reference.
#include <eigenformer/attention/score.hpp>

#include "../support/check.hpp"
#include "reference.hpp"

namespace ea = eigenformer::attention;
namespace ef = eigenformer;
using namespace eftest;

namespace {

// fp32 against double: each score carries ~d·eps relative error from its dot product (d ≤ 64:
// 64 · 6e-8 ≈ 4e-6 of |score| ≤ ~10), which exp turns into that much relative error in each
// weight; the weighted sum adds m·eps. 2e-5 of the magnitude |P|·|V| each output is built from
// covers both with a 2-4x margin, plus 1e-6 absolute for outputs that cancel to ~0.
constexpr double head_rel_tol = 2e-5, head_abs_tol = 1e-6;

struct problem {
  ef::matrix q, k, v, out;
};
problem random_problem(ef::index_t n, ef::index_t m, ef::index_t d, unsigned seed) {
  std::srand(seed);
  problem p{ef::matrix::Random(n, d), ef::matrix::Random(m, d), ef::matrix::Random(m, d), ef::matrix::Zero(n, d)};
  p.q *= 2.0f;  // scores of a few units: exercises the exp range
  return p;
}

template <class Normalizer, class Layout>
void check_variant(const std::string& label, const Normalizer& norm, const Layout& layout, ref_options ro,
                   ef::index_t n, ef::index_t d, float alibi, bool padding, ea::tile_sizes tiles) {
  problem pr = random_problem(n, n, d, unsigned(n * 31 + d));
  std::vector<std::uint8_t> valid(std::size_t(n), 1);
  if (padding)
    for (ef::index_t j = 0; j < n; j += 3) valid[std::size_t(j)] = 0;
  const float scale = 1.0f / std::sqrt(float(d));
  ea::head_problem p{ef::view(static_cast<const ef::matrix&>(pr.q)), ef::view(static_cast<const ef::matrix&>(pr.k)),
                     ef::view(static_cast<const ef::matrix&>(pr.v)), ef::view(pr.out), 0, scale,
                     padding ? valid.data() : nullptr};
  ro.scale = scale;
  ro.alibi_slope = alibi;
  ro.allowed = [&layout](long i, long j) { return layout.allowed(i, j); };
  ro.key_valid = padding ? valid.data() : nullptr;
  dmatrix mag;
  const dmatrix want = naive_attention(to_double(p.q), to_double(p.k), to_double(p.v), ro, &mag);
  std::vector<double> w(want.data(), want.data() + want.size());
  // Without room for packed keys the tiles use Eigen's product; with it (AVX-512 builds, key
  // tiles a multiple of 64) they use the matmul micro-kernel on keys packed on first use.
  // Builds without the micro-kernel run the Eigen pass only (a second pass would repeat it).
  for (const bool packed : {false, true}) {
    if (packed && !ef::kernels::simd::has_gemm) continue;
    pr.out.setConstant(std::numeric_limits<float>::quiet_NaN());
    ea::score_scratch ws;
    ws.reserve(tiles.query, tiles.key, d, d);
    if (packed) ws.reserve_panels(n, d, d);
    if (alibi != 0.0f)  // ALiBi through the score-modifier hook, head 0's slope
      ea::score_attention_head(p, norm, layout, ea::alibi_bias({alibi}), tiles, ws);
    else
      ea::score_attention_head(p, norm, layout, tiles, ws);
    std::vector<float> got(pr.out.data(), pr.out.data() + pr.out.size());
    const std::string full = label + " n=" + std::to_string(n) + " d=" + std::to_string(d) +
                             (alibi != 0 ? " alibi" : "") + (padding ? " padded" : "") + " tiles " +
                             std::to_string(tiles.query) + "x" + std::to_string(tiles.key) +
                             (packed ? " packed keys" : "");
    require_close(full, got, w, [&](std::size_t i) { return head_rel_tol * mag.data()[i] + head_abs_tol; });
  }
}

template <class Normalizer>
void all_layouts(const std::string& name, const Normalizer& norm, ref_options ro) {
  for (ef::index_t n : {1, 7, 64, 129}) {
    for (ea::tile_sizes tiles : {ea::tile_sizes{16, 32}, ea::tile_sizes{32, 64}, ea::tile_sizes{}}) {
      for (float alibi : {0.0f, 0.125f}) {
        for (bool padding : {false, true}) {
          const ef::index_t d = n == 129 ? 32 : 64;
          check_variant(name + " dense", norm, ea::dense_layout{}, ro, n, d, alibi, padding, tiles);
          check_variant(name + " causal", norm, ea::causal_layout{}, ro, n, d, alibi, padding, tiles);
          check_variant(name + " window causal w=5", norm, ea::sliding_window_layout(5, true), ro, n, d, alibi, padding, tiles);
          check_variant(name + " window symmetric w=9", norm, ea::sliding_window_layout(9, false), ro, n, d, alibi, padding, tiles);
          check_variant(name + " window+global", norm, ea::window_global_layout(4, {0, 3, 50, 100}, false), ro, n, d,
                        alibi, padding, tiles);
          check_variant(name + " window+global causal", norm, ea::window_global_layout(4, {0, 60}, true), ro, n, d,
                        alibi, padding, tiles);
          check_variant(name + " dilated causal", norm, ea::dilated_layout(6, 3, true), ro, n, d, alibi, padding, tiles);
          check_variant(name + " dilated symmetric", norm, ea::dilated_layout(4, 2, false), ro, n, d, alibi, padding, tiles);
          std::vector<std::uint8_t> blocks = {1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1};
          check_variant(name + " block-sparse", norm, ea::block_sparse_layout(40, 4, 4, blocks, false), ro, n, d, alibi,
                        padding, tiles);
          check_variant(name + " block-sparse causal", norm, ea::block_sparse_layout(40, 4, 4, blocks, true), ro, n, d,
                        alibi, padding, tiles);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("score kernel, softmax: every layout against the double reference", "[attention][score]") {
  all_layouts("softmax", ea::softmax_normalizer{}, ref_options{});
}

TEST_CASE("score kernel, sigmoid: every layout against the double reference", "[attention][score]") {
  ref_options ro;
  ro.norm = ref_norm::sigmoid;
  ro.sigmoid_bias = -2.5;
  all_layouts("sigmoid", ea::sigmoid_normalizer{-2.5f}, ro);
}

TEST_CASE("score kernel, clipped softmax: every layout against the double reference", "[attention][score]") {
  ref_options ro;
  ro.norm = ref_norm::clipped;
  ro.gamma = -0.03;
  ro.zeta = 1.03;
  all_layouts("clipped", ea::clipped_softmax_normalizer(-0.03f, 1.03f), ro);
}

TEST_CASE("sigmoid attention's default bias is -log(n)", "[attention][score]") {
  CHECK(ea::sigmoid_normalizer{}.bias_for(100) == Approx(-std::log(100.0)).epsilon(1e-6));
  CHECK(ea::sigmoid_normalizer{1.5f}.bias_for(100) == 1.5f);
  ref_options ro;
  ro.norm = ref_norm::sigmoid;
  ro.sigmoid_bias = -std::log(37.0);
  check_variant("sigmoid default bias", ea::sigmoid_normalizer{}, ea::dense_layout{}, ro, 37, 64, 0.0f, false, {});
}

TEST_CASE("layouts: tile classification agrees with allowed() on every pair", "[attention][layout]") {
  // classify() lets the kernel skip or trust tiles; a wrong answer would silently change results.
  std::vector<std::uint8_t> blocks = {1, 0, 1, 1, 1, 0, 0, 1, 1};
  auto check_layout = [](const std::string& name, const auto& layout) {
    for (ef::index_t q0 = 0; q0 < 40; q0 += 3)
      for (ef::index_t k0 = 0; k0 < 40; k0 += 5)
        for (ef::index_t bq : {1, 4, 7})
          for (ef::index_t bk : {1, 5, 8}) {
            bool any = false, all = true;
            for (ef::index_t i = q0; i < q0 + bq; ++i)
              for (ef::index_t j = k0; j < k0 + bk; ++j) {
                any = any || layout.allowed(i, j);
                all = all && layout.allowed(i, j);
              }
            const ea::tile t = layout.classify(q0, q0 + bq, k0, k0 + bk);
            INFO(name << " tile q[" << q0 << "," << q0 + bq << ") k[" << k0 << "," << k0 + bk << ")");
            if (t == ea::tile::skip) CHECK_FALSE(any);
            if (t == ea::tile::full) CHECK(all);
            // key_range must contain every allowed key of the tile's queries
            const ea::key_span span = layout.key_range(q0, q0 + bq, 1000);
            for (ef::index_t i = q0; i < q0 + bq; ++i)
              for (ef::index_t j = 0; j < 60; ++j)
                if (layout.allowed(i, j)) CHECK((j >= span.lo && j < span.hi));
          }
    // row_keys (where a layout has it, the kernel masks partial tiles by it): exactly the
    // allowed keys of each query, as one run.
    if constexpr (requires { layout.row_keys(ef::index_t{}); }) {
      for (ef::index_t i = 0; i < 50; ++i) {
        const ea::key_span run = layout.row_keys(i);
        for (ef::index_t j = 0; j < 70; ++j) {
          INFO(name << " row_keys of query " << i << " at key " << j);
          CHECK(layout.allowed(i, j) == (j >= run.lo && j < run.hi));
        }
      }
    }
  };
  check_layout("dense", ea::dense_layout{});
  check_layout("causal", ea::causal_layout{});
  check_layout("window causal", ea::sliding_window_layout(6, true));
  check_layout("window symmetric", ea::sliding_window_layout(6, false));
  check_layout("window+global", ea::window_global_layout(3, {2, 17, 33}, false));
  check_layout("window+global causal", ea::window_global_layout(3, {2, 17, 33}, true));
  check_layout("dilated causal", ea::dilated_layout(4, 3, true));
  check_layout("dilated symmetric", ea::dilated_layout(4, 3, false));
  check_layout("dilated r=1", ea::dilated_layout(5, 1, true));
  check_layout("block-sparse", ea::block_sparse_layout(16, 3, 3, blocks, false));
  check_layout("block-sparse causal", ea::block_sparse_layout(16, 3, 3, blocks, true));
}

TEST_CASE("layouts and normalisers reject bad parameters", "[attention][layout]") {
  CHECK_THROWS_WITH(ea::sliding_window_layout(0), "[eigenformer.attention.sliding_window] window: expected an integer >= 1, got 0");
  CHECK_THROWS_AS(ea::sliding_window_layout(-4, false), ef::config_error);
  CHECK_THROWS_AS(ea::dilated_layout(3, 0), ef::config_error);
  CHECK_THROWS_AS(ea::window_global_layout(3, {-1, 4}), ef::config_error);
  CHECK_THROWS_WITH(ea::block_sparse_layout(16, 2, 2, {1, 0, 1}),
                    "[eigenformer.attention.block_sparse] block mask: expected 2 x 2 entries, got 3 entries");
  CHECK_THROWS_AS(ea::clipped_softmax_normalizer(0.1f, 1.0f), ef::config_error);
  CHECK_THROWS_AS(ea::clipped_softmax_normalizer(-0.1f, 0.9f), ef::config_error);
  CHECK_THROWS_AS(ea::softmax_attention(ea::dense_layout{}, {}, ea::tile_sizes{0, 64}), ef::config_error);
}
