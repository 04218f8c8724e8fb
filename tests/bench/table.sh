#!/bin/sh
# table.sh - the combined table of `make bench`: the rows every benchmark appended to
# $BENCH_ROWS (see rows.h: metric, value, unit, target, pass|fail|-, ratio; tab-separated),
# printed as one table in the order the programs ran, then one summary line:
#   "N passed, M failed (K rows without a target); load average ..."
# A row whose run failed its check shows "failed" and counts as failed.
#
#   sh tests/bench/table.sh [ROWS]     (default: $BENCH_ROWS, else build/bench/rows.tsv)
#
# Exit status: 0 when the table was printed (whether or not targets were missed: the table
# says which), 1 when there are no rows.
rows=${1:-${BENCH_ROWS:-build/bench/rows.tsv}}
if [ ! -s "$rows" ]; then
    echo "table.sh: no benchmark rows in $rows" >&2
    exit 1
fi
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
awk -F '\t' -v load="$load" '
function pad(s, n) { return sprintf("%-" n "s", s) }
function rpad(s, n) { return sprintf("%" n "s", s) }
NF >= 5 {
    n++
    m[n] = $1; v[n] = $2; u[n] = $3; t[n] = $4; r[n] = $5
    q[n] = (NF >= 6) ? $6 : "-"
    if (q[n] != "-") ratios = 1
    if (length(m[n]) > wm) wm = length(m[n])
    if (length(v[n]) > wv) wv = length(v[n])
    if (length(u[n]) > wu) wu = length(u[n])
    if (length(t[n]) > wt) wt = length(t[n])
    if (r[n] == "pass") pass++
    else if (r[n] == "fail") fail++
    else none++
}
END {
    if (wm < 6) wm = 6
    if (wv < 6) wv = 6
    if (wu < 4) wu = 4
    if (wt < 6) wt = 6
    head = pad("metric", wm) "  " rpad("median", wv) "  " pad("unit", wu) "  " \
           pad("target", wt) "  result"
    if (ratios) head = head "  ratio (neomutt / porter)"
    print head
    line = ""
    for (i = 0; i < length(head); i++) line = line "-"
    print line
    for (i = 1; i <= n; i++) {
        res = r[i] == "pass" ? "pass  " : r[i] == "fail" ? "FAIL  " : "      "
        out = pad(m[i], wm) "  " rpad(v[i], wv) "  " pad(u[i], wu) "  " pad(t[i], wt) "  " res
        if (ratios && q[i] != "-") out = out "  " q[i]
        sub(/ +$/, "", out)
        print out
    }
    printf "%d passed, %d failed (%d rows without a target)%s\n", pass, fail, none,
           load != "" ? "; load average " load : ""
}' "$rows"
