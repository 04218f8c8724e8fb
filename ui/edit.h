/* edit.h - the one-line editor of the command line, the filter query, inline replies and
 * prompts. UTF-8 throughout; keys as from get_wch. Emacs-style keys: C-a C-e C-b C-f,
 * C-w (word), C-u (to start), C-k (to end), Backspace, Delete, Left/Right, Home/End;
 * Up/Down walk the history; Tab asks the owner to complete. */
#ifndef PORTER_EDIT_H
#define PORTER_EDIT_H

#include <curses.h>
#include <stddef.h>
#include <wchar.h>

enum { EDIT_MAX = 4096 };

struct history {
    char **item; /* owned, oldest first */
    size_t n;
};

struct edit {
    int active;
    int purpose; /* the owner's: what Enter means */
    char prompt[96];
    char buf[EDIT_MAX];
    size_t len, cur;      /* bytes; cur is on a character boundary */
    struct history *hist; /* borrowed, may be NULL */
    size_t hpos;          /* == hist->n: the line being typed */
    char saved[EDIT_MAX]; /* the line being typed while walking the history */
};

enum edit_result { EDIT_CONTINUE, EDIT_ACCEPT, EDIT_CANCEL, EDIT_COMPLETE, EDIT_CHANGED };

void edit_start(struct edit *ed, const char *prompt, const char *init, int purpose,
                struct history *hist);
void edit_set(struct edit *ed, const char *text); /* replace the text, cursor at the end */
/* One key: `code` is 1 for a KEY_* code, 0 for a character. EDIT_CHANGED when the text
 * changed (an incremental filter re-runs). */
enum edit_result edit_key(struct edit *ed, int code, wint_t ch);
/* Draw prompt and text on row y of w, scrolled so that the cursor shows; returns the
 * cursor's column. */
int edit_draw(WINDOW *w, int y, int cols, const struct edit *ed);

void history_add(struct history *h, const char *line); /* skips empty and repeated lines */
void history_free(struct history *h);

#endif
