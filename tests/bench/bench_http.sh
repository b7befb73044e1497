#!/bin/bash
# bench_http.sh - `make bench-http`: the HTTP API under wrk, beside nginx
# serving a small static file on the same machine in the same run (this
# machine's HTTP ceiling).
#
# Starts a throwaway PostgreSQL and Redis (tests/lib/services.sh), the
# real auth-service and namegen-model (default model) over ipc:// with a
# secret, the gateway, and nginx on loopback ports; registers a user and
# logs in for a cookie; then runs wrk for BENCH_SECONDS (default 5) per
# cell at 1, 64 and 256 connections against:
#   nginx          GET a 2 KiB static file (the ceiling)
#   healthz        GET /healthz (the gateway alone)
#   me             GET /api/v1/me with the cookie (one auth call)
#   meta           GET /api/v1/meta (one model call)
#   names          POST /api/v1/names, 10 names a request
# (BENCH_TARGETS picks some of these, BENCH_CONNECTIONS the columns)
# then the model worker alone with namegen-cli bench (64 clients, 10
# names a call, straight over RPC) for the names/s the gateway should
# pass through, and prints one table (requests/s, p50, p99, non-2xx), the ratios the
# targets are about, and the resident memory of the three processes
# afterwards. Everything it starts is stopped on exit, by PID.
set -u
cd "$(dirname "$0")/../.."
root=$(pwd)
. tests/lib/services.sh
BUILD=${BUILD:-build}
secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-"1 64 256"}
targets=" ${BENCH_TARGETS:-nginx healthz me meta names} "
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	services_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for p in wrk nginx; do
	command -v "$p" >/dev/null ||
		[ -x "/usr/sbin/$p" ] || { echo "bench-http: $p is missing"; exit 1; }
done
[ -f "${MODEL_PATH:-data/default.model}" ] ||
	{ echo "bench-http: data/default.model is missing (make model)"; exit 1; }

services_start >/dev/null ||
	{ echo "bench-http: could not start PostgreSQL and Redis"; exit 1; }
out=$NAMEGEN_TEST_DIR/bench
mkdir -p "$out/www"
export RPC_SECRET="bench-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export AUTH_RPC_URL="ipc://$out/auth.ipc" MODEL_RPC_URL="ipc://$out/model.ipc"
export LOG_LEVEL=warn
"$BUILD/bin/auth-service" --migrate >"$out/migrate.log" ||
	{ cat "$out/migrate.log"; exit 1; }
"$BUILD/bin/auth-service" >"$out/auth.log" 2>&1 &
auth_pid=$!
pids+=($!)
"$BUILD/bin/namegen-model" >"$out/model.log" 2>&1 &
model_pid=$!
pids+=($!)
gw_port=$(free_port)
PORT=$gw_port WEB_ROOT="$out/www" "$BUILD/bin/gateway" >"$out/gateway.log" 2>&1 &
gw_pid=$!
pids+=($!)

# nginx: one worker per core, access log off, connections kept open as
# wrk keeps them, a 2 KiB file
head -c 2048 /dev/zero | tr '\0' 'n' >"$out/www/static.txt"
ng_port=$(free_port)
while [ "$ng_port" = "$gw_port" ]; do ng_port=$(free_port); done
mkdir -p "$out/nginx"
cat >"$out/nginx/nginx.conf" <<NGINX
worker_processes $(nproc);
daemon off;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	open_file_cache max=16;
	client_body_temp_path $out/nginx;
	proxy_temp_path $out/nginx;
	fastcgi_temp_path $out/nginx;
	uwsgi_temp_path $out/nginx;
	scgi_temp_path $out/nginx;
	server {
		listen 127.0.0.1:$ng_port;
		root $out/www;
		default_type text/plain;
	}
}
NGINX
[ "$(id -u)" = 0 ] && sed -i "1i user root;" "$out/nginx/nginx.conf"
nginx -c "$out/nginx/nginx.conf" -p "$out/nginx" >"$out/nginx.log" 2>&1 &
pids+=($!)

