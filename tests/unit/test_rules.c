/* test_rules.c - automations against a real store and a real config directory: how rules
 * load and what a bad rule says, what each trigger journals, what the default emergency rule
 * does, firing at most once per event (replays and duplicates included), no loops, undo,
 * the dry run, notify commands and the time-based triggers. No network: the outbox is
 * inspected, not drained (test_sync_e2e drains it against pmsim). */
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
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "model.h"
#include "rules.h"
#include "store.h"

struct fx {
    char dir[64];
    char db[128];
    struct store *s;
    struct config *c;
    struct rules *r;
    int64_t acct, thread;
};

static void write_file(const char *dir, const char *name, const char *text, int mode)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

/* (Re)load the config and rules of the fixture's directory. */
static void load(struct fx *f)
{
    struct err e;
    rules_free(&f->r);
    config_free(&f->c);
    f->c = config_new(f->dir, f->db, &e);
    assert_non_null(f->c);
    assert_int_equal(config_load(f->c, &e), 0);
    f->r = rules_load(f->c);
}

static int64_t q(struct fx *f, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        v = rc == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void qtext(struct fx *f, const char *sql, char *out, size_t n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* An imported Hostaway account with one property, two plumbers (one preferred there, one
 * with expired insurance and preferred too), an electrician, and a tenant's thread. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct err e;
    strcpy(f->dir, "/tmp/porter-rules-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/p.db", f->dir);
    write_file(f->dir, "accounts.conf", "", 0600);
    write_file(f->dir, "porter.conf", "[templates]\nack = Hi {guest_first_name}, on it.\n", 0644);
    f->s = store_open(f->db, &e);
    assert_non_null(f->s);
    assert_int_equal(store_account_ensure(f->s, "ha", "hostaway", &f->acct, &e), 0);
    struct rec_property p = {.remote_id = "P1", .name = "Elm Court"};
    assert_true(store_property_upsert(f->s, f->acct, &p, NULL, &e) >= 0);
    const char *pref[] = {"P1", NULL};
    struct rec_vendor v1 = {.remote_id = "V1",
                            .name = "Ace Plumbing",
                            .trade = "Plumbing",
                            .active = 1,
                            .preferred_property_remote_ids = pref};
    struct rec_vendor v0 = {.remote_id = "V0",
                            .name = "Aardvark Pipes",
                            .trade = "plumbing",
                            .insurance_expires = "2001-01-01",
                            .active = 1,
                            .preferred_property_remote_ids = pref};
    struct rec_vendor v2 = {.remote_id = "V2", .name = "Volt", .trade = "electrical", .active = 1};
    assert_true(store_vendor_upsert(f->s, f->acct, &v1, NULL, &e) >= 0);
    assert_true(store_vendor_upsert(f->s, f->acct, &v0, NULL, &e) >= 0);
    assert_true(store_vendor_upsert(f->s, f->acct, &v2, NULL, &e) >= 0);
    struct rec_contact c = {.remote_id = "C1", .kind = CONTACT_TENANT, .name = "Dana Reyes"};
    assert_true(store_contact_upsert(f->s, f->acct, &c, NULL, &e) >= 0);
    struct rec_thread t = {.remote_id = "T1",
                           .kind = THREAD_TENANT,
                           .contact_remote_id = "C1",
                           .property_remote_id = "P1",
                           .channel = CH_EMAIL,
                           .subject = "Unit 4"};
    assert_int_equal(store_thread_upsert(f->s, f->acct, &t, &f->thread, &e), STORE_WRITTEN);
    /* the first complete pull: from here on, changes are news */
    assert_int_equal(store_account_touch(f->s, f->acct, 0, &e), 0);
    load(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rules_free(&f->r);
    config_free(&f->c);
    store_close(&f->s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t now_ms_(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A tenant's message arriving from the PMS (as a webhook or a pull would store it). */
static void inbound(struct fx *f, const char *rid, const char *body, int64_t at)
{
    struct err e;
    struct rec_message m = {.remote_id = rid,
                            .thread_remote_id = "T1",
                            .direction = DIR_IN,
                            .channel = CH_EMAIL,
                            .body = body,
                            .sent_at = at,
                            .remote_updated_at = at};
    assert_true(store_message_upsert(f->s, f->acct, &m, NULL, &e) >= 0);
}

static int run(struct fx *f)
{
    struct err e;
    int fired = 0;
    int n = rules_run(f->r, f->s, now_ms_(), &fired, &e);
    assert_true(n >= 0);
    return fired;
}

/* ---- loading ---- */

static void test_bad_rules_named_by_file_and_line(void **state)
{
    struct fx *f = *state;
    write_file(f->dir, "rules.conf",
               "; rules of the front desk\n"
               "[rule vip]\n"
               "on = message\n"
               "account = ha\n"
               "action = tag vip\n"
               "\n"
               "[rule broken]\n"
               "on = messages\n"
               "action = tag x\n"
               "[rule two]\n"
               "on = message\n"
               "pattern = (unclosed\n"
               "action = launch rockets\n"
               "[rule nothing]\n"
               "on = sla\n"
               "action = bell\n"
               "just a line\n"
               "[rule tpl]\n"
               "on = message\n"
               "action = reply ack\n"
               "action = reply nosuch\n"
               "action = reply \"Hi {nobody}\"\n",
               0644);
    load(f);
    char all[4096] = "";
    for (size_t i = 0; i < rules_nerrors(f->r); i++)
        snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s\n", rules_error(f->r, i));
    char want[256];
    const struct {
        int line;
        const char *what;
    } errs[] = {
        {8, "on: expected message"},     {12, "pattern: not a POSIX extended regex"},
        {13, "unknown action 'launch'"}, {17, "expected 'key = value'"},
        {21, "no template 'nosuch'"},    {22, "{nobody} is not a template variable"},
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        /* the error names the file and line, and says what was expected */
        snprintf(want, sizeof(want), "%s/rules.conf:%d: ", f->dir, errs[i].line);
        const char *at = strstr(all, want);
        const char *eol = at ? strchr(at, '\n') : NULL;
        const char *what = at ? strstr(at, errs[i].what) : NULL;
        if (!at || !what || what > eol)
            fail_msg("missing error '%s%s' in:\n%s", want, errs[i].what, all);
    }
    assert_non_null(strstr(all, "on = sla needs after = DURATION"));
    /* the good rules still load: vip, and the built-in two */
    int vip = 0, emergency = 0, tpl = 0;
    for (size_t i = 0; i < rules_count(f->r); i++) {
        vip += strcmp(rules_name(f->r, i), "vip") == 0;
        emergency += strcmp(rules_name(f->r, i), "emergency") == 0;
        tpl += strcmp(rules_name(f->r, i), "tpl") == 0;
    }
    assert_int_equal(vip, 1);
    assert_int_equal(emergency, 1);
    assert_int_equal(tpl, 0); /* a rule with one bad action is left out whole */
    assert_int_equal(rules_count(f->r), 3);
}

static void test_defaults_switch_off(void **state)
{
    struct fx *f = *state;
    write_file(f->dir, "porter.conf", "[rule emergency]\nenabled = no\n", 0644);
    load(f);
    assert_int_equal(rules_nerrors(f->r), 0);
    for (size_t i = 0; i < rules_count(f->r); i++)
        if (strcmp(rules_name(f->r, i), "emergency") == 0)
            assert_int_equal(rules_enabled(f->r, i), 0);
    inbound(f, "M1", "Water is leaking through the ceiling", now_ms_());
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM work_order"), 0);

    write_file(f->dir, "porter.conf", "[rules]\ndefaults = off\n", 0644);
    load(f);
    assert_int_equal(rules_count(f->r), 0);
    assert_int_equal(rules_nerrors(f->r), 0);
}

/* ---- the default emergency rule ---- */

static void test_emergency_rule(void **state)
{
    struct fx *f = *state;
    inbound(f, "M1", "Hello! Water is leaking through the ceiling of the bathroom.\nPlease help",
            now_ms_());
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE kind = 'message'"), 1);
    assert_int_equal(run(f), 1);
    /* one emergency plumbing work order, from the message, linked to the thread */
    assert_int_equal(q(f, "SELECT count(*) FROM work_order WHERE priority = 'emergency'"
                          " AND trade = 'plumbing' AND thread_id = 1 AND message_id IS NOT NULL"),
                     1);
    char text[512];
    qtext(f, "SELECT title FROM work_order", text, sizeof(text));
    assert_string_equal(text, "Hello! Water is leaking through the ceiling of the bathroom.");
    /* the preferred plumber with valid insurance, not the one whose insurance expired */
    qtext(f, "SELECT v.name FROM work_order w JOIN vendor v ON v.id = w.vendor_id", text,
          sizeof(text));
    assert_string_equal(text, "Ace Plumbing");
    /* one create (the vendor rides with it: no separate dispatch write), one reply */
    assert_int_equal(q(f, "SELECT count(*) FROM outbox"), 2);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE op = 'wo_create'"
                          " AND json_extract(payload, '$.vendor') = 'V1'"),
                     1);
    qtext(f, "SELECT body FROM message WHERE origin = 'rule' AND direction = 'out'", text,
          sizeof(text));
    assert_non_null(strstr(text, "logged this as an emergency and Ace Plumbing will contact"));
    /* the history names the rule */
    assert_int_equal(q(f, "SELECT count(*) FROM wo_event WHERE actor = 'rule:emergency'"
                          " AND origin = 'rule' AND kind IN ('created', 'vendor')"),
                     2);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire WHERE rule = 'emergency'"
                          " AND outcome = 'done'"),
                     1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE state = 'new'"), 0);
}

static void test_words_at_word_boundaries(void **state)
{
    struct fx *f = *state;
    const struct {
        const char *text;
        int fires;
    } cases[] = {
        {"The fireplace is lovely, thanks", 0},
        {"Is there gas-free parking? We are gaslighting nobody", 1}, /* "gas" then '-' */
        {"There is NO HOT   WATER since this morning", 1},
        {"we got locked\nout", 1},
        {"Bleak weather, cleaked? no", 0},
        {"Smoke alarm beeping", 1},
        {"Checkout time?", 0},
    };
    struct err e;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char json[400];
        snprintf(json, sizeof(json),
                 "{\"on\": \"message\", \"account\": \"ha\", \"thread\": %lld,"
                 " \"text\": \"%s\"}",
                 (long long)f->thread, cases[i].text);
        for (char *p = json; *p; p++)
            if (*p == '\n')
                *p = ' ';
        char out[2048];
        FILE *m = fmemopen(out, sizeof(out), "w");
        assert_int_equal(rules_test(f->r, f->s, json, m, &e), 0);
        fclose(m);
        int fired = strstr(out, "emergency (done)") != NULL;
        if (fired != cases[i].fires)
            fail_msg("'%s': fired %d, want %d:\n%s", cases[i].text, fired, cases[i].fires, out);
    }
    /* a dry run writes nothing */
    assert_int_equal(q(f, "SELECT count(*) FROM work_order"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire"), 0);
}

/* ---- at most once ---- */

static void test_fires_once_replays_and_duplicates(void **state)
{
    struct fx *f = *state;
    int64_t at = now_ms_();
    inbound(f, "M1", "Flooding in the kitchen!", at);
    inbound(f, "M1", "Flooding in the kitchen!", at); /* the same message again (webhook+pull) */
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event"), 1);
    assert_int_equal(run(f), 1);
    assert_int_equal(run(f), 0);
    /* a replay of the event (a crash after the commit, before the worker knew) */
    assert_int_equal(q(f, "UPDATE rule_event SET state = 'new'"), 0);
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM work_order"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox"), 2);
    /* a second report on the thread joins the open work order; the tenant is answered */
    inbound(f, "M2", "Still flooding, water everywhere", at + 1000);
    assert_int_equal(run(f), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM work_order"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE op = 'reply'"), 2);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE op <> 'reply'"), 1);
}

