#!/bin/sh
# run.sh BUILD PORTER_BIN : run every test and print one final line "N passed, N failed".
#
# Each test program speaks TAP: cmocka binaries (CMOCKA_MESSAGE_OUTPUT=TAP) under
# BUILD/tests/unit and BUILD/tests/integration, and the scripts under tests/integration and
# tests/tui. A program that exits non-zero without reporting a failure (a crash, a
# sanitizer abort) counts as one failure. Output of failing programs is shown; passing ones
# stay quiet.
#
# Programs run TEST_JOBS at a time (default 3): most of the integration suite waits on
# timers and sockets, not on the CPU, and each test uses its own ports and directories.
# test_sync_e2e runs once per PMS dialect so that the three can run side by side.
#
#   sh tests/run.sh --one LOGDIR NAME COMMAND...   (internal: run one program)
if [ "$1" = --one ]; then
    logdir=$2
    name=$3
    shift 3
    out="$logdir/$(echo "$name" | tr '/ ' '__').log"
    "$@" >"$out" 2>&1
    echo $? >"$out.rc"
    exit 0
fi

build=${1:-build}
PORTER_BIN=${2:-./porter}
case $PORTER_BIN in /*) ;; *) PORTER_BIN=$(pwd)/$PORTER_BIN ;; esac
PMSIM_BIN=$(dirname "$PORTER_BIN")/pmsim
export PORTER_BIN PMSIM_BIN CMOCKA_MESSAGE_OUTPUT=TAP
top=$(pwd)
export PORTER_TOP=$top
logdir=$(mktemp -d "${TMPDIR:-/tmp}/porter-tests.XXXXXX")
jobs="$logdir/jobs"
: >"$jobs"

add() { # name, command... (no argument may contain a space)
    echo "$*" >>"$jobs"
}

for t in "$build"/tests/unit/test_* "$build"/tests/integration/test_*; do
    [ -x "$t" ] || continue
    case $t in *.d | *.o) continue ;; esac
    name="$(basename "$(dirname "$t")")/$(basename "$t")"
    case $t in
    */test_sync_e2e)
        for d in hostaway guesty buildium; do add "$name:$d" "$t" "$d"; done
        ;;
    *) add "$name" "$t" ;;
    esac
done
for t in tests/integration/*.sh tests/tui/*.sh; do
    [ -f "$t" ] || continue
    add "$t" sh "$t"
done

# the slowest first, so that they do not end up alone at the end
{ grep test_sync_e2e "$jobs"; grep -v test_sync_e2e "$jobs"; } >"$jobs.sorted"
xargs -P "${TEST_JOBS:-3}" -L 1 sh "$top/tests/run.sh" --one "$logdir" <"$jobs.sorted"

passed=0
failed=0
while read -r name cmd; do
    out="$logdir/$(echo "$name" | tr '/ ' '__').log"
    rc=$(cat "$out.rc" 2>/dev/null || echo 127)
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
done <"$jobs"
rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
