# gateway_lib.sh - start the gateway and its workers for a test, and send
# it requests (sourced by tests/integration/gateway_*.sh, after tap.sh).
#
# Everything started here is stopped by gw_cleanup (an EXIT trap), by PID.
# The workers are the real ones (auth-service on the test PostgreSQL and
# Redis that tests/run started, namegen-model with the default model);
# gw_start_test_model starts tests/gateway_test_worker.c instead, for the
# faults a real worker cannot be asked to make.

GW_DIR=$(mktemp -d /tmp/namegen-gw.XXXXXX)
GW_PIDS=()
GW_PORT=
GW_URL=
export NAMEGEN_DEV=1
export LOG_LEVEL=${LOG_LEVEL:-info}
export MODEL_RPC_URL="ipc://$GW_DIR/model.ipc"
export AUTH_RPC_URL="ipc://$GW_DIR/auth.ipc"
# cheap password hashing: these tests are about HTTP, not Argon2
export PASSWORD_OPSLIMIT=1 PASSWORD_MEMLIMIT_KIB=8
# every client here is 127.0.0.1, sharing one Redis with the other tests
export LOGIN_FAILS_PER_ADDR=100000 REGISTER_PER_ADDR=100000

# gw_valgrind_wrap DIR: from now on $BIN holds wrappers that run the
# gateway, namegen-model and auth-service under valgrind memcheck (exit
# status 99 on an error or a definite leak), each process's report in
# DIR/vg-PROGRAM.PID.log; the real programs stay in $GW_REAL_BIN. For
# tests/integration/abuse_valgrind.sh, and for GW_VALGRIND=DIR, which
# runs any of these tests that way (tests/integration/e2e_valgrind.sh).
gw_valgrind_wrap() {
	local dir=$1 p
	GW_REAL_BIN=$BIN
	BIN=$GW_DIR/vgbin
	mkdir -p "$BIN"
	for p in gateway namegen-model auth-service; do
		cat >"$BIN/$p" <<WRAP
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \\
	--show-leak-kinds=definite --errors-for-leak-kinds=definite \\
	--num-callers=30 --log-file="$dir/vg-$p.%p.log" \\
	"$GW_REAL_BIN/$p" "\$@"
WRAP
		chmod +x "$BIN/$p"
	done
}
[ -n "${GW_VALGRIND:-}" ] && gw_valgrind_wrap "$GW_VALGRIND"

gw_cleanup() {
	local p
	for p in "${GW_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${GW_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$GW_DIR"
}
trap gw_cleanup EXIT

# gw_bg NAME CMD... starts CMD in the background, output in $GW_DIR/NAME.log
gw_bg() {
	local name=$1
	shift
	"$@" >"$GW_DIR/$name.log" 2>&1 &
	GW_PIDS+=($!)
	eval "GW_PID_$name=$!"
}

# gw_stop NAME stops one started process and waits for it.
gw_stop() {
	local v="GW_PID_$1"
	kill "${!v}" 2>/dev/null
	wait "${!v}" 2>/dev/null
}

# gw_stop_checked NAME stops a started process with SIGTERM and checks
# that it exits 0 (a sanitizer report or a leak makes it exit otherwise).
gw_stop_checked() {
	local v="GW_PID_$1" rc
	kill -TERM "${!v}" 2>/dev/null
	wait "${!v}" 2>/dev/null
	rc=$?
	if [ "$rc" = 0 ]; then
		ok "$1 stops cleanly on SIGTERM"
	else
		not_ok "$1 stops cleanly on SIGTERM" "exit $rc"
		grep -A12 -E 'Sanitizer|runtime error' "$GW_DIR/$1.log" |
			head -30 | sed 's/^/# /'
	fi
}

gw_start_auth() {
	"$BIN/auth-service" --migrate >"$GW_DIR/migrate.log" 2>&1 || {
		cat "$GW_DIR/migrate.log"
		return 1
	}
	gw_bg auth "$BIN/auth-service"
}

# gw_model_is_real says whether the real model worker can run here.
gw_model_is_real() {
	[ -x "$BIN/namegen-model" ] &&
		[ -f "${MODEL_PATH:-$NAMEGEN_ROOT/data/default.model}" ]
}

gw_start_model() {
	if gw_model_is_real; then
		gw_bg model "$BIN/namegen-model"
	else
		echo "# namegen-model or data/default.model is missing: the" \
			"model routes run against tests/gateway_test_worker.c"
		gw_start_test_model
	fi
}

# gw_start_test_model [ENV=VALUE...] starts the test worker as the model.
gw_start_test_model() {
	gw_bg model env "$@" "$NAMEGEN_ROOT/$BUILD/tests/gateway_test_worker" \
		"$MODEL_RPC_URL"
}

# gw_start_gateway [ENV=VALUE...] starts the gateway on a free port and
# waits until /healthz answers.
gw_start_gateway() {
	local i
	GW_PORT=$(free_port)
	GW_URL="http://127.0.0.1:$GW_PORT"
	gw_bg gateway env PORT="$GW_PORT" WEB_ROOT="$GW_DIR/web" "$@" \
		"$BIN/gateway"
	for i in $(seq 100); do
		curl -sf "$GW_URL/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "# the gateway did not answer /healthz"
	tail -5 "$GW_DIR/gateway.log" | sed 's/^/# /'
	return 1
}

# gw_wait_ready waits until /readyz says both workers answer.
gw_wait_ready() {
	local i
	for i in $(seq 150); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/readyz")" \
			= 200 ] && return 0
		sleep 0.2
	done
	return 1
}

# req METHOD PATH [BODY] [curl args...] sends a request; sets STATUS,
# BODY (the response body) and HDRS (the response headers, CRs removed).
req() {
	local method=$1 path=$2 body=${3-} 
	shift 2
	[ $# -gt 0 ] && shift
	local args=(-s -X "$method" -o "$GW_DIR/body" -D "$GW_DIR/hdrs"
		-w '%{http_code}' --path-as-is --max-time 30)
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	STATUS=$(curl "${args[@]}" "$@" "$GW_URL$path")
	BODY=$(cat "$GW_DIR/body" 2>/dev/null)
	HDRS=$(tr -d '\r' <"$GW_DIR/hdrs" 2>/dev/null)
}

# hdr NAME prints the value of a response header of the last request.
hdr() {
	printf '%s\n' "$HDRS" | grep -i "^$1:" | head -1 | sed 's/^[^:]*: *//'
}

# expect WHAT STATUS [PATTERN...] checks the last request's status and
# that its body matches every extended regular expression given.
expect() {
	local what=$1 want=$2 p
	shift 2
	if [ "$STATUS" != "$want" ]; then
		not_ok "$what" "status $STATUS, wanted $want; body: ${BODY:0:300}"
		return
	fi
	for p in "$@"; do
		if ! printf '%s' "$BODY" | grep -Eq -- "$p"; then
			not_ok "$what" "body does not match $p: ${BODY:0:300}"
			return
		fi
	done
	ok "$what"
}
