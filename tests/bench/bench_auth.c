/* bench_auth.c - load a running auth-service and measure it.
 *
 *   bench_auth whoami|nosession|login|addfav URL CLIENTS SECONDS
 *              [EMAIL PASSWORD]
 *
 * Keeps CLIENTS calls in flight over one RPC client (one nng context
 * each) for SECONDS, then prints one line:
 *
 *   mode=whoami clients=64 calls=123456 errors=0 calls_per_s=41152 \
 *     p50_ms=1.43 p99_ms=3.10
 *
 * It registers EMAIL (if new) and logs in once; whoami and addfav use
 * that session;
 * addfav likes a new name every call (a real insert each time); login
 * logs in every call; nosession calls WhoAmI without a session, which
 * the service refuses before touching Redis (the RPC layer's own cost).
 * RPC_SECRET (or NAMEGEN_DEV=1) as for any client. tests/bench/bench_auth.sh
 * starts everything and prints the table. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config.h"
#include "common/log.h"
#include "common/rpc_client.h"
#include "namegen.pb-c.h"

#define BENCH_SAMPLES_MAX (4 * 1024 * 1024)
#define BENCH_CLIENTS_MAX 1024

enum bench_mode { MODE_WHOAMI, MODE_NOSESSION, MODE_LOGIN, MODE_ADDFAV };

static struct {
	enum bench_mode mode;
	struct rpc_client *cli;
	char token[64];
	const char *email, *password;
	double stop_at;

	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	int inflight;
	float *ms; /* latency of each call */
	size_t n;
	atomic_ulong errors;
	atomic_ulong seq;
} B = {.mu = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_done(void *arg, struct rpc_reply *reply);

/* bench_issue starts one call of the current mode. */
static int bench_issue(void)
{
	const ProtobufCServiceDescriptor *d =
	    &namegen__v1__auth_service__descriptor;
	struct rpc_meta meta[1] = {{RPC_META_SESSION, B.token}};
	char name[48], email[256], password[256];

	switch (B.mode) {
	case MODE_WHOAMI:
	case MODE_NOSESSION: {
		Namegen__V1__WhoAmIRequest q;

		/* without a session the service answers at once: the cost
		 * of the RPC layer alone */
		namegen__v1__who_am_irequest__init(&q);
		return rpc_client_call(B.cli, d, "WhoAmI", &q.base, meta,
				       B.mode == MODE_WHOAMI, 0, bench_done,
				       NULL);
	}
	case MODE_LOGIN: {
		Namegen__V1__LoginRequest q;

		snprintf(email, sizeof(email), "%s", B.email);
		snprintf(password, sizeof(password), "%s", B.password);
		namegen__v1__login_request__init(&q);
		q.email = email;
		q.password = password;
		return rpc_client_call(B.cli, d, "Login", &q.base, NULL, 0, 0,
				       bench_done, NULL);
	}
	case MODE_ADDFAV: {
		Namegen__V1__AddFavoriteRequest q;
		char country[3] = "SE";

		snprintf(name, sizeof(name), "Bench %lu",
			 atomic_fetch_add(&B.seq, 1));
		namegen__v1__add_favorite_request__init(&q);
		q.name = name;
		q.country = country;
		q.gender = NAMEGEN__V1__GENDER__GENDER_FEMALE;
		return rpc_client_call(B.cli, d, "AddFavorite", &q.base, meta,
				       1, 0, bench_done, NULL);
	}
	}
	return RPC_INTERNAL;
}

/* bench_done records a call and starts the next until time is up. It
 * runs on an nng thread; rpc_client_call does not block. */
static void bench_done(void *arg, struct rpc_reply *reply)
{
	bool again;

	(void)arg;
	pthread_mutex_lock(&B.mu);
	if (reply->status !=
	    (B.mode == MODE_NOSESSION ? RPC_UNAUTHENTICATED : RPC_OK))
		atomic_fetch_add(&B.errors, 1);
	else if (B.n < BENCH_SAMPLES_MAX)
		B.ms[B.n++] = (float)reply->latency_ms;
	again = now_s() < B.stop_at;
	if (!again && --B.inflight == 0)
		pthread_cond_signal(&B.done_cv);
	pthread_mutex_unlock(&B.mu);
	if (again && bench_issue() != 0) {
		atomic_fetch_add(&B.errors, 1);
		pthread_mutex_lock(&B.mu);
		if (--B.inflight == 0)
			pthread_cond_signal(&B.done_cv);
		pthread_mutex_unlock(&B.mu);
	}
}

static int bench_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static int bench_login_once(void)
{
	Namegen__V1__RegisterRequest reg;
	Namegen__V1__LoginRequest q;
	char email[256], password[256], user[16] = "bench";
	struct rpc_reply r;
	int st;

	snprintf(email, sizeof(email), "%s", B.email);
	snprintf(password, sizeof(password), "%s", B.password);
	/* the account may exist from an earlier mode of the same run */
	namegen__v1__register_request__init(&reg);
	reg.username = user;
	reg.email = email;
	reg.password = password;
	st =
	    rpc_client_call_sync(B.cli, &namegen__v1__auth_service__descriptor,
				 "RegisterUser", &reg.base, NULL, 0, 0, &r);
	rpc_reply_clear(&r);
	if (st != RPC_OK && st != RPC_ALREADY_EXISTS) {
		fprintf(stderr, "bench_auth: register failed: %s %s\n",
			rpc_status_name(st), r.message);
		return st;
	}
	namegen__v1__login_request__init(&q);
	q.email = email;
	q.password = password;
	st =
	    rpc_client_call_sync(B.cli, &namegen__v1__auth_service__descriptor,
				 "Login", &q.base, NULL, 0, 0, &r);
	if (st == RPC_OK)
		snprintf(B.token, sizeof(B.token), "%s",
			 ((Namegen__V1__LoginReply *)r.body)->token);
	else
		fprintf(stderr, "bench_auth: login failed: %s %s\n",
			rpc_status_name(st), r.message);
	rpc_reply_clear(&r);
	return st;
}

int main(int argc, char **argv)
{
	struct rpc_client_opts o = {0};
	struct config cfg = {0};
	uint8_t key[RPC_KEY_BYTES];
	bool have_key = false;
	char err[256];
	double t0, elapsed, seconds;
	long clients, i;

	if (argc < 5) {
		fprintf(stderr, "usage: bench_auth whoami|nosession|login|"
				"addfav URL "
				"CLIENTS SECONDS [EMAIL PASSWORD]\n");
		return 2;
	}
	log_threshold = LOG_ERROR;
	if (strcmp(argv[1], "login") == 0)
		B.mode = MODE_LOGIN;
	else if (strcmp(argv[1], "addfav") == 0)
		B.mode = MODE_ADDFAV;
	else if (strcmp(argv[1], "nosession") == 0)
		B.mode = MODE_NOSESSION;
	else
		B.mode = MODE_WHOAMI;
	clients = strtol(argv[3], NULL, 10);
	seconds = strtod(argv[4], NULL);
	if (clients < 1 || clients > BENCH_CLIENTS_MAX || seconds <= 0) {
		fprintf(stderr, "bench_auth: bad CLIENTS or SECONDS\n");
		return 2;
	}
	B.email = argc > 5 ? argv[5] : "bench@example.org";
	B.password = argc > 6 ? argv[6] : "bench password";
	config_rpc_secret(&cfg, key, &have_key);
	config_exit_on_error(&cfg);
	o.urls = argv[2];
	o.key = have_key ? key : NULL;
	o.timeout_ms = 30000;
	if (rpc_client_open(&B.cli, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_auth: %s\n", err);
		return 1;
	}
	B.ms = malloc(sizeof(float) * BENCH_SAMPLES_MAX);
	if (!B.ms || bench_login_once() != RPC_OK)
		return 1;

	t0 = now_s();
	B.stop_at = t0 + seconds;
	pthread_mutex_lock(&B.mu);
	B.inflight = (int)clients;
	pthread_mutex_unlock(&B.mu);
	for (i = 0; i < clients; i++)
		if (bench_issue() != 0) {
			atomic_fetch_add(&B.errors, 1);
			pthread_mutex_lock(&B.mu);
			B.inflight--;
			pthread_mutex_unlock(&B.mu);
		}
	pthread_mutex_lock(&B.mu);
	while (B.inflight > 0)
		pthread_cond_wait(&B.done_cv, &B.mu);
	pthread_mutex_unlock(&B.mu);
	elapsed = now_s() - t0;

	qsort(B.ms, B.n, sizeof(float), bench_cmp);
	printf("mode=%s clients=%ld calls=%zu errors=%lu calls_per_s=%.0f "
	       "p50_ms=%.2f p99_ms=%.2f\n",
	       argv[1], clients, B.n, atomic_load(&B.errors),
	       (double)B.n / elapsed, B.n ? B.ms[B.n / 2] : 0.0,
	       B.n ? B.ms[(size_t)((double)B.n * 0.99)] : 0.0);
	rpc_client_close(B.cli);
	free(B.ms);
	return atomic_load(&B.errors) > B.n / 100 ? 1 : 0;
}
