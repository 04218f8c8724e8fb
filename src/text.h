/* text.h - making remote text safe and measuring it for the terminal.
 *
 * Every string that comes from a PMS (guest names, message bodies, property names) goes
 * through text_clean() before it is drawn: the result is valid UTF-8 without control
 * characters, escape sequences or bidi controls, so a hostile message cannot move the
 * cursor, retitle the window, write the clipboard or overwrite text already on screen.
 * The other functions measure, cut and wrap cleaned text in display columns.
 *
 * Pure string code: no curses. Widths come from wcwidth(), so the caller must have set a
 * UTF-8 locale (setlocale(LC_ALL, "")) before measuring.
 */
#ifndef PORTER_TEXT_H
#define PORTER_TEXT_H

#include <stddef.h>

enum {
    /* Keep line breaks as '\n' and expand tabs to the next multiple of TEXT_TABSTOP
     * columns. Without it, every run of newlines, carriage returns and tabs becomes one
     * space. */
    TEXT_MULTILINE = 1
};

enum { TEXT_TABSTOP = 8 };

/* Sanitise len bytes of in (NUL bytes inside are allowed and handled as controls) into a
 * fresh NUL-terminated string of valid UTF-8 that is safe to print. The caller owns the
 * result and frees it with free(). Never returns NULL: allocation failure aborts (xmalloc).
 * in may be NULL when len is 0.
 *
 *  - Invalid UTF-8 becomes one U+FFFD per bad sequence: a byte that cannot start a
 *    sequence (stray continuation byte, F8-FF); a lead byte with the continuation bytes
 *    that follow it when there are fewer than it announces (truncated); a complete
 *    sequence that is overlong, a surrogate or past U+10FFFF ("\xc0\xaf",
 *    "\xed\xa0\x80" and "\xf4\x90\x80\x80" are one U+FFFD each). Decoding resyncs at
 *    the first byte that is not a continuation byte, so a bad sequence never swallows
 *    the ASCII byte after it.
 *  - Escape sequences are removed whole: CSI (ESC [ params intermediates final), OSC
 *    (ESC ] ... BEL or ST), DCS/SOS/PM/APC (ESC P/X/^/_ ... ST), and ESC with optional
 *    intermediates and one final byte (ESC c, ESC ( 0, ESC # 8, ...). The C1 forms
 *    U+009B, U+009D, U+0090, U+0098, U+009E, U+009F start the same sequences, whether
 *    encoded in UTF-8 or sent as raw 8-bit bytes. An unterminated sequence is removed to
 *    the end of the input.
 *  - Other C0 controls, DEL and C1 controls (U+0080-U+009F) are dropped, not replaced:
 *    they carry no text. Backspace is one of them, so nothing can be overwritten.
 *    Raw bytes 0x80-0x9f other than the sequence starters and ST are invalid UTF-8 and
 *    become U+FFFD (usually a mis-encoded Windows-1252 character).
 *  - "\r\n" is a newline; a lone "\r" is a newline too (a space in single-line mode), so
 *    "safe\rEVIL" cannot overwrite "safe". U+2028 and U+2029 are newlines as well.
 *  - Bidi controls U+061C, U+200E, U+200F, U+202A-U+202E and U+2066-U+2069 are removed.
 */
char *text_clean(const char *in, size_t len, int flags);

/* Display columns of s, which should be valid UTF-8 as made by text_clean(). Each code
 * point counts wcwidth(); one with wcwidth < 0 counts 1 (it is drawn as a replacement),
 * and so does each invalid sequence. NULL counts 0. */
int text_width(const char *s);

/* Copy into out (outsz bytes, always NUL-terminated when outsz > 0) the longest prefix of
 * s that fits in cols columns and in outsz - 1 bytes. A UTF-8 sequence is never split and
 * a wide character that would straddle the edge is left out; zero-width characters stay
 * with the character before them. When s had to be cut and ellipsis is non-zero, the last
 * column used is "…" (U+2026) - unless outsz is too small to hold it. Returns the columns
 * used, which can be less than cols; the caller pads. */
int text_fit(const char *s, int cols, int ellipsis, char *out, size_t outsz);

/* Word-wrap s into lines of at most cols columns (cols < 1 counts as 1). Each '\n' ends a
 * line; otherwise lines break at runs of spaces (which are dropped at the break) and on
 * either side of a wide (CJK) character. A word longer than a line is broken at a
 * character boundary. Leading spaces of a paragraph are kept, trailing spaces of a line
 * are not. The one case a line can exceed cols is a single character wider than cols.
 * Calls fn(line, n, arg) per line in order; line points into s and is NOT NUL-terminated,
 * n is its length in bytes. fn may be NULL to only count. Returns the number of lines:
 * empty input (or NULL) is one empty line, "a\n" is two. */
int text_wrap(const char *s, int cols, void (*fn)(const char *line, size_t n, void *arg),
              void *arg);

/* One {name} of a template and its value (NULL or "": none). */
struct text_var {
    const char *name, *value;
};

/* Expand {name} in tpl from vars into out (at most n bytes, NUL-terminated; a longer result
 * is cut). {name|fallback} gives fallback when name has no value. 0, or -1 with *why saying
 * what blocks it: an unclosed {, a name that is not in vars, or a name with no value and
 * no fallback (a message is never sent half-filled). */
int text_expand(const char *tpl, const struct text_var *vars, size_t nvars, char *out, size_t n,
                char *why, size_t nwhy);

#endif
