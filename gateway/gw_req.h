/* gw_req.h - one HTTP request on its way through the gateway.
 *
 * A request is created when its headers arrive and freed when its
 * response has gone (or the client went away). Handlers (gw_route.h) read
 * it, start calls to the workers with gw_req_call() and answer with
 * gw_req_json()/gw_req_error(). A call suspends the HTTP connection; the
 * call's completion, on an nng thread, stores the reply and resumes it, so
 * no HTTP thread ever waits on a worker. */
#ifndef GATEWAY_GW_REQ_H
#define GATEWAY_GW_REQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>
#include <protobuf-c/protobuf-c.h>

#include "common/rpc_client.h"
#include "gateway/gw_cookie.h"
#include "gateway/gw_cors.h"
#include "gateway/gw_map.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_route.h"
#include "gateway/gw_static.h"

#define GW_REQ_ID_MAX	64 /* bytes of an X-Request-Id */
#define GW_REQ_ADDR_MAX 48 /* an IPv6 address in text */
#define GW_REQ_CALLS	2  /* calls one step may have in flight */

/* What every request shares: set up at start, read-only afterwards
 * (apart from the atomics). */
struct gw_ctx {
	struct rpc_client *model;
	struct rpc_client *auth;
	int rpc_timeout_ms;
	bool trust_forwarded; /* take the client address from XFF */
	struct gw_cors cors;
	struct gw_cookie_opts cookie;
	struct gw_static web;
	struct gw_metrics metrics;
	const struct gw_route *routes;
	size_t nroutes;
	int metric_static, metric_other; /* route labels without a route */
	_Atomic int64_t in_flight;	 /* requests begun, not finished */
	_Atomic bool draining;		 /* stopping: close after answers */
};

/* The reply of one call, kept until the handler has read it. */
struct gw_req_slot {
	struct gw_req *req;
	const char *service; /* "model" or "auth" */
	int metric;	     /* method label index */
	int status;
	char message[RPC_MESSAGE_MAX];
	uint32_t retry_after_s;
	ProtobufCMessage *body; /* owned; NULL unless RPC_OK */
};

/* Room for the request message of any route, alive until the request
 * ends (its strings point into r->json). */
union gw_req_msg {
	struct gw_map_generate generate;
	struct {
		struct gw_map_favorite key;
		Namegen__V1__AddFavoriteRequest add;
		Namegen__V1__RemoveFavoriteRequest remove;
	} fav;
	Namegen__V1__ScoreRequest score;
	Namegen__V1__RegisterRequest reg;
	Namegen__V1__LoginRequest login;
	Namegen__V1__ChangePasswordRequest password;
	Namegen__V1__DeleteAccountRequest del;
	struct {
		Namegen__V1__ListFavoritesRequest msg;
		char cursor[GW_MAP_CURSOR_MAX + 1];
		int pages;
	} list;
};

struct gw_req {
	struct gw_ctx *ctx;
	struct MHD_Connection *conn;
	const struct gw_route *route; /* NULL for static files and errors */
	int metric;		      /* route label index */
	const char *method;	      /* valid while the request lives */
	char path[256];		      /* for logs, possibly cut */
	char request_id[GW_REQ_ID_MAX + 1];
	char client_addr[GW_REQ_ADDR_MAX];
	char token[GW_COOKIE_TOKEN_MAX + 1]; /* "" when none */
	bool token_in_cookie;
	const char *origin; /* Origin header or NULL */
	bool legacy;	    /* error bodies in the old shape */
	bool started;	    /* first handler call seen */

	char *body; /* at most GW_JSON_BODY_MAX bytes */
	size_t body_len;
	bool body_too_large;
	bool body_oom; /* no memory for the body */
	json_t *json;  /* the parsed body */

	int step;	     /* how many call rounds are done */
	_Atomic int pending; /* calls of this round in flight */
	int ncalls;
	struct gw_req_slot slot[GW_REQ_CALLS];
	union gw_req_msg msg;
	json_t *acc; /* a handler's state across rounds */
	bool flag;   /* a handler's choice across rounds */

	struct MHD_Response *resp; /* set once answered */
	int status;
	size_t resp_len;
	int64_t t0_ns;
};

/* One call to start: method of svc with request msg. */
struct gw_req_callspec {
	const ProtobufCServiceDescriptor *svc;
	const char *method;
	const ProtobufCMessage *msg;
};

/* gw_req_call starts n (1..GW_REQ_CALLS) calls at once with the request's
 * metadata (session token, client address, request id) and the
 * configured deadline, suspends the connection and returns GW_WAIT. When
 * the last one ends the handler runs again with r->step one higher and
 * the replies in r->slot[0..n). A call that cannot start ends at once
 * with its status. Only from a handler. */
enum gw_step gw_req_call(struct gw_req *r, const struct gw_req_callspec *c,
			 int n);

/* gw_req_call1 is gw_req_call for one call. */
enum gw_step gw_req_call1(struct gw_req *r,
			  const ProtobufCServiceDescriptor *svc,
			  const char *method, const ProtobufCMessage *msg);

/* gw_req_bad_body answers 400 with a refusal from gw_map/gw_json. */
enum gw_step gw_req_bad_body(struct gw_req *r, const struct gw_json_err *e);

/* gw_req_ok says whether call i ended with RPC_OK; when not, it has set
 * the error response mapped from its status (gw_error.h). */
bool gw_req_ok(struct gw_req *r, int i);

/* gw_req_json sets a JSON response and takes the reference to body; a
 * NULL body (out of memory while building it) gives a 500. */
enum gw_step gw_req_json(struct gw_req *r, int status, json_t *body);

/* gw_req_bytes sets a response with a copy of data. */
enum gw_step gw_req_bytes(struct gw_req *r, int status,
			  const char *content_type, const void *data,
			  size_t len);

/* gw_req_error sets an error response: {"error":{"code","message",
 * "field"}} or, on the original routes, {"error":"message"}. field may be
 * NULL. */
enum gw_step gw_req_error(struct gw_req *r, int status, const char *code,
			  const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* gw_req_header adds a header to the response already set. */
void gw_req_header(struct gw_req *r, const char *name, const char *value);

/* gw_req_arg returns a query argument or NULL. */
const char *gw_req_arg(struct gw_req *r, const char *name);

/* gw_req_set_cookie adds the Set-Cookie header for token (NULL clears). */
void gw_req_set_cookie(struct gw_req *r, const char *token,
		       unsigned max_age_s);

/* gw_req_now_ns returns CLOCK_MONOTONIC in nanoseconds. */
int64_t gw_req_now_ns(void);

/* gw_req_free releases everything the request holds; accepts NULL and a
 * half-built request. Not while calls are in flight. */
void gw_req_free(struct gw_req *r);

#endif /* GATEWAY_GW_REQ_H */
