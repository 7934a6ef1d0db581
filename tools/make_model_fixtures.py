#!/usr/bin/env python3
"""Writes small checkpoint folders in exactly the Hugging Face layouts, and the outputs of plain
PyTorch implementations of those layouts, for the preset tests:

    tests/data/models/bert/        BertForPreTraining-style names ("bert." prefix, pooler,
                                   cls.predictions with the decoder tied, cls.seq_relationship)
    tests/data/models/bert_f16/    the same weights stored as F16
    tests/data/models/gpt2/        GPT2LMHeadModel ("transformer." prefix, head tied: not stored)
    tests/data/models/gpt2_bf16/   the same weights stored as BF16
    tests/data/models/llama/       LlamaForCausalLM ("model." prefix, GQA, untied lm_head),
                                   rope_theta 500000
    tests/data/models/llama_sharded/  the same weights in two shards + model.safetensors.index.json

Each folder has config.json, the weights, and reference.json: a packed batch of three sequences
(ids, offsets, token types) and the reference hidden states, pooled output and logits, computed in
float64 from the weights exactly as stored (F16/BF16 weights upcast), so the only differences
left to the C++ side are its own float32 roundings.

Run with Debian's python3-torch (no transformers package needed):
    /usr/bin/python3 tools/make_model_fixtures.py
"""
import json
import math
import os
import shutil
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "models")
LENGTHS = [5, 1, 9]


