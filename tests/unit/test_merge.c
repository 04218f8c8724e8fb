/* test_merge.c - field ownership and the three-way merge of a shared field (work-order
 * status): what wins, what is recorded, and what must not be overwritten silently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ownership.h"
#include "store.h"

struct fx {
    char dir[64], path[128];
    struct store *s;
    int64_t acct, wo;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/porter-merge-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/m.db", f->dir);
    struct err e;
    assert_non_null(f->s = store_open(f->path, &e));
    assert_int_equal(ownership_load(f->s, NULL, &e), 0);
    assert_int_equal(store_account_ensure(f->s, "ha", "hostaway", &f->acct, &e), 0);
    struct rec_work_order w = {.remote_id = "T1",
                               .title = "Leak",
                               .status = WO_NEW,
                               .priority = PRIO_HIGH,
                               .remote_updated_at = 100};
    assert_int_equal(store_work_order_upsert(f->s, f->acct, &w, &f->wo, &e), STORE_WRITTEN);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(&f->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static char *q(struct fx *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char *v = NULL;
    sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v ? v : strdup("(null)");
}

static void expect(struct fx *f, const char *sql, const char *want)
{
    char *got = q(f, sql);
    assert_string_equal(got, want);
    free(got);
}

static void remote(struct fx *f, enum wo_status st, int64_t at)
{
    struct err e;
    struct rec_work_order w = {
        .remote_id = "T1", .status = st, .priority = PRIO_HIGH, .remote_updated_at = at};
    assert_true(store_work_order_upsert(f->s, f->acct, &w, NULL, &e) >= 0);
}

static void test_parse(void **state)
{
    (void)state;
    char o[8], r[12];
    const char *why;
    assert_int_equal(ownership_parse("shared local_wins", o, r, &why), 0);
    assert_string_equal(o, "shared");
    assert_string_equal(r, "local_wins");
    assert_int_equal(ownership_parse("pms", o, r, &why), 0);
    assert_string_equal(r, "pms_wins");
    assert_int_equal(ownership_parse("nobody", o, r, &why), -1);
    assert_int_equal(ownership_parse("shared sometimes", o, r, &why), -1);
    assert_int_equal(ownership_parse("local pms_wins", o, r, &why), -1);
    assert_int_equal(ownership_parse("", o, r, &why), -1);
}

static void test_defaults_and_bad_override(void **state)
{
    struct fx *f = *state;
    expect(f,
           "SELECT owner || ' ' || rule FROM field_owner WHERE entity = 'work_order'"
           " AND field = 'status'",
           "shared pms_wins");
    expect(f, "SELECT owner FROM field_owner WHERE entity = 'thread' AND field = 'assignee'",
           "local");
    struct conf_entry ents[] = {{(char *)(uintptr_t) "ownership",
                                 (char *)(uintptr_t) "work_order.status",
                                 (char *)(uintptr_t) "shared local_wins", 4},
                                {(char *)(uintptr_t) "ownership", (char *)(uintptr_t) "bogus",
                                 (char *)(uintptr_t) "pms", 9}};
    struct config c = {
        .porter_path = (char *)(uintptr_t) "/etc/porter.conf", .entries = ents, .nentries = 2};
    struct err e;
    assert_int_equal(ownership_load(f->s, &c, &e), -1);
    assert_non_null(strstr(e.msg, "/etc/porter.conf:9: expected entity.field"));
    /* nothing changed: the good line before the bad one was rolled back too */
    expect(f, "SELECT rule FROM field_owner WHERE entity = 'work_order' AND field = 'status'",
           "pms_wins");
    c.nentries = 1;
    assert_int_equal(ownership_load(f->s, &c, &e), 0);
    expect(f, "SELECT rule FROM field_owner WHERE entity = 'work_order' AND field = 'status'",
           "local_wins");
}

static void test_remote_change_taken_and_logged(void **state)
{
    struct fx *f = *state;
    remote(f, WO_IN_PROGRESS, 200);
    expect(f, "SELECT status FROM work_order", "in_progress");
    expect(f, "SELECT old_value || '>' || new_value || '|' || origin FROM wo_event",
           "new>in_progress|pms");
    expect(f, "SELECT value FROM sync_base WHERE field = 'status'", "in_progress");
    /* an older record changes nothing and logs nothing */
    remote(f, WO_NEW, 150);
    expect(f, "SELECT status FROM work_order", "in_progress");
    expect(f, "SELECT count(*) FROM wo_event", "1");
}

