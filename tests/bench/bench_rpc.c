/* bench_rpc.c - round trips through the RPC layer beside bare nng.
 *
 * For ipc:// and tcp://, with 1 and 64 calls in flight over one socket,
 * it measures calls/s and p50/p99 latency of:
 *   bare      nng req/rep contexts echoing the payload, nothing else;
 *   envelope  rpc_client -> rpc_server (sealed Call with MAC, dedup,
 *             dispatch through the service descriptor to EchoService,
 *             sealed Result) and back, handlers inline (as the model
 *             worker runs them: they only hand calls to its batcher);
 *   env+pool  the same with handlers on the server's thread pool (as the
 *             auth-service runs them, since its handlers block);
 *   bundled   envelope, with the client bundling Echo past a window of 2
 *             messages in flight (as the gateway sends WhoAmI).
 * Both run in this process with the same payload, one after the other,
 * so the ratio is measured on the same machine in the same minute.
 *
 *   bench_rpc [seconds per run, default 3] [payload bytes, default 64]
 *             [rounds, default 3]
 * Each row is the median of the rounds, the modes taking turns. */
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "common/log.h"
#include "common/rpc_client.h"
#include "common/rpc_server.h"
#include "tests/support/echo_service.h"

#define MAX_INFLIGHT  64
#define MAX_SAMPLES   (4 * 1024 * 1024)
#define BARE_CONTEXTS 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------ latency record */

struct record {
	pthread_mutex_t mu;
	float *us; /* one sample per call, microseconds */
	size_t n;
	double stop_at;
	int inflight;
	pthread_cond_t cv;
	atomic_int errors;
};

static void record_add(struct record *r, double us)
{
	pthread_mutex_lock(&r->mu);
	if (r->n < MAX_SAMPLES)
		r->us[r->n++] = (float)us;
	pthread_mutex_unlock(&r->mu);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

struct result {
	double calls_per_s, p50_us, p99_us;
	int errors;
};

static struct result record_summary(struct record *r, double seconds)
{
	struct result res = {0};

	qsort(r->us, r->n, sizeof(float), cmp_float);
	res.calls_per_s = (double)r->n / seconds;
	if (r->n) {
		res.p50_us = r->us[r->n / 2];
		res.p99_us = r->us[(size_t)((double)r->n * 0.99)];
	}
	res.errors = atomic_load(&r->errors);
	return res;
}

static void record_wait_idle(struct record *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->inflight > 0)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
}

/* ---------------------------------------------------------- bare nng */

struct bare_srv_ctx {
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
};

