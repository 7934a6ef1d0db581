#!/usr/bin/env bash
# Prefill and decode tokens/s of eigenformer against llama.cpp's llama-bench on the same
# GPT-2-124M-shaped random weights, at each weight type, pair by pair and interleaved so both see
# the same machine minutes; prints one table of medians over rounds (bench/compare_llamacpp.py).
#
#   bench/compare_llamacpp.sh [--llama-bin DIR] [--llama-src DIR] [--threads "1 2"] [--rounds 2]
#                             [--types "f32 bf16 int8 int4"] [--llama-args "-fa off ..."] [--kv f32|bf16]
#
# --kv: eigenformer's K/V cache rows (its --kv-dtype; default f32). llama.cpp's are f16, the
# nearest like for like is --kv bf16.
#
# Pairs: f32 / F32, bf16 / BF16, int8 / Q8_0, int4 / Q4_0 (quantized --pure: the tied head /
# token table is Q4_0 too, as eigenformer's int4 quantizes every linear layer, head included).
# Same work on both sides: prefill = 512 random tokens into an empty cache (llama-bench pp512);
# decode = 128 greedy steps after that 512-token prompt, i.e. at context 512..639 (llama-bench
# tg128 at depth 512, `-d 512`, whose 512-token fill is not timed).
# Needs build/release/bench/bench_generate_timing, build/gpt2-124m (tools/make_gpt2_checkpoint.py)
# and a llama.cpp build (llama-bench, llama-quantize); the GGUFs in build/ are made when missing
# (tools/gpt2_to_gguf.py with the llama.cpp source's gguf-py, then llama-quantize).
set -euo pipefail
cd "$(dirname "$0")/.."

llama_bin="${LLAMA_CPP_DIR:-/work/llama.cpp}/build/bin"
llama_src=""
threads="1 2"
rounds=2
types="f32 bf16 int8 int4"
llama_args=""
kv=f32
model=build/gpt2-124m
while [[ $# -gt 0 ]]; do
  case "$1" in
    --llama-bin) llama_bin="$2"; shift 2 ;;
    --llama-src) llama_src="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --types) types="$2"; shift 2 ;;
    --llama-args) llama_args="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --kv) kv="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "compare_llamacpp: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$llama_src" ]]; then llama_src="$(cd "$llama_bin/../.." && pwd)"; fi
ef_bench=build/release/bench/bench_generate_timing
for f in "$llama_bin/llama-bench" "$llama_bin/llama-quantize" "$ef_bench" "$model/model.safetensors"; do
  [[ -e "$f" ]] || { echo "compare_llamacpp: missing $f" >&2; exit 1; }
done

declare -A gguf_type=([f32]=f32 [bf16]=bf16 [int8]=q8_0 [int4]=q4_0)
gguf() { echo "$model-${gguf_type[$1]}.gguf"; }
if [[ ! -f "$model-f32.gguf" ]]; then
  /usr/bin/python3 tools/gpt2_to_gguf.py "$model" "$model-f32.gguf" --gguf-py "$llama_src/gguf-py"
fi
for t in $types; do
  [[ -n "${gguf_type[$t]:-}" ]] || { echo "compare_llamacpp: unknown type $t" >&2; exit 2; }
  q="${gguf_type[$t]}"
  if [[ ! -f "$(gguf "$t")" && "$q" != f32 ]]; then
    pure=(); [[ "$q" == q4_0 ]] && pure=(--pure)
    "$llama_bin/llama-quantize" "${pure[@]}" "$model-f32.gguf" "$(gguf "$t")" "${q^^}" >/dev/null 2>&1 ||
      { echo "compare_llamacpp: llama-quantize ${q^^} failed" >&2; exit 1; }
  fi
done

commit="$(git -C "$llama_src" log -1 --format='%h %cs' 2>/dev/null || echo unknown)"
echo "llama.cpp: $llama_bin (source $llama_src, commit $commit)"
echo "decode: both sides after a 512-token context (eigenformer: 128 tokens after its 512-token prefill;" \
     "llama-bench: tg128 at -d 512, not its default empty-context tg128); prefill: 512 tokens from empty"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# run OUT CMD...: CMD's stdout to OUT; on failure, the tail of its stderr and exit
run() {
  local o="$1"; shift
  "$@" > "$o" 2> "$o.err" || { echo "compare_llamacpp: failed: $*" >&2; tail -5 "$o.err" >&2; exit 1; }
}
# *.ef: eigenformer's JSON line; *.pp / *.tg: llama-bench -o json (pp512 @ d0, tg128 @ d512)
for T in $threads; do
  for ((r = 1; r <= rounds; ++r)); do
    for t in $types; do
      echo "threads $T, round $r/$rounds, $t ..." >&2
      base="$out/$T.$r.$t"
      run "$base.ef" "$ef_bench" --model "$model" --threads "$T" --prefill 512 --decode 128 --reps 2 --dtype "$t" \
        --kv-dtype "$kv"
      # shellcheck disable=SC2086  # --llama-args is split into words on purpose
      run "$base.pp" "$llama_bin/llama-bench" -m "$(gguf "$t")" -t "$T" -r 2 -p 512 -n 0 -o json $llama_args
      # shellcheck disable=SC2086
      run "$base.tg" "$llama_bin/llama-bench" -m "$(gguf "$t")" -t "$T" -r 2 -p 0 -n 128 -d 512 -o json $llama_args
    done
  done
done
/usr/bin/python3 bench/compare_llamacpp.py "$out"
