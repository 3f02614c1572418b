#!/usr/bin/env bash
# A suite that passes by luck is a failing suite: run it again and again from a clean
# state, as a new user would, and print one summary line per run and a total.
#
#   scripts/test_repeat.sh [PROPERTY_RUNS] [FRESH_CLONES]     (defaults: 30 and 3)
#
# 1. The property tests PROPERTY_RUNS times in this checkout, each from a clean state
#    (no .hypothesis/ example database, no pytest cache), with the default (ci) profile.
# 2. `make test` in FRESH_CLONES fresh clones of this checkout's HEAD, each in its own
#    temporary folder with its own new .venv (shared/ is linked beside it when present).
# The full log goes to test-repeat.log; the exit code is non-zero if any run failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PROPERTY_RUNS=${1:-30}
FRESH_CLONES=${2:-3}
LOG=$ROOT/test-repeat.log
PY=$ROOT/.venv/bin/python
: >"$LOG"
failed=0
summary=()

if [ ! -x "$PY" ]; then
    echo "test-repeat: $PY not found: run 'make test' once first" >&2
    exit 2
fi

for i in $(seq 1 "$PROPERTY_RUNS"); do
    rm -rf .hypothesis
    start=$(date +%s)
    if "$PY" -m pytest -q -p no:cacheprovider tests/test_properties.py >>"$LOG" 2>&1; then
        result=passed
    else
        result=FAILED
        failed=$((failed + 1))
    fi
    line="property run $i/$PROPERTY_RUNS: $result in $(( $(date +%s) - start )) s; $(tail -n 1 "$LOG")"
    echo "$line"
    summary+=("$line")
    if [ -e .hypothesis ]; then
        echo "test-repeat: the property tests wrote .hypothesis/ (the ci profile must not)" | tee -a "$LOG"
        failed=$((failed + 1))
    fi
done

for i in $(seq 1 "$FRESH_CLONES"); do
    dir=$(mktemp -d)
    git clone -q "$ROOT" "$dir/p"
    if [ -d "$ROOT/../shared" ]; then ln -s "$(cd "$ROOT/../shared" && pwd)" "$dir/shared"; fi
    start=$(date +%s)
    if (cd "$dir/p" && make test) >>"$LOG" 2>&1; then
        result=passed
    else
        result=FAILED
        failed=$((failed + 1))
    fi
    counts=$(grep -E "^=+ .*(passed|failed).* in .*=+$" "$LOG" | tail -n 2 | tr '\n' ' ')
    line="fresh clone $i/$FRESH_CLONES ($(git -C "$dir/p" rev-parse --short HEAD)): $result in $(( $(date +%s) - start )) s; $counts"
    echo "$line"
    summary+=("$line")
    rm -rf "$dir"
done

echo
echo "test-repeat summary ($(date -u +%Y-%m-%dT%H:%MZ)):"
printf '  %s\n' "${summary[@]}"
echo "  $failed failed of $((PROPERTY_RUNS + FRESH_CLONES)) runs"
[ "$failed" -eq 0 ]