static void bare_srv_cb(void *arg)
{
	struct bare_srv_ctx *c = arg;

	if (nng_aio_result(c->aio) != 0) {
		if (c->sending) {
			nng_msg_free(nng_aio_get_msg(c->aio));
			c->sending = 0;
			nng_ctx_recv(c->ctx, c->aio);
		}
		return; /* closed */
	}
	if (c->sending) {
		c->sending = 0;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	/* echo the request as it came */
	c->sending = 1;
	nng_ctx_send(c->ctx, c->aio);
}

struct bare_cli_ctx {
	struct record *rec;
	nng_ctx ctx;
	nng_aio *aio;
	int receiving;
	double t0;
	size_t payload;
};

static void bare_cli_send(struct bare_cli_ctx *c)
{
	nng_msg *m;

	if (now_s() >= c->rec->stop_at || nng_msg_alloc(&m, c->payload)) {
		pthread_mutex_lock(&c->rec->mu);
		c->rec->inflight--;
		pthread_cond_signal(&c->rec->cv);
		pthread_mutex_unlock(&c->rec->mu);
		return;
	}
	memset(nng_msg_body(m), 0x5a, c->payload);
	c->receiving = 0;
	c->t0 = now_s();
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

static void bare_cli_cb(void *arg)
{
	struct bare_cli_ctx *c = arg;

	if (nng_aio_result(c->aio) != 0) {
		if (!c->receiving)
			nng_msg_free(nng_aio_get_msg(c->aio));
		atomic_fetch_add(&c->rec->errors, 1);
		bare_cli_send(c);
		return;
	}
	if (!c->receiving) {
		c->receiving = 1;
		nng_ctx_recv(c->ctx, c->aio);
		return;
	}
	nng_msg_free(nng_aio_get_msg(c->aio));
	record_add(c->rec, (now_s() - c->t0) * 1e6);
	bare_cli_send(c);
}

static struct result run_bare(const char *listen, int tcp, int inflight,
			      double seconds, size_t payload,
			      struct record *rec)
{
	static struct bare_srv_ctx sc[BARE_CONTEXTS];
	static struct bare_cli_ctx cc[MAX_INFLIGHT];
	nng_socket srv, cli;
	nng_listener l;
	char url[128];
	int i, port;

	nng_rep0_open(&srv);
	if (nng_listen(srv, listen, &l, 0) != 0) {
		fprintf(stderr, "bench_rpc: cannot listen on %s\n", listen);
		exit(1);
	}
	snprintf(url, sizeof(url), "%s", listen);
	if (tcp && nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	for (i = 0; i < BARE_CONTEXTS; i++) {
		nng_aio_alloc(&sc[i].aio, bare_srv_cb, &sc[i]);
		nng_ctx_open(&sc[i].ctx, srv);
		sc[i].sending = 0;
		nng_ctx_recv(sc[i].ctx, sc[i].aio);
	}
	nng_req0_open(&cli);
	nng_dial(cli, url, NULL, 0);

	rec->n = 0;
	atomic_store(&rec->errors, 0);
	rec->inflight = inflight;
	rec->stop_at = now_s() + seconds;
	for (i = 0; i < inflight; i++) {
		cc[i].rec = rec;
		cc[i].payload = payload;
		nng_aio_alloc(&cc[i].aio, bare_cli_cb, &cc[i]);
		nng_aio_set_timeout(cc[i].aio, 5000);
		nng_ctx_open(&cc[i].ctx, cli);
	}
	for (i = 0; i < inflight; i++)
		bare_cli_send(&cc[i]);
	record_wait_idle(rec);

	nng_close(cli);
	nng_close(srv);
	for (i = 0; i < inflight; i++) {
		nng_aio_stop(cc[i].aio);
		nng_aio_free(cc[i].aio);
	}
	for (i = 0; i < BARE_CONTEXTS; i++) {
		nng_aio_stop(sc[i].aio);
		nng_aio_free(sc[i].aio);
	}
	return record_summary(rec, seconds);
}

/* ---------------------------------------------------------- envelope */

struct env_slot {
	struct record *rec;
	struct rpc_client *cli;
	double t0;
	uint8_t *payload;
	size_t len;
};

static void env_send(struct env_slot *s);

static void env_done(void *arg, struct rpc_reply *r)
{
	struct env_slot *s = arg;

	if (r->status != RPC_OK)
		atomic_fetch_add(&s->rec->errors, 1);
	else
		record_add(s->rec, (now_s() - s->t0) * 1e6);
	env_send(s);
}

static void env_send(struct env_slot *s)
{
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;

	if (now_s() >= s->rec->stop_at)
		goto idle;
	req.payload.data = s->payload;
	req.payload.len = s->len;
	s->t0 = now_s();
	if (rpc_client_call(s->cli, &rpctest__echo_service__descriptor, "Echo",
			    &req.base, NULL, 0, 5000, env_done, s) == 0)
		return;
	atomic_fetch_add(&s->rec->errors, 1);
idle:
	pthread_mutex_lock(&s->rec->mu);
	s->rec->inflight--;
	pthread_cond_signal(&s->rec->cv);
	pthread_mutex_unlock(&s->rec->mu);
}

static struct result run_envelope(const char *listen, int tcp, int inflight,
				  double seconds, size_t payload,
				  struct record *rec, const uint8_t *key,
				  bool inline_handlers, int bundle_window)
{
	static const char *const bundled[] = {"Echo", NULL};
	static struct env_slot slots[MAX_INFLIGHT];
	struct rpc_server_opts so = {0};
	struct rpc_client_opts co = {0};
	struct rpc_server *srv;
	struct rpc_client *cli;
	struct rpc_reply warm;
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	uint8_t *buf = malloc(payload);
	char err[256], url[128];
	int i;

	memset(buf, 0x5a, payload);
	so.url = listen;
	so.key = key;
	so.service = &echo_service.base;
	so.contexts = 128;
	so.threads = 2;
	so.inline_handlers = inline_handlers;
	if (rpc_server_start(&srv, &so, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_rpc: %s\n", err);
		exit(1);
	}
	snprintf(url, sizeof(url), "%s", listen);
	if (tcp)
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d",
			 rpc_server_bound_port(srv));
	co.urls = url;
	co.key = key;
	if (bundle_window > 0) {
		co.bundle_methods = bundled;
		co.bundle_window = bundle_window;
	}
	if (rpc_client_open(&cli, &co, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_rpc: %s\n", err);
		exit(1);
	}
	/* wait for the connection before the clock starts */
	rpc_client_call_sync(cli, &rpctest__echo_service__descriptor, "Echo",
			     &req.base, NULL, 0, 5000, &warm);
	rpc_reply_clear(&warm);

	rec->n = 0;
	atomic_store(&rec->errors, 0);
	rec->inflight = inflight;
	rec->stop_at = now_s() + seconds;
	for (i = 0; i < inflight; i++) {
		slots[i] = (struct env_slot){rec, cli, 0, buf, payload};
		env_send(&slots[i]);
	}
	record_wait_idle(rec);
	rpc_client_close(cli);
	rpc_server_free(srv);
	free(buf);
	return record_summary(rec, seconds);
}

#define BENCH_ROUNDS_MAX 9

/* median_result returns the round with the median calls/s. */
static struct result median_result(const struct result *r, int n)
{
	struct result s[BENCH_ROUNDS_MAX], tmp;
	int i, j;

	memcpy(s, r, sizeof(*r) * (size_t)n);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && s[j].calls_per_s < s[j - 1].calls_per_s;
		     j--) {
			tmp = s[j];
			s[j] = s[j - 1];
			s[j - 1] = tmp;
		}
	return s[n / 2];
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	size_t payload = argc > 2 ? (size_t)atol(argv[2]) : 64;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	static const char *const modes[] = {"bare", "envelope", "env+pool",
					    "bundled"};
	static const int inflights[] = {1, 64};
	uint8_t key[RPC_KEY_BYTES];
	struct record rec = {0};
	char ipc[128];
	double ratio[2][2] = {{0}}, pratio[2][2] = {{0}}, bratio[2][2] = {{0}};
	int t, k;

	if (sodium_init() < 0 || seconds <= 0 || rounds < 1 ||
	    rounds > BENCH_ROUNDS_MAX) {
		fprintf(stderr,
			"usage: bench_rpc [seconds] [payload bytes] "
			"[rounds 1..%d]\n",
			BENCH_ROUNDS_MAX);
		return 2;
	}
	log_threshold = LOG_WARN;
	randombytes_buf(key, sizeof(key));
	pthread_mutex_init(&rec.mu, NULL);
	pthread_cond_init(&rec.cv, NULL);
	rec.us = malloc(sizeof(float) * MAX_SAMPLES);
	snprintf(ipc, sizeof(ipc), "ipc:///tmp/ng-bench-rpc-%d.ipc",
		 (int)getpid());

	printf("RPC round trips, %zu-byte payload, %.1f s per run, median of "
	       "%d interleaved rounds, %ld cores\n\n",
	       payload, seconds, rounds, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-9s %8s  %-9s %10s %9s %9s %7s\n", "transport", "inflight",
	       "mode", "calls/s", "p50_us", "p99_us", "errors");
	for (t = 0; t < 2; t++) {
		const char *url = t == 0 ? ipc : "tcp://127.0.0.1:0";

		for (k = 0; k < 2; k++) {
			struct result r[4][BENCH_ROUNDS_MAX], med[4];
			int m, round;

			if (getenv("BENCH_ONLY_INFLIGHT") &&
			    atoi(getenv("BENCH_ONLY_INFLIGHT")) !=
				inflights[k])
				continue;
			/* The four modes take turns, round after round, so
			 * that a burst of load elsewhere on the machine hits
			 * them alike; each row is the median round. */
			for (round = 0; round < rounds; round++) {
				r[0][round] = run_bare(url, t, inflights[k],
						       seconds, payload, &rec);
				r[1][round] =
				    run_envelope(url, t, inflights[k], seconds,
						 payload, &rec, key, true, 0);
				r[2][round] =
				    run_envelope(url, t, inflights[k], seconds,
						 payload, &rec, key, false, 0);
				r[3][round] =
				    run_envelope(url, t, inflights[k], seconds,
						 payload, &rec, key, true, 2);
			}
			for (m = 0; m < 4; m++) {
				med[m] = median_result(r[m], rounds);
				printf(
				    "%-9s %8d  %-9s %10.0f %9.1f %9.1f %7d\n",
				    t ? "tcp" : "ipc", inflights[k], modes[m],
				    med[m].calls_per_s, med[m].p50_us,
				    med[m].p99_us, med[m].errors);
			}
			ratio[t][k] = med[1].calls_per_s / med[0].calls_per_s;
			pratio[t][k] = med[2].calls_per_s / med[0].calls_per_s;
			bratio[t][k] = med[3].calls_per_s / med[0].calls_per_s;
		}
	}
	printf("\nthroughput as a share of bare nng (target for envelope at "
	       "64 in flight: >= 75%%):\n");
	for (t = 0; t < 2; t++)
		printf("  %s: envelope %.0f%% / %.0f%%, env+pool %.0f%% / "
		       "%.0f%%, bundled %.0f%% / %.0f%% (1 / 64 in flight)\n",
		       t ? "tcp" : "ipc", 100 * ratio[t][0], 100 * ratio[t][1],
		       100 * pratio[t][0], 100 * pratio[t][1],
		       100 * bratio[t][0], 100 * bratio[t][1]);
	free(rec.us);
	return 0;
}
