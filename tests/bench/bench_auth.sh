#!/bin/bash
# bench_auth.sh - `make bench-auth`: the auth-service under load, beside
# redis-benchmark's GET rate on the same Redis in the same run.
#
# Starts a throwaway PostgreSQL and Redis (tests/lib/services.sh) and the
# real auth-service with its production defaults (Argon2id at 19 MiB and
# 2 passes, 8 handler threads, 2 hashing threads) over ipc:// with a
# secret, then measures for BENCH_SECONDS (default 5) each:
#   redis GET    redis-benchmark -c 64 GET: the ceiling of one Redis
#                round trip per call on this machine
#   RPC only     WhoAmI without a session, refused before Redis: the
#                cost of the RPC layer (nng, MAC, protobuf) alone
#   WhoAmI       64 calls in flight; one Lua call to Redis each
#   Login        16 in flight; bounded by Argon2id by design
#   AddFavorite  64 in flight; a transaction of 4 statements each
# and prints one table. Everything it starts is stopped on exit.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
. tests/lib/services.sh
BUILD=${BUILD:-build}
secs=${BENCH_SECONDS:-5}
svc_pid=
cleanup() {
	[ -n "$svc_pid" ] && kill "$svc_pid" 2>/dev/null && wait "$svc_pid"
	services_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load0=$(cut -d' ' -f1-3 /proc/loadavg)
services_start >/dev/null || { echo "bench-auth: could not start PostgreSQL and Redis"; exit 1; }
out=$NAMEGEN_TEST_DIR/bench
mkdir -p "$out"
export RPC_SECRET="bench-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export AUTH_RPC_URL="ipc://$out/auth.ipc" LOG_LEVEL=warn
"$BUILD/bin/auth-service" --migrate >"$out/migrate.log" ||
	{ cat "$out/migrate.log"; exit 1; }
"$BUILD/bin/auth-service" >"$out/auth.log" 2>&1 &
svc_pid=$!
for i in $(seq 100); do
	[ -S "$out/auth.ipc" ] && break
	sleep 0.1
done

# redis-benchmark's GET at 64 clients: requests/s from its CSV line.
redis_rps=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 64 \
	-n $((secs * 60000)) -t get -P 1 --csv 2>/dev/null |
	awk -F'"' '$2 == "GET" { print int($4) }')

run() {
	"$BUILD/bench/bench_auth" "$1" "$AUTH_RPC_URL" "$2" "$secs" \
		"$3@example.org" "bench password" | tee -a "$out/bench.log"
}
field() { sed -E -n "s/(^|.* )$1=([^ ]*).*/\2/p" <<<"$2"; }

bare=$(run nosession 64 bare)
who=$(run whoami 64 who)
login=$(run login 16 login)
fav=$(run addfav 64 fav)
echo

who_rps=$(field calls_per_s "$who")
ratio=$(awk -v a="$who_rps" -v b="${redis_rps:-0}" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
printf '%-36s %10s %10s %10s %8s\n' "auth-service ($(nproc) cores)" \
	"calls/s" "p50 ms" "p99 ms" "errors"
printf '%-36s %10s %10s %10s %8s\n' "redis-benchmark GET, 64 clients" \
	"${redis_rps:-?}" "-" "-" "-"
for line in "$bare" "$who" "$login" "$fav"; do
	m=$(field mode "$line")
	c=$(field clients "$line")
	case $m in
	nosession) label="RPC only (WhoAmI, no session), $c" ;;
	whoami) label="WhoAmI, $c in flight" ;;
	login) label="Login (Argon2id 19 MiB, t=2), $c" ;;
	addfav) label="AddFavorite, $c in flight" ;;
	esac
	printf '%-36s %10s %10s %10s %8s\n' "$label" \
		"$(field calls_per_s "$line")" "$(field p50_ms "$line")" \
		"$(field p99_ms "$line")" "$(field errors "$line")"
done
echo "WhoAmI / redis GET = $ratio (goal: at least 0.33)"
echo "load average before: $load0; after: $(cut -d' ' -f1-3 /proc/loadavg)"
