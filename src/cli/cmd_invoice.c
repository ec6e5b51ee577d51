/*
 * `cirrus invoice draft|close|export|credit`: a tenant's monthly invoice (the rules are in
 * billing.h). A closed invoice is a stored snapshot: export prints it byte for byte the same
 * however prices, plans or credits change afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/billing.h"
#include "cli/cli.h"
#include "cli/cp_cli.h"

static const char *usage =
    "usage: cirrus invoice <command> --tenant NAME --month YYYY-MM --db PATH|URI [options]\n"
    "  draft            the invoice as it stands now (usage lines per model, price version and token\n"
    "                   class; plan fees, commitment discount and true-up, reserved capacity, credits)\n"
    "  close            freeze it (once the month is over and none of its records is open); closing\n"
    "                   again prints the same invoice and changes nothing\n"
    "  export           the closed invoice if there is one, else the draft\n"
    "  credit --amount X [--memo TEXT]   a credit on that month's invoice (before it is closed)\n"
    "  --json | --csv   machine-readable output (default: a text table)\n"
    CP_DB_HELP
    "Money: decimal currency (12.50) or integer micro-units with a u suffix (12500000u).\n";

#define OPT(name, var)                                  \
    if (cli_opt(argc, argv, &i, name, &var)) {          \
        if (!var) return 2;                             \
        continue;                                       \
    }

static void print_text(const billing_invoice *inv) {
    char a[32], f[32], t[32];
    billing_format_time(inv->period_from, f);
    billing_format_time(inv->period_to, t);
    printf("invoice %s %s (%s), %s to %s, %s\n", inv->tenant, inv->month, inv->closed ? "closed" : "draft", f, t, inv->currency);
    printf("%lld requests", (long long)inv->requests);
    if (inv->open_records) printf(", %lld still open (not billed until settled)", (long long)inv->open_records);
    printf("\n\n");
    for (size_t i = 0; i < inv->n_lines; i++) {
        const billing_line *l = &inv->lines[i];
        billing_format_money(l->amount, a, sizeof a);
        if (l->kind == BILLING_LINE_USAGE) printf("  %-90s %14lld tok %16s\n", l->description, (long long)l->quantity, a);
        else printf("  %-94s %20s\n", l->description, a);
    }
    const struct {
        const char *k;
        int64_t v;
    } sums[] = {{"usage", inv->usage}, {"plan fees", inv->fees}, {"commitment true-up", inv->true_up},
                {"discount", -inv->discount}, {"credits", -inv->credits}, {"TOTAL", inv->total}};
    printf("\n");
    for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
        billing_format_money(sums[i].v, a, sizeof a);
        printf("  %-94s %20s\n", sums[i].k, a);
    }
}

static int print_invoice(const billing_invoice *inv, bool json, bool csv) {
    cirrus_err err = {{0}};
    char *out = NULL;
    cirrus_status st = CIRRUS_OK;
    if (json) st = billing_invoice_json(inv, &out, &err);
    else if (csv) st = billing_invoice_csv(inv, &out, &err);
    else print_text(inv);
    if (st) return cp_fail(st, &err);
    if (out) {
        fputs(out, stdout);
        if (json) fputc('\n', stdout);
        free(out);
    }
    return 0;
}

int cmd_invoice(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 2) return cp_usage_error("invoice", "missing command (draft, close, export, credit)");
    const char *sub = argv[1], *db = NULL, *pepper = NULL, *tenant = NULL, *month = NULL, *amount_s = NULL, *memo = NULL;
    bool json = false, csv = false;
    for (int i = 2; i < argc; i++) {
        OPT("--db", db);
        OPT("--pepper-file", pepper);
        OPT("--tenant", tenant);
        OPT("--month", month);
        OPT("--amount", amount_s);
        OPT("--memo", memo);
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--csv")) csv = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') return cp_usage_error("invoice", "unknown option %s", argv[i]);
        else return cp_usage_error("invoice", "unexpected argument '%s'", argv[i]);
    }
    bool draft = !strcmp(sub, "draft"), close_ = !strcmp(sub, "close"), exp = !strcmp(sub, "export"), credit = !strcmp(sub, "credit");
    if (!draft && !close_ && !exp && !credit) return cp_usage_error("invoice", "unknown command '%s'", sub);
    if (!tenant || !month) return cp_usage_error("invoice", "--tenant NAME and --month YYYY-MM are required");
    if (json && csv) return cp_usage_error("invoice", "choose one of --json and --csv");
    if (credit != (amount_s != NULL)) return cp_usage_error("invoice", "--amount goes with credit, and credit needs it");
    if (!credit && memo) return cp_usage_error("invoice", "--memo goes with credit");
    int64_t amount = 0;
    if (credit && !cp_money("--amount", amount_s, &amount)) return 1;
    store *s;
    int rc = cp_open("invoice", db, pepper, &s);
    if (rc) return rc;
    cirrus_err err = {{0}};
    cirrus_status st;
    billing_invoice *inv = NULL;
    if (credit) {
        st = billing_credit_add(s, tenant, month, amount, memo, &err);
        if (!st) {
            char a[32];
            billing_format_money(amount, a, sizeof a);
            printf("credit of %s on the %s invoice of %s\n", a, month, tenant);
        }
    } else if (close_) {
        bool already = false;
        st = billing_invoice_close(s, tenant, month, (int64_t)time(NULL), &inv, &already, &err);
        if (!st && !json && !csv) printf("%s\n\n", already ? "already closed: unchanged" : "closed");
    } else if (draft) {
        /* a draft of a closed month would be misleading: say it is closed */
        st = billing_invoice_get(s, tenant, month, &inv, &err);
        if (!st && inv->closed && !json && !csv) printf("%s is closed; this is the closed invoice\n\n", month);
    } else {
        st = billing_invoice_get(s, tenant, month, &inv, &err);
    }
    store_close(s);
    if (st) return cp_fail(st, &err);
    if (inv) {
        rc = print_invoice(inv, json, csv);
        billing_invoice_free(inv);
    }
    return rc;
}
