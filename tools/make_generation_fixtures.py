#!/usr/bin/env python3
"""Writes tests/data/kjv_greedy.json: the greedy continuation of a few prompts by the shipped
model (models/kjv-gpt2), computed with a plain float64 PyTorch implementation of GPT-2 on the
stored (F16) weights, so the C++ test can require the same tokens. The prompts are token ids
(tokenized by the C++ test with the shipped vocabulary and compared too).

    /usr/bin/python3 tools/make_generation_fixtures.py
"""
import json
import math
import os
import struct

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODEL = os.path.join(ROOT, "models", "kjv-gpt2")


def load():
    with open(os.path.join(MODEL, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    W = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dt = {"F16": torch.float16, "F32": torch.float32}[t["dtype"]]
        W[name[len("transformer."):]] = torch.frombuffer(bytearray(data[a:b]), dtype=dt).reshape(t["shape"]).to(torch.float64)
    with open(os.path.join(MODEL, "config.json")) as f:
        return W, json.load(f)


def forward(W, cfg, seq):
    D, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hd, eps = D // H, cfg["layer_norm_epsilon"]
    ln = lambda x, p: torch.nn.functional.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], eps)
    x = W["wte.weight"][seq] + W["wpe.weight"][:len(seq)]
    n = len(seq)
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
    for i in range(L):
        p = f"h.{i}."
        a = ln(x, p + "ln_1")
        qkv = a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        out = torch.zeros(n, D, dtype=torch.float64)
        for h in range(H):
            q, k, v = (qkv[:, j * D + h * hd: j * D + (h + 1) * hd] for j in range(3))
            s = (q @ k.T / math.sqrt(hd)).masked_fill(mask, float("-inf"))
            out[:, h * hd:(h + 1) * hd] = torch.softmax(s, -1) @ v
        x = x + out @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        m = ln(x, p + "ln_2")
        m = torch.nn.functional.gelu(m @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    return ln(x, "ln_f") @ W["wte.weight"].T


def main():
    W, cfg = load()
    # Prompt ids come from the shipped tokenizer (the C++ test re-tokenizes the text and checks).
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train_shipped_model import PAT, bytes_to_unicode, seqs_of
    vocab = json.load(open(os.path.join(MODEL, "vocab.json")))
    merges = [tuple(l.split()) for l in open(os.path.join(MODEL, "merges.txt")).read().splitlines()[1:] if l]
    b2u = bytes_to_unicode()
    cases = []
    for text in ["In the beginning God created", "And Jesus said unto them,", "The LORD is my shepherd;"]:
        ids = [vocab[t] for piece in PAT.findall(text) for t in seqs_of(piece, b2u, merges)]
        seq, out, gaps = list(ids), [], []
        for _ in range(24):
            l = forward(W, cfg, torch.tensor(seq))[-1]
            top = torch.topk(l, 2)
            out.append(int(top.indices[0]))
            gaps.append(float(top.values[0] - top.values[1]))
            seq.append(out[-1])
        cases.append({"text": text, "prompt": ids, "tokens": out, "gaps": gaps})
        print(text, out, min(gaps))
    with open(os.path.join(ROOT, "tests", "data", "kjv_greedy.json"), "w") as f:
        json.dump({"model": "models/kjv-gpt2", "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
