#!/bin/bash
# abuse_rpc.sh - forged messages on the workers' sockets (issue 9).
#
# A Python client speaks nng's SP protocol over the ipc socket of each
# worker (the framing is public: an 8-byte handshake, then length-prefixed
# messages with the REQ request id) and sends what an attacker on the
# machine could: a Call without a MAC, with a wrong MAC, garbage, an
# oversized message, and bundles (several sealed Calls in one message):
# of forged Calls, with an empty entry, with too many entries, nested.
# Each is refused (UNAUTHENTICATED, INVALID_ARGUMENT,
# RESOURCE_EXHAUSTED, or the connection dropped), the refusal is logged,
# the secret never is, and the workers keep serving real callers.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh
. tests/bench/soak_lib.sh

soak_stack_start || { not_ok "the stack starts"; tap_done; exit 1; }

# forge URL METHOD: prints the status of each forged message, one a line
# as "case status", status being a Result's code or "dropped".
forge() {
	python3 - "$1" "$2" <<'PY'
import os, socket, struct, sys, time
path = sys.argv[1][len("ipc://"):]
method = sys.argv[2].encode()

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out

def field(num, wire, data):
    key = varint(num << 3 | wire)
    if wire == 2:
        return key + varint(len(data)) + data
    return key + data

def parse(buf):
    """protobuf fields of buf as {num: value} (last wins)."""
    return dict(parse_all(buf))

def parse_all(buf):
    """protobuf fields of buf as a list of (num, value)."""
    out, i = [], 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wire)
        out.append((num, v))
    return out

def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i

def call(deadline_ms):
    return (field(1, 2, method) + field(2, 1, struct.pack("<Q", 7)) +
            field(3, 1, struct.pack("<Q", 1)) +
            field(4, 0, varint(deadline_ms)) + field(6, 2, b""))

def exchange(payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(path)
    s.sendall(b"\x00SP\x00\x00\x30\x00\x00")  # we are REQ (0x30)
    hs = b""
    while len(hs) < 8:
        b = s.recv(8 - len(hs))
        if not b:
            return "dropped"
        hs += b
    body = struct.pack(">I", 0x80000001) + payload
    try:
        s.sendall(b"\x01" + struct.pack(">Q", len(body)) + body)
        head = b""
        while len(head) < 9:
            b = s.recv(9 - len(head))
            if not b:
                return "dropped"
            head += b
        n = struct.unpack(">Q", head[1:])[0]
        msg = b""
        while len(msg) < n:
            b = s.recv(n - len(msg))
            if not b:
                return "dropped"
            msg += b
    except (socket.timeout, OSError):
        return "dropped"
    finally:
        s.close()
    entries = [v for n, v in parse_all(msg[4:]) if n == 3]
    if entries:  # a bundle: "bundle status/maclen,..."
        out = []
        for e in entries:
            se = parse(e)
            out.append("%d/%d" % (parse(se.get(1, b"")).get(3, 0),
                                  len(se.get(2, b""))))
        return "bundle " + ",".join(out)
    sealed = parse(msg[4:])
    result = parse(sealed.get(1, b""))
    mac = sealed.get(2, b"")
    return "%d mac=%d" % (result.get(3, 0), len(mac))

now = int(time.time() * 1000) + 5000
good_call = call(now)
cases = [
    ("no-mac", field(1, 2, good_call)),
    ("wrong-mac", field(1, 2, good_call) + field(2, 2, os.urandom(32))),
    ("short-mac", field(1, 2, good_call) + field(2, 2, b"\x01" * 16)),
    ("garbage", os.urandom(200)),
    ("empty", b""),
    ("oversized", field(1, 2, b"x" * 200000) + field(2, 2, b"\x00" * 32)),
    ("huge", b"y" * (2 << 20)),
    ("bundle-forged", b"".join(field(3, 2, field(1, 2, good_call) +
                                         field(2, 2, os.urandom(32)))
                               for _ in range(3))),
    ("bundle-empty-entry", field(3, 2, b"")),
    ("bundle-too-many", field(3, 2, field(1, 2, good_call)) * 65),
    ("bundle-nested", field(3, 2, field(3, 2, field(1, 2, good_call)))),
]
for name, payload in cases:
    print(name, exchange(payload), flush=True)
PY
}

