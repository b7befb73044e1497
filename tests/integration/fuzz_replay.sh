#!/bin/bash
# fuzz_replay.sh - replay every fuzz target's committed corpus (issue 9).
#
# Each target under tests/fuzz/ is linked with a plain driver into
# $BUILD/tests/fuzz_replay_<target>; in build-asan that is under ASan and
# UBSan, so a crash, an out-of-bounds access, a leak or undefined
# behaviour on any corpus input fails its check. `make fuzz` grows the
# corpora with libFuzzer; inputs worth keeping are copied into
# tests/fuzz/corpus/<target>/ (see the README).
set -u
. "$NAMEGEN_ROOT/tests/lib/tap.sh"
cd "$NAMEGEN_ROOT"

targets="envelope gateway_map model_request auth_request model_file dataset"
log=$(mktemp /tmp/namegen-fuzz.XXXXXX)
trap 'rm -f "$log"' EXIT

for t in $targets; do
	bin=$BUILD/tests/fuzz_replay_$t
	dir=tests/fuzz/corpus/$t
	n=$(find "$dir" -maxdepth 1 -type f | wc -l)
	if [ ! -x "$bin" ]; then
		not_ok "fuzz_$t: replay driver built" "$bin is missing"
		continue
	fi
	if [ "$n" -lt 3 ]; then
		not_ok "fuzz_$t: corpus has seeds" "$dir has $n files"
		continue
	fi
	if timeout 300 "$bin" "$dir" >"$log" 2>&1 &&
		grep -q "^replayed $n inputs" "$log"; then
		ok "fuzz_$t: $n corpus inputs replay cleanly"
	else
		not_ok "fuzz_$t: $n corpus inputs replay cleanly" \
			"$(tail -5 "$log" | tr '\n' ' ')"
	fi
done
tap_done
