/* bench_model_ceiling.c - what cblas_sgemm allows for a model's step.
 *
 *   bench_model_ceiling MODEL BATCH...
 *
 * For each batch size B it times the products of one gru_step over B
 * sequences (per layer: the recurrence (B,H)x(H,3H), and for layers
 * above 0 the input (B,H)x(H,3H); then the output (B,H)x(H,V)) as bare
 * cblas_sgemm calls on one OpenBLAS thread, the way the worker runs
 * them: by one thread over all B rows (threads=1), and by two threads at
 * once, each over its half of the rows with its own buffers
 * (threads=2: the worker's step split over two cores). The best of
 * several short trials is kept; one logfmt line per (B, threads):
 *
 *   batch=256 threads=1 gflops=41.2 cpu_gflops=43.0 flops_per_token=...
 *
 * gflops is per second of wall time, cpu_gflops per second of this
 * process's CPU time (which other work on a shared machine disturbs
 * much less).
 * flops_per_token counts the multiply-adds of those products (2 per
 * multiply-add) for one sequence and one character; a name of n
 * characters costs n + 1 tokens (the end token). The worker's own
 * arithmetic beyond these products (gates, softmax, sampling) is not
 * counted, so names/s = gflops * 1e9 / (flops_per_token * (n + 1)) is a
 * ceiling no worker can pass. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "namegen-model/model_file.h"

#define CEILING_TRIAL_SECONDS 0.1
#define CEILING_TRIALS                                                        \
	7 /* the best trial is kept: the machine                              \
	     is shared, and others only slow it */
#define CEILING_MAX_BATCH   4096
#define CEILING_MAX_STREAMS 2

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static float *filled(size_t n)
{
	float *x = malloc(n * sizeof(float));
	size_t i;

	if (!x) {
		fprintf(stderr, "bench_model_ceiling: out of memory\n");
		exit(1);
	}
	for (i = 0; i < n; i++)
		x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
	return x;
}

/* step_products runs the sgemm calls of one step over b sequences. */
static void step_products(const struct gru_dims *d, int b, const float *h,
			  const float *w, const float *wout, float *out,
			  float *logits)
{
	int hd = d->hidden, l;

	for (l = 0; l < d->layers; l++) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, 3 * hd,
			    hd, 1.0f, h, hd, w, hd, 0.0f, out, 3 * hd);
		if (l > 0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b,
				    3 * hd, hd, 1.0f, h, hd, w, hd, 0.0f, out,
				    3 * hd);
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, d->vocab, hd,
		    1.0f, h, hd, wout, hd, 0.0f, logits, d->vocab);
}

/* One thread's share of a trial: its rows and its own buffers. */
struct stream {
	const struct gru_dims *d;
	int rows;
	float *h, *w, *wout, *out, *logits;
	pthread_barrier_t *start;
	long reps;
	double seconds;
	pthread_t thread;
};

static void stream_alloc(struct stream *s, const struct gru_dims *d)
{
	s->d = d;
	s->h = filled((size_t)CEILING_MAX_BATCH * d->hidden);
	s->w = filled((size_t)3 * d->hidden * d->hidden);
	s->wout = filled((size_t)d->vocab * d->hidden);
	s->out = filled((size_t)CEILING_MAX_BATCH * 3 * d->hidden);
	s->logits = filled((size_t)CEILING_MAX_BATCH * d->vocab);
}

static void stream_free(struct stream *s)
{
	free(s->h);
	free(s->w);
	free(s->wout);
	free(s->out);
	free(s->logits);
}

/* stream_trial runs the step's products over s->rows rows for
 * CEILING_TRIAL_SECONDS, after the other streams are ready. */
static void *stream_trial(void *arg)
{
	struct stream *s = arg;
	double t0;

	pthread_barrier_wait(s->start);
	t0 = now_s();
	s->reps = 0;
	do {
		step_products(s->d, s->rows, s->h, s->w, s->wout, s->out,
			      s->logits);
		s->reps++;
		s->seconds = now_s() - t0;
	} while (s->seconds < CEILING_TRIAL_SECONDS);
	return NULL;
}

/* measure prints the best rate of n streams sharing a batch of b rows. */
static void measure(struct stream *st, int n, int b, double per_token)
{
	pthread_barrier_t start;
	double best = 0.0, best_cpu = 0.0;
	int i, k;

	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		st[i].rows = b * (i + 1) / n - b * i / n;
		st[i].start = &start;
		if (st[i].rows > 0) // warm
			step_products(st[i].d, st[i].rows, st[i].h, st[i].w,
				      st[i].wout, st[i].out, st[i].logits);
	}
	for (k = 0; k < CEILING_TRIALS; k++) {
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), flops = 0.0;
		double wall = 0.0;

		for (i = 1; i < n; i++)
			if (pthread_create(&st[i].thread, NULL, stream_trial,
					   &st[i]) != 0) {
				fprintf(stderr, "bench_model_ceiling: cannot "
						"start a thread\n");
				exit(1);
			}
		stream_trial(&st[0]);
		for (i = 1; i < n; i++)
			pthread_join(st[i].thread, NULL);
		for (i = 0; i < n; i++) {
			flops += per_token * st[i].rows * (double)st[i].reps;
			wall = st[i].seconds > wall ? st[i].seconds : wall;
		}
		best = flops / wall > best ? flops / wall : best;
		flops /= clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		best_cpu = flops > best_cpu ? flops : best_cpu;
	}
	pthread_barrier_destroy(&start);
	printf("batch=%d threads=%d gflops=%.2f cpu_gflops=%.2f "
	       "flops_per_token=%.0f hidden=%d layers=%d vocab=%d\n",
	       b, n, best / 1e9, best_cpu / 1e9, per_token, st[0].d->hidden,
	       st[0].d->layers, st[0].d->vocab);
}

int main(int argc, char **argv)
{
	const struct gru_dims *d;
	struct model *m = NULL;
	struct stream st[CEILING_MAX_STREAMS];
	char err[MODEL_ERR_MAX];
	double per_token;
	int i, n;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_model_ceiling MODEL BATCH...\n");
		return 2;
	}
	if (model_load(&m, argv[1], err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_model_ceiling: %s\n", err);
		return 1;
	}
	d = model_dims(m);
	per_token = 2.0 * d->hidden *
		    ((2.0 * d->layers - 1.0) * 3.0 * d->hidden + d->vocab);
	// Every stream's products on one OpenBLAS thread, as in the worker.
	openblas_set_num_threads(1);
	for (i = 0; i < CEILING_MAX_STREAMS; i++)
		stream_alloc(&st[i], d);

	for (i = 2; i < argc; i++) {
		int b = atoi(argv[i]);

		if (b < 1 || b > CEILING_MAX_BATCH) {
			fprintf(stderr,
				"bench_model_ceiling: batch %s is not "
				"in 1..%d\n",
				argv[i], CEILING_MAX_BATCH);
			return 2;
		}
		for (n = 1; n <= CEILING_MAX_STREAMS; n++)
			measure(st, n, b, per_token);
	}
	for (i = 0; i < CEILING_MAX_STREAMS; i++)
		stream_free(&st[i]);
	model_free(m);
	return 0;
}
