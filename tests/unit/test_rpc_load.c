/* test_rpc_load.c - the RPC layer under load: 8 client threads with 64
 * calls in flight each, 100,000 calls over one client socket, over ipc://
 * and tcp://. Every call must come back exactly once, OK, matched to its
 * request (same client, sequence number and payload). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/log.h"
#include "common/rpc_client.h"
#include "common/rpc_server.h"
#include "tests/support/echo_service.h"

#define LOAD_THREADS  8
#define LOAD_INFLIGHT 64
#define LOAD_CALLS    100000
#define PER_THREAD    (LOAD_CALLS / LOAD_THREADS)

static uint8_t key[RPC_KEY_BYTES];

struct loader {
	struct rpc_client *cli;
	uint32_t id;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	uint8_t seen[PER_THREAD]; /* replies per sequence number */
	int ok, failed, mismatched, duplicated;
	char first_error[RPC_MESSAGE_MAX];
};

/* The payload of call seq of client id: 8 bytes that only it has. */
static void payload_of(uint32_t id, uint64_t seq, uint8_t out[8])
{
	uint64_t v = ((uint64_t)id << 40) ^ (seq * 0x9e3779b97f4a7c15ULL);

	memcpy(out, &v, 8);
}

struct call_ctx {
	struct loader *l;
	uint64_t seq;
};

static void load_done(void *arg, struct rpc_reply *r)
{
	struct call_ctx *c = arg;
	struct loader *l = c->l;
	Rpctest__EchoReply *rep = (Rpctest__EchoReply *)r->body;
	uint8_t want[8];

	pthread_mutex_lock(&l->mu);
	if (r->status != RPC_OK) {
		if (!l->failed)
			snprintf(l->first_error, sizeof(l->first_error),
				 "%s: %s", rpc_status_name(r->status),
				 r->message);
		l->failed++;
	} else {
		payload_of(l->id, c->seq, want);
		if (rep->client != l->id || rep->seq != c->seq ||
		    rep->payload.len != 8 ||
		    memcmp(rep->payload.data, want, 8) != 0) {
			l->mismatched++;
		} else if (l->seen[c->seq]++) {
			l->duplicated++;
		} else {
			l->ok++;
		}
	}
	l->inflight--;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	free(c);
}

static void *load_thread(void *arg)
{
	struct loader *l = arg;
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	uint8_t payload[8];
	uint64_t seq;

	for (seq = 0; seq < PER_THREAD; seq++) {
		struct call_ctx *c = malloc(sizeof(*c));
		int rv;

		pthread_mutex_lock(&l->mu);
		while (l->inflight >= LOAD_INFLIGHT)
			pthread_cond_wait(&l->cv, &l->mu);
		l->inflight++;
		pthread_mutex_unlock(&l->mu);

		c->l = l;
		c->seq = seq;
		payload_of(l->id, seq, payload);
		req.client = l->id;
		req.seq = seq;
		req.payload.data = payload;
		req.payload.len = 8;
		rv = rpc_client_call(
		    l->cli, &rpctest__echo_service__descriptor, "Echo",
		    &req.base, NULL, 0, 20000, load_done, c);
		if (rv != 0) {
			struct rpc_reply r = {.status = rv};

			snprintf(r.message, sizeof(r.message), "not sent");
			load_done(c, &r);
		}
	}
	pthread_mutex_lock(&l->mu);
	while (l->inflight > 0)
		pthread_cond_wait(&l->cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static void load_over(const char *listen_url, int tcp)
{
	struct rpc_server_opts so = {0};
	struct rpc_client_opts co = {0};
	struct rpc_server *srv;
	struct rpc_client *cli;
	static struct loader loaders[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	char err[256], url[128];
	int i, ok = 0;

	so.url = listen_url;
	so.key = key;
	so.service = &echo_service.base;
	so.contexts = 256;
	so.threads = 2;
	if (rpc_server_start(&srv, &so, err, sizeof(err)) != 0)
		fail_msg("server: %s", err);
	if (tcp)
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d",
			 rpc_server_bound_port(srv));
	else
		snprintf(url, sizeof(url), "%s", listen_url);
	co.urls = url;
	co.key = key;
	if (rpc_client_open(&cli, &co, err, sizeof(err)) != 0)
		fail_msg("client: %s", err);

	for (i = 0; i < LOAD_THREADS; i++) {
		struct loader *l = &loaders[i];

		memset(l, 0, sizeof(*l));
		l->cli = cli;
		l->id = (uint32_t)i + 1;
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
		pthread_create(&th[i], NULL, load_thread, l);
	}
	for (i = 0; i < LOAD_THREADS; i++)
		pthread_join(th[i], NULL);

	for (i = 0; i < LOAD_THREADS; i++) {
		struct loader *l = &loaders[i];

		if (l->failed || l->mismatched || l->duplicated)
			fail_msg(
			    "%s client %d: %d failed (%s), %d mismatched, "
			    "%d duplicated",
			    url, i, l->failed, l->first_error, l->mismatched,
			    l->duplicated);
		for (int s = 0; s < PER_THREAD; s++)
			if (l->seen[s] != 1)
				fail_msg("%s client %d call %d seen %d times",
					 url, i, s, l->seen[s]);
		ok += l->ok;
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
	}
	assert_int_equal(ok, LOAD_CALLS);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_load_ipc(void **state)
{
	char url[128];

	(void)state;
	snprintf(url, sizeof(url), "ipc:///tmp/ng-test-load-%d.ipc",
		 (int)getpid());
	load_over(url, 0);
}

static void test_load_tcp(void **state)
{
	(void)state;
	load_over("tcp://127.0.0.1:0", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_ipc),
	    cmocka_unit_test(test_load_tcp),
	};

	if (sodium_init() < 0)
		return 1;
	log_threshold = LOG_WARN; /* one line per call would be 200k lines */
	randombytes_buf(key, sizeof(key));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
