/* test_text.c - text_clean against hostile input; text_width, text_fit and text_wrap.
 *
 * Literal bytes after a \x escape are split into a separate string ("\xe2\x80\xae" "evil")
 * because C would otherwise read the following hex digits as part of the escape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define ML       TEXT_MULTILINE
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD     "\xef\xbf\xbd"

/* ---- an independent UTF-8 checker ---- */

/* Decode the code point at *p and advance; returns -1 on anything that is not strict
 * UTF-8 (bad lead, missing or bad continuation, overlong, surrogate, > U+10FFFF). */
static long next_cp(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    int extra;
    long cp, min;
    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    } else if ((s[0] & 0xe0) == 0xc0) {
        extra = 1, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        extra = 2, cp = s[0] & 0x0f, min = 0x800;
    } else if ((s[0] & 0xf8) == 0xf0) {
        extra = 3, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (end - s <= extra)
        return -1;
    for (int i = 1; i <= extra; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *p = s + extra + 1;
    return cp;
}

static int valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end)
        if (next_cp(&p, end) < 0)
            return 0;
    return 1;
}

static int is_bidi(long cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Everything that must hold for any output of text_clean. Reports which input failed. */
static void assert_safe(const char *out, int flags, size_t idx)
{
    size_t n = strlen(out);
    const unsigned char *p = (const unsigned char *)out, *end = p + n;
    if (!valid_utf8(out, n))
        fail_msg("case %zu flags %d: invalid UTF-8", idx, flags);
    while (p < end) {
        long cp = next_cp(&p, end);
        if (cp == '\n' && (flags & ML))
            continue;
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || is_bidi(cp))
            fail_msg("case %zu flags %d: code point U+%04lX in output", idx, flags,
                     (unsigned long)cp);
    }
}

/* Clean, check safety, and check that cleaning again changes nothing. */
static void check_clean(const char *in, size_t len, size_t idx)
{
    for (int flags = 0; flags <= ML; flags++) {
        char *out = text_clean(in, len, flags);
        assert_non_null(out);
        assert_safe(out, flags, idx);
        char *again = text_clean(out, strlen(out), flags);
        assert_string_equal(again, out);
        free(again);
        free(out);
    }
}

/* ---- text_clean ---- */

struct hostile {
    const char *s;
    size_t len; /* explicit: some hold NUL bytes */
};
/* One hostile string per line; clang-format would break the split literals apart. */
/* clang-format off */
#define H(lit) {lit, sizeof(lit) - 1}

