/* test_tui_board.c - the work-order board and the health view, driven as a coordinator
 * would: porter's interface in tmux at 80x24 (NO_COLOR, so every state is a word or a
 * glyph and the selection is reverse video), the sync engine running in the same process,
 * against pmsim (Hostaway, data/demo). Every scenario checks both ends: what pmsim received
 * (each write exactly once, and what must not have been written) and what the screen shows.
 *
 *   1. H/L move a card: one status write, the card pending then synced;
 *   2. d dispatches a vendor: one assigneeUserId write;
 *   3. W makes a work order of a guest's message: one task created, linked to the stay;
 *      w jumps from the thread to the card and back;
 *   4. an outage: writes queue (the health view's depth grows, the status bar says DOWN),
 *      then drain, each exactly once; and
 *   6. a conflict made during that outage (a status changed on both sides) is listed in
 *      the health view and settled there with one key (<: porter's value, sent once);
 *   5. schema drift: an alert naming the field; the drifted message is not half-stored.
 *
 * PORTER_TEST_KEEP=1 keeps the directory (database, porter.log) of every scenario;
 * TRACE=1 prints each key sent with its time; TEST_FILTER=pattern runs some scenarios. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"

static char dir[64], sock[128];
static struct simproc sim;
static int64_t began;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep until `ms` after `since`: long enough for a duplicate write to have arrived (the
 * pusher retries within a second; a pull runs every 5 s). */
static void settle(int64_t since, int ms)
{
    int64_t left = since + ms - mono_now();
    if (left > 0)
        msleep((int)left);
}

/* ---- the terminal ---- */

/* The output of a tmux command on the test's server. */
static char *tmux_out(const char *what)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -S %s %s 2>/dev/null", sock, what);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    size_t n = p ? fread(out, 1, 65535, p) : 0;
    out[n] = '\0';
    if (p)
        pclose(p);
    return out;
}

static char *screen(void)
{
    return tmux_out("capture-pane -p -t board");
}

/* The screen with its attributes as escape sequences (the selection is reverse video). */
static char *screen_attrs(void)
{
    return tmux_out("capture-pane -p -e -t board");
}

static void keys(const char *k)
{
    if (getenv("TRACE"))
        fprintf(stderr, "# %6.2f keys %s\n", (double)(mono_now() - began) / 1000, k);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "tmux -S %s send-keys -t board %s", sock, k);
    assert_int_equal(system(cmd), 0);
}

static int on_screen(const char *needle)
{
    char *s = screen();
    int found = strstr(s, needle) != NULL;
    free(s);
    return found;
}

static int wait_screen(const char *needle, int ms)
{
    for (int64_t end = mono_now() + ms;; msleep(50)) {
        if (on_screen(needle))
            return 1;
        if (mono_now() > end)
            return 0;
    }
}

/* The screen as TAP comments, for a failure's report. */
static void dump_screen(void)
{
    char *s = screen();
    print_message("# the screen:\n");
    for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
        print_message("#   %s\n", l);
    free(s);
}

/* assert_true that shows the screen when it fails */
#define SEE(cond)                                                                                  \
    do {                                                                                           \
        int ok_ = (cond);                                                                          \
        if (!ok_)                                                                                  \
            dump_screen();                                                                         \
        _assert_true((uintmax_t)ok_, #cond, __FILE__, __LINE__);                                   \
    } while (0)

/* Row y (0-based) of the screen, copied into out; 0 when there is no such row. */
static int row(int y, char *out, size_t n)
{
    char *s = screen(), *p = s;
    for (int i = 0; i < y && p; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    int ok = p && *p;
    if (ok) {
        size_t len = strcspn(p, "\n");
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), p);
    }
    free(s);
    return ok;
}

/* The first screen row holding needle, copied into out; 0 when none does. */
static int row_with(const char *needle, char *out, size_t n)
{
    char *s = screen();
    char *hit = strstr(s, needle);
    if (hit) {
        char *b = hit;
        while (b > s && b[-1] != '\n')
            b--;
        size_t len = strcspn(b, "\n");
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), b);
    }
    free(s);
    return hit != NULL;
}

static void status_bar(char *out, size_t n)
{
    out[0] = '\0';
    row(23, out, n);
}

