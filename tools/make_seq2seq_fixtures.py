#!/usr/bin/env python3
"""Writes tests/data/seq2seq_pytorch.json: PyTorch nn.Transformer outputs (encoder-decoder, post-norm,
ReLU, final encoder and decoder norms, causal target mask) for the C++ encoder-decoder test.

Run with Debian's python3-torch:
    /usr/bin/python3 tools/make_seq2seq_fixtures.py

d_model 32, 4 heads, FFN 64, 2 encoder and 2 decoder layers; two (source, target) pairs of
lengths (5, 4) and (11, 7), each run on its own. Weights as PyTorch holds them ([out, in]).
"""
import json
import os

import torch

D, H, FF = 32, 4, 64
SRC, TGT = [5, 11], [4, 7]


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def attn(m):
    return {"in_proj_weight": flat(m.in_proj_weight), "in_proj_bias": flat(m.in_proj_bias),
            "out_proj_weight": flat(m.out_proj.weight), "out_proj_bias": flat(m.out_proj.bias)}


def common(layer, norms):
    w = {"linear1_weight": flat(layer.linear1.weight), "linear1_bias": flat(layer.linear1.bias),
         "linear2_weight": flat(layer.linear2.weight), "linear2_bias": flat(layer.linear2.bias)}
    for n in norms:
        norm = getattr(layer, n)
        w[n + "_weight"], w[n + "_bias"] = flat(norm.weight), flat(norm.bias)
    return w


def main():
    torch.manual_seed(3)
    model = torch.nn.Transformer(D, H, 2, 2, FF, dropout=0.0, batch_first=True)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5) if name.endswith("weight") else p.uniform_(-0.3, 0.3)
            elif name.endswith("bias"):
                p.uniform_(-0.2, 0.2)
    model.eval()
    srcs = [torch.empty(1, n, D).uniform_(-1, 1) for n in SRC]
    tgts = [torch.empty(1, n, D).uniform_(-1, 1) for n in TGT]
    outs = []
    with torch.inference_mode():
        for s, t in zip(srcs, tgts):
            mask = model.generate_square_subsequent_mask(t.shape[1])
            outs.append(model(s, t, tgt_mask=mask))
    enc = [dict(self_attn=attn(l.self_attn), **common(l, ["norm1", "norm2"])) for l in model.encoder.layers]
    dec = [dict(self_attn=attn(l.self_attn), cross_attn=attn(l.multihead_attn), **common(l, ["norm1", "norm2", "norm3"]))
           for l in model.decoder.layers]
    fixture = {"generator": "tools/make_seq2seq_fixtures.py", "torch": torch.__version__, "d_model": D, "heads": H,
               "ffn": FF, "eps": 1e-5, "src_lengths": SRC, "tgt_lengths": TGT,
               "src": flat(torch.cat(srcs, 1)), "tgt": flat(torch.cat(tgts, 1)),
               "encoder": enc, "decoder": dec,
               "encoder_norm": {"weight": flat(model.encoder.norm.weight), "bias": flat(model.encoder.norm.bias)},
               "decoder_norm": {"weight": flat(model.decoder.norm.weight), "bias": flat(model.decoder.norm.bias)},
               "out": flat(torch.cat(outs, 1))}
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "seq2seq_pytorch.json")
    with open(path, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
