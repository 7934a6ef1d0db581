#!/usr/bin/env python3
"""Replays the int4 packer's scale search (kernels/gemm_int4.hpp) in numpy over a checkpoint's
2-D weights and prints which divisor wins how often and how close the packer's two-round search
(9 divisors, then +-1/8 around the best) comes to trying all 24 of an exhaustive 1/8 grid.

    /usr/bin/python3 tools/int4_scale_replay.py models/kjv-gpt2

Groups are 32 consecutive inputs of one output column, as the packer forms them. Needs numpy.
"""
import json
import struct
import sys

import numpy as np


def bf16(x):
    b = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    return b.astype(np.uint32).view(np.float32)


def tensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    for name, m in header.items():
        if name == "__metadata__" or len(m["shape"]) != 2:
            continue
        a, b = m["data_offsets"]
        raw = data[a:b]
        if m["dtype"] == "F16":
            w = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
        elif m["dtype"] == "BF16":
            w = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif m["dtype"] == "F32":
            w = np.frombuffer(raw, dtype=np.float32)
        else:
            continue
        yield name, w.reshape(m["shape"])


def main(folder):
    grid = [-8.0] + [-7 - 0.125 * i for i in range(21) if i != 8] + [7.0, 7.25, 7.5]
    first = [-8.0, -7.0, -7.25, -7.5, -7.75, -8.25, -8.5, -8.75, -9.0]  # int4_scale_candidates
    errors = []
    for name, w in tensors(folder + "/model.safetensors"):
        # GPT-2's Conv1D stores [in, out]; embeddings [vocab, d] are gathered rows of d inputs.
        W = w.T if ("wte" in name or "wpe" in name or "embed" in name) else w
        k, n = W.shape
        if k % 32:
            continue
        G = W.reshape(k // 32, 32, n).transpose(0, 2, 1).reshape(-1, 32).astype(np.float64)
        ext = G[np.arange(len(G)), np.abs(G).argmax(1)]
        per = []
        for s in grid:
            d = bf16((ext / s).astype(np.float32)).astype(np.float64)
            inv = np.where(d != 0, 1 / np.where(d != 0, d, 1), 0)
            q = np.clip(np.round(G * inv[:, None]), -8, 7)
            per.append(((G - q * d[:, None]) ** 2).sum(1))
        errors.append(np.array(per))
    E = np.concatenate(errors, 1)
    best = E.min(0).sum()
    win = E.argmin(0)
    for i, s in enumerate(grid):
        print(f"s = {s:7.3f}: wins {100 * (win == i).mean():5.2f} % of groups")
    idx = [grid.index(s) for s in first]
    centre = np.array(first)[E[idx].argmin(0)]
    res = E[idx].min(0)
    for step in (-0.125, 0.125):
        for i, s in enumerate(grid):
            # (−6.875, a neighbour of −7 the packer also scores, is not in the grid: not counted)
            res = np.where(centre + step == s, np.minimum(res, E[i]), res)
    print(f"total squared error / the 24's: Q4_0 {E[0].sum() / best:.4f}, "
          f"9 first {E[idx].min(0).sum() / best:.4f}, 9 + 2 {res.sum() / best:.5f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "models/kjv-gpt2")
