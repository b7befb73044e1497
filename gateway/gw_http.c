/* gw_http.c - the HTTP server: libmicrohttpd in front of the handlers. */
#include "gateway/gw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/gw_error.h"
#include "namegen.pb-c.h"

#define GW_HTTP_PAGE_CSP                                                      \
	"default-src 'self'; img-src 'self' data:; object-src 'none'; "       \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* How often the sweeper looks for connections past their deadline. */
#define GW_HTTP_SWEEP_MS 100

#define GW_HTTP_TIMEOUT_BODY                                                  \
	"{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"the "       \
	"request did not arrive in time\"}}\n"

/* A connection's phase, with its deadline, in one atomic word (deadline
 * in ms << 3 | phase), so that the connection's HTTP thread and the
 * sweeper agree on who acts: the sweeper swaps a word that is due for
 * W_CUT before it touches the socket, and the HTTP thread, finding W_CUT,
 * drops the connection instead of answering. */
enum watch_phase {
	W_ANSWERING, /* the request is in: no deadline (suspended on a call,
			or sending its answer) */
	W_FRESH,     /* accepted, no request line yet: closed at the
			deadline without a word (a browser's preconnect) */
	W_IDLE,	     /* kept alive after an answer, no request line yet:
			closed at the idle timeout */
	W_REQUEST,   /* a request is arriving: 408 and close at the
			deadline */
	W_CUT,	     /* closed by the sweeper */
};

struct watch {
	_Atomic uint64_t word;
	MHD_socket fd;
	char addr[GW_REQ_ADDR_MAX];
	struct watch *prev, *next;
};

struct gw_http {
	struct MHD_Daemon *daemon;
	struct gw_ctx *ctx;
	int port;
	bool quiesced;

	/* request deadlines: every open connection is listed */
	int64_t request_ms, idle_ms;
	pthread_mutex_t watch_mu;
	pthread_cond_t watch_cv;
	struct watch *watches;
	char timeout_resp[256]; /* the raw 408 */
	size_t timeout_len;
	pthread_t sweeper;
	bool sweeper_running, stopping;
};

/* ------------------------------------------------- request deadlines */

/* addr_text writes a socket address's IP in text; "" when it is not IP. */
static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(
		    AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)sa)
			       ->sin6_addr,
			  out, (socklen_t)len);
}

static int64_t now_ms(void)
{
	return gw_req_now_ns() / 1000000;
}

static uint64_t watch_word(enum watch_phase phase, int64_t deadline_ms)
{
	return (uint64_t)deadline_ms << 3 | (uint64_t)phase;
}

static struct watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* watch_move puts a connection in a new phase; returns false, changing
 * nothing, when the sweeper has already closed it. Called only on the
 * connection's HTTP thread. */
static bool watch_move(struct MHD_Connection *conn, enum watch_phase phase,
		       int64_t deadline_ms)
{
	struct watch *w = watch_of(conn);
	uint64_t old;

	if (!w)
		return true;
	old = atomic_load(&w->word);
	do {
		if ((old & 7) == W_CUT)
			return false;
	} while (!atomic_compare_exchange_weak(
	    &w->word, &old, watch_word(phase, deadline_ms)));
	return true;
}

/* on_uri marks the start of a request (its first line is in): the
 * deadline of a kept-alive connection starts now, a fresh one keeps the
 * one it got when accepted. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct gw_http *h = cls;
	struct watch *w = watch_of(conn);
	uint64_t old;

	(void)uri;
	if (!w || h->request_ms <= 0)
		return NULL;
	old = atomic_load(&w->word);
	if ((old & 7) == W_FRESH)
		watch_move(conn, W_REQUEST, (int64_t)(old >> 3));
	else if ((old & 7) == W_IDLE)
		watch_move(conn, W_REQUEST, now_ms() + h->request_ms);
	return NULL;
}

/* on_connection lists each connection while it is open. MHD calls the
 * CLOSED notification before it closes the socket, so a listed fd is
 * still this connection's while watch_mu is held. */
