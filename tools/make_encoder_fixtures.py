#!/usr/bin/env python3
"""Writes small random-weight encoder checkpoints in exactly the Hugging Face layouts, with the outputs
of plain float64 PyTorch implementations of those layouts, for the encoder preset tests:

    tests/data/models/modernbert/         ModernBertForMaskedLM, 4 layers, F32
    tests/data/models/modernbert_cls/     ModernBertForSequenceClassification, 3 layers, every bias on,
                                          classifier_activation "silu", mean pooling, 3 labels, BF16
    tests/data/models/modernbert_tokcls/  ModernBertForTokenClassification, 3 layers, 5 labels, F32
    tests/data/models/roberta/            RobertaForMaskedLM ("roberta." prefix, no pooler), F32
    tests/data/models/xlm_roberta_cls/    XLMRobertaForSequenceClassification, 1 label (reranker), F32
    tests/data/models/bert_cls/           BertForSequenceClassification ("bert." prefix, pooler), F32
    tests/data/models/bert_tokcls/        BertForTokenClassification ("bert." prefix, no pooler), F32

Each folder has config.json (the keys a transformers 4.x save_pretrained writes for that class:
sorted, base-class keys only where they differ from the PretrainedConfig defaults), model.safetensors
and reference.json: a packed batch of three sequences ("ids", "offsets", "token_types") and the
reference "hidden" (final hidden states, [tokens, d]) and "logits" (plus "pooled" for bert_cls),
each sequence computed alone (batch of 1, no padding), in float64 from the weights exactly as stored.
Every reference is checked against a second, independent computation: the whole batch padded to
the longest sequence with an attention mask, in HF's batched layout (qkv views, additive
finfo.min masks, torch.nn.functional layer_norm/gelu/silu), which must agree to 1e-12.

HF rules followed (from modeling_modernbert.py, modeling_roberta.py, modeling_xlm_roberta.py,
modeling_bert.py):

ModernBERT (all three folders)
  * embeddings: norm(tok_embeddings[ids]); no position embeddings (RoPE only), no token types.
  * layer 0's attn_norm is nn.Identity: model.layers.0.attn_norm.* is NOT stored; every other layer
    has attn_norm. Pre-norm residuals: x += Wo(attn(attn_norm(x))); x += mlp(mlp_norm(x)); then
    model.final_norm.
  * Wqkv [3d, d]: output viewed as (seq, 3, heads, head_dim), i.e. rows [0,d) are q, [d,2d) k,
    [2d,3d) v, each head-major. Scores scaled by head_dim**-0.5.
  * layer i is local (sliding) iff i % global_attn_every_n_layers != 0 (layer 0 is always global).
    A local layer lets token i see token j iff |i - j| <= local_attention // 2 (symmetric window,
    both ends inclusive; HF's sliding_window_mask, flash-attn window_size=(w//2, w//2)).
  * RoPE, rotate-half (non-interleaved) over the whole head_dim, positions 0..n-1 restarting in every
    sequence, theta = global_rope_theta on global layers and local_rope_theta on local layers
    (4.x: local_rope_theta null means global_rope_theta). HF computes cos/sin in float32; here float64.
  * MLP: input, gate = Wi(x).chunk(2) (first intermediate_size rows = input, next = gate);
    Wo(act(input) * gate) with act = ACT2FN[hidden_activation] ("gelu" = exact erf GELU).
  * bias switches: norm_bias -> every LayerNorm incl. head.norm; attention_bias -> Wqkv, Wo;
    mlp_bias -> Wi, Wo; classifier_bias -> head.dense ONLY; decoder_bias -> decoder.bias.
    The classifier Linear of the Sequence/TokenClassification heads ALWAYS has a bias.
  * head = norm(ACT2FN[classifier_activation](dense(x))).
    MaskedLM: logits = decoder(head(hidden)); decoder.weight is tied to
    model.embeddings.tok_embeddings.weight and NOT stored; decoder.bias is stored.
    SequenceClassification: classifier(head(pool(hidden))), pool = hidden[0] ("cls") or the mean
    over the sequence's tokens ("mean"; here "mean").
    TokenClassification: classifier(head(hidden)) on every token; no decoder at all.

RoBERTa / XLM-RoBERTa
  * post-LN BERT encoder under the "roberta." prefix, no pooler (add_pooling_layer=False).
  * position ids = create_position_ids_from_input_ids: cumsum(ids != pad) * (ids != pad) + pad,
    i.e. pad_token_id + 1 + i for unpadded input (so max_position_embeddings = longest + 2 and the
    12-token sequence uses the last row, 13). The sequences contain no pad token (a pad token inside
    a sequence would get position pad and stop the count). type_vocab_size 1, all types 0.
  * RobertaLMHead: decoder(layer_norm(gelu(dense(x)))) with gelu hard-coded (not hidden_act).
    lm_head.decoder.weight is tied to roberta.embeddings.word_embeddings.weight and
    lm_head.decoder.bias is the same Parameter as lm_head.bias: both are omitted on save, only
    lm_head.bias is stored.
  * XLMRobertaClassificationHead: out_proj(tanh(dense(hidden[0]))), tanh hard-coded.

BERT
  * post-LN encoder, positions 0..n-1, token types from the batch (bert_cls mixes types 0 and 1).
  * BertForSequenceClassification: pooled = tanh(bert.pooler.dense(hidden[0]));
    logits = classifier(pooled).
  * BertForTokenClassification: no pooler (add_pooling_layer=False); logits = classifier(hidden).

Run with Debian's python3-torch (no transformers package needed):
    /usr/bin/python3 tools/make_encoder_fixtures.py
"""
import math
import os
import shutil
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import OUT, attention, flat, gelu, layer_norm, rnd, save, stored  # noqa: E402

