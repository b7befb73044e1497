#!/bin/bash
# deploy_build.sh - the Heroku build run locally, as Heroku runs it.
#
# Copies the tracked files into a separate build folder, runs the inline
# buildpack's bin/detect, bin/compile BUILD_DIR CACHE_DIR ENV_DIR and
# bin/release there, checks the Procfile and app.json, then runs the
# Procfile's release command and its web command from the build folder
# (HOME set to it, as /app is on a dyno): the web process must answer
# /healthz and /readyz within Heroku's 60 s, and every process in the
# "dyno" must exit cleanly within 30 s of the SIGTERM Heroku sends.
#
# This machine is Debian 12, not Heroku-24, and the apt buildpack does not
# run here. What it would leave for OpenBLAS is made by hand: the files of
# the installed OpenBLAS packages copied into BUILD_DIR/.apt as dpkg -x
# lays them out (no alternatives symlinks), so bin/compile's OpenBLAS
# handling is exercised: the programs must build against .apt, carry an
# rpath to /app/.apt/..., and load libopenblas from .apt once .profile.d
# is sourced (as a dyno does at start). The other libraries come from the
# system; deploy/check-aptfile (deploy_aptfile.sh) covers the package
# list. Runs in the normal build's pass only: the sanitizer pass would
# repeat the same build.
set -u
root=${NAMEGEN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$root/tests/lib/tap.sh"
. "$root/tests/lib/services.sh"
if [ "${BUILD:-build}" != build ]; then
	echo "ok 1 # skip the Heroku build check runs in the normal pass only"
	echo "1..1"
	exit 0
fi

tmp=$(mktemp -d /tmp/namegen-slug.XXXXXX)
web=
cleanup() {
	[ -n "$web" ] && pkill -KILL -s "$web" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
app=$tmp/build_0123abcd
mkdir -p "$app" "$tmp/cache" "$tmp/env"

# The tracked files, as a git push sends them.
(cd "$root" && git ls-files -z |
	tar --null --ignore-failed-read -T - -cf -) 2>/dev/null |
	tar -C "$app" -xf -
[ -f "$app/Makefile" ] && [ -x "$app/bin/compile" ] &&
	ok "tracked files copied to a separate build folder" ||
	not_ok "tracked files copied to a separate build folder"

# OpenBLAS as the apt buildpack would unpack it.
blas=usr/lib/x86_64-linux-gnu/openblas-pthread
mkdir -p "$app/.apt"
for f in $(dpkg -L libopenblas0-pthread libopenblas-pthread-dev); do
	[ -d "$f" ] || cp -a --parents "$f" "$app/.apt"
done
[ -f "$app/.apt/$blas/pkgconfig/openblas.pc" ] &&
	[ ! -e "$app/.apt/usr/lib/x86_64-linux-gnu/libopenblas.so.0" ] &&
	ok "OpenBLAS unpacked into .apt without alternatives links" ||
	not_ok "OpenBLAS unpacked into .apt without alternatives links"

out=$("$app/bin/detect" "$app") &&
	ok "bin/detect accepts the app ($out)" || not_ok "bin/detect"

start=$SECONDS
if "$app/bin/compile" "$app" "$tmp/cache" "$tmp/env" >"$tmp/compile.log" \
	2>&1; then
	ok "bin/compile built the app in $((SECONDS - start)) s"
else
	not_ok "bin/compile built the app" "$(tail -20 "$tmp/compile.log")"
fi
for p in gateway namegen-model auth-service; do
	check "build/bin/$p is in the slug" test -x "$app/build/bin/$p"
done
readelf -d "$app/build/bin/namegen-model" |
	grep -q "R.*PATH.*/app/.apt/$blas" &&
	ok "namegen-model has an rpath to /app/.apt/.../openblas-pthread" ||
	not_ok "namegen-model has an rpath to /app/.apt/.../openblas-pthread" \
		"$(readelf -d "$app/build/bin/namegen-model" | grep PATH)"
lib=$(cd "$app" && HOME=$app bash -c '. .profile.d/010_namegen.sh &&
	ldd build/bin/namegen-model' |
	sed -n 's/.*libopenblas.so.0 => \([^ ]*\).*/\1/p')
[ "$lib" = "$app/.apt/$blas/libopenblas.so.0" ] &&
	ok "with .profile.d sourced, libopenblas loads from .apt" ||
	not_ok "with .profile.d sourced, libopenblas loads from .apt" "$lib"
left=$(find "$app/build" "$app/.apt" -name '*.o' -o -name '*.a' | wc -l)
[ "$left" -eq 0 ] && [ ! -e "$app/.apt/usr/include" ] &&
	ok "no objects, static libraries or headers left in the slug" ||
	not_ok "no objects, static libraries or headers left in the slug" \
		"$left left"

rel=$("$app/bin/release" "$app")
grep -qx -- "---" <<<"$rel" && grep -q "^default_process_types:" <<<"$rel" &&
	grep -q "^  web: " <<<"$rel" &&
	ok "bin/release prints default process types" ||
	not_ok "bin/release prints default process types" "$rel"

# Procfile: the four types, each command exec'd so signals reach it.
for t in web model auth release; do
	line=$(grep "^$t:" "$app/Procfile")
	[[ $line =~ ^$t:\ exec\  ]] && ok "Procfile $t: runs with exec" ||
		not_ok "Procfile $t: runs with exec" "${line:-missing}"
done
jq -e '.buildpacks[0].url == "heroku-community/apt" and
	.buildpacks[1].url == "heroku-community/inline" and
	.formation.web.quantity == 1 and .env.RPC_SECRET.generator == "secret"
	and (.addons | map(.plan) | any(startswith("heroku-postgresql")))
	and (.addons | map(.plan) | any(startswith("heroku-redis")))' \
	"$app/app.json" >/dev/null &&
	ok "app.json: buildpacks, formation, add-ons, generated secret" ||
	not_ok "app.json: buildpacks, formation, add-ons, generated secret"

# The release phase, twice (a second release must be a no-op).
cmd=$(sed -n 's/^release: //p' "$app/Procfile")
for n in 1 2; do
	(cd "$app" && HOME=$app bash -c "$cmd") >"$tmp/release.log" 2>&1 &&
		ok "release phase $n exits 0" ||
		not_ok "release phase $n exits 0" \
			"$(tail -5 "$tmp/release.log")"
done

# The web dyno in one-dyno mode, from the build folder, in a session of
# its own: the session stands for the dyno (pgrep/pkill -s).
port=$(free_port)
cmd=$(sed -n 's/^web: //p' "$app/Procfile")
(cd "$app" && exec setsid env -u NAMEGEN_BIN HOME="$app" PORT="$port" \
	NAMEGEN_PROCESSES=one-dyno RPC_SECRET=test-secret-0123456789abcdef \
	bash -c "for f in .profile.d/*.sh; do . \"\$f\"; done; $cmd") \
	>"$tmp/web.log" 2>&1 &
web=$!
# answers PATH SECONDS: 0 once the web dyno answers PATH with a 2xx;
# 1 after SECONDS, or at once when the dyno died.
answers() {
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ] && kill -0 "$web" 2>/dev/null; do
		curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port$1" &&
			return 0
		sleep 0.2
	done
	return 1
}
answers /healthz 60 && ok "web answers /healthz on \$PORT within 60 s" ||
	not_ok "web answers /healthz on \$PORT within 60 s" \
		"$(tail -20 "$tmp/web.log")"
answers /readyz 20 && ok "web answers /readyz: model and auth reachable" ||
	not_ok "web answers /readyz: model and auth reachable" \
		"$(tail -20 "$tmp/web.log")"
n=$(pgrep -s "$web" | wc -l)
[ "$n" -eq 4 ] && ok "the dyno runs the supervisor and three processes" ||
	not_ok "the dyno runs the supervisor and three processes" \
		"$(ps -o pid,cmd -s "$web")"

# Heroku's shutdown: SIGTERM to every process in the dyno, 30 s, SIGKILL.
pkill -TERM -s "$web"
start=$SECONDS
while [ $((SECONDS - start)) -lt 30 ] && pgrep -s "$web" >/dev/null; do
	sleep 0.1
done
wait "$web"
rc=$?
if ! pgrep -s "$web" >/dev/null && [ "$rc" -eq 0 ]; then
	ok "SIGTERM: all processes exited, status 0, in $((SECONDS - start)) s"
	web=
else
	not_ok "SIGTERM: all processes exited with status 0 within 30 s" \
		"status=$rc left: $(ps -o pid,cmd -s "$web")
$(tail -8 "$tmp/web.log")"
fi
tap_done
