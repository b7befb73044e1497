#!/bin/bash
# web_browser.sh - the web page in a real browser against the full stack:
# gateway (serving web/), namegen-model and auth-service on the PostgreSQL
# and Redis that tests/run started. The browser part is
# tests/browser/web.test.mjs (playwright-core driving Debian's chromium);
# its TAP lines are passed on as this test's own.
#
# Installs what it needs when missing: the chromium package (apt-get, as
# root) and the npm packages of tests/browser (npm ci, from its lock file:
# playwright-core, and prettier, which checks the page's formatting).
# Everything it starts is stopped by PID on exit, also on failure
# (tests/gateway_lib.sh). Screenshots go to
# test-output/screenshots/<build>/; WEB_DOC_SCREENSHOT=1 also rewrites
# docs/screenshot.png (the README's).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/services.sh
. tests/gateway_lib.sh

root=$(pwd)
chromium_bin=${CHROMIUM:-/usr/bin/chromium}
browser_dir=$root/tests/browser
shots=$root/test-output/screenshots/${BUILD:-build}
# The test provokes a 429 with six failed logins for one email. Its own
# Redis database keeps its failures (all from 127.0.0.1) out of the
# per-address counts that other tests' auth-services read.
export LOGIN_FAILS_PER_EMAIL=5 LOGIN_FAILS_PER_ADDR=100000
export REDIS_URL="${REDIS_URL%/*}/11"

# need_chromium installs Debian's chromium when it is missing.
need_chromium() {
	[ -x "$chromium_bin" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "# $chromium_bin is missing; install the chromium package"
		return 1
	fi
	echo "# installing chromium (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q chromium >"$GW_DIR/apt.log" 2>&1 ||
		{ apt-get update -q >>"$GW_DIR/apt.log" 2>&1 &&
			apt-get install -y -q chromium >>"$GW_DIR/apt.log" 2>&1; } ||
		{ tail -5 "$GW_DIR/apt.log" | sed 's/^/# /'; return 1; }
	[ -x "$chromium_bin" ]
}

# need_playwright installs tests/browser's npm packages when missing.
need_playwright() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		echo "# node and npm are needed (Node 20 or later)"
		return 1
	fi
	[ -f "$browser_dir/node_modules/playwright-core/package.json" ] &&
		[ -x "$browser_dir/node_modules/.bin/prettier" ] && return 0
	echo "# installing tests/browser's npm packages (npm ci)"
	(cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error) \
		>"$GW_DIR/npm.log" 2>&1 ||
		{ tail -5 "$GW_DIR/npm.log" | sed 's/^/# /'; return 1; }
}

# model_path prints the model to serve: the committed default, else a
# small one trained here in seconds (the page needs a real model, not a
# stand-in; how good its names are does not matter to this test). The
# small one is kept in test-output/ for the other build's run while it is
# newer than the data and the trainer.
model_path() {
	local train cache=$root/test-output/web-small.model
	if [ -f "$root/data/default.model" ]; then
		echo "$root/data/default.model"
		return 0
	fi
	train=$root/build/bin/namegen-train
	[ -x "$train" ] || train=$BIN/namegen-train
	if [ -f "$cache" ] && [ "$cache" -nt data/names.tsv ] &&
		[ "$cache" -nt "$train" ]; then
		echo "# data/default.model is missing: serving the small model" \
			"trained by an earlier run" >&2
		echo "$cache"
		return 0
	fi
	echo "# data/default.model is missing: training a small model" >&2
	mkdir -p "$root/test-output"
	"$train" --countries data/countries.tsv --hidden 48 --epochs 2 \
		--max-seconds 40 --threads 2 --seed 1 data/names.tsv \
		"$GW_DIR/web.model" >"$GW_DIR/train.log" 2>&1 ||
		{ tail -3 "$GW_DIR/train.log" | sed 's/^/# /' >&2; return 1; }
	cp "$GW_DIR/web.model" "$cache.$$" && mv -f "$cache.$$" "$cache"
	echo "$GW_DIR/web.model"
}

check "chromium is installed" need_chromium
check "tests/browser's npm packages are installed (playwright-core, prettier)" need_playwright
if [ "$TAP_FAILED" -gt 0 ]; then
	tap_done
	exit
fi

# The formatter holds the style of the page's code (web/.prettierrc.json).
if out=$("$browser_dir/node_modules/.bin/prettier" --check \
	web/js/*.js web/css/*.css tests/browser/*.mjs 2>&1); then
	ok "web/ and tests/browser are formatted (prettier --check)"
else
	not_ok "web/ and tests/browser are formatted (prettier --check)" \
		"$(printf '%s' "$out" | grep -v '^Checking' | head -5)"
fi

model=$(model_path) || { not_ok "a model to serve"; tap_done; exit; }
gw_start_auth || { not_ok "auth-service starts"; tap_done; exit; }
gw_bg model env MODEL_PATH="$model" "$BIN/namegen-model"
gw_start_gateway WEB_ROOT="$root/web" COOKIE_SECURE=0 ||
	{ not_ok "gateway starts"; tap_done; exit; }
if ! gw_wait_ready; then
	not_ok "the gateway and both workers are ready" \
		"$(tail -3 "$GW_DIR/model.log" "$GW_DIR/auth.log")"
	tap_done
	exit
fi

# run_browser PHASE runs web.test.mjs under a time limit and passes its
# TAP on, numbered as this test's checks. The browser test is one of the
# processes gw_cleanup stops by PID if this script ends early.
run_browser() {
	local phase=$1 rc line name=browser_${1//-/_}
	gw_bg "$name" env NAMEGEN_URL="$GW_URL" \
		MODEL_PID="$GW_PID_model" WEB_TEST_PHASE="$phase" \
		SCREENSHOT_DIR="$shots" DOC_SCREENSHOT="$doc" \
		CHROMIUM="$chromium_bin" \
		timeout -k 5 200 node "$browser_dir/web.test.mjs"
	local v="GW_PID_$name"
	wait "${!v}"
	rc=$?
	local before=$TAP_FAILED
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok * - }" ;;
		"not ok "*) not_ok "${line#not ok * - }" ;;
		"1.."*) ;;
		*) echo "$line" ;;
		esac
	done <"$GW_DIR/$name.log"
	if [ "$rc" -ne 0 ] && [ "$TAP_FAILED" -eq "$before" ]; then
		not_ok "the browser test ($phase) exits cleanly" "exit status $rc"
	fi
}

mkdir -p "$shots"
rm -f "$shots"/*.png
doc=
[ "${WEB_DOC_SCREENSHOT:-0}" = 1 ] && doc=$root/docs/screenshot.png
run_browser main

# A model worker slower than the gateway's deadline: the test worker in
# place of namegen-model, a gateway with a 1 s deadline, and the page must
# say 504 clearly. (It stopped namegen-model itself, for the 503 check.)
gw_stop gateway
gw_stop model
gw_start_test_model GW_TEST_DELAY_MS=4000
for i in $(seq 100); do
	grep -q 'msg=serving' "$GW_DIR/model.log" 2>/dev/null && break
	sleep 0.1
done
if gw_start_gateway WEB_ROOT="$root/web" COOKIE_SECURE=0 \
	GATEWAY_RPC_TIMEOUT_MS=1000; then
	doc=
	run_browser slow-model
else
	not_ok "the gateway starts again, with a 1 s deadline"
fi
echo "# screenshots: ${shots#"$root"/}/"
tap_done
