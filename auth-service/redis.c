/* redis.c - Redis connections over TCP or TLS, protocol from hiredis. */
#include "auth-service/redis.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/config.h"

#define REDIS_BACKOFF_MS                                                      \
	250 /* calls fail fast this long after a                              \
	       connect failed */
#define REDIS_READ_CHUNK 16384
#define REDIS_DESC_MAX	 320

struct redis_conn {
	int fd; /* -1 when closed */
	SSL *ssl;
	redisReader *reader;
	struct redis_conn *next; /* in the free list */
};

/* A command waiting for the pipeline thread. */
struct redis_job {
	char *cmd; /* formatted, owned */
	size_t len;
	int64_t deadline; /* monotonic ms */
	auth_redis_cb cb;
	void *arg;
	struct redis_job *next;
};

#define REDIS_BATCH_MAX 256 /* commands written in one go */

struct redis_pipe {
	struct auth_redis *r;
	pthread_t thread;
	bool running;
	struct redis_conn conn;
};

struct auth_redis {
	struct config_url url;
	bool tls;
	int db;
	int connect_timeout_ms, io_timeout_ms;
	char desc[REDIS_DESC_MAX];
	SSL_CTX *ssl_ctx;

	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct redis_conn *conns; /* pool_size of them */
	int pool_size;
	struct redis_conn *free_list;
	int64_t down_until; /* monotonic ms; fail fast before it */

	/* The pipeline threads, each with its connection, and the queue
	 * they share, under lock. */
	struct redis_pipe pipes[AUTH_REDIS_PIPES_MAX];
	int npipes;
	bool pipe_started, pipe_stopping;
	pthread_cond_t pipe_cv;
	struct redis_job *qhead, *qtail;
	int qlen;
};

static int64_t redis_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int redis_left(int64_t deadline)
{
	int64_t left = deadline - redis_mono_ms();

	return left > 0 ? (int)left : 0;
}

/* ------------------------------------------------------------ socket I/O */

static void redis_conn_close(struct redis_conn *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->reader) {
		redisReaderFree(c->reader);
		c->reader = NULL;
	}
}

/* redis_wait polls fd for events until deadline: 1 ready, 0 timed out. */
static int redis_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int rc;

	for (;;) {
		int left = redis_left(deadline);

		if (left == 0)
			return 0;
		rc = poll(&p, 1, left);
		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return 0;
	}
}

/* redis_ssl_wait waits for what OpenSSL asked for; -1 on a real error. */
static int redis_ssl_wait(struct redis_conn *c, int rc, int64_t deadline)
{
	int e = SSL_get_error(c->ssl, rc);

	if (e == SSL_ERROR_WANT_READ)
		return redis_wait(c->fd, POLLIN, deadline) ? 0 : -1;
	if (e == SSL_ERROR_WANT_WRITE)
		return redis_wait(c->fd, POLLOUT, deadline) ? 0 : -1;
	return -1;
}

