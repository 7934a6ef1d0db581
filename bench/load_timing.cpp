// Load time and peak memory of a checkpoint folder: mmap + bind (+ pack) of a preset, from a warm
// page cache (the folder is loaded once first, untimed), median of N loads, and the peak
// resident set size of the process against the F32 weight bytes of the file.
//   tools/make_gpt2_checkpoint.py build/gpt2-124m
//   build/release/bench/bench_load_timing build/gpt2-124m [--reps 5] [--dtype f32|bf16|int8|int4] [--threads N]
// --threads sets the library's worker threads (packing and quantising run on them).
#include <eigenformer/core/parallel.hpp>
#include <eigenformer/core/weight_type.hpp>
#include <eigenformer/models/auto.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace ef = eigenformer;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_load_timing DIR [--reps N] [--dtype T] [--threads N]\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  int reps = 5;
  std::string dtype = "f32";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--reps") reps = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--dtype") dtype = argv[i + 1];
    else if (a == "--threads") ef::set_num_threads(std::max(1, std::atoi(argv[i + 1])));
    else {
      std::fprintf(stderr, "bench_load_timing: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  try {
    const ef::load_options options{.weights = ef::parse_weight_type(dtype, "--dtype")};
    std::size_t file_bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") file_bytes += std::filesystem::file_size(e.path());
    std::vector<double> ms;
    rusage ru{};
    for (int r = 0; r <= reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      auto model = ef::models::load_model(dir, options);
      const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r == 0) {  // the first load warms the page cache; its peak is the one reported
        getrusage(RUSAGE_SELF, &ru);
        continue;
      }
      ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double peak = double(ru.ru_maxrss) * 1024.0;
    std::printf("checkpoint %s: %.1f MB of weights\n", dir.c_str(), double(file_bytes) / 1e6);
    std::printf("load (mmap + bind + pack) as %s, warm page cache: median %.1f ms of %d (min %.1f, max %.1f)\n",
                dtype.c_str(), ms[ms.size() / 2], reps, ms.front(), ms.back());
    std::printf("peak RSS during the first load: %.1f MB = %.2fx the weight bytes\n", peak / 1e6, peak / double(file_bytes));
  } catch (const ef::error& e) {
    std::fprintf(stderr, "bench_load_timing: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {  // e.g. std::filesystem's error for a missing folder
    std::fprintf(stderr, "bench_load_timing: %s\n", e.what());
    return 1;
  }
  return 0;
}
