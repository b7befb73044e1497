/* gw_error.c - how failures look to an HTTP client. */
#include "gateway/gw_error.h"

#include "common/rpc.h"

int gw_error_http_status(int rpc_status)
{
	switch (rpc_status) {
	case RPC_OK:
		return 200;
	case RPC_INVALID_ARGUMENT:
	case RPC_FAILED_PRECONDITION:
		return 400;
	case RPC_UNAUTHENTICATED:
		return 401;
	case RPC_PERMISSION_DENIED:
		return 403;
	case RPC_NOT_FOUND:
		return 404;
	case RPC_ALREADY_EXISTS:
		return 409;
	case RPC_RESOURCE_EXHAUSTED:
		return 429;
	case RPC_UNIMPLEMENTED:
		return 501;
	case RPC_UNAVAILABLE:
	case RPC_CANCELLED:
		return 503;
	case RPC_DEADLINE_EXCEEDED:
		return 504;
	default:
		return 500;
	}
}

const char *gw_error_code(int rpc_status)
{
	switch (rpc_status) {
	case RPC_INVALID_ARGUMENT:
		return "invalid_argument";
	case RPC_FAILED_PRECONDITION:
		return "failed_precondition";
	case RPC_UNAUTHENTICATED:
		return "unauthenticated";
	case RPC_PERMISSION_DENIED:
		return "permission_denied";
	case RPC_NOT_FOUND:
		return "not_found";
	case RPC_ALREADY_EXISTS:
		return "already_exists";
	case RPC_RESOURCE_EXHAUSTED:
		return "resource_exhausted";
	case RPC_UNIMPLEMENTED:
		return "not_implemented";
	case RPC_UNAVAILABLE:
	case RPC_CANCELLED:
		return "unavailable";
	case RPC_DEADLINE_EXCEEDED:
		return "deadline_exceeded";
	default:
		return "internal";
	}
}

const char *gw_error_message(int rpc_status, const char *worker_message,
			     const char *service)
{
	int model = service && service[0] == 'm';

	switch (rpc_status) {
	case RPC_INVALID_ARGUMENT:
	case RPC_FAILED_PRECONDITION:
	case RPC_UNAUTHENTICATED:
	case RPC_PERMISSION_DENIED:
	case RPC_NOT_FOUND:
	case RPC_ALREADY_EXISTS:
	case RPC_RESOURCE_EXHAUSTED:
		if (worker_message && *worker_message)
			return worker_message;
		break;
	case RPC_UNAVAILABLE:
	case RPC_CANCELLED:
		return model ? "the name model is unavailable, try again soon"
			     : "the account service is unavailable, try "
			       "again soon";
	case RPC_DEADLINE_EXCEEDED:
		return model ? "the name model did not answer in time"
			     : "the account service did not answer in time";
	default:
		break;
	}
	switch (rpc_status) {
	case RPC_UNAUTHENTICATED:
		return "not logged in";
	case RPC_NOT_FOUND:
		return "not found";
	case RPC_ALREADY_EXISTS:
		return "it exists already";
	case RPC_RESOURCE_EXHAUSTED:
		return "too many requests, try again later";
	case RPC_INVALID_ARGUMENT:
	case RPC_FAILED_PRECONDITION:
		return "the request is not valid";
	case RPC_PERMISSION_DENIED:
		return "not allowed";
	case RPC_UNIMPLEMENTED:
		return "not implemented";
	default:
		return "internal error";
	}
}

json_t *gw_error_json(const char *code, const char *message, const char *field)
{
	json_t *inner;

	inner = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (inner && field && *field)
		json_object_set_new(inner, "field", json_string(field));
	return inner ? json_pack("{s:o}", "error", inner) : NULL;
}

json_t *gw_error_legacy_json(const char *message)
{
	return json_pack("{s:s}", "error", message);
}
