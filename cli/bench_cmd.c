/* bench_cmd.c - namegen-cli bench: keep N clients busy against a worker
 * for a while, and print calls/s, names/s and latency percentiles.
 *
 * Each client has one call in flight at a time and sends its next one
 * from the reply's callback, so the worker always sees N calls. Calls
 * that start during the warm-up are not counted. With --check every
 * Generate asks for a different shape (prefix letter, count, lengths)
 * and every reply is checked against its own request, so a reply given
 * to the wrong caller, a name that breaks its rules or a duplicate is
 * caught and counted as a failure (exit status 1). */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli/cli.h"
#include "namegen-model/sampler.h"
#include "namegen.pb-c.h"

#define BENCH_MAX_CLIENTS    4096
#define BENCH_MAX_SAMPLES    (4u << 20) /* latencies kept (16 MB) */
#define BENCH_MAX_COUNTRIES  16
#define BENCH_PREFIX_LETTERS 26
#define BENCH_ERROR_STATUSES 17

enum bench_method { BM_GENERATE, BM_SCORE, BM_META };

struct bench;

struct client {
	struct bench *b;
	int id;
	struct sampler_rng rng; /* the shapes of --check's requests */
	/* What the call in flight asked for, to check its reply. */
	char prefix[8];
	uint32_t count, min_len, max_len;
	bool counted; /* started after the warm-up */
};

struct bench {
	struct rpc_client *cli;
	enum bench_method method;
	int clients;
	double seconds, warmup;
	uint32_t count, min_len, max_len;
	bool check, json;
	long timeout_ms;
	Namegen__V1__CountryWeight cw[BENCH_MAX_COUNTRIES];
	Namegen__V1__CountryWeight *cwp[BENCH_MAX_COUNTRIES];
	size_t ncountries;
	char letters[BENCH_PREFIX_LETTERS]; /* prefixes the model knows */
	int nletters;
	struct timespec t0;
	atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int inflight;
	float *lat; /* (BENCH_MAX_SAMPLES) ms */
	size_t nlat;
	uint64_t calls, names, chars, incomplete, check_failures;
	uint64_t errors[BENCH_ERROR_STATUSES];
	bool local_failure; /* a call failed on the client's side */
	char first_failure[256];
	struct client *cl;
};

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: namegen-cli bench [options]\n"
		"  --url URL          the worker (default: $MODEL_RPC_URL)\n"
		"  --clients N        concurrent clients (8)\n"
		"  --duration S       measured seconds (5)\n"
		"  --warmup S         seconds before measuring (1)\n"
		"  --method M         generate, score or meta (generate)\n"
		"  -n, --count N      names per Generate (10)\n"
		"  --country CODE[:W] countries of each Generate (DE)\n"
		"  --min N, --max N   name lengths of each Generate\n"
		"  --check            vary every request and check every "
		"reply against it\n"
		"  --timeout MS       deadline of each call (10000)\n"
		"  --json             one JSON document instead of a line\n"
		"Prints clients, calls/s, names/s and latency percentiles "
		"(ms).\n");
}

