#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build the main example, run it.
# Usage: tools/run-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-deps.sh
cmake --preset release
cmake --build --preset release --target eigenformer-kernels-demo
build/release/examples/eigenformer-kernels-demo
