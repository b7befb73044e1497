#!/bin/bash
# fault_databases.sh - Redis and PostgreSQL stop and come back under load
# (issue 9).
#
# While tests/bench/soak_load.py keeps four clients busy (generate, me,
# add favorite), Redis is shut down (saving its data, as a managed Redis
# restart does) and started again, then PostgreSQL is stopped and
# started. Nothing hangs: every request is answered within its deadline;
# the routes that need the stopped database answer 503 while it is down
# (never 500, never a dropped connection), the others keep working, and
# everything works again once it is back, with the same worker processes.
# Every favorite answered OK is in PostgreSQL at the end. A Redis that
# comes back empty ends the sessions (401) but nothing else. The shared
# databases are left running, as the next tests expect.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh
. tests/bench/soak_lib.sh

DEADLINE_MS=3000
export AUTH_CONNECT_TIMEOUT_MS=1000
restore() {
	[ -f "$PG_DATA/postmaster.pid" ] || pg_start
	redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || redis_start
	rm -f "$NAMEGEN_TEST_DIR/dump.rdb"
	gw_cleanup
}
trap restore EXIT
soak_stack_start GATEWAY_RPC_TIMEOUT_MS=$DEADLINE_MS ||
	{ not_ok "the stack starts"; tap_done; exit 1; }
auth_pid=$(soak_pid auth)
log=$GW_DIR/load.log
favs=$GW_DIR/load.favorites

# window OPS FROM TO: statuses of the load's requests in [FROM, TO).
window() { soak_statuses "$log" "$1" "$2" "$3" | tr '\n' ' '; }

# only WHAT STATUSES OPS FROM TO: the requests of OPS that started in
# [FROM, TO) all ended with one of STATUSES (a regex), and some were sent.
only() {
	local what=$1 want=$2 got
	got=$(window "$3" "$4" "$5")
	if [ -z "$got" ]; then
		not_ok "$what" "no request was sent then"
	elif printf '%s' "$got" | tr ' ' '\n' | paste - - -d' ' |
		grep -vE "^($want) " | grep -q .; then
		not_ok "$what" "$got"
	else
		ok "$what ($got)"
	fi
}

soak_load --seconds 16 --threads 4 --timeout 10 --mix names,me,fav \
	--relogin --log "$log" --favorites "$favs" >"$GW_DIR/load.out" 2>&1 &
load_pid=$!
for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.1; done
sleep 1.5

# ------------------------------------------------------------------ Redis
r_down=$(soak_now)
redis-cli -p "$REDIS_PORT" shutdown save >/dev/null 2>&1
while redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
sleep 2
r_up=$(soak_now)
redis_start
soak_wait_status /api/v1/me 401 15 -H "Authorization: Bearer x" &&
	r_ready=$(soak_now) || r_ready=
sleep 2

# ------------------------------------------------------------- PostgreSQL
p_down=$(soak_now)
pg_stop
sleep 2
p_up=$(soak_now)
pg_start
p_ready=
# PostgreSQL is back for the service when an account can be made (or
# is found made: an attempt whose answer came too late, a 504, may
# still have committed it, and then the next one is a 409)
u=fault$RANDOM
p_codes=
for _ in $(seq 150); do
	req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"fault-password\"}"
	p_codes+="$STATUS "
	[[ $STATUS == 20[01] || $STATUS == 409 ]] &&
		{ p_ready=$(soak_now); break; }
	sleep 0.1
done
wait "$load_pid"
rc=$?
[ "$rc" = 0 ] && ok "the load ran to the end" ||
	not_ok "the load ran to the end" "$(tail -3 "$GW_DIR/load.out")"

# Redis down: sessions cannot be checked (503); generate needs no Redis.
only "Redis down: me and add favorite get 503" "503" me,fav \
	"$(soak_calc "$r_down + 0.3")" "$r_up"
only "Redis down: generate still works" "200" names "$r_down" "$r_up"
[ -n "$r_ready" ] &&
	ok "Redis back: the auth-service uses it again after $(soak_calc \
		"$r_ready - $r_up") s" ||
	not_ok "Redis back: the auth-service uses it again"
[ -n "$r_ready" ] && only "Redis back: every request succeeds" \
	"200|201" me,fav,names "$(soak_calc "$r_ready + 0.5")" "$p_down"
# PostgreSQL down: favorites need it (503), sessions and generate do not
only "PostgreSQL down: add favorite gets 503" "503" fav \
	"$(soak_calc "$p_down + 0.3")" "$p_up"
only "PostgreSQL down: generate still works" "200" names "$p_down" "$p_up"
only "PostgreSQL down: me (Redis only) answers 200 or 503" "200|503" me \
	"$p_down" "$p_up"
[ -n "$p_ready" ] &&
	ok "PostgreSQL back: accounts can be made again after $(soak_calc \
		"$p_ready - $p_up") s" ||
	not_ok "PostgreSQL back: accounts can be made again" \
		"$(printf '%s' "$p_codes" | tr ' ' '\n' | sort | uniq -c |
			tr '\n' ' '); last: $BODY; $(grep -E \
			'level=(warn|error)' "$GW_DIR/auth.log" | tail -3 |
			cut -c1-200)"
[ -n "$p_ready" ] && only "PostgreSQL back: every request succeeds" \
	"200|201" me,fav,names "$(soak_calc "$p_ready + 0.5")" 9999999999

conn=$(awk -F'\t' 'NR > 1 && $4 ~ /^conn/' "$log" | wc -l)
[ "$conn" = 0 ] && ok "no request lost its connection" ||
	not_ok "no request lost its connection" "$conn did"
slow=$(soak_slowest "$log")
soak_true "$slow < $DEADLINE_MS / 1000 + 1" &&
	ok "no hang: every answer within the deadline + 1 s (slowest $slow s)" ||
	not_ok "no hang: every answer within the deadline + 1 s" "slowest $slow s"
other=$(soak_statuses "$log" all 0 9999999999 | grep -vE '^(200|201|503) ')
[ -z "$other" ] && ok "no status but 200, 201, 503" ||
	not_ok "no status but 200, 201, 503" "$(echo $other)"
[ "$(soak_pid auth)" = "$auth_pid" ] && kill -0 "$auth_pid" 2>/dev/null &&
	ok "the same auth-service process served throughout" ||
	not_ok "the same auth-service process served throughout"
n=$(wc -l <"$favs")
[ "$n" -gt 0 ] && soak_favorites_kept "$favs" &&
	ok "all $n favorites answered OK are in PostgreSQL" ||
	not_ok "all favorites answered OK are in PostgreSQL" "$n recorded"

# ------------------------------------------------- Redis comes back empty
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"fault-password\"}"
tok=$(printf '%s' "$BODY" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
redis_stop
rm -f "$NAMEGEN_TEST_DIR/dump.rdb"
redis_start
soak_wait_status /api/v1/me 401 10 -H "Authorization: Bearer $tok" &&
	ok "an empty Redis ends the sessions (401, not 500)" ||
	not_ok "an empty Redis ends the sessions (401, not 500)" \
		"$(curl -s -H "Authorization: Bearer $tok" "$GW_URL/api/v1/me")"
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"fault-password\"}"
expect "and logging in again works" 200 '"token":'

gw_stop_checked auth
gw_stop_checked gateway
tap_done
