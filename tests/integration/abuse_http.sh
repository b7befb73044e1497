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
REQ_S=3
MAX_CONN=200
soak_stack_start GATEWAY_IDLE_TIMEOUT_S=$IDLE_S GATEWAY_REQUEST_TIMEOUT_S=$REQ_S \
	GATEWAY_MAX_CONNECTIONS=$MAX_CONN GATEWAY_RPC_TIMEOUT_MS=6000 ||
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
# While these run, 20 normal requests are served:
# - 10 clients trickle a request's first line a byte a second (the idle
#   timeout never fires): each is closed at the request deadline, not
#   before, and within it plus a margin;
# - 5 send their headers at once and trickle the body: each gets a 408
#   at the deadline, then the connection closes;
# - one gets an answer on a kept-alive connection, then trickles its
#   next request: closed once the idle timeout has passed since the
#   answer;
# - one sends a whole request in 5 pieces over 2 s, inside the deadline:
#   it gets its 200.
# Every client gives up after 12 s, so this part is bounded.
out=$(py '
import os, select, socket, threading, time, http.client
port = int(os.environ["PORT"])
body = b"{\"countries\":[\"DE\"],\"count\":1}"
head = (b"POST /api/v1/names HTTP/1.1\r\nHost: a\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body))
res = {}
def trickle(s, data, t0):
    """Send data a byte a second; return (seconds from t0 to the close,
    the status seen or None), or (-1, None) if still open at 12 s."""
    got = b""
    for b in data:
        r, _, _ = select.select([s], [], [], 1.0)
        if r:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:
                st = got.split(b" ")[1].decode() if got[:5] == b"HTTP/" else None
                return time.time() - t0, st
            got += chunk
            continue
        if time.time() - t0 > 12:
            break
        try:
            s.send(bytes([b]))
        except OSError:
            return time.time() - t0, None
    return -1, None
def line(i):
    s = socket.create_connection(("127.0.0.1", port))
    res["line%d" % i] = trickle(s, head * 3, time.time())
    s.close()
def body_slow(i):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.time()
    s.sendall(head)
    res["body%d" % i] = trickle(s, body * 3, t0)
    s.close()
def kept():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(head + body)
    s.settimeout(5)
    got = b""
    while b"\r\n\r\n" not in got or not got.endswith(b"}"):
        c = s.recv(4096)
        if not c: break
        got += c
    t0 = time.time()
    ok = got.startswith(b"HTTP/1.1 200")
    res["kept"] = trickle(s, head * 3, t0) + (ok,)
    s.close()
def in_time():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    data = head + body
    n = (len(data) + 4) // 5
    for k in range(5):
        s.sendall(data[k * n:(k + 1) * n])
        if k < 4: time.sleep(0.5)
    got = s.recv(4096)
    res["intime"] = got.split(b" ")[1].decode() if got[:5] == b"HTTP/" else "none"
    s.close()
ts = [threading.Thread(target=line, args=(i,)) for i in range(10)]
ts += [threading.Thread(target=body_slow, args=(i,)) for i in range(5)]
ts += [threading.Thread(target=kept), threading.Thread(target=in_time)]
for t in ts: t.start()
time.sleep(1.0)
good = 0
for i in range(20):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/healthz")
    if c.getresponse().status == 200: good += 1
    c.close()
    time.sleep(0.1)
for t in ts: t.join()
lines = [res["line%d" % i][0] for i in range(10)]
bodies = [res["body%d" % i] for i in range(5)]
print(good, "%.2f" % min(lines), "%.2f" % max(lines),
      "%.2f" % min(b[0] for b in bodies), "%.2f" % max(b[0] for b in bodies),
      sum(1 for b in bodies if b[1] == "408"),
      "%.2f" % res["kept"][0], res["kept"][2], res["intime"])
')
read -r good lmin lmax bmin bmax n408 tkept kept200 intime <<<"$out"
[ "$good" = 20 ] && ok "slow clients: 20 normal requests served meanwhile" ||
	not_ok "slow clients: 20 normal requests served meanwhile" "$out"
# (the margin allows for a loaded machine: the deadline counts from the
# gateway's accept, which can lag the client's connect)
soak_true "$lmin >= $REQ_S - 0.2 && $lmax <= $REQ_S + 2.5" &&
	ok "slow clients: 10 trickling a request line closed at the $REQ_S s deadline ($lmin to $lmax s)" ||
	not_ok "slow clients: those trickling a request line are closed at the deadline" \
		"$out (deadline $REQ_S s)"
[ "$n408" = 5 ] && soak_true "$bmin >= $REQ_S - 0.2 && $bmax <= $REQ_S + 2.5" &&
	ok "slow clients: 5 trickling a body got 408 at the deadline ($bmin to $bmax s)" ||
	not_ok "slow clients: those trickling a body get 408 at the deadline" \
		"$out (deadline $REQ_S s)"
limit=$((IDLE_S > REQ_S ? IDLE_S : REQ_S))
[ "$kept200" = True ] && soak_true "$tkept >= $limit - 0.2 && $tkept <= $limit + 2.5" &&
	ok "slow clients: a kept-alive connection trickling its next request closed after $tkept s" ||
	not_ok "slow clients: a kept-alive connection trickling its next request is closed" \
		"$out (limit $limit s)"
[ "$intime" = 200 ] &&
	ok "slow clients: a request sent in pieces within the deadline gets its 200" ||
	not_ok "slow clients: a request sent in pieces within the deadline gets its 200" "$out"
grep -q 'msg="request deadline passed, connection closed".*status=408' \
	"$GW_DIR/gateway.log" &&
	ok "slow clients: the 408s are logged" ||
	not_ok "slow clients: the 408s are logged"

# A request whose worker takes longer than the request deadline is not
# slow: it is in, and waits suspended for its answer.
kill -STOP "$(soak_pid model)"
curl -s -o "$GW_DIR/susp" -w '%{http_code} %{time_total}\n' --max-time 10 \
	-H 'Content-Type: application/json' --data '{"countries":["DE"],"count":1}' \
	"$GW_URL/api/v1/names" >"$GW_DIR/susp.status" &
susp=$!
sleep "$(soak_calc "$REQ_S + 1")"
kill -CONT "$(soak_pid model)"
wait "$susp"
read -r code secs <"$GW_DIR/susp.status"
# (a 504 at the 6 s RPC deadline would also show that the connection was
# kept: seen once, the worker not answering after SIGCONT)
if [ "$code" = 200 ] && soak_true "$secs > $REQ_S"; then
	ok "slow clients: a request waiting $secs s on a stopped worker still gets its 200"
elif [ "$code" = 504 ] && soak_true "$secs > 5.5"; then
	ok "slow clients: a request waiting on a stopped worker is answered at its RPC deadline ($code after $secs s)"
else
	not_ok "slow clients: a request waiting on a worker past the deadline gets its answer" \
		"$code after $secs s: $(head -c 200 "$GW_DIR/susp")"
fi

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
# RFC 9112: an HTTP/1.1 request has exactly one Host (libmicrohttpd
# 0.9.75 does not check; the gateway does); HTTP/1.0 may leave it out
answered() {
	local got
	got=$(raw "$2")
	[ "$got" = "$3" ] && ok "$1" || not_ok "$1" "got $got"
}
answered "HTTP/1.1 without Host is a 400" \
	'b"GET /healthz HTTP/1.1\r\n\r\n"' 400
answered "HTTP/1.1 with two Hosts is a 400" \
	'b"GET /healthz HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"' 400
answered "a POST without Host is a 400" \
	'b"POST /api/v1/names HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"' 400
answered "HTTP/1.0 without Host is served" \
	'b"GET /healthz HTTP/1.0\r\n\r\n"' 200
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
