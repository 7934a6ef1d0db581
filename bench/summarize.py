#!/usr/bin/env python3
"""Turns Google Benchmark JSON output into the markdown tables of bench/RESULTS.md.

  bench/summarize.py kernels bench_kernels.json   # ref vs simd medians and speed-ups
  bench/summarize.py gemm    bench_gemm.json      # FMA peak and Eigen GEMM GFLOP/s

Only the median aggregates are used (run the benchmarks with --benchmark_repetitions=N).
"""
import json
import sys


def medians(path):
    with open(path) as f:
        data = json.load(f)
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = b
    return data["context"], out


def kernels(path):
    _, med = medians(path)
    rows = {}
    for name, b in med.items():
        impl, kernel, n = name.split("/")
        rows.setdefault((kernel, int(n)), {})[impl] = b
    print("| kernel | n | ref (ns) | simd (ns) | speed-up | simd GB/s |")
    print("|---|---:|---:|---:|---:|---:|")
    order = []
    for (kernel, n) in rows:
        if kernel not in order:
            order.append(kernel)
    for kernel in order:
        for n in sorted(n for (k, n) in rows if k == kernel):
            r = rows[(kernel, n)]
            ref, simd = r["ref"]["real_time"], r["simd"]["real_time"]
            gbs = r["simd"].get("bytes_per_second", 0) / 1e9
            print(f"| {kernel} | {n} | {ref:.1f} | {simd:.1f} | {ref / simd:.1f}x | {gbs:.1f} |")


def gemm(path):
    _, med = medians(path)
    peak = None
    print("| benchmark | M x K x N | threads | median time (us) | GFLOP/s | % of 1-core FMA peak |")
    print("|---|---|---:|---:|---:|---:|")
    for name, b in med.items():
        if name.startswith("fma_peak"):
            peak = b["GFLOP/s"]
            print(f"| FMA peak (register-only) | - | 1 | - | {peak:.1f} | 100% |")
    for prefix, label in (("eigen_gemm", "Eigen GEMM"), ("packed_gemm", "eigenformer packed GEMM")):
        for name, b in med.items():
            if not name.startswith(prefix + "/"):
                continue
            args = dict(kv.split(":") for kv in name.split("/")[1:] if ":" in kv)
            t = b["real_time"] / 1e3 if b["time_unit"] == "ns" else b["real_time"]
            pct = f"{100 * b['GFLOP/s'] / peak:.0f}%" if peak else "-"
            print(f"| {label} | {args['M']} x {args['K']} x {args['N']} | {args['threads']} | "
                  f"{t:.1f} | {b['GFLOP/s']:.1f} | {pct} |")
    bw = {}
    for name, b in med.items():
        if name.startswith("read_bandwidth/"):
            bw[name.split("threads:")[1].split("/")[0]] = b["bytes_per_second"] / 1e9
    if bw:
        print()
        print("| decode product (weights from memory) | rows | threads | GB/s of weights | % of read bandwidth |")
        print("|---|---:|---:|---:|---:|")
        for t, v in sorted(bw.items()):
            print(f"| read bandwidth (sum over 512 MiB) | - | {t} | {v:.1f} | 100% |")
        for prefix, label in (("packed_gemv_stream", "eigenformer packed"), ("eigen_gemv_stream", "Eigen")):
            for name, b in med.items():
                if not name.startswith(prefix + "/"):
                    continue
                args = dict(kv.split(":") for kv in name.split("/")[1:] if ":" in kv)
                g = b["bytes_per_second"] / 1e9
                print(f"| {label} 768 x 3072 | {args['M']} | {args['threads']} | {g:.1f} | "
                      f"{100 * g / bw[args['threads']]:.0f}% |")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("kernels", "gemm"):
        sys.exit(__doc__)
    {"kernels": kernels, "gemm": gemm}[sys.argv[1]](sys.argv[2])
