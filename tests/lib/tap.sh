# tap.sh - TAP output for shell tests (sourced by bash).
#
#   ok "what was checked"            passes one check
#   not_ok "what" "why"              fails one check
#   check "what" cmd args...         passes when cmd exits 0
#   tap_done                         exits 1 if anything failed
# tests/run counts the "ok" and "not ok" lines.
TAP_N=0
TAP_FAILED=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	[ -n "${2:-}" ] && echo "# $2"
	return 0
}

check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what" "command failed: $*"; fi
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
