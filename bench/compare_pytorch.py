#!/usr/bin/env python3
"""eigenformer vs PyTorch, same machine, same script.

Default: a 12-layer BERT-base-shaped encoder
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

--generation: GPT-2-124M-shaped decoding (tools/make_gpt2_checkpoint.py build/gpt2-124m): prefill of
512 random tokens and 64 greedy decode steps, eigenformer (bench_generate_timing) against a plain
PyTorch GPT-2 with a KV cache on the same weights, at 1 and 2 threads, with the memory-bandwidth
bound (fp32 weight bytes read per token / read bandwidth measured in the same run; the % of the
bound is the median over repetitions of decode speed against probes taken right before and after
each one, since this shared machine's bandwidth drifts by 1.5x within minutes).

    cmake --build --preset release --target bench_generate_timing
    /usr/bin/python3 bench/compare_pytorch.py --generation [--model build/gpt2-124m]
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


GEN_BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "release", "bench", "bench_generate_timing")


def load_gpt2(path):
    import json
    import struct

    import torch
    with open(os.path.join(path, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    W = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        W[name.replace("transformer.", "")] = torch.frombuffer(data, dtype=torch.float32, offset=a,
                                                               count=(b - a) // 4).reshape(t["shape"])
    with open(os.path.join(path, "config.json")) as f:
        return W, json.load(f)


def gen_child(torch_threads, path, prefill=512, decode=64, reps=3):
    """Plain GPT-2 with a KV cache in PyTorch (inference mode), greedy."""
    import math

    import torch
    torch.set_num_threads(torch_threads)
    W, cfg = load_gpt2(path)
    D, H, L, eps = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["layer_norm_epsilon"]
    hd = D // H
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], eps)

    def step(ids, pos0, cache):
        x = W["wte.weight"][ids] + W["wpe.weight"][pos0:pos0 + len(ids)]
        n = len(ids)
        for i in range(L):
            p = f"h.{i}."
            qkv = ln(x, p + "ln_1") @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
            q, k, v = (t.view(n, H, hd).transpose(0, 1) for t in qkv.split(D, -1))
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], 1)
                v = torch.cat([cache[i][1], v], 1)
            cache[i] = (k, v)
            s = q @ k.transpose(-1, -2) / math.sqrt(hd)
            if n > 1:
                s = s.masked_fill(torch.triu(torch.ones(n, k.shape[1], dtype=torch.bool), k.shape[1] - n + 1), float("-inf"))
            a = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(n, D)
            x = x + a @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
            m = torch.nn.functional.gelu(ln(x, p + "ln_2") @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"],
                                         approximate="tanh")
            x = x + m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        return ln(x[-1:], "ln_f") @ W["wte.weight"].T

    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, cfg["vocab_size"], (prefill,), generator=g)
    pre, dec = [], []
    with torch.inference_mode():
        for r in range(reps + 1):
            cache = [None] * L
            t0 = time.perf_counter()
            logits = step(prompt, 0, cache)
            t1 = time.perf_counter()
            for j in range(decode - 1):
                logits = step(logits.argmax(-1), prefill + j, cache)
            t2 = time.perf_counter()
            if r:
                pre.append(prefill / (t1 - t0))
                dec.append((decode - 1) / (t2 - t1))
    print(statistics.median(pre), statistics.median(dec))


def generation(path, reps):
    import json
    weight_gb = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.endswith(".safetensors")) / 1e9
    print(f"GPT-2-124M-shaped decoding ({path}, {weight_gb:.3f} GB of fp32 weights): prefill 512 tokens, "
          f"64 greedy decode steps, median of {reps}")
    print("| threads | PyTorch setting | PyTorch prefill tok/s | eigenformer prefill tok/s | PyTorch decode tok/s | "
          "eigenformer decode tok/s | eigenformer / PyTorch decode | read GB/s | bandwidth bound tok/s | eigenformer % of bound |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads, settings in ((1, ((1, 1, "torch 1, OpenBLAS 1"),)),
                              (2, ((2, 2, "default: torch 2, OpenBLAS 2"), (1, 2, "torch 1, OpenBLAS 2"),
                                   (2, 1, "torch 2, OpenBLAS 1")))):
        out = subprocess.run([GEN_BIN, "--model", path, "--threads", str(threads), "--reps", str(reps)], check=True,
                             capture_output=True, text=True).stdout
        ef = json.loads(out)
        bound = ef["read_gbs"] / weight_gb  # from the median bandwidth; the % column is the median of
        # per-repetition ratios against the probes taken right before and after each repetition
        for tt, bt, label in settings:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(bt))
            o = subprocess.run([sys.executable, __file__, "--gen-child", str(tt), "--model", path, "--reps", str(reps)],
                               env=env, check=True, capture_output=True, text=True).stdout.split()
            pp, pd = float(o[0]), float(o[1])
            print(f"| {threads} | {label} | {pp:.0f} | {ef['prefill_tps']:.0f} | {pd:.1f} | {ef['decode_tps']:.1f} | "
                  f"{ef['decode_tps'] / pd:.2f}x | {ef['read_gbs']:.1f} | {bound:.1f} | {100 * ef['bound_fraction']:.0f}% |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--gen-child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--generation", action="store_true")
    ap.add_argument("--model", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "gpt2-124m"))
    args = ap.parse_args()
    if args.child:
        torch_child(args.child, args.reps)
        return
    if args.gen_child:
        gen_child(args.gen_child, args.model, reps=min(args.reps, 3))
        return
    if args.generation:
        generation(args.model, min(args.reps, 3))
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