for w in model auth; do
	if [ $w = model ]; then url=$MODEL_RPC_URL m=ModelService/Meta
	else url=$AUTH_RPC_URL m=AuthService/WhoAmI; fi
	forge "$url" "$m" >"$GW_DIR/forge.$w" 2>&1
	got() { awk -v c="$1" '$1 == c { $1 = ""; print substr($0, 2) }' \
		"$GW_DIR/forge.$w"; }
	[ "$(got no-mac)" = "16 mac=32" ] &&
		ok "$w: a Call without a MAC is UNAUTHENTICATED (a sealed answer)" ||
		not_ok "$w: a Call without a MAC is UNAUTHENTICATED" \
			"$(cat "$GW_DIR/forge.$w")"
	[ "$(got wrong-mac)" = "16 mac=32" ] &&
		ok "$w: a Call with a wrong MAC is UNAUTHENTICATED" ||
		not_ok "$w: a Call with a wrong MAC is UNAUTHENTICATED" \
			"$(got wrong-mac)"
	[ "$(got short-mac)" = "16 mac=32" ] &&
		ok "$w: a Call with a short MAC is UNAUTHENTICATED" ||
		not_ok "$w: a Call with a short MAC is UNAUTHENTICATED" \
			"$(got short-mac)"
	case $(got garbage) in
	"3 mac=32" | "16 mac=32" | dropped) ok "$w: garbage is refused ($(got garbage))" ;;
	*) not_ok "$w: garbage is refused" "$(got garbage)" ;;
	esac
	case $(got empty) in
	"3 mac=32" | "16 mac=32" | dropped) ok "$w: an empty message is refused ($(got empty))" ;;
	*) not_ok "$w: an empty message is refused" "$(got empty)" ;;
	esac
	case $(got oversized) in
	"8 mac=32" | dropped) ok "$w: a 200 KB message is refused ($(got oversized))" ;;
	*) not_ok "$w: a 200 KB message is refused" "$(got oversized)" ;;
	esac
	[ "$(got huge)" = dropped ] &&
		ok "$w: a 2 MB message drops the connection" ||
		not_ok "$w: a 2 MB message drops the connection" "$(got huge)"
	[ "$(got bundle-forged)" = "bundle 16/32,16/32,16/32" ] &&
		ok "$w: a bundle of forged Calls: each UNAUTHENTICATED" ||
		not_ok "$w: a bundle of forged Calls: each UNAUTHENTICATED" \
			"$(got bundle-forged)"
	[ "$(got bundle-empty-entry)" = "3 mac=32" ] &&
		ok "$w: a bundle with an empty entry is INVALID_ARGUMENT" ||
		not_ok "$w: a bundle with an empty entry is INVALID_ARGUMENT" \
			"$(got bundle-empty-entry)"
	[ "$(got bundle-too-many)" = "3 mac=32" ] &&
		ok "$w: a bundle of 65 is INVALID_ARGUMENT" ||
		not_ok "$w: a bundle of 65 is INVALID_ARGUMENT" \
			"$(got bundle-too-many)"
	[ "$(got bundle-nested)" = "bundle 3/32" ] &&
		ok "$w: a bundle in a bundle is refused as an entry" ||
		not_ok "$w: a bundle in a bundle is refused as an entry" \
			"$(got bundle-nested)"
	n=$(grep -c 'msg="call refused".*status=UNAUTHENTICATED' \
		"$GW_DIR/$w.log")
	[ "$n" -ge 3 ] && ok "$w: each forgery is logged ($n lines)" ||
		not_ok "$w: each forgery is logged" "$n lines"
	grep -qF "$RPC_SECRET" "$GW_DIR/$w.log" &&
		not_ok "$w: the secret is never logged" ||
		ok "$w: the secret is never logged"
	kill -0 "$(soak_pid $w)" 2>/dev/null && ok "$w: still running" ||
		not_ok "$w: still running"
done

# the real callers are still served
req GET /readyz
expect "both workers still answer the gateway" 200 '"model":"ok"' '"auth":"ok"'
req POST /api/v1/names '{"countries":["DE"],"count":2}'
expect "generate still works" 200 '"names":\['
u=rpc$RANDOM
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"rpc-password\"}"
expect "register still works" 201

# a caller with the wrong secret, or none, gets nothing
if [ -x "$BIN/namegen-cli" ]; then
	RPC_SECRET=not-the-secret-0123456789abcdef "$BIN/namegen-cli" \
		model meta >"$GW_DIR/cli.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] && ok "namegen-cli with a wrong secret is refused" ||
		not_ok "namegen-cli with a wrong secret is refused" \
			"exit $rc: $(head -3 "$GW_DIR/cli.out")"
	(unset RPC_SECRET; NAMEGEN_DEV=1 "$BIN/namegen-cli" model meta) \
		>"$GW_DIR/cli.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] && ok "namegen-cli without a secret is refused" ||
		not_ok "namegen-cli without a secret is refused" \
			"exit $rc: $(head -3 "$GW_DIR/cli.out")"
	"$BIN/namegen-cli" model meta >"$GW_DIR/cli.out" 2>&1 &&
		ok "namegen-cli with the secret is served" ||
		not_ok "namegen-cli with the secret is served" \
			"$(head -3 "$GW_DIR/cli.out")"
fi

gw_stop_checked model
gw_stop_checked auth
tap_done