/* Whether the first occurrence of needle on screen is drawn in reverse video (selected). */
static int selected(const char *needle)
{
    char *s = screen_attrs();
    char *hit = strstr(s, needle);
    int reverse = 0;
    if (hit) {
        char *b = hit;
        while (b > s && b[-1] != '\n')
            b--;
        for (char *p = b; p < hit; p++) { /* follow the SGR sequences up to needle */
            if (p[0] != '\033' || p[1] != '[')
                continue;
            char *q = p + 2;
            if (*q == 'm') /* ESC [ m: reset */
                reverse = 0;
            while (*q >= '0' && *q <= '9') {
                long v = strtol(q, &q, 10);
                reverse = v == 7 ? 1 : v == 0 || v == 27 ? 0 : reverse;
                if (*q == ';')
                    q++;
            }
            p = q;
        }
    }
    free(s);
    return reverse;
}

static int wait_selected(const char *needle, int ms)
{
    for (int64_t end = mono_now() + ms;; msleep(50)) {
        if (selected(needle))
            return 1;
        if (mono_now() > end)
            return 0;
    }
}

/* Press k, then wait (at most 0.5 s) for the screen to change. */
static void press(const char *k)
{
    char *before = screen_attrs();
    keys(k);
    for (int64_t end = mono_now() + 500; mono_now() < end; msleep(30)) {
        char *now = screen_attrs();
        int same = strcmp(now, before) == 0;
        free(now);
        if (!same)
            break;
    }
    free(before);
}

/* Press k until needle is the selected row (at most max times); 1 when it is. */
static int select_with(const char *k, const char *needle, int max)
{
    for (int i = 0; i < max && !selected(needle); i++)
        press(k);
    return wait_selected(needle, 500);
}

/* ---- the board ---- */

static const char *const columns[] = {"new",         "assigned", "scheduled",
                                      "in_progress", "on_hold",  "completed"};
enum { NCOLUMNS = sizeof(columns) / sizeof(columns[0]) };

/* Segment k (between the column rules) of a board row, copied into out. */
static int segment(const char *line, int k, char *out, size_t n)
{
    const char *rule = "│";
    for (int i = 0; i < k; i++) {
        line = strstr(line, rule);
        if (!line)
            return 0;
        line += strlen(rule);
    }
    const char *end = strstr(line, rule);
    size_t len = end ? (size_t)(end - line) : strlen(line);
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), line);
    return 1;
}

/* The focused column of the board (its header is in brackets), -1 when none is. */
static int focused_column(void)
{
    char head[512];
    if (!row(1, head, sizeof(head)))
        return -1;
    for (int c = 0; c < NCOLUMNS; c++) {
        char want[48];
        snprintf(want, sizeof(want), "[%s (", columns[c]);
        if (strstr(head, want))
            return c;
    }
    return -1;
}

/* h/l until the column named `name` has the focus. */
static void focus_column(const char *name)
{
    int want = -1;
    for (int c = 0; c < NCOLUMNS; c++)
        if (strcmp(columns[c], name) == 0)
            want = c;
    assert_true(want >= 0);
    for (int i = 0; i < 2 * NCOLUMNS; i++) {
        int at = -1;
        for (int t = 0; t < 40 && at < 0; t++, msleep(50))
            at = focused_column();
        assert_true(at >= 0);
        if (at == want)
            return;
        press(at < want ? "l" : "h"); /* one key, then its effect */
    }
    fail_msg("column %s never got the focus", name);
}

/* Where card #id is on the board: its column (index into columns[]) and the text of its
 * third line, the one that ends in the sync state. -1 when it is not on screen. */
static int find_card(int id, char *state, size_t n)
{
    char *s = screen();
    char *lines[32];
    int nl = 0;
    for (char *p = s; p && *p && nl < 32;) {
        lines[nl++] = p;
        char *eol = strchr(p, '\n');
        if (eol)
            *eol++ = '\0';
        p = eol;
    }
    char want[24], seg[256], bang[32];
    snprintf(want, sizeof(want), "#%d ", id);
    snprintf(bang, sizeof(bang), "!! #%d ", id);
    int col = -1;
    for (int y = 2; y + 2 < nl && col < 0; y++)
        for (int k = 0; k < 3 && col < 0; k++) {
            if (!segment(lines[y], k, seg, sizeof(seg)) ||
                (strncmp(seg, want, strlen(want)) != 0 && strncmp(seg, bang, strlen(bang)) != 0))
                continue;
            char head[256];
            if (!segment(lines[1], k, head, sizeof(head)))
                continue;
            for (int c = 0; c < NCOLUMNS; c++) {
                char name[48];
                snprintf(name, sizeof(name), "%s (", columns[c]);
                if (strstr(head, name) == head || strstr(head, name) == head + 1)
                    col = c;
            }
            if (state && col >= 0)
                segment(lines[y + 2], k, state, n);
        }
    free(s);
    return col;
}

