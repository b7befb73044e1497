#!/bin/bash
# fault_workers.sh - the model worker and the auth-service fail under
# load (issue 9): kill -9 and restart, then SIGSTOP (a stall).
#
# While tests/bench/soak_load.py keeps four clients busy (generate,
# score, me, add favorite), each worker in turn is killed with SIGKILL
# and started again. Requests to the dead worker's routes get 503 within
# their deadline, never a broken connection; once it is back they
# succeed again, through the same gateway process. A stopped worker
# (SIGSTOP) makes its routes 504 at the deadline while the other routes
# answer at once. At the end every favorite answered OK is in
# PostgreSQL.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh
. tests/bench/soak_lib.sh

DEADLINE_MS=2000
soak_stack_start GATEWAY_RPC_TIMEOUT_MS=$DEADLINE_MS ||
	{ not_ok "the stack starts"; tap_done; exit 1; }
ok "the stack starts (model: $(basename "$MODEL_PATH"))"
gw_pid=$(soak_pid gateway)
log=$GW_DIR/load.log
favs=$GW_DIR/load.favorites

# kill_and_restart NAME WANT PROBE [curl args]: SIGKILL the worker under
# load, probe its route during the gap (PROBES gets "code seconds" of
# each), start it again and wait until PROBE answers WANT; sets T_KILL,
# T_BACK, T_READY (empty if it never did).
kill_and_restart() {
	local name=$1 want=$2 probe=$3 i
	shift 3
	T_KILL=$(soak_now)
	kill -KILL "$(soak_pid "$name")"
	wait "$(soak_pid "$name")" 2>/dev/null
	sleep 0.3
	PROBES=
	for i in 1 2 3; do
		PROBES+="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
			--max-time 10 "$@" "$GW_URL$probe"),"
		sleep 0.2
	done
	sleep 0.5
	T_BACK=$(soak_now)
	soak_restart_worker "$name"
	if soak_wait_status "$probe" "$want" 15 "$@"; then
		T_READY=$(soak_now)
	else
		T_READY=
	fi
}

# check_probes WHAT: the probes sent during the gap ended within their
# deadline, the later ones with 503 at once.
#
# XXX: the first call after a worker dies waits for its deadline (504):
# nng (1.5.2) notices that an idle ipc connection is gone only when a
# call is written to it, so common/rpc_client.c still counts a live pipe
# until then. Once that call has failed, the pipe is gone and calls fail
# at once with 503. Removing this needs the client to learn of the
# closed connection without sending (see the README's known limits).
check_probes() {
	local first rest
	first=$(printf '%s' "$PROBES" | cut -d, -f1)
	rest=$(printf '%s' "$PROBES" | cut -d, -f2- | tr ',' '\n' |
		awk -v d="$DEADLINE_MS" 'NF && ($1 != 503 || $2 * 1000 >= 200)')
	printf '%s\n' "$first" | awk -v d="$DEADLINE_MS" \
		'($1 == 503 || $1 == 504) && $2 * 1000 < d + 500 { ok = 1 }
		END { exit !ok }' &&
		ok "$1: the first request in the gap ends by its deadline ($first)" ||
		not_ok "$1: the first request in the gap ends by its deadline" \
			"$first"
	[ -z "$rest" ] &&
		ok "$1: then new requests get 503 at once ($PROBES)" ||
		not_ok "$1: then new requests get 503 at once" "$PROBES"
}

# check_gap WHAT OPS: the load's requests to the worker's routes that
# were in flight or sent during the gap ended with 503, with 504 at their
# deadline, or with 200 when nng sent them again to the restarted worker;
# after it, only OKs.
check_gap() {
	local what=$1 ops=$2 during after bad
	during=$(soak_statuses "$log" "$ops" "$(soak_calc "$T_KILL - 2")" \
		"$T_BACK")
	bad=$(printf '%s\n' "$during" | grep -vE '^(200|201|503|504) ' | grep .)
	[ -z "$bad" ] &&
		ok "$what: requests in the gap get 503/504 or succeed ($(echo $during))" ||
		not_ok "$what: requests in the gap get 503/504 or succeed" \
			"$(echo $during)"
	if [ -z "$T_READY" ]; then
		not_ok "$what: its routes answer again after a restart"
		return
	fi
	ok "$what: its routes answer again $(soak_calc \
		"$T_READY - $T_BACK") s after the restart"
	after=$(soak_statuses "$log" "$ops" "$(soak_calc "$T_READY + 0.5")" \
		9999999999)
	bad=$(printf '%s\n' "$after" | grep -vE '^(200|201) ' | grep .)
	[ -n "$after" ] && [ -z "$bad" ] &&
		ok "$what: every request after the restart succeeds ($(echo $after))" ||
		not_ok "$what: every request after the restart succeeds" \
			"$(echo $after)"
}

