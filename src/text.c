/* text.c - sanitising, measuring, cutting and wrapping remote text.
 *
 * text_clean() runs a small terminal parser, modelled on the DEC VT500 parser
 * (vt100.net/emu/dec_ansi_parser) but fed code points instead of bytes, and copies only
 * what the parser would print:
 *
 *   GROUND     printable text is copied. ESC -> ESCAPE; C1 CSI -> CSI; C1 OSC -> OSC;
 *              C1 DCS, SOS, PM, APC -> STRING; every other control is dropped.
 *   ESCAPE     '[' -> CSI, ']' -> OSC, 'P' 'X' '^' '_' -> STRING (ESC x is the 7-bit form
 *              of C1 x + 0x40), 0x20-0x2f -> ESC_INTER, any other 0x30-0x7e ends it.
 *   ESC_INTER  0x20-0x2f stay, 0x30-0x7e ends it (ESC ( 0, ESC # 8).
 *   CSI        0x20-0x3f (parameters, intermediates) stay, 0x40-0x7e ends it.
 *   OSC        swallows everything up to BEL or ST (ESC \ or C1 ST).
 *   STRING     the same, but BEL does not end it.
 *
 * In every state but GROUND: ESC starts a new escape (which is how ESC \ ends a string),
 * CAN and SUB cancel the sequence, other C0 controls and DEL are swallowed (a terminal
 * would execute them and stay in the sequence). A non-ASCII character or an invalid byte
 * ends ESCAPE, ESC_INTER and CSI and is then handled in GROUND, so a stray "ESC [" cannot
 * eat the text behind it; OSC and STRING swallow it, as their payloads are text. Input
 * that ends inside a sequence has removed the sequence to its end.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* wcwidth */
#endif
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "util.h"

enum { CP_INVALID = -1 };

static const char REPLACEMENT[] = "\xef\xbf\xbd"; /* U+FFFD */
static const char ELLIPSIS[] = "\xe2\x80\xa6";    /* U+2026 */
enum { ELLIPSIS_CP = 0x2026 };

/* Decode the UTF-8 sequence at s (n > 0 bytes available). Returns its length and sets *cp,
 * or *cp = CP_INVALID for a bad sequence, which is then one U+FFFD. A bad sequence is a
 * byte that cannot start one (continuation byte, F8-FF), a lead byte with fewer
 * continuation bytes than it announces (the sequence ends before the first byte that is
 * not 80-BF, so decoding resyncs on it and never swallows an ASCII byte such as ESC), or a
 * complete sequence whose value is overlong, a surrogate or past U+10FFFF. */
static size_t utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
    static const int32_t min[] = {0, 0x80, 0x800, 0x10000};
    unsigned char b = s[0];
    size_t need;
    int32_t v;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc0 && b <= 0xdf) {
        need = 1;
        v = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        v = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf7) {
        need = 3;
        v = b & 0x07;
    } else {
        *cp = CP_INVALID;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || (s[i] & 0xc0) != 0x80) {
            *cp = CP_INVALID;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min[need] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        v = CP_INVALID;
    *cp = v;
    return need + 1;
}

/* Columns of one code point. wcwidth() < 0 (unassigned, non-characters, a non-UTF-8
 * locale) and invalid input count 1: curses draws something there. */
