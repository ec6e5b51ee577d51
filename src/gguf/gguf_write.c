/*
 * GGUF writer: collects metadata and tensors, then writes a GGUF v3 file atomically.
 *
 * Each kv is serialized (type + value, without the key) when it is added, so the writer owns its
 * bytes from then on and the caller's arrays and strings need not outlive the call. Tensors are
 * copied for the same reason. Offsets and padding are decided only at write time.
 *
 * Invariants of a gguf_writer:
 *  1. keys are unique; tensor names are unique.
 *  2. every stored value is one the reader accepts (known types, nesting <= GGUF_MAX_NEST), and
 *     general.alignment, when present, is a u32 power of two and equals w->alignment.
 *  3. every tensor's nbytes equals its row size times its rows for its (known) type.
 * So a file written from a writer always reads back, and refusal happens at the gguf_w_* call that
 * would break an invariant (CIRRUS_ERR_INVALID), not at write time.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf/gguf_impl.h"
#include "kernels/kernels.h"

/* ---- growable byte buffer (one per kv) ----------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool failed; /* an allocation failed; later appends are dropped and the caller reports NOMEM */
} bytes;

static void put(bytes *b, const void *src, size_t n) {
    if (b->failed || n == 0) return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n) cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_le(bytes *b, uint64_t v, size_t n) {
    uint8_t tmp[8];
    for (size_t i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    put(b, tmp, n);
}

static void put_str(bytes *b, const char *s, uint64_t len) {
    put_le(b, len, 8);
    put(b, s, (size_t)len);
}

/* ---- the writer ---------------------------------------------------------------------------- */

typedef struct {
    char *key;
    bytes val; /* u32 type + value */
} wkv;

typedef struct {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    void *data;
    size_t nbytes;
} wtensor;

struct gguf_writer {
    wkv *kvs;
    size_t n_kv, cap_kv;
    wtensor *ts;
    size_t n_ts, cap_ts;
    uint32_t alignment;
};

cirrus_status gguf_writer_new(gguf_writer **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return CIRRUS_ERR_NOMEM;
    (*out)->alignment = GGUF_DEFAULT_ALIGNMENT;
    return CIRRUS_OK;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].val.p);
    }
    for (size_t i = 0; i < w->n_ts; i++) {
        free(w->ts[i].name);
        free(w->ts[i].data);
    }
    free(w->kvs);
    free(w->ts);
    free(w);
}

/* Grows *arr (of elements of size sz) so one more fits. */
static bool grow(void **arr, size_t *cap, size_t n, size_t sz) {
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * sz);
    if (!p) return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* Serializes an array body; false if it breaks invariant 2. */
static bool ser_array(bytes *b, const gguf_array *a, int depth) {
    if ((unsigned)a->type >= GGUF_TYPE_COUNT) return false;
    if (a->type == GGUF_TYPE_ARRAY && depth >= GGUF_MAX_NEST) return false;
    put_le(b, (uint32_t)a->type, 4);
    put_le(b, a->n, 8);
    size_t esz = gguf_type_size(a->type);
    if (esz) {
        uint64_t total;
        if (cirrus_mul_overflow_u64(a->n, esz, &total) || total > SIZE_MAX / 2) return false;
        if (a->n && !a->raw) return false;
        put(b, a->raw, (size_t)total);
        return true;
    }
    if (a->n && !(a->type == GGUF_TYPE_STRING ? (const void *)a->strs : (const void *)a->arrs))
        return false;
    for (uint64_t i = 0; i < a->n && !b->failed; i++) {
        if (a->type == GGUF_TYPE_STRING) {
            if (!a->strs[i].ptr && a->strs[i].len) return false;
            put_str(b, a->strs[i].ptr, a->strs[i].len);
        } else if (a->arrs[i].type != GGUF_TYPE_ARRAY || !ser_array(b, &a->arrs[i].v.arr, depth + 1)) {
            return false;
        }
    }
    return true;
}

/* Serializes type + value; false if the value does not fit its type or breaks invariant 2. */
static bool ser_value(bytes *b, const gguf_value *v) {
    put_le(b, (uint32_t)v->type, 4);
    switch (v->type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_UINT64: {
        size_t sz = gguf_type_size(v->type);
        if (sz < 8 && v->v.u64 >> (8 * sz)) return false;
        put_le(b, v->v.u64, sz);
        return true;
    }
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_INT16:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_INT64: {
        size_t sz = gguf_type_size(v->type);
        int64_t lim = sz < 8 ? (int64_t)1 << (8 * sz - 1) : 0;
        if (sz < 8 && (v->v.i64 < -lim || v->v.i64 >= lim)) return false;
        put_le(b, (uint64_t)v->v.i64, sz);
        return true;
    }
    case GGUF_TYPE_FLOAT32: {
        float f = (float)v->v.f64;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_le(b, bits, 4);
        return true;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &v->v.f64, 8);
        put_le(b, bits, 8);
        return true;
    }
    case GGUF_TYPE_BOOL: put_le(b, v->v.b ? 1 : 0, 1); return true;
    case GGUF_TYPE_STRING:
        if (!v->v.str.ptr && v->v.str.len) return false;
        put_str(b, v->v.str.ptr, v->v.str.len);
        return true;
    case GGUF_TYPE_ARRAY: return ser_array(b, &v->v.arr, 1);
    default: return false;
    }
}

