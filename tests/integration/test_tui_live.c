/* test_tui_live.c - a person at the terminal: porter's interface in tmux with the engine
 * running beside it, against pmsim (Hostaway), at 80x24 and at 200x50. A guest writes at
 * the PMS and the line appears without a key being pressed, hostile escape sequences in it
 * inert; a reply typed in the conversation shows pending, then sent, and reaches the PMS
 * exactly once; an internal note never reaches it; a resize reflows, and below the minimum
 * size the screen says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simctl.h"

static char dir[64], sock[128];
static struct simproc sim;
static int width = 80, height = 24;

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The output of a tmux command on the test's server. */
static char *tmux_out(const char *what)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -S %s %s 2>/dev/null", sock, what);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    size_t n = fread(out, 1, 65535, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

static char *screen(void)
{
    return tmux_out("capture-pane -p -t live");
}

static int wait_screen(const char *needle, int ms)
{
    for (int t = 0; t < ms; t += 100) {
        char *s = screen();
        int found = strstr(s, needle) != NULL;
        free(s);
        if (found)
            return 1;
        msleep(100);
    }
    return 0;
}

static int up(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/porter-live-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/tmux.sock", dir);
    int hook = sim_free_port();
    char url[96], epoch[32];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/ha", hook);
    snprintf(epoch, sizeof(epoch), "%lld", (long long)time(NULL) * 1000);
    const char *argv[] = {"--account", "hostaway:0", "--data", "data/demo", "--webhook-url",
                          url,         "--epoch",    epoch,    "--fault",   "rate_limit_off=1",
                          NULL};
    assert_int_equal(sim_spawn(&sim, argv), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/accounts.conf", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "[ha]\nadapter = hostaway\nbase_url = http://127.0.0.1:%d/v1\nclient_id = 10450\n"
            "secret = c2a8f3e1b7d94a06e5f1c3b9a7d2e4f6081b3c5d7e9f1a2b4c6d8e0f2a4b6c8d\n"
            "webhook_secret = porter:change-me\nrate_limit = 100\n",
            sim.port[0]);
    fclose(f);
    chmod(path, 0600);
    snprintf(path, sizeof(path), "%s/porter.conf", dir);
    f = fopen(path, "w");
    fprintf(f, "[webhook]\nlisten = 127.0.0.1:%d\n", hook);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "tmux -S %s -f /dev/null new-session -d -s live -x %d -y %d "
             "'env TERM=xterm-256color USER=tester XDG_STATE_HOME=%s %s --config %s --db %s/p.db; "
             "echo EXITED $?; sleep 30'",
             sock, width, height, dir, getenv("PORTER_BIN"), dir, dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int down(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -S %s kill-server 2>/dev/null; rm -rf %s", sock, dir);
    if (system(cmd) != 0)
        return -1;
    sim_kill(&sim);
    return 0;
}

static void keys(const char *k)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "tmux -S %s send-keys -t live %s", sock, k);
    assert_int_equal(system(cmd), 0);
}

static char *pane_title(void)
{
    return tmux_out("display-message -p -t live '#{pane_title}'");
}

static void inject(const char *body)
{
    char url[128];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/inject", sim.port[0]);
    http_do("POST", url, NULL, body, &r);
    assert_int_equal(r.status, 200);
    http_result_free(&r);
}

/* The send state on the header line of the outbound message whose body holds needle:
 * 'p' pending, 's' sent, 'f' failed, 0 when the message is not on screen. */
static int state_of(const char *needle)
{
    char *s = screen();
    char *hit = NULL; /* the last one: beside the list, the list row comes first */
    for (char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        hit = p;
    int st = 0;
    if (hit) {
        *hit = '\0';
        char *head = strstr(s, "◂ out"), *last = NULL;
        for (; head; head = strstr(head + 1, "◂ out"))
            last = head;
        if (last) {
            char *eol = strchr(last, '\n');
            if (eol)
                *eol = '\0';
            st = strstr(last, "pending")  ? 'p'
                 : strstr(last, "sent")   ? 's'
                 : strstr(last, "FAILED") ? 'f'
                                          : 0;
        }
    }
    free(s);
    return st;
}

static int wait_state(const char *needle, int want, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        if (state_of(needle) == want)
            return 1;
        msleep(50);
    }
    return 0;
}

