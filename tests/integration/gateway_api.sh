#!/bin/bash
# gateway_api.sh - every route of the HTTP API end to end: curl -> gateway
# -> auth-service (PostgreSQL, Redis) and namegen-model, all real processes
# on real sockets. Also cookies, bearer tokens, CORS, strictness, static
# files and path traversal, request ids, metrics.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh

ORIGIN=https://app.example

mkdir -p "$GW_DIR/web/js"
printf '<!doctype html><title>namegen</title>\n' >"$GW_DIR/web/index.html"
printf 'console.log(1);\n' >"$GW_DIR/web/js/app.js"
printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' >"$GW_DIR/web/logo.svg"
printf 'TOP-SECRET\n' >"$GW_DIR/secret.txt"
ln -s "$GW_DIR/secret.txt" "$GW_DIR/web/link.txt"

gw_start_auth || { not_ok "auth-service starts"; tap_done; exit; }
gw_start_model
gw_start_gateway CORS_ORIGINS="$ORIGIN" ||
	{ not_ok "gateway starts"; tap_done; exit; }
if gw_model_is_real; then echo "# model worker: namegen-model"; fi
check "both workers become ready" gw_wait_ready

# ------------------------------------------------------------ operations
req GET /healthz
expect "GET /healthz" 200 '"status":"ok"'
h=$(curl -sI --max-time 5 "$GW_URL/healthz" | tr -d '\r')
printf '%s' "$h" | grep -q '^HTTP/1.1 200' && ok "HEAD /healthz" ||
	not_ok "HEAD /healthz" "$h"
req GET /readyz
expect "GET /readyz names both workers ok" 200 '"model":"ok"' '"auth":"ok"'
rid=$(hdr X-Request-Id)
[[ $rid =~ ^[0-9a-f]{16}$ ]] && ok "a request id is made" ||
	not_ok "a request id is made" "got '$rid'"
req GET /healthz "" -H "X-Request-Id: trace-42.a_b"
[ "$(hdr X-Request-Id)" = trace-42.a_b ] && ok "a client's request id is kept" ||
	not_ok "a client's request id is kept" "got '$(hdr X-Request-Id)'"
req GET /healthz "" -H "X-Request-Id: bad id<script>"
[[ $(hdr X-Request-Id) =~ ^[0-9a-f]{16}$ ]] &&
	ok "a malformed request id is replaced" ||
	not_ok "a malformed request id is replaced" "$(hdr X-Request-Id)"

# ------------------------------------------------------------- the model
req GET /api/v1/meta
expect "GET /api/v1/meta" 200 '"countries":\[' '"genders":\[' \
	'"model_version":'
if gw_model_is_real; then
	code=$(printf '%s' "$BODY" | grep -o '"code":"[A-Z][A-Z]"' |
		head -1 | cut -d'"' -f4)
	[ -n "$code" ] && ok "meta lists countries" || not_ok "meta lists countries"
	req POST /api/v1/names "{\"countries\":[\"$code\"],\"count\":10,\"seed\":7}"
	expect "POST /api/v1/names (10 names)" 200 '"names":\['
	n=$(printf '%s' "$BODY" | grep -o '"name":' | wc -l)
	[ "$n" -eq 10 ] && ok "ten names" || not_ok "ten names" "$n: $BODY"
	first=$BODY
	req POST /api/v1/names "{\"countries\":[\"$code\"],\"count\":10,\"seed\":7}"
	[ "$BODY" = "$first" ] && ok "a seed repeats the names" ||
		not_ok "a seed repeats the names"
	req POST /api/v1/names "{\"countries\":[{\"code\":\"$code\",\"weight\":2}],\"gender\":\"female\",\"prefix\":\"Ma\",\"min_length\":3,\"max_length\":12,\"count\":5,\"temperature\":0.7,\"top_k\":10,\"unique\":true,\"novel\":false,\"seed\":1}"
	expect "POST /api/v1/names with every option" 200 '"name":"Ma'
	req POST /api/v1/names '{"countries":["QQ"]}'
	expect "an unknown country is the model's 400" 400 \
		'"code":"invalid_argument"'
	req POST /api/v1/names/score '{"name":"Maria"}'
	expect "POST /api/v1/names/score" 200 '"countries":\[\{"code":' \
		'"genders":\[\{"gender":'
