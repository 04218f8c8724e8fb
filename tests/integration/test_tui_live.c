/* test_tui_live.c - a person at the terminal: porter's interface in tmux (80x24) with the
 * engine running beside it; a guest writes at the PMS (pmsim) and the line appears on
 * screen without a key being pressed; hostile escape sequences in it are shown inert. */
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

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The visible screen as text. */
static char *screen(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -S %s capture-pane -p -t live 2>/dev/null", sock);
    FILE *p = popen(cmd, "r");
    char *out = calloc(1, 65536);
    size_t n = fread(out, 1, 65535, p);
    out[n] = '\0';
    pclose(p);
    return out;
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
             "tmux -S %s -f /dev/null new-session -d -s live -x 80 -y 24 "
             "'env TERM=xterm-256color XDG_STATE_HOME=%s %s --config %s --db %s/p.db; "
             "echo EXITED $?; sleep 30'",
             sock, dir, getenv("PORTER_BIN"), dir, dir);
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

static void test_live_arrival_and_hostile_text(void **state)
{
    (void)state;
    /* the first pull fills the inbox with the PMS's conversations */
    assert_true(wait_screen("Nora Jensen", 15000));
    char url[128];
    struct http_result r;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_sim/inject", sim.port[0]);
    http_do("POST", url, NULL,
            "{\"kind\":\"message\",\"body\":\"late check-in ok? zz93 \\u001b[2J\\u001b]52;c;aGk="
            "\\u0007 done\"}",
            &r);
    assert_int_equal(r.status, 200);
    http_result_free(&r);
    /* it arrives by webhook and is painted without any key press */
    assert_true(wait_screen("late check-in ok? zz93", 10000));
    char *s = screen();
    /* the escape sequences were shown inert: the screen was not cleared, no ESC or BEL
     * byte reached it, and the text after them is still there on the same line */
    assert_null(strchr(s, 0x1b));
    assert_null(strchr(s, 0x07));
    assert_non_null(strstr(s, "1 Inbox"));
    assert_non_null(strstr(s, "zz93 ?[2J?]52;c;aGk=? done"));
    free(s);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "tmux -S %s send-keys -t live q", sock);
    assert_int_equal(system(cmd), 0);
    assert_true(wait_screen("EXITED 0", 10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_live_arrival_and_hostile_text, up, down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