static void test_history_is_not_news(void **state)
{
    struct fx *f = *state;
    struct err e;
    /* a message three days old (a pull catching up) fires nothing */
    inbound(f, "M1", "There was a leak last week", now_ms_() - 3 * 86400000LL);
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM work_order"), 0);
    /* a handled event no rule fired for is forgotten after a week; one that fired is kept */
    inbound(f, "M2", "A leak again, now", now_ms_());
    assert_int_equal(run(f), 1);
    assert_int_equal(q(f, "UPDATE rule_event SET at = at - 8 * 86400000"), 0);
    load(f); /* a new rules object looks for time-based work at once */
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event e JOIN rule_fire r"
                          " ON r.event_id = e.id"),
                     1);
    /* nothing is journaled for an account before its first complete pull */
    int64_t other = 0;
    assert_int_equal(store_account_ensure(f->s, "gy", "guesty", &other, &e), 0);
    struct rec_thread t = {.remote_id = "G1", .kind = THREAD_GUEST, .channel = CH_AIRBNB};
    assert_int_equal(store_thread_upsert(f->s, other, &t, NULL, &e), STORE_WRITTEN);
    struct rec_message m = {.remote_id = "GM1",
                            .thread_remote_id = "G1",
                            .direction = DIR_IN,
                            .channel = CH_AIRBNB,
                            .body = "gas smell",
                            .sent_at = now_ms_()};
    assert_true(store_message_upsert(f->s, other, &m, NULL, &e) >= 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE account_id = 2"), 0);
}