else
	code=DE
	req POST /api/v1/names '{"countries":["DE"],"count":10}'
	expect "POST /api/v1/names" 200 '"names":\['
	req POST /api/v1/names/score '{"name":"Maria"}'
	expect "POST /api/v1/names/score" 200 '"name":"Maria"'
fi

# ------------------------------------------------------------ strictness
req POST /api/v1/names '{"countries":["DE"],"count":"ten"}'
expect "a wrong type is a 400 naming the field" 400 \
	'"code":"invalid_argument"' '"field":"count"'
req POST /api/v1/names '{"countries":["DE"],"colour":"red"}'
expect "an unknown field is a 400 naming it" 400 '"code":"unknown_field"' \
	'"field":"colour"'
req POST /api/v1/names '{"countries":["DE"'
expect "malformed JSON is a 400" 400 '"code":"invalid_json"'
req POST /api/v1/names '[]'
expect "a body that is not an object is a 400" 400 '"code":"invalid_json"'
req POST /api/v1/names ''
expect "a missing body is a 400" 400 '"code":"invalid_json"'
# exactly 16 KiB is still read (and refused for the prefix, not the size)
edge=$(head -c $((16384 - 33)) /dev/zero | tr '\0' 'a')
req POST /api/v1/names "{\"countries\":[\"DE\"],\"prefix\":\"$edge\"}"
expect "a body of exactly 16 KiB is read" 400 '"field":"prefix"'
big=$(head -c 17000 /dev/zero | tr '\0' 'a')
req POST /api/v1/names "{\"countries\":[\"DE\"],\"prefix\":\"$big\"}"
expect "a body over 16 KiB is a 413 (Content-Length)" 413 \
	'"code":"payload_too_large"'
req POST /api/v1/names "{\"countries\":[\"DE\"],\"prefix\":\"$big\"}" \
	-H 'Transfer-Encoding: chunked'
expect "a body over 16 KiB is a 413 (chunked)" 413 \
	'"code":"payload_too_large"'
req GET /api/v1/nothing
expect "an unknown route is a JSON 404" 404 '"code":"not_found"'
req PATCH /api/v1/me/favorites
expect "a wrong method is a JSON 405" 405 '"code":"method_not_allowed"'
[ "$(hdr Allow)" = "GET, PUT, DELETE, OPTIONS" ] && ok "405 carries Allow" ||
	not_ok "405 carries Allow" "$(hdr Allow)"
req GET /api/v1/me/favorites?limit=0 "" -H "Authorization: Bearer x"
expect "a bad query argument is a 400 naming it" 400 '"field":"limit"'

# -------------------------------------------------------------- accounts
u=gw$RANDOM$RANDOM
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"correct horse 1\"}"
expect "POST /api/v1/users registers (201)" 201 "\"username\":\"$u\"" \
	'"id":[0-9]+'
req POST /api/v1/users "{\"username\":\"$u\",\"email\":\"$u@example.org\",\"password\":\"correct horse 1\"}"
expect "registering twice is a 409" 409 '"code":"already_exists"'
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"wrong password\"}"
expect "a wrong password is a 401" 401 '"code":"unauthenticated"'
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"correct horse 1\"}"
expect "POST /api/v1/session logs in" 200 '"token":"' "\"email\":\"$u@example.org\""
token=$(printf '%s' "$BODY" | sed 's/.*"token":"\([^"]*\)".*/\1/')
cookie=$(hdr Set-Cookie)
case $cookie in
"session=$token; Path=/; Max-Age="[0-9]*"; HttpOnly; SameSite=None; Secure")
	ok "the cookie: HttpOnly, SameSite=None (CORS set), Secure, Path=/" ;;
