/* draw.h - putting text on a curses window: every string from outside goes through
 * src/text.c first; columns are display columns (CJK and emoji are two wide). */
#ifndef PORTER_DRAW_H
#define PORTER_DRAW_H

#include <curses.h>

/* Colour roles. With NO_COLOR set, or a terminal without colours, every role is drawn
 * with attributes only (bold, reverse, underline), so no state is told by colour alone:
 * the glyphs and words on screen carry it too. */
enum role {
    R_NORMAL,
    R_BAR,      /* tab bar and status bar */
    R_BAR_HI,   /* the current tab */
    R_SELECTED, /* the selected row */
    R_DIM,      /* secondary text: ages, property */
    R_NEEDS,    /* needs a reply */
    R_WARN,     /* SLA warning, degraded */
    R_BAD,      /* SLA breach, sync broken, failed send */
    R_GOOD,     /* synced / ok */
    R_NOTE,     /* internal notes */
    R_OUT,      /* outbound messages */
    R_MARK,     /* marked rows */
    R_ROLES
};

/* Set up colour pairs (call after initscr). color: 1 = use colours when the terminal has
 * them, 0 = attributes only. */
void draw_init(int color);
attr_t draw_attr(enum role r);

/* Draw `s` (already clean UTF-8) at y,x in at most `cols` columns, cut with an ellipsis when
 * it does not fit; pad with spaces to exactly `cols` when pad is set. Returns the columns
 * drawn. */
int draw_text(WINDOW *w, int y, int x, const char *s, int cols, int pad);

/* The same for a string from a PMS: sanitised (single line) first. */
int draw_remote(WINDOW *w, int y, int x, const char *s, int cols, int pad);

/* A horizontal run of `cols` spaces in the current attributes. */
void draw_blank(WINDOW *w, int y, int x, int cols);

/* Box-drawing rules as UTF-8 text (─, │), not the alternate character set: they read
 * the same in every terminal and in a screen capture. */
void draw_rule(WINDOW *w, int y, int x, int cols);
void draw_column_rule(WINDOW *w, int y, int x, int rows);

/* "5m", "3h", "2d", "Mar 4" for a past time (ms) relative to now (ms). */
void draw_age(char *out, size_t n, int64_t then, int64_t now);

#endif
