/* users.c - SQL for the users table. */
#include "auth-service/users.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-service/db.h"

#define USERS_CREATED_MS "(extract(epoch FROM created_at) * 1000)::bigint"

/* users_copy copies a text column into a buffer of size bytes. */
static void users_copy(char *dst, size_t size, const PGresult *res, int col)
{
	snprintf(dst, size, "%s", PQgetvalue(res, 0, col));
}

int auth_users_create(PGconn *conn, const char *username, const char *email,
		      const char *hash, struct auth_user *u, char *err,
		      size_t errlen)
{
	const char *params[3] = {username, email, hash};
	PGresult *res = NULL;
	int rc;

	rc = auth_db_exec(conn,
			  "INSERT INTO users (username, email, password_hash)"
			  " VALUES ($1, $2, $3)"
			  " RETURNING id, " USERS_CREATED_MS,
			  3, params, &res, err, errlen);
	if (rc != AUTH_DB_OK)
		return rc;
	u->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	u->created_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	/* the caller may pass u's own fields as the values */
	if (u->username != username)
		snprintf(u->username, sizeof(u->username), "%s", username);
	if (u->email != email)
		snprintf(u->email, sizeof(u->email), "%s", email);
	PQclear(res);
	return AUTH_DB_OK;
}

int auth_users_find(PGconn *conn, const char *email, int64_t id,
		    struct auth_user *u, char *hash, bool *found, char *err,
		    size_t errlen)
{
	char idbuf[24];
	const char *params[1];
	PGresult *res = NULL;
	int rc;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	params[0] = email ? email : idbuf;
	rc = auth_db_exec(conn,
			  email ? "SELECT id, " USERS_CREATED_MS
				  ", username, email, password_hash"
				  " FROM users WHERE email = $1"
				: "SELECT id, " USERS_CREATED_MS
				  ", username, email, password_hash"
				  " FROM users WHERE id = $1",
			  1, params, &res, err, errlen);
	if (rc != AUTH_DB_OK)
		return rc;
	*found = PQntuples(res) == 1;
	if (*found) {
		u->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		u->created_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		users_copy(u->username, sizeof(u->username), res, 2);
		users_copy(u->email, sizeof(u->email), res, 3);
		if (hash)
			users_copy(hash, AUTH_PW_HASH_BUF, res, 4);
	}
	PQclear(res);
	return AUTH_DB_OK;
}

int auth_users_set_hash(PGconn *conn, int64_t id, const char *old_hash,
			const char *new_hash, bool *changed, char *err,
			size_t errlen)
{
	char idbuf[24];
	const char *params[3] = {idbuf, new_hash, old_hash};
	PGresult *res = NULL;
	int rc;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	rc = auth_db_exec(conn,
			  old_hash ? "UPDATE users SET password_hash = $2"
				     " WHERE id = $1 AND password_hash = $3"
				   : "UPDATE users SET password_hash = $2"
				     " WHERE id = $1",
			  old_hash ? 3 : 2, params, &res, err, errlen);
	if (rc != AUTH_DB_OK)
		return rc;
	*changed = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return AUTH_DB_OK;
}

int auth_users_delete(PGconn *conn, int64_t id, bool *deleted, char *err,
		      size_t errlen)
{
	char idbuf[24];
	const char *params[1] = {idbuf};
	PGresult *res = NULL;
	int rc;

	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	rc = auth_db_begin(conn, err, errlen);
	if (rc != AUTH_DB_OK)
		return rc;
	rc = auth_db_exec(conn, "DELETE FROM favorites WHERE user_id = $1", 1,
			  params, NULL, err, errlen);
	if (rc != AUTH_DB_OK)
		goto fail;
	rc = auth_db_exec(conn, "DELETE FROM users WHERE id = $1", 1, params,
			  &res, err, errlen);
	if (rc != AUTH_DB_OK)
		goto fail;
	*deleted = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	rc = auth_db_commit(conn, err, errlen);
	if (rc != AUTH_DB_OK)
		goto fail;
	return AUTH_DB_OK;
fail:
	auth_db_rollback(conn);
	return rc;
}