gw="http://127.0.0.1:$gw_port"
for i in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$gw/readyz")" = 200 ] && break
	sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$gw/readyz")" = 200 ] ||
	{ echo "bench-http: the stack did not become ready"; tail -n 3 "$out"/*.log; exit 1; }
curl -sf -o /dev/null "http://127.0.0.1:$ng_port/static.txt" ||
	{ echo "bench-http: nginx did not start"; cat "$out/nginx.log" "$out/nginx/error.log"; exit 1; }

u=bench$RANDOM
curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary \
	"{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"bench password\"}" \
	"$gw/api/v1/users"
token=$(curl -s -H 'Content-Type: application/json' --data-binary \
	"{\"email\":\"$u@example.org\",\"password\":\"bench password\"}" \
	"$gw/api/v1/session" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "bench-http: could not log in"; exit 1; }
country=$(curl -s "$gw/api/v1/meta" | grep -o '"code":"[A-Z][A-Z]"' |
	head -1 | cut -d'"' -f4)

# cell NAME CONNS URL [METHOD BODY HEADER]: one wrk run, one table row
cell() {
	local name=$1 c=$2 url=$3 t=2 log rps p50 p99 bad
	[[ $targets == *" $name "* ]] || return 0
	[ "$c" -lt 2 ] && t=1
	log="$out/wrk-$name-$c.log"
	BENCH_METHOD=${4:-GET} BENCH_BODY=${5:-} BENCH_HEADER=${6:-} \
		wrk -t"$t" -c"$c" -d"${secs}s" --latency \
		-s tests/bench/bench_http_wrk.lua "$url" >"$log" 2>&1
	rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$log")
	p50=$(awk '$1 == "50%" { print $2 }' "$log")
	p99=$(awk '$1 == "99%" { print $2 }' "$log")
	bad=$(awk '/Non-2xx/ { print $5 }' "$log")
	printf '| %-8s | %5d | %9s | %9s | %9s | %6s |\n' "$name" "$c" \
		"${rps:-?}" "${p50:-?}" "${p99:-?}" "${bad:-0}"
	eval "rps_${name}_$c=${rps:-0}"
}

echo "bench-http: $secs s a cell, wrk threads 2, $(nproc) cores"
echo
echo "| target   | conns | req/s     | p50       | p99       | non2xx |"
echo "| -------- | ----- | --------- | --------- | --------- | ------ |"
for c in $conns; do
	cell nginx "$c" "http://127.0.0.1:$ng_port/static.txt"
	cell healthz "$c" "$gw/healthz"
	cell me "$c" "$gw/api/v1/me" GET "" "Cookie: session=$token"
	cell meta "$c" "$gw/api/v1/meta"
	cell names "$c" "$gw/api/v1/names" POST \
		"{\"countries\":[\"$country\"],\"count\":10}"
done
echo

# the model worker alone, at the same concurrency and the same request,
# straight over RPC: what names/s through the gateway is compared with
model_alone=0
[[ $targets == *" names "* ]] && model_alone=$("$BUILD/bin/namegen-cli" bench --url "$MODEL_RPC_URL" \
	--clients 64 --duration "$secs" --count 10 --country "$country" 2>&1 |
	sed -n 's/.*names_per_s=\([0-9.]*\).*/\1/p' | cut -d. -f1)

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
g=$(rss "$gw_pid")
a=$(rss "$auth_pid")
m=$(rss "$model_pid")
total=$(((g + a + m) / 1024))
if [[ " $conns " == *" 64 "* ]]; then
	awk -v h="${rps_healthz_64:-0}" -v me="${rps_me_64:-0}" \
		-v n="${rps_nginx_64:-0}" -v names="${rps_names_64:-0}" \
		-v alone="${model_alone:-0}" 'BEGIN {
		# a ratio only for the cells this run measured
		printf "at 64 connections:"
		if (n > 0 && h > 0)
			printf " healthz %.0f%% of nginx (target 60%%)", 100 * h / n
		if (n > 0 && me > 0)
			printf " me %.0f%% of nginx (target 30%%)", 100 * me / n
		printf "\n"
		if (names > 0 && alone > 0) {
			fmt = "  names through the gateway %.0f names/s; the model"
			fmt = fmt " worker alone (namegen-cli bench, 64 clients)"
			fmt = fmt " %.0f names/s: %.0f%% (target 80%%)\n"
			printf fmt, names * 10, alone, 100 * names * 10 / alone
		}
	}'
fi
echo "resident memory after the run: gateway $((g / 1024)) MiB, auth-service" \
	"$((a / 1024)) MiB, namegen-model $((m / 1024)) MiB, total $total MiB" \
	"(target under 110)"
