#!/bin/bash
# gateway_faults.sh - the gateway when a worker misbehaves: down (503),
# too slow (504), overloaded (429 + Retry-After), failing inside (500 with
# nothing internal shown), refusing (400 with its message); HTTP threads
# stay free while calls hang; request ids, client addresses and tokens
# reach the worker; SIGTERM lets requests in flight finish.
#
# The model here is tests/gateway_test_worker.c (a real process serving
# ModelService over a real socket), because namegen-model cannot be asked
# to be slow or to fail; the auth-service is left down on purpose.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh

# model_mode ENV=VALUE... restarts the test worker and waits until the
# gateway reaches it again
model_mode() {
	local i
	gw_stop model
	gw_start_test_model "$@"
	for i in $(seq 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
			--data-binary '{"name":"a"}' "$GW_URL/api/v1/names/score")" \
			= 200 ] && return 0
		sleep 0.1
	done
	return 1
}

gw_start_test_model
# DYNO as on Heroku, where X-Forwarded-For is trusted by default
gw_start_gateway GATEWAY_RPC_TIMEOUT_MS=1500 GATEWAY_THREADS=2 DYNO=web.1 ||
	{ not_ok "gateway starts"; tap_done; exit; }
model_mode GW_TEST_MODE=echo || not_ok "the test worker answers"

# ------------------------------------------------ metadata in the envelope
req POST /api/v1/names '{"countries":["DE"]}' -H "X-Request-Id: rid-77" \
	-H "X-Forwarded-For: 10.9.9.9, 203.0.113.9" \
	-H "Authorization: Bearer tok_abc.123"
expect "request id, client address (last X-Forwarded-For) and token reach the worker" \
	200 '"names":\[\{"name":"rid-77",[^}]*\},\{"name":"203.0.113.9",[^}]*\},\{"name":"tok_abc.123"'
req POST /api/v1/names '{"countries":["DE"]}' -H "X-Forwarded-For: not-an-ip"
expect "a malformed X-Forwarded-For falls back to the socket's address" \
	200 '\{"name":"127.0.0.1"'
req POST /api/v1/names '{"countries":["DE"]}' -H "Cookie: a=b; session=ck_9"
expect "the session cookie reaches the worker" 200 '\{"name":"ck_9"'

# --------------------------------------------------------- auth is down
sleep 3.2 # the RPC client's grace for a first connection
req GET /api/v1/me "" -H "Authorization: Bearer t"
expect "a worker that is down is a 503" 503 '"code":"unavailable"'
req GET /readyz
expect "/readyz names the worker that does not answer" 503 \
	'"model":"ok"' '"auth":"UNAVAILABLE"'

# ------------------------------------------------------ worker failures
model_mode GW_TEST_MODE=internal || not_ok "restart: internal"
req POST /api/v1/names '{"countries":["DE"]}'
expect "an internal worker failure is a 500" 500 '"code":"internal"'
printf '%s' "$BODY$HDRS" | grep -Eq 'secret|SELECT|worker\.c|/var' &&
	not_ok "nothing internal reaches the client" "$BODY" ||
	ok "nothing internal reaches the client"
req POST /api/name '{"countrycode":"DE"}'
expect "an original route fails in its own shape" 500 '^\{"error":"internal error"\}$'

model_mode GW_TEST_MODE=exhausted || not_ok "restart: exhausted"
req POST /api/v1/names '{"countries":["DE"]}'
expect "an overloaded worker is a 429" 429 '"code":"resource_exhausted"'
[ "$(hdr Retry-After)" = 7 ] && ok "429 carries the worker's Retry-After" ||
	not_ok "429 carries the worker's Retry-After" "$HDRS"

model_mode GW_TEST_MODE=invalid || not_ok "restart: invalid"
req POST /api/v1/names '{"countries":["DE"]}'
expect "a refusal is a 400 with the worker's message" 400 \
	'"code":"invalid_argument"' 'country XX is not known'

model_mode GW_TEST_MODE=notfound || not_ok "restart: notfound"
req POST /api/v1/names '{"countries":["DE"]}'
expect "NOT_FOUND is a 404 with the worker's message" 404 \
	'"code":"not_found"' 'no such name'
model_mode GW_TEST_MODE=denied || not_ok "restart: denied"
req POST /api/v1/names '{"countries":["DE"]}'
expect "PERMISSION_DENIED is a 403 with the worker's message" 403 \
	'"code":"permission_denied"' 'not yours'

