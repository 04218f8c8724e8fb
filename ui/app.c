/* app.c - the UI main loop, the shell around the views: tab bar, status bar, message line,
 * the command line, the help screen and terminal handling.
 *
 * One loop turn: paint if dirty (everything goes to stdscr, then one wnoutrefresh and one
 * doupdate: curses sends only the cells that changed), drain the keys with get_wch at
 * timeout 0, then poll() stdin and the wake fd. The poll times out once a second to notice
 * commits of other processes (PRAGMA data_version) and the minute turning (ages, SLA
 * timers); when neither changed, nothing is drawn and nothing is written to the terminal.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include "app.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"
#include "log.h"
#include "text.h"
#include "ui.h"

/* ---- terminal safety: a fatal signal restores the terminal first ---- */

static volatile sig_atomic_t curses_on;
static volatile sig_atomic_t got_quit;

static void on_fatal(int sig)
{
    if (curses_on) {
        curses_on = 0;
        endwin(); /* as htop does: the terminal back before any crash report is printed */
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_quit(int sig)
{
    (void)sig;
    got_quit = 1;
}

static void signals_install(void)
{
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_fatal;
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        sigaction(fatal[i], &sa, NULL);
    sa.sa_handler = on_quit;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void signals_restore(void)
{
    static const int all[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        signal(all[i], SIG_DFL);
}

/* ---- shared helpers ---- */

void app_say(struct app *a, int bad, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
    va_end(ap);
    a->msg_bad = bad;
    a->dirty = 1;
}

void app_prompt(struct app *a, const char *prompt, const char *init, int purpose, struct history *h)
{
    edit_start(&a->ed, prompt, init, purpose, h);
    a->msg[0] = '\0';
    a->dirty = 1;
}

int app_shell_out(struct app *a, const char *const *argv)
{
    def_prog_mode();
    endwin();
    curses_on = 0;
    pid_t pid = fork();
    if (pid == 0) {
        signals_restore();
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        fprintf(stderr, "porter: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = -1;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    reset_prog_mode();
    curses_on = 1;
    clearok(curscr, TRUE);
    a->dirty = 1;
    return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* ---- reading the store ---- */

/* The counts of the tab bar and the list header; deferred at start-up until the first
 * frame is on screen (on a large inbox they cost more than the visible rows). */
static void count_waiting(struct app *a)
{
    struct err e;
    struct thread_filter f = {.needs_reply = 1, .now = now_ms()};
    if (store_threads_count(a->s, &f, &a->open_threads, &e) != 0)
        a->open_threads = -1;
}

static void recount_all(struct app *a)
{
    count_waiting(a);
    inbox_recount(a->inbox);
    a->dirty = 1;
}

static void reload(struct app *a)
{
    struct err e;
    health_free(&a->health);
    if (store_health(a->s, &a->health, &e) != 0)
        app_say(a, 1, "cannot read sync state: %s", e.msg);
    a->pending = a->open_alerts = 0;
    for (size_t i = 0; i < a->health.n; i++) {
        a->pending += a->health.rows[i].outbox_depth;
        a->open_alerts += a->health.rows[i].open_alerts;
    }
    inbox_reload(a->inbox);
    board_reload(a->board);
    health_reload(a->healthv);
    if (!a->counts_due) /* (the inbox recounted its list in inbox_reload) */
        count_waiting(a);
    a->dirty = 1;
}

/* ---- painting ---- */

const char *account_state(const struct health_row *h)
{
    const char *st = h->state && *h->state ? h->state : "unknown";
    return strcmp(st, "unknown") == 0 && h->last_pull_at == 0 ? "importing" : st;
}

int state_is_broken(const char *state)
{
    return state && (strcmp(state, "down") == 0 || strcmp(state, "auth_failed") == 0);
}

static void paint_tabs(struct app *a)
{
    attrset(draw_attr(R_BAR));
    draw_blank(stdscr, 0, 0, a->cols);
    char tab[3][48];
    if (a->open_threads >= 0)
        snprintf(tab[0], sizeof(tab[0]), " 1 Inbox (%lld) ", (long long)a->open_threads);
    else
        snprintf(tab[0], sizeof(tab[0]), " 1 Inbox ");
    snprintf(tab[1], sizeof(tab[1]), " 2 Board (%lld) ", (long long)a->open_wos);
    if (a->open_alerts)
        snprintf(tab[2], sizeof(tab[2]), " 3 Health (!%lld) ", (long long)a->open_alerts);
    else
        snprintf(tab[2], sizeof(tab[2]), " 3 Health ");
    static const enum view order[3] = {VIEW_INBOX, VIEW_BOARD, VIEW_HEALTH};
    int x = 0;
    for (int i = 0; i < 3 && x < a->cols; i++) {
        int cur = a->view == order[i];
        attrset(draw_attr(cur ? R_BAR_HI : R_BAR));
        if (cur) /* the current tab also in brackets: readable without colour */
            tab[i][0] = '[', tab[i][strlen(tab[i]) - 1] = ']';
        x += draw_text(stdscr, 0, x, tab[i], a->cols - x, 0);
        attrset(draw_attr(R_BAR));
        if (x < a->cols)
            x += draw_text(stdscr, 0, x, " ", a->cols - x, 0);
    }
    const char *hint = "?:help  ::command  q:quit";
    int hw = text_width(hint);
    if (x + hw + 2 <= a->cols)
        draw_text(stdscr, 0, a->cols - hw - 1, hint, hw, 0);
    attrset(A_NORMAL);
}

/* Bottom row: each account's sync state (a glyph and a word, red when broken) and the
 * writes still queued. */
static void paint_status(struct app *a)
{
    int y = a->rows - 1, x = 0;
    attrset(draw_attr(R_BAR));
    draw_blank(stdscr, y, 0, a->cols);
    if (!a->health.n)
        x += draw_text(stdscr, y, x, " no accounts: see porter.conf(5) ", a->cols - x, 0);
    for (size_t i = 0; i < a->health.n && x < a->cols - 4; i++) {
        const struct health_row *h = &a->health.rows[i];
        const char *st = account_state(h);
        int broken = state_is_broken(st), open = h->circuit && strcmp(h->circuit, "closed") != 0;
        const char *glyph = broken ? "✖" : (strcmp(st, "ok") == 0 && !open) ? "●" : "▲";
        char item[128];
        snprintf(item, sizeof(item), " %s %s %s%s ", glyph, h->name, broken ? "DOWN:" : "",
                 strcmp(st, "ok") == 0 && open ? "circuit open" : st);
        attrset(broken ? (draw_attr(R_BAD) | A_REVERSE) : draw_attr(R_BAR));
        x += draw_text(stdscr, y, x, item, a->cols - x, 0);
        attrset(draw_attr(R_BAR));
        if (x < a->cols)
            x += draw_text(stdscr, y, x, "│", 1, 0);
    }
    char tail[64];
    snprintf(tail, sizeof(tail), " %lld pending ", (long long)a->pending);
    int tw = text_width(tail);
    if (x + tw <= a->cols)
        draw_text(stdscr, y, a->cols - tw, tail, tw, 0);
    attrset(A_NORMAL);
}

static void paint_message_line(struct app *a)
{
    int y = a->rows - 2;
    attrset(A_NORMAL);
    draw_blank(stdscr, y, 0, a->cols);
    if (a->ed.active) {
        int cx = edit_draw(stdscr, y, a->cols, &a->ed);
        move(y, cx);
        return;
    }
    if (a->msg[0]) {
        attrset(a->msg_bad ? draw_attr(R_BAD) : A_NORMAL);
        char line[600];
        snprintf(line, sizeof(line), "%s%s", a->msg_bad ? "! " : "", a->msg);
        draw_text(stdscr, y, 0, line, a->cols, 0);
        attrset(A_NORMAL);
    }
}

/* Case-insensitive substring (strcasestr is a GNU extension). */
static int has_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return n == 0;
}

struct help_line {
    const struct command *c;
    char keys[64];
};

static int help_lines(struct app *a, struct help_line *out, int max)
{
    int n = 0;
    for (const struct command *c = commands; c->name && n < max; c++) {
        if (!(c->views & a->view))
            continue;
        keymap_keys_of(a->km, a->view, c->name, out[n].keys, sizeof(out[n].keys));
        if (a->help_filter[0] && !has_ci(c->name, a->help_filter) &&
            !has_ci(c->help, a->help_filter) && !has_ci(out[n].keys, a->help_filter))
            continue;
        out[n++].c = c;
    }
    return n;
}

static void paint_help(struct app *a, int y0, int h)
{
    static const char *const names[] = {"", "inbox", "board", "", "health"};
    struct help_line lines[128];
    int n = help_lines(a, lines, 128);
    attrset(A_NORMAL);
    for (int y = y0; y < y0 + h; y++)
        draw_blank(stdscr, y, 0, a->cols);
    char title[200];
    snprintf(title, sizeof(title), "Keys of the %s view%s%s%s   (type / to filter, Esc closes)",
             names[a->view], a->help_filter[0] ? " matching \"" : "", a->help_filter,
             a->help_filter[0] ? "\"" : "");
    attrset(A_BOLD);
    draw_text(stdscr, y0, 1, title, a->cols - 2, 0);
    attrset(A_NORMAL);
    if (a->help_top > n - 1)
        a->help_top = n > 0 ? n - 1 : 0;
    for (int i = a->help_top, y = y0 + 2; i < n && y < y0 + h; i++, y++) {
        draw_text(stdscr, y, 1, lines[i].keys[0] ? lines[i].keys : "(unbound)", 18, 1);
        draw_text(stdscr, y, 20, lines[i].c->name, 20, 1);
        draw_text(stdscr, y, 41, lines[i].c->help, a->cols - 42, 0);
    }
    if (n == 0)
        draw_text(stdscr, y0 + 2, 1, "no key matches", a->cols - 2, 0);
}

static void paint(struct app *a)
{
    getmaxyx(stdscr, a->rows, a->cols);
    curs_set(a->ed.active ? 1 : 0);
    if (a->rows < MIN_ROWS || a->cols < MIN_COLS) {
        erase();
        char m[96];
        snprintf(m, sizeof(m), "terminal too small (%dx%d, needs %dx%d)", a->cols, a->rows,
                 MIN_COLS, MIN_ROWS);
        draw_text(stdscr, a->rows / 2, 0, m, a->cols, 0);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    paint_tabs(a);
    int y = 1, h = a->rows - 3;
    if (a->help)
        paint_help(a, y, h);
    else if (a->view == VIEW_INBOX)
        inbox_paint(a->inbox, y, h, a->cols);
    else if (a->view == VIEW_BOARD)
        board_paint(a->board, y, h, a->cols);
    else
        health_paint(a->healthv, y, h, a->cols);
    paint_status(a);
    if (a->ed.active && a->msg[0]) { /* completions, above the line being edited */
        attrset(A_REVERSE);
        draw_text(stdscr, a->rows - 3, 0, a->msg, a->cols, 1);
        attrset(A_NORMAL);
    }
    paint_message_line(a); /* last: it places the cursor when editing */
    wnoutrefresh(stdscr);
    doupdate();
}

/* ---- commands ---- */

static void run_command(struct app *a, const char *name, const char *arg);

static void command_line(struct app *a, const char *line)
{
    while (*line == ' ')
        line++;
    if (!*line)
        return;
    history_add(&a->cmd_hist, line);
    char name[64];
    size_t n = strcspn(line, " ");
    snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), line);
    const char *arg = line + n;
    while (*arg == ' ')
        arg++;
    const struct command *c = command_find(name);
    if (!c) {
        app_say(a, 1, "no command '%s' (Tab completes, ? lists the keys)", name);
        return;
    }
    if (!(c->views & a->view)) {
        app_say(a, 1, "'%s' is not a command of this view", name);
        return;
    }
    run_command(a, name, *arg ? arg : NULL);
}

static void complete_command(struct app *a)
{
    const char *found[64];
    size_t n = command_complete(a->ed.buf, a->view, found, 64);
    if (n == 0) {
        app_say(a, 1, "no command starts with '%s'", a->ed.buf);
        return;
    }
    if (n == 1) {
        char buf[96];
        snprintf(buf, sizeof(buf), "%s ", found[0]);
        edit_set(&a->ed, buf);
        return;
    }
    /* the common prefix, and the candidates on the message line */
    size_t common = strlen(found[0]);
    for (size_t i = 1; i < n && i < 64; i++)
        for (size_t k = 0; k < common; k++)
            if (found[i][k] != found[0][k]) {
                common = k;
                break;
            }
    char pre[64];
    snprintf(pre, sizeof(pre), "%.*s", (int)common, found[0]);
    if (strlen(pre) > a->ed.len)
        edit_set(&a->ed, pre);
    char list[400] = "";
    for (size_t i = 0; i < n && i < 64; i++) {
        strncat(list, found[i], sizeof(list) - strlen(list) - 2);
        strncat(list, " ", sizeof(list) - strlen(list) - 1);
    }
    snprintf(a->msg, sizeof(a->msg), "%s", list); /* shown once the line closes */
    a->dirty = 1;
}

static void set_view(struct app *a, enum view v)
{
    if (a->view == VIEW_INBOX && v != VIEW_INBOX)
        inbox_leave(a->inbox);
    a->view = v;
    a->help = 0;
    a->dirty = 1;
}

void app_view(struct app *a, enum view v)
{
    set_view(a, v);
}

static void run_command(struct app *a, const char *name, const char *arg)
{
    if (strcmp(name, "quit") == 0) {
        if (a->view == VIEW_INBOX && inbox_conversation_open(a->inbox))
            inbox_command(a->inbox, "back", NULL);
        else if (a->view == VIEW_BOARD && board_picking(a->board))
            board_command(a->board, "back", NULL);
        else
            a->quit = 1;
    } else if (strcmp(name, "view-inbox") == 0) {
        set_view(a, VIEW_INBOX);
    } else if (strcmp(name, "view-board") == 0) {
        set_view(a, VIEW_BOARD);
    } else if (strcmp(name, "view-health") == 0) {
        set_view(a, VIEW_HEALTH);
    } else if (strcmp(name, "view-next") == 0) {
        set_view(a, a->view == VIEW_INBOX   ? VIEW_BOARD
                    : a->view == VIEW_BOARD ? VIEW_HEALTH
                                            : VIEW_INBOX);
    } else if (strcmp(name, "help") == 0) {
        a->help = !a->help;
        a->help_filter[0] = '\0';
        a->help_top = 0;
        a->dirty = 1;
    } else if (strcmp(name, "command") == 0) {
        app_prompt(a, ":", arg, P_COMMAND, &a->cmd_hist);
    } else if (strcmp(name, "redraw") == 0) {
        clearok(curscr, TRUE);
        a->dirty = 1;
    } else if (a->view == VIEW_INBOX) {
        inbox_command(a->inbox, name, arg);
    } else if (a->view == VIEW_BOARD) {
        board_command(a->board, name, arg);
    } else {
        health_command(a->healthv, name, arg);
    }
    a->dirty = 1;
}

/* ---- keys ---- */

static void editor_key(struct app *a, int code, wint_t ch)
{
    struct edit *ed = &a->ed;
    enum edit_result r = edit_key(ed, code, ch);
    int purpose = ed->purpose;
    a->dirty = 1;
    switch (r) {
    case EDIT_ACCEPT: {
        char line[EDIT_MAX];
        snprintf(line, sizeof(line), "%s", ed->buf);
        ed->active = 0;
        if (purpose == P_COMMAND)
            command_line(a, line);
        else if (purpose == P_HELP_FILTER)
            snprintf(a->help_filter, sizeof(a->help_filter), "%.127s", line);
        else if (purpose >= P_NEW_WO && purpose <= P_WO_ASSIGN)
            board_accept(a->board, purpose, line);
        else if (purpose == P_OP_EDIT)
            health_accept(a->healthv, line);
        else
            inbox_accept(a->inbox, purpose, line);
        break;
    }
    case EDIT_CANCEL:
        ed->active = 0;
        if (purpose == P_HELP_FILTER)
            a->help_filter[0] = '\0';
        else if (purpose != P_COMMAND)
            inbox_cancel(a->inbox, purpose);
        break;
    case EDIT_COMPLETE:
        if (purpose == P_COMMAND)
            complete_command(a);
        else
            inbox_complete(a->inbox, purpose, ed);
        break;
    case EDIT_CHANGED:
        if (purpose == P_HELP_FILTER) {
            snprintf(a->help_filter, sizeof(a->help_filter), "%.127s", ed->buf);
            a->help_top = 0;
        } else if (purpose != P_COMMAND) {
            inbox_typing(a->inbox, purpose, ed->buf);
        }
        break;
    case EDIT_CONTINUE:
        break;
    }
}

static void help_key(struct app *a, int code, wint_t ch)
{
    a->dirty = 1;
    if (!code && (ch == 27 || ch == 'q' || ch == '?')) {
        a->help = 0;
        a->help_filter[0] = '\0';
    } else if (!code && ch == '/') {
        app_prompt(a, "help filter: ", a->help_filter, P_HELP_FILTER, NULL);
    } else if ((code && ch == KEY_DOWN) || (!code && ch == 'j')) {
        a->help_top++;
    } else if (((code && ch == KEY_UP) || (!code && ch == 'k')) && a->help_top > 0) {
        a->help_top--;
    }
}

static void mouse_key(struct app *a)
{
    MEVENT m;
    if (getmouse(&m) != OK)
        return;
    if (m.bstate & BUTTON4_PRESSED)
        run_command(a, "up", NULL);
#ifdef BUTTON5_PRESSED
    else if (m.bstate & BUTTON5_PRESSED)
        run_command(a, "down", NULL);
#endif
    else if (m.y == 0)
        set_view(a, m.x < 14 ? VIEW_INBOX : m.x < 28 ? VIEW_BOARD : VIEW_HEALTH);
    else if (a->view == VIEW_INBOX && m.y < a->rows - 2)
        inbox_click(a->inbox, m.y, m.x);
}

static void key(struct app *a, int code, wint_t ch)
{
    if (code && ch == KEY_RESIZE) {
        a->dirty = 1;
        return;
    }
    if (a->ed.active) {
        if (a->msg[0]) { /* the completions shown go with the next key */
            a->msg[0] = '\0';
            a->dirty = 1;
        }
        editor_key(a, code, ch);
        return;
    }
    if (a->msg[0]) { /* a key clears the last message */
        a->msg[0] = '\0';
        a->dirty = 1;
    }
    if (code && ch == KEY_MOUSE) {
        mouse_key(a);
        return;
    }
    if (a->help) {
        help_key(a, code, ch);
        return;
    }
    int k = code ? (int)ch : (ch == '\r' ? '\n' : (int)ch);
    if (code && ch == KEY_ENTER)
        k = '\n';
    if (a->rows < MIN_ROWS || a->cols < MIN_COLS) {
        if (k == 'q')
            a->quit = 1;
        return;
    }
    const char *cmd = keymap_lookup(a->km, a->view, k);
    if (cmd)
        run_command(a, cmd, NULL);
    else if (!code && ch > 127) /* a character no key is bound to: say nothing */
        return;
}

/* ---- the loop ---- */

static int ui_option(const struct config *c, const char *key, int def)
{
    const char *v = config_get(c, "ui", key);
    if (!v)
        return def;
    return strcmp(v, "on") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
           strcmp(v, "1") == 0 || strcmp(v, "auto") == 0;
}

int app_run(const struct config *c, struct store *s, int wake_fd, struct err *e)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return err_set(e, ENOTTY, FINAL, "the interface needs a terminal (stdin and stdout)");
    setlocale(LC_ALL, "");
    struct app a;
    memset(&a, 0, sizeof(a));
    a.c = c;
    a.s = s;
    a.view = VIEW_INBOX;
    a.me = config_get(c, "ui", "me");
    if (!a.me || !*a.me)
        a.me = getenv("USER") ? getenv("USER") : "me";
    a.km = keymap_new();
    char **warn = NULL;
    size_t nwarn = 0;
    keymap_load(a.km, c, &warn, &nwarn);
    a.color = ui_option(c, "color", 1) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
    a.mouse = ui_option(c, "mouse", 0);

    log_quiet_stderr(1);
    signals_install();
    if (!initscr()) {
        signals_restore();
        log_quiet_stderr(0);
        keymap_free(&a.km);
        return err_set(e, EIO, FINAL, "cannot initialise the terminal (is TERM set?)");
    }
    curses_on = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    timeout(0);
    draw_init(a.color);
    if (a.mouse)
        mousemask(BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                      | BUTTON5_PRESSED
#endif
                  ,
                  NULL);
    a.inbox = inbox_new(&a);
    a.board = board_new(&a);
    a.healthv = health_new(&a);
    getmaxyx(stdscr, a.rows, a.cols);
    a.counts_due = 1; /* the rows first; the counts right after the first frame */
    a.open_threads = -1;
    reload(&a);
    if (nwarn)
        app_say(&a, 1, "%s%s", warn[0], nwarn > 1 ? " (and more: see the log)" : "");
    else if (!a.health.n)
        app_say(&a, 0, "Welcome. 1 Inbox, 2 Board, 3 Health; ? lists the keys, : runs a command.");
    else
        app_say(&a, 0, "1 Inbox  2 Board  3 Health  ? keys  : command");
    for (size_t i = 0; i < nwarn; i++) {
        log_warn("ui", "%s", warn[i]);
        free(warn[i]);
    }
    free(warn);

    int64_t version = store_data_version(s);
    /* The bell of a rule (action = bell) rings once when a new one is committed; those
     * rung before this start are old news. */
    int64_t bell = 0;
    struct err be;
    if (store_rule_bell_max(s, &bell, &be) != 0)
        log_warn("ui", "rule bells: %s", be.msg);
    time_t minute = time(NULL) / 60;
    a.dirty = 1;
    while (!a.quit && !got_quit) {
        if (a.dirty) {
            a.dirty = 0;
            paint(&a);
        }
        if (a.counts_due) {
            a.counts_due = 0;
            recount_all(&a);
            continue;
        }
        wint_t ch;
        int r;
        while (!a.quit && (r = get_wch(&ch)) != ERR)
            key(&a, r == KEY_CODE_YES, ch);
        if (a.quit || a.dirty)
            continue;
        struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = wake_fd, .events = POLLIN}};
        int n = poll(pfd, wake_fd >= 0 ? 2 : 1, 1000);
        int changed = 0;
        if (n > 0 && wake_fd >= 0 && (pfd[1].revents & POLLIN)) {
            char buf[64];
            while (read(wake_fd, buf, sizeof(buf)) > 0)
                ;
            changed = 1; /* a worker of this process committed */
        }
        int64_t v = store_data_version(s);
        if (v != version) { /* another process (porter sync, a second porter) committed */
            version = v;
            changed = 1;
        }
        if (changed) {
            reload(&a);
            int64_t b = 0;
            if (store_rule_bell_max(s, &b, &be) == 0 && b > bell) {
                bell = b;
                beep(); /* once, however many rang since */
            }
        }
        if (time(NULL) / 60 != minute) { /* ages and SLA timers move on */
            minute = time(NULL) / 60;
            a.dirty = 1;
        }
    }
    inbox_leave(a.inbox);
    curses_on = 0;
    endwin();
    signals_restore();
    log_quiet_stderr(0);
    inbox_free(&a.inbox);
    board_free(&a.board);
    health_free_view(&a.healthv);
    health_free(&a.health);
    history_free(&a.cmd_hist);
    history_free(&a.filter_hist);
    history_free(&a.reply_hist);
    keymap_free(&a.km);
    return 0;
}
