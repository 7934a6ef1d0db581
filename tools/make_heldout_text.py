#!/usr/bin/env python3
"""Writes tests/data/kjv_heldout.txt: text the shipped model (models/kjv-gpt2) was never trained on,
for eigenformer-perplexity's tests.

Which text, exactly. tools/train_shipped_model.py builds its corpus from Debian's bible-kjv package,
`bible -f "Genesis1:1-Revelation22:21"` with the verse references stripped, one verse a line; it
tokenizes the whole corpus with its byte-level BPE and splits the token ids at
`split = int(len(ids) * 0.98)`: the first 98 % train, the last 2 % (ids[split:]) are the validation
set. Training draws windows train[i : i + 129] with i < len(train) - 129, so no token at or after
`split` was ever seen in training. This script rebuilds the same corpus (the same corpus() code),
tokenizes it with the model's own vocab.json + merges.txt (the merges the training script learnt,
applied the same way: GPT-2's pre-tokenisation, lowest-rank pair first), finds the character where
token `split` begins, and keeps the verses that start at or after it: from the first line boundary
after the split, whole lines, as many as fit in MAX_BYTES (about 24 KB). Those verses are the
beginning of the held-out 2 %; none of their tokens is in the training part.

The King James Version text is in the public domain (see /usr/share/doc/bible-kjv/copyright).

    apt-get install bible-kjv
    python3 tools/make_heldout_text.py [--out tests/data/kjv_heldout.txt]

No torch needed. It checks the corpus and token counts against models/kjv-gpt2/README.md (4,137,849
characters, 1,152,078 tokens), so a different bible-kjv text cannot silently give other verses.
"""
import argparse
import json
import os

from kjv_corpus import PAT, bpe, bytes_to_unicode, corpus

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MODEL = os.path.join(ROOT, "models", "kjv-gpt2")
MAX_BYTES = 24 * 1024
CORPUS_CHARS, CORPUS_TOKENS = 4137849, 1152078  # models/kjv-gpt2/README.md, "How it was made"

def read_merges():
    with open(os.path.join(MODEL, "merges.txt"), encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if not l.startswith("#version")]
    return {tuple(l.split(" ")): rank for rank, l in enumerate(lines) if l}


def token_count(piece, b2u, ranks):
    """Number of BPE tokens of one pre-tokenised piece."""
    return len(bpe(piece, b2u, ranks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "kjv_heldout.txt"))
    args = ap.parse_args()
    text = corpus()
    b2u, ranks = bytes_to_unicode(), read_merges()
    with open(os.path.join(MODEL, "vocab.json"), encoding="utf-8") as f:
        assert len(json.load(f)) == len(ranks) + 256 + 1, "vocab.json and merges.txt do not match"
    cache, starts, pos, total = {}, [], 0, 0  # starts: (first token index, char offset) of each piece
    for m in PAT.finditer(text):
        piece = m.group(0)
        if piece not in cache:
            cache[piece] = token_count(piece, b2u, ranks)
        starts.append((total, m.start()))
        total += cache[piece]
    assert len(text) == CORPUS_CHARS, f"corpus has {len(text)} characters, the model's card says {CORPUS_CHARS}"
    assert total == CORPUS_TOKENS, f"corpus has {total} tokens, the model's card says {CORPUS_TOKENS}"
    split = int(total * 0.98)  # as train_shipped_model.py: data[:split] trains, data[split:] validates
    # The first piece whose tokens all lie at or after the split (a piece cut by it is skipped).
    first_char = next(c for t, c in starts if t >= split)
    begin = text.index("\n", first_char - 1) + 1 if text[first_char - 1] != "\n" else first_char
    lines, size = [], 0
    for line in text[begin:].splitlines(keepends=True):
        if size + len(line.encode()) > MAX_BYTES:
            break
        lines.append(line)
        size += len(line.encode())
    out = "".join(lines)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(out)
    held = text[first_char:]
    print(f"corpus {len(text)} chars, {total} tokens; split at token {split} = char {first_char} "
          f"({len(held)} held-out chars); wrote {len(lines)} lines, {size} bytes from char {begin} to {args.out}")
    print(f"first line: {lines[0].strip()[:80]!r}")
    print(f"last line:  {lines[-1].strip()[:80]!r}")


if __name__ == "__main__":
    main()
