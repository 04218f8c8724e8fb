/* test_keymap.c - commands, default bindings, key names and [keys] from a real
 * porter.conf: good lines rebind, bad lines are reported as FILE:LINE and change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "keymap.h"

static void test_key_names_round_trip(void **state)
{
    (void)state;
    static const char *const names[] = {"r",      "R",       "?",     "/",       "C-l",
                                        "C-d",    "<Enter>", "<Esc>", "<Tab>",   "<PageDown>",
                                        "<Home>", "<F1>",    "<F12>", "<Space>", "<Up>"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int k = keymap_parse_key(names[i]);
        assert_true(k >= 0);
        char back[24];
        keymap_key_name(k, back, sizeof(back));
        assert_string_equal(back, names[i]);
    }
    static const char *const bad[] = {"",      "rr",     "C-", "C-1", "C-i",
                                      "<F13>", "<Nope>", "é",  "F1",  "<F0>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(keymap_parse_key(bad[i]), -1);
    assert_int_equal(keymap_parse_key("<enter>"), '\n'); /* names are case-insensitive */
}

static void test_defaults_per_view(void **state)
{
    (void)state;
    struct keymap *km = keymap_new();
    assert_string_equal(keymap_lookup(km, VIEW_INBOX, 'r'), "reply");
    assert_null(keymap_lookup(km, VIEW_BOARD, 'r')); /* no reply on the board */
    assert_string_equal(keymap_lookup(km, VIEW_BOARD, 'q'), "quit");
    assert_string_equal(keymap_lookup(km, VIEW_HEALTH, '?'), "help");
    assert_string_equal(keymap_lookup(km, VIEW_INBOX, KEY_NPAGE), "page-down");
    assert_string_equal(keymap_lookup(km, VIEW_BOARD, 'l'), "column-right");
    /* every default names a command that exists in its views */
    for (const struct command *c = commands; c->name; c++) {
        assert_non_null(c->help);
        assert_true(c->views != 0);
    }
    char keys[64];
    keymap_keys_of(km, VIEW_INBOX, "down", keys, sizeof(keys));
    assert_string_equal(keys, "j, <Down>");
    keymap_free(&km);
    assert_null(km);
}

static void test_completion(void **state)
{
    (void)state;
    const char *out[64];
    size_t n = command_complete("filter-", VIEW_INBOX, out, 64);
    assert_true(n >= 9);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(strncmp(out[i], "filter-", 7), 0);
    /* the board has its own filters, and of the inbox's only "mine" */
    n = command_complete("filter-", VIEW_BOARD, out, 64);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_true(strcmp(out[i], "filter-clear") == 0 ||
                    strcmp(out[i], "filter-emergency") == 0 ||
                    strcmp(out[i], "filter-overdue") == 0 || strcmp(out[i], "filter-mine") == 0);
    assert_int_equal(command_complete("rep", VIEW_INBOX, out, 64), 2); /* reply, reply-editor */
    assert_int_equal(command_complete("zzz", VIEW_ANY, out, 64), 0);
    assert_non_null(command_find("quit"));
    assert_null(command_find("nope"));
}

/* A real porter.conf with good and bad [keys] lines. */
static void test_conf_rebinds_and_reports_bad_lines(void **state)
{
    (void)state;
    char dir[] = "/tmp/porter-keymap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/porter.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("[keys]\n"           /* 1 */
          "S = reply\n"        /* 2: every view where reply exists (inbox) */
          "inbox.C-r = note\n" /* 3 */
          "board.S = quit\n"   /* 4: the board's S quits */
          "Q = frobnicate\n"   /* 5: bad command */
          "<Bogus> = quit\n"   /* 6: bad key */
          "board.r = reply\n"  /* 7: reply does not exist on the board */
          "x = none\n",        /* 8: unbind */
          f);
    fclose(f);
    struct err e;
    struct config *c = config_new(dir, NULL, &e);
    assert_non_null(c);
    assert_int_equal(config_load(c, &e), 0);
    struct keymap *km = keymap_new();
    char **warn = NULL;
    size_t nwarn = 0;
    keymap_load(km, c, &warn, &nwarn);
    assert_string_equal(keymap_lookup(km, VIEW_INBOX, 'S'), "reply");
    assert_string_equal(keymap_lookup(km, VIEW_INBOX, 18 /* C-r */), "note");
    assert_string_equal(keymap_lookup(km, VIEW_BOARD, 'S'), "quit");
    assert_null(keymap_lookup(km, VIEW_INBOX, 'x'));
    assert_null(keymap_lookup(km, VIEW_ANY, 'Q')); /* the bad lines changed nothing */
    assert_null(keymap_lookup(km, VIEW_BOARD, 'r'));
    assert_string_equal(keymap_lookup(km, VIEW_INBOX, 'r'), "reply"); /* defaults stay */
    assert_int_equal(nwarn, 3);
    char want[160];
    snprintf(want, sizeof(want), "%s:5: ", path);
    assert_non_null(strstr(warn[0], want));
    assert_non_null(strstr(warn[0], "frobnicate"));
    snprintf(want, sizeof(want), "%s:6: ", path);
    assert_non_null(strstr(warn[1], want));
    assert_non_null(strstr(warn[1], "not a key"));
    snprintf(want, sizeof(want), "%s:7: ", path);
    assert_non_null(strstr(warn[2], want));
    assert_non_null(strstr(warn[2], "does not exist in that view"));
    for (size_t i = 0; i < nwarn; i++)
        free(warn[i]);
    free(warn);
    keymap_free(&km);
    config_free(&c);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_names_round_trip),
        cmocka_unit_test(test_defaults_per_view),
        cmocka_unit_test(test_completion),
        cmocka_unit_test(test_conf_rebinds_and_reports_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
