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
import re
import subprocess

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MODEL = os.path.join(ROOT, "models", "kjv-gpt2")
MAX_BYTES = 24 * 1024
CORPUS_CHARS, CORPUS_TOKENS = 4137849, 1152078  # models/kjv-gpt2/README.md, "How it was made"

# As in tools/train_shipped_model.py (GPT-2's pattern; the corpus is ASCII).
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def corpus():
    """tools/train_shipped_model.py's corpus(), unchanged."""
    raw = subprocess.run(["bible", "-f", "Genesis1:1-Revelation22:21"], check=True, capture_output=True,
                         text=True).stdout
    lines = [re.sub(r"^\S+?\d+:\d+ ", "", l).strip() for l in raw.splitlines()]
    return "\n".join(l for l in lines if l) + "\n"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def read_merges():
    with open(os.path.join(MODEL, "merges.txt"), encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if not l.startswith("#version")]
    return {tuple(l.split(" ")): rank for rank, l in enumerate(lines) if l}


def token_count(piece, b2u, ranks):
    """Number of BPE tokens of one pre-tokenised piece (merging the lowest-rank pair first)."""
    s = [b2u[b] for b in piece.encode()]
    while len(s) > 1:
        rank, i = min((ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(s, s[1:])))
        if rank == 1 << 30:
            break
        pair, out, i = (s[i], s[i + 1]), [], 0
        while i < len(s):
            if i + 1 < len(s) and (s[i], s[i + 1]) == pair:
                out.append(pair[0] + pair[1])
                i += 2
            else:
                out.append(s[i])
                i += 1
        s = out
    return len(s)


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
