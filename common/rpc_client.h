/* rpc_client.h - calling a worker's service over nng REQ.
 *
 * One client owns one REQ socket dialled to every URL of a comma-separated
 * list; nng spreads calls over the connected endpoints and redials in the
 * background, so a client can be opened before its workers are up. Each
 * call uses its own nng context, so many calls are in flight at once.
 *
 * Calls are asynchronous: rpc_client_call() returns at once and the done
 * callback runs exactly once, on an nng thread, when the answer comes, the
 * deadline passes or the client closes. The callback must not block.
 *
 * Bundling: calls of the methods listed in opts.bundle_methods (ones whose
 * calls end at about the same time: WhoAmI, answered at once, or Generate,
 * answered from one batch) are sent on their own while fewer than
 * opts.bundle_window messages of them are in flight; past that they wait,
 * and when one of those messages is answered, or the first of them has
 * waited opts.bundle_wait_ms, all that waited go, together in bundles of
 * up to RPC_BUNDLE_MAX calls. The caller's thread only queues: done
 * runs on an nng thread or the client's timer, never inside the call.
 * Under load this saves nng's cost per message, which is most of a short
 * call's cost; an idle client sends each call at once. A call of a bundle ends
 * when the bundle is answered: with its slowest call, and up to the spread of
 * the bundle's deadlines after its own. The wait is bounded so that a call
 * reaches its worker soon: one that came after the worker began to drain
 * would be refused. */
#ifndef COMMON_RPC_CLIENT_H
#define COMMON_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/rpc.h"

struct rpc_client;

struct rpc_client_opts {
	const char *urls;   /* comma-separated nng URLs */
	const uint8_t *key; /* RPC_KEY_BYTES, or NULL in dev mode */
	int timeout_ms;	    /* default deadline of a call; 0 = 10000 */
	int resend_ms;	    /* REQ resend interval; 0 = 5000; <0 = never */
	size_t max_message; /* 0 = RPC_MAX_MESSAGE_DEFAULT */
	int grace_ms;	    /* after open, how long calls wait for a
			       first connection instead of failing with
			       RPC_UNAVAILABLE; 0 = 3000, <0 = none */
	const char *const *bundle_methods; /* NULL-terminated method names
			       to bundle, or NULL; must outlive the client */
	int bundle_window;  /* messages of those in flight before calls
			       wait to be bundled; 0 = 2 */
	int bundle_wait_ms; /* the longest a call waits for room in the
			       window before its bundle goes anyway;
			       0 = 5 */
};

/* What a call ended with. body is the unpacked reply (NULL unless status
 * is RPC_OK); it is freed after the callback returns unless the callback
 * takes it by setting reply->body to NULL (then free it with
 * protobuf_c_message_free_unpacked(body, NULL)). */
struct rpc_reply {
	int status;
	char message[RPC_MESSAGE_MAX];
	uint32_t retry_after_s;
	ProtobufCMessage *body;
	double latency_ms;
};

typedef void (*rpc_done_fn)(void *arg, struct rpc_reply *reply);

/* rpc_client_open checks the URLs, opens the socket and starts dialling.
 * Returns 0 and sets *out, or -1 with a sentence in err. */
int rpc_client_open(struct rpc_client **out,
		    const struct rpc_client_opts *opts, char *err,
		    size_t errlen);

/* rpc_client_close cancels the calls in flight (their callbacks run with
 * RPC_CANCELLED before it returns) and frees. Accepts NULL. */
void rpc_client_close(struct rpc_client *cli);

/* rpc_client_connections is how many connections to workers are live
 * now (nng pipes; one per worker URL that answered the dial). */
int rpc_client_connections(struct rpc_client *cli);

/* rpc_client_call sends req to method_name of the service described by
 * svc (e.g. &namegen__v1__model_service__descriptor, "Generate"); req
 * must be of the method's input type. meta may be NULL when nmeta is 0.
 * timeout_ms <= 0 takes the client's default. Returns 0 when the call is
 * under way (done will run), or an RPC_* status without calling done
 * (RPC_INVALID_ARGUMENT for an unknown method or wrong request type or a
 * request larger than the limit, RPC_INTERNAL when out of memory,
 * RPC_UNAVAILABLE when no connection is live and the client either was
 * connected before or is past its grace). A call under way when the last
 * connection goes ends with RPC_UNAVAILABLE within about 5 ms; while
 * another connection is live, nng sends it again there instead. */
int rpc_client_call(struct rpc_client *cli,
		    const ProtobufCServiceDescriptor *svc,
		    const char *method_name, const ProtobufCMessage *req,
		    const struct rpc_meta *meta, size_t nmeta, int timeout_ms,
		    rpc_done_fn done, void *arg);

/* rpc_client_call_sync does the same and waits. Returns the status, which
 * is also in out->status; free out->body with rpc_reply_clear(). */
int rpc_client_call_sync(struct rpc_client *cli,
			 const ProtobufCServiceDescriptor *svc,
			 const char *method_name, const ProtobufCMessage *req,
			 const struct rpc_meta *meta, size_t nmeta,
			 int timeout_ms, struct rpc_reply *out);

/* What a client has sent since it opened: messages handed to nng (a call
 * alone or a bundle is one; nng's own resends are not counted), those of
 * them that were bundles, and the calls those bundles carried. */
struct rpc_client_stats {
	uint64_t messages, bundles, bundled_calls;
};

void rpc_client_get_stats(struct rpc_client *cli,
			  struct rpc_client_stats *out);

/* rpc_reply_clear frees the body of a reply and sets it to NULL. */
void rpc_reply_clear(struct rpc_reply *reply);

#endif /* COMMON_RPC_CLIENT_H */
