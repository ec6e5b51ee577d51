/* cirrus — one program that is a whole AI model cloud. This file only dispatches subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kernels/kernels.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} command;

static const command g_commands[] = {
    {"run", cmd_run, "generate text from a prompt"},
    {"model", cmd_model, "inspect (info) or synthesize (synth) GGUF models"},
    {"tokenize", cmd_tokenize, "tokenize text or a test-vector file"},
    {"logits", cmd_logits, "print top logits per position (teacher forcing)"},
    {"serve", cmd_serve, "serve models over an OpenAI-compatible HTTP API"},
    {"loadgen", cmd_loadgen, "drive a server with streaming clients and report latency"},
    {"bench", cmd_bench, "measure prefill, decode and batched decode speed"},
    {"demo", cmd_demo, "the whole product: a seeded market, a served model, live traffic, the report"},
    {"report", cmd_report, "revenue, concentration (HHI, top-N, Gini), forecast and alerts from the ledger"},
    {"tenant", cmd_tenant, "tenants: create, list, show, suspend, resume"},
    {"key", cmd_key, "API keys: create (shown once), list, revoke"},
    {"price", cmd_price, "model prices per 1M tokens, versioned by date: set, list"},
    {"plan", cmd_plan, "a tenant's plan, limits and budget: set, show"},
    {"usage", cmd_usage, "a tenant's metered usage: totals, by model or day, records"},
    {"invoice", cmd_invoice, "monthly invoices: draft, close, export (JSON or CSV), credit"},
    {"ledger-bench", cmd_ledger_bench, "measure admission latency and durable ledger throughput"},
    {"detect", cmd_detect, "test a text, a corpus or a model for the watermark"},
    {"guard", cmd_guard, "watermark keys (keygen), watermarked generation (gen), detection rates (eval)"},
    {"grammar", cmd_grammar, "constrained decoding: check GBNF, compile JSON Schema, sample, generate, bench"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: cirrus <command> [options]   (cirrus <command> --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        fprintf(f, "  %-10s %s\n", g_commands[i].name, g_commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    kn_init();
    /* CIRRUS_FORCE_SCALAR=1 runs every kernel's scalar reference: parity tests use it to check the
     * references and the SIMD kernels against the same golden data. */
    const char *scalar = getenv("CIRRUS_FORCE_SCALAR");
    if (scalar && *scalar && strcmp(scalar, "0") != 0) kn_set_scalar(true);
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        if (!strcmp(argv[1], g_commands[i].name)) return g_commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "cirrus: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
