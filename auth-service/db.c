/* db.c - PostgreSQL connection pool with deadlines and reconnection. */
#include "auth-service/db.h"

#include <libpq-events.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_BACKOFF_MS                                                         \
	250 /* callers fail fast this long after a failed                     \
	       connect */
#define DB_DESC_MAX   320
#define DB_PARAMS_MAX 12

struct auth_db {
	char *url;
	bool add_sslmode;
	int connect_timeout_ms, statement_timeout_ms;
	char desc[DB_DESC_MAX];

	pthread_mutex_t lock;
	pthread_cond_t freed;
	PGconn **idle; /* connected and free */
	int nidle;
	int open; /* connections in existence */
	int pool_size;
	int64_t down_until; /* monotonic ms */
};

static int64_t db_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool db_host_is_local(const char *host)
{
	if (!host || !*host || host[0] == '/' || host[0] == '@')
		return true;
	return strcmp(host, "localhost") == 0 ||
	       strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* db_inspect reads the URL with libpq's own parser: whether it names an
 * sslmode, whether every host is local, and a description for logs. */
static int db_inspect(struct auth_db *db, char *err, size_t errlen)
{
	PQconninfoOption *opts, *o;
	char *perr = NULL;
	const char *host = NULL, *hostaddr = NULL, *port = NULL;
	const char *dbname = NULL, *sslmode = NULL;

	opts = PQconninfoParse(db->url, &perr);
	if (!opts) {
		/* libpq's message may quote the URL: say less */
		PQfreemem(perr);
		snprintf(err, errlen,
			 "DATABASE_URL is not a PostgreSQL URL or conninfo");
		return -1;
	}
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			dbname = o->val;
		else if (strcmp(o->keyword, "sslmode") == 0)
			sslmode = o->val;
	}
	db->add_sslmode =
	    !sslmode && !(db_host_is_local(host) &&
			  (!hostaddr || db_host_is_local(hostaddr)));
	snprintf(db->desc, sizeof(db->desc), "%s:%s/%s sslmode=%s",
		 host ? host : "(socket)", port ? port : "5432",
		 dbname ? dbname : "(default)",
		 sslmode ? sslmode
			 : (db->add_sslmode ? "require" : "(libpq default)"));
	PQconninfoFree(opts);
	return 0;
}

int auth_db_open(struct auth_db **out, const struct auth_db_opts *opts,
		 char *err, size_t errlen)
{
	struct auth_db *db;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->freed, NULL);
	db->pool_size = opts->pool_size > 0 ? opts->pool_size : 4;
	db->connect_timeout_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 3000;
	db->statement_timeout_ms =
	    opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms : 5000;
	db->url = strdup(opts->url ? opts->url : "");
	db->idle = calloc((size_t)db->pool_size, sizeof(*db->idle));
	if (!db->url || !db->idle) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!db->url[0]) {
		snprintf(err, errlen, "DATABASE_URL is empty");
		goto fail;
	}
	if (db_inspect(db, err, errlen) < 0)
		goto fail;
	*out = db;
	return 0;
fail:
	auth_db_close(db);
	return -1;
}

void auth_db_close(struct auth_db *db)
{
	int i;

	if (!db)
		return;
	for (i = 0; i < db->nidle; i++)
		PQfinish(db->idle[i]);
	free(db->idle);
	if (db->url) {
		memset(db->url, 0, strlen(db->url));
		free(db->url);
	}
	pthread_mutex_destroy(&db->lock);
	pthread_cond_destroy(&db->freed);
	free(db);
}

/* ---------------------------------------------- per-connection state */

/* What a connection carries beside libpq's own state, as libpq instance
 * data (so it goes with the PGconn): the statements it has prepared, so
 * parsing and planning happen once per connection rather than per call,
 * and the deadline of its current checkout. */
#define DB_PREPARED_MAX 32

struct db_state {
	int n;
	char *sql[DB_PREPARED_MAX]; /* copies, so any buffer may be used */
	int64_t deadline;	    /* monotonic ms; 0 = none */
	bool broken;		    /* gave up mid-statement: never reuse */
};