# ---------------------------------------------------- a worker too slow
model_mode GW_TEST_MODE=echo GW_TEST_DELAY_MS=4000 || not_ok "restart: slow"
t0=$(date +%s%N)
req GET /api/v1/meta
t1=$(date +%s%N)
expect "a worker slower than the deadline is a 504" 504 \
	'"code":"deadline_exceeded"'
ms=$(((t1 - t0) / 1000000))
[ "$ms" -lt 3900 ] && ok "the deadline (1.5 s) cut the wait (${ms} ms)" ||
	not_ok "the deadline (1.5 s) cut the wait" "${ms} ms"

# 40 requests hang on the slow worker, more than the 2 HTTP threads:
# suspended, they hold no thread, so /healthz still answers
pids=()
for i in $(seq 40); do
	curl -s -o /dev/null --max-time 10 "$GW_URL/api/v1/meta" &
	pids+=($!)
done
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$GW_URL/healthz")
[ "$code" = 200 ] && ok "HTTP threads stay free while 40 calls hang" ||
	not_ok "HTTP threads stay free while 40 calls hang" "healthz: $code"
req GET /metrics
expect "/metrics shows the requests in flight" 200 \
	'namegen_http_in_flight_requests [1-9][0-9]'
wait "${pids[@]}"

# ------------------------------------------------------- a worker goes
model_mode GW_TEST_MODE=echo || not_ok "restart: echo"
gw_stop model
sleep 0.3
req POST /api/v1/names '{"countries":["DE"]}'
expect "a worker that went away is a 503 at once" 503 '"code":"unavailable"'

# ------------------------------------------- many or slow clients
# a second gateway with 20 connections at most and a 2 s idle timeout:
# 20 clients that connect and say nothing hold every slot; the server
# closes them after the timeout and serves again
p3=$(free_port)
gw_bg gw3 env PORT="$p3" GATEWAY_MAX_CONNECTIONS=20 \
	GATEWAY_IDLE_TIMEOUT_S=2 "$BIN/gateway"
for i in $(seq 50); do
	curl -sf "http://127.0.0.1:$p3/healthz" >/dev/null && break
	sleep 0.1
done
idle=()
for i in $(seq 20); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$p3"
	idle+=("$fd")
done
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
	"http://127.0.0.1:$p3/healthz")
[ "$code" != 200 ] && ok "the connection limit holds (21st refused)" ||
	not_ok "the connection limit holds (21st refused)" "$code"
sleep 2.5
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	"http://127.0.0.1:$p3/healthz")
[ "$code" = 200 ] && ok "idle clients are closed after the timeout" ||
	not_ok "idle clients are closed after the timeout" "$code"
for fd in "${idle[@]}"; do exec {fd}>&-; done
# a client that sends half its headers and stops is cut off too
exec {slow}<>"/dev/tcp/127.0.0.1/$p3"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&"$slow"
sleep 2.5
timeout 2 cat <&"$slow" >/dev/null
[ $? != 124 ] && ok "a client stuck in its headers is closed" ||
	not_ok "a client stuck in its headers is closed"
exec {slow}>&-
gw_stop_checked gw3

# ----------------------------------------- SIGTERM lets requests finish
model_mode GW_TEST_MODE=echo GW_TEST_DELAY_MS=800 || not_ok "restart: slow"
curl -s -o "$GW_DIR/inflight" -w '%{http_code}' --max-time 10 \
	-X POST --data-binary '{"countries":["DE"]}' "$GW_URL/api/v1/names" \
	>"$GW_DIR/inflight.code" &
cpid=$!
sleep 0.3
kill -TERM "$GW_PID_gateway"
wait "$cpid"
[ "$(cat "$GW_DIR/inflight.code")" = 200 ] &&
	ok "a request in flight at SIGTERM is answered" ||
	not_ok "a request in flight at SIGTERM is answered" \
		"$(cat "$GW_DIR/inflight.code")"
wait "$GW_PID_gateway"
rc=$?
[ "$rc" = 0 ] && ok "the gateway exits 0 on SIGTERM" ||
	not_ok "the gateway exits 0 on SIGTERM" "exit $rc"
curl -s -o /dev/null --max-time 2 "$GW_URL/healthz" &&
	not_ok "nothing listens after the stop" || ok "nothing listens after the stop"
grep -q 'msg=stopping signal=SIGTERM' "$GW_DIR/gateway.log" &&
	grep -q 'msg=stopped status=0' "$GW_DIR/gateway.log" &&
	ok "the stop is logged" || not_ok "the stop is logged"

tap_done
