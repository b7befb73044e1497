/* rpc.h - what callers and workers share: status codes, metadata, limits.
 *
 * A call is a protobuf-c message sent to "<Service>/<Method>" of a worker.
 * It travels inside a Call (method, ids, deadline, metadata, body) that is
 * serialised and sealed with a MAC (see rpc_envelope.h); the answer is a
 * Result sealed the same way. Clients are in rpc_client.h, workers in
 * rpc_server.h. */
#ifndef COMMON_RPC_H
#define COMMON_RPC_H

#include <stddef.h>
#include <stdint.h>

/* Status codes of a reply: the same numbers as gRPC's and as the Status
 * enum of proto/namegen.proto, so either can be used. */
enum rpc_status {
	RPC_OK = 0,
	RPC_CANCELLED = 1,
	RPC_UNKNOWN = 2,
	RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4,
	RPC_NOT_FOUND = 5,
	RPC_ALREADY_EXISTS = 6,
	RPC_PERMISSION_DENIED = 7,
	RPC_RESOURCE_EXHAUSTED = 8,
	RPC_FAILED_PRECONDITION = 9,
	RPC_UNIMPLEMENTED = 12,
	RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14,
	RPC_UNAUTHENTICATED = 16
};

/* rpc_status_name returns "OK", "INVALID_ARGUMENT", ... or "UNKNOWN". */
const char *rpc_status_name(int status);

/* Limits. A sealed message larger than RPC_MAX_MESSAGE_DEFAULT is refused
 * by both sides unless configured otherwise; the transport drops anything
 * beyond RPC_TRANSPORT_MAX outright (nng closes that connection). */
#define RPC_MAX_MESSAGE_DEFAULT (64 * 1024)
#define RPC_TRANSPORT_MAX	(1024 * 1024)
#define RPC_METHOD_MAX		64
#define RPC_MESSAGE_MAX		256 /* bytes of a status message */
#define RPC_METADATA_MAX	16  /* entries per call */
#define RPC_METADATA_VALUE_MAX	512
#define RPC_KEY_BYTES		32

/* Well-known metadata keys. */
#define RPC_META_SESSION     "session"	   /* a session token */
#define RPC_META_CLIENT_ADDR "client-addr" /* the end user's IP address */
#define RPC_META_REQUEST_ID  "request-id"  /* the HTTP X-Request-Id */

struct rpc_meta {
	const char *key;
	const char *value;
};

/* rpc_now_ms returns wall-clock milliseconds since the Unix epoch, the
 * clock deadlines are written in. */
int64_t rpc_now_ms(void);

#endif /* COMMON_RPC_H */
