/* session.h - session tokens and their records in Redis.
 *
 * A token is 32 random bytes in base64url (43 characters) and is shown
 * once, to the caller of Login. Redis keeps only its BLAKE2b hash:
 *
 *   ng:sess:<hash>   -> "<user id>\n<user created ms>\n<session created s>
 *                       \n<username>\n<email>", expiring after ttl_s
 *                       without use (each lookup slides it), and never
 *                       living past max_age_s from its creation
 *   ng:usess:<id>    -> sorted set of the user's session hashes by
 *                       creation time, so a password change or an
 *                       account deletion can end them all; its expiry is
 *                       pushed to max_age_s at every login, so it outlives
 *                       every session in it
 *
 * The record carries the user's profile (which never changes) so a lookup
 * is a single GETEX (Redis 6.2 or later): no SQL, no script. Creating and
 * ending sessions are Lua scripts, atomic in Redis; they touch keys they
 * derive from the record, so this works on a single Redis server, not on
 * a Redis Cluster. */
#ifndef AUTH_SESSION_H
#define AUTH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "auth-service/redis.h"
#include "auth-service/rules.h"

#define AUTH_TOKEN_BYTES      32
#define AUTH_TOKEN_LEN	      43 /* base64url, no padding */
#define AUTH_TOKEN_BUF	      (AUTH_TOKEN_LEN + 1)
#define AUTH_SESSION_HASH_HEX 64 /* BLAKE2b-256 in hex */

struct auth_session_policy {
	int ttl_s;	  /* idle expiry (SESSION_TTL) */
	int max_age_s;	  /* absolute lifetime, >= ttl_s (SESSION_MAX_AGE) */
	int max_per_user; /* the oldest are ended past this */
};

/* auth_session_create makes a new token for u, stores its record, adds it
 * to the user's set (dropping sessions that expired, and the oldest past
 * max_per_user) and writes the token into token. Returns 0, or -1 with a
 * sentence in err when Redis is unavailable. */
int auth_session_create(struct auth_redis *r,
			const struct auth_session_policy *p,
			const struct auth_user *u, char token[AUTH_TOKEN_BUF],
			int timeout_ms, char *err, size_t errlen);

/* What auth_session_lookup_async reports: rc 1 (u and expires_in_s
 * set), 0 (no such session) or -1 (err says why Redis failed). u lives
 * only during the call. Runs on the Redis pipeline thread (or, for a
 * malformed token or a full queue, in the caller before the lookup
 * returns); it must not block. */
typedef void (*auth_session_cb)(void *arg, int rc, const struct auth_user *u,
				int expires_in_s, const char *err);

/* auth_session_lookup_async does what auth_session_lookup does through
 * the Redis pipeline (redis.h), so that many lookups share round trips
 * and no thread waits for Redis. cb runs exactly once. */
void auth_session_lookup_async(struct auth_redis *r,
			       const struct auth_session_policy *p,
			       const char *token, int timeout_ms,
			       auth_session_cb cb, void *arg);

/* auth_session_lookup finds the user of token and slides its expiry.
 * Returns 1, fills u and sets *expires_in_s, 0 when there is no such
 * session (or the token is malformed, or the session is past its
 * max_age_s), -1 with a sentence in err when Redis is unavailable. It
 * waits for the pipeline, so it must not be called from a callback that
 * runs there (an auth_session_cb or auth_redis_cb). */
int auth_session_lookup(struct auth_redis *r,
			const struct auth_session_policy *p, const char *token,
			struct auth_user *u, int *expires_in_s, int timeout_ms,
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
void auth_session_hash(const char *token, char out[AUTH_SESSION_HASH_HEX + 1]);

#endif /* AUTH_SESSION_H */