static int cp_width(int32_t cp)
{
    if (cp < 0)
        return 1;
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

static int is_bidi_control(int32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Raw 8-bit bytes that a terminal in 8-bit mode would take as a C1 sequence control:
 * DCS, SOS, CSI, ST, OSC, PM, APC. They are treated as the C1 code point, so their
 * sequence is removed too; any other stray byte is just invalid UTF-8. The price: text
 * wrongly sent as Windows-1252 loses what follows a raw 0x98, 0x9e or 0x9f (˜ ž Ÿ).
 * The output never carries raw bytes, so for safety the removal is only cosmetic. */
static int is_raw_c1_sequence_byte(unsigned char b)
{
    return b == 0x90 || b == 0x98 || (b >= 0x9b && b <= 0x9f);
}

/* ---- text_clean ---- */

enum clean_state { ST_GROUND, ST_ESCAPE, ST_ESC_INTER, ST_CSI, ST_OSC, ST_STRING };

struct cleaner {
    struct buf out;
    int multiline;
    enum clean_state st;
    int col;       /* output column modulo TEXT_TABSTOP, for tab stops */
    int space_due; /* single-line: a run of line breaks and tabs owes one space */
};

/* The state a C1 control (U+0080-U+009F) leads to: a sequence, or GROUND when it is a
 * control that is simply dropped. */
static enum clean_state c1_state(int32_t c1)
{
    switch (c1) {
    case 0x9b:
        return ST_CSI;
    case 0x9d:
        return ST_OSC;
    case 0x90: /* DCS */
    case 0x98: /* SOS */
    case 0x9e: /* PM */
    case 0x9f: /* APC */
        return ST_STRING;
    default:
        return ST_GROUND;
    }
}

static void put_text(struct cleaner *c, const char *bytes, size_t n, int width)
{
    if (c->space_due) {
        buf_append(&c->out, " ", 1);
        c->space_due = 0;
        c->col = (c->col + 1) % TEXT_TABSTOP;
    }
    buf_append(&c->out, bytes, n);
    c->col = (c->col + width) % TEXT_TABSTOP;
}

static void put_line_break(struct cleaner *c)
{
    if (!c->multiline) {
        c->space_due = 1;
        return;
    }
    buf_append(&c->out, "\n", 1);
    c->col = 0;
}

static void put_tab(struct cleaner *c)
{
    static const char spaces[] = "        "; /* TEXT_TABSTOP of them */
    if (!c->multiline) {
        c->space_due = 1;
        return;
    }
    buf_append(&c->out, spaces, (size_t)(TEXT_TABSTOP - c->col));
    c->col = 0;
}

/* One unit in GROUND. lf_follows: the next input byte is '\n' (so a '\r' is half of a
 * CRLF and can go). A lone '\r' becomes a line break rather than being dropped, so
 * "safe\rEVIL" keeps both words visible instead of gluing them or letting one overwrite
 * the other. */
static void clean_ground(struct cleaner *c, int32_t u, const char *bytes, size_t n, int lf_follows)
{
    if (u == CP_INVALID) {
        put_text(c, REPLACEMENT, sizeof(REPLACEMENT) - 1, 1);
    } else if (u == 0x1b) {
        c->st = ST_ESCAPE;
    } else if (u >= 0x80 && u <= 0x9f) {
        c->st = c1_state(u);
    } else if (u == '\n' || (u == '\r' && !lf_follows) || u == 0x2028 || u == 0x2029) {
        put_line_break(c);
    } else if (u == '\t') {
        put_tab(c);
    } else if (u < 0x20 || u == 0x7f || is_bidi_control(u)) {
        /* dropped: BEL, backspace, NUL, the CR of a CRLF, ... */
    } else {
        put_text(c, bytes, n, cp_width(u));
    }
}

/* One unit inside a sequence. Returns 0 when the sequence consumed it, 1 when the unit
 * ended the sequence without belonging to it and must be handled in GROUND. */
static int clean_sequence(struct cleaner *c, int32_t u)
{
    if (u == 0x1b) {
        c->st = ST_ESCAPE;
        return 0;
    }
    if (u == 0x18 || u == 0x1a) { /* CAN, SUB */
        c->st = ST_GROUND;
        return 0;
    }
    if (c->st == ST_OSC || c->st == ST_STRING) {
        if (u == 0x9c || (u == 0x07 && c->st == ST_OSC))
            c->st = ST_GROUND;
        return 0;
    }
    if ((u >= 0 && u < 0x20) || u == 0x7f)
        return 0;
    switch (c->st) {
    case ST_ESCAPE:
        if (u >= 0x40 && u <= 0x5f) {
            c->st = c1_state(u + 0x40);
            return 0;
        }
        if (u >= 0x20 && u <= 0x2f) {
            c->st = ST_ESC_INTER;
            return 0;
        }
        if (u >= 0x30 && u <= 0x7e) {
            c->st = ST_GROUND;
            return 0;
        }
        break;
    case ST_ESC_INTER:
        if (u >= 0x20 && u <= 0x2f)
            return 0;
        if (u >= 0x30 && u <= 0x7e) {
            c->st = ST_GROUND;
            return 0;
        }
        break;
    case ST_CSI:
        if (u >= 0x20 && u <= 0x3f)
            return 0;
        if (u >= 0x40 && u <= 0x7e) {
            c->st = ST_GROUND;
            return 0;
        }
        break;
    default:
        break;
    }
    c->st = ST_GROUND;
    return 1;
}

char *text_clean(const char *in, size_t len, int flags)
{
    struct cleaner c = {.multiline = (flags & TEXT_MULTILINE) != 0, .st = ST_GROUND};
    const unsigned char *s = (const unsigned char *)in;

    if (!in)
        len = 0;
    buf_init(&c.out);
    for (size_t i = 0; i < len;) {
        int32_t u;
        size_t n = utf8_decode(s + i, len - i, &u);
        if (u == CP_INVALID && n == 1 && is_raw_c1_sequence_byte(s[i]))
            u = s[i];
        if (c.st == ST_GROUND || clean_sequence(&c, u))
            clean_ground(&c, u, in + i, n, i + n < len && s[i + n] == '\n');
        i += n;
    }
    if (c.space_due)
        buf_append(&c.out, " ", 1);
    return buf_steal(&c.out);
}

/* ---- measuring and cutting ---- */

int text_width(const char *s)
{
    if (!s)
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    int w = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        i += utf8_decode(u + i, len - i, &cp);
        w += cp_width(cp);
    }
    return w;
}

/* Bytes of the longest prefix of s[0..len) that fits in cols columns and maxbytes bytes,
 * whole characters only; *width gets its columns. */
static size_t fit_prefix(const char *s, size_t len, int cols, size_t maxbytes, int *width)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    int w = 0;
    while (i < len) {
        int32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        int cw = cp_width(cp);
        if (n > maxbytes - i || cw > cols - w)
            break;
        i += n;
        w += cw;
    }
    *width = w;
    return i;
}

