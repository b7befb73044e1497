#!/bin/bash
# deploy_env.sh - deploy/env-from-heroku reads `heroku config -s` output
# and writes .env.
#
# No Heroku is reachable from here, so this tests the parsing and writing
# only, on a sample written in the CLI's shell format (its quoting rules:
# bare, 'single' with \\ for a backslash, "double" with \" \\ \$ \` \! and
# \n when the value holds a ' or a newline). It says nothing about talking
# to Heroku. Each written .env is read back by the rules of the .env
# reader inside the Heroku CLI's `heroku local` (a quoted value runs to the
# next quote of its kind, no escapes; # starts a comment in a bare value)
# and checked value by value.
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
tool=$root/deploy/env-from-heroku

tmp=$(mktemp -d /tmp/namegen-env-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

cat >sample <<'EOF'
DATABASE_URL='postgres://u1:p%40ss@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9'
REDIS_URL='rediss://:pw@ec2-5-6-7-8.compute-1.amazonaws.com:12345'
RPC_SECRET='aB3$x!y&z*(q)'
LOG_LEVEL=info
EMPTY=
BACKSLASH='a\\b'
QUOTE="it's \$HOME \`x\` \! #1"
NAMEGEN_PROCESSES=one-dyno
PORT=8080
NAMEGEN_MIGRATE_ON_START=1
EOF

"$tool" --from sample -o out.env >log 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "wrote 7 config var(s)" log &&
	ok "sample read: 7 vars written, layout vars left out" ||
	not_ok "sample read: 7 vars written, layout vars left out" "$(cat log)"
[ "$(stat -c %a out.env)" = 600 ] && ok ".env is mode 600" ||
	not_ok ".env is mode 600" "$(stat -c %a out.env)"

# value NAME prints a variable's value as `heroku local` reads it.
value() {
	local line raw
	line=$(grep "^$1=" out.env) || return 1
	raw=${line#*=}
	case $raw in
	\"*) raw=${raw#\"}; printf '%s' "${raw%%\"*}" ;;
	\'*) raw=${raw#\'}; printf '%s' "${raw%%\'*}" ;;
	*) printf '%s' "$raw" | sed 's/[[:space:]]*#.*$//' ;;
	esac
}
expect() {
	local got
	got=$(value "$1"; echo .)
	got=${got%.}
	if [ "$got" = "$2" ]; then
		ok "$1 read back exactly"
	else
		not_ok "$1 read back exactly" "got [$got] want [$2]"
	fi
}
expect DATABASE_URL \
	'postgres://u1:p%40ss@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d9'
expect REDIS_URL 'rediss://:pw@ec2-5-6-7-8.compute-1.amazonaws.com:12345'
expect RPC_SECRET 'aB3$x!y&z*(q)'
expect LOG_LEVEL info
expect EMPTY ''
expect BACKSLASH 'a\b'
expect QUOTE "it's \$HOME \`x\` ! #1"
grep -q "^NAMEGEN_PROCESSES=separate$" out.env &&
	grep -q "^NAMEGEN_MIGRATE_ON_START=0$" out.env &&
	! grep -q "^PORT=" out.env && ! grep -q "one-dyno" out.env &&
	ok "layout from .env.example, migrations off, no PORT" ||
	not_ok "layout from .env.example, migrations off, no PORT" \
		"$(grep -v '_URL=' out.env)"

# An existing .env is kept unless --force.
echo "mine" >keep.env
"$tool" --from sample -o keep.env >log 2>&1
[ $? -eq 1 ] && [ "$(cat keep.env)" = mine ] && grep -q "exists" log &&
	ok "an existing .env is kept without --force" ||
	not_ok "an existing .env is kept without --force" "$(cat log)"
"$tool" --from - -o keep.env --force <sample >log 2>&1
[ $? -eq 0 ] && grep -q "^LOG_LEVEL='info'$" keep.env &&
	ok "--force and --from - (stdin) replace it" ||
	not_ok "--force and --from - (stdin) replace it" "$(cat log)"

# Bad input: a clear error naming the line, no secret, nothing written.
bad() {
	local what=$1 input=$2 want=$3
	rm -f bad.env
	printf '%s\n' "$input" >bad
	"$tool" --from bad -o bad.env >log 2>&1
	local rc=$?
	if [ $rc -eq 1 ] && [ ! -e bad.env ] && grep -q "$want" log &&
		! grep -q "s3cret" log && [ -z "$(ls .env.tmp.* 2>/dev/null)" ]
	then
		ok "$what: refused, nothing written"
	else
		not_ok "$what: refused, nothing written" "rc=$rc $(cat log)"
	fi
}
bad "no '='" $'A=1\nthis is not config' "line 2: no '='"
bad "bad name" $'A=1\n9X=s3cret' "line 2: the name"
bad "open quote" $'A=1\nB=\'s3cret' "line 2 (B): unreadable quoting"
bad "stray quote" $'B="s3c"ret"' "line 1 (B): unreadable quoting"
bad "empty input" "" "no config vars"
bad "newline in a value" 'M="s3cret\nline2"' "line 1 (M): the value holds"
bad "both quotes in a value" 'Q="it'"'"'s \"s3cret\""' \
	"line 1 (Q): the value holds"
tap_done
