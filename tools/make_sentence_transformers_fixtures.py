#!/usr/bin/env python3
"""Writes tests/data/models/st_bert/: a sentence-transformers folder around a tiny BertModel, as
sentence-transformers saves one, and reference.json with the embeddings sentence-transformers'
own modules would compute, in float64:

    config.json, model.safetensors, vocab.txt    the Transformer module (BertModel, "bert."-free names)
    modules.json                                  Transformer, 1_Pooling, 2_Dense, 3_Normalize
    1_Pooling/config.json                         mean pooling, include_prompt false
    2_Dense/config.json, model.safetensors        Linear(32 -> 16) + Tanh (linear.weight, linear.bias)
    config_sentence_transformers.json             prompts {"query": "query: ", "passage": "passage: "}
    sentence_bert_config.json                     max_seq_length 12

The rules followed (sentence_transformers/models/Pooling.py, Dense.py, Normalize.py; and
SentenceTransformer.encode): a prompt is prepended to the text; its length is that of the
prompt tokenized alone with special tokens, less one when the last id is special; with
include_prompt false those leading tokens (the [CLS] among them) are masked out of the pooling
(CLS pooling still takes token 0); modes concatenate in the order cls, max, mean, mean_sqrt_len,
weightedmean, lasttoken; max fills masked tokens with -1e9 (in place: a CLS block beside it reads
the fill when token 0 is masked); means divide by the count clamped to 1e-9; weighted mean weights
are 1-based positions; last token is the last unmasked one (zeros when none is). Texts and the
prompt are stripped of surrounding whitespace first. Dense is act(x W^T + b); Normalize is x / max(|x|, 1e-12). Texts are truncated to
max_seq_length (the last id kept [SEP]).

reference.json: "texts"; "ids" / "offsets" (no prompt); "query_ids" / "query_offsets" (with the
"query" prompt) and "prompt_length"; "embeddings" and "query_embeddings" [texts, 16];
"hidden" (the no-prompt batch) and "modes": for each pooling mode and include_prompt true /
false, the pooled [texts, 32] of the query batch ("query_hidden") with its prompt length.

    /usr/bin/python3 tools/make_sentence_transformers_fixtures.py
"""
import json
import os
import re
import shutil

import torch

import make_encoder_fixtures as mef
from make_model_fixtures import OUT, flat, rnd, stored, write_safetensors

NAME = "st_bert"
MAX_SEQ = 12
TEXTS = ["paris is the capital of france", "hello world", "she said what was the word",
         "the world is with us and we are at one with the world"]


def wordpiece(text, vocab):
    """BERT's basic + WordPiece tokenization for the fixture vocabulary (lower-cased ASCII)."""
    ids = [vocab["[CLS]"]]
    for word in re.findall(r"\w+|[^\w\s]", text.lower()):
        start, pieces = 0, []
        while start < len(word):
            end, cur = len(word), None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in vocab:
                    cur = vocab[sub]
                    break
                end -= 1
            if cur is None:
                pieces = [vocab["[UNK]"]]
                break
            pieces.append(cur)
            start = end
        ids += pieces
    ids.append(vocab["[SEP]"])
    if len(ids) > MAX_SEQ:
        ids = ids[:MAX_SEQ - 1] + [vocab["[SEP]"]]
    return ids


def pool(h, skip, mode):
    n = h.shape[0]
    mask = torch.ones(n, dtype=torch.float64)
    mask[:skip] = 0
    m = mask[:, None]
    if mode == "cls":
        return h[0]
    if mode == "max":
        return torch.where(m > 0, h, torch.full_like(h, -1e9)).max(0).values
    if mode in ("mean", "mean_sqrt_len"):
        s, cnt = (h * m).sum(0), torch.clamp(mask.sum(), min=1e-9)
        return s / cnt if mode == "mean" else s / torch.sqrt(cnt)
    if mode == "weightedmean":
        w = m * torch.arange(1, n + 1, dtype=torch.float64)[:, None]
        return (h * w).sum(0) / torch.clamp(w.sum(), min=1e-9)
    if mode == "lasttoken":
        idx = [i for i in range(n) if mask[i] > 0]
        return h[idx[-1]] if idx else torch.zeros_like(h[0])  # ST gathers from hidden * mask
    raise ValueError(mode)


