/* test_auth_password.c - Argon2id hashes and the hashing thread pool. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth-service/password.h"
#include "auth-service/workpool.h"

/* cpu_s is this thread's CPU time: unlike the wall clock, other
 * processes on the shared machine barely move it. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_limits_are_checked(void **state)
{
	struct auth_pw pw;
	char err[128];

	(void)state;
	assert_int_equal(auth_pw_init(&pw, 0, 1 << 20, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "opslimit"));
	assert_int_equal(auth_pw_init(&pw, 1, 1024, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "memlimit"));
}

static void test_hash_and_verify(void **state)
{
	char h1[AUTH_PW_HASH_BUF], h2[AUTH_PW_HASH_BUF], err[128];
	struct auth_pw pw;

	(void)state;
	assert_int_equal(auth_pw_init(&pw, 1, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(auth_pw_hash(&pw, "a password", h1), 0);
	assert_int_equal(auth_pw_hash(&pw, "a password", h2), 0);
	/* Argon2id, salted: the same password hashes differently */
	assert_memory_equal(h1, "$argon2id$", 10);
	assert_string_not_equal(h1, h2);
	assert_null(strstr(h1, "a password"));
	assert_true(auth_pw_verify(&pw, h1, "a password"));
	assert_true(auth_pw_verify(&pw, h2, "a password"));
	assert_false(auth_pw_verify(&pw, h1, "a passwore"));
	assert_false(auth_pw_verify(&pw, h1, ""));
	/* no user, or a damaged hash: never a match */
	assert_false(auth_pw_verify(&pw, NULL, "a password"));
	assert_false(auth_pw_verify(&pw, "$argon2id$garbage", "a password"));
	assert_false(auth_pw_verify(&pw, "plain text", "plain text"));
	assert_false(auth_pw_needs_rehash(&pw, h1));
}

static void test_rehash_when_limits_rise(void **state)
{
	struct auth_pw low, high;
	char h[AUTH_PW_HASH_BUF], err[128];

	(void)state;
	assert_int_equal(auth_pw_init(&low, 1, 1 << 20, err, sizeof(err)), 0);
	assert_int_equal(auth_pw_init(&high, 2, 2 << 20, err, sizeof(err)), 0);
	assert_int_equal(auth_pw_hash(&low, "upgrade me", h), 0);
	assert_true(auth_pw_needs_rehash(&high, h));
	assert_false(auth_pw_needs_rehash(&low, h));
	/* a hash made under other limits still verifies */
	assert_true(auth_pw_verify(&high, h, "upgrade me"));
}

/* An unknown user costs a verification against the dummy hash, made
 * under the same limits, so a missing account is not faster to refuse.
 * Checked with the OWASP defaults on this thread's CPU time (medians of
 * five, within a factor of two), which load from other processes barely
 * moves. */
static void test_missing_user_costs_the_same(void **state)
{
	enum { RUNS = 5 };
	char h[AUTH_PW_HASH_BUF], err[128];
	double real[RUNS], dummy[RUNS], t, mr, md;
	struct auth_pw pw;
	int i, j;

	(void)state;
	assert_int_equal(auth_pw_init(&pw, AUTH_PW_OPSLIMIT_DEFAULT,
				      AUTH_PW_MEMLIMIT_DEFAULT, err,
				      sizeof(err)),
			 0);
	assert_int_equal(auth_pw_hash(&pw, "the real one", h), 0);
	for (i = 0; i < RUNS; i++) {
		t = cpu_s();
		assert_false(auth_pw_verify(&pw, h, "a wrong guess"));
		real[i] = cpu_s() - t;
		t = cpu_s();
		assert_false(auth_pw_verify(&pw, NULL, "a wrong guess"));
		dummy[i] = cpu_s() - t;
	}
	for (i = 0; i < RUNS; i++)
		for (j = i + 1; j < RUNS; j++) {
			if (real[j] < real[i])
				t = real[i], real[i] = real[j], real[j] = t;
			if (dummy[j] < dummy[i])
				t = dummy[i], dummy[i] = dummy[j],
				dummy[j] = t;
		}
	mr = real[RUNS / 2];
	md = dummy[RUNS / 2];
	if (md < mr / 2 || md > mr * 2)
		fail_msg("real %.1f ms, dummy %.1f ms of CPU", mr * 1e3,
			 md * 1e3);
}

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t open_cv;
	bool open;
	atomic_int ran;
};

static void gated_job(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->open_cv, &g->lock);
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&g->ran, 1);
}

static void test_pool_is_bounded_and_runs_everything(void **state)
{
	struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			 false, 0};
	struct auth_pool *pool = auth_pool_start(2, 4);
	int accepted = 0, i;

	(void)state;
	assert_non_null(pool);
	/* two jobs hold the threads, four wait: the seventh is refused */
	for (i = 0; i < 6; i++) {
		accepted += auth_pool_submit(pool, gated_job, &g) == 0;
		usleep(20000); /* let a thread take the first ones */
	}
	assert_int_equal(accepted, 6);
	assert_int_equal(auth_pool_submit(pool, gated_job, &g), -1);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.open_cv);
	pthread_mutex_unlock(&g.lock);
	auth_pool_free(pool);
	assert_int_equal(atomic_load(&g.ran), 6);
	auth_pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_limits_are_checked),
	    cmocka_unit_test(test_hash_and_verify),
	    cmocka_unit_test(test_rehash_when_limits_rise),
	    cmocka_unit_test(test_missing_user_costs_the_same),
	    cmocka_unit_test(test_pool_is_bounded_and_runs_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