static void test_local_pending_kept_while_pms_unchanged(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_SCHEDULED, "sam", &e), 0);
    remote(f, WO_NEW, 200); /* a poll brings the unchanged PMS value */
    expect(f, "SELECT status FROM work_order", "scheduled");
    expect(f, "SELECT count(*) FROM conflict", "0");
    expect(f, "SELECT state FROM outbox", "pending");
    /* the push lands: the base follows */
    char *op = q(f, "SELECT id FROM outbox");
    assert_int_equal(store_outbox_done(f->s, atoll(op), "T1", 0, &e), 0);
    free(op);
    expect(f, "SELECT value FROM sync_base WHERE field = 'status'", "scheduled");
    expect(f, "SELECT sync_state FROM work_order", "synced");
}

static void test_conflict_pms_wins(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_SCHEDULED, "sam", &e), 0);
    remote(f, WO_CANCELLED, 200); /* both moved, to different values */
    expect(f, "SELECT status FROM work_order", "cancelled");
    expect(f, "SELECT count(*) FROM conflict", "1");
    expect(f,
           "SELECT base_value || '|' || local_value || '|' || remote_value || '|' || winner ||"
           " '|' || rule FROM conflict",
           "new|scheduled|cancelled|remote|pms_wins");
    /* the losing local op is retired with the reason, never sent over the PMS's value */
    expect(f, "SELECT state FROM outbox", "failed");
    char *why = q(f, "SELECT last_error FROM outbox");
    assert_non_null(strstr(why, "conflict"));
    free(why);
    expect(f, "SELECT sync_state FROM work_order", "synced"); /* the card is not left pending */
    struct outbox_batch b;
    assert_int_equal(store_outbox_claim(f->s, f->acct, now_ms(), 10, &b, &e), 0);
    assert_int_equal(b.n, 0);
    outbox_batch_free(&b);
}

static void test_conflict_local_wins(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(
        store_field_owner_set(f->s, "work_order", "status", "shared", "local_wins", &e), 0);
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_SCHEDULED, "sam", &e), 0);
    remote(f, WO_CANCELLED, 200);
    expect(f, "SELECT status FROM work_order", "scheduled");
    expect(f, "SELECT winner || '|' || remote_value FROM conflict", "local|cancelled");
    expect(f, "SELECT state FROM outbox", "pending"); /* porter's value still goes out */
}

/* The health view settles a pms_wins conflict: keeping porter's value sets it and queues it
 * (one new op); keeping the PMS's marks it resolved and queues nothing. Either way the
 * conflict leaves the review list and records who chose what. */
static void test_settle_conflict_either_side(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_SCHEDULED, "sam", &e), 0);
    remote(f, WO_CANCELLED, 200);
    struct conflict_list cl;
    assert_int_equal(store_conflicts(f->s, 10, &cl, &e), 0);
    assert_int_equal(cl.n, 1);
    assert_string_equal(cl.rows[0].local, "scheduled");
    assert_string_equal(cl.rows[0].remote, "cancelled");
    assert_string_equal(cl.rows[0].title, "Leak");
    int64_t id = cl.rows[0].id;
    conflict_list_free(&cl);
    assert_int_equal(store_conflict_resolve(f->s, id, 1, "ana", &e), 0);
    expect(f, "SELECT status FROM work_order", "scheduled");
    expect(f, "SELECT count(*) FROM outbox WHERE state = 'pending' AND op = 'wo_status'", "1");
    expect(f, "SELECT resolution FROM conflict", "ana kept porter's value 'scheduled'");
    assert_int_equal(store_conflicts(f->s, 10, &cl, &e), 0);
    assert_int_equal(cl.n, 0);
    conflict_list_free(&cl);
    assert_int_equal(store_conflict_resolve(f->s, id, 0, "ana", &e), -1); /* settled once */
    assert_int_equal(e.code, STORE_ENOTFOUND);

    /* a second conflict, settled for the PMS: nothing more is queued */
    remote(f, WO_COMPLETED, 300);
    expect(f, "SELECT count(*) FROM conflict WHERE resolved_at IS NULL", "1");
    assert_int_equal(store_conflicts(f->s, 10, &cl, &e), 0);
    id = cl.rows[0].id;
    conflict_list_free(&cl);
    assert_int_equal(store_conflict_resolve(f->s, id, 0, "ana", &e), 0);
    expect(f, "SELECT status FROM work_order", "completed");
    expect(f, "SELECT count(*) FROM outbox WHERE state = 'pending'", "0");
}

