/* notify.c - see notify.h */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

int notify_init(struct notify *n, struct err *e)
{
    if (pipe(n->fds) != 0)
        return err_set(e, errno, FINAL, "cannot create a pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(n->fds[i], F_SETFL, fcntl(n->fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(n->fds[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

void notify_fini(struct notify *n)
{
    for (int i = 0; i < 2; i++) {
        if (n->fds[i] >= 0)
            close(n->fds[i]);
        n->fds[i] = -1;
    }
}

void notify_poke(const struct notify *n)
{
    char c = 1;
    ssize_t r = write(n->fds[1], &c, 1);
    (void)r; /* EAGAIN: the pipe is full, the reader is already due to wake */
}

int notify_fd(const struct notify *n)
{
    return n->fds[0];
}

int notify_drain(const struct notify *n)
{
    char buf[256];
    int total = 0;
    ssize_t r;
    while ((r = read(n->fds[0], buf, sizeof(buf))) > 0)
        total += (int)r;
    return total;
}

int notify_wait(const struct notify *n, int timeout_ms)
{
    struct pollfd p = {.fd = n->fds[0], .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    if (r > 0) {
        notify_drain(n);
        return 1;
    }
    return 0;
}