def flat(t):
    return [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def write_safetensors(path, tensors, dtype="F32"):
    """tensors: list of (name, float tensor). Stored as dtype (F32, F16 or BF16)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        t = t.detach().contiguous()
        if dtype == "F32":
            data = t.to(torch.float32).numpy().tobytes()
        elif dtype == "F16":
            data = t.to(torch.float16).numpy().tobytes()
        else:
            data = t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def stored(t, dtype):
    """The float64 value a weight has once written as dtype and read back."""
    if dtype == "F16":
        return t.to(torch.float16).to(torch.float64)
    if dtype == "BF16":
        return t.to(torch.bfloat16).to(torch.float64)
    return t.to(torch.float32).to(torch.float64)


def rnd(*shape, scale=0.3):
    return torch.randn(*shape) * scale


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * g + b


def rms_norm(x, g, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * g


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def attention(q, k, v, heads, kv_heads, causal):
    """q: [n, heads*hd], k, v: [n, kv_heads*hd] -> [n, heads*hd]."""
    n, hd = q.shape[0], q.shape[1] // heads
    out = torch.zeros_like(q)
    for h in range(heads):
        g = h // (heads // kv_heads)
        qh, kh, vh = q[:, h * hd:(h + 1) * hd], k[:, g * hd:(g + 1) * hd], v[:, g * hd:(g + 1) * hd]
        s = qh @ kh.T / math.sqrt(hd)
        if causal:
            s = s.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        out[:, h * hd:(h + 1) * hd] = torch.softmax(s, -1) @ vh
    return out


def greedy_tokens(next_logits, prompt, steps):
    """Greedy continuation by full recomputation in float64: the tokens, and at each step the gap
    between the best and second-best logit (a float32 implementation must agree where it is not tiny)."""
    seq, out, gaps = list(prompt), [], []
    for _ in range(steps):
        l = next_logits(torch.tensor(seq))
        top = torch.topk(l, 2)
        out.append(int(top.indices[0]))
        gaps.append(float(top.values[0] - top.values[1]))
        seq.append(out[-1])
    return {"prompt": list(prompt), "tokens": out, "gaps": gaps}


def save(name, config, tensors, dtype, reference, shards=1):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype)
    else:
        half = len(tensors) // 2
        parts = [tensors[:half], tensors[half:]]
        weight_map = {}
        for i, part in enumerate(parts):
            fname = f"model-{i + 1:05d}-of-{len(parts):05d}.safetensors"
            write_safetensors(os.path.join(d, fname), part, dtype)
            for n, _ in part:
                weight_map[n] = fname
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(reference, f)


def packed_ids(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (sum(LENGTHS),), generator=g)
    offsets = [0]
    for n in LENGTHS:
        offsets.append(offsets[-1] + n)
    return ids, offsets


# ---------------------------------------------------------------- BERT
def bert(dtype, name):
    torch.manual_seed(1)
    V, D, H, L, FF, P, TV, EPS = 64, 32, 4, 2, 64, 40, 2, 1e-12
    T = {}
    T["bert.embeddings.word_embeddings.weight"] = rnd(V, D)
    T["bert.embeddings.position_embeddings.weight"] = rnd(P, D)
    T["bert.embeddings.token_type_embeddings.weight"] = rnd(TV, D)
    T["bert.embeddings.LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
    T["bert.embeddings.LayerNorm.bias"] = rnd(D, scale=0.1)
    for i in range(L):
        p = f"bert.encoder.layer.{i}."
        for m in ("query", "key", "value"):
            T[p + f"attention.self.{m}.weight"] = rnd(D, D)
            T[p + f"attention.self.{m}.bias"] = rnd(D, scale=0.1)
        T[p + "attention.output.dense.weight"] = rnd(D, D)
        T[p + "attention.output.dense.bias"] = rnd(D, scale=0.1)
        T[p + "attention.output.LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
        T[p + "attention.output.LayerNorm.bias"] = rnd(D, scale=0.1)
        T[p + "intermediate.dense.weight"] = rnd(FF, D)
        T[p + "intermediate.dense.bias"] = rnd(FF, scale=0.1)
        T[p + "output.dense.weight"] = rnd(D, FF)
        T[p + "output.dense.bias"] = rnd(D, scale=0.1)
        T[p + "output.LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
        T[p + "output.LayerNorm.bias"] = rnd(D, scale=0.1)
    T["bert.pooler.dense.weight"] = rnd(D, D)
    T["bert.pooler.dense.bias"] = rnd(D, scale=0.1)
    T["cls.predictions.bias"] = rnd(V, scale=0.1)
    T["cls.predictions.transform.dense.weight"] = rnd(D, D)
    T["cls.predictions.transform.dense.bias"] = rnd(D, scale=0.1)
    T["cls.predictions.transform.LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
    T["cls.predictions.transform.LayerNorm.bias"] = rnd(D, scale=0.1)
    T["cls.seq_relationship.weight"] = rnd(2, D)
    T["cls.seq_relationship.bias"] = rnd(2, scale=0.1)
    W = {k: stored(v, dtype) for k, v in T.items()}

    ids, offsets = packed_ids(V, 11)
    g = torch.Generator().manual_seed(12)
    types = torch.randint(0, TV, (len(ids),), generator=g)
    hidden, pooled = [], []
    for s in range(len(LENGTHS)):
        a, b = offsets[s], offsets[s + 1]
        n = b - a
        x = W["bert.embeddings.word_embeddings.weight"][ids[a:b]] + W["bert.embeddings.position_embeddings.weight"][:n] \
            + W["bert.embeddings.token_type_embeddings.weight"][types[a:b]]
        x = layer_norm(x, W["bert.embeddings.LayerNorm.weight"], W["bert.embeddings.LayerNorm.bias"], EPS)
        for i in range(L):
            p = f"bert.encoder.layer.{i}."
            lin = lambda h, m: h @ W[p + m + ".weight"].T + W[p + m + ".bias"]
            att = attention(lin(x, "attention.self.query"), lin(x, "attention.self.key"), lin(x, "attention.self.value"),
                            H, H, False)
            x = layer_norm(x + lin(att, "attention.output.dense"), W[p + "attention.output.LayerNorm.weight"],
                           W[p + "attention.output.LayerNorm.bias"], EPS)
            f = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
            x = layer_norm(x + f, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], EPS)
        hidden.append(x)
        pooled.append(torch.tanh(x[0] @ W["bert.pooler.dense.weight"].T + W["bert.pooler.dense.bias"]))
    hidden = torch.cat(hidden)
    h = gelu(hidden @ W["cls.predictions.transform.dense.weight"].T + W["cls.predictions.transform.dense.bias"])
    h = layer_norm(h, W["cls.predictions.transform.LayerNorm.weight"], W["cls.predictions.transform.LayerNorm.bias"], EPS)
    logits = h @ W["bert.embeddings.word_embeddings.weight"].T + W["cls.predictions.bias"]
    config = {"architectures": ["BertForPreTraining"], "model_type": "bert", "vocab_size": V, "hidden_size": D,
              "num_hidden_layers": L, "num_attention_heads": H, "intermediate_size": FF, "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": P,
              "type_vocab_size": TV, "initializer_range": 0.02, "layer_norm_eps": EPS, "pad_token_id": 0,
              "position_embedding_type": "absolute", "torch_dtype": "float32"}
    ref = {"ids": ids.tolist(), "offsets": offsets, "token_types": types.tolist(), "hidden": flat(hidden),
           "pooled": flat(torch.stack(pooled)), "logits": flat(logits)}
    save(name, config, list(T.items()), dtype, ref)
    # A 64-token WordPiece vocabulary, so that the tools can run this model from text.
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?", "'", "the", "a", "is", "of", "and",
             "to", "in", "it", "that", "was", "he", "she", "for", "on", "are", "with", "as", "his", "her", "they",
             "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all",
             "were", "we", "when", "your", "can", "said", "there", "use", "paris", "capital", "france", "hello",
             "world", "##s", "##ed", "##ing", "##ly", "##er", "##est", "##ion"]
    assert len(words) == V
    with open(os.path.join(OUT, name, "vocab.txt"), "w") as f:
        f.write("\n".join(words) + "\n")


# ---------------------------------------------------------------- GPT-2
def gpt2(dtype, name):
    torch.manual_seed(2)
    V, D, H, L, P, EPS = 80, 32, 4, 2, 32, 1e-5
    T = {}
    T["transformer.wte.weight"] = rnd(V, D)
    T["transformer.wpe.weight"] = rnd(P, D)
    for i in range(L):
        p = f"transformer.h.{i}."
        T[p + "ln_1.weight"] = 1 + rnd(D, scale=0.1)
        T[p + "ln_1.bias"] = rnd(D, scale=0.1)
        T[p + "attn.c_attn.weight"] = rnd(D, 3 * D)  # Conv1D: [in, out]
        T[p + "attn.c_attn.bias"] = rnd(3 * D, scale=0.1)
        T[p + "attn.c_proj.weight"] = rnd(D, D)
        T[p + "attn.c_proj.bias"] = rnd(D, scale=0.1)
        T[p + "ln_2.weight"] = 1 + rnd(D, scale=0.1)
        T[p + "ln_2.bias"] = rnd(D, scale=0.1)
        T[p + "mlp.c_fc.weight"] = rnd(D, 4 * D)
        T[p + "mlp.c_fc.bias"] = rnd(4 * D, scale=0.1)
        T[p + "mlp.c_proj.weight"] = rnd(4 * D, D)
        T[p + "mlp.c_proj.bias"] = rnd(D, scale=0.1)
    T["transformer.ln_f.weight"] = 1 + rnd(D, scale=0.1)
    T["transformer.ln_f.bias"] = rnd(D, scale=0.1)
    W = {k: stored(v, dtype) for k, v in T.items()}
    ids, offsets = packed_ids(V, 21)

    def run(seq):
        n = len(seq)
        x = W["transformer.wte.weight"][seq] + W["transformer.wpe.weight"][:n]
        for i in range(L):
            p = f"transformer.h.{i}."
            h = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], EPS)
            qkv = h @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
            att = attention(qkv[:, :D], qkv[:, D:2 * D], qkv[:, 2 * D:], H, H, True)
            x = x + att @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
            h = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], EPS)
            x = x + gelu_tanh(h @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]) @ W[p + "mlp.c_proj.weight"] \
                + W[p + "mlp.c_proj.bias"]
        return layer_norm(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], EPS)

    hidden = [run(ids[offsets[s]:offsets[s + 1]]) for s in range(len(LENGTHS))]
    greedy = greedy_tokens(lambda seq: run(seq)[-1] @ W["transformer.wte.weight"].T, ids[:LENGTHS[0]].tolist(), 12)
    hidden = torch.cat(hidden)
    logits = hidden @ W["transformer.wte.weight"].T
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": V, "n_positions": P,
              "n_embd": D, "n_layer": L, "n_head": H, "n_inner": None, "activation_function": "gelu_new",
              "layer_norm_epsilon": EPS, "bos_token_id": V - 1, "eos_token_id": V - 1, "resid_pdrop": 0.1,
              "embd_pdrop": 0.1, "attn_pdrop": 0.1, "scale_attn_weights": True, "tie_word_embeddings": True}
    ref = {"ids": ids.tolist(), "offsets": offsets, "hidden": flat(hidden), "logits": flat(logits), "greedy": greedy}
    save(name, config, list(T.items()), dtype, ref)


# ---------------------------------------------------------------- LLaMA
def llama(dtype, name, shards=1):
    torch.manual_seed(3)
    V, D, H, KV, L, FF, P, EPS, THETA = 72, 64, 4, 2, 2, 96, 64, 1e-6, 500000.0
    hd = D // H
    T = {}
    T["model.embed_tokens.weight"] = rnd(V, D)
    for i in range(L):
        p = f"model.layers.{i}."
        T[p + "self_attn.q_proj.weight"] = rnd(H * hd, D)
        T[p + "self_attn.k_proj.weight"] = rnd(KV * hd, D)
        T[p + "self_attn.v_proj.weight"] = rnd(KV * hd, D)
        T[p + "self_attn.o_proj.weight"] = rnd(D, H * hd)
        T[p + "mlp.gate_proj.weight"] = rnd(FF, D)
        T[p + "mlp.up_proj.weight"] = rnd(FF, D)
        T[p + "mlp.down_proj.weight"] = rnd(D, FF)
        T[p + "input_layernorm.weight"] = 1 + rnd(D, scale=0.1)
        T[p + "post_attention_layernorm.weight"] = 1 + rnd(D, scale=0.1)
    T["model.norm.weight"] = 1 + rnd(D, scale=0.1)
    T["lm_head.weight"] = rnd(V, D)
    W = {k: stored(v, dtype) for k, v in T.items()}
    ids, offsets = packed_ids(V, 31)

    inv_freq = 1.0 / (THETA ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))

    def rope(x, heads, n):
        pos = torch.arange(n, dtype=torch.float64)[:, None] * inv_freq[None, :]
        cos, sin = torch.cat([pos.cos(), pos.cos()], -1), torch.cat([pos.sin(), pos.sin()], -1)
        out = x.clone()
        for h in range(heads):
            xh = x[:, h * hd:(h + 1) * hd]
            rot = torch.cat([-xh[:, hd // 2:], xh[:, :hd // 2]], -1)
            out[:, h * hd:(h + 1) * hd] = xh * cos + rot * sin
        return out

    def run(seq):
        n = len(seq)
        x = W["model.embed_tokens.weight"][seq]
        for i in range(L):
            p = f"model.layers.{i}."
            h = rms_norm(x, W[p + "input_layernorm.weight"], EPS)
            q = rope(h @ W[p + "self_attn.q_proj.weight"].T, H, n)
            k = rope(h @ W[p + "self_attn.k_proj.weight"].T, KV, n)
            v = h @ W[p + "self_attn.v_proj.weight"].T
            x = x + attention(q, k, v, H, KV, True) @ W[p + "self_attn.o_proj.weight"].T
            h = rms_norm(x, W[p + "post_attention_layernorm.weight"], EPS)
            gate = h @ W[p + "mlp.gate_proj.weight"].T
            up = h @ W[p + "mlp.up_proj.weight"].T
            x = x + (gate * torch.sigmoid(gate) * up) @ W[p + "mlp.down_proj.weight"].T
        return rms_norm(x, W["model.norm.weight"], EPS)

    hidden = [run(ids[offsets[s]:offsets[s + 1]]) for s in range(len(LENGTHS))]
    greedy = greedy_tokens(lambda seq: run(seq)[-1] @ W["lm_head.weight"].T, ids[:LENGTHS[0]].tolist(), 12)
    hidden = torch.cat(hidden)
    logits = hidden @ W["lm_head.weight"].T
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": V, "hidden_size": D,
              "intermediate_size": FF, "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": KV,
              "hidden_act": "silu", "max_position_embeddings": P, "rms_norm_eps": EPS, "rope_theta": THETA,
              "rope_scaling": None, "tie_word_embeddings": False, "attention_bias": False, "bos_token_id": 1,
              "eos_token_id": 2, "torch_dtype": "float32"}
    ref = {"ids": ids.tolist(), "offsets": offsets, "hidden": flat(hidden), "logits": flat(logits), "greedy": greedy}
    save(name, config, list(T.items()), dtype, ref, shards)


if __name__ == "__main__":
    bert("F32", "bert")
    bert("F16", "bert_f16")
    gpt2("F32", "gpt2")
    gpt2("BF16", "gpt2_bf16")
    llama("F32", "llama")
    llama("F32", "llama_sharded", shards=2)
    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")
