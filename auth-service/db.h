/* db.h - a small pool of PostgreSQL connections (libpq).
 *
 * DATABASE_URL is handed to libpq as it is (postgres:// or a conninfo
 * string), with sslmode=require added unless the URL names an sslmode or
 * the server is local (a socket, localhost, 127.0.0.0/8 or ::1), which is
 * what Heroku Postgres expects. Connections are opened on demand, at most
 * pool_size of them (Heroku's smallest plans allow 20 in all), with the
 * caller's deadline on connecting and a statement_timeout on every
 * statement. A connection that breaks is dropped when released and a new
 * one is opened by the next caller; while the server cannot be reached,
 * callers fail at once for a short back-off. Thread-safe. */
#ifndef AUTH_DB_H
#define AUTH_DB_H

#include <stddef.h>

#include <libpq-fe.h>

struct auth_db;

struct auth_db_opts {
	const char *url;	  /* DATABASE_URL */
	int pool_size;		  /* 0 = 4 */
	int connect_timeout_ms;	  /* 0 = 3000 */
	int statement_timeout_ms; /* 0 = 5000 */
};

/* What a statement ended with. */
enum auth_db_rc {
	AUTH_DB_OK = 0,
	AUTH_DB_DOWN = -1,    /* no connection, or it broke, or timeout */
	AUTH_DB_UNIQUE = -2,  /* unique_violation (23505) */
	AUTH_DB_FOREIGN = -3, /* foreign_key_violation (23503) */
	AUTH_DB_ERROR = -4    /* anything else: a bug or bad schema */
};

/* auth_db_open checks the URL and sets up the pool; it does not connect.
 * Returns 0, or -1 with a sentence in err (never the password). */
int auth_db_open(struct auth_db **out, const struct auth_db_opts *opts,
		 char *err, size_t errlen);

/* auth_db_close closes every connection and frees. Accepts NULL. No
 * connection may be checked out. */
void auth_db_close(struct auth_db *db);

/* auth_db_acquire checks out a connected connection, waiting and
 * connecting no longer than timeout_ms. Returns NULL with a sentence in
 * err when the database cannot be reached in time. */
PGconn *auth_db_acquire(struct auth_db *db, int timeout_ms, char *err,
			size_t errlen);

/* auth_db_set_timeout bounds every later statement on conn to timeout_ms
 * from now (0: no bound). auth_db_acquire sets it to what was left of
 * its own timeout, so a call's statements end by the call's deadline: a
 * statement still running then is abandoned (AUTH_DB_DOWN) and its
 * connection closed when released. */
void auth_db_set_timeout(PGconn *conn, int timeout_ms);

/* auth_db_release gives a connection back: one that broke, or was left
 * inside a transaction, is closed (a ROLLBACK is tried first). */
void auth_db_release(struct auth_db *db, PGconn *conn);

/* auth_db_exec runs one parameterised statement (params are text, NULL
 * for SQL NULL). On AUTH_DB_OK, *res (when res is not NULL) holds the
 * result, to PQclear. Otherwise err holds a sentence for the log. */
int auth_db_exec(PGconn *conn, const char *sql, int nparams,
		 const char *const *params, PGresult **res, char *err,
		 size_t errlen);

/* auth_db_begin, auth_db_commit and auth_db_rollback run BEGIN, COMMIT
 * and ROLLBACK; the first two return an enum auth_db_rc. */
int auth_db_begin(PGconn *conn, char *err, size_t errlen);
int auth_db_commit(PGconn *conn, char *err, size_t errlen);
void auth_db_rollback(PGconn *conn);

/* auth_db_ping checks that a connection can be had and answers. */
int auth_db_ping(struct auth_db *db, int timeout_ms, char *err, size_t errlen);

/* auth_db_describe writes "host:port/dbname sslmode=..." for logs. */
const char *auth_db_describe(const struct auth_db *db);

#endif /* AUTH_DB_H */
