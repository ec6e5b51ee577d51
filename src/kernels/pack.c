/*
 * kn_pack: weights copied once, at load, into the layout of the packed tiles (kernels_impl.h).
 *
 * Why at load and not on the fly: a q4_0 tile wants eight rows side by side in its lanes; built
 * from the file's rows that is a 4 x 8 dword transpose per block, paid again for every panel of
 * activations, and eight short interleaved streams for the prefetcher. Packed, a group of eight
 * rows is one stream of ready registers. The cost is a private copy of the weights (the loader
 * drops the file's pages of a packed tensor, so resident memory does not grow).
 */
#include <stddef.h>
#include <stdlib.h>

#include "kernels_impl.h"

static bool pack_enabled(void) {
    const char *e = getenv("CIRRUS_KN_PACK");
    return !(e && strcmp(e, "0") == 0);
}

/* The packed size for the shape, whether or not packing is switched on. */
static size_t packed_bytes(kn_type t, int64_t M, int64_t K) {
    if ((t != KN_Q4_0 && t != KN_Q4_K) || M <= 0 || M % KN_PACK_ROWS != 0) return 0;
    return kn_row_size(t, K) * (size_t)M; /* 0 when K is not a multiple of the block */
}

size_t kn_pack_size(kn_type t, int64_t M, int64_t K) { return pack_enabled() ? packed_bytes(t, M, K) : 0; }

/* Byte offsets, within a packed block of a group, of row m's bytes: q4_0 as d then 4-byte groups
 * of qs; q4_K as the four dwords of its head (d, dmin, scales) then the qs dwords. Pack and unpack
 * are the same walk in opposite directions. */
static void walk_block(kn_type t, uint8_t *packed, uint8_t *row_blk, int m, bool to_packed) {
#define MOVE(p_off, r_off, len) \
    (to_packed ? memcpy(packed + (p_off), row_blk + (r_off), (len)) : memcpy(row_blk + (r_off), packed + (p_off), (len)))
    if (t == KN_Q4_0) {
        MOVE(2 * m, offsetof(block_q4_0, d), 2);
        for (int k = 0; k < 4; k++) MOVE(16 + 32 * k + 4 * m, offsetof(block_q4_0, qs) + 4 * k, 4);
    } else {
        for (int q = 0; q < 4; q++) MOVE(32 * q + 4 * m, 4 * q, 4);
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < 8; k++) MOVE(128 + 256 * c + 32 * k + 4 * m, offsetof(block_q4_K, qs) + 32 * c + 4 * k, 4);
    }
#undef MOVE
}

void kn_pack(kn_type t, const void *W, int64_t M, int64_t K, void *dst) {
    assert(packed_bytes(t, M, K) > 0);
    const kn_traits *tr = kn_type_traits(t);
    const size_t rs = kn_row_size(t, K), bs = tr->type_size;
    const int64_t nb = K / tr->blck_size;
    uint8_t *out = dst;
    for (int64_t g = 0; g < M / KN_PACK_ROWS; g++) {
        const uint8_t *rows = (const uint8_t *)W + (size_t)g * KN_PACK_ROWS * rs;
        for (int64_t i = 0; i < nb; i++, out += KN_PACK_ROWS * bs)
            for (int m = 0; m < KN_PACK_ROWS; m++) walk_block(t, out, (uint8_t *)(rows + (size_t)m * rs + i * bs), m, true);
    }
}

void kn_packed_block(kn_type t, const uint8_t *group, int m, int64_t i, void *blk) {
    const size_t bs = kn_type_traits(t)->type_size;
    walk_block(t, (uint8_t *)group + (size_t)i * KN_PACK_ROWS * bs, blk, m, false);
}
