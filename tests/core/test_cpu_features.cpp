#include <eigenformer/core/cpu_features.hpp>
#include <eigenformer/kernels/kernels.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace ef = eigenformer;

TEST_CASE("run-time CPU features agree with what the compiler was told to target", "[core][cpu]") {
  const auto& f = ef::cpu();
  // A binary compiled for an instruction set runs only where the CPU (and OS) have it.
#ifdef __AVX2__
  CHECK(f.avx2);
#endif
#ifdef __FMA__
  CHECK(f.fma);
#endif
#ifdef __AVX512F__
  CHECK(f.avx512f);
  CHECK(f.avx);
#endif
#ifdef __AVX512BW__
  CHECK(f.avx512bw);
#endif
#ifdef __AVX512BF16__
  CHECK(f.avx512_bf16);
#endif
  // Implications that hold on every x86-64 CPU.
  if (f.avx512f) CHECK(f.avx2);
  if (f.avx512bw || f.avx512_vnni || f.avx512_bf16) CHECK(f.avx512f);
  const std::string s = f.to_string();
  CHECK_FALSE(s.empty());
  if (f.avx2) CHECK(s.find("avx2") != std::string::npos);
  if (!f.avx512f) CHECK(s.find("avx512f") == std::string::npos);
}

TEST_CASE("kernels::active names the instruction set in use", "[core][cpu]") {
  const std::string name = ef::kernels::active_arch_name();
#if EIGENFORMER_USE_SIMD
  CHECK(name == ef::kernels::compat::arch_name());
#ifdef __AVX512F__
  CHECK(name.rfind("avx512", 0) == 0);
#endif
#else
  CHECK(name == "scalar");
#endif
}