def main():
    d = os.path.join(OUT, NAME)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    vocab_file = os.path.join(OUT, "bert", "vocab.txt")
    vocab = {t: i for i, t in enumerate(open(vocab_file).read().split("\n")) if t}
    c = mef.bert_family_config("BertModel", "bert", max_position_embeddings=MAX_SEQ + 4)
    torch.manual_seed(61)
    T, _, _ = mef.encoder_weights(c, "", pooler=False)
    W = {k: stored(v, "F32") for k, v in T.items()}
    write_safetensors(os.path.join(d, "model.safetensors"), list(T.items()))
    json.dump(c, open(os.path.join(d, "config.json"), "w"), indent=2)
    shutil.copy(vocab_file, os.path.join(d, "vocab.txt"))
    D, OUTD = c["hidden_size"], 16
    dense_w, dense_b = rnd(OUTD, D, scale=0.5), rnd(OUTD, scale=0.1)
    os.makedirs(os.path.join(d, "1_Pooling"))
    json.dump({"word_embedding_dimension": D, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": False},
              open(os.path.join(d, "1_Pooling", "config.json"), "w"), indent=2)
    os.makedirs(os.path.join(d, "2_Dense"))
    json.dump({"in_features": D, "out_features": OUTD, "bias": True,
               "activation_function": "torch.nn.modules.activation.Tanh"},
              open(os.path.join(d, "2_Dense", "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(d, "2_Dense", "model.safetensors"),
                      [("linear.weight", dense_w), ("linear.bias", dense_b)])
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
               {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(d, "modules.json"), "w"), indent=2)
    os.makedirs(os.path.join(d, "3_Normalize"))
    json.dump({"__version__": {"sentence_transformers": "3.0.1", "transformers": "4.50.0", "pytorch": "2.1.0"},
               "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
               "similarity_fn_name": "cosine"},
              open(os.path.join(d, "config_sentence_transformers.json"), "w"), indent=2)
    json.dump({"max_seq_length": MAX_SEQ, "do_lower_case": False},
              open(os.path.join(d, "sentence_bert_config.json"), "w"), indent=2)

    Wd, bd = stored(dense_w, "F32"), stored(dense_b, "F32")
    prompt_ids = wordpiece("query: ", vocab)
    prompt_length = len(prompt_ids) - 1  # the last id, [SEP], is special

    def run(texts, prompt, skip):
        seqs = [wordpiece(prompt + t, vocab) for t in texts]
        hs = [mef.encoder_run(W, c, "", torch.tensor(s), torch.zeros(len(s), dtype=torch.long), torch.arange(len(s)))
              for s in seqs]
        emb = []
        for h in hs:
            x = torch.tanh(pool(h, skip, "mean") @ Wd.T + bd)
            emb.append(x / torch.clamp(x.norm(), min=1e-12))
        return seqs, hs, torch.stack(emb)

    seqs, hs, emb = run(TEXTS, "", 0)
    qseqs, qhs, qemb = run(TEXTS, "query: ", prompt_length)
    modes = {}
    for mode in ("cls", "max", "mean", "mean_sqrt_len", "weightedmean", "lasttoken"):
        for include in (True, False):
            skip = 0 if include else prompt_length
            modes[f"{mode}/{'include' if include else 'exclude'}"] = flat(torch.stack([pool(h, skip, mode) for h in qhs]))
    ref = {"texts": TEXTS, "ids": sum(seqs, []), "offsets": mef.offsets_of([len(s) for s in seqs]),
           "query_ids": sum(qseqs, []), "query_offsets": mef.offsets_of([len(s) for s in qseqs]),
           "prompt_length": prompt_length, "embeddings": flat(emb), "query_embeddings": flat(qemb),
           "hidden": flat(torch.cat(hs)), "query_hidden": flat(torch.cat(qhs)), "modes": modes}
    json.dump(ref, open(os.path.join(d, "reference.json"), "w"))
    print(f"{NAME}: {len(TEXTS)} texts, prompt length {prompt_length}, lengths {[len(s) for s in seqs]}")


if __name__ == "__main__":
    main()