static const struct hostile corpus[] = {
    /* CSI: colours, cursor, screen, modes */
    H("\x1b[31mred\x1b[0m"),
    H("\x1b[38;2;255;0;0mtruecolor\x1b[m"),
    H("\x1b[2J\x1b[Hcleared"),
    H("\x1b[?1049hALTSCREEN\x1b[?1049l"),
    H("abc\x1b[3Dxyz"),
    H("\x1b[10;10Hmoved"),
    H("\x1b[6n"), /* cursor position report: answers into the input */
    H("\x1b[?25l hidden cursor"),
    H("\x1b[>0q\x1b[c"),
    H("\x1b[1;31"),
    H("\x1b["),
    H("text\x1b[1;2;3;4;5;6;7;8;9;10;11;12;13;14;15;16;17;18;19;20"),
    /* OSC: titles, clipboard, hyperlinks */
    H("ok\x1b]0;pwned\x07!"),
    H("ok\x1b]2;title\x1b\\!"),
    H("\x1b]52;c;ZWNobyBwd25lZA==\x07"),
    H("\x1b]52;p;?\x1b\\"),
    H("\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"),
    H("\x1b]4;1;rgb:ff/00/00\x07palette"),
    H("\x1b]"),
    H("before\x1b]0;never terminated and long and \n with newline"),
    /* DCS, SOS, PM, APC */
    H("\x1bP1$r0m\x1b\\dcs"),
    H("\x1bPq#0;2;0;0;0#1;2;100;100;0#1~~@@vv@@~~\x1b\\sixel"),
    H("\x1bXsos\x1b\\"),
    H("\x1b^pm\x1b\\"),
    H("\x1b_apc payload\x1b\\after"),
    H("\x1bPunterminated dcs"),
    /* two-byte and intermediate escapes */
    H("\x1b" "c reset"),
    H("\x1b(0lqqk\x1b(B"),
    H("\x1b#8"),
    H("\x1b" "7save\x1b" "8"),
    H("\x1b"),
    H("\x1b\x1b\x1b[\x1b]\x1bP"),
    /* C1 controls, raw and as UTF-8 */
    H("\x9b" "31mraw csi"),
    H("\x9d" "0;raw osc\x07x"),
    H("\x90raw dcs\x9cx"),
    H("\xc2\x9b" "2Jutf8 csi"),
    H("\xc2\x9d" "52;c;AAAA\xc2\x9c" "x"),
    H("\xc2\x85\xc2\x80\xc2\x9f"),
    H("\x80\x85\x9a"),
    /* NUL, BEL, backspace, CR, DEL */
    H("a\0b\0\0c"),
    H("\0"),
    H("ding\x07\x07"),
    H("password: secret\b\b\b\b\b\b******"),
    H("safe text\rEVIL"),
    H("line\r\nline\r\n"),
    H("\r\r\r\n\n"),
    H("del\x7f\x7f"),
    H("\x01\x02\x03\x04\x05\x06\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1c\x1d"),
    H("tab\there\t\tand\n\n\tthere"),
    /* bidi (trojan source) */
    H("\xe2\x80\xae" "txt.exe"),
    H("access\xe2\x80\xae \xe2\x81\xa6// admin\xe2\x81\xa9 \xe2\x81\xa6"),
    H("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"),
    H("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9"),
    /* invalid UTF-8 */
    H("\x80"),
    H("\xbf\xbf"),
    H("\xc3"),
    H("\xe6\x97"),
    H("\xf0\x9f\x91"),
    H("\xc0\xaf"),
    H("\xe0\x80\xaf"),
    H("\xed\xa0\x80"),
    H("\xed\xbf\xbf"),
    H("\xf4\x90\x80\x80"),
    H("\xf5\x80\x80\x80"),
    H("\xff\xfe"),
    H("\xc3\x1b[31m"),
    H("\xe2\x80\x1b]0;x\x07"),
    /* mixtures */
    H("\x1b[31m\xe2\x80\xae\x9b" "2J\r\x08\x1b]0;\xff\x07ok"),
    H("\xe6\x97\xa5\x1b[1m\xe6\x9c\xac\x1b[0m\xe8\xaa\x9e"),
    H("\xf0\x9f\x91\x8d\x1b]8;;x\x07\xf0\x9f\x91\x8d"),
    H("\x1b[\xe6\x97\xa5"),
    H("\x1b\xc2\x9b" "1m"),
    H("\x1b]0;\xc2\x9b" "31m\x07visible"),
};
/* clang-format on */

static void test_clean_null_and_empty(void **state)
{
    (void)state;
    char *out = text_clean(NULL, 0, 0);
    assert_string_equal(out, "");
    free(out);
    out = text_clean("", 0, ML);
    assert_string_equal(out, "");
    free(out);
    out = text_clean("abc", 0, 0); /* len, not the NUL, decides */
    assert_string_equal(out, "");
    free(out);
    out = text_clean("abcdef", 3, 0);
    assert_string_equal(out, "abc");
    free(out);
}

static void test_clean_corpus_is_safe(void **state)
{
    (void)state;
    assert_true(COUNT(corpus) >= 50);
    for (size_t i = 0; i < COUNT(corpus); i++)
        check_clean(corpus[i].s, corpus[i].len, i);
}

struct expect {
    const char *in;
    size_t len;
    int flags;
    const char *out;
};
/* clang-format off */
#define X(lit, flags, out) {lit, sizeof(lit) - 1, flags, out}

