/* bench_model_ceiling.c - what cblas_sgemm allows for a model's step.
 *
 *   bench_model_ceiling MODEL BATCH...
 *
 * For each batch size B it times the products of one gru_step over B
 * sequences (per layer: the recurrence (B,H)x(H,3H), and for layers
 * above 0 the input (B,H)x(H,3H); then the output (B,H)x(H,V)) as bare
 * cblas_sgemm calls, with 1 and with 2 OpenBLAS threads (the best of
 * several short trials), and prints one logfmt line per (B, threads):
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
#define CEILING_MAX_BATCH 4096

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

int main(int argc, char **argv)
{
	const struct gru_dims *d;
	struct model *m = NULL;
	char err[MODEL_ERR_MAX];
	double per_token;
	float *h, *w, *wout, *out, *logits;
	int i, t;

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
	h = filled((size_t)CEILING_MAX_BATCH * d->hidden);
	w = filled((size_t)3 * d->hidden * d->hidden);
	wout = filled((size_t)d->vocab * d->hidden);
	out = filled((size_t)CEILING_MAX_BATCH * 3 * d->hidden);
	logits = filled((size_t)CEILING_MAX_BATCH * d->vocab);

	for (i = 2; i < argc; i++) {
		int b = atoi(argv[i]);

		if (b < 1 || b > CEILING_MAX_BATCH) {
			fprintf(stderr,
				"bench_model_ceiling: batch %s is not "
				"in 1..%d\n",
				argv[i], CEILING_MAX_BATCH);
			return 2;
		}
		for (t = 1; t <= 2; t++) {
			double best = 0.0, best_cpu = 0.0;
			int k;

			openblas_set_num_threads(t);
			step_products(d, b, h, w, wout, out, logits); // warm
			for (k = 0; k < CEILING_TRIALS; k++) {
				double t0 = now_s(), el, rate, flops;
				double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
				long reps = 0;

				do {
					step_products(d, b, h, w, wout, out,
						      logits);
					reps++;
					el = now_s() - t0;
				} while (el < CEILING_TRIAL_SECONDS);
				flops = per_token * b * (double)reps;
				rate = flops / el;
				best = rate > best ? rate : best;
				rate =
				    flops /
				    (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
				best_cpu = rate > best_cpu ? rate : best_cpu;
			}
			printf("batch=%d threads=%d gflops=%.2f "
			       "cpu_gflops=%.2f flops_per_token=%.0f "
			       "hidden=%d layers=%d vocab=%d\n",
			       b, t, best / 1e9, best_cpu / 1e9, per_token,
			       d->hidden, d->layers, d->vocab);
		}
	}
	free(h);
	free(w);
	free(wout);
	free(out);
	free(logits);
	model_free(m);
	return 0;
}
