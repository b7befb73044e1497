/* gateway_test_worker.c - a ModelService that misbehaves on request, for
 * the gateway tests that need a worker to be slow, to fail in a given
 * way, or to show what reached it. It is a real process serving the real
 * service over a real socket with common/rpc_server; the gateway under
 * test cannot tell it from namegen-model except by its answers.
 *
 *   gateway_test_worker URL
 *
 * GW_TEST_DELAY_MS  every handler sleeps this long first (default 0)
 * GW_TEST_MODE      what Generate does:
 *   echo       names are the metadata it received: request-id,
 *              client-addr, session (default)
 *   internal   fails INTERNAL with a message full of internals
 *   exhausted  fails RESOURCE_EXHAUSTED with retry after 7 s
 *   invalid    fails INVALID_ARGUMENT with a user-facing message
 *   notfound   fails NOT_FOUND with a user-facing message
 *   denied     fails PERMISSION_DENIED with a user-facing message
 * Meta answers after the delay; Score answers at once, so that a test can
 * see the worker is up whatever its mode. Stops on SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/rpc_server.h"
#include "namegen.pb-c.h"

static long delay_ms;
static const char *mode = "echo";

static void pause_first(void)
{
	struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};

	if (delay_ms > 0)
		nanosleep(&ts, NULL);
}

static void tw_generate(Namegen__V1__ModelService_Service *svc,
			const Namegen__V1__GenerateRequest *req,
			Namegen__V1__GenerateReply_Closure closure,
			void *closure_data)
{
	Namegen__V1__GenerateReply reply = NAMEGEN__V1__GENERATE_REPLY__INIT;
	Namegen__V1__GeneratedName n[3], *np[3];
	struct rpc_call *call = closure_data;
	const char *keys[3] = {RPC_META_REQUEST_ID, RPC_META_CLIENT_ADDR,
			       RPC_META_SESSION};
	const char *v;
	int i;

	(void)svc;
	(void)req;
	pause_first();
	if (strcmp(mode, "internal") == 0) {
		rpc_call_fail(call, RPC_INTERNAL,
			      "open /var/secret/model.bin: SELECT * FROM "
			      "users failed at worker.c:42");
		return;
	}
	if (strcmp(mode, "exhausted") == 0) {
		rpc_call_set_retry_after(call, 7);
		rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED, "slow down");
		return;
	}
	if (strcmp(mode, "notfound") == 0) {
		rpc_call_fail(call, RPC_NOT_FOUND, "no such name");
		return;
	}
	if (strcmp(mode, "denied") == 0) {
		rpc_call_fail(call, RPC_PERMISSION_DENIED, "not yours");
		return;
	}
	if (strcmp(mode, "invalid") == 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT,
			      "country XX is not known");
		return;
	}
	for (i = 0; i < 3; i++) {
		Namegen__V1__GeneratedName init =
		    NAMEGEN__V1__GENERATED_NAME__INIT;

		v = rpc_call_metadata(call, keys[i]);
		n[i] = init;
		n[i].name = (char *)(v ? v : "");
		np[i] = &n[i];
	}
	reply.names = np;
	reply.n_names = 3;
	reply.attempts = 3;
	closure(&reply, closure_data);
}

static void tw_score(Namegen__V1__ModelService_Service *svc,
		     const Namegen__V1__ScoreRequest *req,
		     Namegen__V1__ScoreReply_Closure closure,
		     void *closure_data)
{
	Namegen__V1__ScoreReply reply = NAMEGEN__V1__SCORE_REPLY__INIT;

	(void)svc;
	reply.name = req->name;
	closure(&reply, closure_data);
}

static void tw_meta(Namegen__V1__ModelService_Service *svc,
		    const Namegen__V1__MetaRequest *req,
		    Namegen__V1__MetaReply_Closure closure, void *closure_data)
{
	Namegen__V1__MetaReply reply = NAMEGEN__V1__META_REPLY__INIT;

	(void)svc;
	(void)req;
	pause_first();
	reply.model_version = "test-worker";
	closure(&reply, closure_data);
}

static Namegen__V1__ModelService_Service tw_service =
    NAMEGEN__V1__MODEL_SERVICE__INIT(tw_);

int main(int argc, char **argv)
{
	struct rpc_server_opts o = {0};
	struct rpc_server *srv = NULL;
	char err[256];
	sigset_t sigs;
	int sig;

	log_init("test-worker");
	if (argc != 2) {
		fprintf(stderr, "usage: gateway_test_worker URL\n");
		return 2;
	}
	if (getenv("GW_TEST_DELAY_MS"))
		delay_ms = strtol(getenv("GW_TEST_DELAY_MS"), NULL, 10);
	if (getenv("GW_TEST_MODE"))
		mode = getenv("GW_TEST_MODE");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	o.url = argv[1];
	o.service = &tw_service.base;
	o.threads = 8;
	if (rpc_server_start(&srv, &o, err, sizeof(err)) != 0) {
		log_fatal("cannot serve", "detail=\"%s\"", err);
		return 1;
	}
	log_info("serving", "url=%s mode=%s delay_ms=%ld", argv[1], mode,
		 delay_ms);
	sigwait(&sigs, &sig);
	rpc_server_drain(srv, 1000);
	rpc_server_free(srv);
	return 0;
}
