/* fuzz_text.c - libFuzzer target for the terminal text sanitiser (src/text.c).
 *
 * Input: byte 0 = flags (bit 0 TEXT_MULTILINE, bit 1 ellipsis for text_fit, bits 2-7 the
 * text_fit buffer size 0..63), byte 1 = columns (0..255; text_fit and text_wrap), the rest
 * = remote text, any bytes (NULs, invalid UTF-8, escape sequences).
 *
 * Oracles (__builtin_trap on violation), for out = text_clean(in, len, flags):
 *   - out is NUL-terminated, strictly valid UTF-8 (no overlong forms, surrogates or values
 *     past U+10FFFF), with no C0 control but '\n' (and that only with TEXT_MULTILINE), no
 *     DEL, no C1 control (U+0080-U+009F), no bidi control, no ESC;
 *   - text_clean is idempotent: cleaning out again gives out;
 *   - text_width(out) is the sum of the code points' widths (>= 0);
 *   - text_fit(out, cols, ...) returns at most cols columns, equal to text_width of what it
 *     wrote, which is a prefix of out (plus "…" when cut with ellipsis) that fits outsz;
 *   - text_wrap(out, cols, ...) calls back exactly as many times as it returns, with lines
 *     inside out, without '\n' or trailing spaces, each at most cols wide unless it holds a
 *     single character wider than cols, and loses no non-space character;
 *   - the raw (uncleaned) input through text_width/text_fit/text_wrap does not crash.
 *
 * Seeds: tests/fuzz/corpus/text/ (tests/fuzz/make_seeds.py: terminal attacks, invalid
 * UTF-8 and JSONTestSuite-style strings).
 */
#include <wchar.h>

#include "fuzz_common.h"
#include "text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    FUZZ_CHECK(wcwidth(0x4e00) == 2); /* a UTF-8 locale is needed for widths */
    return 0;
}

/* Strict UTF-8 decoder, independent of text.c: length, or 0 when invalid. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t need;
    uint32_t v, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf)
        need = 1, v = b & 0x1f, min = 0x80;
    else if (b >= 0xe0 && b <= 0xef)
        need = 2, v = b & 0x0f, min = 0x800;
    else if (b >= 0xf0 && b <= 0xf4)
        need = 3, v = b & 0x07, min = 0x10000;
    else
        return 0;
    if (n < need + 1)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return need + 1;
}

static int width_of(uint32_t cp)
{
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

static int is_bidi(uint32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Check out as text_clean's result; returns its width. */
static int check_clean(const char *out, int multiline)
{
    const unsigned char *u = (const unsigned char *)out;
    size_t n = strlen(out);
    int w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = decode(u + i, n - i, &cp);
        FUZZ_CHECK(l > 0);
        FUZZ_CHECK(cp >= 0x20 || (cp == '\n' && multiline));
        FUZZ_CHECK(cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) && !is_bidi(cp));
        FUZZ_CHECK(cp != 0x2028 && cp != 0x2029);
        w += width_of(cp);
        i += l;
    }
    return w;
}

struct wrap_check {
    const char *s;
    size_t len;
    int cols;
    int calls;
    size_t kept; /* non-space bytes seen in lines */
    size_t last_end;
};

static void on_line(const char *line, size_t n, void *arg)
{
    struct wrap_check *wc = arg;
    wc->calls++;
    FUZZ_CHECK(line >= wc->s && line + n <= wc->s + wc->len);
    FUZZ_CHECK((size_t)(line - wc->s) >= wc->last_end); /* in order, no overlap */
    wc->last_end = (size_t)(line - wc->s) + n;
    FUZZ_CHECK(memchr(line, '\n', n) == NULL);
    FUZZ_CHECK(n == 0 || line[n - 1] != ' ');
    int w = 0, nz = 0, big = 0; /* nz: code points with a width; big: of them wider than
                                     a line and not a space */
    const unsigned char *u = (const unsigned char *)line;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = decode(u + i, n - i, &cp);
        FUZZ_CHECK(l > 0); /* lines never split a character */
        int cw = width_of(cp);
        w += cw;
        nz += cw > 0;
        big += cw > wc->cols && cp != ' ';
        i += l;
    }
    for (size_t i = 0; i < n; i++)
        wc->kept += line[i] != ' ';
    if (w > wc->cols) {
        /* the one exception: a single character wider than a line (with zero-width ones
         * around it) */
        FUZZ_CHECK(nz == 1 && big == 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 64 * 1024)
        return 0;
    int flags = data[0] & 1 ? TEXT_MULTILINE : 0;
    int ellipsis = data[0] >> 1 & 1;
    size_t outsz = data[0] >> 2;
    int cols = data[1];
    const char *in = (const char *)data + 2;
    size_t len = size - 2;

    char *out = text_clean(in, len, flags);
    FUZZ_CHECK(out != NULL);
    int w = check_clean(out, flags & TEXT_MULTILINE);
    size_t olen = strlen(out);

    /* idempotent */
    char *again = text_clean(out, olen, flags);
    FUZZ_CHECK(strcmp(again, out) == 0);
    free(again);

    /* width */
    FUZZ_CHECK(text_width(out) == w);

    /* fit */
    char fit[64];
    memset(fit, 'Z', sizeof(fit));
    int fw = text_fit(out, cols, ellipsis, fit, outsz);
    if (outsz == 0) {
        FUZZ_CHECK(fw == 0 && fit[0] == 'Z');
    } else {
        size_t fl = strlen(fit);
        FUZZ_CHECK(fl < outsz);
        FUZZ_CHECK(fw >= 0 && fw <= (cols > 0 ? cols : 0));
        FUZZ_CHECK(text_width(fit) == fw);
        check_clean(fit, flags & TEXT_MULTILINE);
        static const char ell[] = "\xe2\x80\xa6";
        if (fl <= olen && memcmp(fit, out, fl) == 0) {
            /* a plain prefix */
        } else {
            FUZZ_CHECK(ellipsis && fl >= 3 && memcmp(fit + fl - 3, ell, 3) == 0 &&
                       memcmp(fit, out, fl - 3) == 0 && fl - 3 < olen);
        }
        if (olen < outsz && w <= cols && cols > 0) /* it all fits: nothing is cut */
            FUZZ_CHECK(strcmp(fit, out) == 0);
    }

    /* wrap */
    struct wrap_check wc = {.s = out, .len = olen, .cols = cols < 1 ? 1 : cols};
    int lines = text_wrap(out, cols, on_line, &wc);
    FUZZ_CHECK(lines == wc.calls && lines >= 1);
    FUZZ_CHECK(text_wrap(out, cols, NULL, NULL) == lines);
    size_t nonspace = 0;
    for (size_t i = 0; i < olen; i++)
        nonspace += out[i] != ' ' && out[i] != '\n';
    FUZZ_CHECK(wc.kept == nonspace);
    free(out);

    /* the raw input must not crash the measuring functions either */
    char *raw = fuzz_strndup(in, len);
    (void)text_width(raw);
    int rw = text_fit(raw, cols, ellipsis, fit, outsz);
    FUZZ_CHECK(rw >= 0 && rw <= cols);
    (void)text_wrap(raw, cols, NULL, NULL);
    free(raw);
    return 0;
}
