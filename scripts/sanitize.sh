#!/usr/bin/env bash
# Build the compiled core with AddressSanitizer + UndefinedBehaviorSanitizer and the C
# asserts on (-UNDEBUG; in place, in a scratch copy of the tree) and run the test suite
# on it. Any report or failed assert fails the run.
#   scripts/sanitize.sh [pytest args...]      e.g. scripts/sanitize.sh tests/test_engine_api.py
#   scripts/sanitize.sh -m sanitize           the tests marked for it (what CI runs)
# Needs gcc with libasan/libubsan (Debian: gcc). CPython itself is not instrumented, so
# the ASan runtime is preloaded and leak checking (CPython keeps memory at exit) is off.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && xargs -0 cp --parents -t "$work")

cd "$work"
FASTGRAD_CFLAGS="-O1 -g -UNDEBUG -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
FASTGRAD_LDFLAGS="-fsanitize=address,undefined" \
    python3 setup.py -q build_ext --inplace >build.log 2>&1 || { cat build.log; exit 1; }

export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export PYTHONPATH="$work" PYTHONMALLOC=malloc
python3 -m pytest -q -p no:cacheprovider "${@:-tests}"
