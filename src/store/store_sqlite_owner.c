/*
 * S4 on SQLite: the store's one live owner holds an exclusive flock on DB.lock, a file beside the
 * database. The kernel drops an flock with the last descriptor of the open file, so a killed owner
 * never blocks the next start (no stale-lock cleanup, no pid guessing). The file's one line names
 * the holder (store_owner_format) for the message the next claimant prints; it is written only
 * while holding the lock and emptied at a clean close.
 *
 * The lock is separate from SQLite's own locks: control-plane readers and writers (the CLI) keep
 * sharing the database while a server owns it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "store/store_sqlite.h"

/* The holder may have just taken the lock and not yet written its line: read again briefly. */
static void read_holder(int fd, store_owner *holder) {
    memset(holder, 0, sizeof *holder);
    for (int attempt = 0; attempt < 20; attempt++) {
        char line[STORE_HOST_MAX + 64];
        ssize_t n = pread(fd, line, sizeof line - 1, 0);
        if (n > 0) {
            line[n] = 0;
            if (store_owner_parse(line, holder)) return;
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
}

cirrus_status sq_owner_claim(store *s, store_owner *holder, cirrus_err *err) {
    sq_store *q = (sq_store *)s;
    pthread_mutex_lock(&q->mu);
    cirrus_status st = CIRRUS_OK;
    if (q->lock_fd >= 0) goto out;
    char path[1100];
    snprintf(path, sizeof path, "%s.lock", q->base.location);
    /* CLOEXEC: a child this process starts (cirrus demo starts its server) must not inherit it */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = cirrus_errf(err, CIRRUS_ERR_IO, "store: cannot open the owner lock %s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            read_holder(fd, holder);
            st = CIRRUS_ERR_INVALID;
        } else {
            st = cirrus_errf(err, CIRRUS_ERR_IO, "store: cannot lock %s: %s", path, strerror(errno));
        }
        close(fd);
        goto out;
    }
    store_owner me;
    char line[STORE_HOST_MAX + 64];
    store_owner_self(&me);
    store_owner_format(&me, line, sizeof line);
    size_t n = strlen(line);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, n, 0) != (ssize_t)n) {
        st = cirrus_errf(err, CIRRUS_ERR_IO, "store: cannot write the owner lock %s: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    q->lock_fd = fd;
out:
    pthread_mutex_unlock(&q->mu);
    return st;
}

void sq_owner_release(sq_store *q) {
    if (q->lock_fd < 0) return;
    if (ftruncate(q->lock_fd, 0) != 0) { /* a stale line only words a message; the lock is what counts */ }
    close(q->lock_fd); /* releases the flock */
    q->lock_fd = -1;
}
