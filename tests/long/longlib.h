/* longlib.h - shared plumbing of the long reliability tests (tests/long/): one scenario
 * environment (a throwaway directory, a configuration, a pmsim Hostaway account and the
 * porter processes that run against it), crash bookkeeping, and the views the tests compare:
 * canonical dumps of the database and of pmsim's write log, and the reconstruction of
 * pmsim's webhook delivery log. Test-only code; see docs/RELIABILITY.md. */
#ifndef LONGLIB_H
#define LONGLIB_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "simctl.h"

#define CRASH_STATUS 86 /* engine_step's _exit status */

struct lenv {
    char dir[128];   /* the scenario's directory: config, database, log, step file */
    char db[160];    /* porter's database */
    char steps[160]; /* PORTER_STEP_FILE: every durable step of every porter process */
    struct simproc sim;
    int hook_port;       /* porter's webhook listener */
    pid_t daemon;        /* `porter sync`, 0 when not running */
    long crash_at;       /* crash at this global step (PORTER_CRASH_AFTER), 0: never */
    int crashed;         /* the crash happened */
    char crash_what[64]; /* the step it happened at */
    char crash_in[16];   /* which command was running it: sync, once, send, wo */
    int restarts;        /* processes restarted after a crash or kill */
    int integrity_bad;   /* PRAGMA integrity_check failures seen after a crash */
    int acked_missing;   /* webhooks pmsim saw acknowledged that were not in the database */
    int fixture_msgs;    /* pmsim's messages before the scenario: hook k <-> message k */
    int once_first;      /* restart a dead daemon with a `porter sync --once` pass first
                          * (pull before push), as cron or a unit's ExecStartPre would */
};

/* Copy $PORTER_BIN and $PMSIM_BIN into a private directory and point the variables at the
 * copies: other people rebuild ./porter while a long test runs, and an exec of a binary being
 * relinked fails. The copies are removed at exit. 0 or -1. */
int private_bins(void);

/* Print a TAP-ish diagnostic line ("# ...") at once. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msleep(int ms);
int64_t mono_now_ms(void);

/* Set: pmsim's stderr (its libmicrohttpd messages, e.g. about connections a fault closed)
 * goes to pmsim.log in the scenario's directory instead of the test's stderr. */
extern int lenv_sim_log;

/* A fresh directory under $LONG_TMP (default /dev/shm when it exists, else /tmp), the
 * configuration of one Hostaway account and pmsim started with `sim_args` (NULL-terminated;
 * --account, --webhook-url and --data are added here). 0 or -1. */
int lenv_setup(struct lenv *L, const char *tag, const char *const *sim_args);
/* Stop everything; remove the directory unless keep (then print where it is). */
void lenv_teardown(struct lenv *L, int keep);

/* Run a porter command (args NULL-terminated) with the scenario's environment; stdout into
 * out (may be NULL). Returns the exit status (CRASH_STATUS when it stopped at the crash step;
 * L->crashed is then set and checks run). */
int porter_run(struct lenv *L, char *out, size_t n, const char *const *args);
/* porter sync --once until it exits 0 (a crash, or a lease left by a dead process, makes it
 * run again); returns its last status. */
int porter_once(struct lenv *L);
void daemon_start(struct lenv *L);
/* Has the daemon died (crash step or anything else)? Then check, restart it, return 1. */
int daemon_check(struct lenv *L);
/* SIGTERM and wait; a daemon that had already stopped at the crash step is accounted for. */
void daemon_stop(struct lenv *L);
/* kill -9 the daemon and wait for it. */
void daemon_kill9(struct lenv *L);
/* After a process died holding the sync lease: let the lease lapse now instead of after its
 * 15 s TTL (the only clock the tests move forward besides retry times). */
void lease_expire(struct lenv *L);
/* Make every waiting retry due now (outbox ops and inbound events). */
void retries_due(struct lenv *L);

/* After a crash or kill: integrity_check, and every webhook pmsim saw acknowledged is in
 * the database. Updates L's counters; returns the number of problems found. */
int check_after_crash(struct lenv *L);

/* ---- the database (read-only connections unless said) ---- */
int64_t db_int(struct lenv *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Every row of a one-column text query, each followed by '\n', sorted. Caller frees. */
char *db_lines(struct lenv *L, const char *sql);
void db_exec(struct lenv *L, const char *sql);
/* "ok" or the first integrity_check message (static buffer). */
const char *db_integrity(struct lenv *L);

/* ---- pmsim ---- */
cJSON *sim_getj(struct lenv *L, const char *path);
int sim_post(struct lenv *L, const char *path, const char *body);

/* pmsim's webhook deliveries, reconstructed hook by hook: the delivery log records event,
 * attempt and status only, in the order the single sender thread made them; retries of one
 * attempt level are due a fixed delay after their failure, so they come in the order of
 * those failures (FIFO per level). */
struct hooks {
    int n;
    char **event; /* per hook */
    int *acked;   /* some attempt got a 2xx */
    int *final;   /* no further attempt will come */
    int awaiting; /* hooks waiting for a retry */
    int records;  /* delivery records read */
};
int hooks_read(struct lenv *L, struct hooks *h);
void hooks_free(struct hooks *h);

/* Wait until the daemon has nothing left to do: no webhook waiting at pmsim, every stored
 * event applied, no op queued (when ops is set), and no durable step for quiet_ms. Restarts
 * the daemon if it dies. 0, or -1 after timeout_ms. */
int settle(struct lenv *L, int ops, int quiet_ms, int timeout_ms);
/* Number of durable steps recorded so far in L->steps. */
long steps_taken(struct lenv *L);
/* " name count," for every step name in L->steps, into out. */
void step_kinds(struct lenv *L, char *out, size_t n);

/* The canonical dump the crash tests compare. Caller frees. */
char *canon_dump(struct lenv *L);
/* Porter messages whose remote id is not pmsim's message of the same body. */
int adoption_mismatches(struct lenv *L);

/* local id of a thread / work order by remote id, 0 when none */
int64_t thread_local(struct lenv *L, const char *remote);
int64_t wo_local(struct lenv *L, const char *remote);

/* Lines of the file at path that contain needle; 0 when the file is missing. */
int file_count(const char *path, const char *needle);

/* line diff summary of two sorted dumps into out (first few differences). Returns the
 * number of differing lines. */
int dump_diff(const char *a, const char *b, char *out, size_t n);

#endif
