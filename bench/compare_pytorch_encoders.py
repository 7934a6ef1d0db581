#!/usr/bin/env python3
"""Embedding throughput: eigenformer's packed batches against PyTorch's padded ones (issue 14).

Two encoders with random F32 weights, in the exact Hugging Face folder layouts:

    BertModel        base shape: hidden 768, 12 layers, 12 heads, intermediate 3072, vocab 30522,
                     512 positions
    ModernBertModel  base shape: hidden 768, 22 layers, 12 heads, intermediate 1152 (Wi [2304, 768]),
                     vocab 50368, a global layer every 3, a 128-token local window, RoPE thetas
                     160000 (global) / 10000 (local), no biases, 8192 positions

and texts of random ids (< 30522, so both models read the same file) with lengths uniform in
16..512 (fixed seed). The script writes both folders and the ids file to a temporary directory
(~1.1 GB, deleted at the end), then

1. checks that both sides compute the same thing: for three texts (a short one padded beside
   longer ones, and two of ~490 tokens, far longer than ModernBERT's 128-token window), the
   hidden states eigenformer dumps (bench_encoder_throughput --dump) against those of the PyTorch
   implementation below: max |difference| < 1e-3, or the script stops. As a control, PyTorch's
   ModernBERT with global attention on every layer must differ by > 1e-2 (the check sees the
   window);
2. runs eigenformer once over the timed texts at 2 threads with --batch-tokens 4096, 8192 and
   16384 and keeps the fastest budget (--batch-tokens N skips this);
3. for each model and for 1 and 2 threads, interleaved in this run: PyTorch (median of --reps
   passes over the timed texts, after an untimed warm-up on the first two) and eigenformer
   (bench_encoder_throughput --reps, the same), and prints a table of texts/s and the ratio.
   Before each pair, when the 1-minute load average is above 2.5 (a shared machine), it waits
   60 s once; the load is printed beside each row.

The PyTorch side is a plain implementation of each HF model (torch.nn.functional ops, float32,
torch.inference_mode) run as a user of HF runs it: the texts in their given order, in batches of
32 padded to the batch's longest, with an attention mask for the padding (and, for ModernBERT's
local layers, the sliding-window mask of HF's sdpa/eager path: |i - j| <= 64).
F.scaled_dot_product_attention is used where the installed torch has it (2.0 and later); Debian
bookworm's python3-torch 1.13 does not, so there the attention is HF's eager path (matmul, add
the mask, softmax, matmul). Each PyTorch configuration runs in its own subprocess with
torch.set_num_threads(N) and OPENBLAS_NUM_THREADS=N (Debian's torch does its matmuls through the
system BLAS, whose thread pool is set at import).

Time: on a 2-core AMD EPYC (Zen 4) eigenformer runs BERT-base at ~600 tokens/s on one thread
and PyTorch at ~400 padded tokens/s, so one pass over the issue's 1,000 texts (~260k tokens,
~494k once padded to each batch of 32) is 7 minutes for eigenformer and 20 for PyTorch: the
whole comparison (3 passes x 2 thread counts x 2 models x 2 implementations) would take ~5
hours there. The default therefore times only the first --texts 32 texts (one PyTorch batch:
8977 tokens, 15776 padded, the padding ratio 1.76 of the full set within 10%), ~12 minutes
in all on that machine; the ids file still holds all 1,000 and --texts 1000 times them all.
The header line says how many texts were timed.

    apt-get install python3-torch libopenblas0-pthread
    cmake --build --preset release --target bench_encoder_throughput
    /usr/bin/python3 bench/compare_pytorch_encoders.py [--binary build/release/bench/bench_encoder_throughput]
        [--texts 32] [--reps 3] [--batch-tokens 0 (0: try 4096/8192/16384)] [--models bert,modernbert]
"""
import argparse
import json
import math
import os
import random
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(HERE, "..", "build", "release", "bench", "bench_encoder_throughput")
N_TEXTS, MIN_LEN, MAX_LEN, SEED, TORCH_BATCH = 1000, 16, 512, 14, 32
ID_VOCAB = 30522  # ids drawn below BERT's vocabulary, so one file serves both models

