/* guard's extraction-guard pieces outside the engine: the per-tenant logit_bias sweep detector
 * (window, threshold, saturation, eviction, index churn) and the top_logprobs cap. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "guard/guard.h"

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- logit_bias sweeps ------------------------------------------------------------------------------- */

static void test_sweep(void) {
    guard_sweep_params p;
    guard_sweep_params_default(&p);
    CHECK(p.threshold == 1000 && p.max_ids >= p.threshold);
    p.window_ns = 1000;
    p.threshold = 100;
    p.max_ids = 150;
    p.max_tenants = 3;
    guard_sweep *s = NULL;
    cirrus_err err = {{0}};
    CHECK(guard_sweep_new(&p, &s, &err) == CIRRUS_OK);
    if (!s) return;
    guard_sweep_result r;
    /* a normal app: the same five ids on every request, forever */
    int32_t fixed[5] = {11, 12, 13, 11, 14};
    for (int i = 0; i < 5000; i++) {
        CHECK(guard_sweep_observe(s, 1, (uint64_t)i, fixed, 5, &r) == CIRRUS_OK);
        if (r.alert) break;
    }
    CHECK(!r.alert && r.distinct == 4);
    /* a sweeper: 10 new ids per request crosses 100 on its 10th request, alert reported once */
    int crossed = -1, new_alerts = 0;
    for (int i = 0; i < 30; i++) {
        int32_t ids[10];
        for (int j = 0; j < 10; j++) ids[j] = i * 10 + j;
        CHECK(guard_sweep_observe(s, 2, 100 + (uint64_t)i, ids, 10, &r) == CIRRUS_OK);
        if (r.alert && crossed < 0) crossed = i;
        new_alerts += r.new_alert;
    }
    CHECK_MSG(crossed == 9 && new_alerts == 1, "crossed at %d, %d new alerts", crossed, new_alerts);
    CHECK(r.distinct == 150); /* saturated at max_ids, holding the 150 most recent ids */
    /* tenants do not share counts */
    CHECK(guard_sweep_observe(s, 1, 200, NULL, 0, &r) == CIRRUS_OK && r.distinct == 4 && !r.alert);
    /* the window slides: the sweeper's ids expire, the alert clears */
    CHECK(guard_sweep_observe(s, 2, 100 + 29 + 999, NULL, 0, &r) == CIRRUS_OK && r.distinct == 10);
    CHECK(guard_sweep_observe(s, 2, 100 + 29 + 1000, NULL, 0, &r) == CIRRUS_OK);
    CHECK_MSG(r.distinct == 0 && !r.alert, "distinct %u after the window", r.distinct);
    /* partial expiry: ids seen at 2000..2049, checked at 2000 + window + 25 */
    for (int i = 0; i < 50; i++) {
        int32_t id = 1000 + i;
        CHECK(guard_sweep_observe(s, 3, 2000 + (uint64_t)i, &id, 1, &r) == CIRRUS_OK);
    }
    CHECK(guard_sweep_observe(s, 3, 3025, NULL, 0, &r) == CIRRUS_OK);
    CHECK_MSG(r.distinct == 24, "distinct %u", r.distinct);
    /* re-using an id refreshes it (moves it to the back of the window) */
    int32_t again = 1030;
    CHECK(guard_sweep_observe(s, 3, 3040, &again, 1, &r) == CIRRUS_OK && r.distinct == 10);
    CHECK(guard_sweep_observe(s, 3, 3900, NULL, 0, &r) == CIRRUS_OK && r.distinct == 1);
    /* time going backwards is treated as now */
    CHECK(guard_sweep_observe(s, 3, 10, &again, 1, &r) == CIRRUS_OK && r.distinct == 1);
    guard_sweep_free(s);

    /* the least recently active tenant is forgotten when the table is full */
    p.window_ns = 1000000;
    p.max_tenants = 2;
    CHECK(guard_sweep_new(&p, &s, &err) == CIRRUS_OK);
    CHECK(guard_sweep_observe(s, 1, 1, fixed, 5, &r) == CIRRUS_OK && r.distinct == 4);
    CHECK(guard_sweep_observe(s, 2, 2, fixed, 2, &r) == CIRRUS_OK && r.distinct == 2);
    CHECK(guard_sweep_observe(s, 3, 3, fixed, 3, &r) == CIRRUS_OK && r.distinct == 3); /* drops 1 */
    CHECK(guard_sweep_observe(s, 1, 4, NULL, 0, &r) == CIRRUS_OK && r.distinct == 0);  /* drops 2 */
    CHECK(guard_sweep_observe(s, 3, 5, NULL, 0, &r) == CIRRUS_OK && r.distinct == 3);
    guard_sweep_free(s);

    /* many ids churning through one tenant's index (exercises backward-shift deletion) */
    p.window_ns = 50;
    p.threshold = 40;
    p.max_ids = 64;
    CHECK(guard_sweep_new(&p, &s, &err) == CIRRUS_OK);
    uint64_t rs = 5;
    int bad = 0;
    for (uint64_t now = 0; now < 20000; now++) {
        int32_t id = (int32_t)(splitmix(&rs) % 60);
        CHECK(guard_sweep_observe(s, 9, now, &id, 1, &r) == CIRRUS_OK);
        bad += r.distinct > 50 || r.distinct == 0;
    }
    CHECK(bad == 0);
    guard_sweep_free(s);

    p.max_ids = 10;
    CHECK(guard_sweep_new(&p, &s, &err) == CIRRUS_ERR_RANGE);

    bool clipped;
    CHECK(guard_top_logprobs(20, GUARD_TOP_LOGPROBS_CAP, &clipped) == 5 && clipped);
    CHECK(guard_top_logprobs(3, 5, &clipped) == 3 && !clipped);
    CHECK(guard_top_logprobs(3, 0, &clipped) == 0 && clipped);
}

int main(void) {
    test_sweep();
    return check_done("test_guard_sweep");
}
