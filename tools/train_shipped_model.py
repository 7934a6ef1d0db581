#!/usr/bin/env python3
"""Trains the small GPT-2-style model eigenformer ships in models/kjv-gpt2, from nothing but
Debian packages:

  corpus     the King James Bible (public domain), printed by Debian's bible-kjv package:
             `bible -f "Genesis1:1-Revelation22:21"`, verse references stripped, one verse a line
  tokenizer  a byte-level BPE trained here on that corpus, written in GPT-2's file format
             (vocab.json + merges.txt; GPT-2's pre-tokenisation pattern; <|endoftext|> last)
  model      GPT-2 architecture (HF GPT2LMHeadModel layout: Conv1D [in, out] weights, tied head),
             trained with Debian's python3-torch on the CPU; weights saved as F16 safetensors
  card       models/kjv-gpt2/README.md with the command, corpus, steps, loss curve and license

    apt-get install bible-kjv python3-torch python3-matplotlib
    /usr/bin/python3 tools/train_shipped_model.py [--steps 2500] [--out models/kjv-gpt2]

Deterministic for a given seed, step count and thread count.
"""
import argparse
import collections
import json
import math
import os
import struct
import time

import torch

from kjv_corpus import PAT, bpe, bytes_to_unicode, corpus

VOCAB, D, LAYERS, HEADS, CTX = 2048, 192, 4, 6, 128
BATCH, SEQ = 16, 128
SEED = 1611


def train_bpe(text, vocab_size):
    b2u = bytes_to_unicode()
    words = collections.Counter(PAT.findall(text))
    seqs = {w: [b2u[b] for b in w.encode()] for w in words}
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for w, s in seqs.items():
        for a, b in zip(s, s[1:]):
            pairs[(a, b)] += words[w]
            where[(a, b)].add(w)
    merges = []
    while 256 + len(merges) < vocab_size - 1:  # the last id is <|endoftext|>
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = best[0] + best[1]
        for w in list(where[best]):
            s, f = seqs[w], words[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] -= f
                if pairs[(a, b)] <= 0:
                    del pairs[(a, b)]
                where[(a, b)].discard(w)
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == best[0] and s[i + 1] == best[1]:
                    out.append(merged)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
            for a, b in zip(out, out[1:]):
                pairs[(a, b)] += f
                where[(a, b)].add(w)
    vocab = {b2u[b]: i for i, b in enumerate(sorted(b2u))}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    ids = []
    cache = {}
    for piece in PAT.findall(text):
        if piece not in cache:
            cache[piece] = [vocab[t] for t in seqs_of(piece, b2u, merges)]
        ids.extend(cache[piece])
    return vocab, merges, ids


def seqs_of(piece, b2u, merges, _ranks={}):
    if not _ranks:
        _ranks.update({m: i for i, m in enumerate(merges)})
    return bpe(piece, b2u, _ranks)


