#!/bin/bash
# gateway_hostile.sh - raw bytes at the gateway's socket: garbage, huge
# headers and URLs, bad lengths, bad chunking, odd methods and escapes,
# NUL and invalid UTF-8. Each gets a clear HTTP error (or a closed
# connection for bytes that are not HTTP), and the gateway keeps serving
# and exits 0 on SIGTERM (so the sanitizer build finds no error or leak).
# No worker is needed: these requests never reach one (the test worker
# stands in so that calls could start if they did).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh

gw_start_test_model
gw_start_gateway GATEWAY_RPC_TIMEOUT_MS=500 ||
	{ not_ok "gateway starts"; tap_done; exit; }

# raw WHAT WANT BYTES: send BYTES (printf format) on a new connection and
# check the status line starts with WANT ("" = the server just closes;
# "431|" = either).
# Cases stop where the server stops reading: bytes it never reads would
# make its close a reset that can overtake its answer.
raw() {
	local what=$1 want=$2 fmt=$3 line
	line=$( (
		exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT" || exit
		printf "$fmt" >&3 2>/dev/null
		timeout 3 head -c 200 <&3 | head -1 | tr -d '\r'
	) 2>/dev/null)
	if [ -z "${want%|}" ] && [ -z "$line" ] ||
		[[ -n ${want%|} && $line == "HTTP/1.1 ${want%|}"* ]] ||
		[[ $want == *"|" && -z $line ]]; then
		ok "$what"
	else
		not_ok "$what" "got '$line', wanted '$want'"
	fi
}

long=$(head -c 20000 /dev/zero | tr '\0' a)
huge=$(head -c 100000 /dev/zero | tr '\0' a)
raw "bytes that are not HTTP: closed" "" '\001\002garbage\r\n\r\n'
# the server stops reading at its 32 KiB buffer, so its 431 may be lost
# to the reset of the unread rest
raw "a 100 KB header: 431 or closed" "431|" "GET / HTTP/1.1\r\nX: $huge\r\n\r\n"
raw "a 20 KB path: refused" 4 "GET /$long HTTP/1.1\r\nHost: x\r\n\r\n"
raw "an unknown method on a route: 405" 405 \
	'FOO /api/v1/meta HTTP/1.1\r\nHost: x\r\n\r\n'
raw "a Content-Length of 20 digits: 413" 413 \
	'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n'
raw "a negative Content-Length: 400" 400 \
	'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'
raw "two Content-Lengths: the first counts, and its body is refused" 400 \
	'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}{}{'
raw "a bad chunk size: 400" 400 \
	'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n'
raw "a body shorter than announced: no answer until it comes" "" \
	'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"a"'
raw "deeply nested JSON: 400" 400 \
	'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{"countries":[[[[[[[[[[[[[[[[[[[[[[[[]]]]'
raw "invalid UTF-8 in JSON: 400" 400 \
	'POST /api/v1/names/score HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{"name":"\377\376"}'
raw "a 5 KB cookie is no token: 401" 401 \
	"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nCookie: session=${long:0:5000}\r\n\r\n"
raw "a bearer token of raw bytes: 401" 401 \
	'GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \377\376\r\n\r\n'
raw "escaped NUL and invalid bytes in query arguments: 400" 400 \
	'GET /api/v1/me/favorites?limit=%%00&cursor=%%ff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abc\r\n\r\n'
raw "broken escapes in a path: 404" 404 'GET /%%%%%%2 HTTP/1.1\r\nHost: x\r\n\r\n'
raw "raw high bytes in a path: 404" 404 'GET /\377\376 HTTP/1.1\r\nHost: x\r\n\r\n'
raw "a NUL escape in a path: 404" 404 'GET /index.html%%00.js HTTP/1.1\r\nHost: x\r\n\r\n'
raw "OPTIONS *: an error, no crash" 4 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'

# random bytes, as a request and as a body
for i in $(seq 50); do
	head -c $((RANDOM % 3000 + 1)) /dev/urandom |
		timeout 2 bash -c "cat >/dev/tcp/127.0.0.1/$GW_PORT" 2>/dev/null
	{ printf 'POST /api/v1/names HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n'
	  head -c 2000 /dev/urandom; } |
		timeout 2 bash -c "cat >/dev/tcp/127.0.0.1/$GW_PORT" 2>/dev/null
done
req GET /healthz
expect "still serving after 100 random requests" 200
gw_stop_checked gateway
tap_done
