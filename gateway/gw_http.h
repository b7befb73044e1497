/* gw_http.h - the HTTP server: libmicrohttpd in front of the handlers.
 *
 * One epoll thread pool accepts and parses; each request is routed
 * (gw_route.h), checked (size, origin, CORS preflight), handed to its
 * handler, suspended while its calls are in flight and answered when they
 * end; other paths are served from the web folder. Every response carries
 * X-Request-Id and, for allowed origins, CORS headers; every request ends
 * with one access-log line and its metrics. */
#ifndef GATEWAY_GW_HTTP_H
#define GATEWAY_GW_HTTP_H

#include <stddef.h>

#include "gateway/gw_req.h"

struct gw_http_opts {
	int port;    /* 0 = any free port (see gw_http_port) */
	int threads; /* HTTP threads */
	int max_connections;
	int idle_timeout_s; /* a connection silent this long is closed */
	/* a request's head and body must arrive within this many seconds
	 * of its connection's accept (or of its first line, on a kept-alive
	 * connection), else 408 and close; 0 = no deadline */
	int request_timeout_s;
	size_t conn_memory; /* per-connection buffer limit, bytes */
};

struct gw_http;

/* gw_http_start starts serving with ctx, which must outlive the server.
 * Returns 0 and sets *out, or -1 with a sentence in err. */
int gw_http_start(struct gw_http **out, const struct gw_http_opts *opts,
		  struct gw_ctx *ctx, char *err, size_t errlen);

/* gw_http_port returns the port the server listens on. */
int gw_http_port(const struct gw_http *h);

/* gw_http_quiesce stops accepting connections and waits up to grace_ms for
 * the requests in flight to be answered. Returns how many were left. */
int gw_http_quiesce(struct gw_http *h, int grace_ms);

/* gw_http_stop closes every connection and frees; accepts NULL. No
 * request may still be waiting for a call (close the RPC clients first,
 * which ends their calls, then quiesce again). */
void gw_http_stop(struct gw_http *h);

#endif /* GATEWAY_GW_HTTP_H */
