#!/bin/bash
# e2e_valgrind.sh - the end-to-end tests of the gateway,
# tests/integration/gateway_api.sh (every route, every error mapping,
# cookies, CORS, bearer tokens, the body limit, path traversal) and
# gateway_concurrency.sh (clients mixing every route, every response
# checked; 32 of them here, since memcheck runs the worker's sgemm about
# 50 times slower), with the gateway, namegen-model and auth-service all
# under valgrind memcheck (issue 9): they must pass as they do natively,
# and every process they started, the migrations included, must end with
# 0 memcheck errors and no definite leak.
#
# Runs in the normal build only (tap_valgrind_build).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
tap_valgrind_build
logs=$(mktemp -d /tmp/namegen-e2e-vg.XXXXXX)
trap 'rm -rf "$logs"' EXIT

# The concurrency test's model worker serves a small model (a GRU of 16
# trained for one epoch, 0.4 s, on the same data: every country and
# length of the default model): under memcheck the default model's
# Score, 126 conditions, takes seconds, and 200 clients would wait past
# any deadline. gateway_api keeps the default model.
small=$logs/small.model
"$BIN/namegen-train" --hidden 16 --emb-char 8 --emb-country 4 --epochs 1 \
	--countries data/countries.tsv data/names.tsv "$small" \
	>"$logs/train.log" 2>&1 ||
	{ not_ok "the small model is trained" "$(tail -3 "$logs/train.log")"
		tap_done; exit 1; }

# slower processes: a longer RPC deadline than the suite's
for t in gateway_api gateway_concurrency; do
	model=${MODEL_PATH:-$NAMEGEN_ROOT/data/default.model}
	[ "$t" = gateway_concurrency ] && model=$small
	MODEL_PATH=$model GW_VALGRIND=$logs GATEWAY_RPC_TIMEOUT_MS=15000 \
		GW_LOAD_CLIENTS=${GW_LOAD_CLIENTS:-32} \
		bash "tests/integration/$t.sh" >"$logs/$t.tap" 2>&1
	rc=$?
	passed=$(grep -cE '^ok [0-9]+' "$logs/$t.tap")
	failed=$(grep -cE '^not ok [0-9]+' "$logs/$t.tap")
	if [ "$rc" = 0 ] && [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; then
		ok "$t passes under memcheck ($passed checks)"
	else
		not_ok "$t passes under memcheck" \
			"exit $rc, $passed passed, $failed failed"
		grep -A3 '^not ok' "$logs/$t.tap" | head -30 | sed 's/^/# /'
	fi
done
grep -hE 'requests=|wrong:' "$logs/gateway_concurrency.tap" | head -8

# one report per process: the gateway three times (gateway_api starts a
# second one without CORS), the auth-service four times (--migrate, then
# serving, in each test)
for p in gateway namegen-model auth-service; do
	n=0 bad=""
	for vlog in "$logs"/vg-$p.*.log; do
		[ -f "$vlog" ] || continue
		n=$((n + 1))
		errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' \
			"$vlog" | tail -1)
		lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' \
			"$vlog" | tail -1)
		[ "$errs" = 0 ] && [ "${lost:-0}" = 0 ] ||
			bad+="$(basename "$vlog"): errors '$errs', definitely lost '${lost:-0}'; "
	done
	if [ "$n" -gt 0 ] && [ -z "$bad" ]; then
		ok "$p: $n process(es) under memcheck, 0 errors, no definite leak"
	else
		not_ok "$p: 0 memcheck errors and no definite leak" \
			"${bad:-no report}"
		for vlog in "$logs"/vg-$p.*.log; do
			grep -A20 -E 'Invalid|uninitialised|definitely lost in' \
				"$vlog" 2>/dev/null
		done | head -40 | sed 's/^/# /'
	fi
done
tap_done