static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct gw_http *h = cls;
	const union MHD_ConnectionInfo *ci;
	struct watch *w = *socket_context;

	if (h->request_ms <= 0)
		return;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!w)
			return;
		pthread_mutex_lock(&h->watch_mu);
		if (w->prev)
			w->prev->next = w->next;
		else
			h->watches = w->next;
		if (w->next)
			w->next->prev = w->prev;
		pthread_mutex_unlock(&h->watch_mu);
		free(w);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	w = ci ? calloc(1, sizeof(*w)) : NULL;
	if (!w)
		return; /* unwatched: the idle timeout still holds */
	w->fd = ci->connect_fd;
	atomic_init(&w->word, watch_word(W_FRESH, now_ms() + h->request_ms));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	addr_text(ci ? ci->client_addr : NULL, w->addr, sizeof(w->addr));
	pthread_mutex_lock(&h->watch_mu);
	w->next = h->watches;
	if (w->next)
		w->next->prev = w;
	h->watches = w;
	pthread_mutex_unlock(&h->watch_mu);
	*socket_context = w;
}

/* watch_cut closes a connection past its deadline; the caller holds
 * watch_mu and has swapped its word for W_CUT. Its HTTP thread then reads
 * the end of the stream and closes it as if the client had gone. */
static void watch_cut(struct gw_http *h, struct watch *w,
		      enum watch_phase phase)
{
	/* nothing else is written to the socket while a request arrives */
	if (phase == W_REQUEST && send(w->fd, h->timeout_resp, h->timeout_len,
				       MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		phase = W_FRESH; /* not sent; just close */
	shutdown(w->fd, SHUT_RDWR);
	/* a connection that never sent a request line is logged like an
	 * idle timeout, which MHD does not log */
	if (phase == W_REQUEST)
		log_info("request deadline passed, connection closed",
			 "client=%s status=408", w->addr[0] ? w->addr : "-");
	else
		log_debug("request deadline passed, connection closed",
			  "client=%s phase=%s", w->addr[0] ? w->addr : "-",
			  phase == W_IDLE ? "idle" : "fresh");
}

/* sweeper closes the connections whose deadline has passed. */
static void *sweeper(void *arg)
{
	struct gw_http *h = arg;
	struct timespec ts;
	struct watch *w;
	uint64_t word;
	int64_t now;

	pthread_mutex_lock(&h->watch_mu);
	while (!h->stopping) {
		now = now_ms();
		for (w = h->watches; w; w = w->next) {
			word = atomic_load(&w->word);
			if ((word & 7) == W_ANSWERING || (word & 7) == W_CUT ||
			    (int64_t)(word >> 3) > now)
				continue;
			if (atomic_compare_exchange_strong(
				&w->word, &word, watch_word(W_CUT, now)))
				watch_cut(h, w, (enum watch_phase)(word & 7));
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += GW_HTTP_SWEEP_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->watch_cv, &h->watch_mu, &ts);
	}
	pthread_mutex_unlock(&h->watch_mu);
	return NULL;
}

/* ------------------------------------------------------------ helpers */

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* unescape decodes %HH in place like MHD's default, except %00, which
 * stays as the three characters: a NUL would silently cut the path (and
 * gw_static refuses any '%' left in a path). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;
	const char *p = s;
	int hi, lo;

	(void)cls;
	(void)c;
	while (*p) {
		if (p[0] == '%' && (hi = hex(p[1])) >= 0 &&
		    (lo = hex(p[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi * 16 + lo);
			p += 3;
			continue;
		}
		*w++ = *p++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], q[300];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	log_warn("http server", "detail=%s", log_quote(q, sizeof(q), msg));
}

static const char *header(struct gw_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* request_id keeps a client's X-Request-Id when it is 1..64 characters of
 * [A-Za-z0-9._-], else makes one of 16 hex digits. */
static void request_id(struct gw_req *r)
{
	static _Thread_local uint64_t state;
	const char *in = header(r, "X-Request-Id");
	size_t n;
	uint64_t x;

	if (in) {
		n = strspn(in, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR"
			       "STUVWXYZ0123456789._-");
		if (n > 0 && n <= GW_REQ_ID_MAX && in[n] == '\0') {
			memcpy(r->request_id, in, n + 1);
			return;
		}
	}
	/* xorshift64*, seeded once per thread from the kernel */
	while (state == 0)
		if (getrandom(&state, sizeof(state), 0) != sizeof(state))
			state = (uint64_t)gw_req_now_ns() | 1;
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	x = state * 0x2545F4914F6CDD1DULL;
	snprintf(r->request_id, sizeof(r->request_id), "%016llx",
		 (unsigned long long)x);
}

/* client_address takes the last X-Forwarded-For entry (the one Heroku's
 * router appends) when trusted and well formed, else the socket's peer. */
static void client_address(struct gw_req *r)
{
	const union MHD_ConnectionInfo *ci;
	const char *xff = header(r, "X-Forwarded-For"), *last;
	unsigned char tmp[16];
	char ip[GW_REQ_ADDR_MAX];
	size_t n;

	if (r->ctx->trust_forwarded && xff) {
		last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		while (*last == ' ')
			last++;
		n = strcspn(last, " ");
		if (n > 0 && n < sizeof(ip)) {
			memcpy(ip, last, n);
			ip[n] = '\0';
			if (inet_pton(AF_INET, ip, tmp) == 1 ||
			    inet_pton(AF_INET6, ip, tmp) == 1) {
				memcpy(r->client_addr, ip, n + 1);
				return;
			}
		}
	}
	ci = MHD_get_connection_info(r->conn,
				     MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	addr_text(ci ? ci->client_addr : NULL, r->client_addr,
		  sizeof(r->client_addr));
}

/* session_token takes a bearer token first, else the session cookie. */
static void session_token(struct gw_req *r)
{
	if (gw_cookie_bearer(header(r, "Authorization"), r->token,
			     sizeof(r->token)))
		return;
	if (gw_cookie_find(header(r, "Cookie"), r->token, sizeof(r->token)))
		r->token_in_cookie = true;
}

/* ----------------------------------------------------- static files */

static void serve_static(struct gw_req *r, const char *url)
{
	struct gw_static_file f;
	const char *inm;

	/* the whole URL: r->path is cut for logs */
	if (gw_static_lookup(&r->ctx->web, url, &f) < 0) {
		gw_req_error(r, 404, "not_found", NULL, "no such page");
		return;
	}
	inm = header(r, "If-None-Match");
	if (inm && strcmp(inm, f.etag) == 0) {
		close(f.fd);
		gw_req_bytes(r, 304, NULL, "", 0);
	} else {
		r->resp = MHD_create_response_from_fd64(f.size, f.fd);
		if (!r->resp) {
			close(f.fd);
			gw_req_error(r, 500, "internal", NULL,
				     "internal error");
			return;
		}
		r->status = 200;
		r->resp_len = f.size;
		gw_req_header(r, "Content-Type", f.type);
	}
	gw_req_header(r, "Cache-Control", f.cache);
	gw_req_header(r, "ETag", f.etag);
	gw_req_header(r, "Last-Modified", f.last_modified);
	/* the page runs only its own files, talks only to its own origin
	 * and is never framed */
	if (strncmp(f.type, "text/html", 9) == 0) {
		gw_req_header(r, "Content-Security-Policy", GW_HTTP_PAGE_CSP);
		gw_req_header(r, "X-Frame-Options", "DENY");
		gw_req_header(r, "Referrer-Policy", "same-origin");
	}
}

/* ------------------------------------------------- the first call */

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	int *n = cls;

	(void)kind;
	(void)value;
	if (strcasecmp(key, "Host") == 0)
		(*n)++;
	return MHD_YES;
}

/* host_ok tells whether the request names its host as HTTP/1.1 asks:
 * exactly one Host header (HTTP/1.0 may leave it out). MHD 0.9.75
 * serves a request without one. */
static bool host_ok(struct gw_req *r, const char *version)
{
	int n = 0;

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_host, &n);
	return n == 1 || (n == 0 && strcmp(version, "HTTP/1.0") == 0);
}

static void preflight(struct gw_req *r, const char *allow)
{
	if (!gw_cors_allowed(&r->ctx->cors, r->origin)) {
		gw_req_error(r, 403, "forbidden_origin", NULL,
			     "origin not allowed");
		return;
	}
	gw_req_bytes(r, 204, NULL, "", 0);
	gw_req_header(r, "Access-Control-Allow-Methods", allow);
	gw_req_header(r, "Access-Control-Allow-Headers",
		      "Content-Type, Authorization, X-Request-Id");
	gw_req_header(r, "Access-Control-Max-Age", "600");
}

/* begin routes and checks a request once its headers are in; it may
 * answer at once (400, 404, 405, 403, 413, preflight, static files). */
static void begin(struct gw_req *r, const char *url, const char *version)
{
	struct gw_ctx *ctx = r->ctx;
	char allow[GW_ROUTE_ALLOW_MAX];
	enum gw_route_result res;
	const char *cl;
	size_t idx = 0;
	bool api;

	request_id(r);
	client_address(r);
	session_token(r);
	r->origin = header(r, "Origin");
	api = strcmp(url, "/api") == 0 || strncmp(url, "/api/", 5) == 0 ||
	      strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
	      strcmp(url, "/metrics") == 0;

	if (!host_ok(r, version)) {
		r->metric = api ? ctx->metric_other : ctx->metric_static;
		gw_req_error(r, 400, "invalid_argument", NULL,
			     "the request needs exactly one Host header");
		return;
	}

	res = gw_route_find(ctx->routes, ctx->nroutes, r->method, url,
			    &r->route, &idx, allow);
	/* HEAD is GET without the body (MHD leaves the body out) */
	if (res == GW_ROUTE_NO_METHOD && strcmp(r->method, "HEAD") == 0 &&
	    gw_route_find(ctx->routes, ctx->nroutes, "GET", url, &r->route,
			  &idx, allow) == GW_ROUTE_FOUND)
		res = GW_ROUTE_FOUND;
	if (res == GW_ROUTE_FOUND) {
		r->metric = (int)idx;
		r->legacy = r->route->flags & GW_ROUTE_LEGACY;
	} else {
		r->metric = api ? ctx->metric_other : ctx->metric_static;
	}

	if (strcmp(r->method, "OPTIONS") == 0 && res != GW_ROUTE_NO_PATH) {
		if (r->origin && header(r, "Access-Control-Request-Method")) {
			preflight(r, allow);
		} else {
			gw_req_bytes(r, 204, NULL, "", 0);
			gw_req_header(r, "Allow", allow);
		}
		return;
	}
	if (res == GW_ROUTE_NO_METHOD) {
		gw_req_error(r, 405, "method_not_allowed", NULL,
			     "%s is not allowed here; allowed: %s", r->method,
			     allow);
		gw_req_header(r, "Allow", allow);
		return;
	}
	if (res == GW_ROUTE_NO_PATH) {
		if (api) {
			gw_req_error(r, 404, "not_found", NULL,
				     "no such route");
		} else if (strcmp(r->method, "GET") == 0 ||
			   strcmp(r->method, "HEAD") == 0) {
			serve_static(r, url);
		} else {
			gw_req_error(r, 405, "method_not_allowed", NULL,
				     "only GET and HEAD are allowed here");
			gw_req_header(r, "Allow", "GET, HEAD");
		}
		return;
	}

	/* a foreign page must not act with a visitor's cookie */
	if (gw_cors_state_changing(r->method) && r->token_in_cookie &&
	    r->origin && !gw_cors_allowed(&ctx->cors, r->origin) &&
	    !gw_cors_same_origin(r->origin, header(r, "Host"))) {
		gw_req_error(r, 403, "forbidden_origin", NULL,
			     "requests with the session cookie are not "
			     "allowed from this origin");
		return;
	}

	cl = header(r, "Content-Length");
	if (cl && strtoull(cl, NULL, 10) > GW_JSON_BODY_MAX) {
		gw_req_error(r, 413, "payload_too_large", NULL,
			     "the body is larger than %d bytes",
			     GW_JSON_BODY_MAX);
		return;
	}
}

static bool has_body(struct gw_req *r)
{
	const char *cl = header(r, "Content-Length");

	return header(r, "Transfer-Encoding") || (cl && strcmp(cl, "0") != 0);
}

/* body_add keeps a chunk of the body, up to the limit. */
static void body_add(struct gw_req *r, const char *data, size_t len)
{
	char *nb;

	if (r->body_too_large || !r->route ||
	    !(r->route->flags & GW_ROUTE_BODY))
		return;
	if (r->body_len + len > GW_JSON_BODY_MAX) {
		r->body_too_large = true;
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
		return;
	}
	if (!r->body) {
		r->body = malloc(GW_JSON_BODY_MAX);
		if (!r->body) {
			r->body_oom = true;
			r->body_too_large = true;
			return;
		}
	}
	nb = r->body;
	memcpy(nb + r->body_len, data, len);
	r->body_len += len;
}

/* dispatch parses the body when the route takes one and runs the
 * handler; returns GW_WAIT when it suspended the request. */
static enum gw_step dispatch(struct gw_req *r)
{
	struct gw_json_err err;

	if (r->step == 0 && (r->route->flags & GW_ROUTE_BODY)) {
		if (r->body_oom)
			return gw_req_error(r, 503, "unavailable", NULL,
					    "the server is out of memory, try "
					    "again soon");
		if (r->body_too_large) {
			gw_req_error(r, 413, "payload_too_large", NULL,
				     "the body is larger than %d bytes",
				     GW_JSON_BODY_MAX);
			return GW_DONE;
		}
		if (gw_json_parse_object(r->body, r->body_len,
					 r->route->flags & GW_ROUTE_EMPTY_OK,
					 &r->json, &err) < 0) {
			gw_req_error(r, 400, err.code, err.field, "%s",
				     err.message);
			return GW_DONE;
		}
	}
	return r->route->fn(r);
}

/* finish adds what every response carries and queues it. */
static enum MHD_Result finish(struct gw_req *r)
{
	struct gw_ctx *ctx = r->ctx;
	enum MHD_Result ret;

	if (!r->resp)
		gw_req_bytes(r, 500, "text/plain", "internal error\n", 15);
	if (!r->resp)
		return MHD_NO;
	MHD_add_response_header(r->resp, "X-Request-Id", r->request_id);
	MHD_add_response_header(r->resp, "X-Content-Type-Options", "nosniff");
	if (r->route || r->metric == ctx->metric_other)
		MHD_add_response_header(r->resp, "Cache-Control", "no-store");
	if (r->origin && gw_cors_allowed(&ctx->cors, r->origin)) {
		MHD_add_response_header(r->resp, "Access-Control-Allow-Origin",
					r->origin);
		MHD_add_response_header(
		    r->resp, "Access-Control-Allow-Credentials", "true");
		MHD_add_response_header(r->resp,
					"Access-Control-Expose-Headers",
					"X-Request-Id, Retry-After");
	}
	if (ctx->cors.n > 0)
		MHD_add_response_header(r->resp, "Vary", "Origin");
	/* while stopping, each connection gets its answer and closes */
	if (atomic_load_explicit(&ctx->draining, memory_order_relaxed))
		MHD_add_response_header(r->resp, "Connection", "close");
	ret = MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct gw_http *h = cls;
	struct gw_req *r = *con_cls;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->ctx = h->ctx;
		r->conn = conn;
		r->method = method;
		r->t0_ns = gw_req_now_ns();
		r->metric = -1;
		snprintf(r->path, sizeof(r->path), "%s", url);
		atomic_fetch_add(&h->ctx->in_flight, 1);
		atomic_fetch_add(&h->ctx->metrics.in_flight, 1);
		begin(r, url, version);
		/* an early answer to a request with a body goes out now (MHD
		 * then closes the connection instead of reading a body
		 * nobody wants); without a body it waits for the next call,
		 * which comes at once, so the connection stays open */
		if (r->resp && has_body(r))
			return watch_move(conn, W_ANSWERING, 0) ? finish(r)
								: MHD_NO;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (!r->resp)
			body_add(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* the whole request is in: no deadline while it is answered (nor
	 * while it waits on a worker), unless the sweeper was first; a
	 * call after a resume finds W_ANSWERING already */
	if (!watch_move(conn, W_ANSWERING, 0))
		return MHD_NO;
	if (!r->resp && dispatch(r) == GW_WAIT)
		return MHD_YES;
	return finish(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct gw_http *h = cls;
	struct gw_req *r = *con_cls;
	char qpath[300], qmethod[40];
	double ms;

	/* a kept-alive connection waits for its next request */
	if (h->request_ms > 0)
		watch_move(conn, W_IDLE, now_ms() + h->idle_ms);
	if (!r)
		return;
	*con_cls = NULL;
	ms = (double)(gw_req_now_ns() - r->t0_ns) / 1e6;
	gw_metrics_request(&h->ctx->metrics, r->metric, r->status, ms);
	log_info("request",
		 "request_id=%s method=%s path=%s route=%s status=%d "
		 "ms=%.2f bytes_in=%zu bytes_out=%zu client=%s%s",
		 r->request_id, log_quote(qmethod, sizeof(qmethod), r->method),
		 log_quote(qpath, sizeof(qpath), r->path),
		 r->metric >= 0 ? h->ctx->metrics.route[r->metric] : "-",
		 r->status, ms, r->body_len, r->resp_len,
		 r->client_addr[0] ? r->client_addr : "-",
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
							    : " aborted=true");
	atomic_fetch_sub(&h->ctx->metrics.in_flight, 1);
	atomic_fetch_sub(&h->ctx->in_flight, 1);
	gw_req_free(r);
}

/* ------------------------------------------------------- the server */

/* register_labels fills the metric tables: one label per route in table
 * order, then the two catch-alls, then every RPC method (model first). */
static int register_labels(struct gw_ctx *ctx)
{
	const ProtobufCServiceDescriptor *svcs[2] = {
	    &namegen__v1__model_service__descriptor,
	    &namegen__v1__auth_service__descriptor};
	char name[GW_METRICS_NAME_MAX];
	unsigned i;
	size_t k;
	int s;

	for (k = 0; k < ctx->nroutes; k++) {
		/* distinct routes give distinct labels, in order */
		if (gw_metrics_route(&ctx->metrics, ctx->routes[k].name) !=
		    (int)k)
			return -1;
	}
	ctx->metric_static = gw_metrics_route(&ctx->metrics, "static");
	ctx->metric_other = gw_metrics_route(&ctx->metrics, "unmatched");
	for (s = 0; s < 2; s++)
		for (i = 0; i < svcs[s]->n_methods; i++) {
			snprintf(name, sizeof(name), "%s/%s",
				 svcs[s]->short_name,
				 svcs[s]->methods[i].name);
			if (gw_metrics_method(&ctx->metrics, name) < 0)
				return -1;
		}
	return ctx->metric_other < 0 ? -1 : 0;
}

int gw_http_start(struct gw_http **out, const struct gw_http_opts *o,
		  struct gw_ctx *ctx, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *di;
	struct gw_http *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->ctx = ctx;
	if (register_labels(ctx) < 0) {
		snprintf(err, errlen,
			 "too many routes or methods for the "
			 "metrics tables");
		free(h);
		return -1;
	}
	h->request_ms = (int64_t)o->request_timeout_s * 1000;
	h->idle_ms = (int64_t)o->idle_timeout_s * 1000;
	if (h->idle_ms <= 0 || h->idle_ms < h->request_ms)
		h->idle_ms = h->request_ms;
	h->timeout_len = (size_t)snprintf(
	    h->timeout_resp, sizeof(h->timeout_resp),
	    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n"
	    "%s",
	    sizeof(GW_HTTP_TIMEOUT_BODY) - 1, GW_HTTP_TIMEOUT_BODY);
	pthread_mutex_init(&h->watch_mu, NULL);
	pthread_cond_init(&h->watch_cv, NULL);
	h->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
	    (uint16_t)o->port, NULL, NULL, on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->conn_memory,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(err, errlen,
			 "cannot listen on port %d (in use, or not allowed)",
			 o->port);
		gw_http_stop(h);
		return -1;
	}
	if (h->request_ms > 0) {
		if (pthread_create(&h->sweeper, NULL, sweeper, h) != 0) {
			snprintf(err, errlen, "cannot start a thread");
			gw_http_stop(h);
			return -1;
		}
		h->sweeper_running = true;
	}
	di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : o->port;
	*out = h;
	return 0;
}

int gw_http_port(const struct gw_http *h)
{
	return h->port;
}

int gw_http_quiesce(struct gw_http *h, int grace_ms)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	MHD_socket fd;
	int waited = 0;

	if (!h->quiesced) {
		atomic_store(&h->ctx->draining, true);
		fd = MHD_quiesce_daemon(h->daemon);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		h->quiesced = true;
	}
	while (atomic_load(&h->ctx->in_flight) > 0 && waited < grace_ms) {
		nanosleep(&ts, NULL);
		waited += 20;
	}
	return (int)atomic_load(&h->ctx->in_flight);
}

void gw_http_stop(struct gw_http *h)
{
	if (!h)
		return;
	if (h->sweeper_running) {
		pthread_mutex_lock(&h->watch_mu);
		h->stopping = true;
		pthread_cond_signal(&h->watch_cv);
		pthread_mutex_unlock(&h->watch_mu);
		pthread_join(h->sweeper, NULL);
	}
	/* closing each connection unlists it (on_connection) */
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->watch_mu);
	pthread_cond_destroy(&h->watch_cv);
	free(h);
}
