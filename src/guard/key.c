/*
 * Watermark keys: generation, files, derivation from a server secret.
 *
 * The key is the whole security of the watermark: whoever holds it can detect, forge (make any text
 * test positive) and strip (rewrite green tokens to red) the watermark. So no function here writes
 * key bytes anywhere but the key file, error messages name the path and never the contents, and
 * buffers that held key material are wiped with sodium_memzero (which the optimizer cannot drop).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard/guard.h"

static cirrus_status sodium_ready(cirrus_err *err) {
    if (sodium_init() < 0) return cirrus_errf(err, CIRRUS_ERR_INTERNAL, "libsodium failed to initialise");
    return CIRRUS_OK;
}

cirrus_status guard_key_generate(guard_key *out, cirrus_err *err) {
    cirrus_status st = sodium_ready(err);
    if (st) return st;
    randombytes_buf(out->bytes, sizeof out->bytes);
    return CIRRUS_OK;
}

void guard_key_wipe(guard_key *k) {
    if (k) sodium_memzero(k->bytes, sizeof k->bytes);
}

cirrus_status guard_key_derive(const void *secret, size_t len, const char *label, guard_key *out,
                               cirrus_err *err) {
    cirrus_status st = sodium_ready(err);
    if (st) return st;
    if (!secret || len < crypto_generichash_KEYBYTES_MIN)
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "server secret: %zu bytes, need at least %d", len,
                           (int)crypto_generichash_KEYBYTES_MIN);
    if (!label || !*label) return cirrus_errf(err, CIRRUS_ERR_INVALID, "key label: empty");
    /* BLAKE2b takes at most 64 key bytes: a longer secret is hashed down first (unkeyed, with a
     * domain prefix so the shortened secret is not the hash of the raw secret anyone could compute
     * from a leaked copy of a different derivation). */
    uint8_t key[crypto_generichash_KEYBYTES_MAX];
    size_t klen = len;
    if (len > sizeof key) {
        crypto_generichash_state s;
        static const char dom[] = "cirrus guard secret";
        crypto_generichash_init(&s, NULL, 0, sizeof key);
        crypto_generichash_update(&s, (const uint8_t *)dom, sizeof dom);
        crypto_generichash_update(&s, secret, len);
        crypto_generichash_final(&s, key, sizeof key);
        sodium_memzero(&s, sizeof s);
        klen = sizeof key;
    } else {
        memcpy(key, secret, len);
    }
    crypto_generichash(out->bytes, sizeof out->bytes, (const uint8_t *)label, strlen(label), key, klen);
    sodium_memzero(key, sizeof key);
    return CIRRUS_OK;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

cirrus_status guard_key_load(const char *path, guard_key *out, cirrus_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cirrus_errf(err, CIRRUS_ERR_IO, "key file %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_IO, "key file %s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_INVALID, "key file %s: not a regular file", path);
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return cirrus_errf(err, CIRRUS_ERR_INVALID,
                           "key file %s: readable by group or others (mode %03o); chmod 600 it", path,
                           (unsigned)(sb.st_mode & 0777));
    }
    /* 64 hex digits + a CRLF at most: anything longer is not a key file. */
    uint8_t buf[80];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            sodium_memzero(buf, sizeof buf);
            return cirrus_errf(err, CIRRUS_ERR_IO, "key file %s: %s", path, strerror(e));
        }
        if (r == 0 || (n += (size_t)r) == sizeof buf) break;
    }
    close(fd);
    cirrus_status st = CIRRUS_OK;
    if (n == GUARD_KEY_BYTES) {
        memcpy(out->bytes, buf, GUARD_KEY_BYTES);
    } else {
        size_t len = n;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) len--;
        if (len != 2 * GUARD_KEY_BYTES) {
            st = cirrus_errf(err, CIRRUS_ERR_FORMAT,
                             "key file %s: expected 64 hex digits or 32 raw bytes, found %zu bytes", path, n);
        } else {
            for (size_t i = 0; i < GUARD_KEY_BYTES && st == CIRRUS_OK; i++) {
                int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
                if (hi < 0 || lo < 0)
                    st = cirrus_errf(err, CIRRUS_ERR_FORMAT, "key file %s: not a hex digit at byte %zu", path,
                                     hi < 0 ? 2 * i : 2 * i + 1);
                else
                    out->bytes[i] = (uint8_t)(hi << 4 | lo);
            }
        }
    }
    sodium_memzero(buf, sizeof buf);
    if (st) guard_key_wipe(out);
    return st;
}

cirrus_status guard_key_save(const char *path, const guard_key *k, bool overwrite, cirrus_err *err) {
    /* O_EXCL: never follow a link an attacker planted, never clobber a key by accident (a lost
     * key makes every earlier output undetectable). Overwrite goes through a fresh temporary
     * file renamed over the old one, so a crash leaves the old key or the new one. */
    char tmp[4096];
    const char *target = path;
    if (overwrite) {
        int m = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
        if (m < 0 || (size_t)m >= sizeof tmp) return cirrus_errf(err, CIRRUS_ERR_RANGE, "key file %s: path too long", path);
        target = tmp;
    }
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return cirrus_errf(err, CIRRUS_ERR_IO, "key file %s: %s", target, strerror(errno));
    char hex[2 * GUARD_KEY_BYTES + 2];
    sodium_bin2hex(hex, sizeof hex - 1, k->bytes, GUARD_KEY_BYTES);
    hex[2 * GUARD_KEY_BYTES] = '\n';
    hex[2 * GUARD_KEY_BYTES + 1] = 0;
    size_t off = 0, len = 2 * GUARD_KEY_BYTES + 1;
    int e = 0;
    while (off < len) {
        ssize_t w = write(fd, hex + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        off += (size_t)w;
    }
    sodium_memzero(hex, sizeof hex);
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (!e && overwrite && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(target);
        return cirrus_errf(err, CIRRUS_ERR_IO, "key file %s: %s", path, strerror(e));
    }
    return CIRRUS_OK;
}
