#!/bin/bash
# deploy_run_local.sh - scripts/run-local, the heart of `make run`, as a
# newcomer uses it: no DATABASE_URL or REDIS_URL, so it starts its own
# PostgreSQL and Redis with their data in a folder of its own; it prints
# the URL; the API works; Ctrl-C (SIGINT to its process group, as a
# terminal sends it) stops every process it started; a second run still
# has the account, its session and its favorite; --clean-data deletes it.
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
. "$root/tests/lib/services.sh"
unset DATABASE_URL REDIS_URL RPC_SECRET NAMEGEN_DEV MODEL_RPC_URL \
	AUTH_RPC_URL NAMEGEN_PROCESSES
export NAMEGEN_SKIP_BUILD=1 NAMEGEN_BIN=${BIN:-$root/build/bin}
tmp=$(mktemp -d /tmp/namegen-runlocal.XXXXXX)
chmod 755 "$tmp"
export NAMEGEN_DATA_DIR=$tmp/data
NAMEGEN_PG_PORT=$(free_port)
NAMEGEN_REDIS_PORT=$(free_port)
PORT=$(free_port)
export NAMEGEN_PG_PORT NAMEGEN_REDIS_PORT PORT
run=
# ended PID SECONDS: waits up to SECONDS for the process to exit; 0 when
# it did, and its status in $ended_rc.
ended() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.2
	done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1"
	ended_rc=$?
	return 0
}
cleanup() {
	if [ -n "$run" ]; then
		kill -INT -- -"$run" 2>/dev/null
		ended "$run" 30 || kill -KILL -- -"$run" 2>/dev/null
	fi
	NAMEGEN_DATA_DIR=$tmp/data "$root/scripts/run-local" --clean-data \
		>/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
api="http://127.0.0.1:$PORT"

# start N: runs scripts/run-local in its own process group (job control)
# until it prints the URL. SIGINT is reset to its default first: a shell
# started in the background without job control (a CI runner, say)
# passes SIGINT on ignored, and bash cannot trap a signal ignored at its
# start, so Ctrl-C would do nothing.
start() {
	set -m
	env --default-signal=INT "$root/scripts/run-local" >"$tmp/run$1.log" 2>&1 &
	run=$!
	set +m
	local end=$((SECONDS + 90))
	while [ $SECONDS -lt $end ] && kill -0 "$run" 2>/dev/null; do
		grep -q "namegen: http://localhost:$PORT/" "$tmp/run$1.log" &&
			return 0
		sleep 0.2
	done
	return 1
}
# stop N: Ctrl-C; 0 when run-local exits 0 and what it started is gone.
stop() {
	local rc pgpid rpid
	pgpid=$(head -1 "$NAMEGEN_DATA_DIR/pg/postmaster.pid" 2>/dev/null)
	rpid=$(cat "$NAMEGEN_DATA_DIR/redis/redis.pid" 2>/dev/null)
	kill -INT -- -"$run"
	if ! ended "$run" 60; then
		why="run-local still runs 60 s after SIGINT"
		return 1
	fi
	rc=$ended_rc
	run=
	why="run-local status $rc"
	[ "$rc" -eq 0 ] || return 1
	# PostgreSQL and Redis, and the PIDs start-all logged for the three
	# processes. pg_ctl returns once the pid file is gone, a moment before
	# the postmaster's exit, so allow a second.
	for p in $pgpid $rpid $(sed -n \
		's/.*"started" name=[a-z]* pid=\([0-9]*\).*/\1/p' \
		"$tmp/run$1.log"); do
		for _ in $(seq 10); do
			alive "$p" || break
			sleep 0.1
		done
		why="process $p still runs: $(ps -o cmd= -p "$p")"
		alive "$p" && return 1
	done
	return 0
}
# alive PID: the process exists and is not a zombie (an exited process
# whose parent, here whoever adopted the daemon, has not reaped it yet).
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $st != Z* ]]
}
# call METHOD PATH [BODY] [TOKEN]: prints "STATUS BODY".
call() {
	local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$1" "$api$2"
		-H 'Content-Type: application/json')
	[ -n "${3:-}" ] && args+=(-d "$3")
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	echo "$(curl "${args[@]}") $(cat "$tmp/body")"
}

if start 1; then
	ok "first run prints the URL on PORT"
else
	not_ok "first run prints the URL on PORT" "$(tail -20 "$tmp/run1.log")"
fi
grep -q "PostgreSQL ready\" port=$NAMEGEN_PG_PORT" "$tmp/run1.log" &&
	grep -q "Redis ready\" port=$NAMEGEN_REDIS_PORT" "$tmp/run1.log" &&
	ok "own PostgreSQL and Redis on the configured ports" ||
	not_ok "own PostgreSQL and Redis on the configured ports"
out=$(call GET /readyz)
[[ $out == 200* ]] && ok "/readyz: the three processes talk" ||
	not_ok "/readyz: the three processes talk" "$out"
out=$(call POST /api/v1/names '{"count":3,"countries":["IT"]}')
[[ $out == 200* ]] && [[ $out == *'"names"'* ]] &&
	ok "POST /api/v1/names generates names" ||
	not_ok "POST /api/v1/names generates names" "$out"
user='{"username":"runlocal","email":"runlocal@example.org",'
out=$(call POST /api/v1/users "$user"'"password":"correct horse 9"}')
[[ $out == 201* ]] && ok "register a user" || not_ok "register a user" "$out"
out=$(call POST /api/v1/session \
	'{"email":"runlocal@example.org","password":"correct horse 9"}')
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$out")
[ -n "$token" ] && ok "log in" || not_ok "log in" "$out"
out=$(call PUT /api/v1/me/favorites \
	'{"name":"Giulia","country":"IT","gender":"female"}' "$token")
[[ $out == 201* ]] && ok "like a name" || not_ok "like a name" "$out"

if stop 1; then
	ok "Ctrl-C: exit 0, processes, PostgreSQL and Redis all stopped"
else
	not_ok "Ctrl-C: exit 0, processes, PostgreSQL and Redis all stopped" \
		"$why $(tail -12 "$tmp/run1.log")"
fi
grep -q 'proc=start-all msg="stopped" status=0' "$tmp/run1.log" &&
	ok "the three processes exited cleanly" ||
	not_ok "the three processes exited cleanly" \
		"$(tail -12 "$tmp/run1.log")"

# Restart: same data folder, a new RPC_SECRET; the account, the session
# (Redis append-only file) and the favorite are still there.
if start 2; then
	ok "second run starts on the same data"
else
	not_ok "second run starts on the same data" \
		"$(tail -20 "$tmp/run2.log")"
fi
out=$(call GET /api/v1/me/favorites "" "$token")
[[ $out == 200* ]] && [[ $out == *Giulia* ]] &&
	ok "after a restart the session and the favorite survive" ||
	not_ok "after a restart the session and the favorite survive" "$out"
stop 2 && ok "second Ctrl-C stops everything" ||
	not_ok "second Ctrl-C stops everything" "$why"

"$root/scripts/run-local" --clean-data >"$tmp/clean.log" 2>&1
[ $? -eq 0 ] && [ ! -e "$NAMEGEN_DATA_DIR" ] &&
	ok "--clean-data (make clean-data) removes the data folder" ||
	not_ok "--clean-data removes the data folder" "$(cat "$tmp/clean.log")"
tap_done
