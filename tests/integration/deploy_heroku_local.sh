#!/bin/bash
# deploy_heroku_local.sh - `heroku local` with the real Heroku CLI, the
# Procfile and .env.example, as the README tells a newcomer to run it.
#
# The CLI is a 400 MB npm install (deploy/heroku makes it on first use),
# too much for the test command: this test runs only when it is already
# in node_modules/, and says it skipped otherwise (a fresh clone, CI).
#
# The env file is .env.example with the test's PostgreSQL, Redis and
# socket paths appended (the CLI keeps the last value of a name). Checks:
# the three process types come up (migrations by NAMEGEN_MIGRATE_ON_START,
# since heroku local skips release), the API answers on -p's port, and a
# Ctrl-C (SIGINT to the process group, as a terminal sends it) ends every
# process with "Exited Successfully".
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
. "$root/tests/lib/services.sh"
cli=$root/node_modules/.bin/heroku
if [ ! -x "$cli" ]; then
	echo "ok 1 # skip the Heroku CLI is not installed" \
		"(deploy/heroku --version installs it)"
	echo "1..1"
	exit 0
fi

tmp=$(mktemp -d /tmp/namegen-hlocal.XXXXXX)
run=
cleanup() {
	[ -n "$run" ] && kill -KILL -- -"$run" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$(free_port)
{
	cat "$root/.env.example"
	echo "DATABASE_URL=$DATABASE_URL"
	echo "REDIS_URL=$REDIS_URL"
	echo "MODEL_RPC_URL=ipc://$tmp/model.ipc"
	echo "AUTH_RPC_URL=ipc://$tmp/auth.ipc"
	echo "NAMEGEN_BIN=${BIN:-$root/build/bin}"
	[ -n "${MODEL_PATH:-}" ] && echo "MODEL_PATH=$MODEL_PATH"
} >"$tmp/env"

cd "$root" || exit 1
set -m
HEROKU_DISABLE_AUTOUPDATE=1 "$cli" local -p "$port" -e "$tmp/env" \
	>"$tmp/out" 2>&1 &
run=$!
set +m

up=0
end=$((SECONDS + 90))
while [ $SECONDS -lt $end ] && kill -0 "$run" 2>/dev/null; do
	if curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"
	then
		up=1
		break
	fi
	sleep 0.3
done
[ "$up" = 1 ] && ok "heroku local -p $port: /readyz answers" ||
	not_ok "heroku local -p $port: /readyz answers" "$(tail -20 "$tmp/out")"
for t in web.1 model.1 auth.1; do
	grep -q " $t " "$tmp/out" && ok "process type $t runs" ||
		not_ok "process type $t runs"
done
grep -q "auth.1 .*migrations done" "$tmp/out" &&
	ok "the auth process ran the migrations (no release phase here)" ||
	not_ok "the auth process ran the migrations (no release phase here)"
body=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/names" \
	-H 'Content-Type: application/json' -d '{"countries":["SE"],"count":2}')
[[ $body == *'"names":[{'* ]] && ok "POST /api/v1/names answers" ||
	not_ok "POST /api/v1/names answers" "$body"

kill -INT -- -"$run"
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ] && kill -0 "$run" 2>/dev/null; do
	sleep 0.2
done
if ! kill -0 "$run" 2>/dev/null; then
	run=
	ok "Ctrl-C ends heroku local"
else
	not_ok "Ctrl-C ends heroku local" "$(tail -10 "$tmp/out")"
fi
n=$(grep -cE "(web|model|auth)\.1 +Exited Successfully" "$tmp/out")
[ "$n" -eq 3 ] && ok "all three processes exited successfully" ||
	not_ok "all three processes exited successfully" \
		"$(grep -E 'Exited|Killing' "$tmp/out")"
tap_done
