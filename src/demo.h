/* demo.h - porter --demo: pmsim with the demo fixtures, and a throwaway configuration. */
#ifndef DEMO_H
#define DEMO_H

#include <sys/types.h>

#include "util.h"

struct demo {
    char dir[2048];        /* the demo directory (emptied at each start) */
    char pmsim[4096];      /* the simulator binary */
    char data[4096];       /* its fixtures */
    char sim_log[2100];    /* pmsim's output */
    char config_dir[2100]; /* accounts.conf and porter.conf, 0600 */
    char db[2100];
    char state[2100]; /* XDG_STATE_HOME for the log */
    int hook_port;    /* porter's webhook listener */
    int port[3];      /* hostaway, guesty, buildium */
    pid_t pid;        /* pmsim, 0 when not running */
};

/* Empty `dir` (NULL: $XDG_STATE_HOME/porter/demo; never a directory that is not a demo's
 * unless it is empty), start pmsim on free ports and write the configuration. Sets
 * XDG_STATE_HOME so that the log goes under dir. argv0 locates pmsim where /proc/self/exe
 * does not exist. 0, or -1 saying what is missing. */
int demo_start(struct demo *d, const char *dir, const char *argv0, struct err *e);
/* Stop pmsim (SIGTERM, then SIGKILL after 5 s). */
void demo_stop(struct demo *d);

#endif