static int db_event(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNDESTROY) {
		const PGEventConnDestroy *e = info;
		struct db_state *st = PQinstanceData(e->conn, db_event);
		int i;

		for (i = 0; st && i < st->n; i++)
			free(st->sql[i]);
		free(st);
	}
	return 1;
}

/* db_state_of returns conn's state, attaching a fresh one when it has
 * none; NULL when out of memory. */
static struct db_state *db_state_of(PGconn *conn)
{
	struct db_state *st = PQinstanceData(conn, db_event);

	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st || !PQregisterEventProc(conn, db_event, "auth-db", NULL) ||
	    !PQsetInstanceData(conn, db_event, st)) {
		free(st);
		return NULL;
	}
	return st;
}

void auth_db_set_timeout(PGconn *conn, int timeout_ms)
{
	struct db_state *st = db_state_of(conn);

	if (st)
		st->deadline = timeout_ms > 0 ? db_mono_ms() + timeout_ms : 0;
}

/* db_result collects the result of what was just sent on conn, waiting
 * no longer than the checkout's deadline. Returns the result (the first
 * error if any, else the last one), or NULL with *timed_out set when the
 * deadline passed (the connection is then marked broken) or NULL when
 * the connection failed. */
static PGresult *db_result(PGconn *conn, struct db_state *st, bool *timed_out)
{
	PGresult *keep = NULL, *r;

	*timed_out = false;
	for (;;) {
		while (!PQisBusy(conn)) {
			r = PQgetResult(conn);
			if (!r)
				return keep;
			if (keep &&
			    PQresultStatus(keep) == PGRES_FATAL_ERROR) {
				PQclear(r);
				continue;
			}
			PQclear(keep);
			keep = r;
		}
		{
			struct pollfd p = {.fd = PQsocket(conn),
					   .events = POLLIN};
			int64_t left = st && st->deadline
					   ? st->deadline - db_mono_ms()
					   : -1;
			int rc;

			if (st && st->deadline && left <= 0)
				goto timeout;
			rc = poll(&p, 1, left < 0 ? -1 : (int)left);
			if (rc == 0)
				goto timeout;
			if (rc < 0 && errno != EINTR)
				goto failed;
		}
		if (!PQconsumeInput(conn))
			goto failed;
	}
timeout:
	*timed_out = true;
	if (st)
		st->broken = true;
failed:
	PQclear(keep);
	return NULL;
}

/* db_statement returns the name of sql's prepared statement on conn,
 * preparing it first when needed; NULL (use an unnamed statement) when
 * the table is full or out of memory; "" with *failed set (or NULL with
 * *timed_out) when preparing failed. */
static const char *db_statement(PGconn *conn, struct db_state *st,
				const char *sql, int nparams, char name[16],
				PGresult **failed, bool *timed_out)
{
	PGresult *res;
	int i;

	*failed = NULL;
	for (i = 0; i < st->n; i++)
		if (strcmp(st->sql[i], sql) == 0)
			goto named;
	if (st->n == DB_PREPARED_MAX)
		return NULL;
	snprintf(name, 16, "ng%d", i);
	if (!PQsendPrepare(conn, name, sql, nparams, NULL))
		return "";
	res = db_result(conn, st, timed_out);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*failed = res;
		return "";
	}
	PQclear(res);
	st->sql[i] = strdup(sql);
	if (!st->sql[i])
		return NULL; /* prepared, but forgotten: harmless */
	st->n++;
named:
	snprintf(name, 16, "ng%d", i);
	return name;
}

/* db_notice drops the server's notices ("relation already exists,
 * skipping"): libpq would print them on stderr, outside our log format. */
static void db_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* db_connect opens one connection by deadline, polling libpq's
 * non-blocking connect so no call waits past its own deadline. */