# -------------------------------------------------- kill -9 under load
soak_load --seconds 16 --threads 4 --timeout 10 --log "$log" \
	--favorites "$favs" >"$GW_DIR/load.out" 2>&1 &
load_pid=$!
for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.1; done
[ -s "$log" ] || not_ok "the load starts" "$(cat "$GW_DIR/load.out")"
sleep 1.5

kill_and_restart model 200 /api/v1/meta
check_probes "model killed"
M_KILL=$T_KILL M_BACK=$T_BACK M_READY=$T_READY
sleep 1.5
# /api/v1/me with a made-up token is a 401 when the auth-service answers
kill_and_restart auth 401 /api/v1/me -H "Authorization: Bearer x"
check_probes "auth killed"
A_KILL=$T_KILL A_BACK=$T_BACK A_READY=$T_READY
wait "$load_pid"
rc=$?
[ "$rc" = 0 ] && ok "the load ran to the end" ||
	not_ok "the load ran to the end" "$(tail -3 "$GW_DIR/load.out")"

T_KILL=$M_KILL T_BACK=$M_BACK T_READY=$M_READY
check_gap "model killed" names,score
T_KILL=$A_KILL T_BACK=$A_BACK T_READY=$A_READY
check_gap "auth killed" me,fav

conn=$(awk -F'\t' 'NR > 1 && $4 ~ /^conn/' "$log" | wc -l)
[ "$conn" = 0 ] && ok "no request lost its connection" ||
	not_ok "no request lost its connection" "$conn did"
slow=$(soak_slowest "$log")
limit=$(soak_calc "$DEADLINE_MS / 1000 + 1")
soak_true "$slow < $limit" &&
	ok "every answer came within the deadline + 1 s (slowest $slow s)" ||
	not_ok "every answer came within the deadline + 1 s" "slowest $slow s"
other=$(soak_statuses "$log" all 0 9999999999 |
	grep -vE '^(200|201|503|504) ')
[ -z "$other" ] && ok "no status but 200, 201, 503, 504" ||
	not_ok "no status but 200, 201, 503, 504" "$other"
kill -0 "$gw_pid" 2>/dev/null && [ "$(soak_pid gateway)" = "$gw_pid" ] &&
	ok "the same gateway process served throughout" ||
	not_ok "the same gateway process served throughout"
n=$(wc -l <"$favs")
[ "$n" -gt 0 ] && soak_favorites_kept "$favs" &&
	ok "all $n favorites answered OK are in PostgreSQL" ||
	not_ok "all favorites answered OK are in PostgreSQL" "$n recorded"

# ------------------------------------------------------ a stalled worker
req POST /api/v1/names '{"countries":["DE"],"count":1}'
expect "generate works before the stall" 200 '"names":\['
kill -STOP "$(soak_pid model)"
curl -s -o "$GW_DIR/stalled" -w '%{http_code} %{time_total}\n' \
	--max-time 10 -H 'Content-Type: application/json' \
	--data '{"countries":["DE"],"count":1}' "$GW_URL/api/v1/names" \
	>"$GW_DIR/stalled.status" &
stalled=$!
sleep 0.3
t0=$(soak_now)
req GET /api/v1/openapi.json
expect "other routes answer while the model is stopped (openapi)" 200
u=stall$RANDOM
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"stall-password\"}"
expect "other routes answer while the model is stopped (register)" 201
t1=$(soak_now)
soak_true "$t1 - $t0 < 1.0" &&
	ok "they answer at once ($(soak_calc "$t1 - $t0") s)" ||
	not_ok "they answer at once" "$(soak_calc "$t1 - $t0") s"
wait "$stalled"
read -r code secs <"$GW_DIR/stalled.status"
[ "$code" = 504 ] && ok "the stalled route is a 504" ||
	not_ok "the stalled route is a 504" "$code: $(cat "$GW_DIR/stalled")"
soak_true "$secs >= ($DEADLINE_MS - 300) / 1000 && \
	$secs < ($DEADLINE_MS + 1000) / 1000" && ok "at its deadline ($secs s)" ||
	not_ok "at its deadline" "$secs s, deadline $DEADLINE_MS ms"
kill -CONT "$(soak_pid model)"
soak_wait_status /api/v1/meta 200 10 &&
	ok "the model answers again after SIGCONT" ||
	not_ok "the model answers again after SIGCONT"
req POST /api/v1/names '{"countries":["DE"],"count":1}'
expect "generate works after the stall" 200 '"names":\['

gw_stop_checked gateway
tap_done