/* ---- loops ---- */

static void test_no_loops(void **state)
{
    struct fx *f = *state;
    struct err e;
    write_file(f->dir, "porter.conf",
               "[rules]\ndefaults = off\n"
               "[rule hold]\non = wo_status\nstatus = completed\naction = status on_hold\n"
               "[rule finish]\non = wo_status\nstatus = on_hold\naction = status completed\n"
               "[rule self]\non = wo_status\naction = priority high\naction = status new\n",
               0644);
    load(f);
    assert_int_equal(rules_nerrors(f->r), 0);
    int64_t wo = 0;
    assert_int_equal(store_queue_wo_create(f->s, f->acct, "Dripping tap", "", PRIO_NORMAL,
                                           f->thread, "kim", &wo, &e),
                     0);
    assert_int_equal(store_queue_wo_status(f->s, wo, WO_COMPLETED, "kim", &e), 0);
    for (int i = 0; i < 10; i++) {
        /* porter's status writes wait for the PMS's answer: answer them */
        q(f, "UPDATE outbox SET state = 'sent', attempts = 1 WHERE state = 'pending'");
        run(f);
    }
    /* kim's change: hold and self fire; hold's change: finish (self does not act on what it
     * made, directly or through others) ... and the chain stops. Each rule fired once per
     * event at most, and the number of status writes is bounded. */
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE state = 'new'"), 0);
    assert_true(q(f, "SELECT count(*) FROM outbox WHERE op = 'wo_status'") <= 1 + 2 * 4);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire f JOIN rule_event ev ON"
                          " ev.id = f.event_id WHERE f.rule = 'self' AND f.outcome <> 'skipped'"
                          " AND ev.actor = 'rule:self'"),
                     0);
    assert_true(q(f, "SELECT count(*) FROM rule_fire WHERE outcome = 'skipped'") >= 1);
    assert_true(q(f, "SELECT max(depth) FROM rule_event") <= RULES_MAX_DEPTH);
    assert_int_equal(q(f, "SELECT count(*) FROM (SELECT rule, event_id FROM rule_fire"
                          " GROUP BY 1, 2 HAVING count(*) > 1)"),
                     0);
}