/* The card's sync state as its third line shows it: 'p' pending ("… pending", possibly
 * cut to "… pe…"), 's' synced (✓), 'f' failed (✗), 0 when the line was cut before its
 * state, -1 when the card is not on screen. */
static int card_state(int id)
{
    char line[256];
    if (find_card(id, line, sizeof(line)) < 0)
        return -1;
    return strstr(line, "✗") ? 'f' : strstr(line, "… p") ? 'p' : strstr(line, "✓") ? 's' : 0;
}

/* The board id of the card whose title starts with `title` (cut at the column's width). */
static int card_id(const char *title)
{
    char *s = screen();
    int id = 0;
    for (char *p = strstr(s, title); p && !id; p = strstr(p + 1, title)) {
        char *h = p;
        while (h > s && h[-1] != '#' && h[-1] != '\n' && p - h < 12)
            h--;
        if (h > s && h[-1] == '#')
            id = atoi(h);
    }
    free(s);
    return id;
}

/* The QUEUE column of the account's row in the health view; -1 when not on screen. */
static int health_queue(void)
{
    char line[512];
    if (!row_with(" hostaway ", line, sizeof(line)))
        return -1;
    char *slash = strrchr(line, '/'); /* p50/p95/max: the queue depth follows the max */
    if (!slash)
        return -1;
    char *end;
    strtol(slash + 1, &end, 10);
    char *q = end;
    long depth = strtol(q, &end, 10);
    return end == q ? -1 : (int)depth;
}

static int wait_queue(int want, int ms)
{
    for (int64_t end = mono_now() + ms;; msleep(100)) {
        if (health_queue() == want)
            return 1;
        if (mono_now() > end)
            return 0;
    }
}

/* ---- pmsim ---- */

static cJSON *sim_get(const char *path)
{
    char url[192];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sim.port[0], path);
    http_do("GET", url, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *j = cJSON_Parse(r.body);
    http_result_free(&r);
    assert_non_null(j);
    return j;
}

static void sim_post(const char *path, const char *body)
{
    char url[192];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sim.port[0], path);
    http_do("POST", url, NULL, body, &r);
    assert_int_equal(r.status, 200);
    http_result_free(&r);
}

/* Writes pmsim applied with this method and path whose body contains `needle`. */
static int writes_to(const char *method, const char *path, const char *needle)
{
    cJSON *w = sim_get("/_sim/writes"), *x;
    int n = 0;
    cJSON_ArrayForEach(x, w)
    {
        const cJSON *m = cJSON_GetObjectItem(x, "method"), *p = cJSON_GetObjectItem(x, "path");
        char *body = cJSON_PrintUnformatted(cJSON_GetObjectItem(x, "body"));
        if (cJSON_IsString(m) && strcmp(m->valuestring, method) == 0 && cJSON_IsString(p) &&
            strcmp(p->valuestring, path) == 0 && body && strstr(body, needle))
            n++;
        free(body);
    }
    cJSON_Delete(w);
    return n;
}

static int writes_total(void)
{
    cJSON *w = sim_get("/_sim/writes");
    int n = cJSON_GetArraySize(w);
    cJSON_Delete(w);
    return n;
}

/* Wait until the write shows up, then return how many there are. */
static int wait_writes(const char *method, const char *path, const char *needle, int ms)
{
    int n = 0;
    for (int64_t end = mono_now() + ms; (n = writes_to(method, path, needle)) == 0;) {
        if (mono_now() > end)
            break;
        msleep(50);
    }
    return n;
}

