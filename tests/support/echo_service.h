/* echo_service.h - the rpctest.EchoService used by the RPC tests and
 * benchmark: echoes what it gets, optionally after a sleep or as a
 * failure, and counts its invocations. */
#ifndef TESTS_SUPPORT_ECHO_SERVICE_H
#define TESTS_SUPPORT_ECHO_SERVICE_H

#include <stdint.h>

#include "rpctest.pb-c.h"

/* The service handlers; pass &echo_service.base to rpc_server_opts. */
extern Rpctest__EchoService_Service echo_service;

/* echo_invocations returns how many times Echo has run in this process. */
uint64_t echo_invocations(void);

#endif /* TESTS_SUPPORT_ECHO_SERVICE_H */
