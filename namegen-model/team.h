/* team.h - a fixed team of threads that runs the parts of one job at a
 * time and meets at a barrier: how the batcher spreads each step of its
 * one batch over the cores.
 *
 * The thread that calls team_run (the leader: the batcher's scheduler)
 * runs part 0 itself; helper thread i runs part i. team_run returns when
 * every part is done, so the leader alone owns everything again between
 * two runs. Each run costs one wake-up and one barrier: a helper spins
 * for up to spin_us microseconds waiting for the next run before it
 * sleeps on a futex, and the leader spins as long for the helpers to
 * finish before it sleeps, so back-to-back steps need no system call
 * while the batch is busy, and an idle team costs no CPU.
 *
 * Why our own threads and not OpenBLAS's: the products of a step are
 * small (a batch of 256 times 192x576), and OpenBLAS's threads plus ours
 * competing for two cores cost 2-3x; each part instead runs its rows'
 * products on one OpenBLAS thread, then their gates and sampling, with
 * no other synchronisation. */
#ifndef NAMEGEN_MODEL_TEAM_H
#define NAMEGEN_MODEL_TEAM_H

#include <stddef.h>

#define TEAM_MAX_THREADS 64
#define TEAM_MAX_SPIN_US 10000

/* One part of a job: part in [0, parts). */
typedef void team_fn(void *arg, int part, int parts);

struct team;

/* team_start makes a team of threads threads (1..TEAM_MAX_THREADS; the
 * caller counts as one, so threads - 1 helpers are started) whose
 * waits spin for spin_us (0..TEAM_MAX_SPIN_US) before sleeping.
 * Helpers inherit the caller's signal mask. Returns 0 with *out set, or
 * -1 with a sentence in err. */
int team_start(struct team **out, int threads, int spin_us, char *err,
	       size_t errlen);

/* team_size is the number of threads, the caller included. */
int team_size(const struct team *t);

/* team_run runs fn(arg, i, parts) for every i in [0, parts), part 0 on
 * the calling thread and the others on helpers, and returns when all
 * are done. 1 <= parts <= team_size(t); with parts == 1 no helper is
 * woken. Only one thread may call team_run at a time; fn must not call
 * it. */
void team_run(struct team *t, int parts, team_fn *fn, void *arg);

/* team_free stops and joins the helpers; accepts NULL and a half-started
 * team. Not while a team_run is in progress. */
void team_free(struct team *t);

#endif /* NAMEGEN_MODEL_TEAM_H */
