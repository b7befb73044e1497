/* bench_gru.c - how fast the GRU runs, beside what cblas itself reaches
 * on the same shapes in the same run (the machine is shared and noisy,
 * so only figures measured together compare).
 *
 *   bench_gru [names.tsv]
 *
 * The network has the default model's sizes (1 layer of 224; make
 * model).
 * 1. The inference step (gru_step) at batch 1, 16, 64 and 256, in
 *    GFLOP/s of its matrix products, beside the raw cblas_sgemm (and
 *    sgemv at batch 1) GFLOP/s of those products alone; with OpenBLAS on
 *    1 and on 2 threads.
 * 2. Training throughput in characters per second (end tokens counted)
 *    over one epoch of a slice of the data, on 1 and on 2 threads. */
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "namegen-model/dataset.h"
#include "namegen-model/trainer.h"

#define MIN_SECONDS 0.4
#define TRAIN_NAMES 8000

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* thread_cpu is this thread's CPU time: on a shared machine it is what a
 * single-threaded loop would take on an idle core. */
static double thread_cpu(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* The products of one step for batch b: h W_hh^T per layer, the layer
 * above's input product, and the output projection. */
static double step_flops(const struct gru_dims *d, int b)
{
	double h = d->hidden, f;

	f = 2.0 * b * 3 * h * h * d->layers;
	f += 2.0 * b * 3 * h * h * (d->layers - 1);
	return f + 2.0 * b * h * d->vocab;
}

static double time_step(const struct gru *g, int b, const int *tok,
			const float *cond, float *h, float *logits,
			float *scratch, double *cpu)
{
	double t0 = now(), c0 = thread_cpu(), t;
	long n = 0, k;

	for (;;) {
		for (k = 0; k < 10; k++)
			gru_step(g, b, tok, cond, h, logits, scratch);
		n += 10;
		t = now() - t0;
		if (t >= MIN_SECONDS) {
			*cpu = (thread_cpu() - c0) / (double)n;
			return t / (double)n;
		}
	}
}

/* product computes out = h w^T for w (rows, H): sgemv for one row of h,
 * else sgemm for b rows. */
static void product(bool gemv, int b, int rows, int hd, const float *w,
		    const float *h, float *out)
{
	if (gemv)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, hd, 1.0f, w, hd,
			    h, 1, 0.0f, out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, rows,
			    hd, 1.0f, h, hd, w, hd, 0.0f, out, rows);
}

/* time_raw times the same products as bare cblas calls. */
static double time_raw(const struct gru_params *p, int b, bool gemv,
		       const float *h, float *out, double *cpu)
{
	const struct gru_dims *d = &p->d;
	int hd = d->hidden, h3 = 3 * hd, l;
	double t0 = now(), c0 = thread_cpu(), t;
	long n = 0, k;

	for (;;) {
		for (k = 0; k < 10; k++) {
			for (l = 0; l < d->layers; l++)
				product(gemv, b, h3, hd, p->layer[l].w_hh, h,
					out);
			for (l = 1; l < d->layers; l++)
				product(gemv, b, h3, hd, p->layer[l].w_ih, h,
					out);
			product(gemv, b, d->vocab, hd, p->w_out, h, out);
		}
		n += 10;
		t = now() - t0;
		if (t >= MIN_SECONDS) {
			*cpu = (thread_cpu() - c0) / (double)n;
			return t / (double)n;
		}
	}
}

static int bench_step(const struct gru_params *p)
{
	static const int batches[] = {1, 16, 64, 256};
	const struct gru_dims *d = &p->d;
	int maxb = 256, threads, bi, i;
	struct gru g;
	float *cond, *h, *logits, *scratch, *out;
	int *tok;

	if (gru_init(&g, p) != 0)
		return -1;
	cond = calloc((size_t)maxb * gru_cond_size(&g), sizeof(float));
	h = calloc((size_t)maxb * gru_state_size(&g), sizeof(float));
	logits = calloc((size_t)maxb * d->vocab, sizeof(float));
	scratch = calloc(gru_scratch_floats(&g, maxb), sizeof(float));
	out = calloc((size_t)maxb * (3 * d->hidden + d->vocab), sizeof(float));
	tok = calloc((size_t)maxb, sizeof(int));
	if (!cond || !h || !logits || !scratch || !out || !tok)
		return -1;
	for (i = 0; i < maxb; i++) {
		int c = i % (d->countries ? d->countries : 1);
		float w = 1.0f;
		char err[128];

		tok[i] = 1 + i % (d->vocab - 1);
		if (gru_condition(&g, cond + (size_t)i * gru_cond_size(&g),
				  d->countries ? 1 : 0, &c, &w, -1, err,
				  sizeof(err)) != 0)
			return -1;
	}

	printf("\nInference step (gru_step), H=%d L=%d V=%d; GFLOP/s of "
	       "the matrix products\n",
	       d->hidden, d->layers, d->vocab);
	printf("%8s %6s %9s %9s %9s %9s %8s %9s %9s\n", "blas_thr", "batch",
	       "step_us", "step_GF", "sgemm_GF", "sgemv_GF", "step/raw",
	       "cpu:step", "cpu:raw");
	for (threads = 1; threads <= 2; threads++) {
		openblas_set_num_threads(threads);
		for (bi = 0; bi < 4; bi++) {
			int b = batches[bi];
			double f = step_flops(d, b), cs, cm, cv = 0, tv = 0;
			double ts = time_step(&g, b, tok, cond, h, logits,
					      scratch, &cs);
			double tm = time_raw(p, b, false, h, out, &cm);
			double best = tm, cbest = cm;
			char gemv[32] = "-", c1[32] = "-", c2[32] = "-";

			// At batch 1 the step uses sgemv: compare with both.
			if (b == 1) {
				tv = time_raw(p, 1, true, h, out, &cv);
				snprintf(gemv, sizeof(gemv), "%.2f",
					 f / tv * 1e-9);
				best = tv < tm ? tv : tm;
				cbest = cv < cm ? cv : cm;
			}
			// CPU-time rates only mean something on one thread.
			if (threads == 1) {
				snprintf(c1, sizeof(c1), "%.2f",
					 f / cs * 1e-9);
				snprintf(c2, sizeof(c2), "%.2f",
					 f / cbest * 1e-9);
			}
			printf("%8d %6d %9.1f %9.2f %9.2f %9s %7.0f%% %9s "
			       "%9s\n",
			       threads, b, ts * 1e6, f / ts * 1e-9,
			       f / tm * 1e-9, gemv, 100.0 * best / ts, c1, c2);
		}
	}
	printf("GF = GFLOP/s of the step's matrix products by wall clock; "
	       "cpu: the same by this\nthread's CPU time (what an idle "
	       "core would give); raw = the best of sgemm/sgemv.\n");
	gru_free(&g);
	free(cond);
	free(h);
	free(logits);
	free(scratch);
	free(out);
	free(tok);
	return 0;
}

