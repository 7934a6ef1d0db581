#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (preset "fuzz": ASan + UBSan) and runs each for a
# bounded time over its seed corpus (tests/fuzz/corpus/<target>); new inputs go to a scratch
# corpus under build/fuzz, so the committed seeds stay as they are. The targets run side by
# side, one per core, and each gets its whole time on a core of its own: when the last round has
# fewer targets than cores, each of those runs as several processes at once (same corpus folder)
# that share its time, so no core waits (5 targets on 2 cores: two rounds of two, then the fifth
# as two 30 s processes, 150 s instead of 180; an even count runs in whole rounds).
# Usage: tools/fuzz.sh [seconds per target, default 60] [targets at once, default nproc]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
at_once="${2:-$(nproc)}"
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build build/fuzz
targets=(safetensors bpe wordpiece config vocab tokenizer_json regex)

# run_one TARGET SECONDS [PART]: one process of TARGET; its log and status carry PART when the
# target's time is split over several processes.
run_one() {
  local t="$1" time="$2" part="${3:-}" work="build/fuzz/corpus-$1" status=0
  local log="build/fuzz/fuzz_$t$part.log"
  mkdir -p "$work"
  build/fuzz/tests/fuzz/fuzz_$t -max_total_time="$time" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/crash-$t$part-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  echo "$status" >"build/fuzz/fuzz_$t$part.status"
}

echo "=== fuzz: ${#targets[@]} targets, ${secs}s each, $at_once at a time"
rm -f build/fuzz/fuzz_*.status build/fuzz/fuzz_*.log  # an earlier run's must not stand in for this one
full=$(( ${#targets[@]} / at_once * at_once ))  # targets in whole rounds
for i in "${!targets[@]}"; do
  t="${targets[$i]}"
  while [[ $(jobs -rp | wc -l) -ge $at_once ]]; do wait -n || true; done
  if (( i < full )); then
    run_one "$t" "$secs" &
  else
    wait  # the last round: the remaining targets share all the cores
    left=$(( ${#targets[@]} - full )) parts=$(( at_once / left ))
    for t2 in "${targets[@]:$full}"; do
      for (( p = 1; p <= parts; p++ )); do run_one "$t2" $(( secs / parts )) ".$p" & done
    done
    break
  fi
done
wait
failed=0
for t in "${targets[@]}"; do
  runs=0
  for log in build/fuzz/fuzz_$t.log build/fuzz/fuzz_$t.*.log; do
    [[ -e "$log" ]] || continue
    runs=$(( runs + 1 ))
    name="$(basename "$log" .log)"
    echo "=== $name"
    grep -E "^(INFO: seed corpus|Done [0-9]+ runs)|ERROR|SUMMARY|what\(\)" "$log" || true
    status="$(cat "build/fuzz/$name.status" 2>/dev/null || echo missing)"
    if [[ "$status" != 0 ]]; then
      echo "$name failed (exit $status): see $log and build/fuzz/crash-${name#fuzz_}-*" >&2
      failed=1
    fi
  done
  [[ $runs -gt 0 ]] || { echo "fuzz_$t did not run" >&2; failed=1; }
done
[[ $failed -eq 0 ]] || exit 1
echo "fuzz.sh: no findings"
