/* core's growable memory: the array, the bounded buffer, the arena and the hash table, each at
 * its bounds; the table also against a brute-force model under a random insert/delete/replace
 * workload (seed printed; CIRRUS_TEST_SEED replays it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/core.h"

static void test_vec(void) {
    CIRRUS_VEC(int) v = {0};
    for (int i = 0; i < 100; i++) CHECK(cirrus_vec_push(&v, 100, i) == CIRRUS_OK);
    CHECK(v.n == 100 && v.cap == 100);
    CHECK(cirrus_vec_push(&v, 100, 7) == CIRRUS_ERR_FULL);
    CHECK(v.n == 100);
    int sum = 0;
    for (size_t i = 0; i < v.n; i++) sum += v.v[i];
    CHECK(sum == 4950);
    free(v.v);
    /* elem * cap overflow is refused, not wrapped */
    void *p = NULL;
    size_t cap = 0;
    CHECK(cirrus_vec_reserve(&p, &cap, SIZE_MAX / 2, 16, SIZE_MAX) == CIRRUS_ERR_FULL);
    CHECK(p == NULL && cap == 0);
}

static void test_buf(void) {
    cirrus_buf b;
    cirrus_buf_init(&b, 10);
    CHECK(strcmp(cirrus_buf_str(&b), "") == 0);
    CHECK(cirrus_buf_adds(&b, "hello") == CIRRUS_OK);
    CHECK(cirrus_buf_addf(&b, "%d", 1234) == CIRRUS_OK);
    CHECK(b.len == 9 && strcmp(b.p, "hello1234") == 0);
    CHECK(cirrus_buf_addc(&b, '!') == CIRRUS_OK); /* exactly max */
    CHECK(cirrus_buf_addc(&b, '?') == CIRRUS_ERR_FULL);
    CHECK(cirrus_buf_adds(&b, "") == CIRRUS_ERR_FULL); /* sticky, even for nothing */
    CHECK(b.len == 10 && strcmp(b.p, "hello1234!") == 0);
    CHECK(cirrus_buf_take(&b, NULL) == NULL); /* a failed buffer hands out nothing */
    cirrus_buf_reset(&b);
    CHECK(b.fail == CIRRUS_OK && b.len == 0 && strcmp(cirrus_buf_str(&b), "") == 0);
    char *x = cirrus_buf_extend(&b, 3);
    CHECK(x != NULL);
    if (x) memcpy(x, "abc", 3);
    size_t n = 0;
    char *t = cirrus_buf_take(&b, &n);
    CHECK(t && n == 3 && strcmp(t, "abc") == 0);
    free(t);
    CHECK(b.p == NULL && b.len == 0 && b.max == 10);
    t = cirrus_buf_take(&b, &n); /* empty: "" */
    CHECK(t && n == 0 && t[0] == 0);
    free(t);
    /* a long formatted piece goes through the second vsnprintf */
    cirrus_buf_init(&b, 1 << 20);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(cirrus_buf_addf(&b, "<%s>", big) == CIRRUS_OK);
    CHECK(b.len == 1001 && b.p[0] == '<' && b.p[1000] == '>' && b.p[1001] == 0);
    cirrus_buf_free(&b);
}

static void test_arena(void) {
    cirrus_arena a;
    cirrus_arena_init(&a, 21000);
    char *s = cirrus_arena_strndup(&a, "abcdef", 3);
    CHECK(s && strcmp(s, "abc") == 0);
    void *p = cirrus_arena_alloc(&a, 5000);
    CHECK(p && ((uintptr_t)p & 15) == 0);
    void *q = cirrus_arena_alloc(&a, 12000); /* a block of its own: 8192 + 12000 <= 21000 */
    CHECK(q != NULL);
    CHECK(cirrus_arena_alloc(&a, 8192) == NULL); /* past max */
    CHECK(cirrus_arena_alloc(&a, SIZE_MAX - 3) == NULL);
    cirrus_arena_free(&a);
    CHECK(a.used == 0 && a.head == NULL);
}

