#!/bin/sh
# run.sh BUILD PORTER_BIN : run every test and print one final line "N passed, N failed".
#
# Each test program speaks TAP: cmocka binaries (CMOCKA_MESSAGE_OUTPUT=TAP) under
# BUILD/tests/unit, and the scripts under tests/integration and tests/tui. A program that
# exits non-zero without reporting a failure (a crash, a sanitizer abort) counts as one
# failure. Output of failing programs is shown; passing ones stay quiet.
build=${1:-build}
PORTER_BIN=${2:-./porter}
case $PORTER_BIN in /*) ;; *) PORTER_BIN=$(pwd)/$PORTER_BIN ;; esac
PMSIM_BIN=$(dirname "$PORTER_BIN")/pmsim
export PORTER_BIN PMSIM_BIN CMOCKA_MESSAGE_OUTPUT=TAP
top=$(pwd)
export PORTER_TOP=$top
logdir=$(mktemp -d "${TMPDIR:-/tmp}/porter-tests.XXXXXX")
passed=0
failed=0

run_one() { # name, command...
    name=$1
    shift
    out="$logdir/$(echo "$name" | tr '/' '_').log"
    "$@" >"$out" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >>"$out"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        printf 'FAIL %s (%d passed, %d failed)\n' "$name" "$p" "$f"
        sed 's/^/    /' "$out" | tail -n 60
    else
        printf 'ok   %s (%d)\n' "$name" "$p"
    fi
}

for t in "$build"/tests/unit/test_* "$build"/tests/integration/test_*; do
    [ -x "$t" ] || continue
    case $t in *.d | *.o) continue ;; esac
    run_one "$(basename "$(dirname "$t")")/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh tests/tui/*.sh; do
    [ -f "$t" ] || continue
    run_one "$t" sh "$t"
done
rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