static PGconn *db_connect(struct auth_db *db, int64_t deadline, char *err,
			  size_t errlen)
{
	const char *keys[DB_PARAMS_MAX], *vals[DB_PARAMS_MAX];
	char tcp_timeout[16], set_timeout[64];
	PGconn *conn;
	PGresult *res;
	int n = 0;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	snprintf(tcp_timeout, sizeof(tcp_timeout), "%d",
		 db->statement_timeout_ms + 2000);
	keys[n] = "dbname", vals[n++] = db->url;
	keys[n] = "application_name", vals[n++] = "auth-service";
	keys[n] = "keepalives", vals[n++] = "1";
	keys[n] = "keepalives_idle", vals[n++] = "10";
	keys[n] = "keepalives_interval", vals[n++] = "5";
	keys[n] = "keepalives_count", vals[n++] = "3";
	keys[n] = "tcp_user_timeout", vals[n++] = tcp_timeout;
	if (db->add_sslmode)
		keys[n] = "sslmode", vals[n++] = "require";
	keys[n] = NULL, vals[n] = NULL;

	conn = PQconnectStartParams(keys, vals, 1);
	if (!conn || PQstatus(conn) == CONNECTION_BAD) {
		snprintf(err, errlen, "cannot start connecting to PostgreSQL");
		goto fail;
	}
	while (st != PGRES_POLLING_OK) {
		struct pollfd p = {.fd = PQsocket(conn)};
		int64_t left = deadline - db_mono_ms();
		int rc;

		if (st == PGRES_POLLING_FAILED) {
			/* The first line of libpq's message, no URL in it */
			const char *m = PQerrorMessage(conn);

			snprintf(err, errlen,
				 "cannot connect to PostgreSQL "
				 "at %s: %.*s",
				 db->desc, (int)strcspn(m, "\n"), m);
			goto fail;
		}
		if (left <= 0) {
			snprintf(err, errlen,
				 "timed out connecting to PostgreSQL at %s",
				 db->desc);
			goto fail;
		}
		p.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll failed: %s",
				 strerror(errno));
			goto fail;
		}
		if (rc > 0)
			st = PQconnectPoll(conn);
	}
	PQsetNoticeProcessor(conn, db_notice, NULL);
	snprintf(set_timeout, sizeof(set_timeout),
		 "SET statement_timeout = %d", db->statement_timeout_ms);
	res = PQexec(conn, set_timeout);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		snprintf(err, errlen, "PostgreSQL refused statement_timeout");
		goto fail;
	}
	PQclear(res);
	return conn;
fail:
	PQfinish(conn);
	return NULL;
}

/* db_stale tells whether an idle connection should be replaced: an idle
 * connection has nothing to read unless the server is saying goodbye (a
 * restart, pg_terminate_backend) or, rarely, sends a notice; either way
 * a new connection is the safe choice. */
static bool db_stale(PGconn *conn)
{
	struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};

	if (PQstatus(conn) != CONNECTION_OK || p.fd < 0)
		return true;
	return poll(&p, 1, 0) != 0;
}

PGconn *auth_db_acquire(struct auth_db *db, int timeout_ms, char *err,
			size_t errlen)
{
	int64_t deadline = db_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	int64_t connect_deadline;
	PGconn *conn = NULL;

	pthread_mutex_lock(&db->lock);
	for (;;) {
		struct timespec ts;
		int64_t left;

		if (db->nidle > 0) {
			conn = db->idle[--db->nidle];
			if (!db_stale(conn)) {
				pthread_mutex_unlock(&db->lock);
				auth_db_set_timeout(conn, timeout_ms);
				return conn;
			}
			/* closed by the server while idle (a restart) */
			PQfinish(conn);
			conn = NULL;
			db->open--;
			continue;
		}
		if (db->open < db->pool_size)
			break;
		left = deadline - db_mono_ms();
		if (left <= 0) {
			pthread_mutex_unlock(&db->lock);
			snprintf(err, errlen,
				 "no PostgreSQL connection free in time");
			return NULL;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&db->freed, &db->lock, &ts);
	}
	if (db_mono_ms() < db->down_until) {
		pthread_mutex_unlock(&db->lock);
		snprintf(err, errlen,
			 "PostgreSQL is unavailable (retrying soon)");
		return NULL;
	}
	db->open++;
	pthread_mutex_unlock(&db->lock);

	connect_deadline = db_mono_ms() + db->connect_timeout_ms;
	conn = db_connect(
	    db, deadline < connect_deadline ? deadline : connect_deadline, err,
	    errlen);
	if (!conn) {
		pthread_mutex_lock(&db->lock);
		db->open--;
		db->down_until = db_mono_ms() + DB_BACKOFF_MS;
		pthread_cond_signal(&db->freed);
		pthread_mutex_unlock(&db->lock);
		return NULL;
	}
	auth_db_set_timeout(conn, (int)(deadline - db_mono_ms()) > 0
				      ? (int)(deadline - db_mono_ms())
				      : 1);
	return conn;
}