int text_fit(const char *s, int cols, int ellipsis, char *out, size_t outsz)
{
    if (!out || outsz == 0)
        return 0;
    out[0] = '\0';
    if (!s || cols <= 0)
        return 0;

    size_t len = strlen(s);
    int w;
    size_t n = fit_prefix(s, len, cols, outsz - 1, &w);
    size_t elen = sizeof(ELLIPSIS) - 1;
    int ew = cp_width(ELLIPSIS_CP);
    if (n < len && ellipsis && outsz > elen && ew <= cols) {
        /* Cut again, leaving room for the ellipsis, rather than overwriting the last
         * character: that one may be wide or followed by combining marks. */
        n = fit_prefix(s, len, cols - ew, outsz - 1 - elen, &w);
        memcpy(out, s, n);
        memcpy(out + n, ELLIPSIS, elen + 1);
        return w + ew;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return w;
}

/* ---- wrapping ---- */

struct wrap {
    int cols;
    void (*fn)(const char *line, size_t n, void *arg);
    void *arg; /* borrowed */
    int lines;
};

static void wrap_emit(struct wrap *wr, const char *line, size_t n)
{
    while (n > 0 && line[n - 1] == ' ')
        n--;
    if (wr->fn)
        wr->fn(line, n, wr->arg);
    wr->lines++;
}

/* Greedy wrap of one paragraph s[0..len), which holds no '\n'. A break opportunity is
 * remembered as (brk, nxt): the line would end at brk and the next one start at nxt;
 * between them lies the run of spaces that disappears at the break (none when breaking
 * next to a wide character). Spaces past the edge push w over cols, which only forces the
 * break that drops them. */
static void wrap_paragraph(struct wrap *wr, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t line = 0; /* start of the current line */
    int w = 0;       /* its columns so far, trailing spaces included */
    int content = 0; /* it holds more than leading spaces */
    size_t brk = 0, nxt = 0, run = 0;
    int have_brk = 0, w_nxt = 0; /* w_nxt: w when nxt was reached */
    int in_run = 0, prev_wide = 0;

    for (size_t i = 0; i < len;) {
        int32_t cp;
        size_t n = utf8_decode(u + i, len - i, &cp);
        if (cp == ' ') {
            if (!in_run)
                run = i;
            in_run = 1;
            prev_wide = 0;
            w++;
            i += n;
            continue;
        }
        int cw = cp_width(cp);
        if (content && in_run) {
            brk = run;
            nxt = i;
            w_nxt = w;
            have_brk = 1;
        } else if (content && cw > 0 && (cw > 1 || prev_wide)) {
            brk = nxt = i; /* CJK text breaks between any two wide characters */
            w_nxt = w;
            have_brk = 1;
        }
        /* a zero-width character after spaces that went past the edge breaks there too,
         * or it would glue the overflowing spaces into the line */
        if ((cw > 0 || in_run) && w > 0 && w + cw > wr->cols) {
            if (have_brk) {
                wrap_emit(wr, s + line, brk - line);
                line = nxt;
                w -= w_nxt;
                content = line < i;
            } else {
                if (content) /* a word longer than the line; else only indentation */
                    wrap_emit(wr, s + line, i - line);
                line = i;
                w = 0;
                content = 0;
            }
            have_brk = 0;
            in_run = 0;
            continue; /* measure this character again against the new line */
        }
        content = 1;
        in_run = 0;
        if (cw > 0)
            prev_wide = cw > 1;
        w += cw;
        i += n;
    }
    wrap_emit(wr, s + line, len - line);
}

int text_wrap(const char *s, int cols, void (*fn)(const char *line, size_t n, void *arg), void *arg)
{
    struct wrap wr = {.cols = cols < 1 ? 1 : cols, .fn = fn, .arg = arg, .lines = 0};
    if (!s)
        s = "";
    for (;;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        wrap_paragraph(&wr, s, len);
        if (!nl)
            break;
        s = nl + 1;
    }
    return wr.lines;
}

int text_expand(const char *tpl, const struct text_var *vars, size_t nvars, char *out, size_t n,
                char *why, size_t nwhy)
{
    size_t o = 0;
    for (const char *p = tpl; *p; p++) {
        if (*p != '{') {
            if (o + 1 < n)
                out[o++] = *p;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end) {
            snprintf(why, nwhy, "an unclosed { in the template");
            return -1;
        }
        const char *bar = memchr(p, '|', (size_t)(end - p));
        size_t namelen = (size_t)((bar ? bar : end) - p - 1);
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)namelen, p + 1);
        size_t i;
        for (i = 0; i < nvars; i++)
            if (strlen(vars[i].name) == namelen && strncmp(vars[i].name, p + 1, namelen) == 0)
                break;
        if (i == nvars) {
            snprintf(why, nwhy, "{%s} is not a template variable", name);
            return -1;
        }
        const char *v = vars[i].value;
        size_t len = v ? strlen(v) : 0;
        if (!len && bar) {
            v = bar + 1;
            len = (size_t)(end - bar - 1);
        } else if (!len) {
            snprintf(why, nwhy, "{%s} has no value here: not sent", name);
            return -1;
        }
        if (o + len < n) {
            memcpy(out + o, v, len);
            o += len;
        }
        p = end;
    }
    if (n)
        out[o] = '\0';
    return 0;
}
