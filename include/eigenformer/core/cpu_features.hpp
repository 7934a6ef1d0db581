#pragma once
/// @file
/// Run-time CPU feature detection (x86-64 CPUID + XGETBV), for kernels that pick a code path at
/// run time (bf16, VNNI, AMX). The xsimd kernels are chosen at compile time instead; see
/// kernels/dispatch.hpp for the instruction set they were compiled for.

#include <eigenformer/core/config.hpp>

#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define EIGENFORMER_X86_64 1
#else
#define EIGENFORMER_X86_64 0
#endif

namespace eigenformer {

/// What this CPU and operating system support. Each flag is true only when both the instruction
/// set and the OS's saving of its register state are present.
struct cpu_features {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool amx_tile = false;  ///< the OS must still grant AMX state per process before use
  bool amx_bf16 = false;
  bool amx_int8 = false;

  /// Space-separated names of the supported features, e.g. "sse4.2 avx avx2 fma avx512f ...".
  std::string to_string() const {
    std::string s;
    auto add = [&s](bool on, const char* name) {
      if (!on) return;
      if (!s.empty()) s += ' ';
      s += name;
    };
    add(sse42, "sse4.2");
    add(avx, "avx");
    add(avx2, "avx2");
    add(fma, "fma");
    add(f16c, "f16c");
    add(avx512f, "avx512f");
    add(avx512bw, "avx512bw");
    add(avx512dq, "avx512dq");
    add(avx512vl, "avx512vl");
    add(avx512_vnni, "avx512_vnni");
    add(avx512_bf16, "avx512_bf16");
    add(amx_tile, "amx_tile");
    add(amx_bf16, "amx_bf16");
    add(amx_int8, "amx_int8");
    return s.empty() ? std::string("none") : s;
  }
};

namespace detail {
inline cpu_features detect_cpu_features() noexcept {
  cpu_features f;
#if EIGENFORMER_X86_64
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d) == 0) return f;
  const unsigned max_leaf = a;
  __cpuid(1, a, b, c, d);
  f.sse42 = (c >> 20) & 1u;
  const bool osxsave = (c >> 27) & 1u;
  const bool has_avx = (c >> 28) & 1u;
  const bool has_fma = (c >> 12) & 1u;
  const bool has_f16c = (c >> 29) & 1u;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool os_avx = (xcr0 & 0x6) == 0x6;        // SSE and AVX state
  const bool os_avx512 = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
  f.avx = has_avx && os_avx;
  f.fma = has_fma && os_avx;
  f.f16c = has_f16c && os_avx;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = os_avx && ((b >> 5) & 1u);
    f.avx512f = os_avx512 && ((b >> 16) & 1u);
    f.avx512dq = f.avx512f && ((b >> 17) & 1u);
    f.avx512bw = f.avx512f && ((b >> 30) & 1u);
    f.avx512vl = f.avx512f && ((b >> 31) & 1u);
    f.avx512_vnni = f.avx512f && ((c >> 11) & 1u);
    f.amx_bf16 = os_amx && ((d >> 22) & 1u);
    f.amx_tile = os_amx && ((d >> 24) & 1u);
    f.amx_int8 = os_amx && ((d >> 25) & 1u);
    if (a >= 1) {  // leaf 7 reports its highest sub-leaf in eax
      unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0;
      __cpuid_count(7, 1, a1, b1, c1, d1);
      f.avx512_bf16 = f.avx512f && ((a1 >> 5) & 1u);
    }
  }
#endif
  return f;
}
}  // namespace detail

/// The features of the CPU this process runs on, detected once.
inline const cpu_features& cpu() noexcept {
  static const cpu_features features = detail::detect_cpu_features();
  return features;
}

}  // namespace eigenformer
