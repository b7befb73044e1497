/* test_rpc.c - the RPC server and client over real nng sockets.
 *
 * A real rpc_server runs the rpctest EchoService; calls come from a real
 * rpc_client, or from a raw nng REQ socket when a test needs to send what
 * no well-behaved client would (wrong MAC, garbage, resent calls). */
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
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "common/log.h"
#include "common/rpc_client.h"
#include "common/rpc_envelope.h"
#include "common/rpc_server.h"
#include "namegen.pb-c.h"
#include "tests/support/echo_service.h"

static uint8_t key[RPC_KEY_BYTES], other_key[RPC_KEY_BYTES];
static char ipc_url[128], ipc_url2[128];
static int url_serial;

/* fresh_urls gives each test its own ipc paths, so a test that fails
 * half-way (leaving its server bound) cannot break the next one. */
static int fresh_urls(void **state)
{
	(void)state;
	url_serial++;
	snprintf(ipc_url, sizeof(ipc_url), "ipc:///tmp/ng-test-rpc-%d-%d.ipc",
		 (int)getpid(), url_serial);
	snprintf(ipc_url2, sizeof(ipc_url2),
		 "ipc:///tmp/ng-test-rpc2-%d-%d.ipc", (int)getpid(),
		 url_serial);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	log_threshold = LOG_ERROR; /* the refusals below log warnings */
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other_key, sizeof(other_key));
	return 0;
}

static struct rpc_server *start_server(const char *url, size_t max_message,
				       int threads, int queue_max)
{
	struct rpc_server_opts o = {0};
	struct rpc_server *srv;
	char err[256];

	o.url = url;
	o.key = key;
	o.service = &echo_service.base;
	o.max_message = max_message;
	o.threads = threads;
	o.queue_max = queue_max;
	o.contexts = 16;
	if (rpc_server_start(&srv, &o, err, sizeof(err)) != 0)
		fail_msg("server on %s: %s", url, err);
	return srv;
}

static const char *const bundle_echo[] = {"Echo", NULL};

/* open_client_waiting opens a client; with bundle_window > 0 it bundles
 * Echo past that window, and a call waits at most wait_ms (0: the
 * default) for room. */
static struct rpc_client *open_client_waiting(const char *urls,
					      const uint8_t *k,
					      int bundle_window, int wait_ms)
{
	struct rpc_client_opts o = {0};
	struct rpc_client *cli;
	char err[256];

	o.urls = urls;
	o.key = k;
	o.timeout_ms = 5000;
	if (bundle_window > 0) {
		o.bundle_methods = bundle_echo;
		o.bundle_window = bundle_window;
		o.bundle_wait_ms = wait_ms;
	}
	if (rpc_client_open(&cli, &o, err, sizeof(err)) != 0)
		fail_msg("client: %s", err);
	return cli;
}

static struct rpc_client *
open_client_bundling(const char *urls, const uint8_t *k, int bundle_window)
{
	return open_client_waiting(urls, k, bundle_window, 0);
}

static struct rpc_client *open_client(const char *urls, const uint8_t *k)
{
	return open_client_bundling(urls, k, 0);
}

/* wait_connected waits for the client's connection to be up: nng 1.5.2
 * can leak the pipe of a connection still being set up when its socket
 * closes, which LeakSanitizer reports, so the tests that close a client
 * at once wait for it first. */
static void wait_connected(struct rpc_client *cli)
{
	int i;

	for (i = 0; i < 500 && rpc_client_connections(cli) == 0; i++)
		usleep(10000);
	assert_true(rpc_client_connections(cli) > 0);
}

/* echo_sync makes one Echo call and returns its status. */
static int echo_sync(struct rpc_client *cli, uint64_t seq, uint32_t sleep_ms,
		     int fail_status, int timeout_ms, struct rpc_reply *out)
{
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;

	req.seq = seq;
	req.sleep_ms = sleep_ms;
	req.fail_status = fail_status;
	req.payload.data = (uint8_t *)"payload";
	req.payload.len = 7;
	return rpc_client_call_sync(cli, &rpctest__echo_service__descriptor,
				    "Echo", &req.base, NULL, 0, timeout_ms,
				    out);
}