class GPT2(torch.nn.Module):
    """HF GPT2LMHeadModel's computation with its parameter names (Conv1D weights [in, out])."""

    def __init__(self):
        super().__init__()
        p = torch.nn.ParameterDict()
        self.p = p
        def param(name, *shape, std=0.02, value=None):
            t = torch.full(shape, value) if value is not None else torch.randn(*shape) * std
            p[name.replace(".", "__")] = torch.nn.Parameter(t)
        param("wte.weight", VOCAB, D)
        param("wpe.weight", CTX, D, std=0.01)
        for i in range(LAYERS):
            h = f"h.{i}."
            param(h + "ln_1.weight", D, value=1.0)
            param(h + "ln_1.bias", D, value=0.0)
            param(h + "attn.c_attn.weight", D, 3 * D)
            param(h + "attn.c_attn.bias", 3 * D, value=0.0)
            param(h + "attn.c_proj.weight", D, D, std=0.02 / math.sqrt(2 * LAYERS))
            param(h + "attn.c_proj.bias", D, value=0.0)
            param(h + "ln_2.weight", D, value=1.0)
            param(h + "ln_2.bias", D, value=0.0)
            param(h + "mlp.c_fc.weight", D, 4 * D)
            param(h + "mlp.c_fc.bias", 4 * D, value=0.0)
            param(h + "mlp.c_proj.weight", 4 * D, D, std=0.02 / math.sqrt(2 * LAYERS))
            param(h + "mlp.c_proj.bias", D, value=0.0)
        param("ln_f.weight", D, value=1.0)
        param("ln_f.bias", D, value=0.0)

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def forward(self, idx):
        B, T = idx.shape
        x = self.w("wte.weight")[idx] + self.w("wpe.weight")[:T]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        hd = D // HEADS
        for i in range(LAYERS):
            h = f"h.{i}."
            a = torch.nn.functional.layer_norm(x, (D,), self.w(h + "ln_1.weight"), self.w(h + "ln_1.bias"), 1e-5)
            qkv = a @ self.w(h + "attn.c_attn.weight") + self.w(h + "attn.c_attn.bias")
            q, k, v = (t.view(B, T, HEADS, hd).transpose(1, 2) for t in qkv.split(D, -1))
            s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            att = torch.softmax(s.masked_fill(mask, float("-inf")), -1) @ v
            x = x + att.transpose(1, 2).reshape(B, T, D) @ self.w(h + "attn.c_proj.weight") + self.w(h + "attn.c_proj.bias")
            m = torch.nn.functional.layer_norm(x, (D,), self.w(h + "ln_2.weight"), self.w(h + "ln_2.bias"), 1e-5)
            m = torch.nn.functional.gelu(m @ self.w(h + "mlp.c_fc.weight") + self.w(h + "mlp.c_fc.bias"), approximate="tanh")
            x = x + m @ self.w(h + "mlp.c_proj.weight") + self.w(h + "mlp.c_proj.bias")
        x = torch.nn.functional.layer_norm(x, (D,), self.w("ln_f.weight"), self.w("ln_f.bias"), 1e-5)
        return x @ self.w("wte.weight").T


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float16).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F16", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "kjv-gpt2"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    text = corpus()
    vocab, merges, ids = train_bpe(text, VOCAB)
    print(f"corpus {len(text)} chars, BPE {len(vocab)} tokens, {len(ids)} tokens ({time.time() - t0:.0f} s)", flush=True)
    data = torch.tensor(ids, dtype=torch.long)
    split = int(len(data) * 0.98)
    train, val = data[:split], data[split:]
    model = GPT2()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.05)
    start = time.time()
    log, step = [], 0
    g = torch.Generator().manual_seed(SEED)
    while step < args.steps:
        frac = step / args.steps
        lr = 2e-3 * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        ix = torch.randint(0, len(train) - SEQ - 1, (BATCH,), generator=g)
        x = torch.stack([train[i:i + SEQ] for i in ix])
        y = torch.stack([train[i + 1:i + SEQ + 1] for i in ix])
        loss = torch.nn.functional.cross_entropy(model(x).view(-1, VOCAB), y.view(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0 or step == args.steps:
            with torch.no_grad():
                vx = torch.stack([val[i:i + SEQ] for i in range(0, 8 * SEQ, SEQ)])
                vy = torch.stack([val[i + 1:i + SEQ + 1] for i in range(0, 8 * SEQ, SEQ)])
                vloss = torch.nn.functional.cross_entropy(model(vx).view(-1, VOCAB), vy.view(-1)).item()
            log.append((step, time.time() - start, loss.item(), vloss))
            print(f"step {step} {time.time() - start:.0f}s lr {lr:.2e} train {loss.item():.3f} val {vloss:.3f}", flush=True)

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    names = ["wte.weight", "wpe.weight"]
    for i in range(LAYERS):
        names += [f"h.{i}.{n}" for n in ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                         "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                                         "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")]
    names += ["ln_f.weight", "ln_f.bias"]
    save_safetensors(os.path.join(out, "model.safetensors"), [("transformer." + n, model.w(n)) for n in names])
    eot = len(vocab) - 1
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": VOCAB, "n_positions": CTX,
              "n_embd": D, "n_layer": LAYERS, "n_head": HEADS, "n_inner": None, "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-5, "bos_token_id": eot, "eos_token_id": eot, "tie_word_embeddings": True,
              "torch_dtype": "float16"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w") as f:
        f.write("#version: 0.2 (trained by tools/train_shipped_model.py on the KJV corpus)\n")
        f.write("".join(f"{a} {b}\n" for a, b in merges))
    with open(os.path.join(out, "loss.csv"), "w") as f:
        f.write("step,seconds,train_loss,val_loss\n" + "".join(f"{s},{t:.1f},{a:.4f},{b:.4f}\n" for s, t, a, b in log))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.figure(figsize=(6, 3.5))
        plt.plot([r[0] for r in log], [r[2] for r in log], label="train")
        plt.plot([r[0] for r in log], [r[3] for r in log], label="validation (last 2% of the corpus)")
        plt.xlabel(f"step ({BATCH} x {SEQ} tokens)")
        plt.ylabel("cross-entropy (nats/token)")
        plt.legend()
        plt.tight_layout()
        plt.savefig(os.path.join(out, "loss.png"), dpi=100)
    except ImportError:
        pass
    summary = {"steps": step, "seconds": round(time.time() - start), "params": n_params, "corpus_chars": len(text),
               "corpus_tokens": len(ids), "final_train_loss": log[-1][2] if log else None,
               "final_val_loss": log[-1][3] if log else None, "torch": torch.__version__, "threads": args.threads,
               "batch": BATCH, "seq": SEQ, "seed": SEED}
    with open(os.path.join(out, "training.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
