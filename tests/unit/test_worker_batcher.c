/* test_worker_batcher.c - the continuous batcher on a small random model:
 * every name obeys its request (prefix, lengths, count, unique, novel),
 * each name's log_prob is the model's own (checked against gru_score,
 * which proves that sequences joining and leaving the batch keep their
 * own state), a seed gives the same names alone and in a crowded batch,
 * and with the step split over several threads, budgets end in an
 * incomplete reply, and deadlines, a full queue and
 * shutdown end requests the way batcher.h says. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/rpc.h"
#include "namegen-model/batcher.h"
#include "namegen-model/gru.h"
#include "namegen-model/model_file.h"
#include "tests/unit/test_worker_model.h"

/* What a request ended with, copied out of the callback. */
struct outcome {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls;
	enum batch_status status;
	int n;
	struct batch_name names[BATCH_MAX_COUNT];
	bool incomplete;
	char reason[BATCH_REASON_MAX];
	uint32_t attempts;
};

static void on_done(void *arg, const struct batch_result *res)
{
	struct outcome *o = arg;

	pthread_mutex_lock(&o->mu);
	o->calls++;
	o->status = res->status;
	o->n = res->n;
	memcpy(o->names, res->names, (size_t)res->n * sizeof(o->names[0]));
	o->incomplete = res->incomplete;
	snprintf(o->reason, sizeof(o->reason), "%s", res->reason);
	o->attempts = res->attempts;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

static struct outcome *outcome_new(void)
{
	struct outcome *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	return o;
}

static void outcome_wait(struct outcome *o)
{
	pthread_mutex_lock(&o->mu);
	while (o->calls == 0)
		pthread_cond_wait(&o->cv, &o->mu);
	pthread_mutex_unlock(&o->mu);
}

static void outcome_free(struct outcome *o)
{
	pthread_mutex_destroy(&o->mu);
	pthread_cond_destroy(&o->cv);
	free(o);
}

/* spec_for fills a request with defaults and a prefix (UTF-8). */
static void spec_for(const struct model *m, struct batch_spec *s,
		     const char *prefix, int count, uint64_t seed)
{
	char err[256];
	int n;

	memset(s, 0, sizeof(*s));
	n = alphabet_encode(model_alphabet(m), prefix, strlen(prefix),
			    s->prefix, MODEL_MAX_NAME_CHARS, err, sizeof(err));
	assert_true(n >= 0);
	s->prefix_len = n;
	s->min_len = 1;
	s->max_len = MAX_LEN;
	s->count = count;
	s->rules.temperature = 1.0f;
	s->unique = true;
	s->seed = seed;
}

static void cond_for(const struct model *m, float *cond, int country,
		     int gender)
{
	float w = 1.0f;
	char err[256];

	assert_int_equal(gru_condition(model_gru(m), cond, 1, &country, &w,
				       gender, err, sizeof(err)),
			 0);
}

static struct batcher *start(const struct model *m, int batch_max,
			     int queue_max)
{
	struct batcher_opts o = {
	    .model = m, .batch_max = batch_max, .queue_max = queue_max};
	struct batcher *b = NULL;
	char err[256];

	assert_int_equal(batcher_start(&b, &o, err, sizeof(err)), 0);
	return b;
}

/* run submits one request and waits for it. */
static struct outcome *run(struct batcher *b, const struct batch_spec *s,
			   const float *cond)
{
	struct outcome *o = outcome_new();

	assert_int_equal(batcher_submit(b, s, cond, on_done, o), 0);
	outcome_wait(o);
	assert_int_equal(o->calls, 1);
	return o;
}

static int utf8_chars(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* model_logp is the log-probability of name under cond, by gru_score. */
static double model_logp(const struct model *m, const float *cond,
			 const char *name)
{
	const struct gru *g = model_gru(m);
	int tokens[MODEL_MAX_NAME_CHARS], n;
	float *scratch = calloc(gru_score_scratch_floats(g, 1), sizeof(float));
	double logp;
	char err[256];

	assert_non_null(scratch);
	n = alphabet_encode(model_alphabet(m), name, strlen(name), tokens,
			    MODEL_MAX_NAME_CHARS, err, sizeof(err));
	assert_true(n > 0);
	gru_score(g, 1, cond, tokens, n, &logp, scratch);
	free(scratch);
	return logp;
}

/* Prefix, lengths, count and uniqueness hold, flags and log-probs are
 * the model's. */
static void test_rules_and_logprob(void **state)
{
	struct model *m = make_model(7);
	struct batcher *b = start(m, 5, 16);
	float cond[3 * 12];
	struct batch_spec s;
	struct outcome *o;
	int i, j;

	(void)state;
	cond_for(m, cond, 1, GRU_GENDER_F);
	spec_for(m, &s, "é", 12, 99);
	s.min_len = 3;
	s.max_len = 6;
	s.rules.temperature = 1.5f;
	o = run(b, &s, cond);
	assert_int_equal(o->status, BATCH_DONE);
	assert_true(o->n > 0 && o->n <= 12);
	assert_true(o->n == 12 || o->incomplete);
	for (i = 0; i < o->n; i++) {
		const char *nm = o->names[i].text;
		int len = utf8_chars(nm);
		double lp = model_logp(m, cond, nm);

		assert_memory_equal(nm, "é", strlen("é"));
		assert_true(len >= 3 && len <= 6);
		for (j = 0; j < i; j++)
			assert_string_not_equal(nm, o->names[j].text);
		assert_int_equal(o->names[i].in_training_data,
				 model_has_name(m, nm, strlen(nm)));
		// Batched sampling and one-at-a-time scoring agree.
		assert_true(fabs(lp - o->names[i].log_prob) < 1e-3);
		assert_true(o->names[i].log_prob < 0.0f);
	}
	outcome_free(o);
	batcher_free(b);
	model_free(m);
}

/* The same seed gives the same names alone and in a crowded batch with
 * a small size limit (so requests join part by part). */
static void test_seed_is_deterministic(void **state)
{
	struct model *m = make_model(11);
	struct batcher *alone = start(m, 256, 64), *crowd = start(m, 7, 64);
	struct outcome *a, *c, *others[20];
	float cond[3 * 12], cond2[3 * 12];
	struct batch_spec s, s2;
	int i;

	(void)state;
	cond_for(m, cond, 2, GRU_GENDER_ANY);
	cond_for(m, cond2, 0, GRU_GENDER_M);
	spec_for(m, &s, "", 15, 12345);
	a = run(alone, &s, cond);

	// Others first, so the request joins a busy batch.
	for (i = 0; i < 20; i++) {
		others[i] = outcome_new();
		spec_for(m, &s2, i % 2 ? "b" : "", 1 + i % 9, (uint64_t)i);
		assert_int_equal(
		    batcher_submit(crowd, &s2, cond2, on_done, others[i]), 0);
	}
	c = outcome_new();
	assert_int_equal(batcher_submit(crowd, &s, cond, on_done, c), 0);
	outcome_wait(c);
	for (i = 0; i < 20; i++) {
		outcome_wait(others[i]);
		outcome_free(others[i]);
	}
	assert_int_equal(a->n, c->n);
	assert_int_equal(a->attempts, c->attempts);
	for (i = 0; i < a->n; i++) {
		assert_string_equal(a->names[i].text, c->names[i].text);
		assert_true(fabsf(a->names[i].log_prob -
				  c->names[i].log_prob) < 1e-4f);
	}

	// A different seed gives a different list.
	s.seed = 54321;
	outcome_free(c);
	c = run(alone, &s, cond);
	for (i = 0; i < a->n && i < c->n; i++)
		if (strcmp(a->names[i].text, c->names[i].text) != 0)
			break;
	assert_true(i < a->n || a->n != c->n);
	outcome_free(a);
	outcome_free(c);
	batcher_free(alone);
	batcher_free(crowd);
	model_free(m);
}

/* run_crowd submits N_CROWD requests at once to b (many sequences, so
 * a step has rows for every thread) and waits for all of them. */
#define N_CROWD 12
static void run_crowd(const struct model *m, struct batcher *b,
		      const float *cond, struct outcome **o)
{
	static const char *const prefixes[] = {"", "a", "bé", "c"};
	struct batch_spec s;
	int i;

	for (i = 0; i < N_CROWD; i++) {
		o[i] = outcome_new();
		spec_for(m, &s, prefixes[i % 4], 20, 1000 + (uint64_t)i);
		s.rules.temperature = i % 3 ? 1.0f : 0.8f;
		s.rules.top_k = i % 5 == 4 ? 4 : 0;
		assert_int_equal(batcher_submit(b, &s, cond, on_done, o[i]),
				 0);
	}
	for (i = 0; i < N_CROWD; i++)
		outcome_wait(o[i]);
}

/* The step split over several threads gives the same names, with the
 * same log-probabilities, as one thread: each sequence keeps its own
 * generator and its rows' arithmetic does not depend on the split. And
 * every name's log_prob is still the model's (rows stay with their
 * sequences). */
static void test_threads_same_names(void **state)
{
	struct model *m = make_model(21);
	struct batcher_opts o1 = {.model = m, .batch_max = 256, .threads = 1};
	struct batcher_opts o3 = {.model = m, .batch_max = 256, .threads = 3};
	struct batcher *b1 = NULL, *b3 = NULL;
	struct outcome *a[N_CROWD], *c[N_CROWD];
	struct batcher_stats st;
	float cond[3 * 12];
	char err[256];
	int i, k, names = 0;

	(void)state;
	assert_int_equal(batcher_start(&b1, &o1, err, sizeof(err)), 0);
	o3.spin_us = 1; // the futex path as well
	assert_int_equal(batcher_start(&b3, &o3, err, sizeof(err)), 0);
	cond_for(m, cond, 1, GRU_GENDER_ANY);
	run_crowd(m, b1, cond, a);
	run_crowd(m, b3, cond, c);
	batcher_get_stats(b3, &st);
	assert_true(st.live_max >= 3 * BATCH_MIN_PART_ROWS);
	for (i = 0; i < N_CROWD; i++) {
		assert_int_equal(a[i]->n, c[i]->n);
		assert_int_equal(a[i]->attempts, c[i]->attempts);
		for (k = 0; k < a[i]->n; k++) {
			const struct batch_name *x = &a[i]->names[k];
			const struct batch_name *y = &c[i]->names[k];

			assert_string_equal(x->text, y->text);
			assert_true(fabsf(x->log_prob - y->log_prob) < 1e-5f);
			assert_true(fabs(model_logp(m, cond, y->text) -
					 y->log_prob) < 1e-3);
			names++;
		}
		outcome_free(a[i]);
		outcome_free(c[i]);
	}
	assert_true(names > N_CROWD * 5);
	batcher_free(b1);
	batcher_free(b3);
	model_free(m);
}

/* Only "aé" is a novel name of at most two characters starting with
 * "a": asking for two ends incomplete, with only novel names. */
static void test_novel_and_budget(void **state)
{
	struct model *m = make_model(3);
	struct batcher *b = start(m, 64, 16);
	float cond[3 * 12];
	struct batch_spec s;
	struct outcome *o;
	int i;

	(void)state;
	cond_for(m, cond, 0, GRU_GENDER_ANY);
	spec_for(m, &s, "a", 2, 5);
	s.max_len = 2;
	s.novel = true;
	s.rules.temperature = 2.0f;
	o = run(b, &s, cond);
	assert_int_equal(o->status, BATCH_DONE);
	assert_true(o->incomplete);
	assert_true(o->n <= 1);
	assert_int_equal(o->attempts, 2 * BATCH_ATTEMPTS_PER_NAME);
	for (i = 0; i < o->n; i++) {
		assert_string_equal(o->names[i].text, "aé");
		assert_false(o->names[i].in_training_data);
	}
	assert_non_null(strstr(o->reason, "found"));
	assert_non_null(strstr(o->reason, "in the training data"));
	outcome_free(o);
	batcher_free(b);
	model_free(m);
}

/* With at most one character after "b" there are at most 7 distinct
 * names; unique replies stop there, allow_duplicates fills the count. */
static void test_unique_and_duplicates(void **state)
{
	struct model *m = make_model(5);
	struct batcher *b = start(m, 64, 16);
	float cond[3 * 12];
	struct batch_spec s;
	struct outcome *o;
	int i, j;

	(void)state;
	cond_for(m, cond, 1, GRU_GENDER_M);
	spec_for(m, &s, "b", 20, 77);
	s.max_len = 2;
	o = run(b, &s, cond);
	assert_true(o->incomplete);
	assert_true(o->n >= 1 && o->n <= 7);
	for (i = 0; i < o->n; i++)
		for (j = 0; j < i; j++)
			assert_string_not_equal(o->names[i].text,
						o->names[j].text);
	assert_non_null(strstr(o->reason, "duplicates"));
	outcome_free(o);

	s.unique = false;
	o = run(b, &s, cond);
	assert_false(o->incomplete);
	assert_int_equal(o->n, 20);
	for (i = 0; i < o->n; i++)
		assert_true(utf8_chars(o->names[i].text) <= 2);
	outcome_free(o);
	batcher_free(b);
	model_free(m);
}

/* A prefix as long as max_length leaves only the end token to choose;
 * names that would run past max_length are thrown away, never cut. */
static void test_max_length_is_never_cut(void **state)
{
	struct model *m = make_model(9);
	struct batcher *b = start(m, 64, 16);
	float cond[3 * 12];
	struct batch_spec s;
	struct outcome *o;
	int i;

	(void)state;
	cond_for(m, cond, 2, GRU_GENDER_F);
	spec_for(m, &s, "abc", 1, 1);
	s.max_len = 3;
	o = run(b, &s, cond);
	assert_true(o->n <= 1);
	if (o->n == 1) {
		assert_string_equal(o->names[0].text, "abc");
		assert_true(fabs(model_logp(m, cond, "abc") -
				 o->names[0].log_prob) < 1e-3);
	} else {
		assert_non_null(strstr(o->reason, "too long"));
	}
	outcome_free(o);

	spec_for(m, &s, "", 30, 2);
	s.max_len = 4;
	s.min_len = 4;
	s.unique = false;
	o = run(b, &s, cond);
	for (i = 0; i < o->n; i++)
		assert_int_equal(utf8_chars(o->names[i].text), 4);
	outcome_free(o);
	batcher_free(b);
	model_free(m);
}

/* slow_spec is a request that keeps a batch of one busy for a while:
 * exactly 20 characters, which the random model rarely ends at. */
static void slow_spec(const struct model *m, struct batch_spec *s)
{
	spec_for(m, s, "", BATCH_MAX_COUNT, 8);
	s->min_len = MAX_LEN;
	s->unique = false;
}

/* A callback that holds the scheduler thread until released, so the
 * queue stays as the test fills it. */
struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool entered, released;
};

static void on_done_hold(void *arg, const struct batch_result *res)
{
	struct gate *g = arg;

	(void)res;
	pthread_mutex_lock(&g->mu);
	g->entered = true;
	pthread_cond_broadcast(&g->cv);
	while (!g->released)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

struct releaser {
	struct batcher *b;
	struct gate *g;
	const struct batch_spec *s;
	const float *cond;
	int full;
};

/* release_when_stopping keeps submitting (refused: the queue is full)
 * until the batcher says it is stopping, then opens the gate. */
static void *release_when_stopping(void *arg)
{
	struct releaser *r = arg;
	struct timespec ms = {0, 1000000};
	int rv;

	while ((rv = batcher_submit(r->b, r->s, r->cond, on_done, NULL)) ==
	       BATCH_E_FULL) {
		r->full++;
		nanosleep(&ms, NULL);
	}
	pthread_mutex_lock(&r->g->mu);
	r->g->released = true;
	pthread_cond_broadcast(&r->g->cv);
	pthread_mutex_unlock(&r->g->mu);
	return (void *)(intptr_t)rv;
}

/* Past queue_max waiting requests, submit refuses at once; freeing the
 * batcher ends what is still queued with BATCH_STOPPED, exactly once. */
static void test_queue_limit_and_stop(void **state)
{
	struct model *m = make_model(17);
	struct batcher *b = start(m, 1, 2);
	struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER,
			 .cv = PTHREAD_COND_INITIALIZER};
	struct releaser r = {.b = b, .g = &g};
	struct outcome *o[6];
	struct batcher_stats st;
	float cond[3 * 12];
	struct batch_spec s;
	pthread_t t;
	void *rv;
	int i;

	(void)state;
	cond_for(m, cond, 1, GRU_GENDER_ANY);
	spec_for(m, &s, "", 1, 4);
	assert_int_equal(batcher_submit(b, &s, cond, on_done_hold, &g), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);

	// The scheduler is held: two requests queue, four are refused.
	for (i = 0; i < 6; i++) {
		o[i] = outcome_new();
		assert_int_equal(batcher_submit(b, &s, cond, on_done, o[i]),
				 i < 2 ? 0 : BATCH_E_FULL);
	}
	batcher_get_stats(b, &st);
	assert_int_equal(st.refused, 4);
	assert_int_equal(st.requests, 3);

	r.s = &s;
	r.cond = cond;
	assert_int_equal(pthread_create(&t, NULL, release_when_stopping, &r),
			 0);
	batcher_free(b);
	pthread_join(t, &rv);
	assert_int_equal((intptr_t)rv, BATCH_E_STOPPED);
	for (i = 0; i < 6; i++) {
		assert_int_equal(o[i]->calls, i < 2 ? 1 : 0);
		if (i < 2)
			assert_int_equal(o[i]->status, BATCH_STOPPED);
		outcome_free(o[i]);
	}
	model_free(m);
}

/* A request whose deadline passes while it waits in the queue (the
 * scheduler is held meanwhile), or while it is in the batch, ends
 * BATCH_EXPIRED. */
static void test_deadlines(void **state)
{
	struct model *m = make_model(13);
	struct batcher *b = start(m, 1, 16);
	struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER,
			 .cv = PTHREAD_COND_INITIALIZER};
	struct outcome *queued = outcome_new(), *o;
	struct timespec ms5 = {0, 5000000};
	struct batcher_stats st;
	float cond[3 * 12];
	struct batch_spec s;

	(void)state;
	cond_for(m, cond, 0, GRU_GENDER_F);
	spec_for(m, &s, "", 1, 1);
	assert_int_equal(batcher_submit(b, &s, cond, on_done_hold, &g), 0);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);
	s.deadline_ms = rpc_now_ms() + 1;
	assert_int_equal(batcher_submit(b, &s, cond, on_done, queued), 0);
	nanosleep(&ms5, NULL);
	pthread_mutex_lock(&g.mu);
	g.released = true;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	outcome_wait(queued);
	assert_int_equal(queued->status, BATCH_EXPIRED);
	assert_int_equal(queued->n, 0);

	// In the batch: a slow request (thousands of steps) with a short
	// deadline.
	slow_spec(m, &s);
	s.deadline_ms = rpc_now_ms() + 1;
	o = run(b, &s, cond);
	assert_int_equal(o->status, BATCH_EXPIRED);
	batcher_get_stats(b, &st);
	assert_int_equal(st.expired, 2);
	outcome_free(o);
	outcome_free(queued);
	batcher_free(b);
	model_free(m);
}

