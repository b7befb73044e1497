/* echo_service.c - the rpctest.EchoService for RPC tests. */
#include "tests/support/echo_service.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

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

double echo_now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void echo_call_done(void *arg, struct rpc_reply *r)
{
	struct echo_call *c = arg;

	c->status = r->status;
	c->at = echo_now_s();
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
}

int echo_start(struct rpc_client *cli, struct echo_call *calls, int n,
	       uint32_t sleep_ms, int timeout_ms)
{
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	int i, rv;

	req.sleep_ms = sleep_ms;
	for (i = 0; i < n; i++) {
		rv = rpc_client_call(cli, &rpctest__echo_service__descriptor,
				     "Echo", &req.base, NULL, 0, timeout_ms,
				     echo_call_done, &calls[i]);
		if (rv != 0)
			return rv;
	}
	return 0;
}

int echo_wait(struct echo_call *calls, int n, int wait_ms)
{
	double until = echo_now_s() + wait_ms / 1e3;
	int i, ended = 0;

	for (i = 0; i < n; i++) {
		while (!__atomic_load_n(&calls[i].done, __ATOMIC_SEQ_CST) &&
		       echo_now_s() < until)
			usleep(5000);
		ended += __atomic_load_n(&calls[i].done, __ATOMIC_SEQ_CST);
	}
	return ended;
}
