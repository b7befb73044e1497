/* ratelimit.h - failed-login limits per email and per client address.
 *
 * Fixed windows in Redis: the first failure in a window creates a
 * counter that expires with the window; while a counter is at its limit,
 * logins for that email (or from that address) are refused with the
 * counter's remaining seconds. Keys hold a hash of the email or address,
 * never the value itself:
 *
 *   ng:rl:e:<hash of email>   ng:rl:a:<hash of address>
 *
 * A successful login clears the email's counter (not the address's). */
#ifndef AUTH_RATELIMIT_H
#define AUTH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "auth-service/redis.h"

struct auth_rate {
	int email_max; /* failures per window per email */
	int addr_max;  /* failures per window per client address */
	int window_s;
};

/* auth_rate_check tells whether email and addr (may be NULL or "") may
 * try now. Returns 0 when they may, 1 when limited (with *retry_after_s
 * set, at least 1), -1 with a sentence in err when Redis is
 * unavailable. */
int auth_rate_check(struct auth_redis *r, const struct auth_rate *rate,
		    const char *email, const char *addr,
		    uint32_t *retry_after_s, int timeout_ms, char *err,
		    size_t errlen);

/* auth_rate_fail counts one failure for email and addr. Returns 0 or -1
 * with err. */
int auth_rate_fail(struct auth_redis *r, const struct auth_rate *rate,
		   const char *email, const char *addr, int timeout_ms,
		   char *err, size_t errlen);

/* auth_rate_clear forgets the failures of email. Returns 0 or -1. */
int auth_rate_clear(struct auth_redis *r, const char *email, int timeout_ms,
		    char *err, size_t errlen);

/* auth_rate_register counts one account creation from addr (nothing
 * when addr is NULL or "") against max per window_s. Returns 0 when it
 * is within the limit, 1 when past it (with *retry_after_s set), -1 with
 * a sentence in err when Redis is unavailable. Key: ng:rl:r:<hash>. */
int auth_rate_register(struct auth_redis *r, const char *addr, int max,
		       int window_s, uint32_t *retry_after_s, int timeout_ms,
		       char *err, size_t errlen);

#endif /* AUTH_RATELIMIT_H */
