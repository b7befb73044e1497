#!/bin/bash
# deploy_processes.sh - the Procfile's process layouts with the real
# programs of this build ($BIN), the test PostgreSQL and Redis.
#
#   one-dyno  bin/web runs bin/start-all: three processes over ipc://;
#             when one dies the others are stopped and start-all exits
#             non-zero (Heroku then restarts the dyno); SIGINT (a Ctrl-C)
#             stops all three cleanly with status 0.
#   separate  bin/worker model, bin/worker auth and bin/web as separate
#             processes over tcp://, the workers listening on a different
#             address (*_LISTEN_URL) than the one the gateway dials, as in
#             a Private Space; each exits 0 on SIGINT (what `heroku local`
#             sends on Ctrl-C) and on SIGTERM (what Heroku sends).
# Plus the refusals: a worker type in one-dyno mode, an unknown mode.
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
. "$root/tests/lib/services.sh"
export NAMEGEN_BIN=${BIN:-$root/build/bin}
export RPC_SECRET=deploy-test-secret-0123456789
unset NAMEGEN_DEV MODEL_RPC_URL AUTH_RPC_URL MODEL_RPC_LISTEN_URL \
	AUTH_RPC_LISTEN_URL NAMEGEN_MIGRATE_ON_START

tmp=$(mktemp -d /tmp/namegen-procs.XXXXXX)
sessions=()
cleanup() {
	local s
	for s in "${sessions[@]}"; do
		pkill -KILL -s "$s" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# spawn NAME CMD... starts CMD in a session of its own (logs in
# $tmp/NAME.log) and sets $pid; the session holds all its processes.
spawn() {
	local name=$1
	shift
	setsid env --default-signal=INT "$@" >"$tmp/$name.log" 2>&1 &
	pid=$!
	sessions+=("$pid")
}
# wait_http PORT PATH SECONDS: 0 once the URL answers 2xx.
wait_http() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$1$2" &&
			return 0
		sleep 0.2
	done
	return 1
}
# gone SESSION SECONDS: 0 once no process of the session is left.
gone() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		pgrep -s "$1" >/dev/null || return 0
		sleep 0.1
	done
	return 1
}
# child_running PARENT PROGRAM prints the PID of PARENT's child that runs
# PROGRAM (by its executable, not by a name match).
child_running() {
	local c
	for c in $(pgrep -P "$1"); do
		[ "$(readlink "/proc/$c/exe")" = "$NAMEGEN_BIN/$2" ] &&
			echo "$c"
	done
}

# The release phase first: auth serves only a migrated database.
"$NAMEGEN_BIN/auth-service" --migrate >"$tmp/release.log" 2>&1
check "release: auth-service --migrate" test $? -eq 0

# --- one-dyno: a dead worker takes the dyno down, non-zero -------------
port=$(free_port)
spawn dyno1 env PORT="$port" NAMEGEN_PROCESSES=one-dyno "$root/bin/web"
dyno=$pid
if wait_http "$port" /readyz 60; then
	ok "one-dyno: /readyz answers (model and auth over ipc://)"
else
	not_ok "one-dyno: /readyz answers (model and auth over ipc://)" \
		"$(tail -15 "$tmp/dyno1.log")"
fi
[ "$(pgrep -P "$dyno" | wc -l)" -eq 3 ] &&
	ok "one-dyno: start-all supervises three processes" ||
	not_ok "one-dyno: start-all supervises three processes" \
		"$(ps -o pid,cmd -s "$dyno")"
model=$(child_running "$dyno" namegen-model)
[ -n "$model" ] && kill -KILL "$model"
start=$SECONDS
wait "$dyno"
rc=$?
if [ -n "$model" ] && [ "$rc" -ne 0 ] && gone "$dyno" 30; then
	t=$((SECONDS - start))
	ok "model killed: the dyno exits $rc in $t s, nothing left"
else
	not_ok "model killed: the dyno exits non-zero, nothing left" \
		"model=$model rc=$rc $(ps -o pid,cmd -s "$dyno")"