static double since_s(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* utf8_chars counts the characters of a UTF-8 string. */
static uint32_t utf8_chars(const char *s)
{
	uint32_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* fail_check counts a failed check and keeps the first one's message:
 * problem, after the name in quotes when there is one. Called with
 * b->mu held. */
static void fail_check(struct bench *b, const char *name, const char *problem)
{
	if (b->check_failures++ == 0)
		snprintf(b->first_failure, sizeof(b->first_failure),
			 "%s%s%s%s", name ? "\"" : "", name ? name : "",
			 name ? "\" " : "", problem);
}

/* check_generate holds a reply against what its request asked; called
 * with b->mu held. */
static void check_generate(struct bench *b, const struct client *c,
			   const Namegen__V1__GenerateReply *r)
{
	size_t i, j, plen = strlen(c->prefix);

	if (r->n_names > c->count ||
	    (r->n_names < c->count && !r->incomplete)) {
		fail_check(b, NULL, "a reply with the wrong number of names");
		return;
	}
	for (i = 0; i < r->n_names; i++) {
		const char *nm = r->names[i]->name;
		uint32_t len = utf8_chars(nm);

		if (strncmp(nm, c->prefix, plen) != 0)
			fail_check(b, nm, "lacks its request's prefix");
		else if (len < c->min_len || len > c->max_len)
			fail_check(b, nm, "breaks its length limits");
		for (j = 0; j < i; j++)
			if (strcmp(nm, r->names[j]->name) == 0)
				fail_check(b, nm, "twice in a reply");
	}
}

static void issue(struct client *c);

/* done runs on an nng thread: count the reply, send the next call. */
static void done(void *arg, struct rpc_reply *reply)
{
	struct client *c = arg;
	struct bench *b = c->b;
	bool again;

	pthread_mutex_lock(&b->mu);
	b->local_failure |= cli_failed_locally(reply->status);
	if (c->counted) {
		b->calls++;
		if (b->nlat < BENCH_MAX_SAMPLES)
			b->lat[b->nlat++] = (float)reply->latency_ms;
		if (reply->status != RPC_OK) {
			b->errors[reply->status < BENCH_ERROR_STATUSES
				      ? reply->status
				      : RPC_UNKNOWN]++;
		} else if (b->method == BM_GENERATE) {
			const Namegen__V1__GenerateReply *r =
			    (const void *)reply->body;
			size_t i;

			b->names += r->n_names;
			for (i = 0; i < r->n_names; i++)
				b->chars += utf8_chars(r->names[i]->name);
			b->incomplete += r->incomplete;
			if (b->check)
				check_generate(b, c, r);
		}
	}
	again =
	    !atomic_load(&b->stop) && since_s(&b->t0) < b->warmup + b->seconds;
	if (!again) {
		b->inflight--;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	if (again)
		issue(c);
}

/* issue sends client c's next call; a call that cannot start counts as
 * an error and ends that client. */
static void issue(struct client *c)
{
	struct bench *b = c->b;
	Namegen__V1__GenerateRequest g = NAMEGEN__V1__GENERATE_REQUEST__INIT;
	Namegen__V1__ScoreRequest s = NAMEGEN__V1__SCORE_REQUEST__INIT;
	Namegen__V1__MetaRequest m = NAMEGEN__V1__META_REQUEST__INIT;
	const ProtobufCMessage *req = &m.base;
	const char *method = "Meta";
	int rv;

	c->counted = since_s(&b->t0) >= b->warmup;
	if (b->method == BM_GENERATE) {
		g.countries = b->cwp;
		g.n_countries = b->ncountries;
		g.count = b->count;
		g.min_length = b->min_len;
		g.max_length = b->max_len;
		c->prefix[0] = '\0';
		c->count = b->count;
		c->min_len = 1;
		c->max_len = 1000;
		if (b->check) {
			struct sampler_rng *r = &c->rng;

			// A shape of its own: prefix, count, lengths, seed.
			c->prefix[0] = b->letters[sampler_rng_next(r) %
						  (uint64_t)b->nletters];
			c->prefix[1] = '\0';
			c->count =
			    1 + (uint32_t)(sampler_rng_next(r) % b->count);
			c->min_len = 1 + (uint32_t)(sampler_rng_next(r) % 4);
			c->max_len = c->min_len + 2 +
				     (uint32_t)(sampler_rng_next(r) % 8);
			g.prefix = c->prefix;
			g.count = c->count;
			g.min_length = c->min_len;
			g.max_length = c->max_len;
			g.has_seed = 1;
			g.seed = sampler_rng_next(r);
		}
		req = &g.base;
		method = "Generate";
	} else if (b->method == BM_SCORE) {
		s.name = "Giulia";
		req = &s.base;
		method = "Score";
	}
	rv =
	    rpc_client_call(b->cli, &namegen__v1__model_service__descriptor,
			    method, req, NULL, 0, (int)b->timeout_ms, done, c);
	if (rv != RPC_OK) {
		pthread_mutex_lock(&b->mu);
		b->errors[rv < BENCH_ERROR_STATUSES ? rv : RPC_UNKNOWN]++;
		b->local_failure = true;
		b->inflight--;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
	}
}

/* fetch_letters asks Meta for the alphabet and keeps the capital ASCII
 * letters, the prefixes --check uses. */
static int fetch_letters(struct bench *b)
{
	Namegen__V1__MetaRequest m = NAMEGEN__V1__META_REQUEST__INIT;
	struct rpc_reply r;
	const char *a;

	rpc_client_call_sync(b->cli, &namegen__v1__model_service__descriptor,
			     "Meta", &m.base, NULL, 0, (int)b->timeout_ms, &r);
	if (r.status != RPC_OK) {
		fprintf(stderr, "namegen-cli: Meta: %s: %s\n",
			rpc_status_name(r.status), r.message);
		return CLI_EXIT_SERVER;
	}
	for (a = ((Namegen__V1__MetaReply *)r.body)->alphabet; *a; a++)
		if (*a >= 'A' && *a <= 'Z' &&
		    b->nletters < BENCH_PREFIX_LETTERS)
			b->letters[b->nletters++] = *a;
	rpc_reply_clear(&r);
	if (b->nletters == 0) {
		fprintf(stderr, "namegen-cli: --check needs a model whose "
				"alphabet has capital letters A-Z\n");
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

static int cmp_float(const void *x, const void *y)
{
	float a = *(const float *)x, c = *(const float *)y;

	return (a > c) - (a < c);
}

static double percentile(const float *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0.0;
	i = (size_t)ceil(p / 100.0 * (double)n);
	return v[i ? i - 1 : 0];
}

static int report(struct bench *b, double seconds)
{
	uint64_t errors = 0;
	double p50, p90, p99, max, cps, nps, cpn;
	int i;

	qsort(b->lat, b->nlat, sizeof(float), cmp_float);
	p50 = percentile(b->lat, b->nlat, 50);
	p90 = percentile(b->lat, b->nlat, 90);
	p99 = percentile(b->lat, b->nlat, 99);
	max = b->nlat ? b->lat[b->nlat - 1] : 0.0;
	for (i = 0; i < BENCH_ERROR_STATUSES; i++)
		errors += b->errors[i];
	cps = (double)b->calls / seconds;
	nps = (double)b->names / seconds;
	cpn = b->names ? (double)b->chars / (double)b->names : 0.0;
	if (b->json) {
		json_t *doc = json_pack(
		    "{s:i, s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, "
		    "s:I, s:I, s:I}",
		    "clients", b->clients, "seconds", seconds, "calls",
		    (json_int_t)b->calls, "calls_per_s", cps, "names_per_s",
		    nps, "chars_per_name", cpn, "p50_ms", p50, "p90_ms", p90,
		    "p99_ms", p99, "max_ms", max, "errors", (json_int_t)errors,
		    "incomplete", (json_int_t)b->incomplete, "check_failures",
		    (json_int_t)b->check_failures);
		char *s = doc ? json_dumps(doc, 0) : NULL;

		json_decref(doc);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		printf("clients=%d seconds=%.2f calls=%llu calls_per_s=%.1f "
		       "names_per_s=%.1f chars_per_name=%.2f p50_ms=%.2f "
		       "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%llu "
		       "incomplete=%llu check_failures=%llu\n",
		       b->clients, seconds, (unsigned long long)b->calls, cps,
		       nps, cpn, p50, p90, p99, max,
		       (unsigned long long)errors,
		       (unsigned long long)b->incomplete,
		       (unsigned long long)b->check_failures);
	}
	for (i = 0; i < BENCH_ERROR_STATUSES; i++)
		if (b->errors[i])
			fprintf(stderr, "namegen-cli: %llu calls ended %s\n",
				(unsigned long long)b->errors[i],
				rpc_status_name(i));
	if (b->check_failures)
		fprintf(stderr,
			"namegen-cli: %llu check failures; the first: "
			"%s\n",
			(unsigned long long)b->check_failures,
			b->first_failure);
	if (b->calls == 0)
		fprintf(stderr, "namegen-cli: no call was measured\n");
	return errors || b->check_failures || b->calls == 0 ? CLI_EXIT_SERVER
							    : CLI_EXIT_OK;
}

static int parse_bench(struct bench *b, const char **url, int argc,
		       char **argv)
{
	static const struct option longs[] = {
	    {"url", 1, 0, 'u'},	     {"clients", 1, 0, 'c'},
	    {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'},
	    {"method", 1, 0, 'm'},   {"count", 1, 0, 'n'},
	    {"country", 1, 0, 'C'},  {"check", 0, 0, 'k'},
	    {"timeout", 1, 0, 't'},  {"json", 0, 0, 'j'},
	    {"help", 0, 0, 'h'},     {"min", 1, 0, 'a'},
	    {"max", 1, 0, 'b'},	     {0, 0, 0, 0},
	};
	double d;
	long v;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:", longs, NULL)) != -1) {
		switch (c) {
		case 'u':
			*url = optarg;
			break;
		case 'c':
			if (!cli_parse_long("--clients", optarg, 1,
					    BENCH_MAX_CLIENTS, &v))
				return CLI_EXIT_USAGE;
			b->clients = (int)v;
			break;
		case 'd':
		case 'w':
			if (!cli_parse_double(c == 'd' ? "--duration"
						       : "--warmup",
					      optarg, 0.0, 86400.0, &d))
				return CLI_EXIT_USAGE;
			*(c == 'd' ? &b->seconds : &b->warmup) = d;
			break;
		case 'm':
			if (strcmp(optarg, "generate") == 0)
				b->method = BM_GENERATE;
			else if (strcmp(optarg, "score") == 0)
				b->method = BM_SCORE;
			else if (strcmp(optarg, "meta") == 0)
				b->method = BM_META;
			else {
				fprintf(stderr, "namegen-cli: --method is "
						"generate, score or meta\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 'n':
			if (!cli_parse_long("--count", optarg, 1, 100, &v))
				return CLI_EXIT_USAGE;
			b->count = (uint32_t)v;
			break;
		case 'C': {
			Namegen__V1__CountryWeight *cw = &b->cw[b->ncountries];
			char *colon = strchr(optarg, ':');

			if (b->ncountries == BENCH_MAX_COUNTRIES) {
				fprintf(stderr,
					"namegen-cli: at most %d "
					"--country\n",
					BENCH_MAX_COUNTRIES);
				return CLI_EXIT_USAGE;
			}
			namegen__v1__country_weight__init(cw);
			if (colon) {
				*colon = '\0';
				if (!cli_parse_double("--country's weight",
						      colon + 1, 0.0, 1e6, &d))
					return CLI_EXIT_USAGE;
				cw->weight = (float)d;
			}
			cw->code = optarg;
			b->cwp[b->ncountries++] = cw;
			break;
		}
		case 'a':
		case 'b':
			if (!cli_parse_long(c == 'a' ? "--min" : "--max",
					    optarg, 0, 1000, &v))
				return CLI_EXIT_USAGE;
			*(c == 'a' ? &b->min_len : &b->max_len) = (uint32_t)v;
			break;
		case 'k':
			b->check = true;
			break;
		case 't':
			if (!cli_parse_long("--timeout", optarg, 1, 600000,
					    &b->timeout_ms))
				return CLI_EXIT_USAGE;
			break;
		case 'j':
			b->json = true;
			break;
		case 'h':
			bench_usage(stdout);
			return -1;
		default:
			fprintf(stderr,
				"namegen-cli: unknown or incomplete "
				"option \"%s\" for bench\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"namegen-cli: bench takes no argument "
			"\"%s\"\n",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (b->check && (b->min_len || b->max_len)) {
		fprintf(stderr, "namegen-cli: --check picks its own lengths; "
				"leave out --min and --max\n");
		return CLI_EXIT_USAGE;
	}
	if (b->check && b->method != BM_GENERATE) {
		fprintf(stderr, "namegen-cli: --check is for --method "
				"generate\n");
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

int cli_bench(int argc, char **argv)
{
	static char default_country[] = "DE";
	struct bench *b = calloc(1, sizeof(*b));
	const char *url = NULL;
	double seconds;
	int rc, i;

	if (!b) {
		fprintf(stderr, "namegen-cli: out of memory\n");
		return CLI_EXIT_SERVER;
	}
	b->clients = 8;
	b->seconds = 5.0;
	b->warmup = 1.0;
	b->count = 10;
	b->timeout_ms = 10000;
	rc = parse_bench(b, &url, argc, argv);
	if (rc != CLI_EXIT_OK) {
		free(b);
		return rc < 0 ? CLI_EXIT_OK : rc;
	}
	if (b->ncountries == 0) {
		namegen__v1__country_weight__init(&b->cw[0]);
		b->cw[0].code = default_country;
		b->cwp[0] = &b->cw[0];
		b->ncountries = 1;
	}
	b->lat = malloc(BENCH_MAX_SAMPLES * sizeof(float));
	b->cl = calloc((size_t)b->clients, sizeof(*b->cl));
	if (!b->lat || !b->cl) {
		fprintf(stderr, "namegen-cli: out of memory\n");
		rc = CLI_EXIT_SERVER;
		goto out;
	}
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	rc =
	    cli_open_client(&b->cli, url, "MODEL_RPC_URL", (int)b->timeout_ms);
	if (rc != CLI_EXIT_OK)
		goto out_sync;
	if (b->check && (rc = fetch_letters(b)) != CLI_EXIT_OK)
		goto out_sync;

	// Every client starts; each keeps one call in flight until the end.
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	b->inflight = b->clients;
	for (i = 0; i < b->clients; i++) {
		b->cl[i].b = b;
		b->cl[i].id = i;
		sampler_rng_seed(&b->cl[i].rng, 0x6e616d6567656eULL,
				 (uint64_t)i);
	}
	for (i = 0; i < b->clients; i++)
		issue(&b->cl[i]);
	pthread_mutex_lock(&b->mu);
	while (b->inflight > 0)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	seconds = since_s(&b->t0) - b->warmup;
	rc = report(b, seconds > 0 ? seconds : 1e-9);
out_sync:
	cli_close_client(b->cli, b->local_failure);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
out:
	free(b->lat);
	free(b->cl);
	free(b);
	return rc;
}
