# services.sh - throwaway PostgreSQL and Redis for tests (sourced by bash).
#
# services_start starts both on free loopback ports under one temporary
# folder and exports DATABASE_URL, REDIS_URL and the variables below, so
# tests can stop and restart them (tests/lib/pg and tests/lib/redis):
#   NAMEGEN_TEST_DIR  the folder holding both servers' data and sockets
#   PG_PORT PG_DATA PG_BIN   REDIS_PORT REDIS_PIDFILE
# services_stop stops what services_start started, by PID, and removes the
# folder. Call it from an EXIT trap so a failing test never leaves servers.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
# It stays below Linux's ephemeral range (32768 and up), where outgoing
# connections take their local ports and could collide with a listener.
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 22000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# as_pg runs a command as the postgres user when we are root (initdb and
# postgres refuse to run as root), else as ourselves.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$NAMEGEN_TEST_DIR/pg.log" \
		-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $NAMEGEN_TEST_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		-w -t 30 start >/dev/null
}

pg_stop() {
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null
}

redis_start() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --daemonize yes --pidfile "$REDIS_PIDFILE" \
		--dir "$NAMEGEN_TEST_DIR" --logfile "$NAMEGEN_TEST_DIR/redis.log"
	local i
	for i in $(seq 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

redis_stop() {
	local pid
	pid=$(cat "$REDIS_PIDFILE" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

services_start() {
	NAMEGEN_TEST_DIR=$(mktemp -d /tmp/namegen-test.XXXXXX)
	chmod 755 "$NAMEGEN_TEST_DIR"
	PG_DATA=$NAMEGEN_TEST_DIR/pg
	PG_PORT=$(free_port)
	REDIS_PORT=$(free_port)
	while [ "$REDIS_PORT" = "$PG_PORT" ]; do REDIS_PORT=$(free_port); done
	REDIS_PIDFILE=$NAMEGEN_TEST_DIR/redis.pid
	export NAMEGEN_TEST_DIR PG_DATA PG_PORT PG_BIN REDIS_PORT REDIS_PIDFILE

	mkdir -p "$PG_DATA"
	[ "$(id -u)" -eq 0 ] && chown postgres "$NAMEGEN_TEST_DIR" "$PG_DATA"
	as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 \
		--locale=C.UTF-8 >"$NAMEGEN_TEST_DIR/initdb.log" 2>&1 || {
		cat "$NAMEGEN_TEST_DIR/initdb.log"
		return 1
	}
	pg_start || { cat "$NAMEGEN_TEST_DIR/pg.log"; return 1; }
	as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres \
		namegen_test || return 1
	redis_start || return 1
	export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/namegen_test"
	export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

services_stop() {
	[ -n "${NAMEGEN_TEST_DIR:-}" ] || return 0
	[ -d "$PG_DATA" ] && pg_stop 2>/dev/null
	redis_stop
	rm -rf "$NAMEGEN_TEST_DIR"
	NAMEGEN_TEST_DIR=
}