typedef struct {
    char name[16];
    int value;
} item;

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_map(uint64_t seed) {
    enum { KEYS = 600 };
    static item items[KEYS];
    static bool present[KEYS];
    static int want[KEYS];
    memset(present, 0, sizeof present);
    for (int i = 0; i < KEYS; i++) snprintf(items[i].name, sizeof items[i].name, "key-%d", i);
    cirrus_map m;
    cirrus_map_init(&m, &cirrus_map_str, KEYS);
    uint64_t s = seed;
    size_t live = 0;
    for (int step = 0; step < 200000; step++) {
        int k = (int)(rnd(&s) % KEYS);
        int op = (int)(rnd(&s) % 3);
        if (op < 2) { /* insert or replace */
            void *old = NULL;
            items[k].value = step;
            CHECK(cirrus_map_put(&m, items[k].name, &items[k], &old) == CIRRUS_OK);
            CHECK((old != NULL) == present[k]);
            if (!present[k]) live++;
            present[k] = true;
            want[k] = step;
        } else {
            void *got = cirrus_map_del(&m, items[k].name);
            CHECK((got != NULL) == present[k]);
            if (present[k]) live--;
            present[k] = false;
        }
        if (step % 997 == 0) { /* the whole table against the model */
            for (int i = 0; i < KEYS; i++) {
                char probe[16];
                memcpy(probe, items[i].name, sizeof probe); /* a different pointer, same key */
                item *it = cirrus_map_get(&m, probe);
                CHECK_MSG((it != NULL) == present[i], "seed %llu step %d key %d", (unsigned long long)seed, step, i);
                if (it && present[i]) CHECK(it->value == want[i]);
            }
            CHECK(m.n == live);
            size_t walk = 0, it = 0;
            const void *key;
            void *val;
            while (cirrus_map_next(&m, &it, &key, &val)) walk++;
            CHECK(walk == live);
        }
    }
    cirrus_map_clear(&m);
    CHECK(m.n == 0 && cirrus_map_get(&m, "key-1") == NULL);
    cirrus_map_free(&m);

    /* the maximum holds; replacing an existing key at the maximum still works */
    cirrus_map_init(&m, &cirrus_map_u64, 3);
    static int vals[4];
    for (int i = 0; i < 3; i++) CHECK(cirrus_map_put(&m, CIRRUS_MAP_U64(i), &vals[i], NULL) == CIRRUS_OK);
    CHECK(cirrus_map_put(&m, CIRRUS_MAP_U64(3), &vals[3], NULL) == CIRRUS_ERR_FULL);
    CHECK(cirrus_map_put(&m, CIRRUS_MAP_U64(0), &vals[3], NULL) == CIRRUS_OK);
    CHECK(cirrus_map_get(&m, CIRRUS_MAP_U64(0)) == &vals[3]);
    CHECK(cirrus_map_get(&m, CIRRUS_MAP_U64(0)) != NULL && cirrus_map_get(&m, CIRRUS_MAP_U64(7)) == NULL);
    CHECK(cirrus_map_put(&m, CIRRUS_MAP_U64(9), NULL, NULL) == CIRRUS_ERR_INVALID);
    cirrus_map_free(&m);

    /* the hash is keyed, so the same bytes hash alike within a process */
    CHECK(cirrus_hash_bytes("abc", 3) == cirrus_hash_bytes("abc", 3));
    CHECK(cirrus_hash_bytes("abc", 3) != cirrus_hash_bytes("abd", 3));
}

int main(void) {
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ (uint64_t)cirrus_now_ns();
    const char *env = getenv("CIRRUS_TEST_SEED");
    if (env) seed = strtoull(env, NULL, 0);
    if (!seed) seed = 1;
    printf("test_core: seed %llu (CIRRUS_TEST_SEED replays it)\n", (unsigned long long)seed);
    test_vec();
    test_buf();
    test_arena();
    test_map(seed);
    return check_done("test_core");
}