static int redis_write_all(struct redis_conn *c, const char *buf, size_t len,
			   int64_t deadline)
{
	while (len > 0) {
		ssize_t n;

		if (c->ssl) {
			int rc = SSL_write(c->ssl, buf, (int)len);

			if (rc <= 0) {
				if (redis_ssl_wait(c, rc, deadline) < 0)
					return -1;
				continue;
			}
			n = rc;
		} else {
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					return -1;
				if (!redis_wait(c->fd, POLLOUT, deadline))
					return -1;
				continue;
			}
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* redis_read_some reads what is there, waiting until deadline: bytes
 * read, or -1 on EOF, error or timeout. */
static ssize_t redis_read_some(struct redis_conn *c, char *buf, size_t cap,
			       int64_t deadline)
{
	for (;;) {
		ssize_t n;

		if (c->ssl) {
			int rc = SSL_read(c->ssl, buf, (int)cap);

			if (rc > 0)
				return rc;
			if (redis_ssl_wait(c, rc, deadline) < 0)
				return -1;
			continue;
		}
		/* An answer is rarely there the moment we ask: wait first,
		 * which saves a recv that would say EAGAIN. */
		if (!redis_wait(c->fd, POLLIN, deadline))
			return -1;
		n = recv(c->fd, buf, cap, 0);
		if (n > 0)
			return n;
		if (n == 0)
			return -1;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
}

/* redis_tcp_connect opens a non-blocking TCP connection by deadline. */
static int redis_tcp_connect(const struct auth_redis *r, int64_t deadline,
			     char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	char port[16];
	int fd = -1, rc, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", r->url.port);
	rc = getaddrinfo(r->url.host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve Redis host %s: %s",
			 r->url.host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS &&
		    redis_wait(fd, POLLOUT, deadline) &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr == 0)
			rc = 0;
		else if (rc < 0 && soerr)
			errno = soerr;
		if (rc == 0)
			break;
		snprintf(err, errlen, "cannot connect to Redis at %s: %s",
			 r->desc, errno ? strerror(errno) : "timed out");
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* redis_roundtrip sends formatted commands and reads n replies. */
static int redis_roundtrip(struct redis_conn *c, const char *out,
			   size_t outlen, int n, redisReply **replies,
			   int64_t deadline, bool *got_bytes, char *err,
			   size_t errlen)
{
	char buf[REDIS_READ_CHUNK];
	size_t total = 0;
	int got = 0;

	*got_bytes = false;

	if (redis_write_all(c, out, outlen, deadline) < 0) {
		snprintf(err, errlen, "Redis write failed or timed out");
		return -1;
	}
	while (got < n) {
		void *reply = NULL;
		ssize_t k;

		if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
			snprintf(err, errlen, "Redis sent a malformed reply");
			goto fail;
		}
		if (reply) {
			replies[got++] = reply;
			continue;
		}
		k = redis_read_some(c, buf, sizeof(buf), deadline);
		if (k < 0) {
			snprintf(err, errlen,
				 "Redis closed the connection or timed out");
			goto fail;
		}
		*got_bytes = true;
		total += (size_t)k;
		if (total > AUTH_REDIS_REPLY_MAX) {
			snprintf(err, errlen,
				 "Redis reply larger than %d bytes",
				 AUTH_REDIS_REPLY_MAX);
			goto fail;
		}
		if (redisReaderFeed(c->reader, buf, (size_t)k) != REDIS_OK) {
			snprintf(err, errlen, "Redis reply could not be read");
			goto fail;
		}
	}
	return 0;
fail:
	while (got > 0)
		freeReplyObject(replies[--got]);
	return -1;
}

static int redis_format(const struct auth_redis_cmd *cmds, int ncmd,
			char **out, size_t *outlen)
{
	size_t total = 0;
	char *buf = NULL;
	int i;

	for (i = 0; i < ncmd; i++) {
		const char *argv[AUTH_REDIS_ARGS_MAX];
		char *one = NULL, *grown;
		int n;

		/* hiredis 0.14 takes a non-const array of const strings */
		memcpy(argv, cmds[i].argv, sizeof(argv));
		n = redisFormatCommandArgv(&one, cmds[i].argc, argv,
					   cmds[i].len);

		if (n < 0)
			goto fail;
		grown = realloc(buf, total + (size_t)n);
		if (!grown) {
			redisFreeCommand(one);
			goto fail;
		}
		buf = grown;
		memcpy(buf + total, one, (size_t)n);
		total += (size_t)n;
		redisFreeCommand(one);
	}
	*out = buf;
	*outlen = total;
	return 0;
fail:
	free(buf);
	return -1;
}

static int redis_simple(struct redis_conn *c, const struct auth_redis_cmd *cmd,
			int64_t deadline, redisReply **reply, char *err,
			size_t errlen)
{
	char *out = NULL;
	size_t len = 0;
	bool got_bytes;
	int rc;

	if (redis_format(cmd, 1, &out, &len) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = redis_roundtrip(c, out, len, 1, reply, deadline, &got_bytes, err,
			     errlen);
	free(out);
	return rc;
}

/* redis_handshake does TLS, AUTH and SELECT on a fresh connection. */
static int redis_handshake(struct auth_redis *r, struct redis_conn *c,
			   int64_t deadline, char *err, size_t errlen)
{
	struct auth_redis_cmd cmd;
	redisReply *reply = NULL;
	char db[16];

	if (r->tls) {
		int rc;

		c->ssl = SSL_new(r->ssl_ctx);
		if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
			snprintf(err, errlen, "cannot set up TLS");
			return -1;
		}
		SSL_set_tlsext_host_name(c->ssl, r->url.host);
		while ((rc = SSL_connect(c->ssl)) != 1) {
			if (redis_ssl_wait(c, rc, deadline) < 0) {
				snprintf(err, errlen,
					 "TLS handshake with Redis at %s "
					 "failed",
					 r->desc);
				ERR_clear_error();
				return -1;
			}
		}
	}
	if (r->url.password[0]) {
		/* Redis 6 ACL users first; a plain requirepass server (or an
		 * old "h:" user name) is asked with the password alone. */
		if (r->url.user[0])
			auth_redis_cmd_set(&cmd, "AUTH", r->url.user,
					   r->url.password, NULL);
		else
			auth_redis_cmd_set(&cmd, "AUTH", r->url.password,
					   NULL);
		if (redis_simple(c, &cmd, deadline, &reply, err, errlen) < 0)
			return -1;
		if (reply->type == REDIS_REPLY_ERROR && r->url.user[0]) {
			freeReplyObject(reply);
			auth_redis_cmd_set(&cmd, "AUTH", r->url.password,
					   NULL);
			if (redis_simple(c, &cmd, deadline, &reply, err,
					 errlen) < 0)
				return -1;
		}
		if (reply->type == REDIS_REPLY_ERROR) {
			freeReplyObject(reply);
			snprintf(err, errlen,
				 "Redis refused the password of REDIS_URL");
			return -1;
		}
		freeReplyObject(reply);
	}
	if (r->db != 0) {
		snprintf(db, sizeof(db), "%d", r->db);
		auth_redis_cmd_set(&cmd, "SELECT", db, NULL);
		if (redis_simple(c, &cmd, deadline, &reply, err, errlen) < 0)
			return -1;
		if (reply->type == REDIS_REPLY_ERROR) {
			freeReplyObject(reply);
			snprintf(err, errlen, "Redis refused database %d",
				 r->db);
			return -1;
		}
		freeReplyObject(reply);
	}
	return 0;
}

static int redis_conn_open(struct auth_redis *r, struct redis_conn *c,
			   int64_t deadline, char *err, size_t errlen)
{
	int64_t connect_deadline = redis_mono_ms() + r->connect_timeout_ms;

	if (connect_deadline < deadline)
		deadline = connect_deadline;
	c->fd = redis_tcp_connect(r, deadline, err, errlen);
	if (c->fd < 0)
		return -1;
	c->reader = redisReaderCreate();
	if (!c->reader) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (redis_handshake(r, c, deadline, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	redis_conn_close(c);
	return -1;
}

/* redis_conn_stale tells whether an idle connection was closed by the
 * server (a restart): an idle Redis connection has nothing to read. */
static bool redis_conn_stale(const struct redis_conn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	if (c->ssl && SSL_pending(c->ssl) > 0)
		return true;
	return poll(&p, 1, 0) != 0;
}

/* ------------------------------------------------------------------ pool */

static struct redis_conn *redis_acquire(struct auth_redis *r, int64_t deadline)
{
	struct redis_conn *c = NULL;

	pthread_mutex_lock(&r->lock);
	while (!r->free_list) {
		struct timespec ts;
		int64_t left = redis_left(deadline);

		if (left <= 0)
			goto out;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += left / 1000;
		ts.tv_nsec += (left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&r->freed, &r->lock, &ts);
	}
	c = r->free_list;
	r->free_list = c->next;
out:
	pthread_mutex_unlock(&r->lock);
	return c;
}

static void redis_release(struct auth_redis *r, struct redis_conn *c)
{
	pthread_mutex_lock(&r->lock);
	c->next = r->free_list;
	r->free_list = c;
	pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->lock);
}

/* redis_ready makes c usable: reopens it when closed or stale, failing at
 * once during the back-off after a failed connect. */
static int redis_ready(struct auth_redis *r, struct redis_conn *c,
		       int64_t deadline, char *err, size_t errlen)
{
	int64_t down_until;

	if (c->fd >= 0 && !redis_conn_stale(c))
		return 0;
	redis_conn_close(c);
	pthread_mutex_lock(&r->lock);
	down_until = r->down_until;
	pthread_mutex_unlock(&r->lock);
	if (redis_mono_ms() < down_until) {
		snprintf(err, errlen, "Redis is unavailable (retrying soon)");
		return -1;
	}
	if (redis_conn_open(r, c, deadline, err, errlen) == 0)
		return 0;
	pthread_mutex_lock(&r->lock);
	r->down_until = redis_mono_ms() + REDIS_BACKOFF_MS;
	pthread_mutex_unlock(&r->lock);
	return -1;
}

int auth_redis_open(struct auth_redis **out,
		    const struct auth_redis_opts *opts, char *err,
		    size_t errlen)
{
	struct auth_redis *r;
	char sub[CONFIG_ERR_MAX];
	char *end;
	long db = 0;
	int i;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->freed, NULL);
	pthread_cond_init(&r->pipe_cv, NULL);
	for (i = 0; i < AUTH_REDIS_PIPES_MAX; i++) {
		r->pipes[i].r = r;
		r->pipes[i].conn.fd = -1;
	}
	r->npipes = opts->pipelines > 0 ? opts->pipelines : 2;
	if (r->npipes > AUTH_REDIS_PIPES_MAX)
		r->npipes = AUTH_REDIS_PIPES_MAX;
	if (config_parse_url(opts->url ? opts->url : "", &r->url, sub,
			     sizeof(sub)) < 0) {
		snprintf(err, errlen, "REDIS_URL: %s", sub);
		goto fail;
	}
	if (strcmp(r->url.scheme, "redis") == 0) {
		r->tls = false;
	} else if (strcmp(r->url.scheme, "rediss") == 0) {
		r->tls = true;
	} else {
		snprintf(err, errlen,
			 "REDIS_URL must start with redis:// or rediss://");
		goto fail;
	}
	if (r->url.path[0]) {
		errno = 0;
		db = strtol(r->url.path, &end, 10);
		if (errno || *end || db < 0 || db > 1000) {
			snprintf(err, errlen,
				 "REDIS_URL path must be a database number");
			goto fail;
		}
	}
	r->db = (int)db;
	r->connect_timeout_ms =
	    opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 2000;
	r->io_timeout_ms =
	    opts->io_timeout_ms > 0 ? opts->io_timeout_ms : 3000;
	snprintf(r->desc, sizeof(r->desc), "%s:%d/%d%s", r->url.host,
		 r->url.port, r->db, r->tls ? " (tls)" : "");
	if (r->tls) {
		r->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (!r->ssl_ctx) {
			snprintf(err, errlen, "cannot set up TLS");
			goto fail;
		}
		/* Heroku Redis presents a self-signed certificate. */
		SSL_CTX_set_verify(r->ssl_ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_min_proto_version(r->ssl_ctx, TLS1_2_VERSION);
	}
	r->pool_size = opts->pool_size > 0 ? opts->pool_size : 8;
	r->conns = calloc((size_t)r->pool_size, sizeof(*r->conns));
	if (!r->conns) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < r->pool_size; i++) {
		r->conns[i].fd = -1;
		r->conns[i].next = r->free_list;
		r->free_list = &r->conns[i];
	}
	*out = r;
	return 0;
fail:
	auth_redis_close(r);
	return -1;
}

void auth_redis_stop_pipeline(struct auth_redis *r)
{
	struct redis_job *j;
	int i;

	pthread_mutex_lock(&r->lock);
	r->pipe_stopping = true;
	pthread_cond_broadcast(&r->pipe_cv);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < r->npipes; i++)
		if (r->pipes[i].running) {
			pthread_join(r->pipes[i].thread, NULL);
			r->pipes[i].running = false;
		}
	pthread_mutex_lock(&r->lock);
	j = r->qhead;
	r->qhead = r->qtail = NULL;
	r->qlen = 0;
	pthread_mutex_unlock(&r->lock);
	while (j) {
		struct redis_job *next = j->next;

		j->cb(j->arg, NULL, "the Redis client is closing");
		redisFreeCommand(j->cmd);
		free(j);
		j = next;
	}
	for (i = 0; i < r->npipes; i++)
		redis_conn_close(&r->pipes[i].conn);
}

void auth_redis_close(struct auth_redis *r)
{
	int i;

	if (!r)
		return;
	auth_redis_stop_pipeline(r);
	for (i = 0; r->conns && i < r->pool_size; i++)
		redis_conn_close(&r->conns[i]);
	free(r->conns);
	if (r->ssl_ctx)
		SSL_CTX_free(r->ssl_ctx);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->freed);
	pthread_cond_destroy(&r->pipe_cv);
	memset(r->url.password, 0, sizeof(r->url.password));
	free(r);
}

void auth_redis_cmd_set(struct auth_redis_cmd *cmd, ...)
{
	va_list ap;
	const char *s;

	cmd->argc = 0;
	va_start(ap, cmd);
	while ((s = va_arg(ap, const char *)) != NULL &&
	       cmd->argc < AUTH_REDIS_ARGS_MAX) {
		cmd->argv[cmd->argc] = s;
		cmd->len[cmd->argc] = strlen(s);
		cmd->argc++;
	}
	va_end(ap);
}

int auth_redis_cmd_add(struct auth_redis_cmd *cmd, const void *arg, size_t len)
{
	if (cmd->argc >= AUTH_REDIS_ARGS_MAX)
		return -1;
	cmd->argv[cmd->argc] = arg;
	cmd->len[cmd->argc] = len;
	cmd->argc++;
	return 0;
}

int auth_redis_exec(struct auth_redis *r, const struct auth_redis_cmd *cmds,
		    int ncmd, redisReply **replies, int timeout_ms, char *err,
		    size_t errlen)
{
	struct redis_conn *c;
	int64_t deadline;
	char *out = NULL;
	size_t outlen = 0;
	bool reused, got_bytes = false;
	int rc = -1;

	if (ncmd < 1 || ncmd > AUTH_REDIS_CMDS_MAX) {
		snprintf(err, errlen, "bad pipeline of %d commands", ncmd);
		return -1;
	}
	if (timeout_ms <= 0 || timeout_ms > r->io_timeout_ms)
		timeout_ms = r->io_timeout_ms;
	deadline = redis_mono_ms() + timeout_ms;
	if (redis_format(cmds, ncmd, &out, &outlen) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c = redis_acquire(r, deadline);
	if (!c) {
		snprintf(err, errlen, "no Redis connection free in time");
		goto out;
	}
	reused = c->fd >= 0;
	if (redis_ready(r, c, deadline, err, errlen) == 0) {
		rc = redis_roundtrip(c, out, outlen, ncmd, replies, deadline,
				     &got_bytes, err, errlen);
		/* After a failure the stream is out of step: start over. */
		if (rc < 0)
			redis_conn_close(c);
		/* An idle connection the server closed a moment ago (its FIN
		 * still in flight when we looked) fails before any answer:
		 * the commands were not run, so send them once more on a
		 * fresh connection. */
		if (rc < 0 && reused && !got_bytes &&
		    redis_ready(r, c, deadline, err, errlen) == 0) {
			rc =
			    redis_roundtrip(c, out, outlen, ncmd, replies,
					    deadline, &got_bytes, err, errlen);
			if (rc < 0)
				redis_conn_close(c);
		}
	}
	redis_release(r, c);
out:
	free(out);
	return rc;
}

/* ------------------------------------------------------------- pipeline */

/* pipe_run writes a batch in one go and hands each reply to its job;
 * on failure every job of the batch gets the error. */
static void pipe_run(struct redis_pipe *pipe, struct redis_job **batch, int n)
{
	struct auth_redis *r = pipe->r;
	struct redis_conn *c = &pipe->conn;
	redisReply *replies[REDIS_BATCH_MAX];
	char err[256], *out = NULL;
	size_t outlen = 0, off = 0;
	int64_t deadline = 0;
	bool reused, got_bytes = false;
	int i, rc = -1;

	for (i = 0; i < n; i++) {
		outlen += batch[i]->len;
		if (batch[i]->deadline > deadline)
			deadline = batch[i]->deadline;
	}
	out = malloc(outlen);
	if (!out) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		memcpy(out + off, batch[i]->cmd, batch[i]->len);
		off += batch[i]->len;
	}
	reused = c->fd >= 0;
	if (redis_ready(r, c, deadline, err, sizeof(err)) < 0)
		goto out;
	rc = redis_roundtrip(c, out, outlen, n, replies, deadline, &got_bytes,
			     err, sizeof(err));
	if (rc < 0)
		redis_conn_close(c);
	/* A connection Redis closed while idle: nothing was run; once more */
	if (rc < 0 && reused && !got_bytes &&
	    redis_ready(r, c, deadline, err, sizeof(err)) == 0) {
		rc = redis_roundtrip(c, out, outlen, n, replies, deadline,
				     &got_bytes, err, sizeof(err));
		if (rc < 0)
			redis_conn_close(c);
	}
out:
	free(out);
	for (i = 0; i < n; i++)
		batch[i]->cb(batch[i]->arg, rc == 0 ? replies[i] : NULL,
			     rc == 0 ? NULL : err);
}

static void *pipe_main(void *arg)
{
	struct redis_pipe *pipe = arg;
	struct auth_redis *r = pipe->r;
	struct redis_job *batch[REDIS_BATCH_MAX];

	for (;;) {
		int n = 0, i;

		pthread_mutex_lock(&r->lock);
		while (!r->qhead && !r->pipe_stopping)
			pthread_cond_wait(&r->pipe_cv, &r->lock);
		if (r->pipe_stopping) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		while (r->qhead && n < REDIS_BATCH_MAX) {
			batch[n++] = r->qhead;
			r->qhead = r->qhead->next;
			r->qlen--;
		}
		if (!r->qhead)
			r->qtail = NULL;
		pthread_mutex_unlock(&r->lock);

		pipe_run(pipe, batch, n);
		for (i = 0; i < n; i++) {
			redisFreeCommand(batch[i]->cmd);
			free(batch[i]);
		}
	}
}

int auth_redis_submit(struct auth_redis *r, const struct auth_redis_cmd *cmd,
		      int timeout_ms, auth_redis_cb cb, void *arg, char *err,
		      size_t errlen)
{
	const char *argv[AUTH_REDIS_ARGS_MAX];
	struct redis_job *j;
	int n, i, rc = -1;

	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(argv, cmd->argv, sizeof(argv));
	n = redisFormatCommandArgv(&j->cmd, cmd->argc, argv, cmd->len);
	if (n < 0) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	j->len = (size_t)n;
	if (timeout_ms <= 0 || timeout_ms > r->io_timeout_ms)
		timeout_ms = r->io_timeout_ms;
	j->deadline = redis_mono_ms() + timeout_ms;
	j->cb = cb;
	j->arg = arg;

	pthread_mutex_lock(&r->lock);
	if (r->pipe_stopping) {
		snprintf(err, errlen, "the Redis client is closing");
		goto out;
	}
	if (r->qlen >= AUTH_REDIS_QUEUE_MAX) {
		snprintf(err, errlen, "Redis queue full (%d commands)",
			 AUTH_REDIS_QUEUE_MAX);
		goto out;
	}
	if (!r->pipe_started) {
		for (i = 0; i < r->npipes; i++) {
			if (pthread_create(&r->pipes[i].thread, NULL,
					   pipe_main, &r->pipes[i]) != 0)
				break;
			r->pipes[i].running = true;
			/* named, or it would carry its creator's name (an
			 * nng thread's) in top -H and perf */
			pthread_setname_np(r->pipes[i].thread, "redis-pipe");
		}
		if (i == 0) {
			snprintf(err, errlen, "cannot start a thread");
			goto out;
		}
		r->pipe_started = true;
	}
	if (r->qtail)
		r->qtail->next = j;
	else
		r->qhead = j;
	r->qtail = j;
	r->qlen++;
	pthread_cond_signal(&r->pipe_cv);
	j = NULL;
	rc = 0;
out:
	pthread_mutex_unlock(&r->lock);
	if (j) {
		redisFreeCommand(j->cmd);
		free(j);
	}
	return rc;
}

int auth_redis_ping(struct auth_redis *r, int timeout_ms, char *err,
		    size_t errlen)
{
	struct auth_redis_cmd cmd;
	redisReply *reply = NULL;
	int rc;

	auth_redis_cmd_set(&cmd, "PING", NULL);
	if (auth_redis_exec(r, &cmd, 1, &reply, timeout_ms, err, errlen) < 0)
		return -1;
	rc = reply->type == REDIS_REPLY_STATUS ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "Redis answered PING with %s",
			 reply->type == REDIS_REPLY_ERROR ? reply->str
							  : "something else");
	freeReplyObject(reply);
	return rc;
}

const char *auth_redis_describe(const struct auth_redis *r)
{
	return r->desc;
}
