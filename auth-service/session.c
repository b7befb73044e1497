/* session.c - session tokens: create, look up, end (Lua on Redis). */
#include "auth-service/session.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define SESS_PREFIX	"ng:sess:"
#define USESS_PREFIX	"ng:usess:"
#define SESS_RECORD_MAX (64 + AUTH_USERNAME_BUF + AUTH_EMAIL_BUF)

/* KEYS[1] session, KEYS[2] user set; ARGV record, ttl, now ms, member,
 * max per user, session key prefix, max age. -1 if the token exists
 * already. */
static const char sess_create_lua[] =
    "if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX')\n"
    "then return -1 end\n"
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
    "  if redis.call('EXISTS', ARGV[6] .. m) == 0 then\n"
    "    redis.call('ZREM', KEYS[2], m) end\n"
    "end\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])\n"
    "local n = redis.call('ZCARD', KEYS[2])\n"
    "local max = tonumber(ARGV[5])\n"
    "if n > max then\n"
    "  for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, n - max - 1))\n"
    "  do redis.call('DEL', ARGV[6] .. m)\n"
    "     redis.call('ZREM', KEYS[2], m) end\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
    "return 0\n";

/* KEYS[1] session; ARGV user set prefix, member. 1 if it existed. */
static const char sess_end_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "local uid = string.match(v, '^(%d+)')\n"
    "if uid then redis.call('ZREM', ARGV[1] .. uid, ARGV[2]) end\n"
    "return 1\n";

/* KEYS[1] user set; ARGV session key prefix, member to keep or "". */
static const char sess_end_all_lua[] =
    "local n = 0\n"
    "for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do\n"
    "  if m ~= ARGV[2] then\n"
    "    n = n + redis.call('DEL', ARGV[1] .. m)\n"
    "    redis.call('ZREM', KEYS[1], m) end\n"
    "end\n"
    "if ARGV[2] == '' then redis.call('DEL', KEYS[1]) end\n"
    "return n\n";

void auth_session_hash(const char *token, char out[AUTH_SESSION_HASH_HEX + 1])
{
	unsigned char h[AUTH_SESSION_HASH_HEX / 2];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token,
			   strlen(token), NULL, 0);
	sodium_bin2hex(out, AUTH_SESSION_HASH_HEX + 1, h, sizeof(h));
}

