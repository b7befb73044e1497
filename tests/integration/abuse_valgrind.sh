#!/bin/bash
# abuse_valgrind.sh - the three processes under valgrind memcheck while
# they serve normal and hostile traffic end to end (issue 9): every
# route once, then malformed HTTP, invalid UTF-8, deep JSON, a forged
# RPC message and a worker restart; then SIGTERM. Each process must exit
# with zero memcheck errors and no definite leak.
#
# Runs in the normal build only (tap_valgrind_build).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
tap_valgrind_build
. tests/lib/services.sh
. tests/gateway_lib.sh
. tests/bench/soak_lib.sh

# BIN points at wrappers that run the real programs under memcheck.
gw_valgrind_wrap "$GW_DIR"
real_bin=$GW_REAL_BIN
# the migration runs outside valgrind: it is not a long-lived process
"$real_bin/auth-service" --migrate >"$GW_DIR/migrate.log" 2>&1
export GATEWAY_RPC_TIMEOUT_MS=15000
# a tiny model (the fuzz targets' own: 3 countries, random weights,
# written by the current code), so that Score under every condition is
# quick under valgrind too
"$NAMEGEN_ROOT/$BUILD/tests/fuzz_seeds" "$GW_DIR/seeds" ||
	{ not_ok "the tiny model is written"; tap_done; exit 1; }
export MODEL_PATH=$GW_DIR/seeds/model_file/tiny-2layers
gw_bg auth "$BIN/auth-service"
gw_bg model "$BIN/namegen-model"
gw_start_gateway || { not_ok "the gateway starts under valgrind"; tap_done; exit 1; }
gw_wait_ready && ok "the stack answers under valgrind" ||
	not_ok "the stack answers under valgrind"

# ------------------------------------------------------------- traffic
u=vg$RANDOM
req POST /api/v1/names '{"countries":["IT"],"count":3,"seed":1}'
expect "generate" 200 '"names":\['
req POST /api/v1/names/score '{"name":"Maria"}'
expect "score" 200
req GET /api/v1/meta
expect "meta" 200
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"valgrind-pw\"}"
expect "register" 201
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"valgrind-pw\"}"
expect "login" 200
tok=$(printf '%s' "$BODY" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
a=(-H "Authorization: Bearer $tok")
req GET /api/v1/me "" "${a[@]}"
expect "me" 200
req PUT /api/v1/me/favorites '{"name":"Maria","country":"DE"}' "${a[@]}"
expect "add favorite" 201
req GET /api/v1/me/favorites "" "${a[@]}"
expect "list favorites" 200 '"name":"Maria"'
req DELETE /api/v1/me/favorites '{"name":"Maria","country":"DE"}' "${a[@]}"
expect "remove favorite" 200
req PUT /api/v1/me/password '{"old_password":"valgrind-pw","new_password":"valgrind-pw2"}' "${a[@]}"
expect "change password" 200
# (the tiny model's random weights may find no name: a 400 that says so)
req POST /api/name '{"countrycode":"IT","gender":"F"}'
[ "$STATUS" = 200 ] || [[ $STATUS$BODY == 400*"no name fits"* ]] &&
	ok "original route: name ($STATUS)" ||
	not_ok "original route: name" "$STATUS $BODY"
req GET /api/meta
expect "original route: meta" 200
req POST /api/login "{\"email\":\"$u@example.org\",\"password\":\"valgrind-pw2\"}"
expect "original route: login" 200
for i in 1 2 3 4 5 6; do
	req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"wrong-password-$i\"}"
done
expect "a locked login" 429

# hostile input
req POST /api/v1/names "$(python3 -c "print('{\"countries\":' + '[' * 3000 + ']' * 3000 + '}', end='')")"
expect "deep JSON" 400
req POST /api/v1/names/score $'{"name":"Ma\xc3\x28ria"}'
expect "invalid UTF-8" 400
req POST /api/v1/names '{"countries":["IT"],"count":100000}'
expect "out of range" 400
printf 'GARBAGE\r\n\r\n' | timeout 5 curl -s -o /dev/null --data-binary @- \
	-H 'Transfer-Encoding: chunked' "$GW_URL/api/v1/names" || true
python3 - "$GW_PORT" <<'PY'
import socket, sys
for data in (b"\x16\x03\x01" + bytes(range(256)),
             b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
             b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
    s.settimeout(5)
    try:
        s.sendall(data)
        s.recv(100)
    except OSError:
        pass
    s.close()
PY
python3 - "${MODEL_RPC_URL#ipc://}" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"\x00SP\x00\x00\x30\x00\x00")
s.recv(8)
body = struct.pack(">I", 0x80000001) + b"\x0a\x03abc\x12\x04wxyz"
s.sendall(b"\x01" + struct.pack(">Q", len(body)) + body)
try:
    s.recv(100)
except OSError:
    pass
PY
req GET /healthz
expect "the gateway answers after the hostile input" 200

# a worker killed and started again, and the gateway's reconnect path
kill -KILL "$(soak_pid auth)"
wait "$(soak_pid auth)" 2>/dev/null
rm -f "$GW_DIR"/vg-auth-service.*.log
req GET /api/v1/me "" "${a[@]}"
gw_bg auth "$BIN/auth-service"
soak_wait_status /api/v1/me 401 60 -H "Authorization: Bearer x" &&
	ok "a restarted auth-service is used again" ||
	not_ok "a restarted auth-service is used again"
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"valgrind-pw2\"}"

# ----------------------------------------------------- memcheck verdicts
for n in gateway model auth; do
	pid=$(soak_pid $n)
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	case $n in model) p=namegen-model ;; auth) p=auth-service ;; *) p=$n ;; esac
	vlog=$(ls "$GW_DIR"/vg-$p.*.log 2>/dev/null | tail -1)
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vlog" | tail -1)
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$vlog" | tail -1)
	if [ "$rc" = 0 ] && [ "$errs" = 0 ] && [ "${lost:-0}" = 0 ]; then
		ok "$n: exits 0 under memcheck, 0 errors, no definite leak"
	else
		not_ok "$n: 0 memcheck errors and no definite leak" \
			"exit $rc, errors '$errs', definitely lost '${lost:-0}'"
		grep -A20 -E 'Invalid|uninitialised|definitely lost in' "$vlog" |
			head -40 | sed 's/^/# /'
	fi
done
tap_done
