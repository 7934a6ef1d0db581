#!/usr/bin/env python3
"""Converts an HF GPT-2 folder (config.json + model.safetensors, F32, tied head, as written by
tools/make_gpt2_checkpoint.py) into a GGUF file llama.cpp loads, for bench/compare_llamacpp.sh.
Reads the safetensors with numpy (no torch / transformers) and writes with llama.cpp's gguf-py.

    /usr/bin/python3 tools/gpt2_to_gguf.py build/gpt2-124m build/gpt2-124m-f32.gguf \
        [--outtype f32|f16] [--gguf-py /work/llama.cpp/gguf-py] [--tokenizer DIR]

Metadata and tensor names follow llama.cpp's GPT2Model converter (conversion/gpt2.py) and its
loader (src/models/gpt2.cpp). HF Conv1D weights are stored [in, out]; llama.cpp wants [out, in]
(ggml ne = {in, out}), so c_attn / c_proj / c_fc weights are transposed. The head stays tied
(no output.weight: llama.cpp reuses token_embd). --tokenizer is a folder with GPT-2's vocab.json
and merges.txt (default: the one tools/fetch_tokenizer_files.sh caches); llama-bench feeds random
ids, so the vocabulary only has to load.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            sys.exit(f"gpt2_to_gguf: {name}: unsupported dtype {info['dtype']}")
        a, b = info["data_offsets"]
        out[name] = data[a:b].view(dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def default_tokenizer_dir():
    cache = os.environ.get("EIGENFORMER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "eigenformer")
    return os.path.join(cache, "tokenizers", "gpt2")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--outtype", choices=["f32", "f16"], default="f32")
    ap.add_argument("--gguf-py", default=os.environ.get("LLAMA_CPP_DIR", "/work/llama.cpp") + "/gguf-py")
    ap.add_argument("--tokenizer", default=default_tokenizer_dir())
    args = ap.parse_args()
    sys.path.insert(0, args.gguf_py)
    import gguf  # noqa: E402  (llama.cpp's own writer)

    with open(os.path.join(args.model_dir, "config.json")) as f:
        cfg = json.load(f)
    w = read_safetensors(os.path.join(args.model_dir, "model.safetensors"))
    w = {k.removeprefix("transformer."): v for k, v in w.items()}
    if "lm_head.weight" in w and not np.array_equal(w["lm_head.weight"], w["wte.weight"]):
        sys.exit("gpt2_to_gguf: untied lm_head.weight is not supported")
    D, L = cfg["n_embd"], cfg["n_layer"]

    with open(os.path.join(args.tokenizer, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(args.tokenizer, "merges.txt"), encoding="utf-8") as f:
        merges = [ln.rstrip("\n") for ln in f if ln.strip() and not ln.startswith("#version")]
    V = cfg["vocab_size"]
    tokens = [f"[PAD{i}]" for i in range(V)]
    for tok, i in vocab.items():
        if i < V:
            tokens[i] = tok
    eos = cfg.get("eos_token_id", 50256)
    toktypes = [gguf.TokenType.CONTROL if i == eos else
                gguf.TokenType.UNUSED if t.startswith("[PAD") else gguf.TokenType.NORMAL
                for i, t in enumerate(tokens)]

    ftype = gguf.LlamaFileType.MOSTLY_F16 if args.outtype == "f16" else gguf.LlamaFileType.ALL_F32
    wr = gguf.GGUFWriter(args.out, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.GPT2])
    wr.add_name(os.path.basename(os.path.normpath(args.model_dir)))
    wr.add_block_count(L)
    wr.add_context_length(cfg.get("n_ctx", cfg["n_positions"]))
    wr.add_embedding_length(D)
    wr.add_feed_forward_length(cfg.get("n_inner") or 4 * D)
    wr.add_head_count(cfg["n_head"])
    wr.add_layer_norm_eps(cfg["layer_norm_epsilon"])
    wr.add_file_type(ftype)
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("gpt-2")
    wr.add_token_list(tokens)
    wr.add_token_types(toktypes)
    wr.add_token_merges(merges)
    wr.add_bos_token_id(cfg.get("bos_token_id", eos))
    wr.add_eos_token_id(eos)
    wr.add_add_bos_token(False)

    def add(name, t, transpose=False):
        t = np.ascontiguousarray(t.T if transpose else t, dtype=np.float32)
        if args.outtype == "f16" and t.ndim == 2 and name != "position_embd.weight":
            t = t.astype(np.float16)  # like llama-quantize: 1-D tensors and positions stay F32
        wr.add_tensor(name, t)

    add("token_embd.weight", w["wte.weight"])
    add("position_embd.weight", w["wpe.weight"])
    for i in range(L):
        h, b = f"h.{i}.", f"blk.{i}."
        for src, dst, tr in [("ln_1", "attn_norm", False), ("attn.c_attn", "attn_qkv", True),
                             ("attn.c_proj", "attn_output", True), ("ln_2", "ffn_norm", False),
                             ("mlp.c_fc", "ffn_up", True), ("mlp.c_proj", "ffn_down", True)]:
            add(b + dst + ".weight", w[h + src + ".weight"], tr)
            add(b + dst + ".bias", w[h + src + ".bias"])
    add("output_norm.weight", w["ln_f.weight"])
    add("output_norm.bias", w["ln_f.bias"])

    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB, {args.outtype})")


if __name__ == "__main__":
    main()