static const struct expect exact[] = {
    X("\x1b[31mred\x1b[0m", 0, "red"),
    X("ok\x1b]0;pwned\x07!", 0, "ok!"),
    X("ok\x1b]2;title\x1b\\!", 0, "ok!"),
    X("\xff", 0, FFFD),
    X("\x1b[2J\x1b[Hhi\x1b[?1049h", 0, "hi"),
    X("\x1b]52;c;ZWNobyBwd25lZA==\x07x", 0, "x"),
    X("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", 0, "click"),
    X("\x1bP1$r0m\x1b\\dcs", 0, "dcs"),
    X("\x1b_apc payload\x1b\\after", 0, "after"),
    X("keep\x1b[1;2", 0, "keep"),
    X("keep\x1b]0;never ends\nreally", ML, "keep"),
    X("\x1b(0lqk\x1b(B", 0, "lqk"), /* the charset switch goes, the letters stay */
    X("\x1b" "cX", 0, "X"),
    X("\x9b" "31mraw", 0, "raw"),
    X("\x9d" "0;title\x07raw", 0, "raw"),
    X("\xc2\x9b" "2Jutf8", 0, "utf8"),
    X("\x1b]0;t\x9c" "st", 0, "st"),
    X("\xc2\x85" "nel", 0, "nel"),
    X("\x85" "cp1252", 0, FFFD "cp1252"),
    X("a\0b\0\0c", 0, "abc"),
    X("ding\x07", 0, "ding"),
    X("abc\b\b\bxyz", 0, "abcxyz"),
    X("del\x7f", 0, "del"),
    X("safe text\rEVIL", ML, "safe text\nEVIL"),
    X("safe text\rEVIL", 0, "safe text EVIL"),
    X("a\r\nb", ML, "a\nb"),
    X("a\r\nb", 0, "a b"),
    X("a\r\r\nb", ML, "a\n\nb"),
    X("x\n\n\t\r\ny", 0, "x y"),
    X("x\n\x1b[0m\ny", 0, "x y"), /* a run stays one run across a removed sequence */
    X("x\n", 0, "x "),
    X("a\tb", 0, "a b"),
    X("a\tb", ML, "a       b"),
    X("abcdefgh\tX", ML, "abcdefgh        X"),
    X("\xe6\x97\xa5\xe6\x9c\xac\tX\n\tY", ML, "\xe6\x97\xa5\xe6\x9c\xac    X\n        Y"),
    X("line1\xe2\x80\xa8line2", ML, "line1\nline2"),
    X("\xe2\x80\xae" "exe.txt", 0, "exe.txt"),
    X("a\xe2\x81\xa6" "b\xe2\x81\xa9" "c\xd8\x9c" "d\xe2\x80\x8f", 0, "abcd"),
    X("\xc0\xaf", 0, FFFD),             /* overlong '/' */
    X("\xe0\x80\xaf" "x", 0, FFFD "x"), /* overlong, 3 bytes */
    X("\xed\xa0\x80", 0, FFFD),         /* surrogate */
    X("\xf4\x90\x80\x80" "x", 0, FFFD "x"), /* U+110000 */
    X("\xbf\x80" "x", 0, FFFD FFFD "x"), /* stray continuation bytes, one each */
    X("\xfex", 0, FFFD "x"),
    X("\xe6\x97" "A", 0, FFFD "A"),      /* one per truncated sequence, resync on A */
    X("\xf0\x9f\x91" "!", 0, FFFD "!"), /* truncated 4-byte */
    X("\xc3\x1b[31mX", 0, FFFD "X"),     /* the ESC after a truncation still counts */
    X("\x1b[\xe6\x97\xa5", 0, "\xe6\x97\xa5"), /* non-ASCII ends a stray CSI, is kept */
    X("a\x1b\x1b[31mb", 0, "ab"),
    X("\x1b[1\n;2mX", ML, "X"), /* a control inside a sequence does not end it */
    X("\x1b]0;x\x18visible", 0, "visible"), /* CAN cancels */
    X("\x1b]0;\xc2\x9b" "31m\x07visible", 0, "visible"),
    X("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x91\x8d e\xcc\x81", ML,
      "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x91\x8d e\xcc\x81"),
};
/* clang-format on */

static void test_clean_exact(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(exact); i++) {
        char *out = text_clean(exact[i].in, exact[i].len, exact[i].flags);
        if (strcmp(out, exact[i].out) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, exact[i].out);
        free(out);
    }
}

/* About 64 KiB of whole copies of a pattern, then a tail. */
static char *repeat(const char *pat, size_t total, const char *tail, size_t *len)
{
    size_t plen = strlen(pat), tlen = strlen(tail);
    total -= total % plen;
    char *s = malloc(total + tlen);
    assert_non_null(s);
    for (size_t i = 0; i < total; i++)
        s[i] = pat[i % plen];
    memcpy(s + total, tail, tlen);
    *len = total + tlen;
    return s;
}