BERT_CONFIG = {
    "architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522, "hidden_size": 768,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
    "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    "position_embedding_type": "absolute", "use_cache": True, "classifier_dropout": None, "torch_dtype": "float32",
}
MODERNBERT_CONFIG = {
    "architectures": ["ModernBertModel"], "model_type": "modernbert", "vocab_size": 50368, "hidden_size": 768,
    "num_hidden_layers": 22, "num_attention_heads": 12, "intermediate_size": 1152, "hidden_activation": "gelu",
    "max_position_embeddings": 8192, "initializer_range": 0.02, "initializer_cutoff_factor": 2.0, "norm_eps": 1e-5,
    "norm_bias": False, "pad_token_id": 50283, "eos_token_id": 50282, "bos_token_id": 50281, "cls_token_id": 50281,
    "sep_token_id": 50282, "global_rope_theta": 160000.0, "attention_bias": False, "attention_dropout": 0.0,
    "global_attn_every_n_layers": 3, "local_attention": 128, "local_rope_theta": 10000.0, "embedding_dropout": 0.0,
    "mlp_bias": False, "mlp_dropout": 0.0, "decoder_bias": True, "classifier_pooling": "mean",
    "classifier_dropout": 0.0, "classifier_bias": False, "classifier_activation": "gelu", "deterministic_flash_attn": False,
    "sparse_prediction": False, "sparse_pred_ignore_index": -100, "reference_compile": None, "torch_dtype": "float32",
}


# ------------------------------------------------------------------ checkpoints
def write_safetensors(path, tensors):
    """tensors: list of (name, float32 tensor), written as F32 (tools/make_model_fixtures.py's
    layout, streamed tensor by tensor so that no second copy of the weights is held)."""
    header, offset = {}, 0
    for name, t in tensors:
        n = t.numel() * 4
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, t in tensors:
            f.write(t.detach().contiguous().float().numpy().tobytes())


def bert_tensors(c, g):
    import torch
    D, FF, std = c["hidden_size"], c["intermediate_size"], c["initializer_range"]
    rnd = lambda *s: torch.randn(*s, generator=g) * std
    ln = lambda p: [(p + ".weight", 1 + torch.randn(D, generator=g) * 0.1), (p + ".bias", torch.randn(D, generator=g) * 0.1)]
    T = [("embeddings.word_embeddings.weight", rnd(c["vocab_size"], D)),
         ("embeddings.position_embeddings.weight", rnd(c["max_position_embeddings"], D)),
         ("embeddings.token_type_embeddings.weight", rnd(c["type_vocab_size"], D))]
    T += ln("embeddings.LayerNorm")
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for m in ("query", "key", "value"):
            T += [(p + f"attention.self.{m}.weight", rnd(D, D)), (p + f"attention.self.{m}.bias", rnd(D))]
        T += [(p + "attention.output.dense.weight", rnd(D, D)), (p + "attention.output.dense.bias", rnd(D))]
        T += ln(p + "attention.output.LayerNorm")
        T += [(p + "intermediate.dense.weight", rnd(FF, D)), (p + "intermediate.dense.bias", rnd(FF)),
              (p + "output.dense.weight", rnd(D, FF)), (p + "output.dense.bias", rnd(D))]
        T += ln(p + "output.LayerNorm")
    T += [("pooler.dense.weight", rnd(D, D)), ("pooler.dense.bias", rnd(D))]
    return T


def modernbert_tensors(c, g):
    import torch
    D, FF, std = c["hidden_size"], c["intermediate_size"], c["initializer_range"]
    rnd = lambda *s: torch.randn(*s, generator=g) * std
    ln = lambda p: [(p + ".weight", 1 + torch.randn(D, generator=g) * 0.1)]  # norm_bias false
    T = [("embeddings.tok_embeddings.weight", rnd(c["vocab_size"], D))]
    T += ln("embeddings.norm")
    for i in range(c["num_hidden_layers"]):
        p = f"layers.{i}."
        if i > 0:  # layer 0's attn_norm is nn.Identity
            T += ln(p + "attn_norm")
        T += [(p + "attn.Wqkv.weight", rnd(3 * D, D)), (p + "attn.Wo.weight", rnd(D, D))]
        T += ln(p + "mlp_norm")
        T += [(p + "mlp.Wi.weight", rnd(2 * FF, D)), (p + "mlp.Wo.weight", rnd(D, FF))]
    T += ln("final_norm")
    return T


def make_folder(root, name, config, tensors_fn, seed):
    import torch
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    tensors = tensors_fn(config, torch.Generator().manual_seed(seed))
    write_safetensors(os.path.join(d, "model.safetensors"), tensors)
    return d


def make_texts(path):
    rng = random.Random(SEED)
    texts = [[rng.randrange(ID_VOCAB) for _ in range(rng.randint(MIN_LEN, MAX_LEN))] for _ in range(N_TEXTS)]
    write_ids(path, texts)
    return texts


def write_ids(path, texts):
    with open(path, "w") as f:
        for t in texts:
            f.write(" ".join(map(str, t)) + "\n")


