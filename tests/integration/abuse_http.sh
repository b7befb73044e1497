#!/bin/bash
# abuse_http.sh - hostile HTTP clients against the real stack (issue 9):
# slow clients, thousands of idle connections, oversized headers and
# bodies, malformed HTTP, JSON nested thousands deep, invalid UTF-8 in
# every string a request carries. After each, the gateway still answers
# the others. Raw sockets come from small Python clients (standard
# library only), only to 127.0.0.1.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh
. tests/bench/soak_lib.sh

IDLE_S=2
MAX_CONN=200
soak_stack_start GATEWAY_IDLE_TIMEOUT_S=$IDLE_S \
	GATEWAY_MAX_CONNECTIONS=$MAX_CONN GATEWAY_RPC_TIMEOUT_MS=3000 ||
	{ not_ok "the stack starts"; tap_done; exit 1; }
gw_pid=$(soak_pid gateway)

# alive WHAT: the gateway still serves a normal request.
alive() {
	req POST /api/v1/names '{"countries":["DE"],"count":1}'
	expect "$1: the gateway still serves others" 200 '"names":\['
}

# py PROGRAM ARGS...: run a Python client with PORT, GW_PID, IDLE_S.
py() {
	local prog=$1
	shift
	PORT=$GW_PORT GW_PID=$gw_pid IDLE_S=$IDLE_S python3 -c "$prog" "$@"
}

