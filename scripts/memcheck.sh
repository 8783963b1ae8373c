#!/usr/bin/env bash
# Run tests under valgrind memcheck against the in-place build of the core and report
# invalid reads/writes and definite leaks whose stack passes through fastgrad's code.
#   scripts/memcheck.sh [pytest args...]    (slow: ~30-50x; pick a few test files)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
python3 setup.py -q build_ext --inplace >/dev/null
log="$(mktemp)"
PYTHONMALLOC=malloc PYTHONPATH="$repo" valgrind --tool=memcheck --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=30 \
    --log-file="$log" "$(python3 -c "import sys; print(sys.executable)")" -m pytest -q -p no:cacheprovider "${@:-tests/test_engine_api.py}"
echo "== valgrind summary ($log)"
grep -E "ERROR SUMMARY|definitely lost" "$log" | tail -2
# errors anywhere in our code (the extension, csrc) fail the run
if grep -E "^==[0-9]+== (Invalid|Conditional|Use of uninit|Mismatched)" -A30 "$log" \
        | grep -qE "_core\.|csrc/|fastgrad"; then
    echo "memcheck: errors in fastgrad's code, see $log"; exit 1
fi
if grep -E "definitely lost in" -A30 "$log" | grep -qE "_core\.|csrc/"; then
    echo "memcheck: definite leaks in fastgrad's code, see $log"; exit 1
fi
echo "memcheck: no invalid accesses or definite leaks in fastgrad's code"
