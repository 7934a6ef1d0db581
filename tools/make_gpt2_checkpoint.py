#!/usr/bin/env python3
"""Writes a GPT-2-124M-shaped checkpoint with random weights (HF GPT2LMHeadModel layout, F32,
tied head, ~500 MB) for the load-time and generation benchmarks. Not committed.

    /usr/bin/python3 tools/make_gpt2_checkpoint.py build/gpt2-124m [--layers 12]
"""
import json
import os
import struct
import sys

import torch


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/gpt2-124m"
    layers = int(sys.argv[sys.argv.index("--layers") + 1]) if "--layers" in sys.argv else 12
    V, P, D, H = 50257, 1024, 768, 12
    torch.manual_seed(0)
    names = [("transformer.wte.weight", (V, D)), ("transformer.wpe.weight", (P, D))]
    for i in range(layers):
        p = f"transformer.h.{i}."
        names += [(p + "ln_1.weight", (D,)), (p + "ln_1.bias", (D,)), (p + "attn.c_attn.weight", (D, 3 * D)),
                  (p + "attn.c_attn.bias", (3 * D,)), (p + "attn.c_proj.weight", (D, D)), (p + "attn.c_proj.bias", (D,)),
                  (p + "ln_2.weight", (D,)), (p + "ln_2.bias", (D,)), (p + "mlp.c_fc.weight", (D, 4 * D)),
                  (p + "mlp.c_fc.bias", (4 * D,)), (p + "mlp.c_proj.weight", (4 * D, D)), (p + "mlp.c_proj.bias", (D,))]
    names += [("transformer.ln_f.weight", (D,)), ("transformer.ln_f.bias", (D,))]
    header, offset = {}, 0
    for n, shape in names:
        size = 4
        for s in shape:
            size *= s
        header[n] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for n, shape in names:
            if n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n.endswith("ln_f.weight"):
                t = torch.ones(shape)
            else:
                t = torch.randn(shape) * 0.02
            f.write(t.numpy().tobytes())
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": V, "n_positions": P,
              "n_embd": D, "n_layer": layers, "n_head": H, "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-5, "bos_token_id": 50256, "eos_token_id": 50256, "tie_word_embeddings": True}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {out}: {offset / 1e6:.1f} MB of F32 weights")


if __name__ == "__main__":
    main()
