/* ui.h - what the views of the full-screen UI share (internal to ui/).
 *
 * Threads: only the UI thread touches curses. It reads SQLite on its own connection and
 * wakes on the notify fd (a worker of this process committed) or on PRAGMA data_version
 * (another process committed). Key handlers change state and set dirty bits; only
 * app_paint draws, once per loop turn, with one doupdate.
 */
#ifndef PORTER_UI_H
#define PORTER_UI_H

#include <stdint.h>

#include "config.h"
#include "edit.h"
#include "keymap.h"
#include "store.h"

enum { MIN_COLS = 60, MIN_ROWS = 16 };

/* What Enter in the line editor means. */
enum purpose {
    P_COMMAND = 1,
    P_FILTER,
    P_REPLY,
    P_NOTE,
    P_ASSIGN,
    P_SNOOZE,
    P_TAG,
    P_TEMPLATE,
    P_CONFIRM_SEND, /* y/n */
    P_HELP_FILTER,
    P_WO_TITLE,     /* a work order from the open thread */
    P_NEW_WO,       /* a work order from the board */
    P_PRIORITY,     /* the selected card's priority */
    P_BOARD_FILTER, /* the board's text filter */
    P_WO_SCHEDULE,  /* the selected card's schedule window */
    P_WO_NOTE,      /* a note in the selected card's history */
    P_WO_MOVE,      /* the selected card's new status */
    P_WO_ASSIGN,    /* the selected card's coordinator */
    P_OP_EDIT,      /* health view: a failed write's new value, or the y/n of an undo */
};

struct inbox;
struct board;
struct healthv;

struct app {
    const struct config *c;
    struct store *s;
    struct keymap *km;
    enum view view;
    int dirty;
    int quit;
    int rows, cols;
    int color;
    int mouse;
    const char *me; /* who this porter user is: [ui] me, else $USER */

    struct edit ed;
    struct history cmd_hist, filter_hist, reply_hist;

    char msg[512]; /* the message line */
    int msg_bad;

    int help; /* the help overlay is open */
    char help_filter[128];
    int help_top;

    struct health health; /* accounts' sync state, re-read on every reload */
    int64_t pending;      /* unfinished outbox ops */
    int64_t open_wos, open_threads, open_alerts;
    int counts_due; /* counts wait for the first frame */

    struct inbox *inbox;
    struct board *board;
    struct healthv *healthv;
};

/* The message line: info, or an error (shown with a "!" and the error role). */
void app_say(struct app *a, int bad, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A sync state that is broken (down, auth_failed): drawn red, with a cross, and a word. */
int state_is_broken(const char *state);
/* An account's state as shown: "importing" before its first pull completed. */
const char *account_state(const struct health_row *h);
/* Open the line editor at the bottom. */
void app_prompt(struct app *a, const char *prompt, const char *init, int purpose,
                struct history *h);
/* Run an external command with the terminal handed over (for $EDITOR); 0 on exit status 0. */
int app_shell_out(struct app *a, const char *const *argv);

/* ---- inbox (ui/inbox.c) ---- */
struct inbox *inbox_new(struct app *a);
void inbox_free(struct inbox **in);
void inbox_reload(struct inbox *in);  /* the store changed: re-read what is visible */
void inbox_recount(struct inbox *in); /* the total and the position of the list */
void inbox_paint(struct inbox *in, int y, int h, int w);
int inbox_command(struct inbox *in, const char *cmd, const char *arg); /* 1: handled */
void inbox_accept(struct inbox *in, int purpose, const char *text);
void inbox_cancel(struct inbox *in, int purpose);
void inbox_typing(struct inbox *in, int purpose, const char *text); /* incremental filter */
void inbox_complete(struct inbox *in, int purpose, struct edit *ed);
int inbox_conversation_open(const struct inbox *in);
void inbox_leave(struct inbox *in); /* this process stops showing a thread (presence) */
void inbox_click(struct inbox *in, int y, int x);
void inbox_show_thread(struct inbox *in, int64_t thread); /* open it (the board's jump) */

/* ---- board (ui/board.c) ---- */
struct board *board_new(struct app *a);
void board_free(struct board **b);
void board_reload(struct board *b);
void board_paint(struct board *b, int y, int h, int w);
int board_command(struct board *b, const char *cmd, const char *arg);
int board_show_thread_wo(struct board *b, int64_t thread);
int board_picking(const struct board *b);
/* the vendor picker is open */ /* select its work order; 0 none */
void board_accept(struct board *b, int purpose, const char *text);
/* Switch views (app.c). */
void app_view(struct app *a, enum view v);

/* ---- health (ui/health.c) ---- */
struct healthv *health_new(struct app *a);
void health_free_view(struct healthv **h);
void health_reload(struct healthv *h);
void health_paint(struct healthv *h, int y, int hgt, int w);
int health_command(struct healthv *h, const char *cmd, const char *arg);
void health_accept(struct healthv *h, const char *text);

#endif
