/* users.h - the users table: create, find, change the hash, delete.
 *
 * Each function takes a connection checked out of the pool (db.h) and
 * returns an enum auth_db_rc (AUTH_DB_UNIQUE for a taken email) with a
 * sentence in err for the log. Every statement is parameterised; a
 * single-statement write is its own transaction, and the deletion runs
 * its statements inside one BEGIN/COMMIT. */
#ifndef AUTH_USERS_H
#define AUTH_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "auth-service/password.h"
#include "auth-service/rules.h"

/* auth_users_create inserts a user; fills u (id, created_ms) on OK. */
int auth_users_create(PGconn *conn, const char *username, const char *email,
		      const char *hash, struct auth_user *u, char *err,
		      size_t errlen);

/* auth_users_find looks a user up by email (when email is not NULL) or
 * by id. On AUTH_DB_OK, *found tells whether there is one; then u and
 * hash (AUTH_PW_HASH_BUF bytes, may be NULL) are filled. */
int auth_users_find(PGconn *conn, const char *email, int64_t id,
		    struct auth_user *u, char *hash, bool *found, char *err,
		    size_t errlen);

/* auth_users_set_hash replaces the user's hash; when old_hash is not NULL
 * only if the stored hash still equals it (a concurrent change wins).
 * *changed tells whether a row was updated. */
int auth_users_set_hash(PGconn *conn, int64_t id, const char *old_hash,
			const char *new_hash, bool *changed, char *err,
			size_t errlen);

/* auth_users_delete removes the user and their favorites in one
 * transaction; *deleted tells whether the user existed. */
int auth_users_delete(PGconn *conn, int64_t id, bool *deleted, char *err,
		      size_t errlen);

#endif /* AUTH_USERS_H */
