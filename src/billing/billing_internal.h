/* Shared between billing's files; not part of the public interface. */
#ifndef CIRRUS_BILLING_INTERNAL_H
#define CIRRUS_BILLING_INTERNAL_H

#include "billing/billing.h"

/* billing_invoice.c: the draft of (tenant, month) from the ledger, ignoring any closed one. */
cirrus_status billing_draft_compute(store *s, const store_tenant *t, const char *month, billing_invoice **out,
                                    cirrus_err *err);
/* billing_export.c: a closed invoice's snapshot back into the struct. */
cirrus_status billing_invoice_from_json(const char *text, billing_invoice **out, cirrus_err *err);

#endif
