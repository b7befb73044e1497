#!/bin/bash
# gateway_concurrency.sh - 200 concurrent HTTP clients mix every kind of
# request for a few seconds against the gateway, auth-service and model
# worker (real processes, real PostgreSQL and Redis), and every single
# response must be the right one (tests/gateway_load.c).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh

CLIENTS=${GW_LOAD_CLIENTS:-200}
SECONDS_=${GW_LOAD_SECONDS:-4}

gw_start_auth || { not_ok "auth-service starts"; tap_done; exit; }
gw_start_model
gw_start_gateway GATEWAY_MAX_CONNECTIONS=1000 ||
	{ not_ok "gateway starts"; tap_done; exit; }
check "both workers become ready" gw_wait_ready

country=DE
if gw_model_is_real; then
	echo "# model worker: namegen-model"
	req GET /api/v1/meta
	country=$(printf '%s' "$BODY" | grep -o '"code":"[A-Z][A-Z]"' |
		head -1 | cut -d'"' -f4)
fi
u=load$RANDOM$RANDOM
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"load test pass\"}"
expect "a user for the load" 201
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"load test pass\"}"
expect "its session" 200
token=$(printf '%s' "$BODY" | sed 's/.*"token":"\([^"]*\)".*/\1/')

out=$(GW_LOAD_TOKEN=$token GW_LOAD_USER=$u GW_LOAD_COUNTRY=$country \
	"$NAMEGEN_ROOT/$BUILD/tests/gateway_load" "$GW_PORT" "$CLIENTS" \
	"$SECONDS_" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
[ $rc = 0 ] && ok "$CLIENTS clients for ${SECONDS_} s: every response right" ||
	not_ok "$CLIENTS clients for ${SECONDS_} s: every response right"
n=$(printf '%s' "$out" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
[ "${n:-0}" -ge "$CLIENTS" ] && ok "each client got answers ($n in all)" ||
	not_ok "each client got answers" "$n"
req GET /healthz
expect "the gateway is still well" 200
req GET /metrics
expect "no request is left in flight but this one" 200 \
	'namegen_http_in_flight_requests 1$'
printf '%s\n' "$BODY" | grep -E '^namegen_rpc_(messages|bundles|bundled_calls)_total' |
	sed 's/^/# /'
# 200 clients keep far more calls in flight than the bundle window (2):
# session checks and Generate calls must have gone in bundles
expect "under load, WhoAmI and Generate calls went in bundles" 200 \
	'namegen_rpc_bundled_calls_total\{worker="auth"\} [1-9]' \
	'namegen_rpc_bundled_calls_total\{worker="model"\} [1-9]' \
	'namegen_rpc_bundles_total\{worker="model"\} [1-9]'

gw_stop_checked gateway
tap_done
