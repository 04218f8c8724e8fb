/* app.c - the UI main loop.
 *
 * One loop turn: paint what is dirty (wnoutrefresh + one doupdate), drain keys with getch at
 * timeout 0, then poll() stdin with a timer. Key handlers only set dirty bits. Nothing is
 * written to the terminal when nothing changed.
 *
 * This is the shell of the application: tab bar, the inbox thread list read from the store,
 * a status bar and q to quit. Views, keymap and the rest grow here.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include "app.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

enum { DIRTY_ALL = 1 };

static volatile sig_atomic_t got_resize;

static void on_winch(int sig)
{
    (void)sig;
    got_resize = 1;
}

/* Replace every control byte of s with '?': remote text never reaches the terminal raw.
 * (The full sanitiser with UTF-8 width handling lives in ui/text.c once it exists.) */
static void put_safe(int y, int x, const char *s, int width)
{
    char line[512];
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s;
         *p && n < width && n < (int)sizeof(line) - 1; p++)
        line[n++] = (*p < 0x20 || *p == 0x7f || *p >= 0x80) ? '?' : (char)*p;
    line[n] = '\0';
    mvaddnstr(y, x, line, width);
}

static void paint(struct store *s)
{
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    erase();
    attron(A_REVERSE);
    mvhline(0, 0, ' ', cols);
    mvaddstr(0, 1, "[1 Inbox]  2 Board  3 Health");
    attroff(A_REVERSE);
    struct thread_page page;
    struct err e;
    if (store_threads_page(s, NULL, THREAD_SORT_NEWEST, NULL, (size_t)(rows > 3 ? rows - 3 : 1),
                           &page, &e) == 0) {
        if (page.n == 0)
            mvaddstr(2, 2, "No conversations yet.");
        for (size_t i = 0; i < page.n; i++) {
            char line[512];
            snprintf(line, sizeof(line), "%c %-20.20s %s", page.rows[i].needs_reply ? '*' : ' ',
                     page.rows[i].contact, page.rows[i].preview);
            put_safe(1 + (int)i, 0, line, cols);
        }
        thread_page_free(&page);
    } else {
        put_safe(2, 2, e.msg, cols - 4);
    }
    attron(A_REVERSE);
    mvhline(rows - 1, 0, ' ', cols);
    mvaddstr(rows - 1, 1, "q:quit");
    attroff(A_REVERSE);
    wnoutrefresh(stdscr);
    doupdate();
}

int app_run(const struct config *c, struct store *s, int wake_fd, struct err *e)
{
    (void)c;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return err_set(e, ENOTTY, FINAL, "the interface needs a terminal (stdin and stdout)");
    setlocale(LC_ALL, "");
    log_quiet_stderr(1);
    if (!initscr())
        return err_set(e, EIO, FINAL, "cannot initialise the terminal (is TERM set?)");
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    timeout(0);
    signal(SIGWINCH, on_winch);
    int dirty = DIRTY_ALL;
    int quit = 0;
    while (!quit) {
        if (got_resize) {
            got_resize = 0;
            endwin();
            refresh();
            dirty = DIRTY_ALL;
        }
        if (dirty) {
            paint(s);
            dirty = 0;
        }
        int ch;
        while ((ch = getch()) != ERR) {
            if (ch == 'q')
                quit = 1;
            else if (ch == KEY_RESIZE || ch == 12 /* ^L */) {
                clearok(curscr, TRUE);
                dirty = DIRTY_ALL;
            }
        }
        if (quit || dirty)
            continue;
        struct pollfd pfd[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = wake_fd, .events = POLLIN}};
        if (poll(pfd, wake_fd >= 0 ? 2 : 1, 1000) > 0 && wake_fd >= 0 &&
            (pfd[1].revents & POLLIN)) {
            char buf[64];
            while (read(wake_fd, buf, sizeof(buf)) > 0)
                ;
            dirty = DIRTY_ALL; /* a worker committed: re-read what is visible */
        }
    }
    endwin();
    log_quiet_stderr(0);
    return 0;
}
