/* draw.c - see draw.h. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "draw.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

static attr_t attrs[R_ROLES];

void draw_init(int color)
{
    /* attributes that carry each role without colour */
    static const attr_t mono[R_ROLES] = {
        [R_NORMAL] = A_NORMAL, [R_BAR] = A_REVERSE,
        [R_BAR_HI] = A_BOLD,   [R_SELECTED] = A_REVERSE,
        [R_DIM] = A_NORMAL,    [R_NEEDS] = A_BOLD,
        [R_WARN] = A_BOLD,     [R_BAD] = A_BOLD | A_UNDERLINE,
        [R_GOOD] = A_NORMAL,   [R_NOTE] = A_UNDERLINE,
        [R_OUT] = A_NORMAL,    [R_MARK] = A_BOLD,
    };
    memcpy(attrs, mono, sizeof(attrs));
    if (!color || !has_colors() || start_color() == ERR)
        return;
    use_default_colors();
    int many = COLORS >= 256;
    static const struct {
        enum role r;
        short fg, bg, fg256, bg256;
        attr_t extra;
    } pal[] = {
        {R_BAR, COLOR_BLACK, COLOR_CYAN, 255, 24, 0},
        {R_BAR_HI, COLOR_BLACK, COLOR_WHITE, 16, 255, A_BOLD},
        {R_SELECTED, COLOR_WHITE, COLOR_BLUE, 255, 25, 0},
        {R_DIM, COLOR_WHITE, -1, 245, -1, 0},
        {R_NEEDS, COLOR_YELLOW, -1, 220, -1, A_BOLD},
        {R_WARN, COLOR_YELLOW, -1, 214, -1, A_BOLD},
        {R_BAD, COLOR_RED, -1, 196, -1, A_BOLD},
        {R_GOOD, COLOR_GREEN, -1, 71, -1, 0},
        {R_NOTE, COLOR_MAGENTA, -1, 176, -1, 0},
        {R_OUT, COLOR_CYAN, -1, 117, -1, 0},
        {R_MARK, COLOR_GREEN, -1, 156, -1, A_BOLD},
    };
    for (size_t i = 0; i < sizeof(pal) / sizeof(pal[0]); i++) {
        short pair = (short)(i + 1);
        init_pair(pair, many ? pal[i].fg256 : pal[i].fg, many ? pal[i].bg256 : pal[i].bg);
        attrs[pal[i].r] = (attr_t)COLOR_PAIR(pair) | pal[i].extra;
    }
}

attr_t draw_attr(enum role r)
{
    return attrs[r];
}

void draw_blank(WINDOW *w, int y, int x, int cols)
{
    if (cols > 0)
        mvwhline(w, y, x, ' ', cols);
}

int draw_text(WINDOW *w, int y, int x, const char *s, int cols, int pad)
{
    if (cols <= 0)
        return 0;
    char stack[1024];
    size_t need = (size_t)cols * 4 + 8;
    char *out = need <= sizeof(stack) ? stack : malloc(need);
    if (!out)
        return 0;
    int used = text_fit(s ? s : "", cols, 1, out, need);
    mvwaddstr(w, y, x, out);
    if (pad && used < cols)
        draw_blank(w, y, x + used, cols - used);
    if (out != stack)
        free(out);
    return pad ? cols : used;
}

int draw_remote(WINDOW *w, int y, int x, const char *s, int cols, int pad)
{
    /* only what can be shown needs cleaning: a long body is cut first */
    size_t len = s ? strlen(s) : 0;
    size_t cap = (size_t)(cols > 0 ? cols : 0) * 8 + 64;
    char *clean = text_clean(s ? s : "", len < cap ? len : cap, 0);
    int r = draw_text(w, y, x, clean, cols, pad);
    free(clean);
    return r;
}

void draw_rule(WINDOW *w, int y, int x, int cols)
{
    for (int i = 0; i < cols; i++)
        mvwaddstr(w, y, x + i, "─");
}

void draw_column_rule(WINDOW *w, int y, int x, int rows)
{
    for (int i = 0; i < rows; i++)
        mvwaddstr(w, y + i, x, "│");
}

void draw_age(char *out, size_t n, int64_t then, int64_t now)
{
    if (then <= 0) {
        snprintf(out, n, "-");
        return;
    }
    int64_t s = (now - then) / 1000;
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(out, n, "now");
    else if (s < 3600)
        snprintf(out, n, "%lldm", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, n, "%lldh", (long long)(s / 3600));
    else if (s < 86400 * 7)
        snprintf(out, n, "%lldd", (long long)(s / 86400));
    else {
        time_t t = (time_t)(then / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(out, n, "%b %d", &tm);
    }
}
