/* edit.c - see edit.h. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
#include "text.h"
#include "util.h"

void edit_start(struct edit *ed, const char *prompt, const char *init, int purpose,
                struct history *hist)
{
    memset(ed, 0, sizeof(*ed));
    ed->active = 1;
    ed->purpose = purpose;
    ed->hist = hist;
    ed->hpos = hist ? hist->n : 0;
    snprintf(ed->prompt, sizeof(ed->prompt), "%s", prompt);
    edit_set(ed, init ? init : "");
}

void edit_set(struct edit *ed, const char *text)
{
    /* typed or pasted text is cleaned like remote text: no control byte gets in */
    char *clean = text_clean(text, strlen(text), 0);
    snprintf(ed->buf, sizeof(ed->buf), "%s", clean);
    free(clean);
    ed->len = strlen(ed->buf);
    while (ed->len && (ed->buf[ed->len - 1] & 0xc0) == 0x80 &&
           ed->len == sizeof(ed->buf) - 1) /* cut mid-character by the size limit */
        ed->buf[--ed->len] = '\0';
    ed->cur = ed->len;
}

static size_t prev_char(const struct edit *ed, size_t i)
{
    while (i > 0 && (ed->buf[--i] & 0xc0) == 0x80)
        ;
    return i;
}

static size_t next_char(const struct edit *ed, size_t i)
{
    if (i < ed->len)
        i++;
    while (i < ed->len && (ed->buf[i] & 0xc0) == 0x80)
        i++;
    return i;
}

static void cut(struct edit *ed, size_t from, size_t to)
{
    memmove(ed->buf + from, ed->buf + to, ed->len - to + 1);
    ed->len -= to - from;
    ed->cur = from;
}

static int insert(struct edit *ed, wint_t ch)
{
    char mb[8];
    wchar_t w[2] = {(wchar_t)ch, 0};
    size_t n = wcstombs(mb, w, sizeof(mb));
    if (n == (size_t)-1 || n == 0 || ed->len + n >= sizeof(ed->buf))
        return 0;
    memmove(ed->buf + ed->cur + n, ed->buf + ed->cur, ed->len - ed->cur + 1);
    memcpy(ed->buf + ed->cur, mb, n);
    ed->len += n;
    ed->cur += n;
    return 1;
}

static void walk_history(struct edit *ed, int dir)
{
    struct history *h = ed->hist;
    if (!h || !h->n)
        return;
    if (ed->hpos == h->n)
        snprintf(ed->saved, sizeof(ed->saved), "%s", ed->buf);
    if (dir < 0 && ed->hpos > 0)
        ed->hpos--;
    else if (dir > 0 && ed->hpos < h->n)
        ed->hpos++;
    else
        return;
    edit_set(ed, ed->hpos == h->n ? ed->saved : h->item[ed->hpos]);
}

enum edit_result edit_key(struct edit *ed, int code, wint_t ch)
{
    size_t before = ed->len;
    char was[EDIT_MAX];
    memcpy(was, ed->buf, ed->len + 1);
    if (code) {
        switch (ch) {
        case KEY_ENTER:
            return EDIT_ACCEPT;
        case KEY_BACKSPACE:
            if (ed->cur)
                cut(ed, prev_char(ed, ed->cur), ed->cur);
            break;
        case KEY_DC:
            if (ed->cur < ed->len)
                cut(ed, ed->cur, next_char(ed, ed->cur));
            break;
        case KEY_LEFT:
            ed->cur = prev_char(ed, ed->cur);
            break;
        case KEY_RIGHT:
            ed->cur = next_char(ed, ed->cur);
            break;
        case KEY_HOME:
            ed->cur = 0;
            break;
        case KEY_END:
            ed->cur = ed->len;
            break;
        case KEY_UP:
            walk_history(ed, -1);
            break;
        case KEY_DOWN:
            walk_history(ed, 1);
            break;
        default:
            break;
        }
    } else {
        switch (ch) {
        case '\n':
        case '\r':
            return EDIT_ACCEPT;
        case 27: /* Esc */
        case 7:  /* C-g */
            return EDIT_CANCEL;
        case '\t':
            return EDIT_COMPLETE;
        case 1: /* C-a */
            ed->cur = 0;
            break;
        case 5: /* C-e */
            ed->cur = ed->len;
            break;
        case 2: /* C-b */
            ed->cur = prev_char(ed, ed->cur);
            break;
        case 6: /* C-f */
            ed->cur = next_char(ed, ed->cur);
            break;
        case 8:   /* C-h */
        case 127: /* DEL as Backspace */
            if (ed->cur)
                cut(ed, prev_char(ed, ed->cur), ed->cur);
            else if (!ed->len)
                return EDIT_CANCEL; /* Backspace on an empty line leaves it, as in vim */
            break;
        case 21: /* C-u */
            cut(ed, 0, ed->cur);
            break;
        case 11: /* C-k */
            ed->buf[ed->cur] = '\0';
            ed->len = ed->cur;
            break;
        case 23: { /* C-w: the word before the cursor */
            size_t i = ed->cur;
            while (i > 0 && ed->buf[i - 1] == ' ')
                i--;
            while (i > 0 && ed->buf[i - 1] != ' ')
                i--;
            cut(ed, i, ed->cur);
            break;
        }
        default:
            if (ch >= ' ' && ch != 127 && !(ch >= 0x80 && ch < 0xa0))
                insert(ed, ch);
            break;
        }
    }
    return ed->len != before || memcmp(was, ed->buf, ed->len) != 0 ? EDIT_CHANGED : EDIT_CONTINUE;
}

int edit_draw(WINDOW *w, int y, int cols, const struct edit *ed)
{
    int pw = draw_text(w, y, 0, ed->prompt, cols / 2, 0);
    int room = cols - pw - 1;
    if (room < 1)
        return pw;
    /* scroll: start from the cursor and walk back while the text fits */
    char head[EDIT_MAX];
    memcpy(head, ed->buf, ed->cur);
    head[ed->cur] = '\0';
    size_t start = 0;
    while (text_width(head + start) > room - 1 && start < ed->cur) {
        start++;
        while (start < ed->cur && (head[start] & 0xc0) == 0x80)
            start++;
    }
    int cx = pw + text_width(head + start);
    draw_text(w, y, pw, ed->buf + start, room + 1, 1);
    return cx;
}

void history_add(struct history *h, const char *line)
{
    if (!line || !*line || (h->n && strcmp(h->item[h->n - 1], line) == 0))
        return;
    h->item = xrealloc(h->item, (h->n + 1) * sizeof(*h->item));
    h->item[h->n++] = xstrdup(line);
}

void history_free(struct history *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->item[i]);
    free(h->item);
    h->item = NULL;
    h->n = 0;
}