# ----------------------------------------------------------- slow clients
# 20 clients send a request one byte a second for 6 s, then stop; normal
# requests are served meanwhile, and each slow one is cut off once it has
# been silent for the idle timeout.
#
# XXX: a client that keeps trickling a byte a second is not cut off:
# libmicrohttpd 0.9.75 only has an idle timeout, and the gateway sets no
# deadline for a request's headers. The connection limit and the
# per-connection memory limit bound what such clients can hold (see the
# idle connections below); removing the gap needs a header deadline in
# gateway/gw_http.c (see the README's known limits).
out=$(py '
import os, socket, threading, time, http.client
port = int(os.environ["PORT"])
req = b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\n"
cut = [None] * 20
def slow(i):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    try:
        for b in req[:6]:
            s.send(bytes([b]))
            time.sleep(1)
        t0 = time.time()
        cut[i] = -1
        if s.recv(100) == b"":
            cut[i] = time.time() - t0
    except OSError:
        cut[i] = time.time() - t0
ts = [threading.Thread(target=slow, args=(i,)) for i in range(20)]
for t in ts: t.start()
time.sleep(1.5)
good = 0
for i in range(20):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/healthz")
    if c.getresponse().status == 200: good += 1
    c.close()
for t in ts: t.join()
done = [x for x in cut if x is not None and x >= 0]
print(good, len(done), "%.1f" % max(done) if done else -1)
')
read -r good ncut tcut <<<"$out"
[ "$good" = 20 ] && ok "slow clients: 20 normal requests served meanwhile" ||
	not_ok "slow clients: 20 normal requests served meanwhile" "$out"
[ "$ncut" = 20 ] && soak_true "$tcut <= $IDLE_S + 2" &&
	ok "slow clients: all 20 cut off once silent (after $tcut s)" ||
	not_ok "slow clients: all 20 cut off once silent" "$out"

# ------------------------------------------------------- idle connections
# 3000 connections that never send a byte, against a limit of MAX_CONN
# (the rest wait in the kernel's listen queue): the gateway holds at most
# the limit (counted as its open sockets), its memory stays bounded, it
# drops the connections it holds once they are idle for the timeout, and
# when the clients go it serves everyone again.
nfd() { find "/proc/$gw_pid/fd" -mindepth 1 2>/dev/null | wc -l; }
fd0=$(nfd)
out=$(py '
import os, resource, socket, time
port, pid = int(os.environ["PORT"]), os.environ["GW_PID"]
def rss():
    for l in open("/proc/%s/status" % pid):
        if l.startswith("VmRSS:"): return int(l.split()[1])
def fds():
    return len(os.listdir("/proc/%s/fd" % pid))
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
rss0 = rss()
socks = []
for i in range(3000):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    socks.append(s)
time.sleep(1)
held, rss1 = fds(), rss()
time.sleep(float(os.environ["IDLE_S"]) + 1.5)
dropped = 0
for s in socks:
    try:
        if s.recv(1) == b"": dropped += 1
    except BlockingIOError:
        pass
    except OSError:
        dropped += 1
for s in socks: s.close()
print(len(socks), held, rss1 - rss0, dropped)
' 2>&1)
read -r tried held grew dropped <<<"$out"
[ "$tried" = 3000 ] && [ "$held" -le $((fd0 + MAX_CONN + 2)) ] &&
	ok "idle connections: 3000 opened, the gateway holds $((held - fd0)) (limit $MAX_CONN)" ||
	not_ok "idle connections: the gateway holds at most the limit" \
		"$out (fds before: $fd0)"
# each connection may hold at most GATEWAY_CONN_MEMORY (32 KiB)
[ -n "$grew" ] && [ "$grew" -lt $((MAX_CONN * 32 + 16384)) ] &&
	ok "idle connections: memory grew by $grew KiB" ||
	not_ok "idle connections: memory stays bounded" "$out"
[ -n "$dropped" ] && [ "$dropped" -ge "$MAX_CONN" ] &&
	ok "idle connections: $dropped dropped after the idle timeout" ||
	not_ok "idle connections: those held are dropped when idle" "$out"
soak_wait_status /healthz 200 $((IDLE_S + 5)) &&
	ok "idle connections: served again once the clients go" ||
	not_ok "idle connections: served again once the clients go"
for _ in $(seq 50); do [ "$(nfd)" -le $((fd0 + 2)) ] && break; sleep 0.1; done
[ "$(nfd)" -le $((fd0 + 2)) ] &&
	ok "idle connections: the gateway's sockets are back to $(nfd)" ||
	not_ok "idle connections: the gateway's sockets are released" \
		"$(nfd) open, $fd0 before"
alive "idle connections"

# raw NAME: send the bytes of a Python expression over one connection
# and print the status of the answer, "closed" when the gateway closed
# the connection without one, or "timeout" after 5 s.
RAW='
import os, socket, sys, time
port = int(os.environ["PORT"])
data = eval(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(5)
try:
    s.sendall(data)
except OSError:
    pass
buf = b""
try:
    while b"\r\n" not in buf:
        b = s.recv(4096)
        if not b: break
        buf += b
except socket.timeout:
    print("timeout"); sys.exit()
except OSError:
    pass
line = buf.split(b"\r\n")[0].split()
print(line[1].decode() if len(line) > 1 and line[0].startswith(b"HTTP/")
      else "closed")
'
raw() { py "$RAW" "$1"; }

# refused WHAT EXPR [STATUS...]: the gateway answers the raw request with
# a 4xx (or one of the statuses given) or closes the connection; never a
# 5xx, never a hang.
refused() {
	local what=$1 expr=$2 got
	shift 2
	got=$(raw "$expr")
	case " $* closed " in
	*" $got "*) ok "$what ($got)" ;;
	*)
		if [ $# -eq 0 ] && [[ $got =~ ^4[0-9][0-9]$ ]]; then
			ok "$what ($got)"
		else
			not_ok "$what" "got $got"
		fi
		;;
	esac
}

# ------------------------------------------------- oversized head and body
H='b"GET /healthz HTTP/1.1\r\nHost: a\r\n"'
refused "a 100 KiB header is refused" "$H"' + b"X-Big: " + b"a" * 102400 + b"\r\n\r\n"' 431 413 400
refused "10000 small headers are refused" "$H"' + b"X-A: b\r\n" * 10000 + b"\r\n"' 431 413 400
refused "a 64 KiB request line is refused" 'b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\nHost: a\r\n\r\n"' 414 431 413 400
refused "a 10 MB body announced by Content-Length is refused" \
	'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n" + b"[" * 100000' 413
refused "a 1 MB chunked body is refused" \
	'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"4000\r\n" + b" " * 16384 + b"\r\n") * 64 + b"0\r\n\r\n"' 413
refused "a Content-Length beyond 64 bits is refused" \
	'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n"' 413 400
alive "oversized requests"

# ----------------------------------------------------------- malformed HTTP
refused "garbage instead of a request line" 'b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 8'
refused "a request line without a version" 'b"GET /healthz\r\n\r\n"'
refused "an unknown HTTP version" 'b"GET /healthz HTTP/9.9\r\nHost: a\r\n\r\n"' 505 400
# libmicrohttpd 0.9.75 serves an HTTP/1.1 request without Host (RFC 9112
# asks for a 400); nothing in the gateway trusts Host but the same-origin
# check, which abuse_auth.sh tests without one.
refused "HTTP/1.1 without Host is served or refused, no crash" \
	'b"GET /healthz HTTP/1.1\r\n\r\n"' 200 400
refused "a header line without a colon" 'b"GET /healthz HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n"'
refused "a NUL byte in the path" 'b"GET /heal\x00thz HTTP/1.1\r\nHost: a\r\n\r\n"' 404
refused "a NUL byte in a header" 'b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n"' 200
refused "a negative Content-Length" 'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n"'
refused "two different Content-Lengths" 'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\n{}"'
refused "a bad chunk size" 'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n"'
refused "Content-Length with chunked (smuggling)" 'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/v1/me HTTP/1.1\r\nHost: a\r\n\r\n"'
refused "an unknown method" 'b"BREW /healthz HTTP/1.1\r\nHost: a\r\n\r\n"' 405 501 400
refused "only line ends" 'b"\r\n" * 2000'
refused "a body shorter than its Content-Length, then silence" 'b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n{\"co"'
alive "malformed HTTP"

# --------------------------------------------------------- deep JSON
deep() { python3 -c "import sys; n = int(sys.argv[1]); print('{\"countries\":' + '[' * n + ']' * n + '}', end='')" "$1"; }
req POST /api/v1/names "$(deep 5000)"
expect "JSON nested 5000 deep is a 400" 400 '"code":"invalid_json"'
req POST /api/v1/names "$(deep 2000)"
expect "JSON nested 2000 deep is a 400" 400 '"code":"(invalid_json|invalid_argument)"'
req POST /api/v1/names "$(python3 -c "print('{\"a\":' * 7000 + '1' + '}' * 7000, end='')")"
expect "objects nested 7000 deep (over 16 KiB) are a 413" 413
req POST /api/name "$(deep 5000)"
expect "an original route refuses deep JSON too" 400 '"error":'
alive "deep JSON"

# ------------------------------------------------------------ invalid UTF-8
# Every string field of every route, with bytes that are not UTF-8 (a
# lone continuation, a truncated sequence, an overlong '/', a surrogate,
# a code point past U+10FFFF) or an escaped lone surrogate: a 400 naming
# the problem, never a 500, never stored.
u=abuse$RANDOM
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"abuse-password\"}"
expect "a user to test with" 201
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"abuse-password\"}"
tok=$(printf '%s' "$BODY" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
auth=(-H "Authorization: Bearer $tok")
bads=($'\x80' $'a\xc3' $'\xc0\xaf' $'\xed\xa0\x80' $'\xf4\x90\x80\x80' '\ud800')
fields=(
	"POST /api/v1/names {\"countries\":[\"@\"]}"
	"POST /api/v1/names {\"countries\":[{\"code\":\"@\"}]}"
	"POST /api/v1/names {\"countries\":[\"DE\"],\"prefix\":\"@\"}"
	"POST /api/v1/names {\"countries\":[\"DE\"],\"gender\":\"@\"}"
	"POST /api/v1/names/score {\"name\":\"M@\"}"
	"POST /api/v1/users {\"username\":\"@\",\"email\":\"x$u@example.org\",\"password\":\"abuse-password\"}"
	"POST /api/v1/users {\"username\":\"x$u\",\"email\":\"x@$u@example.org\",\"password\":\"abuse-password\"}"
	"POST /api/v1/users {\"username\":\"x$u\",\"email\":\"x$u@example.org\",\"password\":\"abuse-@-password\"}"
	"POST /api/v1/session {\"email\":\"$u@example.org\",\"password\":\"abuse-@\"}"
	"PUT /api/v1/me/favorites {\"name\":\"Ma@\",\"country\":\"DE\"}"
	"PUT /api/v1/me/favorites {\"name\":\"Maria\",\"country\":\"@\"}"
	"DELETE /api/v1/me/favorites {\"name\":\"Ma@\"}"
	"PUT /api/v1/me/password {\"old_password\":\"abuse-password\",\"new_password\":\"abuse-@-new\"}"
	"DELETE /api/v1/me {\"password\":\"abuse-@\"}"
	"POST /api/name {\"countrycode\":\"@\"}"
	"POST /api/register {\"username\":\"@\",\"email\":\"y$u@example.org\",\"password\":\"abuse-password\"}"
	"POST /api/login {\"email\":\"$u@example.org\",\"password\":\"@\"}"
	"POST /api/likes {\"name\":\"Ma@\",\"countrycode\":\"DE\",\"gender\":\"F\"}"
)
bad_status=
i=0
for f in "${fields[@]}"; do
	read -r method path body <<<"$f"
	for b in "${bads[@]}"; do
		req "$method" "$path" "${body//@/$b}" "${auth[@]}"
		case $STATUS in
		400) ;;
		*) bad_status+="$method $path ${body:0:40} [$(printf '%q' "$b")] -> $STATUS; " ;;
		esac
		i=$((i + 1))
	done
done
[ -z "$bad_status" ] &&
	ok "invalid UTF-8 in $i field/byte combinations: each a 400" ||
	not_ok "invalid UTF-8 in every field is a 400" "$bad_status"
req GET "/api/v1/me/favorites?cursor=%FF%FE" "" "${auth[@]}"
expect "invalid UTF-8 in a query argument is a 400" 400 '"field":"cursor"'
req GET /api/v1/me "" -H $'Cookie: session=\xff\xfe\x80'
expect "invalid UTF-8 in the session cookie is a 401" 401
req GET /healthz "" -H $'X-Request-Id: \xc3\x28\xff'
[[ $(hdr X-Request-Id) =~ ^[0-9a-f]{16}$ ]] &&
	ok "invalid UTF-8 in X-Request-Id is replaced" ||
	not_ok "invalid UTF-8 in X-Request-Id is replaced" "$(hdr X-Request-Id)"
req GET /api/v1/me/favorites "" "${auth[@]}"
expect "nothing with invalid UTF-8 was stored" 200 '"favorites":\[\]'
n=$(soak_psql "SELECT count(*) FROM users WHERE username LIKE 'x$u%'
	OR email LIKE '%x$u%' OR email LIKE 'y$u%'")
[ "$n" = 0 ] && ok "no account was made from invalid UTF-8" ||
	not_ok "no account was made from invalid UTF-8" "$n rows"
alive "invalid UTF-8"

gw_stop_checked gateway
tap_done