/* sess_token_ok tells whether s has the shape of a token we issue. */
static bool sess_token_ok(const char *s)
{
	size_t i;

	if (!s || strlen(s) != AUTH_TOKEN_LEN)
		return false;
	for (i = 0; i < AUTH_TOKEN_LEN; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* sess_eval runs one script and returns its reply, or NULL with err. */
static redisReply *sess_eval(struct auth_redis *r, const char *script,
			     const char *const *keys, int nkeys,
			     const char *const *args, int nargs,
			     int timeout_ms, char *err, size_t errlen)
{
	struct auth_redis_cmd cmd;
	redisReply *reply = NULL;
	char nk[8];
	int i;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	auth_redis_cmd_set(&cmd, "EVAL", script, nk, NULL);
	for (i = 0; i < nkeys; i++)
		auth_redis_cmd_add(&cmd, keys[i], strlen(keys[i]));
	for (i = 0; i < nargs; i++)
		auth_redis_cmd_add(&cmd, args[i], strlen(args[i]));
	if (auth_redis_exec(r, &cmd, 1, &reply, timeout_ms, err, errlen) < 0)
		return NULL;
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "Redis script failed: %.120s",
			 reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* sess_now returns wall-clock seconds and milliseconds. */
static int64_t sess_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int auth_session_create(struct auth_redis *r,
			const struct auth_session_policy *p,
			const struct auth_user *u, char token[AUTH_TOKEN_BUF],
			int timeout_ms, char *err, size_t errlen)
{
	unsigned char raw[AUTH_TOKEN_BYTES];
	char hash[AUTH_SESSION_HASH_HEX + 1];
	char skey[sizeof(SESS_PREFIX) + AUTH_SESSION_HASH_HEX];
	char ukey[sizeof(USESS_PREFIX) + 24];
	char record[SESS_RECORD_MAX], ttl[16], now[24], max[16], age[16];
	const char *keys[2] = {skey, ukey};
	const char *args[7] = {record, ttl, now, hash, max, SESS_PREFIX, age};
	redisReply *reply;
	int64_t now_ms = sess_now_ms();
	int tries, rc = -1;

	snprintf(record, sizeof(record),
		 "%" PRId64 "\n%" PRId64 "\n%" PRId64 "\n%s\n%s", u->id,
		 u->created_ms, now_ms / 1000, u->username, u->email);
	snprintf(ttl, sizeof(ttl), "%d", p->ttl_s);
	snprintf(max, sizeof(max), "%d", p->max_per_user);
	snprintf(age, sizeof(age), "%d", p->max_age_s);
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	snprintf(ukey, sizeof(ukey), USESS_PREFIX "%" PRId64, u->id);
	/* A collision of 256 random bits does not happen; the NX in the
	 * script makes sure a token is never handed out twice anyway. */
	for (tries = 0; tries < 3; tries++) {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(token, AUTH_TOKEN_BUF, raw, sizeof(raw),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		auth_session_hash(token, hash);
		snprintf(skey, sizeof(skey), SESS_PREFIX "%s", hash);
		reply = sess_eval(r, sess_create_lua, keys, 2, args, 7,
				  timeout_ms, err, errlen);
		if (!reply)
			break;
		rc = reply->type == REDIS_REPLY_INTEGER && reply->integer == 0
			 ? 0
			 : -1;
		freeReplyObject(reply);
		if (rc == 0)
			break;
		snprintf(err, errlen, "session token collided");
	}
	sodium_memzero(raw, sizeof(raw));
	if (rc < 0)
		sodium_memzero(token, AUTH_TOKEN_BUF);
	return rc;
}

/* sess_parse reads a record into u and the session's creation time. */
static int sess_parse(const char *v, size_t len, struct auth_user *u,
		      int64_t *born_s)
{
	char buf[SESS_RECORD_MAX];
	char *p, *nl, *end;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	u->id = strtoll(buf, &end, 10);
	if (*end != '\n' || u->id <= 0)
		return -1;
	u->created_ms = strtoll(end + 1, &end, 10);
	if (*end != '\n')
		return -1;
	*born_s = strtoll(end + 1, &end, 10);
	if (*end != '\n')
		return -1;
	p = end + 1;
	nl = strchr(p, '\n');
	if (!nl || (size_t)(nl - p) >= sizeof(u->username) ||
	    strlen(nl + 1) >= sizeof(u->email))
		return -1;
	memcpy(u->username, p, (size_t)(nl - p));
	u->username[nl - p] = '\0';
	strcpy(u->email, nl + 1);
	return 0;
}

/* A lookup in flight on the pipeline. */
struct sess_lookup {
	struct auth_redis *r;
	struct auth_session_policy p;
	char skey[sizeof(SESS_PREFIX) + AUTH_SESSION_HASH_HEX];
	int timeout_ms;
	auth_session_cb cb;
	void *arg;
};

/* sess_ignore takes the reply of a command nobody waits for. */
static void sess_ignore(void *arg, redisReply *reply, const char *err)
{
	(void)arg;
	(void)err;
	if (reply)
		freeReplyObject(reply);
}

/* sess_lookup_done reads the record GETEX returned and enforces the
 * absolute lifetime; the follow-up commands (DEL of an old session, a
 * shorter EXPIRE near the end of its life) are not waited for. */
static void sess_lookup_done(void *arg, redisReply *reply, const char *err)
{
	struct sess_lookup *l = arg;
	struct auth_redis_cmd cmd;
	struct auth_user u;
	char e[160] = "", ttl[16];
	int64_t born_s = 0, age_s;
	int rc = 0, expires = 0;

	if (!reply) {
		rc = -1;
		snprintf(e, sizeof(e), "%s", err);
	} else if (reply->type == REDIS_REPLY_ERROR) {
		rc = -1;
		snprintf(e, sizeof(e),
			 "Redis refused GETEX (6.2 or later is "
			 "needed): %.80s",
			 reply->str);
	} else if (reply->type == REDIS_REPLY_STRING) {
		rc = sess_parse(reply->str, reply->len, &u, &born_s) == 0 ? 1
									  : -1;
		if (rc < 0)
			snprintf(e, sizeof(e), "malformed session record");
	}
	if (reply)
		freeReplyObject(reply);
	if (rc == 1) {
		age_s = sess_now_ms() / 1000 - born_s;
		expires = l->p.ttl_s;
		if (age_s >= l->p.max_age_s) {
			rc = 0;
			auth_redis_cmd_set(&cmd, "DEL", l->skey, NULL);
			(void)auth_redis_submit(l->r, &cmd, l->timeout_ms,
						sess_ignore, NULL, e,
						sizeof(e));
		} else if (l->p.max_age_s - age_s < l->p.ttl_s) {
			expires = (int)(l->p.max_age_s - age_s);
			snprintf(ttl, sizeof(ttl), "%d", expires);
			auth_redis_cmd_set(&cmd, "EXPIRE", l->skey, ttl, NULL);
			(void)auth_redis_submit(l->r, &cmd, l->timeout_ms,
						sess_ignore, NULL, e,
						sizeof(e));
		}
	}
	l->cb(l->arg, rc, rc == 1 ? &u : NULL, expires, e);
	free(l);
}

void auth_session_lookup_async(struct auth_redis *r,
			       const struct auth_session_policy *p,
			       const char *token, int timeout_ms,
			       auth_session_cb cb, void *arg)
{
	char hash[AUTH_SESSION_HASH_HEX + 1], ttl[16], err[160];
	struct auth_redis_cmd cmd;
	struct sess_lookup *l;

	if (!sess_token_ok(token)) {
		cb(arg, 0, NULL, 0, "");
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		cb(arg, -1, NULL, 0, "out of memory");
		return;
	}
	l->r = r;
	l->p = *p;
	l->timeout_ms = timeout_ms;
	l->cb = cb;
	l->arg = arg;
	auth_session_hash(token, hash);
	snprintf(l->skey, sizeof(l->skey), SESS_PREFIX "%s", hash);
	snprintf(ttl, sizeof(ttl), "%d", p->ttl_s);
	/* One command: read the record and slide its expiry. */
	auth_redis_cmd_set(&cmd, "GETEX", l->skey, "EX", ttl, NULL);
	if (auth_redis_submit(r, &cmd, timeout_ms, sess_lookup_done, l, err,
			      sizeof(err)) < 0) {
		free(l);
		cb(arg, -1, NULL, 0, err);
	}
}

/* The synchronous lookup waits for the asynchronous one. */
struct sess_waiter {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool done;
	int rc, expires;
	struct auth_user *u;
	char *err;
	size_t errlen;
};

static void sess_wake(void *arg, int rc, const struct auth_user *u,
		      int expires_in_s, const char *err)
{
	struct sess_waiter *w = arg;

	pthread_mutex_lock(&w->lock);
	w->rc = rc;
	w->expires = expires_in_s;
	if (u)
		*w->u = *u;
	snprintf(w->err, w->errlen, "%s", err ? err : "");
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

int auth_session_lookup(struct auth_redis *r,
			const struct auth_session_policy *p, const char *token,
			struct auth_user *u, int *expires_in_s, int timeout_ms,
			char *err, size_t errlen)
{
	struct sess_waiter w = {.u = u, .err = err, .errlen = errlen};

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cv, NULL);
	auth_session_lookup_async(r, p, token, timeout_ms, sess_wake, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_mutex_destroy(&w.lock);
	pthread_cond_destroy(&w.cv);
	*expires_in_s = w.expires;
	return w.rc;
}

int auth_session_end(struct auth_redis *r, const char *token, int timeout_ms,
		     char *err, size_t errlen)
{
	char hash[AUTH_SESSION_HASH_HEX + 1];
	char skey[sizeof(SESS_PREFIX) + AUTH_SESSION_HASH_HEX];
	const char *keys[1] = {skey};
	const char *args[2] = {USESS_PREFIX, hash};
	redisReply *reply;
	int rc;

	if (!sess_token_ok(token))
		return 0;
	auth_session_hash(token, hash);
	snprintf(skey, sizeof(skey), SESS_PREFIX "%s", hash);
	reply = sess_eval(r, sess_end_lua, keys, 1, args, 2, timeout_ms, err,
			  errlen);
	if (!reply)
		return -1;
	rc = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
	freeReplyObject(reply);
	return rc;
}

int auth_session_end_all(struct auth_redis *r, int64_t user_id,
			 const char *keep_token, int timeout_ms, char *err,
			 size_t errlen)
{
	char keep[AUTH_SESSION_HASH_HEX + 1] = "";
	char ukey[sizeof(USESS_PREFIX) + 24];
	const char *keys[1] = {ukey};
	const char *args[2] = {SESS_PREFIX, keep};
	redisReply *reply;
	int rc = -1;

	if (keep_token && sess_token_ok(keep_token))
		auth_session_hash(keep_token, keep);
	snprintf(ukey, sizeof(ukey), USESS_PREFIX "%" PRId64, user_id);
	reply = sess_eval(r, sess_end_all_lua, keys, 1, args, 2, timeout_ms,
			  err, errlen);
	if (!reply)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER)
		rc = (int)reply->integer;
	else
		snprintf(err, errlen, "unexpected Redis reply");
	freeReplyObject(reply);
	return rc;
}
