/* favorites.h - the names a user likes, newest first.
 *
 * A favorite points at a row of the shared names table (name, country,
 * gender). Adding is one statement, so one transaction: the name is
 * inserted unless present, then linked to the user unless already
 * linked, so liking the same name twice, even from concurrent calls,
 * stores one row. Every query is scoped by the user's id: no user ever
 * sees another's. */
#ifndef AUTH_FAVORITES_H
#define AUTH_FAVORITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "auth-service/rules.h"

#define AUTH_FAV_LIMIT_MAX     100
#define AUTH_FAV_LIMIT_DEFAULT 20
#define AUTH_FAV_CURSOR_BUF    48

struct auth_fav {
	int64_t name_id;
	char name[AUTH_NAME_BUF];
	char country[3];
	int gender;
	int64_t created_us; /* microseconds since the epoch */
};

/* auth_fav_add likes (name, country, gender) for user_id. On AUTH_DB_OK,
 * fav is filled and *created is false when it was liked already.
 * AUTH_DB_FOREIGN: the user no longer exists. */
int auth_fav_add(PGconn *conn, int64_t user_id, const char *name,
		 const char *country, int gender, struct auth_fav *fav,
		 bool *created, char *err, size_t errlen);

/* auth_fav_remove unlikes it; *removed is false when it was not liked. */
int auth_fav_remove(PGconn *conn, int64_t user_id, const char *name,
		    const char *country, int gender, bool *removed, char *err,
		    size_t errlen);

/* auth_fav_list fills favs (room for limit) with up to limit favorites of
 * user_id, newest first, after cursor ("" = from the newest); *n is how
 * many, and next (AUTH_FAV_CURSOR_BUF bytes) the cursor of the next page
 * or "" when there is none. A cursor that is not one this function wrote
 * gives -1 from auth_fav_cursor_ok; call that first. */
int auth_fav_list(PGconn *conn, int64_t user_id, int limit, const char *cursor,
		  struct auth_fav *favs, int *n, char *next, char *err,
		  size_t errlen);

/* auth_fav_cursor_ok returns 0 when cursor is "" or well formed. */
int auth_fav_cursor_ok(const char *cursor);

#endif /* AUTH_FAVORITES_H */