static void test_clean_huge(void **state)
{
    (void)state;
    static const struct {
        const char *pat, *tail;
        int flags;
        const char *want_tail; /* the output ends with this */
        size_t want_len;       /* and has this length */
    } cases[] = {
        {"\x1b", "ok", 0, "", 0}, /* ESC then 'o' is a two-byte escape: "k" left */
        {"\x1b[", "31mok", 0, "ok", 2},
        {"\x1b]", "\x07ok", 0, "ok", 2},
        {"\x9b", "", 0, "", 0},
        {"\xff", "", 0, FFFD, 65536 * 3},
        {"\t", "x", ML, "x", 65536 * 8 + 1},
        {"\r\n", "x", 0, " x", 2},
        {"\xe2\x80\xae", "", 0, "", 0},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        size_t len;
        char *in = repeat(cases[i].pat, 65536, cases[i].tail, &len);
        char *out = text_clean(in, len, cases[i].flags);
        assert_safe(out, cases[i].flags, i);
        size_t olen = strlen(out), tlen = strlen(cases[i].want_tail);
        if (i == 0) {
            assert_string_equal(out, "k");
        } else {
            assert_int_equal(olen, cases[i].want_len);
            assert_memory_equal(out + olen - tlen, cases[i].want_tail, tlen);
        }
        free(out);
        free(in);
    }
}

/* Random strings over an alphabet rich in the bytes that matter; fixed seed. */
static void test_clean_random(void **state)
{
    (void)state;
    static const char alphabet[] = "\x1b\x1b[]P_\\;0123m\x07\x18\n\r\t\b\x7f"
                                   "\x80\x85\x90\x9b\x9c\x9d\xbf\xc2\xc3\xe0\xe2\xed\xf0\xf4\xff"
                                   "aZ ~";
    uint32_t seed = 2463534242u;
    char buf[96];
    for (size_t iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        size_t want = seed % sizeof(buf);
        while (len < want) {
            seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
            buf[len++] = alphabet[seed % (sizeof(alphabet) - 1)];
        }
        check_clean(buf, len, iter);
    }
}

/* ---- text_width ---- */

static void test_width(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int w;
    } cases[] = {
        {"", 0},
        {"abc", 3},
        {"a b", 3},
        {"日本語", 6},
        {"\U0001F44D", 2},            /* 👍 */
        {"e\u0301", 1},               /* e + combining acute */
        {"a日\U0001F44De\u0301z", 7}, /* a 日 👍 é z */
        {"\u3000", 2},                /* ideographic space */
        {FFFD, 1},
        {"\u2026", 1},       /* … */
        {"\xef\xbf\xbf", 1}, /* U+FFFF: wcwidth -1 */
        {"\u200B", 0},       /* zero-width space */
        {"\xff", 1},         /* invalid: one column */
    };
    assert_int_equal(text_width(NULL), 0);
    for (size_t i = 0; i < COUNT(cases); i++)
        if (text_width(cases[i].s) != cases[i].w)
            fail_msg("case %zu: width %d, want %d", i, text_width(cases[i].s), cases[i].w);
}

/* ---- text_fit ---- */

