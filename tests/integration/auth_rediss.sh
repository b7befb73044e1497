#!/bin/bash
# auth_rediss.sh - the auth-service's Redis layer over TLS (rediss://),
# as Heroku Redis requires: a redis-server with --tls-port, a self-signed
# certificate made here by openssl and a password; the Redis layer's own
# tests run against it, then the service starts on it.
set -u
. "$NAMEGEN_ROOT/tests/lib/tap.sh"
. "$NAMEGEN_ROOT/tests/lib/services.sh"
dir=$(mktemp -d)
rpid=
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	if [ -n "$rpid" ]; then
		kill "$rpid" 2>/dev/null
		while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

port=$(free_port)
pass=tls-test-pass-$$
if ! openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" >"$dir/openssl.log" 2>&1; then
	not_ok "self-signed certificate" "$(cat "$dir/openssl.log")"
	tap_done
	exit
fi
redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 \
	--tls-cert-file "$dir/cert.pem" --tls-key-file "$dir/key.pem" \
	--tls-ca-cert-file "$dir/cert.pem" --tls-auth-clients no \
	--requirepass "$pass" --save '' --appendonly no --daemonize yes \
	--pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log"
for i in $(seq 50); do
	[ -s "$dir/redis.pid" ] &&
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
rpid=$(cat "$dir/redis.pid" 2>/dev/null)
if [ -z "$rpid" ]; then
	not_ok "TLS redis-server started" "$(cat "$dir/redis.log")"
	tap_done
	exit
fi
ok "TLS redis-server started on $port"

# The Redis layer's unit tests, over TLS with AUTH and database 2; their
# results become this test's checks.
CMOCKA_MESSAGE_OUTPUT=TAP \
	AUTH_TEST_REDIS_URL="rediss://:$pass@127.0.0.1:$port/2" \
	"$NAMEGEN_ROOT/$BUILD/tests/test_auth_redis" >"$dir/unit.log" 2>&1
unit_rc=$?
while IFS= read -r line; do
	case $line in
	"ok "*) ok "rediss: ${line#ok * - }" ;;
	"not ok "*) not_ok "rediss: ${line#not ok * - }" ;;
	*) echo "# $line" ;;
	esac
done <"$dir/unit.log"
check "the Redis layer's tests pass over TLS" [ "$unit_rc" -eq 0 ]

# The service on rediss://, up to its "serving" line.
db=auth_rediss_$$
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$db"
export AUTH_RPC_URL="ipc://$dir/auth.ipc" NAMEGEN_DEV=1
export PASSWORD_OPSLIMIT=1 PASSWORD_MEMLIMIT_KIB=1024
"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db" &&
	"$BIN/auth-service" --migrate >/dev/null
REDIS_URL="rediss://:$pass@127.0.0.1:$port/1" "$BIN/auth-service" \
	>"$dir/svc.log" 2>&1 &
spid=$!
for i in $(seq 100); do
	grep -q msg=serving "$dir/svc.log" && break
	sleep 0.1
done
check "auth-service serves with REDIS_URL=rediss://" \
	grep -q "msg=\"Redis reachable\" redis=\"127.0.0.1:$port/1 (tls)\"" \
	"$dir/svc.log"
check "the password is not in its log" \
	bash -c "! grep -q '$pass' '$dir/svc.log'"
kill "$spid"
wait "$spid"
check "it stops with 0" [ $? -eq 0 ]
spid=

# A wrong password and plain TCP to the TLS port are told apart; the
# service keeps retrying, so it is stopped once it has said why.
# try_url URL LOG PATTERN
try_url() {
	local i
	AUTH_CONNECT_TIMEOUT_MS=500 REDIS_URL=$1 "$BIN/auth-service" \
		>"$2" 2>&1 &
	spid=$!
	for i in $(seq 50); do
		grep -q "$3" "$2" && break
		sleep 0.1
	done
	kill "$spid"
	wait "$spid"
	spid=
	grep -q "$3" "$2"
}
check "a wrong password is named as such" \
	try_url "rediss://:wrong@127.0.0.1:$port/1" "$dir/wrong.log" \
	'Redis refused the password of REDIS_URL'
check "redis:// to a TLS port retries with a reason" \
	try_url "redis://:$pass@127.0.0.1:$port/1" "$dir/plain.log" \
	'Redis not reachable, retrying'
tap_done
