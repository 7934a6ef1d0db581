// eigenformer-kernels-demo: a tour of the kernel layer. It prints what the CPU offers and which
// instruction set the kernels were compiled for, runs softmax, LayerNorm, RMSNorm, GELU and RoPE
// on small inputs, and checks every result of the active (SIMD) kernels against the scalar
// reference twins. Exit status 0 when every check passes.
#include <eigenformer/eigenformer.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace ef = eigenformer;
namespace k = eigenformer::kernels;

namespace {

int checks = 0, failures = 0;

void print_row(const char* label, const std::vector<float>& v, std::size_t show = 8) {
  std::printf("  %-22s", label);
  for (std::size_t i = 0; i < v.size() && i < show; ++i) std::printf(" %9.5f", static_cast<double>(v[i]));
  if (v.size() > show) std::printf("  ... (%zu values)", v.size());
  std::printf("\n");
}

// Active kernel result vs reference result, elementwise, relative tolerance `rel` of max(|ref|, 1).
void check(const char* what, const std::vector<float>& got, const std::vector<float>& want, double rel) {
  ++checks;
  double worst = 0.0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(double(got[i]) - want[i]) / std::max(1.0, std::abs(double(want[i])));
    worst = std::max(worst, std::isnan(d) ? INFINITY : d);
  }
  const bool ok = worst <= rel;
  if (!ok) ++failures;
  std::printf("  check %-30s max rel. diff %.2e (tolerance %.0e)  %s\n", what, worst, rel, ok ? "ok" : "FAILED");
}

std::vector<float> ramp(std::size_t n, float lo, float hi) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * float(i) / float(n > 1 ? n - 1 : 1);
  return v;
}

}  // namespace

int main() {
  std::printf("eigenformer %s\n", EIGENFORMER_VERSION_STRING);
  std::printf("CPU features : %s\n", ef::cpu().to_string().c_str());
  std::printf("kernels      : %s (%zu floats per vector)\n", k::active_arch_name(), k::compat::width);
  std::printf("threads      : %d%s\n\n", ef::num_threads(), ef::has_threads() ? " (OpenMP)" : " (serial build)");

  // Softmax over attention-like logits, one of them masked with -inf.
  std::vector<float> logits = {2.0f, 1.0f, 0.1f, -1.0f, 3.5f, -INFINITY, 0.0f, 1.7f, 2.2f, -0.3f,
                               0.9f, 4.1f, -2.0f, 1.1f, 0.4f, 2.8f, -0.7f, 3.0f};
  std::vector<float> p = logits, p_ref = logits;
  k::active::softmax(p.data(), p.size());
  k::ref::softmax(p_ref.data(), p_ref.size());
  std::printf("softmax of %zu logits (one masked with -inf):\n", logits.size());
  print_row("logits", logits);
  print_row("probabilities", p);
  double sum = 0.0;
  for (float v : p) sum += v;
  std::printf("  sum of probabilities   %.7f, masked entry %.1f\n", sum, static_cast<double>(p[5]));
  check("softmax", p, p_ref, 1e-6);

  // LayerNorm and RMSNorm over a BERT-sized row with a large offset.
  const std::size_t d = 768;
  std::vector<float> x = ramp(d, -3.0f, 5.0f), gain(d), bias(d);
  for (std::size_t i = 0; i < d; ++i) {
    x[i] += 100.0f + std::sin(float(i));
    gain[i] = 1.0f + 0.01f * float(i % 7);
    bias[i] = 0.05f * float(i % 3);
  }
  std::vector<float> y(d), y_ref(d), r(d), r_ref(d);
  k::active::layer_norm(x.data(), y.data(), d, gain.data(), bias.data(), 1e-12f);
  k::ref::layer_norm(x.data(), y_ref.data(), d, gain.data(), bias.data(), 1e-12f);
  k::active::rms_norm(x.data(), r.data(), d, gain.data(), 1e-6f);
  k::ref::rms_norm(x.data(), r_ref.data(), d, gain.data(), 1e-6f);
  double mean = 0.0, var = 0.0;
  for (float v : y) mean += v;
  mean /= d;
  for (float v : y) var += (v - mean) * (v - mean);
  std::printf("\nLayerNorm / RMSNorm of a %zu-wide row around 100:\n", d);
  print_row("x", x);
  print_row("layer_norm(x)", y);
  print_row("rms_norm(x)", r);
  std::printf("  layer_norm output: mean %.4f, std %.4f (gain ~1.03, bias ~0.05)\n", mean, std::sqrt(var / d));
  check("layer_norm", y, y_ref, 1e-4);
  check("rms_norm", r, r_ref, 1e-5);

  // Activations.
  const std::vector<float> a = ramp(21, -5.0f, 5.0f);
  std::printf("\nactivations on -5 .. 5:\n");
  print_row("x", a, 11);
  const std::pair<const char*, std::pair<void (*)(const float*, float*, std::size_t), void (*)(const float*, float*, std::size_t)>> acts[] = {
      {"gelu (erf)", {k::active::gelu_erf, k::ref::gelu_erf}},
      {"gelu (tanh)", {k::active::gelu_tanh, k::ref::gelu_tanh}},
      {"silu", {k::active::silu, k::ref::silu}},
      {"sigmoid", {k::active::sigmoid, k::ref::sigmoid}},
      {"relu", {k::active::relu, k::ref::relu}}};
  for (const auto& [name, fns] : acts) {
    std::vector<float> o(a.size()), o_ref(a.size());
    fns.first(a.data(), o.data(), a.size());
    fns.second(a.data(), o_ref.data(), a.size());
    print_row(name, o, 11);
    check(name, o, o_ref, 1e-6);
  }

  // RoPE: rotating a head vector keeps each pair's length.
  const std::size_t hd = 64;
  std::vector<float> q = ramp(hd, -1.0f, 1.0f), cs(hd / 2), sn(hd / 2);
  for (std::size_t i = 0; i < hd / 2; ++i) {
    const double theta = 42.0 * std::pow(10000.0, -2.0 * double(i) / double(hd));
    cs[i] = float(std::cos(theta));
    sn[i] = float(std::sin(theta));
  }
  std::vector<float> q1 = q, q1_ref = q, q2 = q, q2_ref = q;
  k::active::rope_half(q1.data(), hd, cs.data(), sn.data());
  k::ref::rope_half(q1_ref.data(), hd, cs.data(), sn.data());
  k::active::rope_interleaved(q2.data(), hd, cs.data(), sn.data());
  k::ref::rope_interleaved(q2_ref.data(), hd, cs.data(), sn.data());
  std::printf("\nRoPE at position 42, head_dim %zu:\n", hd);
  print_row("q", q);
  print_row("half-split rotated", q1);
  print_row("interleaved rotated", q2);
  check("rope_half", q1, q1_ref, 1e-6);
  check("rope_interleaved", q2, q2_ref, 1e-6);

  std::printf("\nself-check: ");
  if (failures == 0) {
    std::printf("all %d checks passed\n", checks);
    return 0;
  }
  std::printf("%d of %d checks FAILED\n", failures, checks);
  return 1;
}
