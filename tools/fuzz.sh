#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset "fuzz": ASan + UBSan) and runs each for a
# bounded time over its seed corpus (tests/fuzz/corpus/<target>); new inputs go to a scratch
# corpus under build/fuzz, so the committed seeds stay as they are.
# Usage: tools/fuzz.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build build/fuzz
for t in safetensors bpe wordpiece config vocab; do
  work="build/fuzz/corpus-$t"
  mkdir -p "$work"
  echo "=== fuzz_$t: ${secs}s"
  log="build/fuzz/fuzz_$t.log"
  status=0
  build/fuzz/tests/fuzz/fuzz_$t -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/crash-$t-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  grep -E "^(INFO: seed corpus|Done [0-9]+ runs)|ERROR|SUMMARY|what\(\)" "$log" || true
  if [[ $status -ne 0 ]]; then
    echo "fuzz_$t failed (exit $status): see $log and build/fuzz/crash-$t-*" >&2
    exit 1
  fi
done
echo "fuzz.sh: no findings"