static void test_fit_edges(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(text_fit("abc", 3, 0, NULL, 0), 0);
    memset(out, 'x', sizeof(out));
    assert_int_equal(text_fit("abc", 3, 0, out, 0), 0);
    assert_int_equal(out[0], 'x'); /* outsz 0: nothing written */
    assert_int_equal(text_fit(NULL, 5, 1, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_fit("abc", 0, 1, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_fit("abc", -3, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_fit("", 5, 1, out, sizeof(out)), 0);
    assert_string_equal(out, "");
}

static void test_fit_exact(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int cols, ellipsis;
        size_t outsz;
        const char *out;
        int w;
    } cases[] = {
        {"hello", 5, 1, 16, "hello", 5},
        {"hello!", 5, 1, 16, "hell\u2026", 5},
        {"hello!", 5, 0, 16, "hello", 5},
        {"hello", 1, 1, 16, "\u2026", 1},
        {"日本語", 5, 0, 16, "日本", 4},
        {"日本語", 5, 1, 16, "日本\u2026", 5},
        {"日本語", 4, 1, 16, "日\u2026", 3},
        {"日本語", 6, 1, 16, "日本語", 6},
        {"日", 1, 0, 16, "", 0},
        {"e\u0301x", 1, 0, 16, "e\u0301", 1}, /* the mark stays with its letter */
        {"\U0001F44D\U0001F44D", 3, 1, 16, "\U0001F44D\u2026", 3},
        /* the buffer, not the columns, is the limit */
        {"abcdef", 10, 0, 4, "abc", 3},
        {"abcdef", 10, 1, 5, "a\u2026", 2},
        {"abcdef", 10, 1, 3, "ab", 2}, /* no room for the ellipsis */
        {"日本", 10, 0, 6, "日", 2},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char out[16];
        int w = text_fit(cases[i].s, cases[i].cols, cases[i].ellipsis, out, cases[i].outsz);
        if (strcmp(out, cases[i].out) != 0 || w != cases[i].w)
            fail_msg("case %zu: got \"%s\" (%d), want \"%s\" (%d)", i, out, w, cases[i].out,
                     cases[i].w);
    }
}

/* Length in bytes of the first character of s (s valid, non-empty). */
static size_t first_char_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    assert_true(next_cp(&p, p + strlen(s)) >= 0);
    return (size_t)(p - (const unsigned char *)s);
}

static int char_width(const char *s, size_t n)
{
    char tmp[8];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return text_width(tmp);
}

static void test_fit_every_width(void **state)
{
    (void)state;
    static const char *const strings[] = {
        "hello world",
        "日本語のテキスト",
        "a日b本c",               /* wide chars at odd offsets */
        "\U0001F44D\U0001F44Dx", /* emoji */
        "e\u0301e\u0301e\u0301", /* combining marks */
        "Zimmer 12 – Müller, François 東京",
        "",
    };
    static const char ell[] = "\u2026";
    for (size_t i = 0; i < COUNT(strings); i++) {
        const char *s = strings[i];
        int full = text_width(s);
        for (int cols = 0; cols <= 20; cols++) {
            for (int e = 0; e <= 1; e++) {
                char out[64];
                int w = text_fit(s, cols, e, out, sizeof(out));
                size_t n = strlen(out);
                assert_true(valid_utf8(out, n));
                assert_int_equal(w, text_width(out));
                assert_true(w <= cols);
                if (full <= cols) { /* fits: copied whole, no ellipsis */
                    assert_string_equal(out, s);
                    continue;
                }
                int has_ell = n >= 3 && strcmp(out + n - 3, ell) == 0;
                assert_int_equal(has_ell, e && cols >= 1);
                size_t keep = has_ell ? n - 3 : n;
                assert_memory_equal(out, s, keep); /* a prefix of s */
                /* longest: the next character would not have fitted */
                size_t next = first_char_len(s + keep);
                int budget = has_ell ? cols - 1 : cols;
                assert_true(w - has_ell + char_width(s + keep, next) > budget);
            }
        }
    }
}

/* ---- text_wrap ---- */

struct lines {
    const char *base; /* the wrapped string: lines must point into it, in order */
    const char *last;
    int n;
    char text[64][96];
};

static void collect(const char *line, size_t n, void *arg)
{
    struct lines *l = arg;
    assert_true(l->n < 64);
    assert_true(n < sizeof(l->text[0]));
    if (l->base) {
        assert_true(line >= l->last);
        l->last = line + n;
    }
    memcpy(l->text[l->n], line, n);
    l->text[l->n][n] = '\0';
    l->n++;
}

static int wrap(const char *s, int cols, struct lines *l)
{
    memset(l, 0, sizeof(*l));
    l->base = l->last = s;
    int n = text_wrap(s, cols, collect, l);
    assert_int_equal(n, l->n);
    return n;
}

static void test_wrap_edges(void **state)
{
    (void)state;
    struct lines l;
    assert_int_equal(text_wrap(NULL, 10, NULL, NULL), 1);
    assert_int_equal(wrap("", 10, &l), 1);
    assert_string_equal(l.text[0], "");
    assert_int_equal(wrap("\n", 10, &l), 2);
    assert_int_equal(wrap("a\n", 10, &l), 2);
    assert_string_equal(l.text[0], "a");
    assert_string_equal(l.text[1], "");
    assert_int_equal(text_wrap("abc def", 0, NULL, NULL), 6); /* cols < 1 counts as 1 */
    assert_int_equal(text_wrap("abc def", 3, NULL, NULL), 2);
}

static void test_wrap_exact(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int cols;
        const char *lines[6];
    } cases[] = {
        {"the quick brown fox", 10, {"the quick", "brown fox"}},
        {"the quick brown fox", 9, {"the quick", "brown fox"}},
        {"the quick brown fox", 8, {"the", "quick", "brown", "fox"}},
        {"abcdefghijkl", 5, {"abcde", "fghij", "kl"}},
        {"hi abcdefghijkl", 5, {"hi", "abcde", "fghij", "kl"}},
        {"one\ntwo three\n\nfour", 20, {"one", "two three", "", "four"}},
        {"   indented text", 20, {"   indented text"}},
        {"a  b", 20, {"a  b"}},
        {"hello     ", 5, {"hello"}},
        {"hello      world", 5, {"hello", "world"}},
        {"日本語のテキスト", 6, {"日本語", "のテキ", "スト"}},
        {"日本語の", 5, {"日本", "語の"}},
        /* CJK fills the line after a latin word instead of moving down whole */
        {"Hello 日本語日本", 10, {"Hello 日本", "語日本"}},
        {"ab日", 3, {"ab", "日"}}, /* a wide char never straddles */
        {"e\u0301e\u0301e\u0301", 2, {"e\u0301e\u0301", "e\u0301"}},
        {"日本", 1, {"日", "本"}}, /* wider than cols */
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        struct lines l;
        int n = wrap(cases[i].s, cases[i].cols, &l);
        int want = 0;
        while (want < 6 && cases[i].lines[want])
            want++;
        if (n != want)
            fail_msg("case %zu: %d lines, want %d", i, n, want);
        for (int k = 0; k < n; k++)
            if (strcmp(l.text[k], cases[i].lines[k]) != 0)
                fail_msg("case %zu line %d: \"%s\", want \"%s\"", i, k, l.text[k],
                         cases[i].lines[k]);
    }
}

