/* test_store.c - the SQLite store: migrations, upserts, paging, search, outbox atomicity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
    int64_t acct;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/porter-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    struct err e;
    f->s = store_open(f->path, &e);
    assert_non_null(f->s);
    assert_int_equal(store_account_ensure(f->s, "ha", "hostaway", &f->acct, &e), 0);
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

/* Count rows with a raw query (test-side verification only). */
static int64_t count(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void text_eq(const char *path, const char *sql, const char *want)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *got = (const char *)sqlite3_column_text(st, 0);
    assert_non_null(got);
    assert_string_equal(got, want);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int64_t add_thread(struct fx *f, const char *rid, const char *contact)
{
    struct err e;
    struct rec_contact c = {.remote_id = contact, .kind = CONTACT_GUEST, .name = contact};
    assert_true(store_contact_upsert(f->s, f->acct, &c, NULL, &e) >= 0);
    struct rec_thread t = {.remote_id = rid,
                           .kind = THREAD_GUEST,
                           .contact_remote_id = contact,
                           .channel = CH_EMAIL,
                           .subject = "stay"};
    int64_t id = 0;
    assert_int_equal(store_thread_upsert(f->s, f->acct, &t, &id, &e), STORE_WRITTEN);
    return id;
}

static void add_msg(struct fx *f, const char *thread, const char *rid, enum direction d, int64_t at,
                    const char *body)
{
    struct err e;
    struct rec_message m = {.remote_id = rid,
                            .thread_remote_id = thread,
                            .direction = d,
                            .channel = CH_EMAIL,
                            .body = body,
                            .sent_at = at,
                            .remote_updated_at = at};
    assert_int_equal(store_message_upsert(f->s, f->acct, &m, NULL, &e), STORE_WRITTEN);
}

/* ---- migrations ---- */

static void test_open_bad_path(void **state)
{
    (void)state;
    struct err e;
    err_clear(&e);
    assert_null(store_open("/nonexistent-dir/x/y.db", &e));
    assert_non_null(strstr(e.msg, "/nonexistent-dir/x/y.db"));
}

static void test_open_not_a_database(void **state)
{
    struct fx *f = *state;
    char p[160];
    snprintf(p, sizeof(p), "%s/junk.db", f->dir);
    FILE *fp = fopen(p, "w");
    fputs("this is not an sqlite database, not at all, not even close....", fp);
    fclose(fp);
    struct err e;
    assert_null(store_open(p, &e));
    assert_non_null(strstr(e.msg, "junk.db"));
}

static void test_migrate_from_every_version(void **state)
{
    struct fx *f = *state;
    int latest = store_latest_version();
    assert_true(latest >= 1);
    for (int v = 0; v <= latest; v++) {
        char p[160];
        snprintf(p, sizeof(p), "%s/m%d.db", f->dir, v);
        struct err e;
        struct store *s = store_open_version(p, v, &e);
        assert_non_null(s);
        assert_int_equal(store_version(s), v);
        int64_t acct = 0;
        if (v >= 1) /* data written at an older version must survive the upgrade */
            assert_int_equal(store_account_ensure(s, "old", "guesty", &acct, &e), 0);
        store_close(&s);
        assert_null(s);
        s = store_open(p, &e);
        assert_non_null(s);
        assert_int_equal(store_version(s), latest);
        store_close(&s);
        /* idempotent: opening again changes nothing */
        s = store_open(p, &e);
        assert_non_null(s);
        assert_int_equal(store_version(s), latest);
        store_close(&s);
        if (v >= 1)
            assert_int_equal(count(p, "SELECT count(*) FROM account WHERE name = 'old'"), 1);
        assert_int_equal(count(p, "SELECT count(*) FROM sqlite_master WHERE name = 'message_fts'"),
                         1);
    }
}

static void test_newer_database_refused(void **state)
{
    struct fx *f = *state;
    store_close(&f->s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", store_latest_version() + 5);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct err e;
    assert_null(store_open(f->path, &e));
    assert_int_equal(e.code, STORE_ENEWER);
    char want[64];
    snprintf(want, sizeof(want), "version %d", store_latest_version() + 5);
    assert_non_null(strstr(e.msg, want));
    snprintf(want, sizeof(want), "version %d", store_latest_version());
    assert_non_null(strstr(e.msg, want));
    f->s = store_open_version(f->path, 0, &e); /* teardown needs a handle; also refused */
    assert_null(f->s);
}

static void test_file_modes_0600(void **state)
{
    struct fx *f = *state;
    struct err e;
    add_thread(f, "t1", "c1"); /* forces the WAL to exist */
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        char p[160];
        struct stat st;
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    (void)e;
}

/* ---- upserts ---- */

static void test_upsert_requires_remote_id(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_property p = {.remote_id = NULL, .name = "x"};
    assert_int_equal(store_property_upsert(f->s, f->acct, &p, NULL, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    p.remote_id = "";
    assert_int_equal(store_property_upsert(f->s, f->acct, &p, NULL, &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM property"), 0);
}

static void test_upsert_idempotent_and_ordered(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_property p = {.remote_id = "L1", .name = "Beach House", .remote_updated_at = 100};
    int64_t id1, id2, id3;
    assert_int_equal(store_property_upsert(f->s, f->acct, &p, &id1, &e), STORE_WRITTEN);
    assert_int_equal(store_property_upsert(f->s, f->acct, &p, &id2, &e), STORE_WRITTEN);
    assert_int_equal(id1, id2);
    assert_int_equal(count(f->path, "SELECT count(*) FROM property"), 1);
    /* older never overwrites newer */
    struct rec_property old = {.remote_id = "L1", .name = "Old Name", .remote_updated_at = 50};
    assert_int_equal(store_property_upsert(f->s, f->acct, &old, &id3, &e), STORE_STALE);
    assert_int_equal(id3, id1);
    text_eq(f->path, "SELECT name FROM property", "Beach House");
    /* newer overwrites; NULL fields leave the stored value alone */
    struct rec_property nw = {.remote_id = "L1", .address = "1 Shore Rd", .remote_updated_at = 200};
    assert_int_equal(store_property_upsert(f->s, f->acct, &nw, NULL, &e), STORE_WRITTEN);
    text_eq(f->path, "SELECT name || '|' || address FROM property", "Beach House|1 Shore Rd");
    /* the same remote id in another account is another row */
    int64_t other;
    assert_int_equal(store_account_ensure(f->s, "gy", "guesty", &other, &e), 0);
    assert_int_equal(store_property_upsert(f->s, other, &p, NULL, &e), STORE_WRITTEN);
    assert_int_equal(count(f->path, "SELECT count(*) FROM property"), 2);
}

static void test_message_before_thread_retried(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_message m = {.remote_id = "m1",
                            .thread_remote_id = "t-unknown",
                            .direction = DIR_IN,
                            .channel = CH_SMS,
                            .body = "hi",
                            .sent_at = 1};
    assert_int_equal(store_message_upsert(f->s, f->acct, &m, NULL, &e), -1);
    assert_int_equal(e.code, STORE_ENOPARENT);
    assert_int_equal(e.retry, RETRY_LATER);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 0);
    /* once the thread exists the same record applies */
    add_thread(f, "t-unknown", "c1");
    assert_int_equal(store_message_upsert(f->s, f->acct, &m, NULL, &e), STORE_WRITTEN);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
}

static void test_stay_with_unknown_unit_not_half_written(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_stay st = {.remote_id = "R1", .unit_remote_id = "U404", .status = "confirmed"};
    assert_int_equal(store_stay_upsert(f->s, f->acct, &st, NULL, &e), -1);
    assert_int_equal(e.code, STORE_ENOPARENT);
    assert_int_equal(count(f->path, "SELECT count(*) FROM stay"), 0);
}

static void test_message_derives_thread_state(void **state)
{
    struct fx *f = *state;
    int64_t t = add_thread(f, "t1", "Ana");
    add_msg(f, "t1", "m1", DIR_IN, 1000, "Is early check-in possible?");
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT needs_reply FROM thread WHERE id = %lld", (long long)t);
    assert_int_equal(count(f->path, sql), 1);
    add_msg(f, "t1", "m2", DIR_OUT, 2000, "Yes, from 1pm.");
    assert_int_equal(count(f->path, sql), 0);
    /* an older inbound message arriving late does not flip the state back */
    add_msg(f, "t1", "m0", DIR_IN, 500, "hello?");
    assert_int_equal(count(f->path, sql), 0);
    text_eq(f->path, "SELECT last_preview FROM thread", "Yes, from 1pm.");
    assert_int_equal(count(f->path, "SELECT message_count FROM thread"), 3);
    /* replaying a message is idempotent: no duplicate, counts unchanged */
    add_msg(f, "t1", "m2", DIR_OUT, 2000, "Yes, from 1pm.");
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 3);
    assert_int_equal(count(f->path, "SELECT message_count FROM thread"), 3);
}

static void test_echo_adopts_queued_reply(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana"), msg;
    assert_int_equal(
        store_queue_reply(f->s, t, DIR_OUT, CH_EMAIL, "me", "See you soon", "key-1", &msg, &e), 0);
    struct rec_message echo = {.remote_id = "m77",
                               .thread_remote_id = "t1",
                               .direction = DIR_OUT,
                               .channel = CH_EMAIL,
                               .body = "See you soon",
                               .sent_at = 5,
                               .idem_key = "key-1"};
    int64_t got;
    assert_int_equal(store_message_upsert(f->s, f->acct, &echo, &got, &e), STORE_WRITTEN);
    assert_int_equal(got, msg);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
    text_eq(f->path, "SELECT remote_id || '|' || send_state FROM message", "m77|synced");
    /* the echo replayed again by poll: still one */
    assert_int_equal(store_message_upsert(f->s, f->acct, &echo, &got, &e), STORE_WRITTEN);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
}

static void test_vendor_preferred_properties(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_property p1 = {.remote_id = "P1", .name = "Elm"};
    struct rec_property p2 = {.remote_id = "P2", .name = "Oak"};
    assert_true(store_property_upsert(f->s, f->acct, &p1, NULL, &e) >= 0);
    assert_true(store_property_upsert(f->s, f->acct, &p2, NULL, &e) >= 0);
    const char *pref[] = {"P1", "P2", NULL};
    struct rec_vendor v = {.remote_id = "V1",
                           .name = "Ace Plumbing",
                           .trade = "plumbing",
                           .active = 1,
                           .preferred_property_remote_ids = pref};
    assert_int_equal(store_vendor_upsert(f->s, f->acct, &v, NULL, &e), STORE_WRITTEN);
    assert_int_equal(count(f->path, "SELECT count(*) FROM vendor_property"), 2);
    const char *bad[] = {"P1", "P404", NULL};
    v.preferred_property_remote_ids = bad;
    v.name = "Renamed";
    assert_int_equal(store_vendor_upsert(f->s, f->acct, &v, NULL, &e), -1);
    assert_int_equal(e.code, STORE_ENOPARENT);
    /* all or nothing: name and preferences unchanged */
    text_eq(f->path, "SELECT name FROM vendor", "Ace Plumbing");
    assert_int_equal(count(f->path, "SELECT count(*) FROM vendor_property"), 2);
}

/* ---- inbox paging ---- */

static void test_threads_keyset_paging(void **state)
{
    struct fx *f = *state;
    struct err e;
    char rid[16], mid[16];
    for (int i = 0; i < 25; i++) {
        snprintf(rid, sizeof(rid), "t%02d", i);
        snprintf(mid, sizeof(mid), "m%02d", i);
        add_thread(f, rid, "c");
        /* two threads share each timestamp, so ties on time are broken by id */
        add_msg(f, rid, mid, i % 3 ? DIR_IN : DIR_OUT, 1000 + i / 2, "body");
    }
    int64_t total = 0;
    assert_int_equal(store_threads_count(f->s, NULL, &total, &e), 0);
    assert_int_equal(total, 25);
    int seen[26] = {0};
    struct page_key key, *after = NULL;
    size_t got = 0;
    int64_t prev_at = INT64_MAX, prev_id = INT64_MAX;
    for (;;) {
        struct thread_page p;
        assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_NEWEST, after, 10, &p, &e), 0);
        if (p.n == 0) {
            thread_page_free(&p);
            break;
        }
        for (size_t i = 0; i < p.n; i++) {
            const struct thread_row *r = &p.rows[i];
            assert_true(r->last_message_at < prev_at ||
                        (r->last_message_at == prev_at && r->id < prev_id));
            prev_at = r->last_message_at;
            prev_id = r->id;
            int n = atoi(r->remote_id + 1);
            assert_int_equal(seen[n], 0); /* no duplicate across pages */
            seen[n] = 1;
            assert_string_equal(r->account_name, "ha");
        }
        got += p.n;
        key = p.rows[p.n - 1].key;
        after = &key;
        thread_page_free(&p);
    }
    assert_int_equal(got, 25); /* nothing lost */

    struct thread_filter nr = {.needs_reply = 1};
    assert_int_equal(store_threads_count(f->s, &nr, &total, &e), 0);
    assert_int_equal(total, 16); /* i % 3 != 0 for 16 of 0..24 */
    struct thread_page p;
    assert_int_equal(store_threads_page(f->s, &nr, THREAD_SORT_WAITING, NULL, 100, &p, &e), 0);
    assert_int_equal(p.n, 16);
    for (size_t i = 1; i < p.n; i++)
        assert_true(p.rows[i - 1].last_inbound_at <= p.rows[i].last_inbound_at);
    thread_page_free(&p);
    struct thread_filter other = {.account = f->acct + 100};
    assert_int_equal(store_threads_count(f->s, &other, &total, &e), 0);
    assert_int_equal(total, 0);
}

static void test_messages_of_thread_in_order(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana");
    add_msg(f, "t1", "b", DIR_OUT, 20, "second");
    add_msg(f, "t1", "a", DIR_IN, 10, "first");
    struct message_list l;
    assert_int_equal(store_messages(f->s, t, &l, &e), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[0].body, "first");
    assert_int_equal(l.rows[0].direction, DIR_IN);
    assert_string_equal(l.rows[1].body, "second");
    assert_int_equal(l.rows[1].send_state, SEND_SYNCED);
    message_list_free(&l);
    assert_int_equal(store_messages(f->s, 9999, &l, &e), 0);
    assert_int_equal(l.n, 0);
    message_list_free(&l);
}

/* ---- search ---- */

static void test_search(void **state)
{
    struct fx *f = *state;
    struct err e;
    add_thread(f, "t1", "Ana");
    add_msg(f, "t1", "m1", DIR_IN, 1, "The kitchen faucet is leaking badly");
    add_msg(f, "t1", "m2", DIR_IN, 2, "Café was lovely, merci");
    add_msg(f, "t1", "m3", DIR_IN, 3, "wifi password please");
    struct search_hits h;
    assert_int_equal(store_search(f->s, "leak", 10, &h, &e), 0); /* prefix */
    assert_int_equal(h.n, 1);
    assert_non_null(strstr(h.rows[0].snippet, "[leaking]"));
    search_hits_free(&h);
    assert_int_equal(store_search(f->s, "cafe", 10, &h, &e), 0); /* diacritics folded */
    assert_int_equal(h.n, 1);
    search_hits_free(&h);
    assert_int_equal(store_search(f->s, "kitchen faucet", 10, &h, &e), 0); /* all words */
    assert_int_equal(h.n, 1);
    search_hits_free(&h);
    assert_int_equal(store_search(f->s, "kitchen wifi", 10, &h, &e), 0);
    assert_int_equal(h.n, 0);
    search_hits_free(&h);
    /* FTS syntax typed by a user is plain text, never an error */
    const char *hostile[] = {"\"", "AND", "OR NOT", "*", "body:leak", "NEAR(a b)",
                             "(",  "^x",  "\"\"\"", "-", "a\"b",      ""};
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        assert_int_equal(store_search(f->s, hostile[i], 10, &h, &e), 0);
        search_hits_free(&h);
    }
    /* FTS follows updates and deletes */
    struct rec_message m = {.remote_id = "m1",
                            .thread_remote_id = "t1",
                            .direction = DIR_IN,
                            .channel = CH_EMAIL,
                            .body = "fixed now",
                            .sent_at = 1,
                            .remote_updated_at = 9};
    assert_int_equal(store_message_upsert(f->s, f->acct, &m, NULL, &e), STORE_WRITTEN);
    assert_int_equal(store_search(f->s, "leak", 10, &h, &e), 0);
    assert_int_equal(h.n, 0);
    search_hits_free(&h);
}

/* ---- outbox ---- */

static void test_queue_reply_with_outbox(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana"), msg;
    add_msg(f, "t1", "m1", DIR_IN, 1, "hi");
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "hello", NULL, &msg, &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message WHERE send_state = 'pending'"
                                    " AND idem_key IS NOT NULL"),
                     1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox o JOIN message m ON"
                                    " m.id = o.entity_id AND m.idem_key = o.idem_key"
                                    " WHERE o.op = 'reply' AND o.state = 'pending'"),
                     1);
    assert_int_equal(count(f->path, "SELECT needs_reply FROM thread"), 0);
    int64_t n;
    assert_int_equal(store_outbox_count(f->s, f->acct, "pending", &n, &e), 0);
    assert_int_equal(n, 1);
    struct thread_page p;
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_NEWEST, NULL, 5, &p, &e), 0);
    assert_int_equal(p.rows[0].pending, 1);
    thread_page_free(&p);
    /* notes go to the outbox as 'note' */
    assert_int_equal(store_queue_reply(f->s, t, DIR_NOTE, CH_NOTE, "me", "vip", NULL, NULL, &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE op = 'note'"), 1);
}

static void test_queue_reply_rolls_back_together(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana");
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "one", "dup", NULL, &e), 0);
    /* the outbox insert fails (duplicate key): the message must not stay behind */
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "two", "dup", NULL, &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox"), 1);
    assert_int_equal(count(f->path, "SELECT message_count FROM thread"), 1);
    /* unknown thread: nothing at all */
    assert_int_equal(store_queue_reply(f->s, 424242, DIR_OUT, CH_SMS, "me", "x", NULL, NULL, &e),
                     -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    /* empty body refused */
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "", NULL, NULL, &e), -1);
    /* inside a caller's transaction that rolls back: neither row survives */
    assert_int_equal(store_begin(f->s, &e), 0);
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "three", NULL, NULL, &e), 0);
    store_rollback(f->s);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox"), 1);
    /* inside a caller's transaction that commits: both rows */
    assert_int_equal(store_begin(f->s, &e), 0);
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "four", NULL, NULL, &e), 0);
    assert_int_equal(store_commit(f->s, &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 2);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox"), 2);
}

