/* favorites.c - SQL for names and favorites. */
#include "auth-service/favorites.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-service/db.h"

#define FAV_US "(extract(epoch FROM f.created_at) * 1000000)::bigint"

/* A cursor is "<created us>.<name id>" of the last favorite of a page. */
static int fav_cursor_parse(const char *cursor, int64_t *us, int64_t *id)
{
	char *end;

	errno = 0;
	*us = strtoll(cursor, &end, 10);
	if (errno || end == cursor || *end != '.' || *us < 0)
		return -1;
	cursor = end + 1;
	*id = strtoll(cursor, &end, 10);
	if (errno || end == cursor || *end || *id <= 0)
		return -1;
	return 0;
}

int auth_fav_cursor_ok(const char *cursor)
{
	int64_t us, id;

	if (!cursor || !*cursor)
		return 0;
	if (strlen(cursor) >= AUTH_FAV_CURSOR_BUF)
		return -1;
	return fav_cursor_parse(cursor, &us, &id);
}

/* One statement likes a name: insert it unless there, link it unless
 * linked, and say which. A name or a like inserted by a concurrent call
 * that committed after this statement's snapshot is invisible to it, so
 * it then finds no row; the next attempt, with a new snapshot, sees it. */
static const char fav_add_sql[] =
    "WITH n AS (INSERT INTO names (name, country, gender)"
    " VALUES ($2, $3, $4)"
    " ON CONFLICT (name, country, gender) DO NOTHING RETURNING id),"
    " nid AS (SELECT id FROM n UNION ALL"
    " SELECT id FROM names"
    " WHERE name = $2 AND country = $3 AND gender = $4 LIMIT 1),"
    " ins AS (INSERT INTO favorites AS f (user_id, name_id)"
    " SELECT $1, id FROM nid ON CONFLICT DO NOTHING"
    " RETURNING f.name_id, " FAV_US " AS us)"
    " SELECT name_id, true, us FROM ins UNION ALL"
    " SELECT f.name_id, false, " FAV_US " FROM favorites f, nid"
    " WHERE f.user_id = $1 AND f.name_id = nid.id"
    " AND NOT EXISTS (SELECT 1 FROM ins)";

#define FAV_ADD_TRIES 3

int auth_fav_add(PGconn *conn, int64_t user_id, const char *name,
		 const char *country, int gender, struct auth_fav *fav,
		 bool *created, char *err, size_t errlen)
{
	char uid[24], g[8];
	const char *params[4] = {uid, name, country, g};
	PGresult *res = NULL;
	int rc = AUTH_DB_ERROR, tries;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(g, sizeof(g), "%d", gender);
	for (tries = 0; tries < FAV_ADD_TRIES; tries++) {
		rc = auth_db_exec(conn, fav_add_sql, 4, params, &res, err,
				  errlen);
		if (rc != AUTH_DB_OK)
			return rc;
		if (PQntuples(res) == 1)
			break;
		PQclear(res);
		res = NULL;
	}
	if (!res) {
		snprintf(err, errlen, "like kept losing races (%d tries)",
			 FAV_ADD_TRIES);
		return AUTH_DB_DOWN;
	}
	fav->name_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*created = PQgetvalue(res, 0, 1)[0] == 't';
	fav->created_us = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(fav->name, sizeof(fav->name), "%s", name);
	snprintf(fav->country, sizeof(fav->country), "%s", country);
	fav->gender = gender;
	PQclear(res);
	return AUTH_DB_OK;
}

int auth_fav_remove(PGconn *conn, int64_t user_id, const char *name,
		    const char *country, int gender, bool *removed, char *err,
		    size_t errlen)
{
	char uid[24], g[8];
	const char *params[4] = {uid, name, country, g};
	PGresult *res = NULL;
	int rc;

	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(g, sizeof(g), "%d", gender);
	rc = auth_db_exec(conn,
			  "DELETE FROM favorites f USING names n"
			  " WHERE f.user_id = $1 AND f.name_id = n.id"
			  " AND n.name = $2 AND n.country = $3"
			  " AND n.gender = $4",
			  4, params, &res, err, errlen);
	if (rc != AUTH_DB_OK)
		return rc;
	*removed = strcmp(PQcmdTuples(res), "0") != 0;
	PQclear(res);
	return AUTH_DB_OK;
}

int auth_fav_list(PGconn *conn, int64_t user_id, int limit, const char *cursor,
		  struct auth_fav *favs, int *n, char *next, char *err,
		  size_t errlen)
{
	char uid[24], lim[16], cus[24], cid[24];
	const char *params[4] = {uid, lim, cus, cid};
	int64_t us = 0, id = 0;
	PGresult *res = NULL;
	int rc, rows, i;
	bool have_cursor = cursor && *cursor;

	*n = 0;
	next[0] = '\0';
	if (have_cursor && fav_cursor_parse(cursor, &us, &id) < 0) {
		snprintf(err, errlen, "malformed cursor");
		return AUTH_DB_ERROR;
	}
	snprintf(uid, sizeof(uid), "%" PRId64, user_id);
	snprintf(lim, sizeof(lim), "%d", limit + 1); /* one more: is there
							a next page? */
	snprintf(cus, sizeof(cus), "%" PRId64, us);
	snprintf(cid, sizeof(cid), "%" PRId64, id);
	rc = auth_db_exec(
	    conn,
	    have_cursor ? "SELECT n.id, n.name, n.country, n.gender, " FAV_US
			  " FROM favorites f JOIN names n ON n.id = f.name_id"
			  " WHERE f.user_id = $1 AND (f.created_at, f.name_id)"
			  " < ('epoch'::timestamptz + ($3 || ' microseconds')"
			  "::interval, $4::bigint)"
			  " ORDER BY f.created_at DESC, f.name_id DESC"
			  " LIMIT $2"
			: "SELECT n.id, n.name, n.country, n.gender, " FAV_US
			  " FROM favorites f JOIN names n ON n.id = f.name_id"
			  " WHERE f.user_id = $1"
			  " ORDER BY f.created_at DESC, f.name_id DESC"
			  " LIMIT $2",
	    have_cursor ? 4 : 2, params, &res, err, errlen);
	if (rc != AUTH_DB_OK)
		return rc;
	rows = PQntuples(res);
	for (i = 0; i < rows && i < limit; i++) {
		struct auth_fav *f = &favs[i];

		f->name_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(f->name, sizeof(f->name), "%s",
			 PQgetvalue(res, i, 1));
		snprintf(f->country, sizeof(f->country), "%s",
			 PQgetvalue(res, i, 2));
		f->gender = atoi(PQgetvalue(res, i, 3));
		f->created_us = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	}
	*n = i;
	if (rows > limit && limit > 0)
		snprintf(next, AUTH_FAV_CURSOR_BUF, "%" PRId64 ".%" PRId64,
			 favs[limit - 1].created_us, favs[limit - 1].name_id);
	PQclear(res);
	return AUTH_DB_OK;
}