cirrus_status gguf_w_value(gguf_writer *w, const char *key, const gguf_value *v) {
    if (!w || !key || !v) return CIRRUS_ERR_INVALID;
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kvs[i].key, key)) return CIRRUS_ERR_INVALID; /* invariant 1 */
    bool is_align = !strcmp(key, "general.alignment");
    if (is_align && (v->type != GGUF_TYPE_UINT32 || v->v.u64 == 0 || v->v.u64 > UINT32_MAX ||
                     (v->v.u64 & (v->v.u64 - 1))))
        return CIRRUS_ERR_INVALID; /* the reader would reject the file */
    bytes b = {0};
    if (!ser_value(&b, v)) {
        free(b.p);
        return b.failed ? CIRRUS_ERR_NOMEM : CIRRUS_ERR_INVALID;
    }
    char *k = strdup(key);
    if (b.failed || !k || !grow((void **)&w->kvs, &w->cap_kv, w->n_kv, sizeof *w->kvs)) {
        free(b.p);
        free(k);
        return CIRRUS_ERR_NOMEM;
    }
    w->kvs[w->n_kv++] = (wkv){k, b};
    if (is_align) w->alignment = (uint32_t)v->v.u64;
    return CIRRUS_OK;
}

cirrus_status gguf_w_u32(gguf_writer *w, const char *key, uint32_t v) {
    return gguf_w_value(w, key, &(gguf_value){.type = GGUF_TYPE_UINT32, .v.u64 = v});
}
cirrus_status gguf_w_i32(gguf_writer *w, const char *key, int32_t v) {
    return gguf_w_value(w, key, &(gguf_value){.type = GGUF_TYPE_INT32, .v.i64 = v});
}
cirrus_status gguf_w_u64(gguf_writer *w, const char *key, uint64_t v) {
    return gguf_w_value(w, key, &(gguf_value){.type = GGUF_TYPE_UINT64, .v.u64 = v});
}
cirrus_status gguf_w_f32(gguf_writer *w, const char *key, float v) {
    return gguf_w_value(w, key, &(gguf_value){.type = GGUF_TYPE_FLOAT32, .v.f64 = v});
}
cirrus_status gguf_w_bool(gguf_writer *w, const char *key, bool v) {
    return gguf_w_value(w, key, &(gguf_value){.type = GGUF_TYPE_BOOL, .v.b = v});
}
cirrus_status gguf_w_str(gguf_writer *w, const char *key, const char *v) {
    if (!v) return CIRRUS_ERR_INVALID;
    gguf_value val = {.type = GGUF_TYPE_STRING, .v.str = {v, strlen(v)}};
    return gguf_w_value(w, key, &val);
}

cirrus_status gguf_w_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data,
                         uint64_t n) {
    if (gguf_type_size(elem_type) == 0) return CIRRUS_ERR_INVALID; /* strings/arrays: not raw */
    gguf_value val = {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = elem_type, .n = n, .raw = data}};
    return gguf_w_value(w, key, &val);
}

cirrus_status gguf_w_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    if (n && !strs) return CIRRUS_ERR_INVALID;
    if (n > SIZE_MAX / sizeof(gguf_str)) return CIRRUS_ERR_NOMEM;
    gguf_str *s = n ? malloc((size_t)n * sizeof *s) : NULL;
    if (n && !s) return CIRRUS_ERR_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i]) {
            free(s);
            return CIRRUS_ERR_INVALID;
        }
        s[i] = (gguf_str){strs[i], strlen(strs[i])};
    }
    gguf_value val = {.type = GGUF_TYPE_ARRAY, .v.arr = {.type = GGUF_TYPE_STRING, .n = n, .strs = s}};
    cirrus_status st = gguf_w_value(w, key, &val);
    free(s);
    return st;
}

cirrus_status gguf_w_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                            const uint64_t *ne, const void *data, size_t nbytes) {
    if (!w || !name || !ne || (nbytes && !data)) return CIRRUS_ERR_INVALID;
    const kn_traits *tr = kn_type_traits(type);
    if (!tr || n_dims < 1 || n_dims > GGUF_MAX_DIMS) return CIRRUS_ERR_INVALID;
    wtensor t = {.type = type, .n_dims = n_dims, .ne = {1, 1, 1, 1}};
    uint64_t n = 1, row, rows, expect;
    for (uint32_t j = 0; j < n_dims; j++) {
        t.ne[j] = ne[j];
        if (ne[j] > INT64_MAX || cirrus_mul_overflow_u64(n, ne[j], &n) || n > INT64_MAX)
            return CIRRUS_ERR_INVALID;
    }
    if (t.ne[0] % tr->blck_size) return CIRRUS_ERR_INVALID;
    if (cirrus_mul_overflow_u64(t.ne[0] / tr->blck_size, tr->type_size, &row) ||
        cirrus_mul_overflow_u64(t.ne[1], t.ne[2], &rows) ||
        cirrus_mul_overflow_u64(rows, t.ne[3], &rows) ||
        cirrus_mul_overflow_u64(row, rows, &expect) || expect != nbytes)
        return CIRRUS_ERR_INVALID; /* invariant 3 */
    for (size_t i = 0; i < w->n_ts; i++)
        if (!strcmp(w->ts[i].name, name)) return CIRRUS_ERR_INVALID; /* invariant 1 */
    t.name = strdup(name);
    t.data = malloc(nbytes ? nbytes : 1);
    t.nbytes = nbytes;
    if (!t.name || !t.data || !grow((void **)&w->ts, &w->cap_ts, w->n_ts, sizeof *w->ts)) {
        free(t.name);
        free(t.data);
        return CIRRUS_ERR_NOMEM;
    }
    if (nbytes) memcpy(t.data, data, nbytes);
    w->ts[w->n_ts++] = t;
    return CIRRUS_OK;
}