static int bench_train(const struct gru_dims *d,
		       const struct trainer_example *ex, size_t n)
{
	size_t split = n - n / 10;
	int threads;

	printf("\nTraining (one epoch of %zu names, batch 64, H=%d)\n", split,
	       d->hidden);
	printf("%8s %14s %10s %14s\n", "threads", "chars_per_s", "seconds",
	       "cpu_seconds");
	for (threads = 1; threads <= 2; threads++) {
		struct trainer_config tc;
		struct trainer_result res;
		struct gru_params p;
		float *data = malloc(gru_param_count(d) * sizeof(float));
		char err[256];
		double c0;

		if (!data)
			return -1;
		trainer_defaults(&tc);
		tc.threads = threads;
		tc.max_epochs = 1;
		openblas_set_num_threads(threads == 1 ? 1 : 2);
		gru_params_point(&p, d, data);
		gru_params_init(&p, 1);
		c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (trainer_run(&tc, &p, ex, split, ex + split, n - split,
				&res, NULL, NULL, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench_gru: %s\n", err);
			free(data);
			return -1;
		}
		printf("%8d %14.0f %10.1f %14.1f\n", threads,
		       res.chars_per_second, res.seconds,
		       clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0);
		free(data);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = argc > 1 ? argv[1] : "data/names.tsv";
	struct gru_dims d = {.emb_char = 64,
			     .emb_country = 32,
			     .emb_gender = 4,
			     .hidden = 224,
			     .layers = 1};
	struct dataset ds = {0};
	struct alphabet a;
	struct trainer_example *ex = NULL;
	struct gru_params p;
	unsigned long long rng = 1;
	size_t *idx = NULL, n, i;
	struct trainer_example *pick = NULL;
	float *data = NULL;
	int *tokens = NULL, rc = 1;
	char err[DATASET_ERR_MAX];

	if (dataset_load(&ds, file, DATASET_AUTO, 100, NULL, NULL, err,
			 sizeof(err)) != 0 ||
	    trainer_alphabet(&ds, &a, err, sizeof(err)) != 0 ||
	    trainer_encode(&ds, &a, &ex, &tokens, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_gru: %s\n", err);
		goto out;
	}
	d.vocab = a.size + 1;
	d.countries = ds.conditioned ? ds.countries : 0;
	d.genders = ds.conditioned ? 2 : 0;
	if (!ds.conditioned)
		d.emb_country = d.emb_gender = 0;
	data = malloc(gru_param_count(&d) * sizeof(float));
	n = ds.count < TRAIN_NAMES ? ds.count : TRAIN_NAMES;
	idx = malloc(ds.count * sizeof(*idx));
	pick = malloc(n * sizeof(*pick));
	if (!data || !idx || !pick)
		goto out;
	gru_params_point(&p, &d, data);
	gru_params_init(&p, 1);
	printf("bench_gru: data=%s params=%zu cores_seen_by_openblas=%d\n",
	       file, gru_param_count(&d), openblas_get_num_procs());
	if (bench_step(&p) != 0)
		goto out;

	for (i = 0; i < ds.count; i++)
		idx[i] = i;
	trainer_shuffle(idx, ds.count, &rng);
	for (i = 0; i < n; i++)
		pick[i] = ex[idx[i]];
	if (bench_train(&d, pick, n) != 0)
		goto out;
	rc = 0;
out:
	dataset_free(&ds);
	free(ex);
	free(tokens);
	free(data);
	free(idx);
	free(pick);
	return rc;
}