static void test_status_waits_for_the_pms(void **state)
{
    struct fx *f = *state;
    struct err e;
    struct rec_work_order w = {.remote_id = "W1",
                               .title = "Fix sink",
                               .status = WO_IN_PROGRESS,
                               .thread_remote_id = "T1",
                               .remote_updated_at = 10};
    assert_true(store_work_order_upsert(f->s, f->acct, &w, NULL, &e) >= 0);
    int64_t wo = q(f, "SELECT id FROM work_order");
    /* kim completes it in porter: the follow-up waits for the PMS's answer */
    assert_int_equal(store_queue_wo_status(f->s, wo, WO_COMPLETED, "kim", &e), 0);
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE state = 'new'"), 1);
    /* the PMS cancelled it meanwhile and wins the conflict: no follow-up, ever */
    w.status = WO_CANCELLED;
    w.remote_updated_at = 20;
    assert_true(store_work_order_upsert(f->s, f->acct, &w, NULL, &e) >= 0);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'failed'"), 1);
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE state = 'new'"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE op = 'reply'"), 0);
    /* completed again, and this time the PMS takes it: one follow-up */
    assert_int_equal(store_queue_wo_status(f->s, wo, WO_COMPLETED, "kim", &e), 0);
    assert_int_equal(run(f), 0);
    q(f, "UPDATE outbox SET state = 'sent', attempts = 1 WHERE state = 'pending'");
    assert_int_equal(run(f), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE op = 'reply'"), 1);
}

