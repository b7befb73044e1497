/* echo_service.c - the rpctest.EchoService for RPC tests. */
#include "tests/support/echo_service.h"

#include <stdatomic.h>
#include <time.h>

#include "common/rpc_server.h"

static atomic_uint_fast64_t echo_count;

static void echo_echo(Rpctest__EchoService_Service *svc,
		      const Rpctest__EchoRequest *req,
		      Rpctest__EchoReply_Closure closure, void *closure_data)
{
	Rpctest__EchoReply reply = RPCTEST__ECHO_REPLY__INIT;
	struct rpc_call *call = closure_data;
	uint64_t n = atomic_fetch_add(&echo_count, 1) + 1;

	(void)svc;
	if (req->sleep_ms) {
		struct timespec ts = {req->sleep_ms / 1000,
				      (long)(req->sleep_ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	if (req->fail_status) {
		rpc_call_set_retry_after(call, 7);
		rpc_call_fail(call, req->fail_status, "asked to fail with %d",
			      req->fail_status);
		return;
	}
	reply.client = req->client;
	reply.seq = req->seq;
	reply.payload = req->payload;
	reply.invocation = n;
	if (req->metadata_key && *req->metadata_key) {
		const char *v = rpc_call_metadata(call, req->metadata_key);

		reply.metadata_value = (char *)(v ? v : "");
	}
	closure(&reply, closure_data);
}

Rpctest__EchoService_Service echo_service = RPCTEST__ECHO_SERVICE__INIT(echo_);

uint64_t echo_invocations(void)
{
	return atomic_load(&echo_count);
}
