#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset "fuzz": ASan + UBSan) and runs each for a
# bounded time over its seed corpus (tests/fuzz/corpus/<target>); new inputs go to a scratch
# corpus under build/fuzz, so the committed seeds stay as they are. The targets run side by
# side, one per core (each still gets its whole time on a core of its own).
# Usage: tools/fuzz.sh [seconds per target, default 60] [targets at once, default nproc]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
at_once="${2:-$(nproc)}"
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build build/fuzz
targets=(safetensors bpe wordpiece config vocab)

run_one() {
  local t="$1" work="build/fuzz/corpus-$1" log="build/fuzz/fuzz_$1.log" status=0
  mkdir -p "$work"
  build/fuzz/tests/fuzz/fuzz_$t -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/crash-$t-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  echo "$status" >"build/fuzz/fuzz_$t.status"
}

echo "=== fuzz: ${#targets[@]} targets, ${secs}s each, $at_once at a time"
rm -f build/fuzz/fuzz_*.status  # a status left by an earlier run must not stand in for this one
for t in "${targets[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $at_once ]]; do wait -n || true; done
  run_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
  echo "=== fuzz_$t"
  grep -E "^(INFO: seed corpus|Done [0-9]+ runs)|ERROR|SUMMARY|what\(\)" "build/fuzz/fuzz_$t.log" || true
  status="$(cat "build/fuzz/fuzz_$t.status" 2>/dev/null || echo missing)"
  if [[ "$status" != 0 ]]; then
    echo "fuzz_$t failed (exit $status): see build/fuzz/fuzz_$t.log and build/fuzz/crash-$t-*" >&2
    failed=1
  fi
done
[[ $failed -eq 0 ]] || exit 1
echo "fuzz.sh: no findings"
