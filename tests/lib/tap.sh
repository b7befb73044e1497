# tap.sh - TAP output for shell tests (sourced by bash).
#
#   ok "what was checked"            passes one check
#   not_ok "what" "why"              fails one check
#   check "what" cmd args...         passes when cmd exits 0
#   tap_done                         exits 1 if anything failed
#   tap_valgrind_build               ends a valgrind test early where it
#                                    cannot run (see below)
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

# tap_valgrind_build: valgrind cannot run ASan binaries, so in the
# sanitizer build the test is skipped (exit 0; that build covers the same
# paths with ASan and UBSan); without valgrind it fails (exit 1).
# Otherwise it returns and the test goes on.
tap_valgrind_build() {
	if [ "${BUILD:-build}" = build-asan ]; then
		echo "# skipped: valgrind runs on the normal build only"
		tap_done
		exit 0
	fi
	command -v valgrind >/dev/null && return 0
	not_ok "valgrind is installed" "see deploy/debian-packages.txt"
	tap_done
	exit 1
}