static void roundtrip_on(const char *url)
{
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	struct rpc_meta meta[] = {{"session", "abc"}, {"x", "y"}};
	struct rpc_server *srv = start_server(url, 0, 2, 0);
	struct rpc_client *cli;
	struct rpc_reply r;
	Rpctest__EchoReply *rep;
	char dial[128];

	/* a tcp server listens on port 0: dial the port it got */
	if (rpc_server_bound_port(srv) > 0)
		snprintf(dial, sizeof(dial), "tcp://127.0.0.1:%d",
			 rpc_server_bound_port(srv));
	else
		snprintf(dial, sizeof(dial), "%s", url);
	cli = open_client(dial, key);

	req.client = 3;
	req.seq = 99;
	req.payload.data = (uint8_t *)"\0binary\xff";
	req.payload.len = 8;
	req.metadata_key = "session";
	assert_int_equal(
	    rpc_client_call_sync(cli, &rpctest__echo_service__descriptor,
				 "Echo", &req.base, meta, 2, 0, &r),
	    RPC_OK);
	rep = (Rpctest__EchoReply *)r.body;
	assert_non_null(rep);
	assert_int_equal(rep->client, 3);
	assert_true(rep->seq == 99);
	assert_int_equal(rep->payload.len, 8);
	assert_memory_equal(rep->payload.data, "\0binary\xff", 8);
	assert_string_equal(rep->metadata_value, "abc");
	rpc_reply_clear(&r);
	assert_null(r.body);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_roundtrip_inproc(void **state)
{
	(void)state;
	roundtrip_on("inproc://test-rpc-roundtrip");
}

static void test_roundtrip_ipc(void **state)
{
	(void)state;
	roundtrip_on(ipc_url);
}

static void test_roundtrip_tcp(void **state)
{
	(void)state;
	roundtrip_on("tcp://127.0.0.1:0");
}

static void test_handler_failure_carries_status(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client(ipc_url, key);
	struct rpc_reply r;

	(void)state;
	assert_int_equal(echo_sync(cli, 1, 0, RPC_RESOURCE_EXHAUSTED, 0, &r),
			 RPC_RESOURCE_EXHAUSTED);
	assert_string_equal(r.message, "asked to fail with 8");
	assert_int_equal(r.retry_after_s, 7);
	assert_null(r.body);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_client_deadline(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client(ipc_url, key);
	struct rpc_reply r;

	(void)state;
	assert_int_equal(echo_sync(cli, 1, 600, 0, 100, &r),
			 RPC_DEADLINE_EXCEEDED);
	assert_true(r.latency_ms < 590);
	/* the worker is still fine afterwards */
	assert_int_equal(echo_sync(cli, 2, 0, 0, 0, &r), RPC_OK);
	rpc_reply_clear(&r);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_wrong_secret_is_refused_by_client(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client(ipc_url, other_key);
	uint64_t before = echo_invocations();
	struct rpc_reply r;

	(void)state;
	/* The worker refuses the call; its answer is sealed with a key the
	 * client does not share, so the client cannot trust it either. */
	assert_int_not_equal(echo_sync(cli, 1, 0, 0, 0, &r), RPC_OK);
	assert_true(echo_invocations() == before);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_no_worker_is_unavailable(void **state)
{
	struct rpc_client_opts o = {0};
	struct rpc_client *cli;
	struct rpc_reply r;
	char err[256];

	(void)state;
	o.urls = "ipc:///tmp/ng-test-nobody-listens.ipc";
	o.key = key;
	o.grace_ms = -1;
	assert_int_equal(rpc_client_open(&cli, &o, err, sizeof(err)), 0);
	assert_int_equal(echo_sync(cli, 1, 0, 0, 0, &r), RPC_UNAVAILABLE);
	rpc_client_close(cli);
}

/* ------------------------------------------------ raw, hostile callers */

struct raw {
	nng_socket sock;
};

static void raw_open(struct raw *raw, const char *url)
{
	assert_int_equal(nng_req0_open(&raw->sock), 0);
	nng_socket_set_ms(raw->sock, NNG_OPT_RECVTIMEO, 3000);
	assert_int_equal(nng_dial(raw->sock, url, NULL, 0), 0);
}

/* raw_exchange sends bytes and opens the answer as a Result. */
static Namegen__V1__Result *raw_exchange(struct raw *raw, const void *data,
					 size_t len)
{
	ProtobufCMessage *res = NULL;
	char err[128];
	nng_msg *m;
	int rv;

	assert_int_equal(nng_msg_alloc(&m, len), 0);
	memcpy(nng_msg_body(m), data, len);
	assert_int_equal(nng_sendmsg(raw->sock, m, 0), 0);
	rv = nng_recvmsg(raw->sock, &m, 0);
	if (rv != 0)
		fail_msg("no answer: %s", nng_strerror(rv));
	assert_int_equal(rpc_open(key, nng_msg_body(m), nng_msg_len(m),
				  &namegen__v1__result__descriptor, &res, err,
				  sizeof(err)),
			 0);
	nng_msg_free(m);
	return (Namegen__V1__Result *)res;
}

/* sealed_call builds a sealed Call to method with an EchoRequest body. */
static nng_msg *sealed_call(const uint8_t *k, const char *method,
			    uint64_t call_id, int64_t deadline_ms,
			    size_t payload_len)
{
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	Namegen__V1__Call c = NAMEGEN__V1__CALL__INIT;
	uint8_t *body, *payload = calloc(1, payload_len + 1);
	nng_msg *m;

	req.seq = call_id;
	req.payload.data = payload;
	req.payload.len = payload_len;
	body = malloc(rpctest__echo_request__get_packed_size(&req));
	c.body.len = rpctest__echo_request__pack(&req, body);
	c.body.data = body;
	c.method = (char *)method;
	c.client_id = 77;
	c.call_id = call_id;
	c.deadline_ms = deadline_ms;
	assert_int_equal(rpc_seal(k, &c.base, &m), 0);
	free(body);
	free(payload);
	return m;
}

static void expect_status(struct raw *raw, nng_msg *m, int status,
			  const char *says)
{
	Namegen__V1__Result *res =
	    raw_exchange(raw, nng_msg_body(m), nng_msg_len(m));

	if ((int)res->status != status)
		fail_msg("expected %s, got %s (%s)", rpc_status_name(status),
			 rpc_status_name((int)res->status), res->message);
	if (says && !strstr(res->message, says))
		fail_msg("\"%s\" does not say \"%s\"", res->message, says);
	namegen__v1__result__free_unpacked(res, NULL);
	nng_msg_free(m);
}

static void test_hostile_messages_get_statuses(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 4096, 2, 0);
	int64_t later = rpc_now_ms() + 5000;
	uint64_t before = echo_invocations();
	struct rpc_server_stats st;
	struct raw raw;
	nng_msg *m;
	uint8_t junk[300];

	(void)state;
	raw_open(&raw, ipc_url);

	expect_status(&raw,
		      sealed_call(other_key, "EchoService/Echo", 1, later, 10),
		      RPC_UNAUTHENTICATED, "authentication code is wrong");
	expect_status(&raw,
		      sealed_call(NULL, "EchoService/Echo", 2, later, 10),
		      RPC_UNAUTHENTICATED, "not authenticated");
	expect_status(
	    &raw,
	    sealed_call(key, "EchoService/Echo", 3, rpc_now_ms() - 1, 10),
	    RPC_DEADLINE_EXCEEDED, "deadline");
	expect_status(&raw, sealed_call(key, "EchoService/Nope", 4, later, 10),
		      RPC_UNIMPLEMENTED, "no method \"EchoService/Nope\"");
	expect_status(&raw,
		      sealed_call(key, "ModelService/Echo", 5, later, 10),
		      RPC_UNIMPLEMENTED, NULL);
	expect_status(&raw, sealed_call(key, "Echo", 6, later, 10),
		      RPC_UNIMPLEMENTED, NULL);
	expect_status(&raw,
		      sealed_call(key, "EchoService/Echo", 7, later, 8000),
		      RPC_RESOURCE_EXHAUSTED, "exceeds the limit of 4096");

	/* truncated: every prefix of a good message */
	m = sealed_call(key, "EchoService/Echo", 8, later, 10);
	for (size_t n = 0; n < nng_msg_len(m); n += 3) {
		Namegen__V1__Result *res =
		    raw_exchange(&raw, nng_msg_body(m), n);

		assert_true(res->status ==
				NAMEGEN__V1__STATUS__STATUS_INVALID_ARGUMENT ||
			    res->status ==
				NAMEGEN__V1__STATUS__STATUS_UNAUTHENTICATED);
		namegen__v1__result__free_unpacked(res, NULL);
	}
	nng_msg_free(m);

	/* garbage */
	for (int i = 0; i < 50; i++) {
		Namegen__V1__Result *res;

		randombytes_buf(junk, sizeof(junk));
		res = raw_exchange(&raw, junk, 1 + i * 5);
		assert_int_not_equal(res->status,
				     NAMEGEN__V1__STATUS__STATUS_OK);
		namegen__v1__result__free_unpacked(res, NULL);
	}

	/* a body that is not an EchoRequest */
	{
		Namegen__V1__Call c = NAMEGEN__V1__CALL__INIT;

		c.method = "EchoService/Echo";
		c.client_id = 77;
		c.call_id = 9;
		c.deadline_ms = later;
		c.body.data = (uint8_t *)"\xff\xff\xff";
		c.body.len = 3;
		assert_int_equal(rpc_seal(key, &c.base, &m), 0);
		expect_status(&raw, m, RPC_INVALID_ARGUMENT,
			      "not a valid EchoRequest");
	}

	/* none of that reached the handler, and the worker still serves */
	assert_true(echo_invocations() == before);
	expect_status(&raw,
		      sealed_call(key, "EchoService/Echo", 10, later, 10),
		      RPC_OK, NULL);
	assert_true(echo_invocations() == before + 1);
	rpc_server_get_stats(srv, &st);
	assert_true(st.rejected >= 8);
	assert_true(st.expired >= 1);

	nng_close(raw.sock);
	rpc_server_free(srv);
}

/* A resent call (same client and call id) is answered from the cache with
 * the same bytes, and the handler runs once. */
static void test_resent_call_runs_once(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	nng_msg *m =
	    sealed_call(key, "EchoService/Echo", 500, rpc_now_ms() + 5000, 16);
	Namegen__V1__Result *a, *b;
	Rpctest__EchoReply *ra, *rb;
	uint64_t before = echo_invocations();
	struct rpc_server_stats st;
	struct raw raw;

	(void)state;
	raw_open(&raw, ipc_url);
	a = raw_exchange(&raw, nng_msg_body(m), nng_msg_len(m));
	b = raw_exchange(&raw, nng_msg_body(m), nng_msg_len(m));
	assert_int_equal(a->status, NAMEGEN__V1__STATUS__STATUS_OK);
	assert_int_equal(b->status, NAMEGEN__V1__STATUS__STATUS_OK);
	assert_int_equal(a->body.len, b->body.len);
	assert_memory_equal(a->body.data, b->body.data, a->body.len);
	ra = rpctest__echo_reply__unpack(NULL, a->body.len, a->body.data);
	rb = rpctest__echo_reply__unpack(NULL, b->body.len, b->body.data);
	assert_true(ra->invocation == rb->invocation);
	assert_true(echo_invocations() == before + 1);
	rpc_server_get_stats(srv, &st);
	assert_true(st.replayed == 1);

	rpctest__echo_reply__free_unpacked(ra, NULL);
	rpctest__echo_reply__free_unpacked(rb, NULL);
	namegen__v1__result__free_unpacked(a, NULL);
	namegen__v1__result__free_unpacked(b, NULL);
	nng_msg_free(m);
	nng_close(raw.sock);
	rpc_server_free(srv);
}

/* ------------------------------------------- several workers, shutdown */

static void test_load_spreads_and_survives_a_worker_leaving(void **state)
{
	struct rpc_server *s1 = start_server(ipc_url, 0, 2, 0);
	struct rpc_server *s2 = start_server(ipc_url2, 0, 2, 0);
	char urls[300];
	struct rpc_client *cli;
	struct rpc_server_stats st1, st2;
	struct rpc_reply r;
	int i;

	(void)state;
	snprintf(urls, sizeof(urls), "%s,%s", ipc_url, ipc_url2);
	cli = open_client(urls, key);
	/* both connections up before counting */
	usleep(200000);
	for (i = 0; i < 200; i++) {
		assert_int_equal(echo_sync(cli, (uint64_t)i, 0, 0, 0, &r),
				 RPC_OK);
		rpc_reply_clear(&r);
	}
	rpc_server_get_stats(s1, &st1);
	rpc_server_get_stats(s2, &st2);
	assert_true(st1.handled > 20);
	assert_true(st2.handled > 20);

	rpc_server_drain(s1, 1000);
	rpc_server_free(s1);
	for (i = 0; i < 100; i++) {
		assert_int_equal(echo_sync(cli, (uint64_t)i, 0, 0, 3000, &r),
				 RPC_OK);
		rpc_reply_clear(&r);
	}
	rpc_client_close(cli);
	rpc_server_free(s2);
}

static void test_drain_finishes_calls_in_progress(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client(ipc_url, key);
	struct echo_call a = {0};
	struct rpc_reply r;

	(void)state;
	/* make sure the connection is up */
	assert_int_equal(echo_sync(cli, 0, 0, 0, 0, &r), RPC_OK);
	rpc_reply_clear(&r);
	assert_int_equal(echo_start(cli, &a, 1, 300, 5000), 0);
	usleep(100000); /* the call is in the handler now */
	assert_int_equal(rpc_server_drain(srv, 3000), 0);
	assert_int_equal(echo_wait(&a, 1, 2000), 1);
	assert_int_equal(a.status, RPC_OK);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_full_queue_is_resource_exhausted(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 1, 1);
	struct rpc_client *cli = open_client(ipc_url, key);
	struct echo_call a[6] = {{0}};
	struct rpc_reply r;
	int i, ok = 0, busy = 0;

	(void)state;
	assert_int_equal(echo_sync(cli, 0, 0, 0, 0, &r), RPC_OK);
	rpc_reply_clear(&r);
	assert_int_equal(echo_start(cli, a, 6, 200, 5000), 0);
	assert_int_equal(echo_wait(a, 6, 10000), 6);
	for (i = 0; i < 6; i++) {
		ok += a[i].status == RPC_OK;
		busy += a[i].status == RPC_RESOURCE_EXHAUSTED;
	}
	/* one thread and one queue slot: at most two at a time get in, so
	 * of six calls sent at once some must be refused */
	assert_true(ok >= 1);
	assert_true(busy >= 1);
	assert_int_equal(ok + busy, 6);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

/* A method listed in inline_methods runs on nng's thread, not through the
 * queue: the six calls that overflow a one-slot queue all get in. */
static void test_inline_method_skips_the_queue(void **state)
{
	static const char *const inline_echo[] = {"Echo", NULL};
	struct rpc_server_opts o = {0};
	struct rpc_server *srv;
	struct rpc_client *cli;
	struct echo_call a[6] = {{0}};
	struct rpc_reply r;
	char err[256];
	int i;

	(void)state;
	o.url = ipc_url;
	o.key = key;
	o.service = &echo_service.base;
	o.threads = 1;
	o.queue_max = 1;
	o.contexts = 16;
	o.inline_methods = inline_echo;
	assert_int_equal(rpc_server_start(&srv, &o, err, sizeof(err)), 0);
	cli = open_client(ipc_url, key);
	assert_int_equal(echo_sync(cli, 0, 0, 0, 0, &r), RPC_OK);
	rpc_reply_clear(&r);
	assert_int_equal(echo_start(cli, a, 6, 200, 5000), 0);
	assert_int_equal(echo_wait(a, 6, 10000), 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(a[i].status, RPC_OK);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

static void test_inline_unknown_method_is_refused(void **state)
{
	static const char *const bad[] = {"Echo", "Ech0", NULL};
	struct rpc_server_opts o = {0};
	struct rpc_server *srv = NULL;
	char err[256] = "";

	(void)state;
	o.url = ipc_url;
	o.service = &echo_service.base;
	o.inline_methods = bad;
	assert_int_equal(rpc_server_start(&srv, &o, err, sizeof(err)), -1);
	assert_null(srv);
	assert_non_null(strstr(err, "\"Ech0\""));
}

static void test_close_cancels_calls_in_flight(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client(ipc_url, key);
	struct echo_call a = {0};

	(void)state;
	wait_connected(cli);
	assert_int_equal(echo_start(cli, &a, 1, 300, 5000), 0);
	rpc_client_close(cli);
	assert_int_equal(a.done, 1);
	assert_int_equal(a.status, RPC_CANCELLED);
	rpc_server_drain(srv, 2000);
	rpc_server_free(srv);
}

/* ------------------------------------------------------------- bundles */

/* One bundled call: what it sent, and what came back, when and on which
 * thread. */
struct bundled_call {
	uint64_t seq;
	uint64_t got_seq;
	char got_payload[32];
	pthread_t thread;
	int status;
	double at;
	int done;
};

static void bundled_done(void *arg, struct rpc_reply *r)
{
	struct bundled_call *c = arg;
	Rpctest__EchoReply *rep = (Rpctest__EchoReply *)r->body;

	c->thread = pthread_self();
	c->status = r->status;
	c->at = echo_now_s();
	if (rep) {
		c->got_seq = rep->seq;
		snprintf(c->got_payload, sizeof(c->got_payload), "%.*s",
			 (int)rep->payload.len,
			 (const char *)rep->payload.data);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
}

/* bundled_wait waits up to wait_ms for the n calls to end; returns how
 * many did. */
static int bundled_wait(struct bundled_call *calls, int n, int wait_ms)
{
	double until = echo_now_s() + wait_ms / 1e3;
	int i, ended;

	do {
		for (ended = 0, i = 0; i < n; i++)
			ended +=
			    __atomic_load_n(&calls[i].done, __ATOMIC_SEQ_CST);
		if (ended == n)
			break;
		usleep(10000);
	} while (echo_now_s() < until);
	return ended;
}

/* Calls past the window wait and go in bundles; each still gets its own
 * answer (checked by sequence number and payload), and the worker saw
 * fewer messages than calls. */
static void test_bundled_calls_each_get_their_own_answer(void **state)
{
	enum { N = 150 };
	struct rpc_server *srv = start_server(ipc_url, 0, 4, 0);
	struct rpc_client *cli = open_client_bundling(ipc_url, key, 1);
	static struct bundled_call calls[N];
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	struct rpc_server_stats st;
	struct rpc_client_stats cs;
	char payload[32], want[32];
	int i;

	(void)state;
	memset(calls, 0, sizeof(calls));
	for (i = 0; i < N; i++) {
		calls[i].seq = 1000 + (uint64_t)i;
		req.seq = calls[i].seq;
		req.sleep_ms = 2;
		snprintf(payload, sizeof(payload), "p%d", i);
		req.payload.data = (uint8_t *)payload;
		req.payload.len = strlen(payload);
		assert_int_equal(
		    rpc_client_call(cli, &rpctest__echo_service__descriptor,
				    "Echo", &req.base, NULL, 0, 0,
				    bundled_done, &calls[i]),
		    0);
	}
	assert_int_equal(bundled_wait(calls, N, 10000), N);
	for (i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "p%d", i);
		if (calls[i].status != RPC_OK ||
		    calls[i].got_seq != calls[i].seq ||
		    strcmp(calls[i].got_payload, want) != 0)
			fail_msg("call %d: %s, seq %llu, payload \"%s\"", i,
				 rpc_status_name(calls[i].status),
				 (unsigned long long)calls[i].got_seq,
				 calls[i].got_payload);
	}
	rpc_server_get_stats(srv, &st);
	assert_true(st.bundles >= 2);
	assert_true(st.bundles < N / 2);
	/* the client's own count: every call went alone or in a bundle,
	 * and the worker saw each bundle (nng may resend one) */
	rpc_client_get_stats(cli, &cs);
	assert_int_equal(cs.messages - cs.bundles + cs.bundled_calls, N);
	assert_true(cs.bundles >= 2);
	assert_true(st.bundles >= cs.bundles);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

/* raw_bundle_exchange sends n sealed calls as one bundle and opens each
 * entry of the answer as a Result (out holds up to RPC_BUNDLE_MAX). */
static int raw_bundle_exchange(struct raw *raw, nng_msg **calls, int n,
			       Namegen__V1__Result **out)
{
	struct rpc_part parts[RPC_BUNDLE_MAX];
	char err[128];
	nng_msg *m;
	int i, k;

	for (i = 0; i < n; i++) {
		parts[i].data = nng_msg_body(calls[i]);
		parts[i].len = nng_msg_len(calls[i]);
	}
	assert_int_equal(rpc_bundle(parts, (size_t)n, &m), 0);
	assert_int_equal(nng_sendmsg(raw->sock, m, 0), 0);
	assert_int_equal(nng_recvmsg(raw->sock, &m, 0), 0);
	k = rpc_unbundle(nng_msg_body(m), nng_msg_len(m), parts,
			 RPC_BUNDLE_MAX, err, sizeof(err));
	assert_true(k > 0);
	for (i = 0; i < k; i++)
		assert_int_equal(rpc_open(key, parts[i].data, parts[i].len,
					  &namegen__v1__result__descriptor,
					  (ProtobufCMessage **)&out[i], err,
					  sizeof(err)),
				 0);
	nng_msg_free(m);
	return k;
}

/* Each call of a bundle is checked and answered on its own: a bad one
 * does not spoil the others, and a resent bundle runs nothing twice. */
static void test_bundle_calls_are_answered_alone(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	int64_t later = rpc_now_ms() + 5000;
	Namegen__V1__Result *res[RPC_BUNDLE_MAX];
	nng_msg *calls[5];
	uint64_t before;
	struct raw raw;
	int i, k, seen[5] = {0};

	(void)state;
	raw_open(&raw, ipc_url);
	calls[0] = sealed_call(key, "EchoService/Echo", 1, later, 10);
	calls[1] = sealed_call(other_key, "EchoService/Echo", 2, later, 10);
	calls[2] = sealed_call(key, "EchoService/Nope", 3, later, 10);
	calls[3] =
	    sealed_call(key, "EchoService/Echo", 4, rpc_now_ms() - 1, 10);
	calls[4] = sealed_call(key, "EchoService/Echo", 5, later, 10);
	before = echo_invocations();
	k = raw_bundle_exchange(&raw, calls, 5, res);
	assert_int_equal(k, 5);
	for (i = 0; i < k; i++) {
		int want = res[i]->call_id == 1 || res[i]->call_id == 5
			       ? RPC_OK
			   : res[i]->call_id == 0 ? RPC_UNAUTHENTICATED
			   : res[i]->call_id == 3 ? RPC_UNIMPLEMENTED
			   : res[i]->call_id == 4 ? RPC_DEADLINE_EXCEEDED
						  : -1;

		if ((int)res[i]->status != want)
			fail_msg("call %llu: %s (%s)",
				 (unsigned long long)res[i]->call_id,
				 rpc_status_name((int)res[i]->status),
				 res[i]->message);
		seen[res[i]->call_id < 5 ? res[i]->call_id : 0]++;
		namegen__v1__result__free_unpacked(res[i], NULL);
	}
	assert_true(echo_invocations() == before + 2);

	/* the same bundle again: answered from the dedup cache */
	k = raw_bundle_exchange(&raw, calls, 5, res);
	assert_int_equal(k, 5);
	for (i = 0; i < k; i++) {
		if (res[i]->call_id == 1 || res[i]->call_id == 5)
			assert_int_equal(res[i]->status, RPC_OK);
		namegen__v1__result__free_unpacked(res[i], NULL);
	}
	assert_true(echo_invocations() == before + 2);
	for (i = 0; i < 5; i++)
		nng_msg_free(calls[i]);
	nng_close(raw.sock);
	rpc_server_free(srv);
}

/* A malformed bundle gets one error naming what is wrong, a bundle in a
 * bundle is refused as an entry, and the worker goes on serving. */
static void test_malformed_bundles_are_refused(void **state)
{
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	int64_t later = rpc_now_ms() + 5000;
	struct rpc_part parts[RPC_BUNDLE_MAX + 1];
	Namegen__V1__Result *res[RPC_BUNDLE_MAX];
	nng_msg *one, *inner, *outer;
	struct raw raw;
	int i;

	(void)state;
	raw_open(&raw, ipc_url);
	one = sealed_call(key, "EchoService/Echo", 1, later, 10);
	assert_int_equal(nng_msg_alloc(&outer, 2), 0);
	memcpy(nng_msg_body(outer), "\x1a\x00", 2); /* an empty entry */
	expect_status(&raw, outer, RPC_INVALID_ARGUMENT, "empty");
	for (i = 0; i < RPC_BUNDLE_MAX + 1; i++) {
		parts[i].data = nng_msg_body(one);
		parts[i].len = nng_msg_len(one);
	}
	assert_int_equal(rpc_bundle(parts, RPC_BUNDLE_MAX + 1, &outer), 0);
	expect_status(&raw, outer, RPC_INVALID_ARGUMENT, "more than 64");

	assert_int_equal(rpc_bundle(parts, 2, &inner), 0);
	assert_int_equal(raw_bundle_exchange(&raw, &inner, 1, res), 1);
	assert_int_equal(res[0]->status, RPC_INVALID_ARGUMENT);
	namegen__v1__result__free_unpacked(res[0], NULL);
	nng_msg_free(inner);

	expect_status(&raw, one, RPC_OK, NULL);
	nng_close(raw.sock);
	rpc_server_free(srv);
}

/* A call waiting for a bundle ends at its own deadline, not when the
 * window frees; and its done runs on another thread than the caller's
 * (it never runs inside rpc_client_call). */
static void test_waiting_bundled_calls_keep_their_deadline(void **state)
{
	enum { N = 70 };
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	/* they wait for room as long as it takes */
	struct rpc_client *cli = open_client_waiting(ipc_url, key, 1, 60000);
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	static struct bundled_call calls[N];
	struct echo_call slow = {0};
	double t0;
	int i;

	(void)state;
	memset(calls, 0, sizeof(calls));
	/* holds the window for 1.5 s */
	assert_int_equal(echo_start(cli, &slow, 1, 1500, 5000), 0);
	t0 = echo_now_s();
	for (i = 0; i < N; i++) {
		req.seq = (uint64_t)i;
		assert_int_equal(
		    rpc_client_call(cli, &rpctest__echo_service__descriptor,
				    "Echo", &req.base, NULL, 0, 100,
				    bundled_done, &calls[i]),
		    0);
		if (i == 10)
			usleep(150000); /* the first ones are late by now */
	}
	assert_int_equal(bundled_wait(calls, N, 1000), N);
	for (i = 0; i < N; i++) {
		assert_int_equal(calls[i].status, RPC_DEADLINE_EXCEEDED);
		assert_false(pthread_equal(calls[i].thread, pthread_self()));
		if (calls[i].at - t0 > 1.0)
			fail_msg("call %d ended after %.0f ms", i,
				 (calls[i].at - t0) * 1e3);
	}
	assert_int_equal(echo_wait(&slow, 1, 3000), 1);
	assert_int_equal(slow.status, RPC_OK);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

/* A call does not wait long for room in the window: with the window held
 * by a call of 1.5 s, the calls behind it go after bundle_wait_ms (200 here)
 * and are answered long before it. */
static void test_waiting_calls_go_after_the_wait(void **state)
{
	enum { N = 8 };
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client_waiting(ipc_url, key, 1, 200);
	struct echo_call slow = {0}, calls[N];
	struct rpc_client_stats cs;
	double t0;
	int i;

	(void)state;
	memset(calls, 0, sizeof(calls));
	wait_connected(cli);
	assert_int_equal(echo_start(cli, &slow, 1, 1500, 5000), 0);
	t0 = echo_now_s();
	assert_int_equal(echo_start(cli, calls, N, 0, 5000), 0);
	assert_int_equal(echo_wait(calls, N, 1000), N);
	for (i = 0; i < N; i++) {
		assert_int_equal(calls[i].status, RPC_OK);
		if (calls[i].at - t0 > 1.0)
			fail_msg("call %d ended after %.0f ms", i,
				 (calls[i].at - t0) * 1e3);
	}
	assert_int_equal(__atomic_load_n(&slow.done, __ATOMIC_SEQ_CST), 0);
	rpc_client_get_stats(cli, &cs);
	assert_int_equal(cs.bundles, 1); /* the N went together */
	assert_int_equal(cs.bundled_calls, N);
	assert_int_equal(echo_wait(&slow, 1, 3000), 1);
	assert_int_equal(slow.status, RPC_OK);
	rpc_client_close(cli);
	rpc_server_free(srv);
}

/* Closing a client ends the calls waiting for a bundle too. */
static void test_close_cancels_waiting_bundled_calls(void **state)
{
	enum { N = 20 };
	struct rpc_server *srv = start_server(ipc_url, 0, 2, 0);
	struct rpc_client *cli = open_client_waiting(ipc_url, key, 1, 60000);
	struct echo_call calls[N];
	int i;

	(void)state;
	memset(calls, 0, sizeof(calls));
	wait_connected(cli);
	assert_int_equal(echo_start(cli, calls, N, 300, 5000), 0);
	rpc_client_close(cli);
	for (i = 0; i < N; i++) {
		assert_int_equal(calls[i].done, 1);
		assert_int_equal(calls[i].status, RPC_CANCELLED);
	}
	rpc_server_drain(srv, 2000);
	rpc_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_roundtrip_inproc, fresh_urls),
	    cmocka_unit_test_setup(test_roundtrip_ipc, fresh_urls),
	    cmocka_unit_test_setup(test_roundtrip_tcp, fresh_urls),
	    cmocka_unit_test_setup(test_handler_failure_carries_status,
				   fresh_urls),
	    cmocka_unit_test_setup(test_client_deadline, fresh_urls),
	    cmocka_unit_test_setup(test_wrong_secret_is_refused_by_client,
				   fresh_urls),
	    cmocka_unit_test_setup(test_no_worker_is_unavailable, fresh_urls),
	    cmocka_unit_test_setup(test_hostile_messages_get_statuses,
				   fresh_urls),
	    cmocka_unit_test_setup(test_resent_call_runs_once, fresh_urls),
	    cmocka_unit_test_setup(
		test_load_spreads_and_survives_a_worker_leaving, fresh_urls),
	    cmocka_unit_test_setup(test_drain_finishes_calls_in_progress,
				   fresh_urls),
	    cmocka_unit_test_setup(test_full_queue_is_resource_exhausted,
				   fresh_urls),
	    cmocka_unit_test_setup(test_inline_method_skips_the_queue,
				   fresh_urls),
	    cmocka_unit_test_setup(test_inline_unknown_method_is_refused,
				   fresh_urls),
	    cmocka_unit_test_setup(test_close_cancels_calls_in_flight,
				   fresh_urls),
	    cmocka_unit_test_setup(
		test_bundled_calls_each_get_their_own_answer, fresh_urls),
	    cmocka_unit_test_setup(test_bundle_calls_are_answered_alone,
				   fresh_urls),
	    cmocka_unit_test_setup(test_malformed_bundles_are_refused,
				   fresh_urls),
	    cmocka_unit_test_setup(test_close_cancels_waiting_bundled_calls,
				   fresh_urls),
	    cmocka_unit_test_setup(
		test_waiting_bundled_calls_keep_their_deadline, fresh_urls),
	    cmocka_unit_test_setup(test_waiting_calls_go_after_the_wait,
				   fresh_urls),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