*) not_ok "the cookie: HttpOnly, SameSite=None (CORS set), Secure, Path=/" \
	"$cookie" ;;
esac
age=$(printf '%s' "$cookie" | sed 's/.*Max-Age=\([0-9]*\).*/\1/')
[ "$age" -gt 3600 ] && ok "the cookie lives as long as the session" ||
	not_ok "the cookie lives as long as the session" "$age"

req GET /api/v1/me "" -H "Cookie: session=$token"
expect "GET /api/v1/me by cookie" 200 "\"username\":\"$u\"" '"expires_in":'
req GET /api/v1/me "" -H "Authorization: Bearer $token"
expect "GET /api/v1/me by bearer token" 200 "\"username\":\"$u\""
req GET /api/v1/me
expect "GET /api/v1/me without a session is a 401" 401 \
	'"code":"unauthenticated"'
req GET /api/v1/me "" -H "Authorization: Bearer not-a-real-token"
expect "an unknown token is a 401" 401 '"code":"unauthenticated"'

# ------------------------------------------------------------- favorites
B=(-H "Authorization: Bearer $token")
req PUT /api/v1/me/favorites '{"name":"Marta","country":"ES","gender":"female"}' "${B[@]}"
expect "PUT /api/v1/me/favorites adds (201)" 201 '"created":true' \
	'"name":"Marta"'
req PUT /api/v1/me/favorites '{"name":"Marta","country":"ES","gender":"female"}' "${B[@]}"
expect "adding again is idempotent (200)" 200 '"created":false'
req PUT /api/v1/me/favorites '{"name":"Lars","country":"SE"}' "${B[@]}"
expect "a second favorite" 201 '"created":true'
req GET "/api/v1/me/favorites?limit=1" "" "${B[@]}"
expect "GET /api/v1/me/favorites pages" 200 '"favorites":\[\{' \
	'"next_cursor":"'
