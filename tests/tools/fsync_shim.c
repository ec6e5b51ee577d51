/*
 * A slow or failing disk for tests, by LD_PRELOAD: fsync and fdatasync read a control file on every
 * call and do what it says, so a test can change the disk's behaviour while the process runs.
 *
 *   CIRRUS_FSYNC_CTL=/path/to/ctl LD_PRELOAD=.../libcirrus_fsync_shim.so cirrus serve ...
 *
 *   ctl empty or absent   the real call
 *   "delay MS"            sleep MS milliseconds, then the real call (a slow disk)
 *   "fail"                fail with EIO without syncing (a dying disk; SQLite reports IOERR_FSYNC)
 *
 * Under ASan the preloaded library comes before the sanitizer runtime: the test sets
 * ASAN_OPTIONS=verify_asan_link_order=0.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*sync_fn)(int);

/* -1: fail; otherwise the delay in ms (0: none). Reads with the raw syscalls only. */
static long what_to_do(void) {
    const char *path = getenv("CIRRUS_FSYNC_CTL");
    if (!path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char b[64] = {0};
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0) return 0;
    if (!strncmp(b, "fail", 4)) return -1;
    if (!strncmp(b, "delay ", 6)) return strtol(b + 6, NULL, 10);
    return 0;
}

static int shim(int fd, const char *name) {
    long what = what_to_do();
    if (what < 0) {
        errno = EIO;
        return -1;
    }
    if (what > 0) {
        struct timespec ts = {what / 1000, (what % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
    sync_fn real = (sync_fn)dlsym(RTLD_NEXT, name);
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd);
}

int fsync(int fd) { return shim(fd, "fsync"); }
int fdatasync(int fd) { return shim(fd, "fdatasync"); }