/* A record of one of pmsim's collections whose string `key` is `value` (a copy), or NULL. */
static cJSON *sim_find(const char *coll, const char *key, const char *value)
{
    char path[96];
    snprintf(path, sizeof(path), "/_sim/state?collection=%s", coll);
    cJSON *all = sim_get(path), *x, *found = NULL;
    cJSON_ArrayForEach(x, all)
    {
        const cJSON *v = cJSON_GetObjectItem(x, key);
        if (!found && cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
            found = cJSON_Duplicate(x, 1);
    }
    cJSON_Delete(all);
    return found;
}

static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* The PMS's task titled `title`: its id, and its status copied into status. */
static int64_t task(const char *title, char *status, size_t n)
{
    cJSON *t = sim_find("tasks", "title", title);
    assert_non_null(t);
    int64_t id = num(t, "id");
    if (status)
        snprintf(status, n, "%s", cJSON_GetObjectItem(t, "status")->valuestring);
    cJSON_Delete(t);
    return id;
}

/* How many of the PMS's tasks are titled `title`. */
static int tasks_titled(const char *title)
{
    cJSON *all = sim_get("/_sim/state?collection=tasks"), *x;
    int n = 0;
    cJSON_ArrayForEach(x, all)
    {
        const cJSON *v = cJSON_GetObjectItem(x, "title");
        n += cJSON_IsString(v) && strcmp(v->valuestring, title) == 0;
    }
    cJSON_Delete(all);
    return n;
}

static void task_path(const char *title, char *path, size_t n)
{
    snprintf(path, n, "/v1/tasks/%lld", (long long)task(title, NULL, 0));
}

/* ---- set-up ---- */

static int down(void **state);

/* A fresh pmsim and porter for each scenario; on failure everything started is stopped. */
static int up(void **state)
{
    began = mono_now();
    strcpy(dir, "/tmp/porter-board-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(sock, sizeof(sock), "%s/tmux.sock", dir);
    int hook = sim_free_port();
    char url[96], epoch[32];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/ha", hook);
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account", "hostaway:0", "--data", "data/demo", "--webhook-url",
                          url,         "--epoch",    epoch,    "--fault",   "rate_limit_off=1",
                          NULL};
    if (sim_spawn(&sim, argv) != 0) {
        print_message("# pmsim did not start (PMSIM_BIN, run from the top directory)\n");
        down(state);
        return -1;
    }
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        /* poll every 5 s (the minimum): Hostaway sends no task webhooks, so a change made
         * at the PMS reaches porter by the next pull */
        fprintf(f,
                "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
                "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
                "webhook_secret = porter:change-me\npoll_interval = 5\nrate_limit = 200\n"
                "rate_burst = 50\n",
                sim.port[0]);
        fclose(f);
        chmod(path, 0600);
    }
    snprintf(path, sizeof(path), "%s/porter.conf", dir);
    FILE *g = fopen(path, "w");
    if (g) {
        fprintf(g, "[webhook]\nlisten = 127.0.0.1:%d\n", hook);
        fclose(g);
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "tmux -S %s -f /dev/null new-session -d -s board -x 80 -y 24 "
             "'env TERM=xterm-256color NO_COLOR=1 USER=tester XDG_STATE_HOME=%s %s --config %s "
             "--db %s/p.db; echo EXITED $?; sleep 30'",
             sock, dir, getenv("PORTER_BIN"), dir, dir);
    /* the first pull has brought the tasks: five open work orders */
    if (!f || !g || system(cmd) != 0 || !wait_screen("2 Board (5)", 15000)) {
        dump_screen();
        down(state);
        return -1;
    }
    print_message("# set up in %.1f s\n", (double)(mono_now() - began) / 1000);
    return 0;
}

static int down(void **state)
{
    (void)state;
    char cmd[256];
    if (getenv("PORTER_TEST_KEEP"))
        snprintf(cmd, sizeof(cmd), "tmux -S %s kill-server 2>/dev/null; echo '# kept %s'", sock,
                 dir);
    else
        snprintf(cmd, sizeof(cmd), "tmux -S %s kill-server 2>/dev/null; rm -rf %s", sock, dir);
    int rc = system(cmd);
    sim_kill(&sim);
    print_message("# %.1f s\n", (double)(mono_now() - began) / 1000);
    return rc == 0 ? 0 : -1;
}

/* q quits cleanly (under ASan a leak would make the exit status non-zero). */
static void quit(void)
{
    for (int i = 0; i < 3 && !on_screen("EXITED"); i++) { /* q first closes a conversation */
        keys("q");
        wait_screen("EXITED", 1000);
    }
    SEE(wait_screen("EXITED 0", 10000));
}

