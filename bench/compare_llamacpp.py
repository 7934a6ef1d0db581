#!/usr/bin/env python3
"""Table for bench/compare_llamacpp.sh: reads its folder of THREADS.ROUND.TYPE.{ef,pp,tg} files
(eigenformer's bench_generate_timing JSON line; llama-bench -o json for pp512 @ d0 and tg128 @
d512) and prints, per thread count and type, the medians over rounds and eigenformer / llama.cpp.
A llama-bench figure is the median of its repetitions' tokens/s, as eigenformer's is."""
import glob
import json
import os
import statistics
import sys

LLAMA = {"f32": "F32", "bf16": "BF16", "int8": "Q8_0", "int4": "Q4_0"}


def llama_tps(path):
    with open(path) as f:
        (test,) = json.load(f)
    return statistics.median(test["samples_ts"]), test


def main():
    folder = sys.argv[1]
    runs = {}  # (threads, type) -> lists of figures over rounds
    build = None
    kv = None
    for ef_path in sorted(glob.glob(os.path.join(folder, "*.ef"))):
        threads, _, t = os.path.basename(ef_path)[:-3].split(".")
        with open(ef_path) as f:
            ef = json.loads(f.read().strip().splitlines()[-1])
        pp, test = llama_tps(ef_path[:-3] + ".pp")
        tg, test_tg = llama_tps(ef_path[:-3] + ".tg")
        assert test["n_prompt"] == 512 and test["n_depth"] == 0, test
        assert test_tg["n_gen"] == 128 and test_tg["n_depth"] == 512, test_tg
        build = (test["build_commit"], test["build_number"], test["type_k"], test["type_v"], test["flash_attn"])
        r = runs.setdefault((int(threads), t), {"ef_pp": [], "ll_pp": [], "ef_tg": [], "ll_tg": [], "bound": [],
                                                          "bytes_bound": []})
        kv = ef.get("kv_dtype", "f32")
        r["ef_pp"].append(ef["prefill_tps"])
        r["ll_pp"].append(pp)
        r["ef_tg"].append(ef["decode_tps"])
        r["ll_tg"].append(tg)
        r["bound"].append(ef["bound_fraction"])
        r["bytes_bound"].append(ef["bytes_bound_fraction"])
    if not runs:
        sys.exit("compare_llamacpp: no results")
    print(f"llama-bench build {build[0]} ({build[1]}), KV cache {build[2]}/{build[3]}, flash_attn {build[4]}"
          f" (-1 = auto); eigenformer KV cache {kv}; eigenformer/llama.cpp > 1 means eigenformer is faster")
    head = ("threads", "type", "llama", "ef pp t/s", "llama pp t/s", "pp ratio", "ef tg t/s", "llama tg t/s",
            "tg ratio", "ef tg / bound (weights)", "ef tg / bound (weights + KV)", "rounds")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---:" for _ in head) + "|")
    order = list(LLAMA)
    for (threads, t), r in sorted(runs.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        m = {k: statistics.median(v) for k, v in r.items()}
        print(f"| {threads} | {t} | {LLAMA[t]} | {m['ef_pp']:.1f} | {m['ll_pp']:.1f} | {m['ef_pp'] / m['ll_pp']:.2f} | "
              f"{m['ef_tg']:.1f} | {m['ll_tg']:.1f} | {m['ef_tg'] / m['ll_tg']:.2f} | {m['bound']:.0%} | {m['bytes_bound']:.0%} | {len(r['ef_pp'])} |")


if __name__ == "__main__":
    main()