fi
grep -q 'msg="process exited; stopping the others" name=model' \
	"$tmp/dyno1.log" && ok "start-all logs which process died" ||
	not_ok "start-all logs which process died" "$(tail -5 "$tmp/dyno1.log")"

# --- one-dyno: SIGINT to the supervisor (a Ctrl-C) stops all, status 0 --
port=$(free_port)
spawn dyno2 env PORT="$port" NAMEGEN_PROCESSES=one-dyno "$root/bin/web"
dyno=$pid
wait_http "$port" /readyz 60
kill -INT "$dyno"
start=$SECONDS
wait "$dyno"
rc=$?
if [ "$rc" -eq 0 ] && gone "$dyno" 30; then
	t=$((SECONDS - start))
	ok "one-dyno: SIGINT stops all three, status 0, in $t s"
else
	not_ok "one-dyno: SIGINT stops all three with status 0" \
		"rc=$rc $(tail -8 "$tmp/dyno2.log")"
fi

# --- separate: the Private Space layout over tcp:// ----------------------
# Twice: the first round is stopped with SIGINT, the second with SIGTERM.
export NAMEGEN_PROCESSES=separate
for sig in INT TERM; do
	mport=$(free_port)
	aport=$(free_port)
	port=$(free_port)
	export MODEL_RPC_URL=tcp://localhost:$mport
	export AUTH_RPC_URL=tcp://localhost:$aport
	spawn model env MODEL_RPC_LISTEN_URL="tcp://127.0.0.1:$mport" \
		"$root/bin/worker" model
	m=$pid
	spawn auth env AUTH_RPC_LISTEN_URL="tcp://127.0.0.1:$aport" \
		NAMEGEN_MIGRATE_ON_START=1 "$root/bin/worker" auth
	a=$pid
	spawn web env PORT="$port" "$root/bin/web"
	w=$pid
	what="separate: the gateway reaches both workers over tcp://"
	if wait_http "$port" /readyz 60; then
		ok "$what"
	else
		not_ok "$what" \
			"$(tail -5 "$tmp/web.log") $(tail -5 "$tmp/model.log")"
	fi
	if [ "$sig" = INT ]; then
		what="separate: NAMEGEN_MIGRATE_ON_START=1 migrates first"
		grep -q "migrations done" "$tmp/auth.log" && ok "$what" ||
			not_ok "$what" "$(head -5 "$tmp/auth.log")"
		# Their stdout is a file here, as it is a pipe on Heroku: a
		# fully buffered stdout would keep these lines until exit.
		what="separate: logs reach stdout while the processes run"
		grep -q "namegen-model msg=serving" "$tmp/model.log" &&
			grep -q "auth-service msg=serving" "$tmp/auth.log" &&
			grep -q "gateway msg=listening" "$tmp/web.log" &&
			ok "$what" || not_ok "$what" \
			"$(head -3 "$tmp/model.log" "$tmp/web.log")"
	fi
	for p in "$w:web" "$m:model" "$a:auth"; do
		IFS=: read -r pp name <<<"$p"
		kill -"$sig" "$pp"
		wait "$pp"
		rc=$?
		if [ "$rc" -eq 0 ] && gone "$pp" 30; then
			ok "separate: $name exits 0 on SIG$sig"
		else
			not_ok "separate: $name exits 0 on SIG$sig" \
				"rc=$rc $(tail -5 "$tmp/$name.log")"
		fi
	done
done

# --- refusals --------------------------------------------------------------
NAMEGEN_PROCESSES=one-dyno "$root/bin/worker" model >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "web process runs the workers itself" "$tmp/out" &&
	ok "a worker type refuses to run in one-dyno mode" ||
	not_ok "a worker type refuses to run in one-dyno mode" \
		"$(cat "$tmp/out")"
NAMEGEN_PROCESSES=both "$root/bin/web" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q 'NAMEGEN_PROCESSES must be one-dyno or separate' \
	"$tmp/out" && ok "an unknown NAMEGEN_PROCESSES is named and refused" ||
	not_ok "an unknown NAMEGEN_PROCESSES is named and refused" \
		"$(cat "$tmp/out")"
tap_done
