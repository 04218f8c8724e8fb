/* rows.h - the machine-readable rows of the combined table of `make bench`.
 *
 * Every benchmark prints its own table and details; when $BENCH_ROWS names a file, each
 * row of that table is also appended to it as one line of tab-separated fields:
 *
 *   metric  value  unit  target  pass|fail|-  ratio
 *
 * value is the median with the row's decimals, or "failed" when a run failed its check;
 * target is "-" when the row has none; the result is "-" for a row without a target, and
 * "fail" for a failed run whatever the target; ratio is "-" unless the row compares porter
 * with a peer program (bench_peer: "288x cold, 194x warm"). tests/bench/table.sh prints the
 * rows of all the programs as one table. Header-only: each benchmark is one program.
 */
#ifndef PORTER_BENCH_ROWS_H
#define PORTER_BENCH_ROWS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pass: 1 pass, 0 fail, -1 no target. ratio: NULL or "" for none. */
static inline void bench_rows_add(const char *metric, double v, int decimals, const char *unit,
                                  const char *target, int pass, const char *ratio)
{
    const char *path = getenv("BENCH_ROWS");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "a");
    if (!f) {
        perror(path);
        return;
    }
    char val[48];
    if (isnan(v))
        snprintf(val, sizeof(val), "failed");
    else
        snprintf(val, sizeof(val), "%.*f", decimals, v);
    const char *result = isnan(v) ? "fail" : pass < 0 ? "-" : pass ? "pass" : "fail";
    fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\n", metric, val, unit && *unit ? unit : "-",
            target && *target ? target : "-", result, ratio && *ratio ? ratio : "-");
    fclose(f);
}

#endif
