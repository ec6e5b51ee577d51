/*
 * kn_pack: weights copied once, at load, into the layout of the packed tiles (kernels_impl.h).
 *
 * Why at load and not on the fly: a q4_0 tile wants eight rows side by side in its lanes; built
 * from the file's rows that is a 4 x 8 dword transpose per block, paid again for every panel of
 * activations, and eight short interleaved streams for the prefetcher. Packed, a group of eight
 * rows is one stream of ready registers. The cost is a private copy of the weights (the loader
 * drops the file's pages of a packed tensor, so resident memory does not grow).
 */
#include <stdlib.h>

#include "kernels_impl.h"

static bool pack_enabled(void) {
    const char *e = getenv("CIRRUS_KN_PACK");
    return !(e && strcmp(e, "0") == 0);
}

/* The packed size for the shape, whether or not packing is switched on. */
static size_t packed_bytes(kn_type t, int64_t M, int64_t K) {
    if (t != KN_Q4_0 || M <= 0 || M % KN_PACK_ROWS != 0) return 0;
    return kn_row_size(t, K) * (size_t)M; /* 0 when K is not a multiple of 32 */
}

size_t kn_pack_size(kn_type t, int64_t M, int64_t K) { return pack_enabled() ? packed_bytes(t, M, K) : 0; }

void kn_pack(kn_type t, const void *W, int64_t M, int64_t K, void *dst) {
    assert(packed_bytes(t, M, K) > 0);
    (void)t;
    const size_t rs = kn_row_size(KN_Q4_0, K);
    const int64_t nb = K / QK4_0;
    uint8_t *out = dst;
    for (int64_t g = 0; g < M / KN_PACK_ROWS; g++) {
        const uint8_t *rows = (const uint8_t *)W + (size_t)g * KN_PACK_ROWS * rs;
        for (int64_t i = 0; i < nb; i++, out += KN_PACK_ROWS * sizeof(block_q4_0)) {
            for (int m = 0; m < KN_PACK_ROWS; m++) {
                const block_q4_0 *b = (const block_q4_0 *)(rows + (size_t)m * rs) + i;
                memcpy(out + 2 * m, &b->d, sizeof b->d);
                for (int k = 0; k < 4; k++) memcpy(out + 16 + 32 * k + 4 * m, b->qs + 4 * k, 4);
            }
        }
    }
}
