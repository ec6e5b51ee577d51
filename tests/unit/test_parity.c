/*
 * Golden parity: for every model in shared/models, `cirrus logits` on prompt_tokens + generated of
 * each case in shared/reference must match llama.cpp's logits within the tolerances of
 * shared/README.md, and the top-1 id must agree wherever the reference's top-1 and top-2 differ by
 * more than twice the tolerance. Runs the real binary ($CIRRUS_BIN), so the CLI is tested too.
 * With CIRRUS_FORCE_SCALAR=1 in the environment the same check covers the scalar references.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static double tolerance_for(const char *model) {
    if (strstr(model, "q4_0") || strstr(model, "q4_k") || strstr(model, "q6_k")) return 0.25;
    if (strstr(model, "q8_0")) return 0.1;
    return 0.02; /* f32, f16, bf16 */
}

static json_t *run_logits(const char *bin, const char *model_path, json_t *tokens, int top) {
    size_t cap = 16 * json_array_size(tokens) + 1024;
    char *cmd = malloc(cap + strlen(model_path) + strlen(bin));
    int n = sprintf(cmd, "%s logits -m %s --top %d --tokens ", bin, model_path, top);
    for (size_t i = 0; i < json_array_size(tokens); i++)
        n += sprintf(cmd + n, "%s%lld", i ? "," : "", (long long)json_integer_value(json_array_get(tokens, i)));
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return NULL;
    json_error_t jerr;
    json_t *out = json_loadf(p, 0, &jerr);
    int rc = pclose(p);
    if (rc != 0 || !out) {
        fprintf(stderr, "cirrus logits failed (rc %d): %s\n", rc, out ? "" : jerr.text);
        json_decref(out);
        return NULL;
    }
    return out;
}

/* our logit for id in a step's top list, or NAN when id is not among them */
static double logit_of(json_t *top, long long id) {
    for (size_t k = 0; k < json_array_size(top); k++) {
        json_t *pair = json_array_get(top, k);
        if (json_integer_value(json_array_get(pair, 0)) == id) return json_number_value(json_array_get(pair, 1));
    }
    return NAN;
}

static void check_model(const char *shared, const char *bin, const char *name) {
    char ref_path[1024], model_path[1024];
    snprintf(ref_path, sizeof ref_path, "%s/reference/%s.json", shared, name);
    snprintf(model_path, sizeof model_path, "%s/models/%s.gguf", shared, name);
    json_error_t jerr;
    json_t *ref = json_load_file(ref_path, 0, &jerr);
    CHECK_MSG(ref != NULL, "%s: %s", ref_path, jerr.text);
    if (!ref) return;
    double tol = tolerance_for(name);
    double worst = 0;
    int steps_checked = 0, top1_checked = 0;
    for (size_t ci = 0; ci < json_array_size(ref); ci++) {
        json_t *cs = json_array_get(ref, ci);
        json_t *prompt = json_object_get(cs, "prompt_tokens"), *gen = json_object_get(cs, "generated");
        json_t *steps = json_object_get(cs, "steps");
        json_t *all = json_array();
        json_array_extend(all, prompt);
        json_array_extend(all, gen);
        json_t *ours = run_logits(bin, model_path, all, 100);
        CHECK_MSG(ours != NULL, "%s case %zu: cirrus logits failed", name, ci);
        if (!ours) {
            json_decref(all);
            continue;
        }
        json_t *our_steps = json_object_get(ours, "steps");
        size_t np = json_array_size(prompt);
        CHECK_MSG(json_array_size(our_steps) == json_array_size(all), "%s: %zu steps for %zu tokens", name,
                  json_array_size(our_steps), json_array_size(all));
        for (size_t si = 0; si < json_array_size(steps); si++) {
            json_t *rtop = json_object_get(json_array_get(steps, si), "top");
            json_t *otop = json_object_get(json_array_get(our_steps, np - 1 + si), "top");
            if (!otop) break;
            for (size_t k = 0; k < json_array_size(rtop); k++) {
                json_t *pair = json_array_get(rtop, k);
                long long id = json_integer_value(json_array_get(pair, 0));
                double want = json_number_value(json_array_get(pair, 1)), got = logit_of(otop, id);
                double d = fabs(got - want);
                if (!(d <= worst)) worst = isnan(d) ? INFINITY : (d > worst ? d : worst);
                CHECK_MSG(d <= tol, "%s case %zu step %zu id %lld: logit %.5f, reference %.5f (tol %.2f)", name, ci, si,
                          id, got, want, tol);
            }
            double gap = json_number_value(json_array_get(json_array_get(rtop, 0), 1)) -
                         json_number_value(json_array_get(json_array_get(rtop, 1), 1));
            if (gap > 2 * tol) {
                long long rid = json_integer_value(json_array_get(json_array_get(rtop, 0), 0));
                long long oid = json_integer_value(json_array_get(json_array_get(otop, 0), 0));
                CHECK_MSG(rid == oid, "%s case %zu step %zu: top-1 %lld, reference %lld", name, ci, si, oid, rid);
                top1_checked++;
            }
            steps_checked++;
        }
        json_decref(ours);
        json_decref(all);
    }
    printf("%-24s %3d steps, %3d top-1 checks, max |diff| %.4f (tol %.2f)\n", name, steps_checked, top1_checked, worst, tol);
    json_decref(ref);
}

int main(void) {
    const char *shared = check_shared_dir();
    const char *bin = getenv("CIRRUS_BIN");
    if (!bin) bin = "./cirrus";
    static const char *models[] = {"stories260K", "tiny-spm-f32", "tiny-spm-f16", "tiny-spm-q8_0", "tiny-spm-q4_0",
                                   "tiny256-spm-q4_k_m", "tiny-gpt2-f32", "tiny-gpt2-q8_0", "tiny-qwen2-f32",
                                   "tiny-qwen2-q8_0"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) check_model(shared, bin, models[i]);
    return check_done("test_parity");
}