static void test_work_orders(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_work_order a = {.remote_id = "W1",
                               .title = "Dripping tap",
                               .status = WO_NEW,
                               .priority = PRIO_LOW,
                               .created_at = 100};
    struct rec_work_order b = {.remote_id = "W2",
                               .title = "Gas smell",
                               .status = WO_NEW,
                               .priority = PRIO_EMERGENCY,
                               .created_at = 200};
    struct rec_work_order c = {.remote_id = "W3",
                               .title = "Paint",
                               .status = WO_COMPLETED,
                               .priority = PRIO_NORMAL,
                               .created_at = 50};
    int64_t wa;
    assert_int_equal(store_work_order_upsert(f->s, f->acct, &a, &wa, &e), STORE_WRITTEN);
    assert_int_equal(store_work_order_upsert(f->s, f->acct, &b, NULL, &e), STORE_WRITTEN);
    assert_int_equal(store_work_order_upsert(f->s, f->acct, &c, NULL, &e), STORE_WRITTEN);
    struct wo_list l;
    assert_int_equal(store_work_orders(f->s, WO_NEW, 10, &l, &e), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.rows[0].title, "Gas smell"); /* emergency pinned first */
    assert_string_equal(l.rows[1].title, "Dripping tap");
    wo_list_free(&l);
    assert_int_equal(store_work_orders(f->s, -1, 10, &l, &e), 0);
    assert_int_equal(l.n, 3);
    wo_list_free(&l);

    assert_int_equal(store_queue_wo_status(f->s, wa, WO_SCHEDULED, "sam", &e), 0);
    text_eq(f->path, "SELECT status || '|' || sync_state FROM work_order WHERE remote_id = 'W1'",
            "scheduled|pending");
    text_eq(f->path, "SELECT old_value || '>' || new_value || '|' || origin FROM wo_event",
            "new>scheduled|porter");
    text_eq(f->path, "SELECT op || '|' || json_extract(payload, '$.status') FROM outbox",
            "wo_status|scheduled");
    assert_int_equal(store_queue_wo_status(f->s, 999, WO_SCHEDULED, "sam", &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox"), 1);

    int64_t t = add_thread(f, "t1", "Ana"), wo;
    assert_int_equal(store_queue_wo_create(f->s, f->acct, "Leak under sink", "quoted text",
                                           PRIO_HIGH, t, "sam", &wo, &e),
                     0);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM work_order WHERE id = %lld AND thread_id = %lld"
             " AND remote_id IS NULL AND sync_state = 'pending'",
             (long long)wo, (long long)t);
    assert_int_equal(count(f->path, sql), 1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE op = 'wo_create'"), 1);
    assert_int_equal(store_queue_wo_create(f->s, f->acct, "", NULL, PRIO_HIGH, 0, "sam", NULL, &e),
                     -1);
}

static void test_inbound_dedup(void **state)
{
    struct fx *f = *state;
    struct err e;
    assert_int_equal(store_inbound_put(f->s, f->acct, "ev1", "message.received", "{}", &e), 0);
    assert_int_equal(store_inbound_put(f->s, f->acct, "ev1", "message.received", "{}", &e), 1);
    assert_int_equal(store_inbound_put(f->s, f->acct, "ev2", "message.received", "{}", &e), 0);
    assert_int_equal(store_inbound_put(f->s, f->acct, NULL, "x", "{}", &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM inbound_event"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_bad_path),
        cmocka_unit_test_setup_teardown(test_open_not_a_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_every_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_database_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_modes_0600, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_requires_remote_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upsert_idempotent_and_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_before_thread_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stay_with_unknown_unit_not_half_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_message_derives_thread_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_adopts_queued_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vendor_preferred_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_keyset_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_of_thread_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_reply_with_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_reply_rolls_back_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_work_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbound_dedup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
