/* test_store.c - the SQLite store: migrations, upserts, paging, search, outbox atomicity, the
 * inbox (order, keyset paging both ways, rank, filters), triage, thread detail, presence. */
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

static int64_t add_bare_thread(struct fx *f, const char *rid)
{
    struct err e;
    struct rec_thread t = {.remote_id = rid, .kind = THREAD_GUEST, .channel = CH_EMAIL};
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

/* ---- the full-screen inbox: order, keyset paging both ways, rank, filters ---- */

#define NOW INT64_C(1000000000000) /* the filters' `now` */

/* One generated thread and what it should match. */
struct gt {
    int64_t id;
    int nr;      /* last message inbound: needs reply */
    int64_t lma; /* last_message_at */
    int done, unread, tag, word;
    int who;    /* 0 nobody, 1 sam, 2 kim */
    int ch;     /* index into gen_ch */
    int prop;   /* 0 none, 1..3 */
    int day;    /* 0 no stay, 1..4: arrives 2026-05-0<day> */
    int snooze; /* 0 none, 1 over (past), 2 future, 3 until reply */
};

static const char *const gen_who[] = {NULL, "sam", "kim"};
static const enum channel gen_ch[] = {CH_EMAIL, CH_SMS, CH_AIRBNB};

struct gen {
    struct gt *t;
    size_t n;
    int64_t prop_id[4];
};

static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

/* n threads with pseudo-random, independent attributes and many equal timestamps. */
static void gen_threads(struct fx *f, struct gen *g, size_t n)
{
    struct err e;
    uint32_t x = 42;
    g->t = calloc(n, sizeof(*g->t));
    g->n = n;
    assert_int_equal(store_begin(f->s, &e), 0);
    for (int p = 1; p <= 3; p++) {
        char rid[8];
        snprintf(rid, sizeof(rid), "P%d", p);
        struct rec_property pr = {.remote_id = rid, .name = rid};
        assert_int_equal(store_property_upsert(f->s, f->acct, &pr, &g->prop_id[p], &e),
                         STORE_WRITTEN);
    }
    for (size_t i = 0; i < n; i++) {
        struct gt *t = &g->t[i];
        char rid[16], cid[16], sid[16], pid[8], mid[16], day[16];
        t->lma = 1000 + (int64_t)(lcg(&x) % 300) * 10;
        t->nr = lcg(&x) % 3 == 0;
        t->ch = (int)(lcg(&x) % 3);
        t->prop = (int)(lcg(&x) % 4);
        t->day = lcg(&x) % 3 == 0 ? 1 + (int)(lcg(&x) % 4) : 0;
        t->word = lcg(&x) % 4 == 0;
        t->who = (int)(lcg(&x) % 3);
        t->tag = lcg(&x) % 5 == 0;
        t->done = lcg(&x) % 4 == 0;
        t->snooze = lcg(&x) % 5 == 0 ? 1 + (int)(lcg(&x) % 3) : 0;
        t->unread = t->nr && lcg(&x) % 2;
        snprintf(rid, sizeof(rid), "t%zu", i);
        snprintf(cid, sizeof(cid), "c%zu", i);
        snprintf(sid, sizeof(sid), "s%zu", i);
        snprintf(pid, sizeof(pid), "P%d", t->prop);
        snprintf(mid, sizeof(mid), "m%zu", i);
        snprintf(day, sizeof(day), "2026-05-0%d", t->day);
        struct rec_contact c = {.remote_id = cid, .kind = CONTACT_GUEST, .name = cid};
        assert_int_equal(store_contact_upsert(f->s, f->acct, &c, NULL, &e), STORE_WRITTEN);
        if (t->day) {
            struct rec_stay st = {.remote_id = sid, .contact_remote_id = cid, .arrival = day};
            assert_int_equal(store_stay_upsert(f->s, f->acct, &st, NULL, &e), STORE_WRITTEN);
        }
        struct rec_thread th = {.remote_id = rid,
                                .kind = THREAD_GUEST,
                                .contact_remote_id = cid,
                                .stay_remote_id = t->day ? sid : NULL,
                                .property_remote_id = t->prop ? pid : NULL,
                                .channel = gen_ch[t->ch]};
        assert_int_equal(store_thread_upsert(f->s, f->acct, &th, &t->id, &e), STORE_WRITTEN);
        struct rec_message m = {.remote_id = mid,
                                .thread_remote_id = rid,
                                .direction = t->nr ? DIR_IN : DIR_OUT,
                                .channel = gen_ch[t->ch],
                                .body = t->word ? "hello zebra crossing" : "hello there",
                                .sent_at = t->lma};
        assert_int_equal(store_message_upsert(f->s, f->acct, &m, NULL, &e), STORE_WRITTEN);
        if (t->nr && !t->unread)
            assert_int_equal(store_thread_read(f->s, t->id, &e), 0);
        if (t->done)
            assert_int_equal(store_thread_done(f->s, t->id, 1, &e), 0);
        if (t->who)
            assert_int_equal(store_thread_assign(f->s, t->id, gen_who[t->who], &e), 0);
        if (t->tag)
            assert_int_equal(store_thread_tag(f->s, t->id, "vip", 1, &e), 0);
        static const int64_t until[] = {0, NOW - 1, NOW + 1, STORE_SNOOZE_UNTIL_REPLY};
        if (t->snooze)
            assert_int_equal(store_thread_snooze(f->s, t->id, until[t->snooze], &e), 0);
    }
    assert_int_equal(store_commit(f->s, &e), 0);
}

static int gen_match(const struct gen *g, const struct gt *t, const struct thread_filter *f,
                     enum thread_sort sort)
{
    if (!f)
        return !t->done && t->snooze < 2;
    if (!f->include_done && t->done)
        return 0;
    if ((f->needs_reply || sort == THREAD_SORT_WAITING) && !t->nr)
        return 0;
    if (f->assignee && (!t->who || strcmp(f->assignee, gen_who[t->who]) != 0))
        return 0;
    if (f->unassigned && t->who)
        return 0;
    if (f->tag && !t->tag)
        return 0;
    if (f->unread && !t->unread)
        return 0;
    if (f->channel && *f->channel && strcmp(f->channel, channel_name(gen_ch[t->ch])) != 0)
        return 0;
    if (f->property && (!t->prop || f->property != g->prop_id[t->prop]))
        return 0;
    if (f->checkin_on && *f->checkin_on) {
        char day[16];
        snprintf(day, sizeof(day), "2026-05-0%d", t->day);
        if (!t->day || strcmp(day, f->checkin_on) != 0)
            return 0;
    }
    if (f->search && strstr(f->search, "zeb") && !t->word)
        return 0;
    if (!f->include_snoozed && t->snooze >= 2)
        return 0;
    return 1;
}

static enum thread_sort gen_sort; /* for qsort */

static int gen_cmp(const void *a, const void *b)
{
    const struct gt *x = a, *y = b;
    int64_t d = 0;
    switch (gen_sort) {
    case THREAD_SORT_INBOX:
        d = y->nr != x->nr ? y->nr - x->nr : y->lma != x->lma ? y->lma - x->lma : y->id - x->id;
        break;
    case THREAD_SORT_NEWEST:
        d = y->lma != x->lma ? y->lma - x->lma : y->id - x->id;
        break;
    case THREAD_SORT_WAITING:
        d = x->lma != y->lma ? x->lma - y->lma : x->id - y->id;
        break;
    }
    return d < 0 ? -1 : d > 0;
}

/* The expected list: ids in order. */
static int64_t *gen_expect(const struct gen *g, const struct thread_filter *f,
                           enum thread_sort sort, size_t *n)
{
    struct gt *sel = calloc(g->n + 1, sizeof(*sel));
    *n = 0;
    for (size_t i = 0; i < g->n; i++)
        if (gen_match(g, &g->t[i], f, sort))
            sel[(*n)++] = g->t[i];
    gen_sort = sort;
    qsort(sel, *n, sizeof(*sel), gen_cmp);
    int64_t *ids = calloc(*n + 1, sizeof(*ids));
    for (size_t i = 0; i < *n; i++)
        ids[i] = sel[i].id;
    free(sel);
    return ids;
}

/* Page forwards and backwards with page size `k` and compare with the expected list; check
 * count and (for every `rank_step`-th row) rank. */
static void gen_walk(struct fx *f, const struct gen *g, const struct thread_filter *flt,
                     enum thread_sort sort, size_t k, size_t rank_step)
{
    struct err e;
    size_t n;
    int64_t *want = gen_expect(g, flt, sort, &n);
    int64_t total = -1;
    assert_int_equal(store_threads_count(f->s, flt, &total, &e), 0);
    if (sort != THREAD_SORT_WAITING || (flt && flt->needs_reply))
        assert_int_equal(total, (int64_t)n);
    /* forwards */
    size_t got = 0;
    struct page_key key, *after = NULL;
    for (;;) {
        struct thread_page p;
        assert_int_equal(store_threads_page(f->s, flt, sort, after, k, &p, &e), 0);
        assert_true(p.n <= k);
        for (size_t i = 0; i < p.n; i++) {
            assert_true(got < n);
            assert_int_equal(p.rows[i].id, want[got]);
            assert_int_equal(p.rows[i].key.id, p.rows[i].id);
            assert_int_equal(p.rows[i].key.nr, p.rows[i].needs_reply);
            got++;
        }
        if (p.n)
            key = p.rows[p.n - 1].key;
        size_t pn = p.n;
        thread_page_free(&p);
        if (pn < k)
            break;
        after = &key;
    }
    assert_int_equal(got, n);
    /* backwards from the end: page_before(NULL) is the tail */
    size_t left = n;
    struct page_key *before = NULL;
    for (;;) {
        struct thread_page p;
        assert_int_equal(store_threads_page_before(f->s, flt, sort, before, k, &p, &e), 0);
        assert_int_equal(p.n, left < k ? left : k);
        for (size_t i = 0; i < p.n; i++) /* display order: top to bottom */
            assert_int_equal(p.rows[i].id, want[left - p.n + i]);
        left -= p.n;
        if (p.n)
            key = p.rows[0].key;
        thread_page_free(&p);
        if (!left)
            break;
        before = &key;
    }
    struct thread_page p;
    assert_int_equal(store_threads_page_before(f->s, flt, sort, &key, k, &p, &e), 0);
    assert_int_equal(p.n, 0); /* nothing before the first row */
    thread_page_free(&p);
    /* rank = position */
    if (rank_step && n) {
        assert_int_equal(store_threads_page(f->s, flt, sort, NULL, n, &p, &e), 0);
        assert_int_equal(p.n, n);
        for (size_t i = 0; i < n; i += (i + 1 == n || i + rank_step < n) ? rank_step : n - 1 - i) {
            int64_t rank = -1;
            assert_int_equal(store_threads_rank(f->s, flt, sort, &p.rows[i].key, &rank, &e), 0);
            assert_int_equal(rank, (int64_t)i);
            if (i + 1 == n)
                break;
        }
        thread_page_free(&p);
    }
    free(want);
}

static void gen_free(struct gen *g)
{
    free(g->t);
    g->t = NULL;
}

static void test_inbox_order(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t a = add_thread(f, "a", "Ana"), b = add_thread(f, "b", "Ben");
    int64_t c = add_thread(f, "c", "Cy"), d = add_thread(f, "d", "Di");
    add_msg(f, "a", "a1", DIR_OUT, 4000, "newest, answered");
    add_msg(f, "b", "b1", DIR_IN, 1000, "old question");
    add_msg(f, "c", "c1", DIR_OUT, 3000, "answered");
    add_msg(f, "d", "d1", DIR_IN, 2000, "newer question");
    struct thread_page p;
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_INBOX, NULL, 10, &p, &e), 0);
    assert_int_equal(p.n, 4);
    int64_t want[] = {d, b, a, c}; /* needs reply first, then newest first */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(p.rows[i].id, want[i]);
    assert_int_equal(p.rows[0].key.nr, 1);
    assert_int_equal(p.rows[0].key.at, 2000);
    assert_int_equal(p.rows[2].key.nr, 0);
    assert_int_equal(p.rows[2].key.at, 4000);
    thread_page_free(&p);
    /* the existing sorts are unchanged */
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_NEWEST, NULL, 10, &p, &e), 0);
    int64_t newest[] = {a, c, d, b};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(p.rows[i].id, newest[i]);
    thread_page_free(&p);
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_WAITING, NULL, 10, &p, &e), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.rows[0].id, b); /* longest waiting first */
    assert_int_equal(p.rows[1].id, d);
    thread_page_free(&p);
    /* limit 0 and a bad sort */
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_INBOX, NULL, 0, &p, &e), 0);
    assert_int_equal(p.n, 0);
    thread_page_free(&p);
    assert_int_equal(store_threads_page(f->s, NULL, (enum thread_sort)7, NULL, 5, &p, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    int64_t rank;
    assert_int_equal(store_threads_rank(f->s, NULL, THREAD_SORT_INBOX, NULL, &rank, &e), -1);
}

static void test_inbox_paging_1000(void **state)
{
    struct fx *f = *state;
    struct gen g;
    gen_threads(f, &g, 1000);
    struct thread_filter all = {.now = NOW};
    /* every row exactly once, in order, both ways; rank of every row */
    gen_walk(f, &g, &all, THREAD_SORT_INBOX, 37, 1);
    gen_walk(f, &g, &all, THREAD_SORT_INBOX, 1, 0);
    gen_walk(f, &g, &all, THREAD_SORT_INBOX, 1000, 0);
    gen_walk(f, &g, &all, THREAD_SORT_NEWEST, 50, 7);
    struct thread_filter nr = {.needs_reply = 1, .now = NOW};
    gen_walk(f, &g, &nr, THREAD_SORT_WAITING, 23, 5);
    struct thread_filter done = {.include_done = 1, .include_snoozed = 1, .now = NOW};
    gen_walk(f, &g, &done, THREAD_SORT_INBOX, 41, 3);
    gen_walk(f, &g, &done, THREAD_SORT_NEWEST, 41, 3);
    gen_free(&g);
}

static void test_inbox_filters(void **state)
{
    struct fx *f = *state;
    struct gen g;
    gen_threads(f, &g, 300);
    int64_t p2 = g.prop_id[2];
    const struct thread_filter cases[] = {
        {.now = NOW},
        {.now = NOW, .unread = 1},
        {.now = NOW, .unassigned = 1},
        {.now = NOW, .assignee = "kim"},
        {.now = NOW, .channel = "sms"},
        {.now = NOW, .channel = "airbnb", .include_done = 1},
        {.now = NOW, .channel = ""}, /* no condition */
        {.now = NOW, .property = p2},
        {.now = NOW, .property = p2, .include_done = 1, .unread = 1},
        {.now = NOW, .checkin_on = "2026-05-02"},
        {.now = NOW, .checkin_on = "2026-05-03", .include_done = 1},
        {.now = NOW, .checkin_on = "2026-05-03", .property = p2},
        {.now = NOW, .search = "zeb"},
        {.now = NOW, .search = "HELLO zebr", .include_done = 1},
        {.now = NOW, .search = "\"zeb"},
        {.now = NOW, .search = "zeb", .unassigned = 1, .channel = "email"},
        {.now = NOW, .tag = "VIP"},
        {.now = NOW, .tag = "vip", .assignee = "sam", .include_done = 1},
        {.now = NOW, .include_snoozed = 1},
        {.now = NOW, .include_snoozed = 1, .needs_reply = 1},
        {.now = NOW, .account = 0, .needs_reply = 1, .unread = 1, .include_done = 1},
    };
    const enum thread_sort sorts[] = {THREAD_SORT_INBOX, THREAD_SORT_NEWEST, THREAD_SORT_WAITING};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t j = 0; j < 3; j++)
            gen_walk(f, &g, &cases[i], sorts[j], 17, 9);
    /* the account filter */
    struct thread_filter acct = {.now = NOW, .account = f->acct};
    gen_walk(f, &g, &acct, THREAD_SORT_INBOX, 40, 13);
    struct err e;
    int64_t n = -1;
    acct.account = f->acct + 1;
    assert_int_equal(store_threads_count(f->s, &acct, &n, &e), 0);
    assert_int_equal(n, 0);
    /* hostile search text is plain text: never an error; a text with no word is no filter */
    const char *none[] = {"a OR b*",     "NEAR(",           "NEAR(zebra",
                          "zebra:hello", "zeb AND nothing", "^zeb x"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        struct thread_filter s = {.now = NOW, .search = none[i]};
        assert_int_equal(store_threads_count(f->s, &s, &n, &e), 0);
        assert_int_equal(n, 0);
        struct thread_page p;
        assert_int_equal(store_threads_page(f->s, &s, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
        assert_int_equal(p.n, 0);
        thread_page_free(&p);
    }
    /* punctuation around a word is not syntax either: these are the word "zeb" */
    const char *zeb[] = {"-zeb", "\"zeb\"", "zeb*", "(zeb)", "zeb:", "{zeb}", "hello\"zebra"};
    for (size_t i = 0; i < sizeof(zeb) / sizeof(zeb[0]); i++) {
        struct thread_filter s = {.now = NOW, .search = zeb[i]};
        size_t want = 0;
        free(gen_expect(&g, &s, THREAD_SORT_INBOX, &want));
        assert_int_equal(store_threads_count(f->s, &s, &n, &e), 0);
        assert_true(want > 0);
        assert_int_equal(n, (int64_t)want);
    }
    int64_t all = 0;
    struct thread_filter plain = {.now = NOW};
    assert_int_equal(store_threads_count(f->s, &plain, &all, &e), 0);
    const char *empty[] = {"", "\"", "*", "()", "\"\"\"", " - "};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        struct thread_filter s = {.now = NOW, .search = empty[i]};
        assert_int_equal(store_threads_count(f->s, &s, &n, &e), 0);
        assert_int_equal(n, all);
    }
    /* snoozed: hidden while the snooze runs, shown once it is over */
    struct thread_filter later = {.now = NOW + 2};
    int64_t n_later = 0;
    assert_int_equal(store_threads_count(f->s, &later, &n_later, &e), 0);
    size_t future = 0;
    for (size_t i = 0; i < g.n; i++)
        future += !g.t[i].done && g.t[i].snooze == 2;
    assert_true(future > 0);
    assert_int_equal(n_later, all + (int64_t)future);
    gen_free(&g);
}

/* The default filter (NULL, or now = 0) hides threads snoozed at the current time. */
static void test_inbox_snooze_now(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t a = add_thread(f, "a", "Ana"), b = add_thread(f, "b", "Ben");
    add_msg(f, "a", "a1", DIR_IN, 1000, "hi");
    add_msg(f, "b", "b1", DIR_IN, 2000, "hi");
    assert_int_equal(store_thread_snooze(f->s, b, STORE_SNOOZE_UNTIL_REPLY, &e), 0);
    int64_t n;
    assert_int_equal(store_threads_count(f->s, NULL, &n, &e), 0);
    assert_int_equal(n, 1);
    struct thread_page p;
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.rows[0].id, a);
    assert_int_equal(p.rows[0].snoozed_until, 0);
    thread_page_free(&p);
    struct thread_filter all = {.include_snoozed = 1};
    assert_int_equal(store_threads_page(f->s, &all, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.rows[0].id, b);
    assert_int_equal(p.rows[0].snoozed_until, STORE_SNOOZE_UNTIL_REPLY);
    thread_page_free(&p);
    /* a snooze that ended is shown; unsnooze clears it */
    assert_int_equal(store_thread_snooze(f->s, b, 5, &e), 0);
    assert_int_equal(store_threads_count(f->s, NULL, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_thread_snooze(f->s, b, 0, &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM thread WHERE snoozed_until IS NULL"), 2);
}

/* ---- row fields ---- */

static void test_thread_row_fields(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_contact c = {
        .remote_id = "c1", .kind = CONTACT_GUEST, .name = "  Søren Kierkegaard"};
    assert_int_equal(store_contact_upsert(f->s, f->acct, &c, NULL, &e), STORE_WRITTEN);
    struct rec_thread t = {
        .remote_id = "t1", .kind = THREAD_GUEST, .contact_remote_id = "c1", .channel = CH_SMS};
    int64_t id;
    assert_int_equal(store_thread_upsert(f->s, f->acct, &t, &id, &e), STORE_WRITTEN);
    add_bare_thread(f, "t2");
    /* sla_since: the first inbound after the last outbound */
    add_msg(f, "t1", "m1", DIR_IN, 1000, "hello");
    add_msg(f, "t1", "m2", DIR_IN, 2000, "anyone?");
    struct thread_page p;
    struct thread_filter ft = {.channel = "sms"};
    assert_int_equal(store_threads_page(f->s, &ft, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.rows[0].contact_first, "Søren");
    assert_int_equal(p.rows[0].sla_since, 1000);
    assert_int_equal(p.rows[0].snoozed_until, 0);
    assert_int_equal(p.rows[0].property_id, 0);
    thread_page_free(&p);
    add_msg(f, "t1", "m3", DIR_OUT, 3000, "yes");
    add_msg(f, "t1", "m4", DIR_IN, 4000, "thanks, one more");
    struct rec_message note = {.remote_id = "m5",
                               .thread_remote_id = "t1",
                               .direction = DIR_NOTE,
                               .channel = CH_NOTE,
                               .body = "vip",
                               .sent_at = 4500};
    assert_int_equal(store_message_upsert(f->s, f->acct, &note, NULL, &e), STORE_WRITTEN);
    add_msg(f, "t1", "m6", DIR_IN, 5000, "and another");
    add_msg(f, "t1", "m0", DIR_IN, 500, "a late old one");
    assert_int_equal(store_threads_page(f->s, &ft, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.rows[0].sla_since, 4000);
    assert_int_equal(p.rows[0].needs_reply, 1);
    thread_page_free(&p);
    add_msg(f, "t1", "m7", DIR_OUT, 6000, "done");
    assert_int_equal(store_threads_page(f->s, &ft, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.rows[0].sla_since, 0);
    thread_page_free(&p);
    /* an empty contact name gives an empty first name */
    ft.channel = "email";
    assert_int_equal(store_threads_page(f->s, &ft, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.rows[0].contact_first, "");
    thread_page_free(&p);
}

/* ---- triage ---- */

static void test_triage_writes(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana");
    add_msg(f, "t1", "m1", DIR_IN, 1000, "hi");
    char sql[160];
#define TQ(col)                                                                                    \
    (snprintf(sql, sizeof(sql), "SELECT " col " FROM thread WHERE id = %lld", (long long)t), sql)
    assert_int_equal(store_thread_assign(f->s, t, "sam", &e), 0);
    text_eq(f->path, TQ("assignee"), "sam");
    assert_int_equal(store_thread_assign(f->s, t, NULL, &e), 0);
    assert_int_equal(count(f->path, TQ("assignee IS NULL")), 1);
    assert_int_equal(store_thread_assign(f->s, t, "kim", &e), 0);
    assert_int_equal(store_thread_assign(f->s, t, "", &e), 0);
    assert_int_equal(count(f->path, TQ("assignee IS NULL")), 1);

    assert_int_equal(store_thread_tag(f->s, t, "VIP", 1, &e), 0);
    assert_int_equal(store_thread_tag(f->s, t, "late-arrival", 1, &e), 0);
    assert_int_equal(store_thread_tag(f->s, t, "vip", 1, &e), 0); /* no duplicate */
    assert_int_equal(store_thread_tag(f->s, t, "a_1", 1, &e), 0);
    text_eq(f->path, TQ("tags"), ",vip,late-arrival,a_1,");
    assert_int_equal(store_thread_tag(f->s, t, "late-arrival", 0, &e), 0);
    text_eq(f->path, TQ("tags"), ",vip,a_1,");
    assert_int_equal(store_thread_tag(f->s, t, "nothere", 0, &e), 0);
    text_eq(f->path, TQ("tags"), ",vip,a_1,");
    assert_int_equal(store_thread_tag(f->s, t, "vip", 0, &e), 0);
    assert_int_equal(store_thread_tag(f->s, t, "A_1", 0, &e), 0);
    text_eq(f->path, TQ("tags || '|'"), "|");
    /* a tag filter matches whole tags only ('_' is not a wildcard) */
    assert_int_equal(store_thread_tag(f->s, t, "a-1", 1, &e), 0);
    struct thread_filter tf = {.tag = "a_1"};
    int64_t n = -1;
    assert_int_equal(store_threads_count(f->s, &tf, &n, &e), 0);
    assert_int_equal(n, 0);
    tf.tag = "a-1";
    assert_int_equal(store_threads_count(f->s, &tf, &n, &e), 0);
    assert_int_equal(n, 1);
    const char *bad[] = {NULL,    "",
                         "a b",   "a,b",
                         "x%",    "caf\xc3\xa9",
                         "tab\t", "123456789012345678901234567890123" /* 33 */};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        assert_int_equal(store_thread_tag(f->s, t, bad[i], 1, &e), -1);
        assert_int_equal(e.code, STORE_EINVAL);
        assert_non_null(strstr(e.msg, "tag"));
    }
    assert_int_equal(store_thread_tag(f->s, t, "12345678901234567890123456789012", 1, &e), 0);
    text_eq(f->path, TQ("tags"), ",a-1,12345678901234567890123456789012,");

    assert_int_equal(store_thread_snooze(f->s, t, -5, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    assert_int_equal(store_thread_snooze(f->s, t, 77, &e), 0);
    assert_int_equal(count(f->path, TQ("snoozed_until")), 77);
    assert_int_equal(store_thread_done(f->s, t, 1, &e), 0);
    assert_int_equal(count(f->path, TQ("done")), 1);
    assert_int_equal(store_thread_done(f->s, t, 0, &e), 0);
    assert_int_equal(count(f->path, TQ("done")), 0);
    assert_int_equal(count(f->path, TQ("unread")), 1);
    assert_int_equal(store_thread_read(f->s, t, &e), 0);
    assert_int_equal(count(f->path, TQ("unread")), 0);
#undef TQ
    /* local only: nothing queued */
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox"), 0);

    /* a thread that does not exist */
    int64_t nope = t + 1000;
    err_clear(&e);
    assert_int_equal(store_thread_assign(f->s, nope, "sam", &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_non_null(strstr(e.msg, "no thread"));
    assert_int_equal(store_thread_snooze(f->s, nope, 5, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(store_thread_tag(f->s, nope, "vip", 1, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(store_thread_tag(f->s, nope, "vip", 0, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(store_thread_done(f->s, nope, 1, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(store_thread_read(f->s, nope, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(count(f->path, "SELECT count(*) FROM thread"), 1);

    /* inside a caller's transaction that rolls back, a triage write is undone too */
    assert_int_equal(store_begin(f->s, &e), 0);
    assert_int_equal(store_thread_assign(f->s, t, "zed", &e), 0);
    assert_int_equal(store_thread_assign(f->s, nope, "zed", &e), -1); /* savepoint: still open */
    store_rollback(f->s);
    assert_int_equal(count(f->path, "SELECT count(*) FROM thread WHERE assignee = 'zed'"), 0);
}

static void test_inbound_brings_thread_back(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana");
    add_msg(f, "t1", "m1", DIR_IN, 1000, "hi");
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SELECT done * 10 + (snoozed_until IS NOT NULL) FROM thread WHERE id = %lld",
             (long long)t);
    /* outbound, notes, queued replies and replays leave done and snooze alone */
    assert_int_equal(store_thread_done(f->s, t, 1, &e), 0);
    assert_int_equal(store_thread_snooze(f->s, t, STORE_SNOOZE_UNTIL_REPLY, &e), 0);
    add_msg(f, "t1", "m2", DIR_OUT, 2000, "hello");
    struct rec_message note = {.remote_id = "n1",
                               .thread_remote_id = "t1",
                               .direction = DIR_NOTE,
                               .channel = CH_NOTE,
                               .body = "vip",
                               .sent_at = 2500};
    assert_int_equal(store_message_upsert(f->s, f->acct, &note, NULL, &e), STORE_WRITTEN);
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_EMAIL, "me", "more", NULL, NULL, &e),
                     0);
    add_msg(f, "t1", "m1", DIR_IN, 1000, "hi"); /* a replay of a stored inbound message */
    struct rec_message edit = {.remote_id = "m1",
                               .thread_remote_id = "t1",
                               .direction = DIR_IN,
                               .channel = CH_EMAIL,
                               .body = "hi (edited)",
                               .sent_at = 1000,
                               .remote_updated_at = 2000};
    assert_int_equal(store_message_upsert(f->s, f->acct, &edit, NULL, &e), STORE_WRITTEN);
    assert_int_equal(count(f->path, sql), 11);
    /* the guest writes: back in the inbox, whatever the snooze was */
    add_msg(f, "t1", "m3", DIR_IN, 3000, "one more thing");
    assert_int_equal(count(f->path, sql), 0);
    const int64_t untils[] = {NOW + 1000, 5};
    for (size_t i = 0; i < 2; i++) {
        char mid[8];
        snprintf(mid, sizeof(mid), "x%zu", i);
        assert_int_equal(store_thread_snooze(f->s, t, untils[i], &e), 0);
        add_msg(f, "t1", mid, DIR_IN, 4000 + (int64_t)i, "again");
        assert_int_equal(count(f->path, sql), 0);
    }
    /* even an inbound message older than the last one (a delayed delivery) */
    assert_int_equal(store_thread_done(f->s, t, 1, &e), 0);
    add_msg(f, "t1", "late", DIR_IN, 10, "sent long ago");
    assert_int_equal(count(f->path, sql), 0);
}

/* ---- one thread ---- */

static void test_thread_get(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_property pr = {.remote_id = "L1", .name = "Beach House"};
    struct rec_unit un = {.remote_id = "U1", .property_remote_id = "L1", .name = "Upper flat"};
    struct rec_contact c = {.remote_id = "g1",
                            .kind = CONTACT_GUEST,
                            .name = "Ana Lima",
                            .email = "ana@example.com",
                            .phone = "+351 900"};
    struct rec_stay st = {.remote_id = "R1",
                          .property_remote_id = "L1",
                          .unit_remote_id = "U1",
                          .contact_remote_id = "g1",
                          .status = "confirmed",
                          .arrival = "2026-07-01",
                          .departure = "2026-07-05",
                          .guests = 3,
                          .confirmation_code = "HMX1",
                          .door_code = "4711",
                          .remote_updated_at = 10};
    assert_int_equal(store_property_upsert(f->s, f->acct, &pr, NULL, &e), STORE_WRITTEN);
    assert_int_equal(store_unit_upsert(f->s, f->acct, &un, NULL, &e), STORE_WRITTEN);
    assert_int_equal(store_contact_upsert(f->s, f->acct, &c, NULL, &e), STORE_WRITTEN);
    int64_t stay;
    assert_int_equal(store_stay_upsert(f->s, f->acct, &st, &stay, &e), STORE_WRITTEN);
    /* the thread knows only its stay: guest, property and unit come through it */
    struct rec_thread t = {.remote_id = "T1",
                           .kind = THREAD_GUEST,
                           .stay_remote_id = "R1",
                           .channel = CH_AIRBNB,
                           .subject = "Beach House"};
    int64_t id;
    assert_int_equal(store_thread_upsert(f->s, f->acct, &t, &id, &e), STORE_WRITTEN);
    add_msg(f, "T1", "m1", DIR_IN, 1000, "Can we check in early?");
    add_msg(f, "T1", "m2", DIR_OUT, 2000, "Yes");
    add_msg(f, "T1", "m3", DIR_IN, 3000, "Thanks!");
    add_msg(f, "T1", "m4", DIR_IN, 2500, "(delayed)");
    int64_t m3 = count(f->path, "SELECT id FROM message WHERE remote_id = 'm3'");

    struct thread_detail d;
    assert_int_equal(store_thread_get(f->s, id, "me", NOW, &d, &e), 0);
    assert_int_equal(d.t.id, id);
    assert_string_equal(d.t.subject, "Beach House");
    assert_string_equal(d.t.channel, "airbnb");
    assert_int_equal(d.t.needs_reply, 1);
    assert_int_equal(d.t.sla_since, 2500);
    assert_int_equal(d.t.key.id, id);
    assert_string_equal(d.guest_name, "Ana Lima");
    assert_string_equal(d.guest_first, "Ana");
    assert_string_equal(d.guest_email, "ana@example.com");
    assert_string_equal(d.guest_phone, "+351 900");
    assert_int_equal(d.stay, stay);
    assert_string_equal(d.stay_status, "confirmed");
    assert_string_equal(d.arrival, "2026-07-01");
    assert_string_equal(d.departure, "2026-07-05");
    assert_string_equal(d.door_code, "4711");
    assert_string_equal(d.confirmation, "HMX1");
    assert_int_equal(d.guests, 3);
    assert_string_equal(d.property_name, "Beach House");
    assert_string_equal(d.unit_name, "Upper flat");
    assert_string_equal(d.presence, "");
    assert_int_equal(d.last_seen_inbound, m3);
    thread_detail_free(&d);
    assert_null(d.guest_name);
    thread_detail_free(&d); /* twice is harmless */

    /* presence: others within 30 s, never yourself, never a stale heartbeat */
    assert_int_equal(store_presence_touch(f->s, id, "me", NOW, &e), 0);
    assert_int_equal(store_presence_touch(f->s, id, "kim", NOW - 10000, &e), 0);
    assert_int_equal(store_presence_touch(f->s, id, "bob", NOW - 31000, &e), 0);
    assert_int_equal(store_presence_touch(f->s, id, "amy", NOW - 30000, &e), 0);
    assert_int_equal(store_thread_get(f->s, id, "me", NOW, &d, &e), 0);
    assert_string_equal(d.presence, "amy, kim");
    thread_detail_free(&d);
    assert_int_equal(store_thread_get(f->s, id, "kim", NOW, &d, &e), 0);
    assert_string_equal(d.presence, "amy, me");
    thread_detail_free(&d);
    assert_int_equal(store_thread_get(f->s, id, NULL, NOW, &d, &e), 0);
    assert_string_equal(d.presence, "amy, kim, me");
    thread_detail_free(&d);

    /* a door code is kept when the PMS later sends none, replaced when it sends another */
    st.door_code = NULL;
    st.remote_updated_at = 20;
    assert_int_equal(store_stay_upsert(f->s, f->acct, &st, NULL, &e), STORE_WRITTEN);
    text_eq(f->path, "SELECT door_code FROM stay", "4711");
    st.door_code = "0042";
    st.remote_updated_at = 30;
    assert_int_equal(store_stay_upsert(f->s, f->acct, &st, NULL, &e), STORE_WRITTEN);
    text_eq(f->path, "SELECT door_code FROM stay", "0042");

    /* a thread without stay or contact: everything "" */
    int64_t bare = add_bare_thread(f, "T2");
    assert_int_equal(store_thread_get(f->s, bare, "me", 0, &d, &e), 0);
    assert_int_equal(d.stay, 0);
    assert_string_equal(d.door_code, "");
    assert_string_equal(d.arrival, "");
    assert_string_equal(d.stay_status, "");
    assert_string_equal(d.property_name, "");
    assert_string_equal(d.guest_first, "");
    assert_int_equal(d.last_seen_inbound, 0);
    assert_int_equal(d.guests, 0);
    thread_detail_free(&d);

    err_clear(&e);
    assert_int_equal(store_thread_get(f->s, id + 999, "me", NOW, &d, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_null(d.guest_name);
    thread_detail_free(&d);
}

static void test_presence(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t a = add_thread(f, "a", "Ana"), b = add_thread(f, "b", "Ben");
    assert_int_equal(store_presence_touch(f->s, a, "me", NOW, &e), 0);
    assert_int_equal(store_presence_touch(f->s, a, "kim", NOW, &e), 0);
    assert_int_equal(store_presence_touch(f->s, a, "me", NOW + 5000, &e), 0); /* heartbeat */
    text_eq(f->path, "SELECT since || '|' || heartbeat_at FROM presence WHERE who = 'me'",
            "1000000000000|1000000005000");
    /* one open thread per process: opening b leaves a */
    assert_int_equal(store_presence_touch(f->s, b, "me", NOW + 6000, &e), 0);
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT thread_id FROM presence WHERE who = 'me'");
    assert_int_equal(count(f->path, sql), b);
    assert_int_equal(count(f->path, "SELECT count(*) FROM presence WHERE who = 'me'"), 1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM presence WHERE who = 'kim'"), 1);
    /* errors: no such thread (nothing changes), no name */
    err_clear(&e);
    assert_int_equal(store_presence_touch(f->s, b + 100, "me", NOW, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(count(f->path, sql), b);
    assert_int_equal(store_presence_touch(f->s, a, NULL, NOW, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    assert_int_equal(store_presence_touch(f->s, a, "", NOW, &e), -1);
    assert_int_equal(store_presence_leave(f->s, "", &e), -1);
    /* rows gone quiet for 10 minutes are purged by anyone's touch */
    assert_int_equal(store_presence_touch(f->s, a, "amy", NOW + 11 * 60 * 1000, &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM presence WHERE who = 'kim'"), 0);
    assert_int_equal(store_presence_leave(f->s, "me", &e), 0);
    assert_int_equal(store_presence_leave(f->s, "me", &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM presence WHERE who = 'me'"), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM presence"), 1);
}

/* ---- migration 3 ---- */

static void test_migrate_2_to_3(void **state)
{
    struct fx *f = *state;
    struct err e;
    char p[160];
    snprintf(p, sizeof(p), "%s/v2.db", f->dir);
    struct store *s = store_open_version(p, 2, &e);
    assert_non_null(s);
    store_close(&s);
    /* rows as a version-2 porter wrote them (the store's statements need the latest schema),
     * including a waiting thread left without last_inbound_at */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO account(id, name, adapter, created_at)"
                     " VALUES (1, 'ha', 'hostaway', 0);"
                     "INSERT INTO stay(id, account_id, remote_id, status, arrival)"
                     " VALUES (1, 1, 'R1', 'confirmed', '2026-05-01');"
                     "INSERT INTO thread(id, account_id, remote_id, channel, stay_id,"
                     " last_message_at, last_inbound_at, needs_reply, unread, message_count)"
                     " VALUES (1, 1, 'T1', 'sms', 1, 1000, 1000, 1, 1, 1);"
                     "INSERT INTO message(account_id, thread_id, remote_id, direction, body,"
                     " sent_at) VALUES (1, 1, 'm1', 'in', 'hi', 1000);"
                     "INSERT INTO thread(account_id, remote_id, channel, last_message_at,"
                     " needs_reply, done) VALUES (1, 'T2', 'sms', 500, 1, 1)",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(count(p, "PRAGMA user_version"), 2);
    assert_int_equal(count(p, "SELECT count(*) FROM pragma_table_info('stay')"
                              " WHERE name = 'door_code'"),
                     0);

    s = store_open(p, &e);
    assert_non_null(s);
    assert_int_equal(store_version(s), store_latest_version());
    assert_true(store_latest_version() >= 3);
    /* migration 4: the automations' journal starts empty (a migration is not news) */
    assert_int_equal(count(p, "SELECT count(*) FROM rule_event"), 0);
    assert_int_equal(count(p, "SELECT count(*) FROM stay WHERE remote_id = 'R1'"
                              " AND arrival = '2026-05-01' AND door_code IS NULL"),
                     1);
    assert_int_equal(count(p, "SELECT count(*) FROM message"), 1);
    assert_int_equal(count(p, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                              " name IN ('thread_inbox_nr', 'thread_property', 'presence_who')"),
                     3);
    assert_int_equal(count(p, "SELECT last_inbound_at FROM thread WHERE remote_id = 'T2'"), 500);
    /* the old data works with the new API */
    struct thread_filter fl = {.checkin_on = "2026-05-01"};
    struct thread_page pg;
    assert_int_equal(store_threads_page(s, &fl, THREAD_SORT_INBOX, NULL, 10, &pg, &e), 0);
    assert_int_equal(pg.n, 1);
    assert_string_equal(pg.rows[0].remote_id, "T1");
    thread_page_free(&pg);
    struct thread_filter nr = {.needs_reply = 1, .include_done = 1};
    assert_int_equal(store_threads_page(s, &nr, THREAD_SORT_WAITING, NULL, 10, &pg, &e), 0);
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.rows[0].remote_id, "T2");
    thread_page_free(&pg);
    store_close(&s);
}

/* ---- failed replies: retry and discard ---- */

static void test_failed_reply_retry_discard(void **state)
{
    struct fx *f = *state;
    struct err e;
    int64_t t = add_thread(f, "t1", "Ana"), msg, ok;
    add_msg(f, "t1", "m1", DIR_IN, 1000, "Is the pool heated?");
    assert_int_equal(store_queue_reply(f->s, t, DIR_OUT, CH_EMAIL, "me", "Yes", "k1", &msg, &e), 0);
    struct outbox_batch b;
    assert_int_equal(store_outbox_claim(f->s, f->acct, INT64_MAX, 10, &b, &e), 0);
    assert_int_equal(b.n, 1);
    int64_t op = b.rows[0].id;
    outbox_batch_free(&b);
    /* not failed yet: neither applies */
    assert_int_equal(store_message_retry(f->s, msg, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    assert_int_equal(store_message_discard(f->s, msg, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    assert_int_equal(store_outbox_fail(f->s, op, "422 body too long", &e), 0);
    text_eq(f->path, "SELECT send_state FROM message WHERE remote_id IS NULL", "failed");

    /* retry: pending again, due now, the attempt kept */
    assert_int_equal(store_message_retry(f->s, msg, &e), 0);
    text_eq(f->path,
            "SELECT send_state || '|' || (send_error IS NULL) FROM message"
            " WHERE remote_id IS NULL",
            "pending|1");
    text_eq(f->path, "SELECT state || '|' || next_attempt_at || '|' || attempts FROM outbox",
            "pending|0|1");
    assert_int_equal(store_message_retry(f->s, msg, &e), -1); /* pending: not failed */
    assert_int_equal(e.code, STORE_EINVAL);
    assert_int_equal(store_outbox_claim(f->s, f->acct, INT64_MAX, 10, &b, &e), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.rows[0].attempts, 1);
    outbox_batch_free(&b);
    assert_int_equal(store_outbox_fail(f->s, op, "422 again", &e), 0);

    /* discard: the message goes, its op is retired, the thread waits for a reply again */
    assert_int_equal(count(f->path, "SELECT needs_reply FROM thread"), 0);
    assert_int_equal(store_message_discard(f->s, msg, &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
    text_eq(f->path, "SELECT state || '|' || last_error FROM outbox", "dead|discarded");
    text_eq(f->path,
            "SELECT needs_reply || '|' || last_inbound_at || '|' || last_message_at || '|'"
            " || message_count || '|' || last_preview FROM thread",
            "1|1000|1000|1|Is the pool heated?");
    assert_int_equal(store_outbox_claim(f->s, f->acct, INT64_MAX, 10, &b, &e), 0);
    assert_int_equal(b.n, 0); /* never sent */
    outbox_batch_free(&b);
    struct thread_page p;
    assert_int_equal(store_threads_page(f->s, NULL, THREAD_SORT_INBOX, NULL, 5, &p, &e), 0);
    assert_int_equal(p.rows[0].failed, 0);
    assert_int_equal(p.rows[0].sla_since, 1000);
    thread_page_free(&p);
    err_clear(&e);
    assert_int_equal(store_message_discard(f->s, msg, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    assert_int_equal(store_message_retry(f->s, msg, &e), -1);
    assert_int_equal(e.code, STORE_ENOTFOUND);
    /* a message from the PMS is not a failed reply */
    ok = count(f->path, "SELECT id FROM message WHERE remote_id = 'm1'");
    assert_int_equal(store_message_discard(f->s, ok, &e), -1);
    assert_int_equal(e.code, STORE_EINVAL);
    assert_int_equal(count(f->path, "SELECT count(*) FROM message"), 1);
}

/* Schedule, notes and the coordinator of a work order; "mine"; editing a failed write. */
static void test_wo_schedule_note_assign_edit(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_work_order a = {.remote_id = "W1",
                               .title = "Dripping tap",
                               .status = WO_NEW,
                               .priority = PRIO_LOW,
                               .created_at = 100};
    struct rec_work_order b = {.remote_id = "W2",
                               .title = "Paint hall",
                               .status = WO_NEW,
                               .priority = PRIO_NORMAL,
                               .created_at = 200};
    int64_t wa, wb;
    assert_int_equal(store_work_order_upsert(f->s, f->acct, &a, &wa, &e), STORE_WRITTEN);
    assert_int_equal(store_work_order_upsert(f->s, f->acct, &b, &wb, &e), STORE_WRITTEN);

    /* schedule: row, history and op together; a window that ends first is refused */
    int64_t t0 = 1795420800000LL; /* 2026-11-23T08:00Z */
    assert_int_equal(store_queue_wo_schedule(f->s, wa, t0, t0 + 7200000, "sam", &e), 0);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT schedule_start || '|' || schedule_end || '|' || sync_state FROM work_order"
             " WHERE id = %lld",
             (long long)wa);
    char want[80];
    snprintf(want, sizeof(want), "%lld|%lld|pending", (long long)t0, (long long)t0 + 7200000);
    text_eq(f->path, sql, want);
    text_eq(f->path,
            "SELECT json_extract(payload, '$.remote_id') || '|' || json_extract(payload, '$.start')"
            " FROM outbox WHERE op = 'wo_schedule'",
            "W1|1795420800000");
    assert_int_equal(count(f->path, "SELECT count(*) FROM wo_event WHERE kind = 'schedule'"
                                    " AND actor = 'sam' AND new_value <> ''"),
                     1);
    assert_int_equal(store_queue_wo_schedule(f->s, wa, t0, t0, "sam", &e), -1);
    assert_int_equal(store_queue_wo_schedule(f->s, 999, t0, t0 + 1, "sam", &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE op = 'wo_schedule'"), 1);

    /* a note: history row + op; once the PMS says it has no place, it is labelled local */
    assert_int_equal(store_queue_wo_note(f->s, wb, "Tenant home after 3pm", "sam", &e), 0);
    assert_int_equal(store_queue_wo_note(f->s, wb, "", "sam", &e), -1);
    struct wo_detail d;
    assert_int_equal(store_wo_detail(f->s, wb, &d, &e), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.events[0].kind, "note");
    assert_string_equal(d.events[0].new_value, "Tenant home after 3pm");
    assert_null(d.events[0].remote_id); /* not pushed yet */
    wo_detail_free(&d);
    struct outbox_batch ob;
    assert_int_equal(store_outbox_claim(f->s, f->acct, INT64_MAX, 10, &ob, &e), 0);
    int64_t note_op = 0, sched_op = 0;
    for (size_t i = 0; i < ob.n; i++) {
        if (strcmp(ob.rows[i].op, "wo_note") == 0)
            note_op = ob.rows[i].id;
        if (strcmp(ob.rows[i].op, "wo_schedule") == 0)
            sched_op = ob.rows[i].id;
    }
    outbox_batch_free(&ob);
    assert_true(note_op && sched_op);
    assert_int_equal(store_outbox_done(f->s, note_op, NULL, 1, &e), 0);
    assert_int_equal(store_wo_detail(f->s, wb, &d, &e), 0);
    assert_non_null(d.events[0].remote_id);
    assert_string_equal(d.events[0].remote_id, ""); /* kept in porter */
    wo_detail_free(&d);

    /* the coordinator: local, in the history, and what "mine" filters on */
    assert_int_equal(store_wo_assign(f->s, wb, "sam", "sam", &e), 0);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE op NOT IN"
                                    " ('wo_schedule', 'wo_note')"),
                     0); /* never pushed */
    struct wo_filter mine = {.assignee = "sam"};
    struct wo_list l;
    assert_int_equal(store_work_orders_filtered(f->s, WO_NEW, &mine, 10, &l, &e), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rows[0].id, wb);
    assert_string_equal(l.rows[0].assignee, "sam");
    wo_list_free(&l);
    assert_int_equal(store_wo_assign(f->s, wb, NULL, "sam", &e), 0);
    assert_int_equal(store_work_orders_filtered(f->s, WO_NEW, &mine, 10, &l, &e), 0);
    assert_int_equal(l.n, 0);
    wo_list_free(&l);
    text_eq(f->path, "SELECT group_concat(new_value, ',') FROM wo_event WHERE kind = 'field'",
            "assignee sam,assignee (none)");

    /* edit a failed schedule: the old op is discarded, the new window queued in its place */
    assert_int_equal(store_outbox_fail(f->s, sched_op, "400 canStartFrom invalid", &e), 0);
    struct op_list ops;
    assert_int_equal(store_failed_ops(f->s, 10, &ops, &e), 0);
    assert_int_equal(ops.n, 1);
    assert_non_null(strchr(ops.rows[0].what, '-')); /* "YYYY-MM-DD HH:MM-HH:MM", editable */
    op_list_free(&ops);
    assert_int_equal(store_op_edit(f->s, sched_op, "2026-11-24 xx", "sam", &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE state = 'failed'"), 1);
    assert_int_equal(store_op_edit(f->s, sched_op, "2026-11-24 10:00-12:00", "sam", &e), 0);
    text_eq(f->path, "SELECT state || '|' || last_error FROM outbox WHERE id = 1",
            "dead|discarded");
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE op = 'wo_schedule'"
                                    " AND state = 'pending'"),
                     1);
    assert_int_equal(store_op_edit(f->s, sched_op, "2026-11-24 10:00-12:00", "sam", &e), -1);

    /* edit a failed reply: a new message with the edited text, on the same channel */
    int64_t t = add_thread(f, "t1", "Ana"), msg;
    assert_int_equal(
        store_queue_reply(f->s, t, DIR_OUT, CH_SMS, "me", "Yes tomorow", NULL, &msg, &e), 0);
    int64_t rop = count(f->path, "SELECT id FROM outbox WHERE op = 'reply'");
    assert_int_equal(store_outbox_fail(f->s, rop, "422 typo", &e), 0);
    assert_int_equal(store_op_edit(f->s, rop, "Yes, tomorrow", "sam", &e), 0);
    text_eq(f->path,
            "SELECT group_concat(body || '/' || channel || '/' || send_state, ',') FROM message"
            " WHERE direction = 'out'",
            "Yes, tomorrow/sms/pending");
    /* a status edit must name a status; a create has nothing to edit */
    assert_int_equal(store_queue_wo_status(f->s, wa, WO_ASSIGNED, "sam", &e), 0);
    int64_t sop = count(f->path, "SELECT max(id) FROM outbox WHERE op = 'wo_status'");
    assert_int_equal(store_outbox_fail(f->s, sop, "409", &e), 0);
    assert_int_equal(store_op_edit(f->s, sop, "sideways", "sam", &e), -1);
    assert_int_equal(store_op_edit(f->s, sop, "scheduled", "sam", &e), 0);
    text_eq(f->path,
            "SELECT json_extract(payload, '$.status') FROM outbox WHERE op = 'wo_status'"
            " AND state = 'pending'",
            "scheduled");
    int64_t wc;
    assert_int_equal(
        store_queue_wo_create(f->s, f->acct, "Fix door", NULL, PRIO_NORMAL, 0, "sam", &wc, &e), 0);
    int64_t cop = count(f->path, "SELECT id FROM outbox WHERE op = 'wo_create'");
    assert_int_equal(store_outbox_fail(f->s, cop, "400", &e), 0);
    assert_int_equal(store_op_edit(f->s, cop, "Fix the door", "sam", &e), -1);
    assert_int_equal(count(f->path, "SELECT count(*) FROM outbox WHERE state = 'failed'"
                                    " AND op = 'wo_create'"),
                     1); /* untouched */
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
        cmocka_unit_test_setup_teardown(test_inbox_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbox_paging_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbox_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbox_snooze_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_row_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triage_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inbound_brings_thread_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_2_to_3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reply_retry_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wo_schedule_note_assign_edit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
