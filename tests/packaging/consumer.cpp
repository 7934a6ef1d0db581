// A tiny application, built by both consumer projects: it includes the umbrella header, runs a
// few kernels and prints "consumer ok" only if the results are right.
#include <eigenformer/eigenformer.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  namespace k = eigenformer::kernels;
  std::vector<float> logits = {1.0f, 2.0f, 3.0f, 4.0f, -1.0f, 0.5f, 2.5f, 0.0f, 1.5f};
  k::active::softmax(logits.data(), logits.size());
  float sum = 0.0f;
  for (float p : logits) sum += p;
  // softmax of {..., 4, ...}: the largest logit gets e^0 / Σ e^(x - 4).
  double z = 0.0;
  for (double x : {1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 2.5, 0.0, 1.5}) z += std::exp(x - 4.0);
  const bool ok = std::abs(sum - 1.0f) < 1e-6f && std::abs(logits[3] - 1.0 / z) < 1e-6;
  eigenformer::matrix m = eigenformer::matrix::Identity(3, 3);
  const bool eigen_ok = eigenformer::view(m).sum() == 3.0f;
  std::printf("eigenformer %s, kernels on %s: softmax sum %.7f\n", EIGENFORMER_VERSION_STRING,
              k::active_arch_name(), static_cast<double>(sum));
  if (!ok || !eigen_ok) {
    std::printf("consumer FAILED\n");
    return 1;
  }
  std::printf("consumer ok\n");
  return 0;
}
