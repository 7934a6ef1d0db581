#!/usr/bin/env python3
"""Turns bench_attention's JSON into the README figure and the tables of bench/RESULTS.md.

    /usr/bin/python3 bench/plot_attention.py attn.json bench/attention_prefill.png

Uses the median aggregates (run with --benchmark_repetitions=N). The figure needs matplotlib
(Debian: python3-matplotlib); the tables do not.
"""
import json
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = defaultdict(dict)  # (kind, variant, threads) -> {n: benchmark}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        parts = b["run_name"].split("/")
        kind, variant = parts[0], parts[1]
        args = dict(p.split(":") for p in parts[2:] if ":" in p)
        size = int(args.get("n", args.get("cache", 0)))
        rows[(kind, variant, int(args["threads"]))][size] = b
    return rows


def ms(b):
    t = b["real_time"]
    return {"ns": t / 1e6, "us": t / 1e3, "ms": t, "s": t * 1e3}[b["time_unit"]]


def tables(rows):
    sizes = [128, 512, 1024, 2048, 4096, 8192, 16384]
    threads = sorted({t for (_, _, t) in rows})
    for t in threads:
        print(f"\n**Prefill, {t} thread{'s' if t > 1 else ''}** (median ms; 12 heads x 64, batch 1)\n")
        print("| variant | " + " | ".join(f"n={n}" for n in sizes) + " | t(16K)/t(1K) | scratch MB @16K |")
        print("|---|" + "---:|" * (len(sizes) + 2))
        for (kind, variant, th), by_n in sorted(rows.items()):
            if kind != "prefill" or th != t:
                continue
            cells = [f"{ms(by_n[n]):.1f}" if n in by_n else "-" for n in sizes]
            ratio = f"{ms(by_n[16384]) / ms(by_n[1024]):.0f}" if 16384 in by_n and 1024 in by_n else "-"
            big = max(by_n)
            scratch = f"{by_n[big]['scratch_MB']:.2f}" + ("" if big == 16384 else f" (@{big})")
            print(f"| {variant} | " + " | ".join(cells) + f" | {ratio} | {scratch} |")
    for t in threads:
        print(f"\n**Decode step, {t} thread{'s' if t > 1 else ''}** (median µs; 12 heads x 64, d_model 768, projections included)\n")
        print("| variant | cache 512 | cache 4096 | cache 16384 | cache MB @16K |")
        print("|---|---:|---:|---:|---:|")
        for (kind, variant, th), by_n in sorted(rows.items()):
            if kind != "decode" or th != t:
                continue
            cells = [f"{ms(by_n[n]) * 1e3:.0f}" if n in by_n else "-" for n in (512, 4096, 16384)]
            print(f"| {variant} | " + " | ".join(cells) + f" | {by_n[16384]['cache_MB']:.1f} |")
    print("\n**Accuracy against softmax of the same causality** (1 thread; rel = ‖out − ref‖_F / ‖ref‖_F)\n")
    print("| variant | rel n=1024 | cos n=1024 | rel n=16384 | cos n=16384 | t(16K) ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for (kind, variant, th), by_n in sorted(rows.items()):
        if kind != "prefill" or th != 1 or "rel_error" not in next(iter(by_n.values())):
            continue
        cell = lambda n, key, fmt: fmt.format(by_n[n][key]) if n in by_n else "-"
        print(f"| {variant} | {cell(1024, 'rel_error', '{:.2e}')} | {cell(1024, 'cosine', '{:.4f}')} | "
              f"{cell(16384, 'rel_error', '{:.2e}')} | {cell(16384, 'cosine', '{:.4f}')} | "
              f"{ms(by_n[16384]):.0f} |" if 16384 in by_n else "-")
    dense = rows.get(("prefill", "softmax_dense", 1), {})
    if 4096 in dense:
        print(f"\nsoftmax_dense at n=4096, 1 thread: {dense[4096]['GFLOP/s'] / 1e9 if dense[4096]['GFLOP/s'] > 1e6 else dense[4096]['GFLOP/s']:.1f} GFLOP/s")


def plot(rows, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(16, 6.5))
    ax.set_prop_cycle(color=plt.cm.tab20.colors)
    ax_err.set_prop_cycle(color=plt.cm.tab20.colors)
    for (kind, variant, th), by_n in sorted(rows.items()):
        if kind != "prefill" or th != 1:
            continue
        ns = sorted(by_n)
        style = "-" if variant.startswith(("softmax", "sigmoid", "clipped")) else "--"
        ax.plot(ns, [ms(by_n[n]) for n in ns], style, marker="o", markersize=3, label=variant)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("prefill time (ms), 12 heads x 64, 1 thread")
    ax.set_title("eigenformer attention variants: time vs n (solid: O(n^2), dashed: sub-quadratic)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    # The trade-off: one point per variant at each n, time against error vs softmax.
    floor = 1e-7  # the references themselves sit at float rounding: drawn at the floor
    for (kind, variant, th), by_n in sorted(rows.items()):
        if kind != "prefill" or th != 1 or "rel_error" not in next(iter(by_n.values())):
            continue
        ns = sorted(by_n)
        ax_err.plot([ms(by_n[n]) for n in ns], [max(by_n[n]["rel_error"], floor) for n in ns], ":", marker="o",
                    markersize=4, label=variant)
        last = ns[-1]
        ax_err.annotate(f"n={last}", (ms(by_n[last]), max(by_n[last]["rel_error"], floor)), fontsize=6)
    ax_err.set_xscale("log")
    ax_err.set_yscale("log")
    ax_err.set_xlabel("prefill time (ms), 1 thread (points: n = 128 ... 16384)")
    ax_err.set_ylabel("relative Frobenius error vs softmax of the same causality")
    ax_err.set_title("what each variant costs in accuracy, against its time")
    ax_err.grid(True, which="both", alpha=0.3)
    ax_err.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    r = load(sys.argv[1])
    tables(r)
    if len(sys.argv) > 2:
        plot(r, sys.argv[2])
