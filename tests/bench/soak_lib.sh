# soak_lib.sh - the whole stack under test, for the soak benchmark and
# the fault and abuse tests (issue 9); sourced after tests/lib/tap.sh,
# tests/lib/services.sh and tests/gateway_lib.sh, whose helpers start
# and stop the processes (gw_start_auth, gw_start_model, ...).
#
# What this adds: a real model file (data/default.model, or a small one
# trained once per test run from data/names.tsv, shared with
# model_worker.sh through the same cache file), a real RPC secret on every
# socket, the resident memory of a process, and the favorites a user has
# in PostgreSQL (to check that nothing answered OK was lost).

export RPC_SECRET=${RPC_SECRET:-soak-and-fault-test-secret-0123456789}
unset NAMEGEN_DEV

# soak_model prints the model file to use, training one if needed.
soak_model() {
	local cache=${NAMEGEN_TEST_DIR:-$GW_DIR}/model-test.model
	local train=$NAMEGEN_ROOT/build/bin/namegen-train
	if [ -f "$NAMEGEN_ROOT/data/default.model" ]; then
		echo "$NAMEGEN_ROOT/data/default.model"
		return 0
	fi
	if [ ! -f "$cache" ]; then
		[ -x "$train" ] || train=$BIN/namegen-train
		"$train" --hidden 64 --emb-char 16 --epochs 6 --seed 1 \
			--countries "$NAMEGEN_ROOT/data/countries.tsv" \
			"$NAMEGEN_ROOT/data/names.tsv" "$cache.tmp" \
			>"$GW_DIR/train.log" 2>&1 && mv "$cache.tmp" "$cache" ||
			return 1
	fi
	echo "$cache"
}

# soak_stack_start [ENV=VALUE...] starts auth-service, namegen-model and
# the gateway (with the given variables) and waits until both workers
# answer. Returns 1, with the reason on stdout as TAP comments, if not.
soak_stack_start() {
	MODEL_PATH=$(soak_model) || {
		echo "# no model: $(tail -3 "$GW_DIR/train.log")"
		return 1
	}
	export MODEL_PATH
	gw_start_auth || { echo "# auth-service did not start"; return 1; }
	gw_bg model "$BIN/namegen-model"
	gw_start_gateway "$@" || return 1
	gw_wait_ready || {
		echo "# the workers did not become ready"
		tail -3 "$GW_DIR/model.log" "$GW_DIR/auth.log" | sed 's/^/# /'
		return 1
	}
}

# soak_pid NAME prints the PID of a process started by gw_bg.
soak_pid() {
	local v="GW_PID_$1"
	echo "${!v}"
}

# soak_rss_kb PID prints its resident memory in KiB.
soak_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# soak_psql SQL runs one query on the test database, tab-separated rows.
soak_psql() {
	"$PG_BIN/psql" -X -q -A -t -F $'\t' -d "$DATABASE_URL" -c "$1"
}

# soak_restart_worker NAME restarts a worker killed or stopped by a test
# (model or auth) with the same configuration.
soak_restart_worker() {
	case $1 in
	model) gw_bg model "$BIN/namegen-model" ;;
	auth) gw_bg auth "$BIN/auth-service" ;;
	esac
}

# soak_load ARGS... runs tests/bench/soak_load.py against the gateway.
soak_load() {
	python3 "$NAMEGEN_ROOT/tests/bench/soak_load.py" --url "$GW_URL" "$@"
}

# soak_favorites_kept FILE checks that every favorite soak_load recorded
# as added with an OK answer (FILE, one "user_id<TAB>name" a line) is in
# PostgreSQL; prints the missing ones and returns 1 if there are any.
soak_favorites_kept() {
	local want=$1 have=$GW_DIR/favorites.db missing
	soak_psql "SELECT f.user_id, n.name FROM favorites f
		JOIN names n ON n.id = f.name_id" | sort -u >"$have"
	missing=$(sort -u "$want" | comm -23 - "$have")
	if [ -n "$missing" ]; then
		echo "# $(printf '%s\n' "$missing" | wc -l) favorites answered OK are not in the database:"
		printf '%s\n' "$missing" | head -5 | sed 's/^/#   /'
		return 1
	fi
	return 0
}

# soak_now prints the wall clock in seconds with milliseconds.
soak_now() {
	date +%s.%3N
}

# soak_statuses LOG OPS FROM TO prints "status count" for the requests
# in a soak_load log whose route is in OPS (comma-separated, or "all")
# and that started in [FROM, TO) (seconds since the epoch).
soak_statuses() {
	awk -F'\t' -v ops=",$2," -v from="$3" -v to="$4" '
		NR > 1 && $1 >= from && $1 < to &&
		(ops == ",all," || index(ops, "," $3 ",")) { n[$4]++ }
		END { for (s in n) print s, n[s] }' "$1" | sort
}

# soak_slowest LOG prints the longest time a request took, in seconds.
soak_slowest() {
	awk -F'\t' 'NR > 1 && $2 > m { m = $2 } END { printf "%.3f\n", m }' "$1"
}

# soak_wait_status PATH WANT SECONDS [curl args] polls until PATH
# answers WANT; returns 1 if it does not within SECONDS.
soak_wait_status() {
	local path=$1 want=$2 end
	end=$(($(date +%s) + $3))
	shift 3
	while [ "$(date +%s)" -le "$end" ]; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			"$@" "$GW_URL$path")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# soak_calc EXPR prints the value of an awk expression with three
# decimals; soak_true EXPR succeeds when the expression is true.
soak_calc() {
	awk "BEGIN { printf \"%.3f\\n\", ($*) }"
}
soak_true() {
	awk "BEGIN { exit !($*) }"
}
