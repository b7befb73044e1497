/* team.c - a team of threads meeting at one barrier per job (see
 * team.h).
 *
 * Every word two threads wait on is a 32-bit atomic that doubles as a
 * futex. A waiter spins, then announces that it may sleep (a flag) and
 * checks the word once more before FUTEX_WAIT; a writer changes the word,
 * then wakes only when the flag is up. Both sides use sequentially
 * consistent operations, so either the waiter sees the new value or the
 * writer sees the flag: no wake-up is lost, and a busy team makes no
 * system call. */
#include "namegen-model/team.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CACHE_LINE  64
#define SPIN_CHECKS 64 /* pauses between two looks at the clock */

/* One helper's words, on a cache line of their own. */
struct helper {
	_Alignas(CACHE_LINE) _Atomic uint32_t go; /* bumped per run */
	_Atomic uint32_t sleeping;
	struct team *t;
	int index;
};

struct team {
	int threads, spin_us;
	/* The current run, written by the leader before it bumps go. */
	team_fn *fn;
	void *arg;
	int parts;
	_Atomic bool stop;

	_Alignas(CACHE_LINE) _Atomic uint32_t pending; /* helpers not done */
	_Atomic uint32_t leader_sleeping;

	int started; /* helpers running: helper[1..started] */
	pthread_t tid[TEAM_MAX_THREADS];
	struct helper helper[TEAM_MAX_THREADS]; /* [0] unused: the leader */
};

static void futex_wait(_Atomic uint32_t *word, uint32_t old)
{
	// EAGAIN (the word changed) and EINTR both mean: look again.
	syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, old, NULL, NULL,
		0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (void *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* spin_until waits up to spin_us for (*word == want) == equal; returns
 * whether that came true. */
static bool spin_until(_Atomic uint32_t *word, uint32_t want, bool equal,
		       int spin_us)
{
	int64_t end = 0;
	int i;

	for (;;) {
		for (i = 0; i < SPIN_CHECKS; i++) {
			if ((atomic_load(word) == want) == equal)
				return true;
			cpu_relax();
		}
		if (spin_us <= 0)
			return false;
		if (end == 0)
			end = now_us() + spin_us;
		else if (now_us() >= end)
			return false;
	}
}

/* wait_change returns once *word != old, sleeping after the spin. */
static void wait_change(_Atomic uint32_t *word, uint32_t old,
			_Atomic uint32_t *sleeping, int spin_us)
{
	if (spin_until(word, old, false, spin_us))
		return;
	atomic_store(sleeping, 1);
	while (atomic_load(word) == old)
		futex_wait(word, old);
	atomic_store(sleeping, 0);
}

/* wait_zero returns once *word == 0, sleeping after the spin. */
static void wait_zero(_Atomic uint32_t *word, _Atomic uint32_t *sleeping,
		      int spin_us)
{
	uint32_t v;

	if (spin_until(word, 0, true, spin_us))
		return;
	atomic_store(sleeping, 1);
	while ((v = atomic_load(word)) != 0)
		futex_wait(word, v);
	atomic_store(sleeping, 0);
}

static void *helper_main(void *arg)
{
	struct helper *hp = arg;
	struct team *t = hp->t;
	uint32_t seen = 0;

	for (;;) {
		wait_change(&hp->go, seen, &hp->sleeping, t->spin_us);
		seen = atomic_load(&hp->go);
		if (atomic_load(&t->stop))
			break;
		t->fn(t->arg, hp->index, t->parts);
		if (atomic_fetch_sub(&t->pending, 1) == 1 &&
		    atomic_load(&t->leader_sleeping))
			futex_wake(&t->pending);
	}
	return NULL;
}

/* wake_helper starts helper i on the run the leader just published. */
static void wake_helper(struct team *t, int i)
{
	struct helper *hp = &t->helper[i];

	atomic_fetch_add(&hp->go, 1);
	if (atomic_load(&hp->sleeping))
		futex_wake(&hp->go);
}

int team_start(struct team **out, int threads, int spin_us, char *err,
	       size_t errlen)
{
	struct team *t;
	size_t size = (sizeof(*t) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
	char name[16];
	int i, rc;

	*out = NULL;
	if (threads < 1 || threads > TEAM_MAX_THREADS) {
		snprintf(err, errlen, "the step threads must be 1..%d, not %d",
			 TEAM_MAX_THREADS, threads);
		return -1;
	}
	if (spin_us < 0 || spin_us > TEAM_MAX_SPIN_US) {
		snprintf(err, errlen, "the spin time must be 0..%d us, not %d",
			 TEAM_MAX_SPIN_US, spin_us);
		return -1;
	}
	t = aligned_alloc(CACHE_LINE, size);
	if (!t) {
		snprintf(err, errlen, "out of memory for %d step threads",
			 threads);
		return -1;
	}
	memset(t, 0, size);
	t->threads = threads;
	t->spin_us = spin_us;
	for (i = 1; i < threads; i++) {
		t->helper[i].t = t;
		t->helper[i].index = i;
		rc = pthread_create(&t->tid[i], NULL, helper_main,
				    &t->helper[i]);
		if (rc != 0) {
			snprintf(err, errlen,
				 "cannot start step thread %d of %d: %s", i,
				 threads, strerror(rc));
			team_free(t);
			return -1;
		}
		t->started = i;
		snprintf(name, sizeof(name), "step%d", i);
		pthread_setname_np(t->tid[i], name); // for top -H, perf
	}
	*out = t;
	return 0;
}

int team_size(const struct team *t)
{
	return t->threads;
}

void team_run(struct team *t, int parts, team_fn *fn, void *arg)
{
	int i;

	if (parts <= 1) {
		fn(arg, 0, 1);
		return;
	}
	// Publish the run, then wake the helpers it needs.
	t->fn = fn;
	t->arg = arg;
	t->parts = parts;
	atomic_store(&t->pending, (uint32_t)(parts - 1));
	for (i = 1; i < parts; i++)
		wake_helper(t, i);

	fn(arg, 0, parts);
	wait_zero(&t->pending, &t->leader_sleeping, t->spin_us);
}

void team_free(struct team *t)
{
	int i;

	if (!t)
		return;
	atomic_store(&t->stop, true);
	for (i = 1; i <= t->started; i++)
		wake_helper(t, i);
	for (i = 1; i <= t->started; i++)
		pthread_join(t->tid[i], NULL);
	free(t);
}
