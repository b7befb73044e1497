#!/bin/bash
# deploy_env_example.sh - .env.example lists every variable the three
# processes read, and `heroku local` can read it as it is.
#
# The variables are found in the sources of gateway/, auth-service/,
# namegen-model/ and common/ (config_str/int/double/bool calls and
# getenv), leaving out the command-line tools (namegen-train reads
# SOURCE_DATE_EPOCH, a build convention). A variable counts as listed
# when a line "NAME=..." or "# NAME=..." states it. The active lines must
# hold each name once (the CLI would keep the last silently) and must not
# hide a value behind an unquoted " #", which the CLI strips.
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
example=$root/.env.example

cd "$root" || exit 1
srcs=
for f in gateway/*.c auth-service/*.c namegen-model/*.c common/*.c; do
	[ "$f" = namegen-model/train_main.c ] || srcs="$srcs $f"
done
# shellcheck disable=SC2086 # file names without spaces
vars=$({
	grep -ho 'config_[a-z]*([^,]*, *"[A-Z][A-Z0-9_]*"' $srcs
	grep -ho 'getenv("[A-Z][A-Z0-9_]*")' $srcs
} | grep -o '"[A-Z0-9_]*"' | tr -d '"' | sort -u)
n=$(wc -w <<<"$vars")
[ "$n" -ge 10 ] && ok "$n variables read by the processes" ||
	not_ok "variables read by the processes found" "$n: $vars"
missing=
for v in $vars; do
	grep -qE "^(# ?)?$v=" "$example" || missing="$missing $v"
done
why="missing:$missing (add a commented line with its meaning and default)"
[ -z "$missing" ] && ok "each one is listed in .env.example" ||
	not_ok "each one is listed in .env.example" "$why"

dups=$(grep -oE '^[A-Za-z_][A-Za-z0-9_]*=' "$example" | sort | uniq -d)
[ -z "$dups" ] && ok "no name is set twice" ||
	not_ok "no name is set twice" "$dups"
bad=$(grep -nE '^[A-Za-z_][A-Za-z0-9_]*=[^"'"'"'].*[[:space:]]#' "$example")
[ -z "$bad" ] && ok "no unquoted value holds a ' #' the CLI would strip" ||
	not_ok "no unquoted value holds a ' #' the CLI would strip" "$bad"
for v in NAMEGEN_PROCESSES MODEL_RPC_URL AUTH_RPC_URL DATABASE_URL \
	REDIS_URL NAMEGEN_MIGRATE_ON_START; do
	grep -qE "^$v=." "$example" && ok "heroku local gets $v" ||
		not_ok "heroku local gets $v" "no active $v= line"
done
tap_done