def read_ids(path):
    with open(path) as f:
        return [[int(v) for v in line.split()] for line in f if line.strip()]


# ------------------------------------------------------------------ the PyTorch encoders
def load_weights(folder):
    import torch
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    W = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        W[name] = torch.frombuffer(data, dtype=torch.float32, offset=a, count=(b - a) // 4).reshape(t["shape"])
    with open(os.path.join(folder, "config.json")) as f:
        return W, json.load(f)


def attend(q, k, v, mask):
    """q, k, v: [B, H, L, hd]; mask: additive float, broadcast to [B, H, L, L]. HF's sdpa path
    where torch has it, its eager path otherwise."""
    import torch
    F = torch.nn.functional
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + mask
    return torch.matmul(torch.softmax(s, -1), v)


def bert_forward(W, c, ids, am):
    """BertModel's last_hidden_state of padded ids [B, L] with attention mask am [B, L]."""
    import torch
    F = torch.nn.functional
    B, L = ids.shape
    D, H, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    hd = D // H
    ln = lambda x, p: F.layer_norm(x, (D,), W[p + ".weight"], W[p + ".bias"], eps)
    lin = lambda x, p: F.linear(x, W[p + ".weight"], W[p + ".bias"])
    heads = lambda t: t.view(B, L, H, hd).transpose(1, 2)
    x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L] \
        + W["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    mask = (1.0 - am[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        a = attend(heads(lin(x, p + "attention.self.query")), heads(lin(x, p + "attention.self.key")),
                   heads(lin(x, p + "attention.self.value")), mask)
        a = a.transpose(1, 2).reshape(B, L, D)
        x = ln(x + lin(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        f = lin(F.gelu(lin(x, p + "intermediate.dense")), p + "output.dense")
        x = ln(x + f, p + "output.LayerNorm")
    return x


def modernbert_forward(W, c, ids, am, cache):
    """ModernBertModel's last_hidden_state (sdpa/eager path: padded, masks) of ids [B, L]."""
    import torch
    F = torch.nn.functional
    B, L = ids.shape
    D, H, eps = c["hidden_size"], c["num_attention_heads"], c["norm_eps"]
    hd = D // H
    ln = lambda x, p: F.layer_norm(x, (D,), W[p + ".weight"], None, eps)
    key = ("rope", L)
    if key not in cache:  # HF's rotary tables: computed once per length, not part of the model's work
        tables = {}
        for theta in (c["global_rope_theta"], c["local_rope_theta"]):
            inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
            freqs = torch.arange(L, dtype=torch.float32)[:, None] * inv[None, :]
            emb = torch.cat([freqs, freqs], -1)
            tables[theta] = (emb.cos(), emb.sin())
        pos = torch.arange(L)
        cache[key] = (tables, (pos[:, None] - pos[None, :]).abs() <= c["local_attention"] // 2)
    tables, window = cache[key]
    rot = lambda t: torch.cat([-t[..., hd // 2:], t[..., :hd // 2]], -1)
    x = ln(W["embeddings.tok_embeddings.weight"][ids], "embeddings.norm")
    # _prepare_4d_attention_mask, and the sliding-window mask derived from it
    gmask = ((1.0 - am[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min).expand(B, 1, L, L)
    smask = gmask.masked_fill(window.logical_not(), torch.finfo(torch.float32).min)
    for i in range(c["num_hidden_layers"]):
        p = f"layers.{i}."
        is_global = i % c["global_attn_every_n_layers"] == 0
        cos, sin = tables[c["global_rope_theta"] if is_global else c["local_rope_theta"]]
        h = x if i == 0 else ln(x, p + "attn_norm")
        qkv = F.linear(h, W[p + "attn.Wqkv.weight"]).view(B, L, 3, H, hd)
        q, k, v = qkv.transpose(3, 1).unbind(dim=2)  # [B, H, L, hd]
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        a = attend(q, k, v, gmask if is_global else smask).transpose(1, 2).reshape(B, L, D)
        x = x + F.linear(a, W[p + "attn.Wo.weight"])
        inp, gate = F.linear(ln(x, p + "mlp_norm"), W[p + "mlp.Wi.weight"]).chunk(2, dim=-1)
        x = x + F.linear(F.gelu(inp) * gate, W[p + "mlp.Wo.weight"])
    return ln(x, "final_norm")


def torch_batches(texts, batch, pad_id):
    """Padded batches as a tokenizer with padding=True makes them: ids [B, longest], mask [B, longest]."""
    import torch
    for s in range(0, len(texts), batch):
        chunk = texts[s:s + batch]
        L = max(len(t) for t in chunk)
        ids = torch.full((len(chunk), L), pad_id, dtype=torch.int64)
        am = torch.zeros((len(chunk), L), dtype=torch.int64)
        for r, t in enumerate(chunk):
            ids[r, :len(t)] = torch.tensor(t)
            am[r, :len(t)] = 1
        yield ids, am


def make_runner(folder, local_attention=None):
    W, c = load_weights(folder)
    if local_attention:
        c["local_attention"] = local_attention
    cache = {}
    if c["model_type"] == "bert":
        return (lambda ids, am: bert_forward(W, c, ids, am)), c["pad_token_id"]
    return (lambda ids, am: modernbert_forward(W, c, ids, am, cache)), c["pad_token_id"]


def torch_child(args):
    """Runs in its own process (OPENBLAS_NUM_THREADS set by the parent): times --reps passes or checks."""
    import torch
    torch.set_num_threads(args.threads)
    a, b = torch.randn(128, 768), torch.randn(768, 3072)
    t0 = time.perf_counter()
    a @ b
    if time.perf_counter() - t0 > 0.05:
        sys.exit("the active BLAS is the slow reference one: install libopenblas0-pthread")
    run, pad = make_runner(args.model)
    texts = read_ids(args.ids)
    with torch.inference_mode():
        if args.check:  # all texts as one padded batch; compare text 0 with eigenformer's dump
            ids, am = next(torch_batches(texts, len(texts), pad))
            h = run(ids, am)[0, :len(texts[0])]
            with open(args.check, "rb") as f:
                ef = torch.frombuffer(bytearray(f.read()), dtype=torch.float32)
            if ef.numel() != h.numel():
                sys.exit(f"eigenformer dumped {ef.numel()} floats, expected {h.numel()}")
            ef = ef.view_as(h)
            out = {"max_abs_diff": float((h - ef).abs().max()), "max_abs": float(h.abs().max()),
                   "tokens": len(texts[0]), "batch_longest": int(ids.shape[1])}
            if args.control:  # the check must see a change of the computation: ModernBERT without its window
                run_global, _ = make_runner(args.model, local_attention=1 << 20)
                out["control_diff"] = float((run_global(ids, am)[0, :len(texts[0])] - ef).abs().max())
            print(json.dumps(out))
            return
        texts = texts[:args.texts]
        for ids, am in torch_batches(texts[:2], 2, pad):  # warm-up, untimed: the first two texts
            run(ids, am)
        secs = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            for ids, am in torch_batches(texts, TORCH_BATCH, pad):
                run(ids, am)
            secs.append(time.perf_counter() - t0)
    padded = sum(len(texts[s:s + TORCH_BATCH]) * max(map(len, texts[s:s + TORCH_BATCH]))
                 for s in range(0, len(texts), TORCH_BATCH))
    med = statistics.median(secs)
    print(json.dumps({"median_s": med, "texts_per_s": len(texts) / med, "all_s": secs, "padded_tokens": padded}))


# ------------------------------------------------------------------ driver
def torch_run(folder, ids, threads, reps, texts, check=None, control=False):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--model", folder, "--ids", ids, "--threads",
           str(threads), "--reps", str(reps), "--texts", str(texts)]
    if check:
        cmd += ["--check", check] + (["--control"] if control else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ef_run(binary, folder, ids, threads, reps, batch_tokens, dump=None):
    cmd = [binary, "--model", folder, "--ids", ids, "--threads", str(threads), "--batch-tokens", str(batch_tokens),
           "--reps", str(reps)]
    if dump:
        cmd += ["--dump", dump]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_average():
    return os.getloadavg()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=DEFAULT_BIN)
    ap.add_argument("--texts", type=int, default=32, help="texts timed (the first N of the 1,000)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch-tokens", type=int, default=0, help="eigenformer's budget; 0: the fastest of 4096/8192/16384")
    ap.add_argument("--models", default="bert,modernbert")
    ap.add_argument("--threads-list", default="1,2")
    ap.add_argument("--workdir", default=None, help="where the temporary folder goes (default: the system's)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--ids", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--check", help=argparse.SUPPRESS)
    ap.add_argument("--control", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        torch_child(args)
        return
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no executable {binary}: build bench_encoder_throughput, or pass --binary")
    import torch
    models = args.models.split(",")
    threads_list = [int(t) for t in args.threads_list.split(",")]
    texts_timed = min(args.texts, N_TEXTS)
    start = time.time()
    root = tempfile.mkdtemp(prefix="ef_encoders_", dir=args.workdir)
    try:
        folders = {}
        if "bert" in models:
            folders["bert"] = make_folder(root, "bert", BERT_CONFIG, bert_tensors, 1)
        if "modernbert" in models:
            folders["modernbert"] = make_folder(root, "modernbert", MODERNBERT_CONFIG, modernbert_tensors, 2)
        ids_path = os.path.join(root, "ids.txt")
        texts = make_texts(ids_path)
        timed_path = os.path.join(root, "ids_timed.txt")
        write_ids(timed_path, texts[:texts_timed])
        timed = texts[:texts_timed]
        n_tok = sum(map(len, timed))
        n_pad = sum(len(timed[s:s + TORCH_BATCH]) * max(map(len, timed[s:s + TORCH_BATCH]))
                    for s in range(0, len(timed), TORCH_BATCH))
        attention = "F.scaled_dot_product_attention" if hasattr(torch.nn.functional, "scaled_dot_product_attention") \
            else "eager attention (matmul + mask + softmax; this torch has no scaled_dot_product_attention)"
        print(f"torch {torch.__version__}, {attention}; {texts_timed} of {N_TEXTS} texts timed "
              f"(lengths {MIN_LEN}..{MAX_LEN}, seed {SEED}): {n_tok} tokens packed, {n_pad} padded "
              f"in batches of {TORCH_BATCH}; median of {args.reps} passes", flush=True)

        # 1. the same computation: text 0 of small padded batches, three different leading texts
        lengths = [len(t) for t in texts]
        short = min(range(20), key=lambda i: lengths[i])
        longs = sorted(range(20), key=lambda i: -lengths[i])[:2]
        groups = [[short] + longs, [longs[0], short, longs[1]], [longs[1], longs[0]]]
        for name, folder in folders.items():
            worst = 0.0
            for gi, group in enumerate(groups):
                p = os.path.join(root, f"check{gi}.txt")
                write_ids(p, [texts[i] for i in group])
                dump = os.path.join(root, f"check{gi}.f32")
                ef_run(binary, folder, p, 2, 1, 8192, dump=dump)
                r = torch_run(folder, p, 2, 1, 0, check=dump, control=name == "modernbert" and gi == 1)
                print(f"check {name}: text {group[0]} ({r['tokens']} tokens, padded batch of {len(group)} to "
                      f"{r['batch_longest']}): max |eigenformer - torch| = {r['max_abs_diff']:.2e} "
                      f"(max |h| {r['max_abs']:.2f})", flush=True)
                if "control_diff" in r:
                    print(f"  control: torch with global attention on every layer differs from eigenformer by "
                          f"{r['control_diff']:.2e}", flush=True)
                    if not r["control_diff"] > 1e-2:
                        sys.exit("the check does not see the sliding window")
                worst = max(worst, r["max_abs_diff"])
            if not worst < 1e-3:
                sys.exit(f"{name}: eigenformer and torch disagree (max abs diff {worst:.2e} >= 1e-3)")

        # 2. eigenformer's token budget
        budgets = {}
        for name, folder in folders.items():
            if args.batch_tokens:
                budgets[name] = args.batch_tokens
                continue
            tries = {}
            for bt in (4096, 8192, 16384):
                tries[bt] = ef_run(binary, folder, timed_path, max(threads_list), 1, bt)["texts_per_s"]
            budgets[name] = max(tries, key=tries.get)
            print(f"budget {name} at {max(threads_list)} threads: " +
                  ", ".join(f"{bt} tokens {v:.2f} texts/s" for bt, v in tries.items()) + f" -> {budgets[name]}",
                  flush=True)

        # 3. interleaved timing
        rows = []
        for name, folder in folders.items():
            for th in threads_list:
                la = load_average()
                if la > 2.5:  # a shared machine: wait once for the load to settle
                    time.sleep(60)
                    la = load_average()
                pt = torch_run(folder, timed_path, th, args.reps, texts_timed)
                ef = ef_run(binary, folder, timed_path, th, args.reps, budgets[name])
                rows.append((name, th, pt["texts_per_s"], ef["texts_per_s"], ef["tokens_per_s"], la))
                print(f"  {name} {th} thread(s): torch {pt['texts_per_s']:.2f} texts/s {pt['all_s']}, eigenformer "
                      f"{ef['texts_per_s']:.2f} texts/s {ef['all_s']} (load average {la:.2f})", flush=True)
        print()
        print("| model | threads | PyTorch texts/s (padded, batches of 32) | eigenformer texts/s (packed) | "
              "eigenformer tokens/s | eigenformer / PyTorch |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, th, p, e, tps, _ in rows:
            print(f"| {name} (budget {budgets[name]}) | {th} | {p:.2f} | {e:.2f} | {tps:.0f} | {e / p:.2f}x |")
        print(f"\n{time.time() - start:.0f} s in all")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
