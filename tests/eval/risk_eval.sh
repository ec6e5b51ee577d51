#!/usr/bin/env bash
# The issue's full-size risk evaluation: tests/cli/risk_eval.sh with 2,000 requests per tenant
# (several minutes; not in CI). Env: CIRRUS_BIN, CIRRUS_SHARED, RISK_EVAL_N to override.
RISK_EVAL_N=${RISK_EVAL_N:-2000} exec bash "$(dirname "$0")/../cli/risk_eval.sh"