/* Bad options are refused with a sentence. */
static void test_start_checks(void **state)
{
	struct model *m = make_model(1);
	struct batcher_opts o = {.model = m, .batch_max = -1};
	struct batcher *b = NULL;
	char err[256];

	(void)state;
	assert_int_equal(batcher_start(&b, &o, err, sizeof(err)), -1);
	assert_null(b);
	assert_non_null(strstr(err, "batch size"));
	o.batch_max = 4;
	o.queue_max = BATCH_QUEUE_LIMIT + 1;
	assert_int_equal(batcher_start(&b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "queue"));
	o.queue_max = 0;
	o.threads = BATCH_THREADS_LIMIT + 1;
	assert_int_equal(batcher_start(&b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "threads"));
	o.threads = 2;
	o.spin_us = BATCH_SPIN_US_LIMIT + 1;
	assert_int_equal(batcher_start(&b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "spin"));
	assert_null(b);
	batcher_free(NULL);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_and_logprob),
	    cmocka_unit_test(test_seed_is_deterministic),
	    cmocka_unit_test(test_threads_same_names),
	    cmocka_unit_test(test_novel_and_budget),
	    cmocka_unit_test(test_unique_and_duplicates),
	    cmocka_unit_test(test_max_length_is_never_cut),
	    cmocka_unit_test(test_deadlines),
	    cmocka_unit_test(test_queue_limit_and_stop),
	    cmocka_unit_test(test_start_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
