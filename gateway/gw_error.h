/* gw_error.h - how failures look to an HTTP client.
 *
 * Maps the status of a worker's reply to an HTTP status and an error code,
 * and builds the error bodies: {"error":{"code","message"}} on /api/v1
 * and {"error":"message"} on the original service's routes. Only messages
 * a worker marks as safe for users get through; for internal failures the
 * client sees a fixed sentence, never a path, a query or a stack. */
#ifndef GATEWAY_GW_ERROR_H
#define GATEWAY_GW_ERROR_H

#include <jansson.h>

/* gw_error_http_status returns the HTTP status for an RPC_* status. */
int gw_error_http_status(int rpc_status);

/* gw_error_code returns the error code for an RPC_* status, e.g.
 * "invalid_argument", "unauthenticated", "unavailable". */
const char *gw_error_code(int rpc_status);

/* gw_error_message returns what the client may read for a failed call to
 * service ("model" or "auth"): the worker's message for statuses a worker
 * sets on purpose (INVALID_ARGUMENT, UNAUTHENTICATED, NOT_FOUND,
 * ALREADY_EXISTS, ...), else a fixed sentence naming the service. */
const char *gw_error_message(int rpc_status, const char *worker_message,
			     const char *service);

/* gw_error_json returns a new {"error":{"code","message"[,"field"]}};
 * field may be NULL or empty. */
json_t *gw_error_json(const char *code, const char *message,
		      const char *field);

/* gw_error_legacy_json returns a new {"error":"message"}. */
json_t *gw_error_legacy_json(const char *message);

#endif /* GATEWAY_GW_ERROR_H */