cursor=$(printf '%s' "$BODY" | sed 's/.*"next_cursor":"\([^"]*\)".*/\1/')
enc=$(printf '%s' "$cursor" | sed 's/%/%25/g; s/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
req GET "/api/v1/me/favorites?limit=1&cursor=$enc" "" "${B[@]}"
expect "the cursor gives the next page" 200 '"favorites":\[\{'
req GET "/api/v1/me/favorites" "" "${B[@]}"
expect "both favorites are listed" 200 '"name":"Marta"' '"name":"Lars"'
req DELETE /api/v1/me/favorites '{"name":"Lars","country":"SE"}' "${B[@]}"
expect "DELETE /api/v1/me/favorites removes" 200 '"removed":true'
req DELETE /api/v1/me/favorites '{"name":"Lars","country":"SE"}' "${B[@]}"
expect "removing again is not an error" 200 '"removed":false'

# ------------------------------------------------------ CORS and origins
req OPTIONS /api/v1/me/favorites "" -H "Origin: $ORIGIN" \
	-H "Access-Control-Request-Method: PUT"
if [ "$STATUS" = 204 ] && [ "$(hdr Access-Control-Allow-Origin)" = "$ORIGIN" ] &&
	[ "$(hdr Access-Control-Allow-Credentials)" = true ] &&
	hdr Access-Control-Allow-Methods | grep -q PUT; then
	ok "a preflight from an allowed origin"
else
	not_ok "a preflight from an allowed origin" "$STATUS $HDRS"
fi
req OPTIONS /api/v1/me/favorites "" -H "Origin: https://evil.example" \
	-H "Access-Control-Request-Method: PUT"
expect "a preflight from another origin is refused" 403 \
	'"code":"forbidden_origin"'
[ -z "$(hdr Access-Control-Allow-Origin)" ] &&
	ok "no CORS headers for another origin" ||
	not_ok "no CORS headers for another origin"
req GET /api/v1/me "" -H "Cookie: session=$token" -H "Origin: $ORIGIN"
[ "$(hdr Access-Control-Allow-Origin)" = "$ORIGIN" ] && [ "$STATUS" = 200 ] &&
	ok "an allowed origin gets CORS headers" ||
	not_ok "an allowed origin gets CORS headers" "$STATUS $HDRS"
req PUT /api/v1/me/favorites '{"name":"Evil"}' -H "Cookie: session=$token" \
	-H "Origin: https://evil.example"
expect "a cookie write from another origin is refused" 403 \
	'"code":"forbidden_origin"'
req PUT /api/v1/me/favorites '{"name":"Ok"}' -H "Cookie: session=$token" \
	-H "Origin: http://127.0.0.1:$GW_PORT"
expect "a cookie write from the same origin passes" 201 '"created":true'
req PUT /api/v1/me/favorites '{"name":"Ok2"}' -H "Cookie: session=$token" \
	-H "Origin: $ORIGIN"
expect "a cookie write from an allowed origin passes" 201 '"created":true'
req PUT /api/v1/me/favorites '{"name":"Ok3"}' "${B[@]}" \
	-H "Origin: https://evil.example"
expect "a bearer write from any origin passes (no cookie)" 201

# ------------------------------------------------- password and sessions
# a second session, which the change must end, beside the one making it
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"correct horse 1\"}"
other=$(printf '%s' "$BODY" | sed 's/.*"token":"\([^"]*\)".*/\1/')
req PUT /api/v1/me/password '{"old_password":"nope nope nope","new_password":"battery staple 2"}' "${B[@]}"
expect "a password change with a wrong password is refused (403)" 403 \
	'"code":"permission_denied"'
req PUT /api/v1/me/password '{"old_password":"correct horse 1","new_password":"battery staple 2"}' "${B[@]}"
expect "PUT /api/v1/me/password" 200 '"sessions_ended":[1-9]'
req GET /api/v1/me "" -H "Authorization: Bearer $other"
expect "the other session ended" 401
req GET /api/v1/me "" "${B[@]}"
expect "the session that changed it goes on" 200
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"battery staple 2\"}"
expect "login with the new password" 200
token=$(printf '%s' "$BODY" | sed 's/.*"token":"\([^"]*\)".*/\1/')
B=(-H "Authorization: Bearer $token")
req DELETE /api/v1/session "" "${B[@]}"
[ "$STATUS" = 204 ] && hdr Set-Cookie | grep -q 'session=; Path=/; Max-Age=0' &&
	ok "DELETE /api/v1/session logs out and clears the cookie" ||
	not_ok "DELETE /api/v1/session logs out and clears the cookie" "$STATUS $HDRS"
req GET /api/v1/me "" "${B[@]}"
expect "the token is dead after logout" 401
req DELETE /api/v1/session
expect "logout without a session is a 401" 401
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"battery staple 2\"}"
token=$(printf '%s' "$BODY" | sed 's/.*"token":"\([^"]*\)".*/\1/')
B=(-H "Authorization: Bearer $token")
req DELETE /api/v1/me '{"password":"wrong one here"}' "${B[@]}"
expect "deleting with a wrong password is refused (403)" 403
req DELETE /api/v1/me '{"password":"battery staple 2"}' "${B[@]}"
expect "DELETE /api/v1/me deletes the account" 204
req POST /api/v1/session "{\"email\":\"$u@example.org\",\"password\":\"battery staple 2\"}"
expect "a deleted account cannot log in" 401

# ---------------------------------------------- the original frontend
# a browser with a cookie jar, calling exactly as the old page did
J=(-c "$GW_DIR/jar" -b "$GW_DIR/jar")
v=old$RANDOM$RANDOM
req GET /api
[ "$STATUS" = 200 ] && printf '%s' "$BODY" | grep -q running &&
	[[ $(hdr Content-Type) == text/plain* ]] &&
	ok "GET /api says it runs, in plain text" ||
	not_ok "GET /api says it runs, in plain text" "$STATUS $BODY"
req POST /api/register "{\"username\":\"$v\",\"email\":\"$v@example.org\",\"password\":\"old page pass\"}" "${J[@]}"
expect "POST /api/register" 200 '^\{"msg":"[^"]+"\}$'
req POST /api/register "{\"username\":\"$v\",\"email\":\"$v@example.org\",\"password\":\"old page pass\"}" "${J[@]}"
expect "POST /api/register twice is a 409 {error}" 409 '^\{"error":"[^"]+"\}$'
req POST /api/login "{\"email\":\"$v@example.org\",\"password\":\"bad password\"}" "${J[@]}"
expect "POST /api/login with a bad password is a 401 {error}" 401 \
	'^\{"error":"[^"]+"\}$'
req POST /api/login "{\"email\":\"$v@example.org\",\"password\":\"old page pass\"}" "${J[@]}"
expect "POST /api/login" 200 '"msg":"' \
	"\"user\":\\{\"username\":\"$v\",\"email\":\"$v@example.org\"\\}"
hdr Set-Cookie | grep -q '^session=.*HttpOnly' && ok "login sets the cookie" ||
	not_ok "login sets the cookie" "$HDRS"
req GET /api/@me "" "${J[@]}"
expect "GET /api/@me" 200 "^\\{\"id\":[0-9]+,\"username\":\"$v\",\"email\":\"$v@example.org\"\\}$"
req POST /api/likes "{\"like\":true,\"name\":\"Giulia\",\"countrycode\":\"IT\",\"gender\":\"F\"}" "${J[@]}"
expect "POST /api/likes like" 200 '"msg":"'
req POST /api/likes "{\"like\":true,\"name\":\"Hans\",\"countrycode\":\"DE\",\"gender\":\"M\"}" "${J[@]}"
expect "POST /api/likes like another" 200 '"msg":"'
req GET /api/likes "" "${J[@]}"
expect "GET /api/likes is keyed by name id" 200 \
	'"[0-9]+":\{"created_on":"[0-9T:-]+Z","name":"Giulia","countrycode":"IT","gender":"F"\}' \
	'"name":"Hans","countrycode":"DE","gender":"M"'
req POST /api/likes "{\"like\":false,\"name\":\"Hans\",\"countrycode\":\"DE\",\"gender\":\"M\"}" "${J[@]}"
expect "POST /api/likes unlike" 200 '"msg":"'
req GET /api/likes "" "${J[@]}"
printf '%s' "$BODY" | grep -q Hans && not_ok "the unliked name is gone" ||
	ok "the unliked name is gone"
req GET /api/meta
expect "GET /api/meta" 200 '"countries":\[' '"genders":\['
req POST /api/name "{\"countrycode\":\"$code\",\"gender\":\"F\",\"start_with\":\"\",\"max_len\":\"10\"}"
expect "POST /api/name gives one name as a JSON string" 200 '^"[^"]+"$'
req POST /api/logout "" "${J[@]}"
expect "POST /api/logout" 200 '"msg":"'
req GET /api/@me "" "${J[@]}"
expect "GET /api/@me after logout is a 401 {error}" 401 '^\{"error":"[^"]+"\}$'
req POST /api/logout "" "${J[@]}"
expect "POST /api/logout without a session is a 401" 401 '"error":'

# ---------------------------------------------------------- static files
req GET /
[ "$STATUS" = 200 ] && [ "$(hdr Content-Type)" = "text/html; charset=utf-8" ] &&
	[ "$(hdr Cache-Control)" = no-cache ] && printf '%s' "$BODY" | grep -q namegen &&
	ok "GET / serves web/index.html, revalidated" ||
	not_ok "GET / serves web/index.html, revalidated" "$STATUS $HDRS"
[[ $(hdr Content-Security-Policy) == "default-src 'self';"* ]] &&
	[ "$(hdr X-Frame-Options)" = DENY ] &&
	ok "the page carries a CSP and is never framed" ||
	not_ok "the page carries a CSP and is never framed" "$HDRS"
etag=$(hdr ETag)
req GET / "" -H "If-None-Match: $etag"
expect "a matching ETag gives 304" 304
req GET /js/app.js
[ "$STATUS" = 200 ] && [[ $(hdr Content-Type) == text/javascript* ]] &&
	[ "$(hdr Cache-Control)" = no-cache ] &&
	ok "GET /js/app.js: type and caching (revalidated, as the page)" ||
	not_ok "GET /js/app.js: type and caching (revalidated, as the page)" \
		"$STATUS $HDRS"
req GET /logo.svg
[ "$STATUS" = 200 ] && [ "$(hdr Content-Type)" = image/svg+xml ] &&
	[ "$(hdr Cache-Control)" = "public, max-age=3600" ] &&
	ok "GET /logo.svg: type, cached an hour" ||
	not_ok "GET /logo.svg: type, cached an hour" "$STATUS $HDRS"
h=$(curl -sI --max-time 5 "$GW_URL/js/app.js" | tr -d '\r')
printf '%s' "$h" | grep -q '^HTTP/1.1 200' &&
	printf '%s' "$h" | grep -q '^Content-Length: 16' && ok "HEAD of a file" ||
	not_ok "HEAD of a file" "$h"
req POST /js/app.js '{}'
expect "POST to a file is a 405" 405
leaked=0
for p in /../secret.txt /js/../../secret.txt /%2e%2e/secret.txt \
	/%2E%2E%2Fsecret.txt /js/..%2f..%2fsecret.txt /..%5csecret.txt \
	'/%2e%2e%5csecret.txt' /link.txt /index.html%00.txt \
	/%00/../secret.txt /.%2e/secret.txt '/js/%2e%2e/%2e%2e/secret.txt' \
	//secret.txt /./secret.txt; do
	req GET "$p"
	if printf '%s' "$BODY" | grep -q TOP-SECRET || [ "$STATUS" = 200 ]; then
		leaked=1
		not_ok "path traversal $p" "$STATUS $BODY"
	fi
done
[ $leaked = 0 ] && ok "14 path traversal attempts get nothing"

# ---------------------------------------------- metrics and access logs
req GET /metrics
expect "GET /metrics" 200 \
	'namegen_http_requests_total\{route="meta",status="200"\} [1-9]' \
	'namegen_http_request_duration_seconds_bucket\{route="login",le="\+Inf"\} [1-9]' \
	'namegen_rpc_calls_total\{method="AuthService/Login",status="UNAUTHENTICATED"\} [1-9]' \
	'namegen_rpc_duration_seconds_count\{method="ModelService/Meta"\} [1-9]' \
	'namegen_http_in_flight_requests 1'
grep -q 'msg=request request_id=trace-42.a_b method=GET path=/healthz route=healthz status=200' \
	"$GW_DIR/gateway.log" && ok "one access-log line per request, with its id" ||
	not_ok "one access-log line per request, with its id"
grep -q "$token" "$GW_DIR/gateway.log" && not_ok "no token in the logs" ||
	ok "no token in the logs"
grep -q 'battery staple' "$GW_DIR/gateway.log" &&
	not_ok "no password in the logs" || ok "no password in the logs"

# -------------------------------- a gateway without CORS, for local HTTP
p2=$(free_port)
gw_bg gw2 env PORT="$p2" COOKIE_SECURE=0 "$BIN/gateway"
for i in $(seq 50); do
	curl -sf "http://127.0.0.1:$p2/healthz" >/dev/null && break
	sleep 0.1
done
c2=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
	--data-binary "{\"email\":\"$v@example.org\",\"password\":\"old page pass\"}" \
	"http://127.0.0.1:$p2/api/v1/session" | tr -d '\r' | grep -i '^Set-Cookie:')
case $c2 in
*"; HttpOnly; SameSite=Lax") ok "without CORS_ORIGINS: SameSite=Lax; COOKIE_SECURE=0 drops Secure" ;;
*) not_ok "without CORS_ORIGINS: SameSite=Lax; COOKIE_SECURE=0 drops Secure" "$c2" ;;
esac
gw_stop_checked gw2

gw_stop_checked gateway
tap_done
