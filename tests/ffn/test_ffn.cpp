// Dense and gated FFNs, MatFormer widths, LayerNorm/RMSNorm ops against double references, and
// the encoder block's bad-input errors.
#include <eigenformer/blocks/encoder_block.hpp>
#include <eigenformer/attention/score.hpp>
#include <eigenformer/ffn/ffn.hpp>
#include <eigenformer/ops/norm.hpp>

#include "../support/check.hpp"

namespace ef = eigenformer;
using namespace eftest;

namespace {

using dmat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

double act(const std::string& name, double x) {
  if (name == "relu") return std::max(x, 0.0);
  if (name == "silu") return x / (1.0 + std::exp(-x));
  if (name == "gelu") return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  return x;  // identity
}

dmat apply_act(dmat m, const std::string& name) {
  return m.unaryExpr([&](double v) { return act(name, v); });
}

dmat with_bias(dmat m, const ef::vector& b, ef::index_t cols) {
  if (b.size()) m.rowwise() += b.head(cols).cast<double>().transpose();
  return m;
}

// |A|·|B| style magnitude for a tolerance relative to what each output is summed from.
void compare(const std::string& label, const ef::matrix& got, const dmat& want, const dmat& mag) {
  std::vector<float> g(got.data(), got.data() + got.size());
  std::vector<double> w(want.data(), want.data() + want.size());
  // fp32 products of length ≤ 128 against double: ~k·eps relative to the magnitude; 2e-5 covers it.
  require_close(label, g, w, [&](std::size_t i) { return 2e-5 * mag.data()[i] + 1e-6; });
}

}  // namespace

TEST_CASE("dense FFN against a double reference, full and MatFormer widths", "[ffn]") {
  std::srand(1);
  auto ffn = ef::ffn::dense_ffn<ef::ops::gelu_erf>::random(48, 128);
  const ef::matrix x = ef::matrix::Random(9, 48);
  for (ef::index_t width : {0, 128, 64, 1}) {
    const ef::index_t m = width == 0 ? 128 : width;
    ef::matrix out(9, 48);
    ffn.forward(ef::view(x), ef::view(out), width);
    const dmat xd = x.cast<double>();
    const dmat h = apply_act(with_bias(xd * ffn.up().weight().leftCols(m).cast<double>(), ffn.up().bias(), m), "gelu");
    const dmat want = with_bias(h * ffn.down().weight().topRows(m).cast<double>(), ffn.down().bias(), 48);
    const dmat mag = h.cwiseAbs() * ffn.down().weight().topRows(m).cast<double>().cwiseAbs();
    compare("dense ffn width " + std::to_string(width), out, want, mag);
  }
}

TEST_CASE("gated FFNs (SwiGLU, GeGLU, ReGLU, bilinear) against a double reference", "[ffn]") {
  auto check = [](auto ffn_type, const std::string& name, bool bias) {
    using ffn_t = decltype(ffn_type);
    std::srand(2);
    const ef::ops::linear gate = ef::ops::linear::random(40, 96, bias), up = ef::ops::linear::random(40, 96, bias),
                          down = ef::ops::linear::random(96, 40, bias);
    ffn_t ffn(gate, up, down);
    const ef::matrix x = ef::matrix::Random(7, 40);
    for (ef::index_t width : {0, 32}) {
      const ef::index_t m = width == 0 ? 96 : width;
      ef::matrix out(7, 40);
      ffn.forward(ef::view(x), ef::view(out), width);
      const dmat xd = x.cast<double>();
      const dmat g = apply_act(with_bias(xd * gate.weight().leftCols(m).cast<double>(), gate.bias(), m), name);
      const dmat u = with_bias(xd * up.weight().leftCols(m).cast<double>(), up.bias(), m);
      const dmat h = g.cwiseProduct(u);
      const dmat want = with_bias(h * down.weight().topRows(m).cast<double>(), down.bias(), 40);
      compare(name + " width " + std::to_string(width), out, want, h.cwiseAbs() * down.weight().topRows(m).cast<double>().cwiseAbs());
    }
  };
  check(ef::ffn::swiglu{}, "silu", false);
  check(ef::ffn::geglu{}, "gelu", true);
  check(ef::ffn::reglu{}, "relu", false);
  check(ef::ffn::bilinear_glu{}, "identity", true);
}