/* ---- output ------------------------------------------------------------------------------ */

/* Buffered writes to an fd; the first failure sticks (errno saved) and later writes are no-ops. */
typedef struct {
    int fd;
    int err_no;
    size_t n;
    uint64_t total;
    uint8_t buf[1 << 16];
} out_file;

static void out_flush(out_file *o) {
    size_t done = 0;
    while (!o->err_no && done < o->n) {
        ssize_t k = write(o->fd, o->buf + done, o->n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) o->err_no = k < 0 ? errno : EIO;
        else done += (size_t)k;
    }
    o->n = 0;
}

static void out_put(out_file *o, const void *src, size_t len) {
    const uint8_t *s = src;
    o->total += len;
    while (len && !o->err_no) {
        if (o->n == sizeof o->buf) out_flush(o);
        size_t k = sizeof o->buf - o->n < len ? sizeof o->buf - o->n : len;
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        len -= k;
    }
}

static void out_le(out_file *o, uint64_t v, size_t n) {
    uint8_t tmp[8];
    for (size_t i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    out_put(o, tmp, n);
}

static void out_pad(out_file *o, uint64_t align) {
    static const uint8_t zeros[64];
    uint64_t pad = (align - o->total % align) % align;
    while (pad) {
        size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        out_put(o, zeros, k);
        pad -= k;
    }
}

static uint64_t pad_to(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static void write_all(gguf_writer *w, out_file *o) {
    out_put(o, "GGUF", 4);
    out_le(o, 3, 4);
    out_le(o, w->n_ts, 8);
    out_le(o, w->n_kv, 8);
    for (size_t i = 0; i < w->n_kv; i++) {
        out_le(o, strlen(w->kvs[i].key), 8);
        out_put(o, w->kvs[i].key, strlen(w->kvs[i].key));
        out_put(o, w->kvs[i].val.p, w->kvs[i].val.len);
    }
    /* Tensors are laid out in insertion order, each starting on an alignment boundary and padded
     * to one, as ggml does (its reader expects the padding after the last tensor too). */
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_ts; i++) {
        const wtensor *t = &w->ts[i];
        out_le(o, strlen(t->name), 8);
        out_put(o, t->name, strlen(t->name));
        out_le(o, t->n_dims, 4);
        for (uint32_t j = 0; j < t->n_dims; j++) out_le(o, t->ne[j], 8);
        out_le(o, t->type, 4);
        out_le(o, off, 8);
        off += pad_to(t->nbytes, w->alignment);
    }
    out_pad(o, w->alignment);
    for (size_t i = 0; i < w->n_ts; i++) {
        out_put(o, w->ts[i].data, w->ts[i].nbytes);
        out_pad(o, w->alignment);
    }
    out_flush(o);
}

/* fsync of the directory makes the rename itself durable; failures here are not fatal on
 * filesystems that do not support it (EINVAL), so they are ignored. */
static void sync_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

cirrus_status gguf_writer_write(gguf_writer *w, const char *path, cirrus_err *err) {
    if (!w || !path) return cirrus_errf(err, CIRRUS_ERR_INVALID, "gguf: write: no writer or path");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    out_file *o = calloc(1, sizeof *o);
    if (!tmp || !o) {
        free(tmp);
        free(o);
        return cirrus_errf(err, CIRRUS_ERR_NOMEM, "gguf: write %s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    cirrus_status st = CIRRUS_OK;
    o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0) {
        st = cirrus_errf(err, CIRRUS_ERR_IO, "gguf: cannot create %s: %s", tmp, strerror(errno));
        goto done;
    }
    write_all(w, o);
    if (!o->err_no && fsync(o->fd) != 0) o->err_no = errno;
    if (close(o->fd) != 0 && !o->err_no) o->err_no = errno;
    if (!o->err_no && rename(tmp, path) != 0) o->err_no = errno;
    if (o->err_no) {
        st = cirrus_errf(err, CIRRUS_ERR_IO, "gguf: cannot write %s: %s", path, strerror(o->err_no));
        unlink(tmp);
        goto done;
    }
    sync_dir(path);
done:
    free(tmp);
    free(o);
    return st;
}
