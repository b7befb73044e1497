#!/bin/bash
# model_load.sh - namegen-model under load, over a real ipc socket:
#   - 64 concurrent clients for a few seconds, every Generate shaped
#     differently (prefix, count, lengths, seed) and every reply checked
#     against its own request (namegen-cli bench --check);
#   - a seeded request gives the same names in a busy batch as alone,
#     and with the step on one thread as on two (MODEL_THREADS);
#   - with a batch of one and a queue of two, calls past the queue get
#     RESOURCE_EXHAUSTED at once, and calls whose deadline passes while
#     they wait in the queue are dropped (DEADLINE_EXCEEDED);
#   - SIGTERM under load: the worker stops taking calls, finishes, and
#     exits 0 within a few seconds.
# Timings here are limits for hangs, not performance targets (those are
# in make bench-model).
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
. "$root/tests/integration/model_helpers.bash"
bin=${BIN:-$root/build/bin}
cli=$bin/namegen-cli

tmp=$(mktemp -d /tmp/namegen-model-load.XXXXXX)
worker_pid=
bench_pid=
cleanup() {
	[ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null
	[ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null &&
		wait "$worker_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

model=$(model_test_model)
[ -f "$model" ] || { not_ok "a model to test with" "$(tail -5 "$tmp/train.log")"; tap_done; exit 1; }
export RPC_SECRET=model-load-test-secret-0123456789
unset NAMEGEN_DEV

# start_worker NAME [VAR=VALUE...] starts a worker on ipc://$tmp/NAME.ipc
# and waits until it answers.
start_worker() {
	local name=$1
	shift
	export MODEL_RPC_URL=ipc://$tmp/$name.ipc
	env MODEL_PATH="$model" "$@" "$bin/namegen-model" >"$tmp/$name.log" 2>&1 &
	worker_pid=$!
	for _ in $(seq 100); do
		"$cli" model meta >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# stop_worker sends SIGTERM and sets stop_rc to the exit status.
stop_worker() {
	kill -TERM "$worker_pid"
	wait "$worker_pid"
	stop_rc=$?
	worker_pid=
}

# field NAME FILE prints NAME=value from bench's output line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2"; }

# ------------------------------------------------ 64 checked clients
start_worker main MODEL_THREADS=2 ||
	not_ok "worker starts" "$(tail -3 "$tmp/main.log")"
"$cli" model generate --country FR --country IT:0.5 --gender F -n 12 \
	--seed 99 --json >"$tmp/alone" 2>&1

"$cli" bench --clients 64 --duration 3 --warmup 0.5 --check \
	--country FR --country IT:0.5 >"$tmp/b64" 2>"$tmp/b64.err" &
bench_pid=$!
sleep 1
"$cli" model generate --country FR --country IT:0.5 --gender F -n 12 \
	--seed 99 --json >"$tmp/busy" 2>&1
"$cli" model generate --country DE -n 100 --seed 7 --json >"$tmp/two" 2>&1
wait "$bench_pid"
rc=$?
bench_pid=
calls=$(field calls "$tmp/b64")
[ $rc -eq 0 ] && [ "${calls:-0}" -gt 64 ] &&
	[ "$(field check_failures "$tmp/b64")" = 0 ] &&
	[ "$(field errors "$tmp/b64")" = 0 ] &&
	ok "64 clients, 3 s: $calls calls, every reply matches its request" ||
	not_ok "64 checked clients" "rc=$rc $(cat "$tmp/b64" "$tmp/b64.err")"
# Names equal; log-probs equal to float rounding (a batch of one runs
# sgemv, a larger batch sgemm, which add in another order).
grep '"name"' "$tmp/alone" >"$tmp/alone.names"
grep '"name"' "$tmp/busy" >"$tmp/busy.names"
lp_diff=$(paste <(grep -o 'log_prob": [-0-9.e]*' "$tmp/alone" | cut -d' ' -f2) \
	<(grep -o 'log_prob": [-0-9.e]*' "$tmp/busy" | cut -d' ' -f2) |
	awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d } END { print (m < 1e-3) }')
cmp -s "$tmp/alone.names" "$tmp/busy.names" &&
	[ "$(wc -l <"$tmp/alone.names")" -eq 12 ] && [ "$lp_diff" = 1 ] &&
	ok "a seeded request gives the same names in a busy batch as alone" ||
	not_ok "seed under load" "$(diff "$tmp/alone" "$tmp/busy" | head)"
stop_worker
[ "$stop_rc" = 0 ] && ok "worker exits 0 after the load" ||
	not_ok "worker exits 0 after the load" "rc=$stop_rc"
live_max=$(sed -n 's/.*msg=stopped.* live_max=\([0-9]*\).*/\1/p' "$tmp/main.log")
[ "${live_max:-0}" -gt 64 ] &&
	ok "requests shared the batch (largest batch: $live_max sequences)" ||
	not_ok "requests shared the batch" "live_max=$live_max"

# -------------------------------------- queue limit and queued deadlines
start_worker tight MODEL_BATCH_MAX=1 MODEL_QUEUE_MAX=3 ||
	not_ok "tight worker starts" "$(tail -3 "$tmp/tight.log")"
"$cli" bench --clients 16 --duration 1 --warmup 0 -n 100 --timeout 5000 \
	>"$tmp/full" 2>"$tmp/full.err"
rc=$?
[ $rc -eq 1 ] && grep -q "calls ended RESOURCE_EXHAUSTED" "$tmp/full.err" &&
	grep -q "queue is full" "$tmp/tight.log" &&
	ok "past the queue limit: RESOURCE_EXHAUSTED at once" ||
	not_ok "queue limit" "rc=$rc $(cat "$tmp/full.err")"
# Three clients keep the batch of one busy and two requests queued, each
# at least 2,100 steps (100 names of exactly 20 characters: over 100 ms
# with the default model); a request with a 40 ms deadline waits behind
# them and is dropped from the queue.
"$cli" bench --clients 3 --duration 2 --warmup 0 -n 100 --min 20 \
	--max 20 --timeout 10000 >"$tmp/busy3" 2>&1 &
bench_pid=$!
sleep 0.5
"$cli" model generate --country DE --timeout 40 >"$tmp/late" 2>&1
rc=$?
wait "$bench_pid"
bench_pid=
[ $rc -eq 1 ] && grep -q "DEADLINE_EXCEEDED" "$tmp/late" &&
	ok "a call whose deadline passes in the queue: DEADLINE_EXCEEDED" ||
	not_ok "deadline in the queue" "rc=$rc $(cat "$tmp/late")"
stop_worker
[ "$stop_rc" = 0 ] && ok "tight worker exits 0" ||
	not_ok "tight worker exits 0" "rc=$stop_rc"
expired=$(sed -n 's/.*msg=stopped.* expired=\([0-9]*\).*/\1/p' "$tmp/tight.log")
[ "${expired:-0}" -gt 0 ] &&
	grep -q 'status=DEADLINE_EXCEEDED .*before the names were ready' "$tmp/tight.log" &&
	ok "the worker dropped $expired expired requests from its batch or queue" ||
	not_ok "worker dropped expired requests" "expired=$expired"

# same_names A B: the names of two JSON replies are the same (and there
# are some), their log-probs equal to float rounding.
same_names() {
	grep '"name"' "$1" >"$1.names"
	grep '"name"' "$2" >"$2.names"
	cmp -s "$1.names" "$2.names" && [ -s "$1.names" ] &&
		paste <(grep -o 'log_prob": [-0-9.e]*' "$1" | cut -d' ' -f2) \
			<(grep -o 'log_prob": [-0-9.e]*' "$2" | cut -d' ' -f2) |
		awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d }
			END { exit !(NR > 0 && m < 1e-3) }'
}

# ------------------------------------ one step thread against two
# The same seeded request under load, with the batch stepped by one
# thread: the names are those that two step threads gave above.
start_worker one MODEL_THREADS=1 ||
	not_ok "worker starts" "$(tail -3 "$tmp/one.log")"
"$cli" bench --clients 16 --duration 2 --warmup 0 --country FR \
	>"$tmp/b16" 2>&1 &
bench_pid=$!
sleep 0.5
"$cli" model generate --country DE -n 100 --seed 7 --json >"$tmp/one" 2>&1
wait "$bench_pid"
bench_pid=
stop_worker
grep -q 'msg=serving .* threads=2 ' "$tmp/main.log" &&
	grep -q 'msg=serving .* threads=1 ' "$tmp/one.log" &&
	same_names "$tmp/one" "$tmp/two" &&
	[ "$(wc -l <"$tmp/one.names")" -eq 100 ] &&
	ok "a seeded request gives the same 100 names with 1 and 2 step threads" ||
	not_ok "seed and step threads" "$(diff "$tmp/one" "$tmp/two" | head)"

# ------------------------------------------------- SIGTERM under load
start_worker term || not_ok "worker starts" "$(tail -3 "$tmp/term.log")"
"$cli" bench --clients 64 --duration 4 --warmup 0 >"$tmp/bt" 2>&1 &
bench_pid=$!
sleep 1
t0=$(date +%s%N)
stop_worker
rc=$stop_rc
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$bench_pid"
bench_pid=
[ "$rc" = 0 ] && [ "$ms" -lt 6000 ] &&
	grep -q 'msg=stopping signal=TERM' "$tmp/term.log" &&
	grep -q 'msg=stopped unfinished=0' "$tmp/term.log" &&
	ok "SIGTERM under 64 clients: exit 0 in $ms ms, nothing left unanswered" ||
	not_ok "SIGTERM under load" "rc=$rc ms=$ms $(tail -3 "$tmp/term.log")"
tap_done