/* ---- undo ---- */

static void test_undo(void **state)
{
    struct fx *f = *state;
    struct err e;
    write_file(f->dir, "porter.conf",
               "[rule tagit]\non = message\naction = tag urgent\n"
               "action = assign maint\n",
               0644);
    load(f);
    inbound(f, "M1", "Fire in the hallway", now_ms_());
    assert_int_equal(run(f), 2);
    int64_t em = q(f, "SELECT id FROM rule_fire WHERE rule = 'emergency'");
    int64_t tg = q(f, "SELECT id FROM rule_fire WHERE rule = 'tagit'");
    assert_int_equal(q(f, "SELECT count(*) FROM thread WHERE tags LIKE '%,urgent,%'"
                          " AND assignee = 'maint'"),
                     1);
    char msg[400];
    /* nothing has gone to the PMS yet: the work order and the reply are withdrawn */
    assert_int_equal(rules_undo(f->s, em, "sam", msg, sizeof(msg), &e), 0);
    assert_non_null(strstr(msg, "withdrawn before it was sent"));
    assert_int_equal(q(f, "SELECT count(*) FROM work_order"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM message WHERE origin = 'rule'"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 0);
    assert_int_equal(rules_undo(f->s, em, "sam", msg, sizeof(msg), &e), -1);
    assert_non_null(strstr(e.msg, "already undone by sam"));
    assert_int_equal(rules_undo(f->s, tg, "sam", msg, sizeof(msg), &e), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM thread WHERE tags LIKE '%urgent%'"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM thread WHERE assignee IS NULL"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire WHERE undone_at IS NOT NULL"), 2);

    /* once the reply has gone, undo says so and cancels the work order at the PMS instead */
    inbound(f, "M2", "Gas smell again!", now_ms_());
    assert_int_equal(run(f), 2);
    em = q(f, "SELECT max(id) FROM rule_fire WHERE rule = 'emergency'");
    assert_int_equal(q(f, "UPDATE outbox SET state = 'sent', attempts = 1"), 0);
    assert_int_equal(q(f, "UPDATE message SET send_state = 'synced', remote_id = 'R9'"
                          " WHERE origin = 'rule'"),
                     0);
    assert_int_equal(q(f, "UPDATE work_order SET remote_id = 'W9', sync_state = 'synced'"), 0);
    assert_int_equal(rules_undo(f->s, em, "sam", msg, sizeof(msg), &e), 0);
    assert_non_null(strstr(msg, "cancelled"));
    assert_non_null(strstr(msg, "already sent: it cannot be taken back"));
    assert_int_equal(q(f, "SELECT count(*) FROM outbox WHERE op = 'wo_status' AND state ="
                          " 'pending' AND json_extract(payload, '$.status') = 'cancelled'"),
                     1);
}

/* ---- notify commands ---- */

static void test_notify_command(void **state)
{
    struct fx *f = *state;
    struct err e;
    char conf[512];
    snprintf(conf, sizeof(conf),
             "[rules]\ndefaults = off\n"
             "[rule page]\non = message\nwords = urgent\naction = notify printf '%%s|%%s|%%s'"
             " \"$PORTER_RULE\" \"$PORTER_EVENT\" \"$PORTER_TEXT\" > %s/out\n"
             "action = bell\n",
             f->dir);
    write_file(f->dir, "porter.conf", conf, 0644);
    load(f);
    assert_int_equal(rules_nerrors(f->r), 0);
    inbound(f, "M1", "urgent: \x1b]0;pwned\x07 call me \x1b[2J", now_ms_());
    assert_int_equal(run(f), 1);
    int64_t bell = 0;
    assert_int_equal(store_rule_bell_max(f->s, &bell, &e), 0);
    assert_true(bell > 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_action WHERE state = 'queued'"), 1);
    assert_int_equal(rules_commands(f->r, f->s, &e), 1);
    assert_int_equal(rules_commands(f->r, f->s, &e), 0); /* run once */
    char path[128], got[256] = "";
    snprintf(path, sizeof(path), "%s/out", f->dir);
    FILE *o = fopen(path, "r");
    assert_non_null(o);
    assert_non_null(fgets(got, sizeof(got), o));
    fclose(o);
    assert_non_null(strstr(got, "page|message|urgent:"));
    assert_null(strchr(got, '\x1b')); /* the guest's escape sequences never reach it */
    assert_null(strchr(got, '\x07'));
    assert_int_equal(q(f, "SELECT count(*) FROM rule_action WHERE action = 'notify'"
                          " AND state = 'done'"),
                     1);
}

/* ---- time-based triggers ---- */

static void test_checkin_and_sla(void **state)
{
    struct fx *f = *state;
    struct err e;
    write_file(f->dir, "porter.conf",
               "[rules]\ndefaults = off\n"
               "[rule welcome]\non = checkin\naction = note \"{guest_name} arrives today\"\n"
               "[rule late]\non = sla\nafter = 1h\naction = tag overdue\naction = bell\n"
               "[rule leaving]\non = checkout\naction = tag leaving\n",
               0644);
    load(f);
    char today[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(today, sizeof(today), "%Y-%m-%d", &tm);
    struct rec_stay st = {.remote_id = "S1",
                          .contact_remote_id = "C1",
                          .property_remote_id = "P1",
                          .status = "confirmed",
                          .arrival = today,
                          .departure = "2999-01-01"};
    struct rec_stay st2 = {.remote_id = "S2",
                           .contact_remote_id = "C1",
                           .property_remote_id = "P1",
                           .status = "confirmed",
                           .arrival = "2000-01-01",
                           .departure = today};
    assert_true(store_stay_upsert(f->s, f->acct, &st2, NULL, &e) >= 0);
    assert_true(store_stay_upsert(f->s, f->acct, &st, NULL, &e) >= 0);
    struct rec_thread t = {.remote_id = "T1",
                           .kind = THREAD_TENANT,
                           .contact_remote_id = "C1",
                           .property_remote_id = "P1",
                           .stay_remote_id = "S1",
                           .channel = CH_EMAIL};
    assert_int_equal(store_thread_upsert(f->s, f->acct, &t, NULL, &e), STORE_WRITTEN);
    /* the tenant wrote 2 hours ago and nobody answered */
    inbound(f, "M1", "Where do I park?", now_ms_() - 2 * 3600000LL);
    /* welcome on the stay, late on the thread, leaving on the stay that leaves (its thread
     * has not come: after a minute it fires without one) */
    assert_int_equal(run(f), 2);
    assert_int_equal(q(f, "UPDATE rule_event SET at = at - 61000 WHERE kind = 'checkout'"), 0);
    assert_int_equal(run(f), 1);
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire WHERE rule = 'leaving'"
                          " AND outcome = 'skipped'"),
                     1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE kind = 'checkin'"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE kind = 'sla'"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_event WHERE kind = 'reservation_created'"), 2);
    assert_int_equal(q(f, "SELECT count(*) FROM thread WHERE tags LIKE '%,overdue,%'"), 1);
    char text[256];
    qtext(f, "SELECT body FROM message WHERE direction = 'note'", text, sizeof(text));
    assert_string_equal(text, "Dana Reyes arrives today");
    /* a new rules object (a restart) does not journal them again */
    load(f);
    assert_int_equal(run(f), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire"), 3);
}

static void test_reservation_and_work_order_triggers(void **state)
{
    struct fx *f = *state;
    struct err e;
    write_file(
        f->dir, "porter.conf",
        "[rules]\ndefaults = off\n"
        "[rule cxl]\non = reservation_cancelled\naction = note \"cancelled\"\n"
        "[rule window]\non = wo_scheduled\naction = reply \"{vendor|We} will come {window}.\"\n"
        "[rule done]\non = wo_status\nstatus = completed\nfrom = in_progress\n"
        "action = reply \"Hi {guest_first_name|there}, {work_order} is done.\"\n",
        0644);
    load(f);
    struct rec_stay st = {.remote_id = "S1",
                          .contact_remote_id = "C1",
                          .property_remote_id = "P1",
                          .status = "confirmed",
                          .arrival = "2999-01-01",
                          .departure = "2999-01-05",
                          .remote_updated_at = 1};
    assert_true(store_stay_upsert(f->s, f->acct, &st, NULL, &e) >= 0);
    struct rec_thread t = {.remote_id = "T1",
                           .kind = THREAD_TENANT,
                           .contact_remote_id = "C1",
                           .property_remote_id = "P1",
                           .stay_remote_id = "S1",
                           .channel = CH_EMAIL};
    assert_int_equal(store_thread_upsert(f->s, f->acct, &t, NULL, &e), STORE_WRITTEN);
    st.status = "cancelled";
    st.remote_updated_at = 2;
    assert_true(store_stay_upsert(f->s, f->acct, &st, NULL, &e) >= 0);
    assert_int_equal(run(f), 1);
    /* a work order the PMS moves from in_progress to completed */
    struct rec_work_order w = {.remote_id = "W1",
                               .title = "Fix sink",
                               .status = WO_IN_PROGRESS,
                               .thread_remote_id = "T1",
                               .remote_updated_at = 10};
    assert_true(store_work_order_upsert(f->s, f->acct, &w, NULL, &e) >= 0);
    /* kim sets the window: once the PMS has it, the tenant is told */
    int64_t wo = q(f, "SELECT id FROM work_order");
    assert_int_equal(store_queue_wo_schedule(f->s, wo, 1795420800000LL, 1795428000000LL, "kim", &e),
                     0);
    assert_int_equal(run(f), 1);
    char text[256], window[64];
    wo_window_fmt(1795420800000LL, 1795428000000LL, window, sizeof(window));
    char want[160];
    snprintf(want, sizeof(want), "We will come %s.", window);
    qtext(f, "SELECT body FROM message WHERE direction = 'out'", text, sizeof(text));
    assert_string_equal(text, want);
    w.status = WO_COMPLETED;
    w.remote_updated_at = 20;
    assert_true(store_work_order_upsert(f->s, f->acct, &w, NULL, &e) >= 0);
    assert_int_equal(run(f), 1);
    qtext(f, "SELECT body FROM message WHERE direction = 'out' ORDER BY id DESC", text,
          sizeof(text));
    assert_string_equal(text, "Hi Dana, Fix sink is done.");
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire WHERE rule = 'cxl'"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire WHERE rule = 'done'"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM rule_fire WHERE rule = 'window'"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_rules_named_by_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_switch_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emergency_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_words_at_word_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fires_once_replays_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_is_not_news, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_waits_for_the_pms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkin_and_sla, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reservation_and_work_order_triggers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
