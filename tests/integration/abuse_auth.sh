#!/bin/bash
# abuse_auth.sh - attacks on accounts and sessions through the real stack
# (issue 9): SQL and shell metacharacters in every field (stored and
# returned byte for byte, never interpreted), a stolen session cookie
# after logout, password change and account deletion, session fixation,
# cross-origin state-changing requests, login brute force.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh
. tests/bench/soak_lib.sh

export LOGIN_FAILS_PER_EMAIL=5 LOGIN_FAILS_PER_ADDR=12 LOGIN_FAIL_WINDOW=60
soak_stack_start || { not_ok "the stack starts"; tap_done; exit 1; }
run=$RANDOM$RANDOM

# json_get FIELD.PATH: a value of the last response body ("" if absent).
json_get() {
	printf '%s' "$BODY" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v, end="")' "$1" 2>/dev/null
}

# login EMAIL PASSWORD [curl args]: sets TOKEN from a login.
login() {
	local e=$1 p=$2
	shift 2
	req POST /api/v1/session "{\"email\":\"$e\",\"password\":\"$p\"}" "$@"
	TOKEN=$(json_get token)
}

# me TOKEN: GET /api/v1/me with the token as the session cookie.
me() {
	req GET /api/v1/me "" -H "Cookie: session=$1"
}

