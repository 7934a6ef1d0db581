#!/usr/bin/env bash
# Runs the attention benchmark (about 10 minutes on 2 cores), then prints the tables for
# bench/RESULTS.md and redraws bench/attention_prefill.png.
# Usage: bench/run_attention.sh [extra Google Benchmark flags, e.g. --benchmark_filter=prefill]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target bench_attention
out=build/release/bench/attention.json
build/release/bench/bench_attention --benchmark_repetitions=3 --benchmark_min_time=0.1 \
  --benchmark_report_aggregates_only=true --benchmark_out_format=json --benchmark_out="$out" "$@"
/usr/bin/python3 bench/plot_attention.py "$out" bench/attention_prefill.png
