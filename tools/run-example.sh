#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build the main example, and run it: text
# generation with the small GPT-2-style model the project trained on the King James Bible
# (models/kjv-gpt2), streamed token by token, then the prefill and decode speed.
# Usage: tools/run-example.sh [extra eigenformer-generate options, e.g. --seed 7 --max-tokens 200]
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target eigenformer-generate
build/release/examples/eigenformer-generate --model models/kjv-gpt2 \
  --prompt "And God said unto Moses," --max-tokens 120 --temperature 0.8 --top-k 40 --repetition-penalty 1.15 \
  --seed 1 "$@"