# ------------------------------------------- metacharacters, byte for byte
# Strings that would do harm if a layer pasted them into SQL, a shell or
# a format; each must come back exactly as sent and sit in PostgreSQL
# exactly as sent. The JSON is built by Python so that the test itself
# never interprets them either.
marker=$GW_DIR/pwned
cat >"$GW_DIR/evil.txt" <<EVIL
x'); DELETE FROM favorites;--
Robert"); DROP TABLE names;--
' OR '1'='1
\$(touch $marker)
\`touch $marker\`
a;b|c&d>e<f
%s%n%x%p
\\N \\\\ \\" ~root \$HOME
*?[a-z]{1,3} ^\$ .* \\0
NULL
Ünïcödé 名前 🙂
EVIL
user_name="Robert'); DROP TABLE users;-- \$(id) \`id\` |&;<> %n"
user_email="o'hara+\$(id)|x&y\`z\`{1}*$run@example.org"
user_pass="'; DROP TABLE users;-- \$(reboot) \`halt\` \\ \" %n"
mkjson() {
	python3 -c '
import json, sys
print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))), end="")' "$@"
}
req POST /api/v1/users "$(mkjson username "$user_name" email "$user_email" \
	password "$user_pass")"
expect "register with metacharacters in every field" 201
[ "$(json_get user.username)" = "$user_name" ] &&
	ok "the username comes back byte for byte" ||
	not_ok "the username comes back byte for byte" "$BODY"
req POST /api/v1/users "$(mkjson username x email "a;b@example.org" \
	password "$user_pass")"
expect "an email with a character the rules refuse is a 400" 400 \
	'"field":"email"|email'
login "$(printf '%s' "$user_email" | sed 's/"/\\"/g')" "$(printf '%s' \
	"$user_pass" | sed 's/\\/\\\\/g; s/"/\\"/g')"
[ -n "$TOKEN" ] && ok "log in with a metacharacter password" ||
	not_ok "log in with a metacharacter password" "$STATUS $BODY"
evil_tok=$TOKEN
fails=
while IFS= read -r name; do
	req PUT /api/v1/me/favorites "$(mkjson name "$name" country DE \
		gender female)" -H "Authorization: Bearer $evil_tok"
	[ "$STATUS" = 201 ] || fails+="[$name] $STATUS $BODY; "
done <"$GW_DIR/evil.txt"
[ -z "$fails" ] && ok "11 favorites with metacharacters are added" ||
	not_ok "favorites with metacharacters are added" "$fails"
req GET "/api/v1/me/favorites?limit=100" "" -H "Authorization: Bearer $evil_tok"
printf '%s' "$BODY" | python3 -c '
import json, sys
print("\n".join(f["name"] for f in json.load(sys.stdin)["favorites"]))' |
	sort >"$GW_DIR/evil.api"
sort "$GW_DIR/evil.txt" >"$GW_DIR/evil.want"
cmp -s "$GW_DIR/evil.want" "$GW_DIR/evil.api" &&
	ok "the API lists them byte for byte" ||
	not_ok "the API lists them byte for byte" \
		"$(diff "$GW_DIR/evil.want" "$GW_DIR/evil.api" | head -5)"
soak_psql "SELECT n.name FROM favorites f JOIN names n ON n.id = f.name_id
	JOIN users u ON u.id = f.user_id WHERE u.email = \$\$$user_email\$\$" |
	sort >"$GW_DIR/evil.db"
cmp -s "$GW_DIR/evil.want" "$GW_DIR/evil.db" &&
	ok "PostgreSQL holds them byte for byte" ||
	not_ok "PostgreSQL holds them byte for byte" \
		"$(diff "$GW_DIR/evil.want" "$GW_DIR/evil.db" | head -5)"
[ "$(soak_psql "SELECT username FROM users WHERE email = \$\$$user_email\$\$")" \
	= "$user_name" ] && ok "and the username too" ||
	not_ok "PostgreSQL holds the username byte for byte"
[ ! -e "$marker" ] && ok "no shell ran a command from a field" ||
	not_ok "no shell ran a command from a field" "$marker exists"
n=$(soak_psql "SELECT count(*) FROM users") &&
	[ "$(soak_psql "SELECT count(*) FROM names")" -ge 11 ] &&
	ok "every table is still there ($n users)" ||
	not_ok "every table is still there"
req PUT /api/v1/me/favorites "$(mkjson name Maria country "D'")" \
	-H "Authorization: Bearer $evil_tok"
expect "a country code with a quote is refused" 400 '"field":"country"'
req PUT /api/v1/me/favorites "$(mkjson name $'Ma\x01ria')" \
	-H "Authorization: Bearer $evil_tok"
expect "a control character in a name is refused" 400
req PUT /api/v1/me/favorites '{"name":"Ma\u0000ria"}' \
	-H "Authorization: Bearer $evil_tok"
expect "a NUL in a name is refused" 400

# ------------------------------------------------------- stolen cookies
e=stolen$run@example.org
req POST /api/v1/users "{\"username\":\"stolen\",\"email\":\"$e\",\"password\":\"first-password\"}"
expect "a victim account" 201
login "$e" first-password; a=$TOKEN
login "$e" first-password; b=$TOKEN
login "$e" first-password; c=$TOKEN
login "$e" first-password; d=$TOKEN
me "$a"
expect "a stolen cookie works while the session lives" 200
req DELETE /api/v1/session "" -H "Cookie: session=$a"
expect "the victim logs out" 204
me "$a"
expect "after logout the stolen cookie is refused" 401
req GET /api/v1/me/favorites "" -H "Authorization: Bearer $a"
expect "after logout the stolen token is refused as a bearer too" 401
req PUT /api/v1/me/password '{"old_password":"first-password","new_password":"second-password"}' \
	-H "Authorization: Bearer $b"
expect "the victim changes the password" 200
me "$c"
expect "after a password change the stolen cookie is refused" 401
me "$d"
expect "every other session ended with it" 401
me "$b"
expect "the session that changed it goes on" 200
login "$e" first-password
expect "the old password no longer logs in" 401
req DELETE /api/v1/me '{"password":"second-password"}' \
	-H "Authorization: Bearer $b"
expect "the victim deletes the account" 204
me "$b"
expect "after deletion the stolen cookie is refused" 401
login "$e" second-password
expect "a deleted account cannot log in" 401
v=legacy$run
req POST /api/register "{\"username\":\"$v\",\"email\":\"$v@example.org\",\"password\":\"legacy-password\"}"
req POST /api/login "{\"email\":\"$v@example.org\",\"password\":\"legacy-password\"}"
lc=$(hdr Set-Cookie | sed -n 's/^session=\([^;]*\).*/\1/p')
req POST /api/logout "" -H "Cookie: session=$lc"
req GET /api/@me "" -H "Cookie: session=$lc"
[ -n "$lc" ] && [ "$STATUS" = 401 ] &&
	ok "after a legacy logout the stolen cookie is refused" ||
	not_ok "after a legacy logout the stolen cookie is refused" \
		"cookie '$lc', status $STATUS"

# ------------------------------------------------------ session fixation
e=fix$run@example.org
req POST /api/v1/users "{\"username\":\"fix\",\"email\":\"$e\",\"password\":\"fixation-pw\"}"
invented=AttackerChoseThisTokenAAAAAAAAAAAAAAAAAAAAA
me "$invented"
expect "an invented token is refused as a cookie" 401
req GET /api/v1/me "" -H "Authorization: Bearer $invented"
expect "an invented token is refused as a bearer" 401
login "$e" fixation-pw -H "Cookie: session=$invented"
expect "logging in while carrying an invented cookie works" 200
set_tok=$(hdr Set-Cookie | sed -n 's/^session=\([^;]*\).*/\1/p')
[ -n "$TOKEN" ] && [ "$TOKEN" != "$invented" ] &&
	[ "$set_tok" = "$TOKEN" ] &&
	ok "the server sets a token of its own, not the invented one" ||
	not_ok "the server sets a token of its own" \
		"body '$TOKEN', cookie '$set_tok'"
[[ $TOKEN =~ ^[A-Za-z0-9_-]{43}$ ]] &&
	ok "the token is 32 random bytes in base64url" ||
	not_ok "the token is 32 random bytes in base64url" "$TOKEN"
cookie=$(hdr Set-Cookie)
for attr in HttpOnly Secure 'SameSite=' 'Path=/'; do
	case $cookie in *"$attr"*) ;; *) attr_missing+="$attr " ;; esac
done
[ -z "${attr_missing:-}" ] &&
	ok "the cookie is HttpOnly, Secure, SameSite, Path=/" ||
	not_ok "the cookie is HttpOnly, Secure, SameSite, Path=/" "$cookie"
me "$invented"
expect "the invented token is still refused after that login" 401
me "$TOKEN"
expect "the server's token works" 200
fix_tok=$TOKEN

# --------------------------------------------------- cross-origin writes
evil=(-H "Origin: https://evil.example" -H "Cookie: session=$fix_tok")
req PUT /api/v1/me/favorites '{"name":"Evil","country":"DE"}' "${evil[@]}"
expect "a cookie write from a foreign origin is refused (add favorite)" 403
req DELETE /api/v1/me/favorites '{"name":"Evil"}' "${evil[@]}"
expect "... (remove favorite)" 403
req PUT /api/v1/me/password '{"old_password":"fixation-pw","new_password":"hijacked-pw"}' "${evil[@]}"
expect "... (password change)" 403
req DELETE /api/v1/me '{"password":"fixation-pw"}' "${evil[@]}"
expect "... (account deletion)" 403
req DELETE /api/v1/session "" "${evil[@]}"
expect "... (logout)" 403
req POST /api/likes '{"name":"Evil","countrycode":"DE","gender":"F"}' "${evil[@]}"
expect "... (original route: like)" 403
req POST /api/logout "" "${evil[@]}"
expect "... (original route: logout)" 403
req PUT /api/v1/me/favorites '{"name":"Evil"}' -H "Origin: null" \
	-H "Cookie: session=$fix_tok"
expect "... (Origin: null)" 403
req PUT /api/v1/me/favorites '{"name":"Evil"}' \
	-H "Origin: http://127.0.0.1:$GW_PORT.evil.example" \
	-H "Cookie: session=$fix_tok"
expect "... (an origin that starts like ours)" 403
req PUT /api/v1/me/favorites '{"name":"Evil"}' \
	-H "Origin: http://127.0.0.1:1" -H "Cookie: session=$fix_tok"
expect "... (our host on another port)" 403
st=$(PORT=$GW_PORT TOK=$fix_tok python3 -c '
import os, socket
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), 5)
body = b"{\"name\":\"Evil\"}"
s.sendall(b"PUT /api/v1/me/favorites HTTP/1.0\r\nOrigin: https://evil.example\r\n"
          b"Cookie: session=" + os.environ["TOK"].encode() +
          b"\r\nContent-Type: application/json\r\nContent-Length: " +
          str(len(body)).encode() + b"\r\n\r\n" + body)
print(s.recv(100).split()[1].decode())')
[ "$st" = 403 ] && ok "... (no Host header at all)" ||
	not_ok "a foreign origin without a Host header is refused" "$st"
me "$fix_tok"
expect "after all that the session still lives" 200
req GET /api/v1/me/favorites "" -H "Cookie: session=$fix_tok"
expect "and nothing was written" 200 '"favorites":\[\]'
login "$e" fixation-pw
expect "and the password is unchanged" 200
req PUT /api/v1/me/favorites '{"name":"Fine","country":"DE"}' \
	-H "Origin: http://127.0.0.1:$GW_PORT" -H "Cookie: session=$fix_tok"
expect "the same write from our own origin passes" 201

# ------------------------------------------------------------ brute force
e=brute$run@example.org
req POST /api/v1/users "{\"username\":\"brute\",\"email\":\"$e\",\"password\":\"right-password\"}"
codes=
for i in 1 2 3 4 5 6 7; do
	login "$e" "wrong-password-$i"
	codes+="$STATUS "
done
[ "$codes" = "401 401 401 401 401 429 429 " ] &&
	ok "after 5 wrong passwords an email is locked (429)" ||
	not_ok "after 5 wrong passwords an email is locked (429)" "$codes"
ra=$(hdr Retry-After)
[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ] &&
	ok "the 429 says when to retry ($ra s)" ||
	not_ok "the 429 says when to retry" "Retry-After '$ra'"
login "$e" right-password
expect "while locked, even the right password is refused" 429
req POST /api/login "{\"email\":\"$e\",\"password\":\"right-password\"}"
expect "the original login route is locked too" 429
# the address: 12 failures from 127.0.0.1 in all (7 above, 5 more here
# on other emails, each claiming another address in X-Forwarded-For,
# which a gateway not behind Heroku's router does not believe) lock
# every login from it
for i in 1 2 3 4 5; do
	login "nobody$i-$run@example.org" wrong-password \
		-H "X-Forwarded-For: 198.51.100.$i"
done
login "$(printf fix%s@example.org "$run")" fixation-pw \
	-H "X-Forwarded-For: 198.51.100.77"
expect "after 12 failures from one address, logins from it are locked, a forged X-Forwarded-For notwithstanding" 429
redis-cli -p "$REDIS_PORT" --scan --pattern 'ng:rl:*' >"$GW_DIR/rl.keys"
grep -q "$run" "$GW_DIR/rl.keys" &&
	not_ok "rate-limit keys hold no email" "$(head -3 "$GW_DIR/rl.keys")" ||
	ok "rate-limit keys hold no email or address ($(wc -l <"$GW_DIR/rl.keys") keys)"
# the lock must not outlive this test: later tests log in from 127.0.0.1
redis-cli -p "$REDIS_PORT" --scan --pattern 'ng:rl:*' |
	xargs -r redis-cli -p "$REDIS_PORT" del >/dev/null

gw_stop_checked gateway
tap_done