/* Alerts: listed open first, acknowledged once; failed writes: retried or discarded. */
static void test_alerts_and_failed_ops(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_alert(f->s, f->acct, "schema_drift", "ha/message.body", "m1", &e), 0);
    assert_int_equal(store_alert(f->s, f->acct, "schema_drift", "ha/message.body", "m1", &e), 0);
    assert_int_equal(store_alert(f->s, f->acct, "sync_down", "ha", "down", &e), 0);
    struct alert_list al;
    assert_int_equal(store_alerts(f->s, 0, 10, &al, &e), 0);
    assert_int_equal(al.n, 2);
    int64_t drift = strcmp(al.rows[0].kind, "schema_drift") == 0 ? al.rows[0].id : al.rows[1].id;
    int64_t count =
        strcmp(al.rows[0].kind, "schema_drift") == 0 ? al.rows[0].count : al.rows[1].count;
    assert_int_equal(count, 2);
    alert_list_free(&al);
    assert_int_equal(store_alert_ack(f->s, drift, &e), 0);
    assert_int_equal(store_alerts(f->s, 0, 10, &al, &e), 0);
    assert_int_equal(al.n, 1); /* the acknowledged one leaves the open list */
    alert_list_free(&al);
    assert_int_equal(store_alerts(f->s, 1, 10, &al, &e), 0);
    assert_int_equal(al.n, 2);
    assert_true(al.rows[1].acked_at > 0); /* acknowledged ones last */
    alert_list_free(&al);
    assert_int_equal(store_alert_ack(f->s, 9999, &e), -1);

    /* a refused status change: listed, retried (pending again), then discarded */
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_COMPLETED, "sam", &e), 0);
    struct outbox_batch b;
    assert_int_equal(store_outbox_claim(f->s, f->acct, now_ms(), 10, &b, &e), 0);
    assert_int_equal(b.n, 1);
    int64_t op = b.rows[0].id;
    outbox_batch_free(&b);
    assert_int_equal(store_outbox_fail(f->s, op, "status not allowed", &e), 0);
    struct op_list ol;
    assert_int_equal(store_failed_ops(f->s, 10, &ol, &e), 0);
    assert_int_equal(ol.n, 1);
    assert_string_equal(ol.rows[0].error, "status not allowed");
    assert_string_equal(ol.rows[0].what, "completed");
    op_list_free(&ol);
    assert_int_equal(store_op_retry(f->s, op, &e), 0);
    expect(f, "SELECT state || '|' || next_attempt_at FROM outbox", "pending|0");
    expect(f, "SELECT sync_state FROM work_order", "pending");
    assert_int_equal(store_outbox_fail(f->s, op, "still not allowed", &e), 0);
    assert_int_equal(store_op_discard(f->s, op, &e), 0);
    expect(f, "SELECT state || '|' || last_error FROM outbox", "dead|discarded");
    assert_int_equal(store_failed_ops(f->s, 10, &ol, &e), 0);
    assert_int_equal(ol.n, 0); /* a discarded write is not shown again */
    op_list_free(&ol);
    assert_int_equal(store_op_retry(f->s, op, &e), -1); /* discarded is final */
}

static void test_agreement_is_no_conflict(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_COMPLETED, "sam", &e), 0);
    remote(f, WO_COMPLETED, 200);
    expect(f, "SELECT status FROM work_order", "completed");
    expect(f, "SELECT count(*) FROM conflict", "0");
}

static void test_owner_decides_what_is_queued(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_field_owner_set(f->s, "work_order", "status", "pms", NULL, &e), 0);
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_SCHEDULED, "sam", &e), -1);
    assert_non_null(strstr(e.msg, "owned by the PMS"));
    expect(f, "SELECT status FROM work_order", "new");
    expect(f, "SELECT count(*) FROM outbox", "0");
    expect(f, "SELECT count(*) FROM wo_event", "0");
    assert_int_equal(store_field_owner_set(f->s, "work_order", "status", "local", NULL, &e), 0);
    assert_int_equal(store_queue_wo_status(f->s, f->wo, WO_SCHEDULED, "sam", &e), 0);
    expect(f, "SELECT status || '|' || sync_state FROM work_order", "scheduled|synced");
    expect(f, "SELECT count(*) FROM outbox", "0"); /* local: never pushed */
    expect(f, "SELECT count(*) FROM wo_event", "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_defaults_and_bad_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_change_taken_and_logged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_pending_kept_while_pms_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_conflict_pms_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_local_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agreement_is_no_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_conflict_either_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerts_and_failed_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_decides_what_is_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