void auth_db_release(struct auth_db *db, PGconn *conn)
{
	struct db_state *st;

	if (!conn)
		return;
	st = PQinstanceData(conn, db_event);
	if (st && st->broken) {
		/* abandoned mid-statement: the server's statement_timeout
		 * ends the query; the connection is not reused */
		pthread_mutex_lock(&db->lock);
		db->open--;
		pthread_cond_signal(&db->freed);
		pthread_mutex_unlock(&db->lock);
		PQfinish(conn);
		return;
	}
	if (PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		auth_db_rollback(conn);
	pthread_mutex_lock(&db->lock);
	if (PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) == PQTRANS_IDLE &&
	    db->nidle < db->pool_size) {
		db->idle[db->nidle++] = conn;
		conn = NULL;
	} else {
		db->open--;
	}
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
	PQfinish(conn);
}

/* db_classify maps a failed result to an auth_db_rc. */
static int db_classify(PGconn *conn, const PGresult *res)
{
	const char *state =
	    res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(conn) != CONNECTION_OK || !state)
		return AUTH_DB_DOWN;
	if (strcmp(state, "23505") == 0)
		return AUTH_DB_UNIQUE;
	if (strcmp(state, "23503") == 0)
		return AUTH_DB_FOREIGN;
	/* connection exceptions, shutdowns, statement timeout, too many
	 * connections, serialization/deadlock: all worth a retry later */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0)
		return AUTH_DB_DOWN;
	return AUTH_DB_ERROR;
}

int auth_db_exec(PGconn *conn, const char *sql, int nparams,
		 const char *const *params, PGresult **res, char *err,
		 size_t errlen)
{
	struct db_state *st = db_state_of(conn);
	PGresult *r = NULL;
	ExecStatusType status;
	const char *stmt = NULL;
	bool timed_out = false;
	char name[16];
	int rc;

	if (res)
		*res = NULL;
	if (!st || st->broken) {
		snprintf(err, errlen, "PostgreSQL connection unusable");
		return AUTH_DB_DOWN;
	}
	/* Parameterised statements are prepared once per connection. */
	if (nparams > 0)
		stmt =
		    db_statement(conn, st, sql, nparams, name, &r, &timed_out);
	if (timed_out || (stmt && !*stmt))
		goto failed;
	if (stmt ? PQsendQueryPrepared(conn, stmt, nparams, params, NULL, NULL,
				       0)
		 : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL,
				     NULL, 0))
		r = db_result(conn, st, &timed_out);
	status = PQresultStatus(r);
	if (r && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return AUTH_DB_OK;
	}
failed:
	if (timed_out) {
		PQclear(r);
		snprintf(err, errlen,
			 "PostgreSQL did not answer before the deadline");
		return AUTH_DB_DOWN;
	}
	rc = db_classify(conn, r);
	{
		const char *m =
		    r ? PQresultErrorMessage(r) : PQerrorMessage(conn);
		const char *state =
		    r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		snprintf(err, errlen, "PostgreSQL error %s: %.*s",
			 state ? state : "(connection)", (int)strcspn(m, "\n"),
			 m);
	}
	PQclear(r);
	return rc;
}

int auth_db_begin(PGconn *conn, char *err, size_t errlen)
{
	return auth_db_exec(conn, "BEGIN", 0, NULL, NULL, err, errlen);
}

int auth_db_commit(PGconn *conn, char *err, size_t errlen)
{
	return auth_db_exec(conn, "COMMIT", 0, NULL, NULL, err, errlen);
}

void auth_db_rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

int auth_db_ping(struct auth_db *db, int timeout_ms, char *err, size_t errlen)
{
	PGconn *conn = auth_db_acquire(db, timeout_ms, err, errlen);
	int rc;

	if (!conn)
		return -1;
	rc = auth_db_exec(conn, "SELECT 1", 0, NULL, NULL, err, errlen);
	auth_db_release(db, conn);
	return rc == AUTH_DB_OK ? 0 : -1;
}

const char *auth_db_describe(const struct auth_db *db)
{
	return db->desc;
}
