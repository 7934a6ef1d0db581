#!/usr/bin/env python3
"""eigenformer vs PyTorch, same machine, same script: a 12-layer BERT-base-shaped encoder
(post-norm, GELU, d_model 768, 12 heads, FFN 3072, random weights, one sequence of 128 tokens),
median of N runs each, at 1 and 2 threads.

    apt-get install python3-torch libopenblas0-pthread   # Debian's torch uses the system BLAS
    cmake --build --preset release --target bench_encoder_timing
    /usr/bin/python3 bench/compare_pytorch.py [--reps 10]

Debian's python3-torch does its matmuls through libblas.so.3: with only the reference BLAS
installed a 128x768x3072 product takes ~240 ms, so the script refuses to compare unless an
optimised BLAS (OpenBLAS) is the active alternative. OpenBLAS has its own thread pool
(OPENBLAS_NUM_THREADS, read at import), separate from torch.set_num_threads, so each PyTorch
configuration runs in its own subprocess; at 2 threads every split is measured and the best one
reported next to the default.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "release", "bench", "bench_encoder_timing")


def torch_child(torch_threads, reps, seq=128):
    import torch

    torch.set_num_threads(torch_threads)
    a, b = torch.randn(128, 768), torch.randn(768, 3072)
    t0 = time.perf_counter()
    a @ b
    if time.perf_counter() - t0 > 0.05:
        sys.exit("the active BLAS is the slow reference one: install libopenblas0-pthread")
    layer = torch.nn.TransformerEncoderLayer(768, 12, 3072, dropout=0.0, activation="gelu", batch_first=True)
    model = torch.nn.TransformerEncoder(layer, 12, enable_nested_tensor=False).eval()
    x = torch.randn(1, seq, 768)
    times = []
    with torch.inference_mode():
        model(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    print(statistics.median(times))


def torch_ms(torch_threads, blas_threads, reps):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads))
    out = subprocess.run([sys.executable, __file__, "--child", str(torch_threads), "--reps", str(reps)], env=env,
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def ef_ms(threads, reps):
    out = subprocess.run([BIN, "--threads", str(threads), "--reps", str(reps)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        torch_child(args.child, args.reps)
        return
    import torch

    print(f"torch {torch.__version__}; 12-layer BERT-base encoder, seq 128, median of {args.reps} runs")
    print("| threads | PyTorch setting | PyTorch (ms) | eigenformer (ms) | eigenformer / PyTorch time |")
    print("|---:|---|---:|---:|---:|")
    ef1 = ef_ms(1, args.reps)
    pt1 = torch_ms(1, 1, args.reps)
    print(f"| 1 | torch 1, OpenBLAS 1 | {pt1:.1f} | {ef1:.1f} | {ef1 / pt1:.2f} |")
    ef2 = ef_ms(2, args.reps)
    for tt, bt, label in ((2, 2, "default: torch 2, OpenBLAS 2"), (1, 2, "torch 1, OpenBLAS 2"), (2, 1, "torch 2, OpenBLAS 1")):
        pt = torch_ms(tt, bt, args.reps)
        print(f"| 2 | {label} | {pt:.1f} | {ef2:.1f} | {ef2 / pt:.2f} |")


if __name__ == "__main__":
    main()