static void show_board(void)
{
    keys("2");
    SEE(wait_screen("[2 Board", 3000));
    for (int t = 0; t < 60 && focused_column() < 0; t++)
        msleep(50);
    assert_true(focused_column() >= 0);
}

static void show_health(void)
{
    keys("3");
    SEE(wait_screen("[3 Health", 3000));
    SEE(wait_screen("ALERTS", 3000));
}

/* Select the card whose title starts with `title` in the column `col`. */
static int pick_card(const char *col, const char *title)
{
    focus_column(col);
    if (!selected(title))
        press("g");
    SEE(select_with("j", title, 8));
    int id = card_id(title);
    assert_true(id > 0);
    return id;
}

/* Show card #id in full, wherever it is now (a pull may move a card to the column of the
 * PMS's status at any time). */
static void open_card(int id, const char *title)
{
    char head[96];
    snprintf(head, sizeof(head), "#%d %s", id, title);
    for (int tries = 0; tries < 3; tries++) {
        int col = -1;
        for (int t = 0; t < 40 && (col = find_card(id, NULL, 0)) < 0; t++)
            msleep(50);
        SEE(col >= 0);
        pick_card(columns[col], title);
        keys("Enter");
        SEE(wait_screen("History", 2000));
        if (on_screen(head)) /* (the columns are not drawn under the detail) */
            return;
        keys("Escape"); /* it moved meanwhile: the detail of another card */
        SEE(wait_screen("H/L: move", 2000));
    }
    fail_msg("card #%d could not be opened", id);
}

/* Move the selected card #id with H or L and see porter say so. */
static void move(const char *key, int id, const char *to)
{
    char said[96];
    keys(key);
    snprintf(said, sizeof(said), "#%d → %s: pending", id, to);
    SEE(wait_screen(said, 3000));
    assert_int_equal(find_card(id, NULL, 0), focused_column());
}

/* ---- 1. moving a card ---- */

static void test_move_card_writes_status_once(void **state)
{
    (void)state;
    char path[64], status[32];
    task_path("Heating not working", path, sizeof(path));
    show_board();
    int id = pick_card("scheduled", "Heating not working");
    /* the PMS answers slowly, so that the pending state is on screen for a while */
    sim_post("/_sim/faults", "{\"latency_ms\":1000}");
    move("L", id, "in_progress");
    assert_int_equal(find_card(id, NULL, 0), 3); /* in the in_progress column */
    keys("Enter");                               /* the card in full */
    char head[64];
    snprintf(head, sizeof(head), "#%d Heating not working", id);
    SEE(wait_screen("History", 1000));
    SEE(on_screen(head)); /* (the columns are not drawn under the detail) */
    SEE(wait_screen("sync: pending", 1000));
    SEE(wait_screen("sync: synced", 8000));
    int64_t synced = mono_now();
    sim_post("/_sim/faults", "{\"latency_ms\":0}");
    assert_int_equal(writes_to("PUT", path, "\"status\":\"inProgress\""), 1);
    task("Heating not working", status, sizeof(status));
    assert_string_equal(status, "inProgress");
    /* nothing else was written, and nothing more is: the ack and the pulls after it (every
     * 5 s) read the PMS's value back without a second write */
    settle(synced, 2000);
    assert_int_equal(writes_to("PUT", path, "\"status\":\"inProgress\""), 1);
    assert_int_equal(writes_total(), 1);
    keys("Escape");
    SEE(wait_screen("H/L: move", 2000));
    assert_int_equal(find_card(id, NULL, 0), 3);
    char bar[256];
    status_bar(bar, sizeof(bar));
    assert_non_null(strstr(bar, " 0 pending"));
    assert_null(strstr(bar, "DOWN"));
    quit();
}

/* ---- 2. dispatching a vendor ---- */