TEST_CASE("LayerNorm and RMSNorm ops against double formulas", "[ffn][norm]") {
  std::srand(3);
  const ef::matrix x = ef::matrix::Random(5, 64).array() + 3.0f;
  const ef::vector g = ef::vector::Random(64), b = ef::vector::Random(64);
  ef::matrix y(5, 64);
  ef::ops::layer_norm ln(g, b, 1e-5f);
  ln.forward(ef::view(x), ef::view(y));
  ef::ops::rms_norm rn(g, 1e-6f);
  ef::matrix z(5, 64);
  rn.forward(ef::view(x), ef::view(z));
  for (ef::index_t r = 0; r < 5; ++r) {
    const Eigen::RowVectorXd xr = x.row(r).cast<double>();
    const double mean = xr.mean(), var = (xr.array() - mean).square().mean();
    const double ms = xr.squaredNorm() / 64.0;
    for (ef::index_t c = 0; c < 64; ++c) {
      const double want_ln = (xr(c) - mean) / std::sqrt(var + 1e-5) * g(c) + b(c);
      const double want_rn = xr(c) / std::sqrt(ms + 1e-6) * g(c);
      CHECK(std::abs(y(r, c) - want_ln) <= 1e-5 * (1.0 + std::abs(want_ln)));
      CHECK(std::abs(z(r, c) - want_rn) <= 1e-6 * (1.0 + std::abs(want_rn)));
    }
  }
}

TEST_CASE("FFN, norm and block inputs are validated", "[ffn][errors]") {
  CHECK_THROWS_WITH(ef::ffn::dense_ffn<ef::ops::relu>(ef::ops::linear::random(16, 32), ef::ops::linear::random(16, 16)),
                    "[eigenformer.ffn.dense] down projection: expected [32, 16], got [16, 16]");
  CHECK_THROWS_AS(ef::ffn::swiglu(ef::ops::linear::random(16, 32), ef::ops::linear::random(16, 24),
                                  ef::ops::linear::random(32, 16)),
                  ef::shape_error);
  auto ffn = ef::ffn::dense_ffn<ef::ops::relu>::random(16, 32);
  ef::matrix x(3, 16), out(3, 16), bad(3, 8);
  CHECK_THROWS_WITH(ffn.check(ef::as_const(ef::view(bad)), ef::view(out)),
                    "[eigenformer.ffn.dense] input: expected [3, 16], got [3, 8]");
  CHECK_THROWS_WITH(ffn.check(ef::as_const(ef::view(x)), ef::view(out), 33),
                    "[eigenformer.ffn.dense] width: expected 0 (all) or 1..32, got 33");
  CHECK_THROWS_AS(ef::ops::layer_norm(ef::vector::Ones(4), ef::vector::Ones(3)), ef::shape_error);
  CHECK_THROWS_AS(ef::ops::rms_norm(ef::vector::Ones(4), -1.0f), ef::config_error);
  CHECK_THROWS_AS(ef::ops::linear(ef::matrix::Zero(4, 5), ef::vector::Zero(4)), ef::shape_error);

  namespace ea = ef::attention;
  ea::attention_config c{.d_model = 16, .num_heads = 2};
  using blk = ef::blocks::encoder_block<ea::softmax_attention, ef::ffn::dense_ffn<ef::ops::relu>, ef::ops::layer_norm,
                                        ef::blocks::post_norm>;
  CHECK_THROWS_WITH(blk(ea::multi_head_attention<ea::softmax_attention>(c, ea::attention_weights::random(c)),
                        ef::ffn::dense_ffn<ef::ops::relu>::random(24, 32), ef::ops::layer_norm::identity(16),
                        ef::ops::layer_norm::identity(16)),
                    "[eigenformer.blocks.encoder] ffn d_model: expected d_model 16, got 24");
}
