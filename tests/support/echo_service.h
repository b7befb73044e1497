/* echo_service.h - the rpctest.EchoService used by the RPC tests and
 * benchmark: echoes what it gets, optionally after a sleep or as a
 * failure, and counts its invocations. */
#ifndef TESTS_SUPPORT_ECHO_SERVICE_H
#define TESTS_SUPPORT_ECHO_SERVICE_H

#include <stdint.h>

#include "common/rpc_client.h"
#include "rpctest.pb-c.h"

/* The service handlers; pass &echo_service.base to rpc_server_opts. */
extern Rpctest__EchoService_Service echo_service;

/* echo_invocations returns how many times Echo has run in this process. */
uint64_t echo_invocations(void);

/* One asynchronous Echo call of echo_start: set when its done ran. */
struct echo_call {
	int status; /* the reply's RPC status */
	double at;  /* when it ended: echo_now_s */
	int done;   /* read with __atomic_load_n */
};

/* echo_now_s is CLOCK_MONOTONIC in seconds, the clock of echo_call.at. */
double echo_now_s(void);

/* echo_start starts n Echo calls on cli, each sleeping sleep_ms in the
 * handler, with a deadline of timeout_ms; calls[i] records call i.
 * Returns 0, or the status that refused a call (the rest not started). */
int echo_start(struct rpc_client *cli, struct echo_call *calls, int n,
	       uint32_t sleep_ms, int timeout_ms);

/* echo_wait waits up to wait_ms in all for the n calls to end; returns
 * how many did. */
int echo_wait(struct echo_call *calls, int n, int wait_ms);

#endif /* TESTS_SUPPORT_ECHO_SERVICE_H */