static void test_dispatch_vendor_once(void **state)
{
    (void)state;
    char path[64];
    task_path("Check gas smell", path, sizeof(path));
    cJSON *marta = sim_find("users", "firstName", "Marta");
    assert_non_null(marta);
    char body[48];
    snprintf(body, sizeof(body), "\"assigneeUserId\":%lld", (long long)num(marta, "id"));
    cJSON_Delete(marta);
    show_board();
    int id = pick_card("new", "Check gas smell");
    keys("d");
    char title[64];
    snprintf(title, sizeof(title), "Dispatch a vendor for #%d", id);
    SEE(wait_screen(title, 3000));
    SEE(wait_screen("Marta Kowalczyk", 3000));
    SEE(select_with("j", "Marta Kowalczyk", 8));
    keys("Enter");
    SEE(wait_screen("dispatched to Marta Kowalczyk", 3000));
    assert_false(on_screen("Dispatch a vendor for")); /* the picker closed */
    /* the PMS has it once: PUT /tasks/{id} with the user's id */
    assert_int_equal(wait_writes("PUT", path, body, 5000), 1);
    int64_t landed = mono_now();
    cJSON *t = sim_find("tasks", "title", "Check gas smell");
    assert_int_equal(num(t, "assigneeUserId"), atoll(strchr(body, ':') + 1));
    cJSON_Delete(t);
    /* the card in full: the vendor, synced (at 80 columns the card's own line is cut
     * before its vendor and its sync state) */
    open_card(id, "Check gas smell");
    SEE(wait_screen("vendor: Marta Kowalczyk", 3000));
    SEE(wait_screen("sync: synced", 5000));
    settle(landed, 1500);
    assert_int_equal(writes_to("PUT", path, body), 1);
    assert_int_equal(writes_total(), 1);
    keys("Escape");
    quit();
}

/* ---- 3. a work order from a message ---- */

static void test_work_order_from_message(void **state)
{
    (void)state;
    const char *text = "wo57 the balcony door will not close";
    cJSON *convs = sim_get("/_sim/state?collection=conversations");
    cJSON *conv = cJSON_Duplicate(cJSON_GetArrayItem(convs, 0), 1);
    cJSON_Delete(convs);
    char inject[256];
    snprintf(inject, sizeof(inject),
             "{\"kind\":\"message\",\"conversationId\":%lld,\"body\":\"%s\"}",
             (long long)num(conv, "id"), text);
    sim_post("/_sim/inject", inject);
    /* the guest's message arrives by webhook; it is the newest thread that needs a reply */
    SEE(wait_screen("wo57 the balcony", 10000));
    keys("g");
    keys("Enter");
    SEE(wait_screen("stay:", 3000));
    SEE(wait_screen(text, 3000));
    keys("W"); /* the title is pre-filled with the guest's last words */
    char prompt[128];
    snprintf(prompt, sizeof(prompt), "Work order title: %s", text);
    SEE(wait_screen(prompt, 3000));
    /* the PMS answers slowly, so that the new card is seen pending */
    sim_post("/_sim/faults", "{\"latency_ms\":1000}");
    keys("Enter");
    SEE(wait_screen("created for this thread", 3000));
    char said[256];
    assert_true(row_with("work order #", said, sizeof(said)));
    int id = atoi(strstr(said, "work order #") + strlen("work order #"));
    assert_true(id > 6); /* after the six imported */
    /* w: from the thread to its card, selected on the board in the new column; it has no
     * vendor and no schedule, so its sync state fits on its line: pending, then synced */
    keys("w");
    SEE(wait_screen("[2 Board", 3000));
    char card[32];
    snprintf(card, sizeof(card), "#%d wo57", id);
    SEE(wait_selected(card, 3000));
    assert_int_equal(find_card(id, NULL, 0), 0);
    SEE(card_state(id) == 'p');
    for (int i = 0; i < 100 && card_state(id) != 's'; i++)
        msleep(50);
    SEE(card_state(id) == 's');
    sim_post("/_sim/faults", "{\"latency_ms\":0}");
    /* exactly one task at the PMS, with the stay and listing of the conversation */
    char title[96];
    snprintf(title, sizeof(title), "\"title\":\"%s\"", text);
    assert_int_equal(writes_to("POST", "/v1/tasks", title), 1);
    int64_t started = mono_now();
    cJSON *t = sim_find("tasks", "title", text);
    assert_non_null(t);
    assert_int_equal(num(t, "listingMapId"), num(conv, "listingMapId"));
    assert_int_equal(num(t, "reservationId"), num(conv, "reservationId"));
    const cJSON *desc = cJSON_GetObjectItem(t, "description");
    assert_true(cJSON_IsString(desc) && strstr(desc->valuestring, text));
    cJSON_Delete(t);
    cJSON_Delete(conv);
    /* w: back to the thread */
    keys("w");
    SEE(wait_screen("[1 Inbox", 3000));
    SEE(wait_screen("stay:", 3000));
    SEE(wait_screen(text, 3000));
    settle(started, 1500);
    assert_int_equal(writes_to("POST", "/v1/tasks", title), 1);
    assert_int_equal(writes_total(), 1);
    assert_int_equal(tasks_titled(text), 1);
    quit();
}

