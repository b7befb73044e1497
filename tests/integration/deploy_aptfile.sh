#!/bin/bash
# deploy_aptfile.sh - deploy/check-aptfile on the programs just built: the
# Aptfile plus the Heroku-24 run image must provide every library they
# link. Then the check is shown to catch the two traps it exists for, on
# copies of the Aptfile: a library whose package is missing altogether
# (no libnng-dev), and a runtime library that the build image has but the
# run image lacks (no libquadmath0 or libjansson4 line).
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
bin=${BIN:-$root/build/bin}
check_tool=$root/deploy/check-aptfile

progs=()
for p in gateway namegen-model auth-service namegen-train namegen-cli; do
	[ -x "$bin/$p" ] && progs+=("$bin/$p")
done
[ ${#progs[@]} -ge 3 ] && ok "${#progs[@]} programs to check in $bin" ||
	not_ok "at least gateway, namegen-model and auth-service are built" \
		"found: ${progs[*]:-none}"
[ ${#progs[@]} -gt 0 ] || { tap_done; exit; }

# The sanitizer build links the sanitizer runtimes, which Heroku never
# runs; leave them out of the check there.
ign=(--ignore libasan8 --ignore libubsan1)

tmp=$(mktemp -d /tmp/namegen-aptfile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$check_tool" "${ign[@]}" "${progs[@]}" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "the Aptfile covers every linked library" ||
	not_ok "the Aptfile covers every linked library" \
		"$(grep -v '^ok' "$tmp/out")"
for lib in libnng libmicrohttpd libhiredis libopenblas libgfortran; do
	grep -q "^ok   $lib" "$tmp/out" && ok "$lib is linked and covered" ||
		not_ok "$lib is linked and covered" "not in the ldd list"
done

# without PACKAGE WANT: the check must fail and name WANT.
without() {
	local pkg=$1 want=$2
	grep -vx "$pkg" "$root/Aptfile" >"$tmp/Aptfile"
	"$check_tool" --aptfile "$tmp/Aptfile" "${ign[@]}" "${progs[@]}" \
		>"$tmp/out" 2>&1
	local r=$?
	if [ $r -eq 1 ] && grep -q "^FAIL .*$want" "$tmp/out"; then
		ok "without $pkg: the check fails ($want)"
	else
		not_ok "without $pkg: the check fails ($want)" \
			"rc=$r $(tail -5 "$tmp/out")"
	fi
}
without libnng-dev "comes from libnng1, which is neither"
without libquadmath0 "add 'libquadmath0' to the Aptfile"
without libjansson4 "add 'libjansson4' to the Aptfile"
tap_done