static void test_live_arrival_and_hostile_text(void **state)
{
    (void)state;
    /* the first pull fills the inbox with the PMS's conversations */
    assert_true(wait_screen("Nora Jensen", 15000));
    char *title = pane_title();
    inject("{\"kind\":\"message\",\"body\":\"late check-in ok? zz93 \\u001b[2J\\u001b]52;c;aGk="
           "\\u0007\\u001b]0;pwned\\u0007\\u001b]8;;http://evil/\\u0007link\\u001b]8;;\\u0007 "
           "done\"}");
    /* it arrives by webhook and is painted without any key press */
    assert_true(wait_screen("late check-in ok? zz93", 10000));
    char *s = screen();
    /* the escape sequences were removed whole: the screen was not cleared, the title was
     * not set, no ESC or BEL byte reached the terminal, and the text around them stays */
    assert_null(strchr(s, 0x1b));
    assert_null(strchr(s, 0x07));
    assert_non_null(strstr(s, "1 Inbox"));
    assert_non_null(strstr(s, "zz93 link done"));
    assert_null(strstr(s, "52;c"));
    free(s);
    char *after = pane_title();
    assert_string_equal(after, title);
    assert_null(strstr(after, "pwned"));
    free(title);
    free(after);
    keys("q");
    assert_true(wait_screen("EXITED 0", 10000));
}

/* Open the newest thread, reply, watch pending turn into sent; then a note. */
static void test_reply_pending_then_sent_and_note_stays_local(void **state)
{
    (void)state;
    assert_true(wait_screen("Nora Jensen", 15000));
    inject("{\"kind\":\"message\",\"body\":\"where do I park? pk71\"}");
    assert_true(wait_screen("pk71", 10000));
    keys("g Enter"); /* the thread that needs a reply is first */
    assert_true(wait_screen("where do I park? pk71", 5000));
    /* the PMS answers slowly, so that the pending state is on screen for a while */
    char url[128];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/faults", sim.port[0]);
    http_do("POST", url, NULL, "{\"latency_ms\":1500}", &r);
    http_result_free(&r);
    keys("r");
    assert_true(wait_screen("Reply via", 3000));
    keys("-l 'Behind the building, spot 4 rq52'");
    keys("Enter");
    /* pending first (the pusher has not run yet, or the PMS has not answered) ... */
    int saw_pending = wait_state("rq52", 'p', 3000);
    /* ... then sent, once the PMS confirmed */
    assert_true(wait_state("rq52", 's', 15000));
    assert_true(saw_pending);
    assert_int_equal(sim_writes_with(sim.port[0], "spot 4 rq52"), 1);
    keys("I");
    assert_true(wait_screen("Internal note", 3000));
    keys("-l 'guest seems anxious, call before noon nt38'");
    keys("Enter");
    assert_true(wait_screen("INTERNAL NOTE", 5000));
    assert_true(wait_screen("nt38", 5000));
    sleep(3); /* every pusher pass has run by now */
    assert_int_equal(sim_writes_with(sim.port[0], "nt38"), 0);
    assert_int_equal(sim_writes_with(sim.port[0], "spot 4 rq52"), 1);
    keys("q q");
    assert_true(wait_screen("EXITED 0", 10000));
}

static void test_resize_reflows_and_too_small(void **state)
{
    (void)state;
    assert_true(wait_screen("Nora Jensen", 15000));
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -S %s resize-window -t live -x 50 -y 12", sock);
    assert_int_equal(system(cmd), 0);
    assert_true(wait_screen("terminal too small", 5000));
    snprintf(cmd, sizeof(cmd), "tmux -S %s resize-window -t live -x %d -y %d", sock, width + 20,
             height + 6);
    assert_int_equal(system(cmd), 0);
    assert_true(wait_screen("Nora Jensen", 5000));
    char *s = screen();
    assert_null(strstr(s, "terminal too small"));
    /* the bars span the new width: the status bar's last line is as wide as the window */
    int lines = 0;
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, height + 6);
    free(s);
    keys("q");
    assert_true(wait_screen("EXITED 0", 10000));
}

static int up_large(void **state)
{
    width = 200;
    height = 50;
    return up(state);
}

static int up_small(void **state)
{
    width = 80;
    height = 24;
    return up(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_live_arrival_and_hostile_text, up_small, down),
        cmocka_unit_test_setup_teardown(test_reply_pending_then_sent_and_note_stays_local, up_small,
                                        down),
        cmocka_unit_test_setup_teardown(test_resize_reflows_and_too_small, up_small, down),
        cmocka_unit_test_setup_teardown(test_live_arrival_and_hostile_text, up_large, down),
        cmocka_unit_test_setup_teardown(test_reply_pending_then_sent_and_note_stays_local, up_large,
                                        down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
