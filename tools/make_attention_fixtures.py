#!/usr/bin/env python3
"""Writes tests/data/mha_pytorch.json: PyTorch nn.MultiheadAttention outputs for the C++ tests.

Run with Debian's python3-torch (apt-get install python3-torch):
    /usr/bin/python3 tools/make_attention_fixtures.py

Cases: plain MHA (4 heads) and GQA (4 query heads sharing 2 K/V heads: PyTorch has no GQA, so
the fixture repeats each K/V head's weights for the query heads that share it, which is exactly
what grouped-query attention computes), each bidirectional and causal, over three sequences of
lengths 1, 7 and 33 run one at a time (the C++ side runs them as one packed batch).
Weights are stored as PyTorch holds them ([out, in]); the test transposes them.
"""
import json
import os

import torch

E, H, HD = 32, 4, 8
LENGTHS = [1, 7, 33]


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def make_case(name, kv_heads, seed):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, H, bias=True, batch_first=True)
    with torch.no_grad():
        mha.in_proj_bias.uniform_(-0.5, 0.5)
        mha.out_proj.bias.uniform_(-0.5, 0.5)
        wq, wk, wv = mha.in_proj_weight.chunk(3)
        bq, bk, bv = mha.in_proj_bias.chunk(3)
        group = H // kv_heads
        # K/V weights of kv_heads heads, repeated for the query heads of each group.
        wk_kv = torch.empty(kv_heads * HD, E).uniform_(-0.3, 0.3)
        wv_kv = torch.empty(kv_heads * HD, E).uniform_(-0.3, 0.3)
        bk_kv = torch.empty(kv_heads * HD).uniform_(-0.5, 0.5)
        bv_kv = torch.empty(kv_heads * HD).uniform_(-0.5, 0.5)
        rep = lambda t: t.view(kv_heads, HD, *t.shape[1:]).repeat_interleave(group, 0).reshape(H * HD, *t.shape[1:])
        wk.copy_(rep(wk_kv))
        wv.copy_(rep(wv_kv))
        bk.copy_(rep(bk_kv))
        bv.copy_(rep(bv_kv))
    xs = [torch.empty(1, n, E).uniform_(-1, 1) for n in LENGTHS]
    case = {
        "name": name, "d_model": E, "num_heads": H, "num_kv_heads": kv_heads, "lengths": LENGTHS,
        "wq": flat(wq), "bq": flat(bq), "wk": flat(wk_kv), "bk": flat(bk_kv), "wv": flat(wv_kv), "bv": flat(bv_kv),
        "wo": flat(mha.out_proj.weight), "bo": flat(mha.out_proj.bias),
        "x": flat(torch.cat(xs, 1)),
    }
    mha.eval()
    with torch.inference_mode():
        for causal in (False, True):
            outs = []
            for x in xs:
                n = x.shape[1]
                mask = torch.triu(torch.full((n, n), float("-inf")), 1) if causal else None
                out, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
                outs.append(out)
            case["out_causal" if causal else "out"] = flat(torch.cat(outs, 1))
    return case


def main():
    cases = [make_case("mha", 4, 1), make_case("gqa", 2, 2)]
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "mha_pytorch.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/make_attention_fixtures.py", "torch": torch.__version__, "cases": cases}, f)
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
