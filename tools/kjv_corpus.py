"""The shipped model's corpus and byte-level BPE, shared by tools/train_shipped_model.py (which
trains on it) and tools/make_heldout_text.py (which cuts the held-out text from it): the King
James Bible as Debian's bible-kjv package prints it, verse references stripped, one verse a line.
No torch needed.
"""
import re
import subprocess

# GPT-2's pre-tokenisation pattern; the corpus is ASCII, for which \p{L} = [A-Za-z] and \p{N} = [0-9].
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def corpus():
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


def bpe(piece, b2u, ranks):
    """The BPE tokens (strings) of one pre-tokenised piece: the lowest-rank pair of @p ranks
    ({(a, b): rank}) merged first, every occurrence left to right, until no pair has a rank."""
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
    return s