/* ---- 4 and 6. an outage, and a conflict made during it ----
 *
 * Both need the account's circuit open: DOWN is the open circuit, and a conflict needs
 * porter's change still queued when the first pull after the outage reads the PMS's change
 * (an open circuit sends nothing for 10 s; the pull runs at most 5 s after the PMS is
 * back). An open circuit lets one probe through every 10 s, so the two share one outage. */

/* The row after the first one holding needle. */
static int row_after(const char *needle, char *out, size_t n)
{
    char *s = screen();
    char *hit = strstr(s, needle), *next = hit ? strchr(hit, '\n') : NULL;
    if (next) {
        next++;
        size_t len = strcspn(next, "\n");
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), next);
    }
    free(s);
    return next != NULL;
}

static void test_outage_drains_once_and_conflict_settled(void **state)
{
    (void)state;
    char drain[64], heating[64], clean[64], bar[256], line[512], status[32], inject[128];
    task_path("Unblock shower drain", drain, sizeof(drain));
    task_path("Heating not working", heating, sizeof(heating));
    task_path("Turnover clean", clean, sizeof(clean));
    show_board();
    sim_post("/_sim/faults", "{\"error_rate\":1}"); /* every API request: 503 */
    int a = pick_card("assigned", "Unblock shower drain");
    move("L", a, "scheduled");
    /* the health view: one write waiting */
    show_health();
    SEE(wait_queue(1, 5000));
    /* meanwhile someone completes "Heating not working" at the PMS ... */
    snprintf(inject, sizeof(inject),
             "{\"kind\":\"task_status\",\"id\":%lld,\"status\":\"completed\"}",
             (long long)task("Heating not working", NULL, 0));
    sim_post("/_sim/inject", inject);
    /* ... and the coordinator, who cannot know, starts it in porter */
    show_board();
    int h = pick_card("scheduled", "Heating not working");
    move("L", h, "in_progress");
    int c = pick_card("in_progress", "Turnover clean");
    move("H", c, "scheduled");
    keys("Enter"); /* the card in full (its own line is cut before the state at 80 columns) */
    SEE(wait_screen("sync: pending", 2000));
    keys("Escape");
    SEE(wait_screen("H/L: move", 2000));
    /* five failures in a row open the circuit: the status bar says DOWN (a word, without
     * colour), with the writes still queued */
    SEE(wait_screen("DOWN:", 10000));
    status_bar(bar, sizeof(bar));
    assert_non_null(strstr(bar, "✖ ha DOWN:down"));
    SEE(wait_screen(" 3 pending", 8000));
    /* the health view: the account down, its circuit open, three writes waiting */
    show_health();
    SEE(wait_queue(3, 8000));
    assert_true(row_with(" hostaway ", line, sizeof(line)));
    assert_non_null(strstr(line, "✖ down"));
    assert_non_null(strstr(line, " open "));
    SEE(wait_screen("sync_down", 3000));
    assert_int_equal(writes_total(), 0);
    /* the PMS answers again. The first pull finds "Heating not working" changed on both
     * sides: a conflict to review, and by the default rule (pms_wins) the PMS's value
     * stays and porter's queued change is retired */
    sim_post("/_sim/faults", "{\"error_rate\":0}");
    char conflict[48]; /* (the ownership table below names the field too) */
    snprintf(conflict, sizeof(conflict), "#%d work_order.status", h);
    SEE(wait_screen(conflict, 12000));
    assert_true(row_with(conflict, line, sizeof(line)));
    assert_non_null(strstr(line, "porter 'in_progress'"));
    /* the PMS's value is whole at 80 columns (the title comes last and is what is cut) */
    const char *pms = strstr(line, "PMS '");
    assert_non_null(pms);
    assert_non_null(strchr(pms + 5, '\''));
    assert_non_null(strstr(line, "(was '"));
    /* the next probe closes the circuit and the queue drains: depth 0, no longer DOWN */
    SEE(wait_queue(0, 20000));
    for (int i = 0; i < 40 && (status_bar(bar, sizeof(bar)), strstr(bar, "DOWN")); i++)
        msleep(50);
    assert_null(strstr(bar, "DOWN"));
    assert_non_null(strstr(bar, "● ha ok"));
    assert_non_null(strstr(bar, " 0 pending"));
    /* each write at the PMS exactly once; porter's losing value never */
    assert_int_equal(writes_to("PUT", drain, "\"status\":\"confirmed\""), 1);
    assert_int_equal(writes_to("PUT", clean, "\"status\":\"confirmed\""), 1);
    assert_int_equal(writes_to("PUT", heating, "inProgress"), 0);
    assert_int_equal(writes_total(), 2);
    task("Unblock shower drain", status, sizeof(status));
    assert_string_equal(status, "confirmed");
    task("Turnover clean", status, sizeof(status));
    assert_string_equal(status, "confirmed");
    task("Heating not working", status, sizeof(status));
    assert_string_equal(status, "completed");
    /* one key on the conflict: keep porter's value, which is then sent, once */
    press("g");
    SEE(select_with("j", conflict, 6));
    keys("'<'");
    SEE(wait_screen("keep-porter: done", 3000));
    assert_true(row_after("CONFLICTS TO REVIEW", line, sizeof(line)));
    assert_non_null(strstr(line, "none"));
    assert_false(on_screen("porter 'in_progress'"));
    assert_int_equal(wait_writes("PUT", heating, "\"status\":\"inProgress\"", 5000), 1);
    int64_t sent = mono_now();
    task("Heating not working", status, sizeof(status));
    assert_string_equal(status, "inProgress");
    /* the board: the card in progress, the other one synced */
    show_board();
    focus_column("in_progress");
    for (int i = 0; i < 60 && find_card(h, NULL, 0) != 3; i++)
        msleep(50);
    SEE(find_card(h, NULL, 0) == 3);
    assert_int_equal(find_card(c, NULL, 0), 2); /* scheduled, shown beside it */
    settle(sent, 1500);
    assert_int_equal(writes_to("PUT", heating, "inProgress"), 1);
    assert_int_equal(writes_to("PUT", drain, "confirmed"), 1);
    assert_int_equal(writes_to("PUT", clean, "confirmed"), 1);
    assert_int_equal(writes_total(), 3);
    quit();
}

