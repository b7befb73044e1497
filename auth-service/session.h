/* session.h - session tokens and their records in Redis.
 *
 * A token is 32 random bytes in base64url (43 characters) and is shown
 * once, to the caller of Login. Redis keeps only its BLAKE2b hash:
 *
 *   ng:sess:<hash>   -> "<user id>\n<created ms>\n<username>\n<email>"
 *                       with a sliding expiry of the session TTL
 *   ng:usess:<id>    -> sorted set of the user's session hashes by
 *                       creation time, so a password change or an
 *                       account deletion can end them all
 *
 * The record carries the user's profile (which never changes) so WhoAmI
 * costs one Redis round trip and no SQL. Each operation is one Lua script,
 * atomic in Redis. The scripts touch keys they derive from the record, so
 * this works on a single Redis server, not a Redis Cluster. */
#ifndef AUTH_SESSION_H
#define AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "auth-service/redis.h"
#include "auth-service/rules.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_LEN 43                  /* base64url, no padding */
#define AUTH_TOKEN_BUF (AUTH_TOKEN_LEN + 1)
#define AUTH_SESSION_HASH_HEX 64           /* BLAKE2b-256 in hex */

/* auth_session_create makes a new token for u, stores its record with
 * ttl_s, adds it to the user's set (dropping sessions that expired, and
 * the oldest past max_per_user) and writes the token into token. Returns
 * 0, or -1 with a sentence in err when Redis is unavailable. */
int auth_session_create(struct auth_redis *r,
			const struct auth_user *u, int ttl_s,
			int max_per_user, char token[AUTH_TOKEN_BUF],
			int timeout_ms, char *err, size_t errlen);

/* auth_session_lookup finds the user of token and slides its expiry to
 * ttl_s. Returns 1 and fills u, 0 when there is no such session (or the
 * token is malformed), -1 with a sentence in err when Redis is
 * unavailable. */
int auth_session_lookup(struct auth_redis *r, const char *token, int ttl_s,
			struct auth_user *u, int timeout_ms,
			char *err, size_t errlen);

/* auth_session_end ends one session. Returns 1 when it existed, 0 when
 * not, -1 with a sentence in err. */
int auth_session_end(struct auth_redis *r, const char *token, int timeout_ms,
		     char *err, size_t errlen);

/* auth_session_end_all ends every session of user_id except keep_token's
 * (NULL: all of them). Returns how many ended, or -1 with err. */
int auth_session_end_all(struct auth_redis *r, int64_t user_id,
			 const char *keep_token, int timeout_ms, char *err,
			 size_t errlen);

/* auth_session_hash writes the hex hash of token (65 bytes with NUL),
 * the form Redis keys use; for tests and tools. */
void auth_session_hash(const char *token,
		       char out[AUTH_SESSION_HASH_HEX + 1]);

#endif /* AUTH_SESSION_H */