/* s without spaces and newlines, into out. */
static void squeeze(const char *s, char *out)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\n')
            *out++ = *s;
    *out = '\0';
}

static void test_wrap_properties(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "Hi Anna, the door code is 4711. Check-in from 15:00, late arrival is fine!",
        "Supercalifragilisticexpialidocious is a long word indeed",
        "日本語のテキストです。",
        "Mixed 日本 text \U0001F44D\U0001F44D with  emoji and 東京駅",
        "Line one\nLine two is a bit longer\n\n  indented line\nend",
        "café naïve e\u0301e\u0301e\u0301 résumé",
        "   ",
        "a",
    };
    for (size_t i = 0; i < COUNT(texts); i++) {
        char want[512], got[512];
        squeeze(texts[i], want);
        int has_nl = strchr(texts[i], '\n') != NULL;
        int blank = strspn(texts[i], " ") == strlen(texts[i]);
        for (int cols = 2; cols <= 40; cols++) {
            struct lines l;
            int n = wrap(texts[i], cols, &l);
            char joined[512] = "";
            for (int k = 0; k < n; k++) {
                size_t len = strlen(l.text[k]);
                assert_true(text_width(l.text[k]) <= cols);
                assert_true(valid_utf8(l.text[k], len));
                assert_null(strchr(l.text[k], '\n'));
                assert_true(len == 0 || l.text[k][len - 1] != ' ');
                if (!has_nl && !blank)
                    assert_true(len > 0); /* no stray empty lines */
                strcat(joined, l.text[k]);
            }
            squeeze(joined, got);
            assert_string_equal(got, want); /* nothing lost, nothing repeated */
        }
    }
}

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8")) {
        fprintf(stderr, "test_text: the C.UTF-8 locale is required\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_null_and_empty),
        cmocka_unit_test(test_clean_corpus_is_safe),
        cmocka_unit_test(test_clean_exact),
        cmocka_unit_test(test_clean_huge),
        cmocka_unit_test(test_clean_random),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_fit_edges),
        cmocka_unit_test(test_fit_exact),
        cmocka_unit_test(test_fit_every_width),
        cmocka_unit_test(test_wrap_edges),
        cmocka_unit_test(test_wrap_exact),
        cmocka_unit_test(test_wrap_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