/* ---- 5. schema drift ---- */

static void test_schema_drift_alert_names_the_field(void **state)
{
    (void)state;
    char line[512];
    const char *text = "dr41 is the sauna free tonight";
    show_health();
    assert_true(row_after("ALERTS", line, sizeof(line)));
    assert_non_null(strstr(line, "none"));
    /* Hostaway renames isIncoming in every answer and webhook; a guest writes */
    sim_post("/_sim/faults", "{\"drift_from\":\"isIncoming\",\"drift_to\":\"incoming\"}");
    char inject[128];
    snprintf(inject, sizeof(inject), "{\"kind\":\"message\",\"body\":\"%s\"}", text);
    sim_post("/_sim/inject", inject);
    SEE(wait_screen("schema_drift", 10000));
    assert_true(row_with("schema_drift", line, sizeof(line)));
    assert_non_null(strstr(line, "hostaway/message.isIncoming"));
    SEE(wait_screen("3 Health (!1)", 3000)); /* the tab counts the open alert */
    /* the message is at the PMS, but porter stored nothing half-read, and wrote nothing */
    cJSON *m = sim_find("messages", "body", text);
    assert_non_null(m);
    cJSON_Delete(m);
    keys("1");
    SEE(wait_screen("[1 Inbox", 3000));
    assert_false(on_screen("dr41"));
    assert_int_equal(writes_total(), 0);
    /* the drift ends: the next pull (every 5 s) brings the message in */
    sim_post("/_sim/faults", "{\"drift_from\":\"\"}");
    SEE(wait_screen("dr41 is the sauna", 12000));
    assert_int_equal(writes_total(), 0);
    quit();
}

/* TEST_FILTER=pattern runs the matching scenarios only. */
int main(void)
{
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_move_card_writes_status_once, up, down),
        cmocka_unit_test_setup_teardown(test_dispatch_vendor_once, up, down),
        cmocka_unit_test_setup_teardown(test_work_order_from_message, up, down),
        cmocka_unit_test_setup_teardown(test_outage_drains_once_and_conflict_settled, up, down),
        cmocka_unit_test_setup_teardown(test_schema_drift_alert_names_the_field, up, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
