/* rpc_server.h - a worker serving one protobuf-c service over nng REP.
 *
 * The server listens on one URL with many REP contexts, so many calls are
 * in progress at once. For each message it: opens the seal (MAC check),
 * refuses what is garbled, too large or past its deadline, replays the
 * answer of a call it has already answered (nng's REQ resends after a lost
 * connection), looks the method up in the service's protobuf-c descriptor,
 * unpacks the body with the method's input descriptor, and invokes the
 * service's handler through protobuf-c's service machinery.
 *
 * A handler has the signature protoc-c generates, for example
 *
 *     static void model_generate(Namegen__V1__ModelService_Service *svc,
 *         const Namegen__V1__GenerateRequest *req,
 *         Namegen__V1__GenerateReply_Closure closure, void *closure_data);
 *
 * and completes the call exactly once, from any thread, at any later time:
 * either closure(&reply, closure_data) for success (the reply is packed
 * before closure returns, so it may live on the stack), or
 * rpc_call_fail(closure_data, status, ...) for an error. closure_data is
 * the struct rpc_call of that call; the request message stays valid until
 * the call is completed. Handlers run on the server's own thread pool
 * (opts.threads), never on nng's threads, so they may block; a service
 * whose handlers never block sets opts.inline_handlers and saves the
 * hand-over to a thread, and one where only some never block lists those
 * in opts.inline_methods. */
#ifndef COMMON_RPC_SERVER_H
#define COMMON_RPC_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/rpc.h"

struct rpc_server;
struct rpc_call;

struct rpc_server_opts {
	const char *url;	   /* where to listen, one nng URL */
	const uint8_t *key;	   /* RPC_KEY_BYTES, or NULL in dev mode */
	ProtobufCService *service; /* handlers; must outlive the server */
	int contexts;		   /* REP contexts; 0 = 64 */
	int threads;		   /* handler threads; 0 = 2 */
	bool inline_handlers;	   /* handlers never block (they only hand
				      the call on, e.g. to a batcher): run
				      them on nng's threads, no thread pool */
	const char *const *inline_methods; /* NULL-terminated names of the
				      methods that never block (run on nng's
				      threads); the others use the pool */
	int queue_max;	    /* calls waiting for a thread; 0 = 1024 */
	size_t max_message; /* 0 = RPC_MAX_MESSAGE_DEFAULT */
	int dedup_entries;  /* answers kept for resends; 0 = 4096 */
};

/* rpc_server_start listens and starts serving. Returns 0 and sets *out,
 * or -1 with a sentence in err (nothing is left running). */
int rpc_server_start(struct rpc_server **out,
		     const struct rpc_server_opts *opts, char *err,
		     size_t errlen);

/* rpc_server_drain stops taking new calls and waits up to timeout_ms for
 * the calls in progress to be answered. Returns the number still pending
 * when it gave up (0 when all were answered). */
int rpc_server_drain(struct rpc_server *srv, int timeout_ms);

/* rpc_server_free closes the socket, stops the threads and frees. Calls not
 * yet completed are abandoned; their handlers must not complete them after
 * this returns. Accepts NULL and a server that failed half-way. */
void rpc_server_free(struct rpc_server *srv);

/* rpc_server_bound_port returns the TCP port the server listens on (useful
 * after listening on port 0), or -1 for other transports. */
int rpc_server_bound_port(struct rpc_server *srv);

/* Counters since start, for logs, /metrics and tests. */
struct rpc_server_stats {
	uint64_t received;   /* calls taken off the socket */
	uint64_t bundles;    /* bundles received (several calls each) */
	uint64_t handled;    /* handler invocations */
	uint64_t replayed;   /* resent calls answered from the cache */
	uint64_t rejected;   /* bad seal, garbage, too large, bad method */
	uint64_t expired;    /* dropped because their deadline had passed */
	uint64_t overloaded; /* refused because the queue was full */
};
void rpc_server_get_stats(struct rpc_server *srv,
			  struct rpc_server_stats *out);

/* ------------------------------------------------- inside a handler */

/* rpc_call_fail completes the call with a non-OK status and a message
 * safe to show to an end user (printf-style, truncated to
 * RPC_MESSAGE_MAX). */
void rpc_call_fail(struct rpc_call *call, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* rpc_call_set_retry_after sets the retry hint sent with the next
 * rpc_call_fail (used with RPC_RESOURCE_EXHAUSTED). */
void rpc_call_set_retry_after(struct rpc_call *call, uint32_t seconds);

/* rpc_call_metadata returns the value of a metadata key, or NULL. The
 * string lives as long as the call. */
const char *rpc_call_metadata(const struct rpc_call *call, const char *key);

/* The method name ("Generate"), the absolute deadline (ms since the
 * epoch) and whether it has passed. */
const char *rpc_call_method(const struct rpc_call *call);
int64_t rpc_call_deadline_ms(const struct rpc_call *call);
bool rpc_call_expired(const struct rpc_call *call);

/* rpc_call_request_id returns the caller's request id for logs: the
 * "request-id" metadata if present, else the call id in hex. */
const char *rpc_call_request_id(const struct rpc_call *call);

#endif /* COMMON_RPC_SERVER_H */
