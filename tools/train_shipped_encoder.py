#!/usr/bin/env python3
"""Trains the small ModernBERT-layout masked-LM eigenformer ships in models/kjv-modernbert, from
nothing but Debian packages:

  corpus     the King James Bible (public domain), printed by Debian's bible-kjv package:
             `bible -f "Genesis1:1-Revelation22:21"`, verse references stripped, one verse a line
             (tools/kjv_corpus.py); every 50th verse (from the 26th on) is held out
  tokenizer  a byte-level BPE trained here on that corpus (tools/train_shipped_model.py's trainer,
             4091 symbols: 256 bytes and 3835 merges) plus ModernBERT's special tokens [UNK] [CLS]
             [SEP] [PAD] [MASK] as added tokens after the vocabulary (ids 4091..4095), written as
             the Hugging Face tokenizers library writes tokenizer.json (and transformers'
             tokenizer_config.json and special_tokens_map.json)
  model      HF ModernBertForMaskedLM layout (fused Wqkv, RoPE, global attention every third layer
             and a 64-token sliding window elsewhere, GeGLU, no biases but the decoder's, decoder
             tied to the token embeddings), trained by masked-language modelling (30 % of the
             tokens, 80/10/10) with Debian's python3-torch on one CPU thread; F16 safetensors
  card       models/kjv-modernbert/README.md with the command, corpus, steps, loss curve, held-out
             figures, fill-mask examples and license; reference.json: float64 outputs of this
             script's module on the stored weights, for the C++ side to compare with

    apt-get install bible-kjv python3-torch python3-matplotlib
    /usr/bin/python3 tools/train_shipped_encoder.py [--steps 3000] [--out models/kjv-modernbert]

Deterministic for a given seed, step count and thread count.
"""
import argparse
import json
import math
import os
import struct
import time

import torch

from kjv_corpus import PAT, bpe, bytes_to_unicode, corpus
from train_shipped_model import train_bpe

BPE_VOCAB = 4091  # 256 byte symbols + 3835 merges
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]  # ModernBERT's order; ids BPE_VOCAB..+4
VOCAB = BPE_VOCAB + len(SPECIALS)
UNK, CLS, SEP, PAD, MASK = range(BPE_VOCAB, VOCAB)
D, LAYERS, HEADS, FFN = 192, 6, 3, 384  # heads of 64; GeGLU: Wi is [2 * FFN, D]
CTX, WINDOW, GLOBAL_EVERY = 128, 64, 3  # local layers see |i - j| <= WINDOW // 2
GLOBAL_THETA, LOCAL_THETA, EPS = 160000.0, 10000.0, 1e-5
BATCH, MASK_RATE = 16, 0.3
HELD_OUT_EVERY, HELD_OUT_FROM = 50, 25
SEED = 1611
HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------

class Tokenizer:
    """What tokenizer.json does: added tokens split out first ([MASK] takes the whitespace on its
    left, lstrip), each other span pre-tokenised by GPT-2's pattern and byte-level BPE'd; [CLS] and
    [SEP] around (TemplateProcessing)."""

    def __init__(self, vocab, merges):
        self.vocab, self.merges = vocab, merges
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()
        self.u2b = {u: b for b, u in self.b2u.items()}
        self.inv = {i: t for t, i in vocab.items()}
        for i, s in enumerate(SPECIALS):
            self.inv[BPE_VOCAB + i] = s
        self.cache = {}

    def _plain(self, text):
        ids = []
        for piece in PAT.findall(text):
            if piece not in self.cache:
                self.cache[piece] = [self.vocab[t] for t in bpe(piece, self.b2u, self.ranks)]
            ids.extend(self.cache[piece])
        return ids

    def encode(self, text, special=True):
        ids, rest = [], text
        while rest:
            hits = [(rest.find(s), s) for s in SPECIALS if s in rest]
            if not hits:
                ids += self._plain(rest)
                break
            at, s = min(hits)
            left = rest[:at]
            if s == "[MASK]":
                left = left.rstrip()
            ids += self._plain(left) + [BPE_VOCAB + SPECIALS.index(s)]
            rest = rest[at + len(s):]
        return [CLS] + ids + [SEP] if special else ids

    def token(self, i):
        """The text of token @p i (byte-level symbols decoded; a special token as itself)."""
        t = self.inv[i]
        if i >= BPE_VOCAB:
            return t
        return bytes(self.u2b[c] for c in t).decode("utf-8", "replace")


