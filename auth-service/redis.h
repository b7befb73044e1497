/* redis.h - a small pool of Redis connections doing their own socket I/O.
 *
 * Debian 12's hiredis (0.14) cannot speak TLS, and Heroku Redis asks for
 * rediss:// with a self-signed certificate. So this layer opens the
 * sockets itself, plain TCP for redis:// or OpenSSL for rediss:// (the
 * certificate is not verified, as Heroku documents for its Redis), and
 * uses hiredis only for the protocol: redisFormatCommandArgv to write a
 * command and a redisReader to parse replies. The URL's password is sent
 * with AUTH and its path selects the database number.
 *
 * Every call has a deadline; nothing blocks past it. A connection that
 * breaks is closed and reopened by the next call that needs it; while
 * Redis cannot be reached, calls fail at once for a short back-off
 * instead of each waiting for a connect timeout. Thread-safe. */
#ifndef AUTH_REDIS_H
#define AUTH_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define AUTH_REDIS_ARGS_MAX  16	       /* arguments of one command */
#define AUTH_REDIS_CMDS_MAX  16	       /* commands of one pipeline */
#define AUTH_REDIS_REPLY_MAX (1 << 20) /* bytes read for one pipeline */

struct auth_redis;

struct auth_redis_opts {
	const char *url;	/* redis://[user:pass@]host[:port][/db] */
	int pool_size;		/* connections; 0 = 8 */
	int connect_timeout_ms; /* 0 = 2000 */
	int io_timeout_ms;	/* cap on one pipeline; 0 = 3000 */
	int pipelines;		/* threads of auth_redis_submit; 0 = 2 */
};

#define AUTH_REDIS_PIPES_MAX 8

/* One command: argv[i] is len[i] bytes (binary-safe). */
struct auth_redis_cmd {
	int argc;
	const char *argv[AUTH_REDIS_ARGS_MAX];
	size_t len[AUTH_REDIS_ARGS_MAX];
};

/* auth_redis_open parses the URL and sets up the pool; it does not
 * connect (see auth_redis_ping). Returns 0, or -1 with a sentence in err
 * naming the part of the URL that is wrong (never the password). */
int auth_redis_open(struct auth_redis **out,
		    const struct auth_redis_opts *opts, char *err,
		    size_t errlen);

/* auth_redis_close stops the pipeline thread (commands still queued get
 * their callback with an error), closes every connection and frees.
 * Accepts NULL. No synchronous call may be running. */
void auth_redis_close(struct auth_redis *r);

/* auth_redis_cmd_set fills cmd with NUL-terminated strings; a NULL ends
 * the list. Up to AUTH_REDIS_ARGS_MAX strings. */
void auth_redis_cmd_set(struct auth_redis_cmd *cmd, ...);

/* auth_redis_cmd_add appends one binary-safe argument. Returns -1 when
 * the command is full. */
int auth_redis_cmd_add(struct auth_redis_cmd *cmd, const void *arg,
		       size_t len);

/* auth_redis_exec writes ncmd commands in one go and reads their ncmd
 * replies, giving up at timeout_ms (capped by io_timeout_ms). Returns 0
 * and sets replies[0..ncmd) (free each with freeReplyObject; a reply may
 * be of type REDIS_REPLY_ERROR), or -1 with a sentence in err when Redis
 * could not be reached or answered garbage or too much (no reply is
 * set). */
int auth_redis_exec(struct auth_redis *r, const struct auth_redis_cmd *cmds,
		    int ncmd, redisReply **replies, int timeout_ms, char *err,
		    size_t errlen);

/* What auth_redis_submit calls once per command, on the pipeline thread:
 * reply (the callee frees it with freeReplyObject) or NULL with err when
 * Redis could not be reached in time. It must not block. */
typedef void (*auth_redis_cb)(void *arg, redisReply *reply, const char *err);

/* auth_redis_submit queues one command for the pipeline threads; each
 * takes whatever is queued, writes it in one go on its own connection
 * and reads the replies in order: many callers share one round trip, and
 * the callbacks of one batch run on one thread. For commands that
 * are safe to send twice (a connection found closed at the first write is
 * retried once). Returns 0 (cb will run exactly once), or -1 with a
 * sentence in err when the queue (AUTH_REDIS_QUEUE_MAX) is full or the
 * pool is closing (cb is not called). */
#define AUTH_REDIS_QUEUE_MAX 4096
int auth_redis_submit(struct auth_redis *r, const struct auth_redis_cmd *cmd,
		      int timeout_ms, auth_redis_cb cb, void *arg, char *err,
		      size_t errlen);

/* auth_redis_stop_pipeline ends the pipeline thread: the batch in
 * progress completes, commands still queued get their callback with an
 * error, and later submits fail. For shutdown, while the callbacks'
 * callers still exist. */
void auth_redis_stop_pipeline(struct auth_redis *r);

/* auth_redis_ping checks that Redis answers PING. Returns 0 or -1 with a
 * sentence in err. */
int auth_redis_ping(struct auth_redis *r, int timeout_ms, char *err,
		    size_t errlen);

/* auth_redis_describe writes "host:port/db (tls)" for logs: no password. */
const char *auth_redis_describe(const struct auth_redis *r);

#endif /* AUTH_REDIS_H */
