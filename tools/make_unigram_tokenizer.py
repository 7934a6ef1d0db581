#!/usr/bin/env python3
"""Trains a SentencePiece Unigram model with Debian's python3-sentencepiece and converts it to a
Hugging Face tokenizer.json the way transformers' convert_slow_tokenizer does for T5 (its
SpmConverter with T5Converter's vocabulary and post-processor), for the tokenizer.json loader's
tests. Writes, in tests/data/tokenizer_json/:
  t5-unigram-spm.json      the converted tokenizer.json (the model uses the nmt_nfkc
                           normalization rule, so its precompiled_charsmap is SentencePiece's
                           full NFKC map; the .model itself is not kept: training again gives
                           the same bytes in a few seconds)
With --encode it writes nothing: it reads a JSON list of texts on stdin and prints
SentencePiece's own ids for them (EncodeAsIds), which tools/make_tokenizer_json_refs.js compares
with Hugging Face's.

Training: the King James Bible (tools/kjv_corpus.py, Debian's bible-kjv) plus the texts of
tools/tokenizer_corpus.json (so that the scripts of the golden corpus have pieces), Unigram,
1000 pieces, character_coverage 1.0, one thread, no shuffling: the same model on every run.
T5's special ids: <pad> 0, </s> 1, <unk> 2, no <s>.

Conversion rules followed (transformers' convert_slow_tokenizer.py, SpmConverter + T5Converter,
as of transformers 4.45-5.x):
  - model: Unigram, vocab = [[piece, score]] in the proto's order, unk_id = trainer_spec.unk_id,
    byte_fallback false (T5Converter does not handle byte fallback; this model has none);
  - T5Converter appends <extra_id_N> with score 0.0 for N = extra_ids-1 down to 0;
  - added tokens: the proto's CONTROL pieces (special) and USER_DEFINED pieces (not special),
    normalized false; <unk> is added too (special), as T5TokenizerFast's special tokens are;
    T5's <extra_id_N> are added special tokens;
  - normalizer: Sequence[Precompiled(precompiled_charsmap), Strip(left false, right true),
    Replace(Regex " {2,}" -> "\u2581")];
  - pre-tokenizer: Metaspace(replacement "\u2581", prepend_scheme "always", split true);
    ("always" is what add_prefix_space true with legacy true gives);
  - decoder: Metaspace with the same settings;
  - post-processor: TemplateProcessing "$A </s>" / "$A </s> $B </s>".

Run: /usr/bin/python3 tools/make_unigram_tokenizer.py  (then node tools/make_tokenizer_json_refs.js)
Needs: apt-get install python3-sentencepiece bible-kjv
"""
import base64
import hashlib
import io
import json
import os
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kjv_corpus  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tokenizer_json")
NAME = "t5-unigram-spm"
EXTRA_IDS = 4
SPACE = "\u2581"


def varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, i
        shift += 7


def fields(buf):
    """(field number, wire type, value) of a protobuf message: the few wire types ModelProto uses."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wt}")
        yield num, wt, v


def precompiled_charsmap(model_bytes):
    # ModelProto.normalizer_spec = 3; NormalizerSpec.precompiled_charsmap = 2.
    for num, _, v in fields(model_bytes):
        if num == 3:
            for n2, _, v2 in fields(v):
                if n2 == 2:
                    return bytes(v2)
    raise ValueError("the model has no precompiled_charsmap")


def train():
    texts = json.load(open(os.path.join(ROOT, "tools", "tokenizer_corpus.json"), encoding="utf-8"))
    texts = texts["texts"] if isinstance(texts, dict) else texts
    lines = kjv_corpus.corpus().splitlines() + [t for t in texts if t.strip()]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="unigram", vocab_size=1000,
        character_coverage=1.0, normalization_rule_name="nmt_nfkc", pad_id=0, eos_id=1, unk_id=2,
        bos_id=-1, num_threads=1, shuffle_input_sentence=False, input_sentence_size=0,
        max_sentence_length=1 << 16, minloglevel=2)
    return model.getvalue()


def added(id_, content, special):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def convert(model_bytes):
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    n = sp.get_piece_size()
    vocab = [[sp.id_to_piece(i), float(sp.get_score(i))] for i in range(n)]
    added_tokens = []
    for i in range(n):
        if sp.is_control(i) or sp.is_unknown(i):
            added_tokens.append(added(i, sp.id_to_piece(i), True))
    for k in range(EXTRA_IDS - 1, -1, -1):
        added_tokens.append(added(len(vocab), f"<extra_id_{k}>", True))
        vocab.append([f"<extra_id_{k}>", 0.0])
    metaspace = {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "always", "split": True}
    eos = sp.piece_to_id("</s>")
    seq = lambda s: {"Sequence": {"id": s, "type_id": 0}}  # noqa: E731
    sep = {"SpecialToken": {"id": "</s>", "type_id": 0}}
    return sp, {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled",
             "precompiled_charsmap": base64.b64encode(precompiled_charsmap(model_bytes)).decode("ascii")},
            {"type": "Strip", "strip_left": False, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": SPACE}]},
        "pre_tokenizer": metaspace,
        "post_processor": {"type": "TemplateProcessing", "single": [seq("A"), sep],
                           "pair": [seq("A"), sep, seq("B"), sep],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [eos], "tokens": ["</s>"]}}},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": sp.piece_to_id("<unk>"), "vocab": vocab, "byte_fallback": False},
    }


def main():
    model_bytes = train()
    sp, tok = convert(model_bytes)
    text = json.dumps(tok, ensure_ascii=False, indent=1) + "\n"
    path = os.path.join(OUT, NAME + ".json")
    if "--encode" in sys.argv:
        # For tools/make_tokenizer_json_refs.js: SentencePiece's ids for the texts (a JSON list
        # on stdin), after checking that this model is the one the committed file was made from.
        if open(path, encoding="utf-8").read() != text:
            sys.exit(f"make_unigram_tokenizer: {path} is not what this model converts to; run the script without --encode")
        texts = json.load(sys.stdin)
        json.dump({"sentencepiece": spm.__version__, "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
                   "eos_id": sp.eos_id(), "ids": [sp.encode_as_ids(t) for t in texts]}, sys.stdout)
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{NAME}: {sp.get_piece_size()} pieces + {EXTRA_IDS} extra ids, tokenizer.json {len(text.encode())} bytes")


if __name__ == "__main__":
    main()
