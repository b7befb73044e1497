/* rpc.c - status names and the deadline clock. */
#include "common/rpc.h"

#include <time.h>

const char *rpc_status_name(int status)
{
	switch (status) {
	case RPC_OK:
		return "OK";
	case RPC_CANCELLED:
		return "CANCELLED";
	case RPC_INVALID_ARGUMENT:
		return "INVALID_ARGUMENT";
	case RPC_DEADLINE_EXCEEDED:
		return "DEADLINE_EXCEEDED";
	case RPC_NOT_FOUND:
		return "NOT_FOUND";
	case RPC_ALREADY_EXISTS:
		return "ALREADY_EXISTS";
	case RPC_PERMISSION_DENIED:
		return "PERMISSION_DENIED";
	case RPC_RESOURCE_EXHAUSTED:
		return "RESOURCE_EXHAUSTED";
	case RPC_FAILED_PRECONDITION:
		return "FAILED_PRECONDITION";
	case RPC_UNIMPLEMENTED:
		return "UNIMPLEMENTED";
	case RPC_INTERNAL:
		return "INTERNAL";
	case RPC_UNAVAILABLE:
		return "UNAVAILABLE";
	case RPC_UNAUTHENTICATED:
		return "UNAUTHENTICATED";
	default:
		return "UNKNOWN";
	}
}

int64_t rpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
