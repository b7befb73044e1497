#!/bin/bash
# soak_run.sh - `make soak`: the whole stack under a mixed load (issue 9).
#
# Starts its own PostgreSQL and Redis (tests/lib/services.sh), the three
# processes of $BUILD/bin and 64 users; measures a reference (wrk on
# GET /healthz, which no worker serves) for 10 s, then runs wrk with
# tests/bench/soak_mix.lua (generate, score, me, add and remove a
# favorite) at SOAK_CONNECTIONS (256) for SOAK_SECONDS (60). It passes
# when there was no error but deliberate 429s, no process died, and each
# process's resident memory at the end is within 10% of its value after
# the first 10 s. Prints a table; exits 1 when a condition fails.
set -u
cd "$(dirname "$0")/../.."
export NAMEGEN_ROOT=$PWD BUILD=${BUILD:-build}
export BIN=$NAMEGEN_ROOT/$BUILD/bin
SECONDS_RUN=${SOAK_SECONDS:-60}
CONNS=${SOAK_CONNECTIONS:-256}
. tests/lib/tap.sh
. tests/lib/services.sh
services_start || { echo "soak: could not start PostgreSQL and Redis"; exit 1; }
. tests/gateway_lib.sh
trap 'gw_cleanup; services_stop' EXIT
. tests/bench/soak_lib.sh
export LOG_LEVEL=warn

soak_stack_start GATEWAY_MAX_CONNECTIONS=2000 || exit 1
echo "soak: stack up (model $(basename "$MODEL_PATH"))"

# 64 users, logged in
: >"$GW_DIR/tokens"
for i in $(seq 64); do
	e="soak$i-$RANDOM@example.org"
	req POST /api/v1/users "{\"username\":\"soak $i\",\"email\":\"$e\",\"password\":\"soak-password\"}"
	req POST /api/v1/session "{\"email\":\"$e\",\"password\":\"soak-password\"}"
	tok=$(printf '%s' "$BODY" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
	[ -n "$tok" ] && echo "$tok" >>"$GW_DIR/tokens"
done
[ "$(grep -c . "$GW_DIR/tokens")" = 64 ] ||
	{ echo "soak: could not log the users in"; exit 1; }

echo "soak: reference, GET /healthz for 10 s at $CONNS connections"
wrk -t2 -c"$CONNS" -d10s --latency "$GW_URL/healthz" >"$GW_DIR/ref.out" 2>&1
ref_rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$GW_DIR/ref.out")
ref_p99=$(awk '$1 == "99%" { print $2 }' "$GW_DIR/ref.out")

# resident memory of the three processes, once a second
pids="$(soak_pid gateway) $(soak_pid model) $(soak_pid auth)"
( t=0; while sleep 1; do t=$((t + 1)); echo "$t $(for p in $pids; do
	soak_rss_kb "$p"; done | tr '\n' ' ')"; done ) >"$GW_DIR/rss" &
sampler=$!

echo "soak: mixed load for $SECONDS_RUN s at $CONNS connections"
SOAK_TOKENS=$GW_DIR/tokens SOAK_COUNTS=$GW_DIR/counts \
	wrk -t2 -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 10s \
	-s tests/bench/soak_mix.lua "$GW_URL" >"$GW_DIR/wrk.out" 2>&1
kill "$sampler"
cat "$GW_DIR/wrk.out" | grep -E '^(wrk|latency)'

fail=0
alive=
for n in gateway model auth; do
	kill -0 "$(soak_pid $n)" 2>/dev/null && alive+="$n " ||
		{ echo "soak: FAIL $n died"; fail=1; }
done
# connect, read, write and timeout errors (status errors are counted
# by route and status below)
errs=$(awk '/^wrk:/ { print $11 + $13 + $15 + $17 }' "$GW_DIR/wrk.out")
[ "${errs:-1}" = 0 ] || { echo "soak: FAIL socket errors: $errs"; fail=1; }
bad=$(awk '$2 !~ /^(200|201|204|429)$/ { s += $3 } END { print s + 0 }' \
	"$GW_DIR/counts")
[ "$bad" = 0 ] || { echo "soak: FAIL $bad responses other than 2xx/429"; fail=1; }

printf '\n%-22s %12s %12s\n' "soak" "measured" "reference"
printf '%-22s %12s %12s\n' "requests/s" \
	"$(awk '/^wrk:/ { printf "%.0f", $7 }' "$GW_DIR/wrk.out")" "$ref_rps"
printf '%-22s %12s %12s\n' "p99 latency" \
	"$(awk '/^latency/ { print $8 "ms" }' "$GW_DIR/wrk.out")" "$ref_p99"
sort "$GW_DIR/counts" | awk '{ printf "%-22s %12s\n", $1 " " $2, $3 }'
col=2
for n in gateway model auth; do
	r10=$(awk -v c=$col '$1 == 10 { print $c }' "$GW_DIR/rss")
	rend=$(tail -1 "$GW_DIR/rss" | awk -v c=$col '{ print $c }')
	grow=$(soak_calc "($rend - $r10) * 100 / $r10")
	printf '%-22s %12s %12s\n' "RSS $n (KiB)" "$rend" "$r10 at 10 s"
	printf '%-22s %11s%% %12s\n' "  growth" "$grow" "limit 10%"
	soak_true "$grow <= 10" || { echo "soak: FAIL $n grew $grow%"; fail=1; }
	col=$((col + 1))
done
[ "$fail" = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit "$fail"