def added_token(i, s):
    return {"id": BPE_VOCAB + i, "content": s, "single_word": False, "lstrip": s == "[MASK]", "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(vocab, merges):
    """tokenizer.json with the keys, order and values the HF tokenizers library writes."""
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    special = lambda name, type_id: {"SpecialToken": {"id": name, "type_id": type_id}}
    seq = lambda name, type_id: {"Sequence": {"id": name, "type_id": type_id}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(i, s) for i, s in enumerate(SPECIALS)],
        "normalizer": None,
        "pre_tokenizer": byte_level,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)],
            "pair": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)],
            "special_tokens": {s: {"id": s, "ids": [BPE_VOCAB + SPECIALS.index(s)], "tokens": [s]}
                               for s in ("[CLS]", "[SEP]")},
        },
        "decoder": dict(byte_level),
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def tokenizer_config():
    """transformers' tokenizer_config.json for a PreTrainedTokenizerFast with ModernBERT's tokens."""
    dec = {}
    for i, s in enumerate(SPECIALS):
        t = added_token(i, s)
        dec[str(t["id"])] = {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
    return {"added_tokens_decoder": dec, "clean_up_tokenization_spaces": True, "cls_token": "[CLS]",
            "extra_special_tokens": {}, "mask_token": "[MASK]", "model_input_names": ["input_ids", "attention_mask"],
            "model_max_length": CTX, "pad_token": "[PAD]", "sep_token": "[SEP]",
            "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"}


def special_tokens_map():
    out = {}
    for i, s in enumerate(SPECIALS):
        t = added_token(i, s)
        out[s[1:-1].lower() + "_token"] = {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word")}
    return out


def model_config():
    """config.json as transformers 4.48-4.5x's ModernBertConfig.save_pretrained writes it."""
    return {"architectures": ["ModernBertForMaskedLM"], "attention_bias": False, "attention_dropout": 0.0,
            "bos_token_id": CLS, "classifier_activation": "gelu", "classifier_bias": False, "classifier_dropout": 0.0,
            "classifier_pooling": "cls", "cls_token_id": CLS, "decoder_bias": True, "deterministic_flash_attn": False,
            "embedding_dropout": 0.0, "eos_token_id": SEP, "global_attn_every_n_layers": GLOBAL_EVERY,
            "global_rope_theta": GLOBAL_THETA, "hidden_activation": "gelu", "hidden_size": D,
            "initializer_cutoff_factor": 2.0, "initializer_range": 0.02, "intermediate_size": FFN,
            "local_attention": WINDOW, "local_rope_theta": LOCAL_THETA, "max_position_embeddings": CTX,
            "mlp_bias": False, "mlp_dropout": 0.0, "model_type": "modernbert", "norm_bias": False, "norm_eps": EPS,
            "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "pad_token_id": PAD, "reference_compile": None,
            "repad_logits_with_grad": False, "sep_token_id": SEP, "sparse_pred_ignore_index": -100,
            "sparse_prediction": False, "torch_dtype": "float16", "transformers_version": "4.51.3",
            "vocab_size": VOCAB}


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

def tensor_names():
    names = ["model.embeddings.tok_embeddings.weight", "model.embeddings.norm.weight"]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        names += ([p + "attn_norm.weight"] if i > 0 else []) + [
            p + "attn.Wqkv.weight", p + "attn.Wo.weight", p + "mlp_norm.weight", p + "mlp.Wi.weight", p + "mlp.Wo.weight"]
    return names + ["model.final_norm.weight", "head.dense.weight", "head.norm.weight", "decoder.bias"]


class ModernBert(torch.nn.Module):
    """HF ModernBertForMaskedLM's computation (eager attention, padded batches) with its parameter
    names; the decoder's weight is the token embedding table."""

    def __init__(self, g):
        super().__init__()
        self.p = torch.nn.ParameterDict()
        std_in, std_out = 0.02, 0.02 / math.sqrt(2 * LAYERS)

        def trunc(*shape, std):  # HF's init: truncated normal, cut at 2 std (initializer_cutoff_factor)
            t = torch.randn(*shape, generator=g) * std
            return t.clamp_(-2 * std, 2 * std)

        shapes = {"tok_embeddings.weight": ((VOCAB, D), std_in), "Wqkv.weight": ((3 * D, D), std_in),
                  "attn.Wo.weight": ((D, D), std_out), "Wi.weight": ((2 * FFN, D), std_in),
                  "mlp.Wo.weight": ((D, FFN), std_out), "dense.weight": ((D, D), std_out)}
        for n in tensor_names():
            if n.endswith("norm.weight"):
                t = torch.ones(D)
            elif n == "decoder.bias":
                t = torch.zeros(VOCAB)
            else:
                shape, std = next(v for k, v in shapes.items() if n.endswith(k))
                t = trunc(*shape, std=std)
            self.p[n.replace(".", "__")] = torch.nn.Parameter(t)

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def hidden(self, ids, valid=None):
        """ids [B, T] (one sequence per row from position 0; @p valid [B, T] bool: real tokens)
        -> the final_norm output [B, T, D]."""
        B, T = ids.shape
        dt = self.w("model.final_norm.weight").dtype
        ln = lambda x, n: torch.nn.functional.layer_norm(x, (D,), self.w(n), None, EPS)
        x = ln(self.w("model.embeddings.tok_embeddings.weight")[ids], "model.embeddings.norm.weight")
        hd = D // HEADS
        pos = torch.arange(T, dtype=torch.float64)
        rope = {}
        for kind, theta in (("global", GLOBAL_THETA), ("local", LOCAL_THETA)):
            inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
            f = torch.outer(pos, inv)
            f = torch.cat((f, f), -1)
            rope[kind] = (f.cos().to(dt), f.sin().to(dt))
        dist = (pos[:, None] - pos[None, :]).abs()
        key_ok = torch.ones(B, 1, 1, T, dtype=torch.bool) if valid is None else valid[:, None, None, :]
        masks = {"global": key_ok, "local": key_ok & (dist <= WINDOW // 2)[None, None]}
        rot = lambda t: torch.cat((-t[..., hd // 2:], t[..., :hd // 2]), -1)
        for i in range(LAYERS):
            p = f"model.layers.{i}."
            kind = "global" if i % GLOBAL_EVERY == 0 else "local"
            a = x if i == 0 else ln(x, p + "attn_norm.weight")
            qkv = (a @ self.w(p + "attn.Wqkv.weight").T).view(B, T, 3, HEADS, hd)
            q, k, v = qkv.permute(2, 0, 3, 1, 4)  # [B, heads, T, hd] each
            cos, sin = rope[kind]
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            s = (q @ k.transpose(-1, -2)) * hd ** -0.5
            s = s.masked_fill(~masks[kind], torch.finfo(dt).min)
            att = torch.softmax(s, -1) @ v
            x = x + att.transpose(1, 2).reshape(B, T, D) @ self.w(p + "attn.Wo.weight").T
            inp, gate = (ln(x, p + "mlp_norm.weight") @ self.w(p + "mlp.Wi.weight").T).chunk(2, -1)
            x = x + (torch.nn.functional.gelu(inp) * gate) @ self.w(p + "mlp.Wo.weight").T
        return ln(x, "model.final_norm.weight")

    def logits(self, h):
        """The MLM head on hidden rows h [..., D] -> [..., VOCAB]."""
        h = torch.nn.functional.gelu(h @ self.w("head.dense.weight").T)
        h = torch.nn.functional.layer_norm(h, (D,), self.w("head.norm.weight"), None, EPS)
        return h @ self.w("model.embeddings.tok_embeddings.weight").T + self.w("decoder.bias")


def save_safetensors(path, tensors):
    """Safetensors as the Rust library writes it: names sorted, compact header, __metadata__ first,
    padded with spaces to 8 bytes."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in sorted(tensors):
        data = t.detach().to(torch.float16).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F16", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float16).view(h["shape"])
    return out


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def pack(first, later, start):
    """One [CLS] v_start v_start+1 ... [SEP] sequence of consecutive verses (@p first: a verse's ids
    at the start of a text, @p later: after a space) up to CTX tokens; a verse too long for an
    empty sequence is cut. Returns (ids, the next verse)."""
    ids, i = first[start][:CTX - 2], start + 1
    while i < len(later) and len(ids) + len(later[i]) <= CTX - 2:
        ids = ids + later[i]
        i += 1
    return [CLS] + ids + [SEP], i


def batch_of(seqs):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), PAD, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = torch.tensor(s)
    return ids, ids != PAD


def mask_tokens(ids, valid, g):
    """ModernBERT's MLM corruption: 30 % of the real (not special) tokens are chosen; of those 80 %
    become [MASK], 10 % a random vocabulary token, 10 % stay. Labels -100 elsewhere."""
    can = valid & (ids < BPE_VOCAB)
    chosen = (torch.rand(ids.shape, generator=g) < MASK_RATE) & can
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=g)
    rnd = torch.randint(0, BPE_VOCAB, ids.shape, generator=g)
    out = torch.where(chosen & (r < 0.8), torch.full_like(ids, MASK), ids)
    out = torch.where(chosen & (r >= 0.8) & (r < 0.9), rnd, out)
    return out, labels


def mlm_loss(model, ids, valid, labels):
    h = model.hidden(ids, valid)
    sel = labels != -100
    logits = model.logits(h[sel])  # sparse prediction: the head only on the chosen rows
    y = labels[sel]
    return torch.nn.functional.cross_entropy(logits, y, reduction="sum"), (logits.argmax(-1) == y).sum(), y.numel()


def evaluate(model, batches):
    tot, right, n = 0.0, 0, 0
    with torch.no_grad():
        for ids, valid, labels in batches:
            l, c, k = mlm_loss(model, ids, valid, labels)
            tot, right, n = tot + l.item(), right + c.item(), n + k
    return tot / n, right / n, n


# ---------------------------------------------------------------------------------------------
# Reference outputs and fill-mask
# ---------------------------------------------------------------------------------------------

REFERENCE_TEXTS = [
    "In the beginning God created the heaven and the earth.",
    "And the LORD said unto Moses, Go in unto [MASK], and tell him, Thus saith the LORD God of the Hebrews, "
    "Let my people go, that they may serve me. For if thou refuse to let them go, and wilt hold them still, "
    "behold, the hand of the LORD is upon thy cattle which is in the field.",
    "Blessed are the meek: for they shall inherit the earth.",
]
FILL_MASK = [
    "In the beginning God created the [MASK] and the earth.",
    "And God said, Let there be [MASK]: and there was light.",
    "The LORD is my [MASK]; I shall not want.",
    "For God so loved the [MASK], that he gave his only begotten Son.",
    "Jesus wept, and the [MASK] said, Behold how he loved him!",
    "And the children of [MASK] went up out of the land of Egypt.",
]


def fill_mask(model, tok, text, top=5):
    ids = tok.encode(text)
    with torch.no_grad():
        h = model.hidden(torch.tensor([ids]))[0]
        out = []
        for pos in [i for i, t in enumerate(ids) if t == MASK]:
            p = torch.softmax(model.logits(h[pos]), -1)
            v, ix = p.topk(top)
            out.append([(tok.token(int(i)), round(float(x), 4)) for x, i in zip(v, ix)])
    return out


def reference(model, tok):
    """Float64 outputs of the module on the stored weights for REFERENCE_TEXTS, packed."""
    ids = [tok.encode(t) for t in REFERENCE_TEXTS]
    offsets = [0]
    for s in ids:
        offsets.append(offsets[-1] + len(s))
    hidden, mask_pos, mask_logits, top5 = [], [], [], []
    with torch.no_grad():
        for k, s in enumerate(ids):
            h = model.hidden(torch.tensor([s]))[0]
            hidden += h.flatten().tolist()
            for pos in [i for i, t in enumerate(s) if t == MASK]:
                lg = model.logits(h[pos])
                mask_pos.append(offsets[k] + pos)
                mask_logits += lg.tolist()
                top5.append([[int(i), tok.token(int(i)), float(v)] for v, i in zip(*lg.topk(5))])
    return {"texts": REFERENCE_TEXTS, "ids": [i for s in ids for i in s], "offsets": offsets,
            "hidden_size": D, "vocab_size": VOCAB, "dtype": "float64 on the F16 weights of model.safetensors",
            "hidden": hidden, "mask_positions": mask_pos, "mask_logits": mask_logits, "mask_top5": top5}


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "models", "kjv-modernbert"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-3)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    text = corpus()
    vocab, merges, _ = train_bpe(text, BPE_VOCAB + 1)  # its last id is <|endoftext|>: dropped
    del vocab["<|endoftext|>"]
    assert len(vocab) == BPE_VOCAB and sorted(vocab.values()) == list(range(BPE_VOCAB))
    tok = Tokenizer(vocab, merges)
    verses = text.splitlines()
    first = [tok.encode(v, special=False) for v in verses]
    later = [tok.encode(" " + v, special=False) for v in verses]
    held = [i for i in range(len(verses)) if i % HELD_OUT_EVERY == HELD_OUT_FROM]
    held_set = set(held)
    train_ix = [i for i in range(len(verses)) if i not in held_set]
    tfirst, tlater = [first[i] for i in train_ix], [later[i] for i in train_ix]
    n_tokens = sum(len(s) for s in first)
    print(f"corpus {len(text)} chars, {len(verses)} verses, BPE {len(vocab)} + {len(SPECIALS)} special tokens, "
          f"{n_tokens} tokens; {len(held)} verses held out ({time.time() - t0:.0f} s)", flush=True)

    # Held out: each held-out verse its own sequence (they are not neighbours), masked once.
    ge = torch.Generator().manual_seed(SEED + 1)
    held_batches = []
    for b in range(0, len(held), 64):
        ids, valid = batch_of([[CLS] + first[i][:CTX - 2] + [SEP] for i in held[b:b + 64]])
        inp, labels = mask_tokens(ids, valid, ge)
        held_batches.append((inp, valid, labels))
    monitor = held_batches[:2]  # the held-out loss logged during training: the first 128 verses

    g = torch.Generator().manual_seed(SEED)
    model = ModernBert(g)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.p.items() if not n.endswith("norm__weight") and not n.endswith("bias")]
    other = [p for n, p in model.p.items() if n.endswith("norm__weight") or n.endswith("bias")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    warm = max(1, args.steps // 20)
    start = time.time()
    log, step, seen = [], 0, 0
    while step < args.steps:
        lr = args.lr * min(1.0, (step + 1) / warm) * (
            0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * max(0, step - warm) / max(1, args.steps - warm))))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(tfirst), (BATCH,), generator=g).tolist()
        ids, valid = batch_of([pack(tfirst, tlater, s)[0] for s in starts])
        inp, labels = mask_tokens(ids, valid, g)
        total, right, n = mlm_loss(model, inp, valid, labels)
        loss = total / n
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int(valid.sum())
        if step % 25 == 0 or step == args.steps or step in (1, 5):
            vloss, vacc, _ = evaluate(model, monitor)
            log.append((step, time.time() - start, loss.item(), (right / n).item(), vloss, vacc))
            print(f"step {step} {time.time() - start:.0f}s lr {lr:.2e} train {loss.item():.3f} acc {(right / n).item():.3f}"
                  f" held-out {vloss:.3f} acc {vacc:.3f}", flush=True)
    seconds = time.time() - start

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    save_safetensors(os.path.join(out, "model.safetensors"),
                     [(n, model.w(n)) for n in tensor_names()])
    f32_loss, f32_acc, _ = evaluate(model, held_batches)

    # Everything below runs on the weights as stored (F16), upcast.
    stored = load_safetensors(os.path.join(out, "model.safetensors"))
    assert sorted(stored) == sorted(tensor_names())
    ref = ModernBert(torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        for n in tensor_names():
            ref.w(n).copy_(stored[n].double())
    f16 = ModernBert(torch.Generator().manual_seed(0))
    with torch.no_grad():
        for n in tensor_names():
            f16.w(n).copy_(stored[n].float())
    held_loss, held_acc, held_n = evaluate(f16, held_batches)
    print(f"held-out ({len(held)} verses, {held_n} masked tokens): loss {held_loss:.4f} acc {held_acc:.4f} "
          f"(F32 weights before saving: {f32_loss:.4f} / {f32_acc:.4f})", flush=True)
    fills = [(t, fill_mask(ref, tok, t)) for t in FILL_MASK]
    for t, f in fills:
        print(t, "->", f, flush=True)

    def dump(name, obj, **kw):
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, ensure_ascii=False, **kw)
            f.write("\n")

    dump("config.json", model_config(), indent=2, sort_keys=True)
    dump("tokenizer.json", tokenizer_json(vocab, merges), indent=2)
    dump("tokenizer_config.json", tokenizer_config(), indent=2, sort_keys=True)
    dump("special_tokens_map.json", special_tokens_map(), indent=2, sort_keys=True)
    dump("reference.json", reference(ref, tok))
    with open(os.path.join(out, "loss.csv"), "w") as f:
        f.write("step,seconds,train_loss,train_masked_accuracy,held_out_loss,held_out_masked_accuracy\n" +
                "".join(f"{s},{t:.1f},{a:.4f},{b:.4f},{c:.4f},{d:.4f}\n" for s, t, a, b, c, d in log))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.figure(figsize=(6, 3.5))
        plt.plot([r[0] for r in log], [r[2] for r in log], label="train (this step's batch)")
        plt.plot([r[0] for r in log], [r[4] for r in log], label="held out (128 verses)")
        plt.xlabel(f"step ({BATCH} sequences of up to {CTX} tokens)")
        plt.ylabel("MLM cross-entropy (nats/masked token)")
        plt.legend()
        plt.tight_layout()
        plt.savefig(os.path.join(out, "loss.png"), dpi=100)
    except ImportError:
        pass
    summary = {"steps": step, "seconds": round(seconds), "params": n_params, "corpus_chars": len(text),
               "corpus_verses": len(verses), "corpus_tokens": n_tokens, "train_tokens_seen": seen,
               "held_out_verses": len(held), "held_out_masked_tokens": held_n,
               "final_train_loss": log[-1][2], "final_train_masked_accuracy": log[-1][3],
               "held_out_loss": held_loss, "held_out_masked_accuracy": held_acc,
               "held_out_loss_f32": f32_loss, "held_out_masked_accuracy_f32": f32_acc,
               "fill_mask": {t: f for t, f in fills}, "torch": torch.__version__, "threads": args.threads,
               "batch": BATCH, "seq": CTX, "mask_rate": MASK_RATE, "lr": args.lr, "warmup": warm, "seed": SEED}
    dump("training.json", summary, indent=2)
    print(json.dumps({k: v for k, v in summary.items() if k != "fill_mask"}), flush=True)


if __name__ == "__main__":
    main()
