/* migrate.c - apply the embedded migrations under an advisory lock. */
#include "auth-service/migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-service/db.h"
#include "common/log.h"

static const char migrate_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* migrate_simple runs a statement without parameters (a whole migration
 * file may hold several statements, which only the simple protocol
 * allows; nothing in it comes from a caller). */
static int migrate_simple(PGconn *conn, const char *sql, char *err,
			  size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *m = PQresultErrorMessage(res);

		snprintf(err, errlen, "%.*s", (int)strcspn(m, "\n"), m);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int migrate_version(PGconn *conn, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int v = -1;

	if (auth_db_exec(conn,
			 "SELECT coalesce(max(version), 0) "
			 "FROM schema_migrations",
			 0, NULL, &res, err, errlen) != AUTH_DB_OK)
		return -1;
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int migrate_one(PGconn *conn, const struct migrate_file *f, char *err,
		       size_t errlen)
{
	char version[16];
	const char *params[2] = {version, f->name};
	char sub[256];

	snprintf(version, sizeof(version), "%d", f->version);
	if (auth_db_begin(conn, err, errlen) != AUTH_DB_OK)
		return -1;
	if (migrate_simple(conn, f->sql, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "migration %s failed: %s", f->name, sub);
		goto fail;
	}
	if (auth_db_exec(conn,
			 "INSERT INTO schema_migrations (version, name) "
			 "VALUES ($1, $2)",
			 2, params, NULL, err, errlen) != AUTH_DB_OK)
		goto fail;
	if (auth_db_commit(conn, err, errlen) != AUTH_DB_OK)
		goto fail;
	return 0;
fail:
	auth_db_rollback(conn);
	return -1;
}

int migrate_apply(PGconn *conn, char *err, size_t errlen)
{
	char lock[64], unlock[64], sub[256];
	int applied = 0, current, i, rc = -1;

	snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%lld)",
		 MIGRATE_LOCK_KEY);
	snprintf(unlock, sizeof(unlock), "SELECT pg_advisory_unlock(%lld)",
		 MIGRATE_LOCK_KEY);
	if (migrate_simple(conn, lock, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "cannot take the migration lock: %s",
			 sub);
		return -1;
	}
	if (migrate_simple(conn, migrate_table_sql, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "cannot create schema_migrations: %s",
			 sub);
		goto out;
	}
	current = migrate_version(conn, err, errlen);
	if (current < 0)
		goto out;
	for (i = 0; i < migrate_nfiles; i++) {
		const struct migrate_file *f = &migrate_files[i];

		if (f->version <= current)
			continue;
		if (migrate_one(conn, f, err, errlen) < 0)
			goto out;
		log_info("migration applied", "version=%d name=%s", f->version,
			 f->name);
		applied++;
	}
	rc = applied;
out:
	(void)migrate_simple(conn, unlock, sub, sizeof(sub));
	return rc;
}
