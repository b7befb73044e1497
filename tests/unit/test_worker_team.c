/* test_worker_team.c - the step threads' team: every part of a run runs
 * exactly once, on its own thread, and its writes are visible to the
 * leader when team_run returns; with a long spin (no sleeping) and with
 * the shortest (the futex path nearly every time); bad sizes refused. */
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

#include "namegen-model/team.h"

#define RUNS  3000
#define SLOTS 4

struct job {
	int parts_seen[SLOTS]; /* parts as each part was told */
	long hits[SLOTS];      /* runs of each part: plain, unlocked */
	long sum[SLOTS];       /* each part's own running sum */
	pthread_t who[SLOTS];  /* the thread that ran each part last */
	int run;
};

static void part_fn(void *arg, int part, int parts)
{
	struct job *j = arg;

	j->parts_seen[part] = parts;
	j->hits[part]++;
	j->sum[part] += j->run;
	j->who[part] = pthread_self();
}

/* run_many does RUNS runs with parts cycling through 1..size, checking
 * after each that exactly the parts asked for ran once. */
static void run_many(struct team *t, int pause_every)
{
	struct timespec us20 = {0, 20000};
	struct job j;
	long want_hits[SLOTS] = {0}, want_sum[SLOTS] = {0};
	int size = team_size(t), r, i;

	memset(&j, 0, sizeof(j));
	for (r = 0; r < RUNS; r++) {
		int parts = 1 + r % size;

		j.run = r;
		team_run(t, parts, part_fn, &j);
		for (i = 0; i < parts; i++) {
			want_hits[i]++;
			want_sum[i] += r;
			assert_int_equal(j.parts_seen[i], parts);
		}
		for (i = 0; i < SLOTS; i++) {
			assert_int_equal(j.hits[i], want_hits[i]);
			assert_int_equal(j.sum[i], want_sum[i]);
		}
		// Part 0 is the caller; the others are distinct helpers.
		assert_true(pthread_equal(j.who[0], pthread_self()));
		for (i = 1; i < parts; i++)
			assert_false(pthread_equal(j.who[i], pthread_self()));
		if (parts == 3)
			assert_false(pthread_equal(j.who[1], j.who[2]));
		// Now and then let the helpers fall asleep.
		if (pause_every && r % pause_every == 0)
			nanosleep(&us20, NULL);
	}
}

static void test_runs_every_part_once(void **state)
{
	struct team *t = NULL;
	char err[128];

	(void)state;
	assert_int_equal(team_start(&t, 2, 200, err, sizeof(err)), 0);
	assert_int_equal(team_size(t), 2);
	run_many(t, 0);
	team_free(t);
}

static void test_futex_path(void **state)
{
	struct team *t = NULL;
	char err[128];

	(void)state;
	assert_int_equal(team_start(&t, 3, 0, err, sizeof(err)), 0);
	run_many(t, 7);
	team_free(t);
	assert_int_equal(team_start(&t, 2, 1, err, sizeof(err)), 0);
	run_many(t, 3);
	team_free(t);
}

static void test_one_thread_and_checks(void **state)
{
	struct team *t = NULL;
	struct job j;
	char err[128];

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(team_start(&t, 1, 50, err, sizeof(err)), 0);
	team_run(t, 1, part_fn, &j);
	assert_int_equal(j.hits[0], 1);
	assert_true(pthread_equal(j.who[0], pthread_self()));
	team_free(t);

	assert_int_equal(team_start(&t, 0, 50, err, sizeof(err)), -1);
	assert_null(t);
	assert_non_null(strstr(err, "step threads"));
	assert_int_equal(
	    team_start(&t, TEAM_MAX_THREADS + 1, 50, err, sizeof(err)), -1);
	assert_int_equal(
	    team_start(&t, 2, TEAM_MAX_SPIN_US + 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "spin"));
	team_free(NULL);
}

/* An idle team sleeps: after the spin, its helpers use no CPU. */
static void test_idle_team_sleeps(void **state)
{
	struct timespec ms100 = {0, 100000000}, t0, t1;
	struct team *t = NULL;
	struct job j;
	char err[128];
	double used;

	(void)state;
	memset(&j, 0, sizeof(j));
	assert_int_equal(team_start(&t, 2, 1000, err, sizeof(err)), 0);
	team_run(t, 2, part_fn, &j);
	nanosleep(&ms100, NULL); // past the spin
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	nanosleep(&ms100, NULL);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	used = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# CPU used by an idle team in 100 ms: %.6f s\n", used);
	assert_true(used < 0.02);
	team_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runs_every_part_once),
	    cmocka_unit_test(test_futex_path),
	    cmocka_unit_test(test_one_thread_and_checks),
	    cmocka_unit_test(test_idle_team_sleeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
