#!/usr/bin/env python3
"""Writes tests/data/encoder_pytorch.json: PyTorch nn.TransformerEncoderLayer / nn.TransformerEncoder
outputs for the C++ block and stack tests.

Run with Debian's python3-torch:
    /usr/bin/python3 tools/make_block_fixtures.py

Cases: one layer post-norm and norm_first (pre-norm), each with ReLU and GELU; and a 2-layer
pre-norm GELU nn.TransformerEncoder with a final LayerNorm. d_model 32, 4 heads, FFN 64, LayerNorm
gains and biases randomised (so they matter), three sequences (1, 7, 33 tokens) run one at a time.
Weights are stored as PyTorch holds them ([out, in]).
"""
import json
import os

import torch

D, H, FF = 32, 4, 64
LENGTHS = [1, 7, 33]


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def randomise(layer):
    with torch.no_grad():
        for norm in (layer.norm1, layer.norm2):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
        layer.self_attn.in_proj_bias.uniform_(-0.2, 0.2)


def layer_weights(layer):
    sa = layer.self_attn
    return {
        "in_proj_weight": flat(sa.in_proj_weight), "in_proj_bias": flat(sa.in_proj_bias),
        "out_proj_weight": flat(sa.out_proj.weight), "out_proj_bias": flat(sa.out_proj.bias),
        "linear1_weight": flat(layer.linear1.weight), "linear1_bias": flat(layer.linear1.bias),
        "linear2_weight": flat(layer.linear2.weight), "linear2_bias": flat(layer.linear2.bias),
        "norm1_weight": flat(layer.norm1.weight), "norm1_bias": flat(layer.norm1.bias),
        "norm2_weight": flat(layer.norm2.weight), "norm2_bias": flat(layer.norm2.bias),
    }


def run(module, xs):
    module.eval()
    with torch.inference_mode():
        return flat(torch.cat([module(x) for x in xs], 1))


def main():
    cases = []
    torch.manual_seed(0)
    xs = [torch.empty(1, n, D).uniform_(-1, 1) for n in LENGTHS]
    for norm_first in (False, True):
        for act in ("relu", "gelu"):
            layer = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=act, batch_first=True,
                                                     norm_first=norm_first)
            randomise(layer)
            cases.append({"name": f"layer {'pre' if norm_first else 'post'}-norm {act}", "norm_first": norm_first,
                          "activation": act, "layers": [layer_weights(layer)], "final_norm": None,
                          "out": run(layer, xs)})
    layer = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    stack = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False)
    for l in stack.layers:
        randomise(l)
        with torch.no_grad():
            for p in l.parameters():
                p.add_(torch.empty_like(p).uniform_(-0.05, 0.05))  # the two layers differ
    with torch.no_grad():
        stack.norm.weight.uniform_(0.5, 1.5)
        stack.norm.bias.uniform_(-0.5, 0.5)
    cases.append({"name": "2-layer pre-norm encoder with final norm", "norm_first": True, "activation": "gelu",
                  "layers": [layer_weights(l) for l in stack.layers],
                  "final_norm": {"weight": flat(stack.norm.weight), "bias": flat(stack.norm.bias)},
                  "out": run(stack, xs)})
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "encoder_pytorch.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/make_block_fixtures.py", "torch": torch.__version__, "d_model": D,
                   "heads": H, "ffn": FF, "eps": 1e-5, "lengths": LENGTHS, "x": flat(torch.cat(xs, 1)),
                   "cases": cases}, f)
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
