#!/bin/bash
# auth_migrate.sh - `auth-service --migrate` on a real PostgreSQL: from
# three processes at once, then again, and the start-up refusals (missing
# or malformed configuration) with one clear line each.
set -u
. "$NAMEGEN_ROOT/tests/lib/tap.sh"
bin=$BIN/auth-service
db=auth_migrate_$$
url="postgres://postgres@127.0.0.1:$PG_PORT/$db"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

psql_q() { psql -X -A -t -q "$url" -c "$1" 2>&1; }

"$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db" ||
	{ not_ok "createdb $db"; tap_done; exit; }

# Three at once: the advisory lock lets one apply, the others find the
# work done.
for i in 1 2 3; do
	DATABASE_URL=$url "$bin" --migrate >"$out/m$i.log" 2>&1 &
	pids[$i]=$!
done
fails=0
for i in 1 2 3; do
	wait "${pids[$i]}" || fails=$((fails + 1))
done
if [ "$fails" -eq 0 ]; then ok "three concurrent --migrate all exit 0"
else not_ok "three concurrent --migrate all exit 0" "$(cat "$out"/m*.log)"
fi
applied=$(cat "$out"/m*.log | grep -o 'msg="migration applied"' | wc -l)
nfiles=$(ls "$NAMEGEN_ROOT"/auth-service/migrations/*.sql | wc -l)
if [ "$applied" -eq "$nfiles" ]; then ok "each migration applied once ($applied)"
else not_ok "each migration applied once" "applied $applied of $nfiles"
fi
rows=$(psql_q "SELECT count(*) FROM schema_migrations")
check "schema_migrations has one row per file" [ "$rows" = "$nfiles" ]
tables=$(psql_q "SELECT string_agg(tablename, ',' ORDER BY tablename)
	FROM pg_tables WHERE schemaname = 'public'")
check "tables created" [ "$tables" = "favorites,names,schema_migrations,users" ]

# Again: nothing to do, still exit 0.
if DATABASE_URL=$url "$bin" --migrate >"$out/again.log" 2>&1 &&
	grep -q 'msg="migrations done" applied=0' "$out/again.log"; then
	ok "a second run applies nothing and exits 0"
else
	not_ok "a second run applies nothing and exits 0" "$(cat "$out/again.log")"
fi

# Refusals: one line naming the problem, exit status 2 (configuration)
# or 1 (could not migrate), no password in the output.
DATABASE_URL= "$bin" --migrate >"$out/none.log" 2>&1
rc=$?
if [ "$rc" -eq 2 ] && grep -q DATABASE_URL "$out/none.log" &&
	[ "$(wc -l <"$out/none.log")" -eq 1 ]; then
	ok "no DATABASE_URL: exit 2 with one line naming it"
else
	not_ok "no DATABASE_URL: exit 2 with one line naming it" \
		"rc=$rc $(cat "$out/none.log")"
fi
DATABASE_URL="postgres://u:pa55word@127.0.0.1:$PG_PORT/x?bogus=1" \
	"$bin" --migrate >"$out/bad.log" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'DATABASE_URL' "$out/bad.log" &&
	! grep -q pa55word "$out/bad.log"; then
	ok "malformed DATABASE_URL: exit 1, named, no password shown"
else
	not_ok "malformed DATABASE_URL refused" "rc=$rc $(cat "$out/bad.log")"
fi
# Nothing listens on port 1: it retries with a line per try, then gives
# up after AUTH_MIGRATE_WAIT seconds (the release phase must not hang).
AUTH_MIGRATE_WAIT=1 AUTH_CONNECT_TIMEOUT_MS=200 \
	DATABASE_URL="postgres://postgres:pa55word@127.0.0.1:1/x" \
	timeout 20 "$bin" --migrate >"$out/down.log" 2>&1
rc=$?
tries=$(grep -c 'PostgreSQL not reachable, retrying' "$out/down.log")
if [ "$rc" -eq 1 ] && [ "$tries" -ge 2 ] &&
	grep -q 'gave up waiting' "$out/down.log" &&
	! grep -q pa55word "$out/down.log"; then
	ok "unreachable database: $tries retry lines, then exit 1"
else
	not_ok "unreachable database: retries then exit 1" \
		"rc=$rc $(cat "$out/down.log")"
fi
# The service itself refuses to start without its variables.
env -u REDIS_URL DATABASE_URL=$url AUTH_RPC_URL=ipc:///tmp/x.ipc \
	NAMEGEN_DEV=1 "$bin" >"$out/noredis.log" 2>&1
rc=$?
check "no REDIS_URL: exit 2 naming it" \
	bash -c "[ $rc -eq 2 ] && grep -q REDIS_URL '$out/noredis.log'"
REDIS_URL=$REDIS_URL DATABASE_URL=$url AUTH_RPC_URL=http://x NAMEGEN_DEV=1 \
	"$bin" >"$out/badrpc.log" 2>&1
rc=$?
check "bad AUTH_RPC_URL: exit 2 naming it" \
	bash -c "[ $rc -eq 2 ] && grep -q AUTH_RPC_URL '$out/badrpc.log'"
env -u RPC_SECRET -u NAMEGEN_DEV REDIS_URL=$REDIS_URL DATABASE_URL=$url \
	AUTH_RPC_URL=ipc:///tmp/x.ipc "$bin" >"$out/nosecret.log" 2>&1
rc=$?
check "no RPC_SECRET outside dev mode: exit 2 naming it" \
	bash -c "[ $rc -eq 2 ] && grep -q RPC_SECRET '$out/nosecret.log'"
PASSWORD_MEMLIMIT_KIB=1 REDIS_URL=$REDIS_URL DATABASE_URL=$url \
	AUTH_RPC_URL=ipc:///tmp/x.ipc NAMEGEN_DEV=1 "$bin" \
	>"$out/mem.log" 2>&1
rc=$?
check "PASSWORD_MEMLIMIT_KIB below the minimum: exit 2 naming it" \
	bash -c "[ $rc -eq 2 ] && grep -q PASSWORD_MEMLIMIT_KIB '$out/mem.log'"
tap_done
