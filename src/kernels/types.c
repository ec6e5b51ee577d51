/* Type traits: the block sizes and byte sizes of every ggml type, as ggml defines them. */
#include "kernels.h"

#define QK_K 256

static const kn_traits g_traits[KN_TYPE_COUNT] = {
    [KN_F32] = {"f32", 1, 4, true},
    [KN_F16] = {"f16", 1, 2, true},
    [KN_Q4_0] = {"q4_0", 32, 2 + 16, true},
    [KN_Q4_1] = {"q4_1", 32, 2 + 2 + 16, false},
    [KN_Q5_0] = {"q5_0", 32, 2 + 4 + 16, false},
    [KN_Q5_1] = {"q5_1", 32, 2 + 2 + 4 + 16, false},
    [KN_Q8_0] = {"q8_0", 32, 2 + 32, true},
    [KN_Q8_1] = {"q8_1", 32, 4 + 32, false},
    [KN_Q2_K] = {"q2_K", QK_K, QK_K / 16 + QK_K / 4 + 2 + 2, false},
    [KN_Q3_K] = {"q3_K", QK_K, QK_K / 8 + QK_K / 4 + 12 + 2, false},
    [KN_Q4_K] = {"q4_K", QK_K, 2 + 2 + 12 + QK_K / 2, true},
    [KN_Q5_K] = {"q5_K", QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2, true},
    [KN_Q6_K] = {"q6_K", QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2, true},
    [KN_Q8_K] = {"q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2, true},
    [KN_IQ2_XXS] = {"iq2_xxs", QK_K, 2 + QK_K / 8 * 2, false},
    [KN_IQ2_XS] = {"iq2_xs", QK_K, 2 + QK_K / 8 * 2 + QK_K / 32, false},
    [KN_IQ3_XXS] = {"iq3_xxs", QK_K, 2 + QK_K / 4 + QK_K / 8, false},
    [KN_IQ1_S] = {"iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16, false},
    [KN_IQ4_NL] = {"iq4_nl", 32, 2 + 16, false},
    [KN_IQ3_S] = {"iq3_s", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4, false},
    [KN_IQ2_S] = {"iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16, false},
    [KN_IQ4_XS] = {"iq4_xs", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64, false},
    [KN_I8] = {"i8", 1, 1, false},
    [KN_I16] = {"i16", 1, 2, false},
    [KN_I32] = {"i32", 1, 4, false},
    [KN_I64] = {"i64", 1, 8, false},
    [KN_F64] = {"f64", 1, 8, false},
    [KN_IQ1_M] = {"iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32, false},
    [KN_BF16] = {"bf16", 1, 2, true},
};

const kn_traits *kn_type_traits(uint32_t type_id) {
    if (type_id >= KN_TYPE_COUNT || g_traits[type_id].name == NULL) return NULL;
    return &g_traits[type_id];
}

size_t kn_row_size(kn_type t, int64_t n) {
    const kn_traits *tr = kn_type_traits((uint32_t)t);
    if (!tr || n < 0 || n % tr->blck_size != 0) return 0;
    return (size_t)(n / tr->blck_size) * tr->type_size;
}
