/* ratelimit.c - fixed-window counters of failed logins in Redis. */
#include "auth-service/ratelimit.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define RATE_KEY_MAX 64

/* KEYS counters; ARGV[i] the limit of KEYS[i]. The longest wait among
 * the counters at their limit, or 0. */
static const char rate_check_lua[] =
    "local wait = 0\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local n = tonumber(redis.call('GET', k) or '0')\n"
    "  if n >= tonumber(ARGV[i]) then\n"
    "    local t = redis.call('TTL', k)\n"
    "    if t < 1 then t = 1 end\n"
    "    if t > wait then wait = t end\n"
    "  end\n"
    "end\n"
    "return wait\n";

/* KEYS counters; ARGV[1] the window. */
static const char rate_fail_lua[] =
    "for _, k in ipairs(KEYS) do\n"
    "  if redis.call('INCR', k) == 1 then\n"
    "    redis.call('EXPIRE', k, ARGV[1]) end\n"
    "end\n"
    "return 0\n";

/* KEYS[1] counter; ARGV limit, window. Counts one; the seconds to wait
 * when the count is past the limit, else 0. */
static const char rate_hit_lua[] =
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end\n"
    "if n <= tonumber(ARGV[1]) then return 0 end\n"
    "local t = redis.call('TTL', KEYS[1])\n"
    "if t < 1 then t = 1 end\n"
    "return t\n";

/* rate_key writes prefix + the hex of a 128-bit hash of value. */
static void rate_key(char out[RATE_KEY_MAX], const char *prefix,
		     const char *value)
{
	unsigned char h[16];
	char hex[sizeof(h) * 2 + 1];

	crypto_generichash(h, sizeof(h), (const unsigned char *)value,
			   strlen(value), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, RATE_KEY_MAX, "%s%s", prefix, hex);
}

/* rate_integer runs one command whose answer is an integer. Returns 0
 * with *result set, or -1 with a sentence in err. */
static int rate_integer(struct auth_redis *r, const struct auth_redis_cmd *cmd,
			long long *result, int timeout_ms, char *err,
			size_t errlen)
{
	redisReply *reply = NULL;
	int rc = -1;

	if (auth_redis_exec(r, cmd, 1, &reply, timeout_ms, err, errlen) < 0)
		return -1;
	if (reply->type == REDIS_REPLY_INTEGER) {
		*result = reply->integer;
		rc = 0;
	} else {
		snprintf(err, errlen, "rate limit script failed: %.120s",
			 reply->type == REDIS_REPLY_ERROR ? reply->str
							  : "bad reply");
	}
	freeReplyObject(reply);
	return rc;
}

/* rate_eval runs script over the keys of email and addr (when given),
 * each followed by its own argument, or with one shared argument. */
static int rate_eval(struct auth_redis *r, const char *script,
		     const char *email, const char *addr,
		     const char *email_arg, const char *addr_arg,
		     long long *result, int timeout_ms, char *err,
		     size_t errlen)
{
	char ekey[RATE_KEY_MAX], akey[RATE_KEY_MAX];
	struct auth_redis_cmd cmd;
	int have_addr = addr && *addr;

	rate_key(ekey, "ng:rl:e:", email);
	auth_redis_cmd_set(&cmd, "EVAL", script, have_addr ? "2" : "1", ekey,
			   NULL);
	if (have_addr) {
		rate_key(akey, "ng:rl:a:", addr);
		auth_redis_cmd_add(&cmd, akey, strlen(akey));
	}
	auth_redis_cmd_add(&cmd, email_arg, strlen(email_arg));
	if (have_addr && addr_arg)
		auth_redis_cmd_add(&cmd, addr_arg, strlen(addr_arg));
	return rate_integer(r, &cmd, result, timeout_ms, err, errlen);
}

int auth_rate_check(struct auth_redis *r, const struct auth_rate *rate,
		    const char *email, const char *addr,
		    uint32_t *retry_after_s, int timeout_ms, char *err,
		    size_t errlen)
{
	char emax[16], amax[16];
	long long wait = 0;

	snprintf(emax, sizeof(emax), "%d", rate->email_max);
	snprintf(amax, sizeof(amax), "%d", rate->addr_max);
	if (rate_eval(r, rate_check_lua, email, addr, emax, amax, &wait,
		      timeout_ms, err, errlen) < 0)
		return -1;
	if (wait <= 0)
		return 0;
	*retry_after_s = (uint32_t)wait;
	return 1;
}

int auth_rate_fail(struct auth_redis *r, const struct auth_rate *rate,
		   const char *email, const char *addr, int timeout_ms,
		   char *err, size_t errlen)
{
	char window[16];
	long long ignored;

	snprintf(window, sizeof(window), "%d", rate->window_s);
	return rate_eval(r, rate_fail_lua, email, addr, window, NULL, &ignored,
			 timeout_ms, err, errlen);
}

int auth_rate_clear(struct auth_redis *r, const char *email, int timeout_ms,
		    char *err, size_t errlen)
{
	char ekey[RATE_KEY_MAX];
	struct auth_redis_cmd cmd;
	redisReply *reply = NULL;

	rate_key(ekey, "ng:rl:e:", email);
	auth_redis_cmd_set(&cmd, "DEL", ekey, NULL);
	if (auth_redis_exec(r, &cmd, 1, &reply, timeout_ms, err, errlen) < 0)
		return -1;
	freeReplyObject(reply);
	return 0;
}

int auth_rate_register(struct auth_redis *r, const char *addr, int max,
		       int window_s, uint32_t *retry_after_s, int timeout_ms,
		       char *err, size_t errlen)
{
	char key[RATE_KEY_MAX], smax[16], win[16];
	struct auth_redis_cmd cmd;
	long long wait = 0;

	if (!addr || !*addr)
		return 0;
	rate_key(key, "ng:rl:r:", addr);
	snprintf(smax, sizeof(smax), "%d", max);
	snprintf(win, sizeof(win), "%d", window_s);
	auth_redis_cmd_set(&cmd, "EVAL", rate_hit_lua, "1", key, smax, win,
			   NULL);
	if (rate_integer(r, &cmd, &wait, timeout_ms, err, errlen) < 0)
		return -1;
	if (wait <= 0)
		return 0;
	*retry_after_s = (uint32_t)wait;
	return 1;
}