LENGTHS = [9, 3, 12]
TRANSFORMERS_VERSION = "4.50.0"
TOL = 1e-12

torch.set_default_dtype(torch.float32)


def silu(x):
    return x * torch.sigmoid(x)


ACT = {"gelu": gelu, "silu": silu}
ACT_F = {"gelu": lambda x: F.gelu(x), "silu": F.silu}  # the independent check's activations


def offsets_of(lengths):
    o = [0]
    for n in lengths:
        o.append(o[-1] + n)
    return o


def packed_ids(vocab, seed, first, last, specials):
    """[first] + random ordinary tokens + [last] per sequence (no special token in the middle)."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.tensor([t for t in range(vocab) if t not in specials])
    seqs = []
    for n in LENGTHS:
        mid = allowed[torch.randint(0, len(allowed), (n - 2,), generator=g)]
        seqs.append(torch.cat([torch.tensor([first]), mid, torch.tensor([last])]))
    return seqs


def hf_config(c):
    return dict(sorted(c.items()))


def labels(names):
    return {"id2label": {str(i): n for i, n in enumerate(names)}, "label2id": {n: i for i, n in enumerate(names)}}


def check(name, what, a, b):
    err = (a - b).abs().max().item()
    assert err < TOL, f"{name}: {what} differs from the padded computation by {err}"
    return err


# ================================================================ ModernBERT
MB_SPECIALS = {"pad_token_id": 0, "cls_token_id": 1, "bos_token_id": 1, "sep_token_id": 2, "eos_token_id": 2}


def modernbert_config(arch, **over):
    c = {"architectures": [arch], "model_type": "modernbert", "vocab_size": 64, "hidden_size": 32,
         "intermediate_size": 24, "num_hidden_layers": 4, "num_attention_heads": 2, "hidden_activation": "gelu",
         "max_position_embeddings": 64, "initializer_range": 0.02, "initializer_cutoff_factor": 2.0,
         "norm_eps": 1e-05, "norm_bias": False, "global_rope_theta": 160000.0, "attention_bias": False,
         "attention_dropout": 0.0, "global_attn_every_n_layers": 3, "local_attention": 4,
         "local_rope_theta": 10000.0, "embedding_dropout": 0.0, "mlp_bias": False, "mlp_dropout": 0.0,
         "decoder_bias": True, "classifier_pooling": "cls", "classifier_dropout": 0.0, "classifier_bias": False,
         "classifier_activation": "gelu", "deterministic_flash_attn": False, "sparse_prediction": False,
         "sparse_pred_ignore_index": -100, "repad_logits_with_grad": False, "torch_dtype": "float32",
         "transformers_version": TRANSFORMERS_VERSION, **MB_SPECIALS}
    c.update(over)
    return hf_config(c)


def modernbert_weights(c, head):
    V, D, FF, L = c["vocab_size"], c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    T = {}

    def norm(name):
        T[name + ".weight"] = 1 + rnd(D, scale=0.1)
        if c["norm_bias"]:
            T[name + ".bias"] = rnd(D, scale=0.1)

    def linear(name, n_out, n_in, bias):
        T[name + ".weight"] = rnd(n_out, n_in, scale=0.8 / math.sqrt(n_in))
        if bias:
            T[name + ".bias"] = rnd(n_out, scale=0.1)

    T["model.embeddings.tok_embeddings.weight"] = rnd(V, D, scale=1.0)
    norm("model.embeddings.norm")
    for i in range(L):
        p = f"model.layers.{i}."
        if i != 0:  # layer 0: attn_norm = nn.Identity, nothing stored
            norm(p + "attn_norm")
        linear(p + "attn.Wqkv", 3 * D, D, c["attention_bias"])
        linear(p + "attn.Wo", D, D, c["attention_bias"])
        norm(p + "mlp_norm")
        linear(p + "mlp.Wi", 2 * FF, D, c["mlp_bias"])
        linear(p + "mlp.Wo", D, FF, c["mlp_bias"])
    norm("model.final_norm")
    linear("head.dense", D, D, c["classifier_bias"])
    norm("head.norm")
    if head == "mlm":
        if c["decoder_bias"]:
            T["decoder.bias"] = rnd(V, scale=0.1)  # decoder.weight: tied, not stored
    else:
        linear("classifier", len(c["id2label"]), D, True)
    return T


def rope_cos_sin(n, hd, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.arange(n, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def modernbert_layer_kind(c, i):
    local = i % c["global_attn_every_n_layers"] != 0
    theta = c["local_rope_theta"] if local and c["local_rope_theta"] is not None else c["global_rope_theta"]
    return local, theta


def modernbert_run(W, c, ids):
    """One sequence, unpadded: final hidden states [n, d]."""
    n, D, H = len(ids), c["hidden_size"], c["num_attention_heads"]
    hd, eps, act = D // H, c["norm_eps"], ACT[c["hidden_activation"]]

    def ln(x, name):
        return layer_norm(x, W[name + ".weight"], W.get(name + ".bias", 0.0), eps)

    def lin(x, name):
        return x @ W[name + ".weight"].T + W.get(name + ".bias", 0.0)

    x = ln(W["model.embeddings.tok_embeddings.weight"][ids], "model.embeddings.norm")
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        local, theta = modernbert_layer_kind(c, i)
        h = x if i == 0 else ln(x, p + "attn_norm")
        qkv = lin(h, p + "attn.Wqkv").reshape(n, 3, H, hd)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # [n, H, hd]
        cos, sin = rope_cos_sin(n, hd, theta)
        q = q * cos[:, None] + rotate_half(q) * sin[:, None]
        k = k * cos[:, None] + rotate_half(k) * sin[:, None]
        s = torch.einsum("ihd,jhd->hij", q, k) * hd ** -0.5
        if local:
            pos = torch.arange(n)
            far = (pos[:, None] - pos[None, :]).abs() > c["local_attention"] // 2
            s = s.masked_fill(far, float("-inf"))
        o = torch.einsum("hij,jhd->ihd", torch.softmax(s, -1), v).reshape(n, D)
        x = x + lin(o, p + "attn.Wo")
        inp, gate = lin(ln(x, p + "mlp_norm"), p + "mlp.Wi").chunk(2, -1)
        x = x + lin(act(inp) * gate, p + "mlp.Wo")
    return ln(x, "model.final_norm")


def modernbert_head(W, c, x):
    h = x @ W["head.dense.weight"].T + W.get("head.dense.bias", 0.0)
    h = ACT[c["classifier_activation"]](h)
    return layer_norm(h, W["head.norm.weight"], W.get("head.norm.bias", 0.0), c["norm_eps"])


def modernbert_padded(W, c, seqs, head):
    """Independent check: the whole batch padded, HF eager layout and additive masks."""
    B, S = len(seqs), max(len(s) for s in seqs)
    D, H, eps = c["hidden_size"], c["num_attention_heads"], c["norm_eps"]
    hd = D // H
    ids = torch.full((B, S), c["pad_token_id"], dtype=torch.long)
    mask = torch.zeros(B, S, dtype=torch.float64)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = s
        mask[b, :len(s)] = 1
    fmin = torch.finfo(torch.float64).min
    inverted = 1.0 - mask[:, None, None, :].expand(B, 1, S, S)  # HF _prepare_4d_attention_mask
    global_mask = inverted.masked_fill(inverted.bool(), fmin)
    rows = torch.arange(S).unsqueeze(0)
    window = (torch.abs(rows - rows.T) <= c["local_attention"] // 2)[None, None]
    sliding_mask = global_mask.masked_fill(window.logical_not(), fmin)

    def ln(x, name):
        return F.layer_norm(x, (D,), W[name + ".weight"], W.get(name + ".bias"), eps)

    def lin(x, name):
        return F.linear(x, W[name + ".weight"], W.get(name + ".bias"))

    x = ln(F.embedding(ids, W["model.embeddings.tok_embeddings.weight"]), "model.embeddings.norm")
    position_ids = torch.arange(S).unsqueeze(0)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        local, theta = modernbert_layer_kind(c, i)
        inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(torch.float64) / hd))
        freqs = (inv_freq[None, :, None] @ position_ids[:, None, :].to(torch.float64)).transpose(1, 2)
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # unsqueeze(1) over heads
        h = x if i == 0 else ln(x, p + "attn_norm")
        qkv = lin(h, p + "attn.Wqkv").view(B, -1, 3, H, hd)
        query, key, value = qkv.transpose(3, 1).unbind(dim=2)  # [B, H, S, hd]
        query = query * cos + rotate_half(query) * sin
        key = key * cos + rotate_half(key) * sin
        w = torch.matmul(query, key.transpose(2, 3)) * hd ** -0.5
        w = w + (sliding_mask if local else global_mask)
        o = torch.matmul(F.softmax(w, dim=-1), value).transpose(1, 2).contiguous().view(B, -1, D)
        x = x + lin(o, p + "attn.Wo")
        inp, gate = lin(ln(x, p + "mlp_norm"), p + "mlp.Wi").chunk(2, dim=-1)
        x = x + lin(ACT_F[c["hidden_activation"]](inp) * gate, p + "mlp.Wo")
    x = ln(x, "model.final_norm")

    def head_f(t):
        t = ACT_F[c["classifier_activation"]](lin(t, "head.dense"))
        return F.layer_norm(t, (D,), W["head.norm.weight"], W.get("head.norm.bias"), eps)

    hidden = torch.cat([x[b, :len(s)] for b, s in enumerate(seqs)])
    if head == "mlm":
        logits = F.linear(head_f(x), W["model.embeddings.tok_embeddings.weight"], W.get("decoder.bias"))
        logits = torch.cat([logits[b, :len(s)] for b, s in enumerate(seqs)])
    elif head == "seq":
        if c["classifier_pooling"] == "cls":
            pooled = x[:, 0]
        else:
            pooled = (x * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1, keepdim=True)
        logits = lin(head_f(pooled), "classifier")
    else:
        logits = lin(head_f(x), "classifier")
        logits = torch.cat([logits[b, :len(s)] for b, s in enumerate(seqs)])
    return hidden, logits


def modernbert(name, head, c, dtype, seed):
    torch.manual_seed(seed)
    T = modernbert_weights(c, head)
    W = {k: stored(v, dtype) for k, v in T.items()}
    seqs = packed_ids(c["vocab_size"], seed + 100, c["cls_token_id"], c["sep_token_id"],
                      {c["pad_token_id"], c["cls_token_id"], c["sep_token_id"], 3})
    hs = [modernbert_run(W, c, s) for s in seqs]
    hidden = torch.cat(hs)
    if head == "mlm":
        logits = modernbert_head(W, c, hidden) @ W["model.embeddings.tok_embeddings.weight"].T \
            + W.get("decoder.bias", 0.0)
    elif head == "seq":
        pooled = torch.stack([h[0] if c["classifier_pooling"] == "cls" else h.mean(0) for h in hs])
        logits = modernbert_head(W, c, pooled) @ W["classifier.weight"].T + W["classifier.bias"]
    else:
        logits = modernbert_head(W, c, hidden) @ W["classifier.weight"].T + W["classifier.bias"]
    ph, pl = modernbert_padded(W, c, seqs, head)
    errs = (check(name, "hidden", hidden, ph), check(name, "logits", logits, pl))
    ids = torch.cat(seqs)
    ref = {"ids": ids.tolist(), "offsets": offsets_of(LENGTHS), "token_types": [0] * len(ids),
           "hidden": flat(hidden), "logits": flat(logits)}
    save(name, c, list(T.items()), dtype, ref)
    return errs


# ================================================================ BERT / RoBERTa / XLM-RoBERTa
def bert_family_config(arch, model_type, **over):
    c = {"architectures": [arch], "model_type": model_type, "vocab_size": 64, "hidden_size": 32,
         "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "hidden_act": "gelu",
         "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 16,
         "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
         "position_embedding_type": "absolute", "use_cache": True, "classifier_dropout": None,
         "torch_dtype": "float32", "transformers_version": TRANSFORMERS_VERSION}
    c.update(over)
    return hf_config(c)


def roberta_config(arch, model_type, **over):
    return bert_family_config(arch, model_type, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                              type_vocab_size=1, layer_norm_eps=1e-05, max_position_embeddings=max(LENGTHS) + 2,
                              **over)


def encoder_weights(c, pre, pooler):
    V, D, FF, P, TV = c["vocab_size"], c["hidden_size"], c["intermediate_size"], c["max_position_embeddings"], \
        c["type_vocab_size"]
    T = {}

    def linear(name, n_out, n_in):
        T[name + ".weight"] = rnd(n_out, n_in, scale=0.8 / math.sqrt(n_in))
        T[name + ".bias"] = rnd(n_out, scale=0.1)

    def norm(name):
        T[name + ".weight"] = 1 + rnd(D, scale=0.1)
        T[name + ".bias"] = rnd(D, scale=0.1)

    T[pre + "embeddings.word_embeddings.weight"] = rnd(V, D, scale=1.0)
    T[pre + "embeddings.position_embeddings.weight"] = rnd(P, D, scale=0.5)
    T[pre + "embeddings.token_type_embeddings.weight"] = rnd(TV, D, scale=0.5)
    norm(pre + "embeddings.LayerNorm")
    for i in range(c["num_hidden_layers"]):
        p = f"{pre}encoder.layer.{i}."
        for m in ("query", "key", "value"):
            linear(p + f"attention.self.{m}", D, D)
        linear(p + "attention.output.dense", D, D)
        norm(p + "attention.output.LayerNorm")
        linear(p + "intermediate.dense", FF, D)
        linear(p + "output.dense", D, FF)
        norm(p + "output.LayerNorm")
    if pooler:
        linear(pre + "pooler.dense", D, D)
    return T, linear, norm


def roberta_positions(ids, pad):
    """HF create_position_ids_from_input_ids (ids: [..., n])."""
    m = ids.ne(pad).int()
    return (torch.cumsum(m, dim=-1).type_as(m) * m).long() + pad


def encoder_run(W, c, pre, ids, types, positions):
    H, eps, act = c["num_attention_heads"], c["layer_norm_eps"], ACT[c["hidden_act"]]
    x = W[pre + "embeddings.word_embeddings.weight"][ids] + W[pre + "embeddings.position_embeddings.weight"][positions] \
        + W[pre + "embeddings.token_type_embeddings.weight"][types]
    x = layer_norm(x, W[pre + "embeddings.LayerNorm.weight"], W[pre + "embeddings.LayerNorm.bias"], eps)
    for i in range(c["num_hidden_layers"]):
        p = f"{pre}encoder.layer.{i}."

        def lin(h, m):
            return h @ W[p + m + ".weight"].T + W[p + m + ".bias"]

        att = attention(lin(x, "attention.self.query"), lin(x, "attention.self.key"), lin(x, "attention.self.value"),
                        H, H, False)
        x = layer_norm(x + lin(att, "attention.output.dense"), W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], eps)
        f = lin(act(lin(x, "intermediate.dense")), "output.dense")
        x = layer_norm(x + f, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"], eps)
    return x


def encoder_padded(W, c, pre, seqs, types, roberta):
    """Independent check: padded batch, HF BertSelfAttention layout, extended additive mask."""
    B, S = len(seqs), max(len(s) for s in seqs)
    D, H, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    hd = D // H
    pad = c["pad_token_id"]
    ids = torch.full((B, S), pad, dtype=torch.long)
    tt = torch.zeros(B, S, dtype=torch.long)
    mask = torch.zeros(B, S, dtype=torch.float64)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = s
        tt[b, :len(s)] = types[b]
        mask[b, :len(s)] = 1
    pos = roberta_positions(ids, pad) if roberta else torch.arange(S).expand(B, S)
    ext = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float64).min

    def lin(x, name):
        return F.linear(x, W[name + ".weight"], W[name + ".bias"])

    def ln(x, name):
        return F.layer_norm(x, (D,), W[name + ".weight"], W[name + ".bias"], eps)

    x = F.embedding(ids, W[pre + "embeddings.word_embeddings.weight"]) \
        + F.embedding(tt, W[pre + "embeddings.token_type_embeddings.weight"]) \
        + F.embedding(pos, W[pre + "embeddings.position_embeddings.weight"])
    x = ln(x, pre + "embeddings.LayerNorm")

    def heads(t):
        return t.view(B, S, H, hd).permute(0, 2, 1, 3)

    for i in range(c["num_hidden_layers"]):
        p = f"{pre}encoder.layer.{i}."
        q, k, v = (heads(lin(x, p + f"attention.self.{m}")) for m in ("query", "key", "value"))
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + ext
        ctx = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).contiguous().view(B, S, D)
        x = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        f = lin(ACT_F[c["hidden_act"]](lin(x, p + "intermediate.dense")), p + "output.dense")
        x = ln(f + x, p + "output.LayerNorm")
    return x


def unpad(x, seqs):
    return torch.cat([x[b, :len(s)] for b, s in enumerate(seqs)])


def roberta_mlm(name, seed):
    c = roberta_config("RobertaForMaskedLM", "roberta")
    torch.manual_seed(seed)
    T, linear, norm = encoder_weights(c, "roberta.", pooler=False)
    D, V = c["hidden_size"], c["vocab_size"]
    linear("lm_head.dense", D, D)
    norm("lm_head.layer_norm")
    T["lm_head.bias"] = rnd(V, scale=0.1)  # lm_head.decoder.weight / .bias: tied, not stored
    W = {k: stored(v, "F32") for k, v in T.items()}
    seqs = packed_ids(V, seed + 100, c["bos_token_id"], c["eos_token_id"], {0, 1, 2, 3, V - 1})
    types = [torch.zeros(len(s), dtype=torch.long) for s in seqs]
    hidden = torch.cat([encoder_run(W, c, "roberta.", s, t, roberta_positions(s, c["pad_token_id"]))
                        for s, t in zip(seqs, types)])

    def lm_head(x, g, lnf):
        h = g(x @ W["lm_head.dense.weight"].T + W["lm_head.dense.bias"])
        h = lnf(h)
        return h @ W["roberta.embeddings.word_embeddings.weight"].T + W["lm_head.bias"]

    logits = lm_head(hidden, gelu, lambda h: layer_norm(h, W["lm_head.layer_norm.weight"],
                                                        W["lm_head.layer_norm.bias"], c["layer_norm_eps"]))
    px = encoder_padded(W, c, "roberta.", seqs, types, roberta=True)
    pl = lm_head(px, F.gelu, lambda h: F.layer_norm(h, (D,), W["lm_head.layer_norm.weight"],
                                                    W["lm_head.layer_norm.bias"], c["layer_norm_eps"]))
    errs = (check(name, "hidden", hidden, unpad(px, seqs)), check(name, "logits", logits, unpad(pl, seqs)))
    ids = torch.cat(seqs)
    assert max(roberta_positions(s, c["pad_token_id"])[-1].item() for s in seqs) == c["max_position_embeddings"] - 1
    ref = {"ids": ids.tolist(), "offsets": offsets_of(LENGTHS), "token_types": torch.cat(types).tolist(),
           "hidden": flat(hidden), "logits": flat(logits)}
    save(name, c, list(T.items()), "F32", ref)
    return errs


def xlm_roberta_cls(name, seed):
    c = roberta_config("XLMRobertaForSequenceClassification", "xlm-roberta", **labels(["LABEL_0"]))
    torch.manual_seed(seed)
    T, linear, _ = encoder_weights(c, "roberta.", pooler=False)
    D, V = c["hidden_size"], c["vocab_size"]
    linear("classifier.dense", D, D)
    linear("classifier.out_proj", len(c["id2label"]), D)
    W = {k: stored(v, "F32") for k, v in T.items()}
    seqs = packed_ids(V, seed + 100, c["bos_token_id"], c["eos_token_id"], {0, 1, 2, 3, V - 1})
    types = [torch.zeros(len(s), dtype=torch.long) for s in seqs]
    hs = [encoder_run(W, c, "roberta.", s, t, roberta_positions(s, c["pad_token_id"])) for s, t in zip(seqs, types)]
    hidden = torch.cat(hs)

    def head(first):
        h = torch.tanh(first @ W["classifier.dense.weight"].T + W["classifier.dense.bias"])
        return h @ W["classifier.out_proj.weight"].T + W["classifier.out_proj.bias"]

    logits = head(torch.stack([h[0] for h in hs]))
    px = encoder_padded(W, c, "roberta.", seqs, types, roberta=True)
    errs = (check(name, "hidden", hidden, unpad(px, seqs)), check(name, "logits", logits, head(px[:, 0])))
    ref = {"ids": torch.cat(seqs).tolist(), "offsets": offsets_of(LENGTHS), "token_types": torch.cat(types).tolist(),
           "hidden": flat(hidden), "logits": flat(logits)}
    save(name, c, list(T.items()), "F32", ref)
    return errs


BERT_SPECIALS = {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}


def bert_ids_and_types(V, seed, pair_splits):
    """[CLS] a [SEP] (b [SEP]): types 0 up to and including the first [SEP], then 1."""
    seqs = packed_ids(V, seed, BERT_SPECIALS["cls"], BERT_SPECIALS["sep"], set(BERT_SPECIALS.values()))
    types = []
    for s, split in zip(seqs, pair_splits):
        t = torch.zeros(len(s), dtype=torch.long)
        if split:
            s[split - 1] = BERT_SPECIALS["sep"]
            t[split:] = 1
        types.append(t)
    return seqs, types


def bert_cls(name, seed, names=("negative", "positive")):
    c = bert_family_config("BertForSequenceClassification", "bert", **labels(list(names)))
    torch.manual_seed(seed)
    T, linear, _ = encoder_weights(c, "bert.", pooler=True)
    D = c["hidden_size"]
    linear("classifier", len(names), D)
    W = {k: stored(v, "F32") for k, v in T.items()}
    seqs, types = bert_ids_and_types(c["vocab_size"], seed + 100, [5, 0, 7])
    hs = [encoder_run(W, c, "bert.", s, t, torch.arange(len(s))) for s, t in zip(seqs, types)]
    hidden = torch.cat(hs)

    def pool(first):
        return torch.tanh(first @ W["bert.pooler.dense.weight"].T + W["bert.pooler.dense.bias"])

    pooled = pool(torch.stack([h[0] for h in hs]))
    logits = pooled @ W["classifier.weight"].T + W["classifier.bias"]
    px = encoder_padded(W, c, "bert.", seqs, types, roberta=False)
    pp = pool(px[:, 0])
    errs = (check(name, "hidden", hidden, unpad(px, seqs)), check(name, "pooled", pooled, pp),
            check(name, "logits", logits, F.linear(pp, W["classifier.weight"], W["classifier.bias"])))
    ref = {"ids": torch.cat(seqs).tolist(), "offsets": offsets_of(LENGTHS), "token_types": torch.cat(types).tolist(),
           "hidden": flat(hidden), "pooled": flat(pooled), "logits": flat(logits)}
    save(name, c, list(T.items()), "F32", ref)
    return errs


def bert_tokcls(name, seed):
    c = bert_family_config("BertForTokenClassification", "bert", **labels(["O", "B-ORG", "I-ORG", "B-MISC"]))
    torch.manual_seed(seed)
    T, linear, _ = encoder_weights(c, "bert.", pooler=False)
    linear("classifier", 4, c["hidden_size"])
    W = {k: stored(v, "F32") for k, v in T.items()}
    seqs, types = bert_ids_and_types(c["vocab_size"], seed + 100, [0, 0, 0])
    hidden = torch.cat([encoder_run(W, c, "bert.", s, t, torch.arange(len(s))) for s, t in zip(seqs, types)])
    logits = hidden @ W["classifier.weight"].T + W["classifier.bias"]
    px = unpad(encoder_padded(W, c, "bert.", seqs, types, roberta=False), seqs)
    errs = (check(name, "hidden", hidden, px),
            check(name, "logits", logits, F.linear(px, W["classifier.weight"], W["classifier.bias"])))
    ref = {"ids": torch.cat(seqs).tolist(), "offsets": offsets_of(LENGTHS), "token_types": torch.cat(types).tolist(),
           "hidden": flat(hidden), "logits": flat(logits)}
    save(name, c, list(T.items()), "F32", ref)
    return errs


def main():
    results = {}
    results["modernbert"] = modernbert("modernbert", "mlm", modernbert_config("ModernBertForMaskedLM"), "F32", 41)
    results["modernbert_cls"] = modernbert(
        "modernbert_cls", "seq",
        modernbert_config("ModernBertForSequenceClassification", num_hidden_layers=3, global_attn_every_n_layers=2,
                          local_attention=6, norm_bias=True, attention_bias=True, mlp_bias=True,
                          classifier_bias=True, classifier_activation="silu", classifier_pooling="mean",
                          torch_dtype="bfloat16", **labels(["anger", "joy", "neutral"])),
        "BF16", 42)
    results["modernbert_tokcls"] = modernbert(
        "modernbert_tokcls", "tok",
        modernbert_config("ModernBertForTokenClassification", num_hidden_layers=3, local_attention=8,
                          **labels(["B-PER", "I-PER", "B-LOC", "I-LOC", "O"])),
        "F32", 43)
    results["roberta"] = roberta_mlm("roberta", 44)
    results["xlm_roberta_cls"] = xlm_roberta_cls("xlm_roberta_cls", 45)
    results["bert_cls"] = bert_cls("bert_cls", 46)
    results["bert_tokcls"] = bert_tokcls("bert_tokcls", 47)
    # A one-label BertForSequenceClassification: the layout of the cross-encoder rerankers
    # (cross-encoder/ms-marco-MiniLM-L-6-v2 and kin).
    results["bert_reranker"] = bert_cls("bert_reranker", 48, names=("LABEL_0",))
    # The BERT-family folders get the BERT fixture's vocab.txt (the same special ids), so the
    # tools run them from text.
    for name in ("bert_cls", "bert_tokcls", "bert_reranker"):
        shutil.copy(os.path.join(OUT, "bert", "vocab.txt"), os.path.join(OUT, name, "vocab.txt"))
    for name, errs in results.items():
        d = os.path.join(OUT, name)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        assert size < 200_000, f"{name} is {size} bytes"
        print(f"{name:18s} {size / 1e3:6.1f} kB  padded-batch check max |diff| "
              + " ".join(f"{e:.1e}" for e in errs))


if __name__ == "__main__":
    main()
