#!/bin/bash
# auth_startup.sh - auth-service started while PostgreSQL, then Redis, is
# down: it logs one clear line per try with a growing pause, starts
# serving by itself once they are back, and a SIGTERM, also while it is
# still waiting, ends it with status 0 within a few seconds.
set -u
. "$NAMEGEN_ROOT/tests/lib/tap.sh"
. "$NAMEGEN_ROOT/tests/lib/services.sh"
bin=$BIN/auth-service
db=auth_startup_$$
out=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	# leave the shared servers running, whatever happened
	(exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null || pg_start
	redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || redis_start
	rm -rf "$out"
}
trap cleanup EXIT

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$db"
export AUTH_RPC_URL="ipc://$out/auth.ipc" NAMEGEN_DEV=1
export PASSWORD_OPSLIMIT=1 PASSWORD_MEMLIMIT_KIB=1024
export AUTH_CONNECT_TIMEOUT_MS=300
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db" &&
	"$bin" --migrate >/dev/null || { not_ok "set up $db"; tap_done; exit; }

# wait_for PATTERN FILE SECONDS
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# stop_service checks that SIGTERM ends it with 0 within 5 s.
stop_service() {
	local what=$1 i rc
	kill -TERM "$pid"
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		not_ok "$what: exits within 5 s of SIGTERM"
		kill -KILL "$pid"
		wait "$pid"
	else
		wait "$pid"
		rc=$?
		check "$what: exits 0 on SIGTERM" [ "$rc" -eq 0 ]
	fi
	pid=
}

# 1. PostgreSQL down at start.
pg_stop
"$bin" >"$out/pg.log" 2>&1 &
pid=$!
if wait_for 'attempt=3' "$out/pg.log" 10; then
	ok "PostgreSQL down: retries, one line per try"
else
	not_ok "PostgreSQL down: retries, one line per try" "$(cat "$out/pg.log")"
fi
check "each retry line says what and why" \
	grep -q 'msg="PostgreSQL not reachable, retrying" attempt=1 retry_in_ms=250 reason=' "$out/pg.log"
check "the pause grows" grep -q 'attempt=3 retry_in_ms=1000' "$out/pg.log"
check "not serving while PostgreSQL is down" \
	bash -c "! grep -q msg=serving '$out/pg.log'"
pg_start
if wait_for 'msg=serving' "$out/pg.log" 15; then
	ok "serves by itself once PostgreSQL is back"
else
	not_ok "serves once PostgreSQL is back" "$(tail -5 "$out/pg.log")"
fi
stop_service "after PostgreSQL came back"

# 2. Redis down at start.
redis_stop
"$bin" >"$out/redis.log" 2>&1 &
pid=$!
if wait_for 'attempt=2' "$out/redis.log" 10; then
	ok "Redis down: retries, one line per try"
else
	not_ok "Redis down: retries" "$(cat "$out/redis.log")"
fi
check "the Redis line names Redis" \
	grep -q 'msg="Redis not reachable, retrying" attempt=1' "$out/redis.log"
redis_start
if wait_for 'msg=serving' "$out/redis.log" 15; then
	ok "serves by itself once Redis is back"
else
	not_ok "serves once Redis is back" "$(tail -5 "$out/redis.log")"
fi
stop_service "after Redis came back"

# 3. SIGTERM while still waiting.
pg_stop
"$bin" >"$out/wait.log" 2>&1 &
pid=$!
wait_for 'attempt=1' "$out/wait.log" 10
stop_service "while waiting for PostgreSQL"
pg_start
check "no password or token in any log" \
	bash -c "! grep -qi 'password=\|token=' '$out'/*.log"
tap_done
