#!/bin/sh
# run.sh TARGET... : run each libFuzzer target for FUZZ_SECONDS (make fuzz calls this).
#
# One target at a time, under nice -n 19. Each starts from its seeds (tests/fuzz/corpus/T,
# read only) plus what earlier runs found (build/fuzz/corpus/T, where new inputs go), with
# its dictionary (tests/fuzz/dict/T.dict). Crashes, leaks, timeouts and OOMs are written
# to build/fuzz/artifacts/T/; any of them fails the run. A summary line per target gives
# executions, exec/s, coverage (cov: edges, ft: features) and the corpus size; full logs
# are in build/fuzz/logs/T.log.
#
#   FUZZ_BUILD    build/fuzz       FUZZ_SECONDS  60 (per target)
#   FUZZ_RSS_MB   2048             FUZZ_FLAGS    extra libFuzzer flags (e.g. -jobs=2)
#
# To reproduce a crash: build/fuzz/fuzz_T build/fuzz/artifacts/T/crash-...
# To minimise it:       build/fuzz/fuzz_T -minimize_crash=1 -runs=10000 build/fuzz/artifacts/T/crash-...
# Every crash becomes a regression test in tests/unit/test_fuzz_regress.c.
set -u
build=${FUZZ_BUILD:-build/fuzz}
secs=${FUZZ_SECONDS:-60}
rss=${FUZZ_RSS_MB:-2048}
[ $# -gt 0 ] || set -- text config verify hostaway guesty buildium webhook

# the targets keep their temporary files (configs, the webhook database) here
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -w /dev/shm ] && base=/dev/shm
tmp=$(mktemp -d "$base/porter-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export FUZZ_TMPDIR="$tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
total=0
printf '%-9s %6s %10s %8s %6s %7s %9s  %s\n' target secs execs exec/s cov ft corpus result
for t in "$@"; do
    bin=$build/fuzz_$t
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin is missing (make fuzz-build)" >&2
        failed=1
        continue
    fi
    case $t in
    hostaway | guesty | buildium) maxlen=65536 ;;
    config) maxlen=16384 ;;
    webhook) maxlen=8192 ;;
    *) maxlen=4096 ;;
    esac
    work=$build/corpus/$t
    art=$build/artifacts/$t
    log=$build/logs/$t.log
    mkdir -p "$work" "$art" "$build/logs"
    dict=
    [ -f tests/fuzz/dict/$t.dict ] && dict=-dict=tests/fuzz/dict/$t.dict
    before=$(ls "$art" | wc -l)
    start=$(date +%s)
    # shellcheck disable=SC2086
    nice -n 19 "$bin" -max_total_time="$secs" -rss_limit_mb="$rss" -timeout=20 \
        -max_len=$maxlen -print_final_stats=1 -artifact_prefix="$art/" $dict \
        ${FUZZ_FLAGS:-} "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    total=$((total + took))
    after=$(ls "$art" | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
    result=ok
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        result="FAILED (exit $rc; see $log and $art/)"
        failed=1
        grep -E 'ERROR|runtime error|FUZZ_CHECK|SUMMARY' "$log" | head -5 | sed 's/^/    /'
    fi
    printf '%-9s %6s %10s %8s %6s %7s %9s  %s\n' "$t" "$took" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
echo "fuzz: ${total}s in all; $([ $failed -eq 0 ] && echo "no crash" || echo "FAILED")"
exit $failed
