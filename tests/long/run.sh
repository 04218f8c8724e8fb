#!/bin/sh
# run.sh BUILD PORTER_BIN : the long reliability tests (make check-long; docs/RELIABILITY.md).
#
#   1. crash_steps  crash at every durable step of a ~200-event scenario (isync pattern)
#   2. kill9        kill -9 porter sync 50 times during a 10,000-event two-way run
#   3. chaos        a two-way scenario without faults, then under five mixes of network
#                   faults at pmsim (latency, resets, 503s, lost answers, cut-off answers):
#                   the same final state
#   4. procs        two interfaces (tmux), porter sync and two writers on one database:
#                   no busy error, one leader, kill -9 of the leader taken over
#   5. TSan         the sync integration tests, and a short kill9, against the
#                   ThreadSanitizer build (build/tsan; skipped when it is not there)
#
# LONG_QUICK=1 runs a sample of each (every 7th crash point, 2,000 events and 10 kills, two
# fault mixes on a smaller script, 10,000 writes per writer and one kill, no TSan): a few
# minutes instead of about 40. LONG_JOBS (default 4) crash runs at a time;
# LONG_TSAN=0 skips part 5; LONG_KEEP=1 keeps every scenario's directory. Each program speaks
# TAP; the last line is "N passed, N failed" as in tests/run.sh.
build=${1:-build}
PORTER_BIN=${2:-./porter}
case $PORTER_BIN in /*) ;; *) PORTER_BIN=$(pwd)/$PORTER_BIN ;; esac
PMSIM_BIN=$(dirname "$PORTER_BIN")/pmsim
PORTER_TOP=$(pwd)
export PORTER_BIN PMSIM_BIN PORTER_TOP CMOCKA_MESSAGE_OUTPUT=TAP
long=$build/tests/long
logdir=$(mktemp -d "${TMPDIR:-/tmp}/porter-long.XXXXXX")
start=$(date +%s)
passed=0
failed=0

# run NAME COMMAND... : run one TAP program, show its diagnostics and failures as it goes
run() {
    name=$1
    shift
    t0=$(date +%s)
    echo "== $name"
    "$@" >"$logdir/$name.log" 2>&1 &
    pid=$!
    # follow the log: diagnostics and failures at once, passing lines counted
    tail -n +1 -f "$logdir/$name.log" --pid=$pid 2>/dev/null | grep --line-buffered -E '^(#|not ok)'
    wait $pid
    rc=$?
    p=$(grep -c '^ok ' "$logdir/$name.log")
    f=$(grep -c '^not ok ' "$logdir/$name.log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc"
        tail -n 20 "$logdir/$name.log" | sed 's/^/    /'
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    echo "   $name: $p passed, $f failed, $(($(date +%s) - t0)) s"
}

if [ "${LONG_QUICK:-0}" = 1 ]; then
    run crash_steps "$long/crash_steps" --quick --jobs "${LONG_JOBS:-4}"
    run kill9 "$long/kill9" --events 2000 --kills 10
    run chaos "$long/chaos" --quick
    run procs "$long/procs" --quick
else
    run crash_steps "$long/crash_steps" --jobs "${LONG_JOBS:-4}"
    run kill9 "$long/kill9" --events 10000 --kills 50
    run chaos "$long/chaos"
    run procs "$long/procs" --writes 100000 --kills 2
fi
# the terminal tests with every porter under valgrind (memcheck)
run valgrind sh "$PORTER_TOP/tests/long/valgrind.sh" "$PORTER_BIN"

tsan=build/tsan
if [ "${LONG_TSAN:-1}" != 0 ] && [ "${LONG_QUICK:-0}" != 1 ] && [ -x "$tsan/porter" ] &&
    [ -x "$tsan/tests/integration/test_sync_multi" ]; then
    # every report of every process, the porter daemons' included, lands in a file
    mkdir -p "$logdir/tsan"
    export TSAN_OPTIONS="log_path=$logdir/tsan/report halt_on_error=0 second_deadlock_stack=1"
    run tsan_sync_multi "$tsan/tests/integration/test_sync_multi"
    TEST_FILTER='test_re*' run tsan_sync_e2e_hostaway \
        "$tsan/tests/integration/test_sync_e2e" hostaway
    PORTER_BIN=$(pwd)/$tsan/porter PMSIM_BIN=$(pwd)/$tsan/pmsim \
        run tsan_kill9 "$long/kill9" --events 600 --kills 4
    unset TSAN_OPTIONS
    reports=$(cat "$logdir"/tsan/report.* 2>/dev/null | grep -c 'WARNING: ThreadSanitizer')
    echo "== ThreadSanitizer: $reports report(s) from the programs above and every porter they ran"
    if [ "$reports" -gt 0 ]; then
        failed=$((failed + 1))
        cat "$logdir"/tsan/report.* | head -n 80 | sed 's/^/    /'
    else
        passed=$((passed + 1))
    fi
elif [ "${LONG_QUICK:-0}" != 1 ] && [ "${LONG_TSAN:-1}" != 0 ]; then
    echo "== ThreadSanitizer part skipped: no $tsan build (make tsan)"
fi

echo "== figures"
grep -h -E '^# (crash_steps|crash points|the uninterrupted|kill9|chaos|procs)( [a-z-]+)?:' \
    "$logdir"/*.log
if [ "$failed" -gt 0 ] || [ -n "${LONG_KEEP:-}" ]; then
    echo "logs kept in $logdir"
else
    rm -rf "$logdir"
fi
echo "check-long: $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
