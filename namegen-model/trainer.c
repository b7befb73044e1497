/* trainer.c - the training loop: batches, threads, schedule, stopping. */
#include "namegen-model/trainer.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "namegen-model/adam.h"
#include "namegen-model/bptt.h"
#include "namegen-model/dataset.h"

/* Names sorted by length in groups of this many batches, so a batch pads
 * little; the batches are then visited in random order. */
#define BUCKET_BATCHES 16
#define MAX_STEPS      (DATASET_MAX_NAME_CHARS + 1)

void trainer_defaults(struct trainer_config *c)
{
	memset(c, 0, sizeof(*c));
	c->batch = 64;
	c->threads = 2;
	c->lr = 3e-3f;
	c->lr_min = 5e-5f;
	c->lr_decay = 0.93f;
	c->plateau_factor = 0.5f;
	c->patience = 3;
	c->max_epochs = 40;
	c->clip = 5.0f;
	c->weight_decay = 1e-4f;
	c->seed = 1;
}

static unsigned long long next_u64(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void trainer_shuffle(size_t *idx, size_t n, unsigned long long *state)
{
	size_t i;

	// Fisher-Yates, from the end.
	for (i = n; i > 1; i--) {
		size_t j = (size_t)(next_u64(state) % i), t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One thread's share of a batch. */
struct worker {
	struct bptt w;
	float *gdata; // gradient block, owned
	struct gru_params g;
	const struct gru_params *p;
	int in[MAX_STEPS * 1024]; // (T, B) time-major
	int tg[MAX_STEPS * 1024];
	int country[1024], gender[1024];
	int batch, steps, backward;
	float scale;
	double loss;
	size_t count;
};

#define WORKER_MAX_BATCH 1024

/* worker_fill lays out n examples in w's arrays. */
static void worker_fill(struct worker *wk, const struct trainer_example *ex,
			const size_t *idx, size_t n)
{
	int steps = 1, t;
	size_t b;

	for (b = 0; b < n; b++) {
		const struct trainer_example *e = &ex[idx[b]];

		steps = e->len + 1 > steps ? e->len + 1 : steps;
	}
	wk->batch = (int)n;
	wk->steps = steps;
	for (b = 0; b < n; b++) {
		const struct trainer_example *e = &ex[idx[b]];

		wk->country[b] = e->country;
		wk->gender[b] = e->gender;
		for (t = 0; t < steps; t++) {
			size_t k = (size_t)t * n + b;

			wk->in[k] = t == 0	  ? GRU_BOUNDARY
				    : t <= e->len ? e->tokens[t - 1]
						  : GRU_BOUNDARY;
			wk->tg[k] = t < e->len	  ? e->tokens[t]
				    : t == e->len ? GRU_BOUNDARY
						  : -1;
		}
	}
}

static void *worker_run(void *arg)
{
	struct worker *wk = arg;

	wk->loss = bptt_forward(&wk->w, wk->p, wk->batch, wk->steps, wk->in,
				wk->tg, wk->country, wk->gender, &wk->count);
	if (wk->backward)
		bptt_backward(&wk->w, wk->p, &wk->g, wk->scale);
	return NULL;
}

/* run_workers runs workers 1..n-1 on threads and worker 0 here. A
 * thread that cannot start runs here too, after the others. */
static void run_workers(struct worker **wk, int n)
{
	pthread_t th[TRAINER_MAX_THREADS];
	int started[TRAINER_MAX_THREADS] = {0}, i;

	for (i = 1; i < n; i++)
		started[i] =
		    pthread_create(&th[i], NULL, worker_run, wk[i]) == 0;
	worker_run(wk[0]);
	for (i = 1; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		else
			worker_run(wk[i]);
	}
}

static void workers_free(struct worker **wk, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!wk[i])
			continue;
		bptt_free(&wk[i]->w);
		free(wk[i]->gdata);
		free(wk[i]);
		wk[i] = NULL;
	}
}

static int workers_new(struct worker **wk, int n, const struct gru_dims *d,
		       int per_worker)
{
	size_t np = gru_param_count(d);
	int i;

	for (i = 0; i < n; i++) {
		wk[i] = calloc(1, sizeof(**wk));
		if (!wk[i])
			return -1;
		wk[i]->gdata = calloc(np, sizeof(float));
		if (!wk[i]->gdata ||
		    bptt_init(&wk[i]->w, d, per_worker, MAX_STEPS) != 0)
			return -1;
		gru_params_point(&wk[i]->g, d, wk[i]->gdata);
	}
	return 0;
}

static int cmp_len(const void *a, const void *b, void *arg)
{
	const struct trainer_example *ex = arg;
	int x = ex[*(const size_t *)a].len, y = ex[*(const size_t *)b].len;

	return (x > y) - (x < y);
}

/* split_batch gives each of n workers its share of the batch idx[0..m).
 * The names are sorted by length, so deal them round-robin: the shares
 * then pad alike. */
static void split_batch(struct worker **wk, int n,
			const struct trainer_example *ex, const size_t *idx,
			size_t m, size_t *tmp)
{
	int i;

	for (i = 0; i < n; i++) {
		size_t k = 0, j;

		for (j = (size_t)i; j < m; j += (size_t)n)
			tmp[k++] = idx[j];
		worker_fill(wk[i], ex, tmp, k);
	}
}

double trainer_evaluate(const struct gru_params *p,
			const struct trainer_example *ex, size_t n,
			int threads, size_t *chars)
{
	struct worker *wk[TRAINER_MAX_THREADS] = {0};
	size_t *idx = NULL, tmp[WORKER_MAX_BATCH], off, total = 0;
	const size_t chunk = 128;
	double loss = 0, result = NAN;
	int nt = threads < 1 ? 1 : threads, i;

	if (nt > TRAINER_MAX_THREADS)
		nt = TRAINER_MAX_THREADS;
	idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx || workers_new(wk, nt, &p->d, (int)chunk) != 0)
		goto out;
	for (off = 0; off < n; off++)
		idx[off] = off;
	qsort_r(idx, n, sizeof(*idx), cmp_len, (void *)(uintptr_t)ex);

	for (off = 0; off < n; off += chunk * nt) {
		size_t m = n - off < chunk * nt ? n - off : chunk * nt;

		for (i = 0; i < nt; i++) {
			wk[i]->p = p;
			wk[i]->backward = 0;
		}
		split_batch(wk, nt, ex, idx + off, m, tmp);
		run_workers(wk, nt);
		for (i = 0; i < nt; i++) {
			loss += wk[i]->loss;
			total += wk[i]->count;
		}
	}
	if (chars)
		*chars = total;
	result = total ? loss / (double)total : NAN;
out:
	workers_free(wk, nt);
	free(idx);
	return result;
}

/* epoch_order shuffles the names, sorts each bucket by length, and
 * returns the batches' start offsets in a random order. */
static void epoch_order(size_t *idx, size_t n, size_t batch,
			const struct trainer_example *ex, size_t *starts,
			unsigned long long *rng)
{
	size_t bucket = batch * BUCKET_BATCHES, off, nb = 0;

	trainer_shuffle(idx, n, rng);
	for (off = 0; off < n; off += bucket) {
		size_t m = n - off < bucket ? n - off : bucket;

		qsort_r(idx + off, m, sizeof(*idx), cmp_len,
			(void *)(uintptr_t)ex);
	}
	for (off = 0; off < n; off += batch)
		starts[nb++] = off;
	trainer_shuffle(starts, nb, rng);
}

static int check_config(const struct trainer_config *c,
			const struct gru_params *p,
			const struct trainer_example *ex, size_t n, char *err,
			size_t errlen)
{
	const struct gru_dims *d = &p->d;
	size_t i;
	int k;

	if (c->threads < 1 || c->threads > TRAINER_MAX_THREADS ||
	    c->batch < c->threads ||
	    c->batch > WORKER_MAX_BATCH * c->threads || !(c->lr > 0) ||
	    c->max_epochs < 1 || !(c->clip > 0) || c->patience < 1 ||
	    !(c->dropout >= 0 && c->dropout <= 0.9f)) {
		snprintf(err, errlen,
			 "bad training settings (threads %d, "
			 "batch %d, lr %g, epochs %d)",
			 c->threads, c->batch, (double)c->lr, c->max_epochs);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct trainer_example *e = &ex[i];

		if (e->len < 1 || e->len > DATASET_MAX_NAME_CHARS ||
		    (d->countries &&
		     (e->country < 0 || e->country >= d->countries)) ||
		    (d->genders && (e->gender < 0 || e->gender >= d->genders)))
			goto bad;
		for (k = 0; k < e->len; k++) {
			if (e->tokens[k] < 1 || e->tokens[k] >= d->vocab)
				goto bad;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "training example %zu is out of range", i);
	return -1;
}

int trainer_run(const struct trainer_config *cfg, struct gru_params *p,
		const struct trainer_example *train, size_t n_train,
		const struct trainer_example *held, size_t n_held,
		struct trainer_result *res, trainer_progress_fn *progress,
		void *arg, char *err, size_t errlen)
{
	struct worker *wk[TRAINER_MAX_THREADS] = {0};
	struct adam opt = {0};
	struct trainer_progress pr = {0};
	size_t np = gru_param_count(&p->d), nb, bi, chars_total = 0;
	size_t *idx = NULL, *starts = NULL, *tmp = NULL, i;
	float *best = NULL, lr = cfg->lr;
	unsigned long long rng = cfg->seed;
	int nt = cfg->threads, rc = -1, epoch, stale = 0, k;
	double t0 = now(), best_loss = INFINITY;

	memset(res, 0, sizeof(*res));
	if (check_config(cfg, p, train, n_train, err, errlen) != 0 ||
	    check_config(cfg, p, held, n_held, err, errlen) != 0)
		goto out;
	if (n_train == 0 || n_held == 0) {
		snprintf(err, errlen, "no training or no held-out names");
		goto out;
	}

	// Our threads split the batch; OpenBLAS must not split it again.
	if (nt > 1)
		openblas_set_num_threads(1);
	nb = (n_train + cfg->batch - 1) / cfg->batch;
	idx = malloc(n_train * sizeof(*idx));
	starts = malloc(nb * sizeof(*starts));
	tmp = malloc(WORKER_MAX_BATCH * sizeof(*tmp));
	best = malloc(np * sizeof(float));
	if (!idx || !starts || !tmp || !best ||
	    adam_init(&opt, np, cfg->weight_decay) ||
	    workers_new(wk, nt, &p->d, (cfg->batch + nt - 1) / nt) != 0) {
		snprintf(err, errlen, "out of memory for training");
		goto out;
	}
	for (i = 0; i < n_train; i++)
		idx[i] = i;
	for (k = 0; k < nt; k++)
		wk[k]->w.rng = cfg->seed * 1000003ULL + (unsigned)k;
	memcpy(best, p->data, np * sizeof(float));
	pr.max_epochs = cfg->max_epochs;
	pr.heldout_loss = pr.best_loss = NAN;
	pr.batches = nb;

	for (epoch = 1; epoch <= cfg->max_epochs; epoch++) {
		double loss_sum = 0, te = now(), held_loss;
		size_t count_sum = 0;

		epoch_order(idx, n_train, (size_t)cfg->batch, train, starts,
			    &rng);
		for (bi = 0; bi < nb; bi++) {
			size_t off = starts[bi], m, rows = 0;
			float *g0 = wk[0]->gdata;

			m = n_train - off < (size_t)cfg->batch
				? n_train - off
				: (size_t)cfg->batch;
			for (i = 0; i < m; i++)
				rows += (size_t)train[idx[off + i]].len + 1;
			split_batch(wk, nt, train, idx + off, m, tmp);
			for (k = 0; k < nt; k++) {
				wk[k]->p = p;
				wk[k]->backward = 1;
				wk[k]->w.dropout = cfg->dropout;
				// Mean over the whole batch's characters.
				wk[k]->scale = 1.0f / (float)rows;
			}
			run_workers(wk, nt);

			// Sum the shares' gradients into worker 0's block.
			for (k = 0; k < nt; k++) {
				loss_sum += wk[k]->loss;
				count_sum += wk[k]->count;
			}
			for (k = 1; k < nt; k++) {
				const float *gk = wk[k]->gdata;

				for (i = 0; i < np; i++)
					g0[i] += gk[i];
				memset(wk[k]->gdata, 0, np * sizeof(float));
			}
			(void)adam_clip(g0, np, cfg->clip);
			adam_step(&opt, p->data, g0, lr);
			memset(g0, 0, np * sizeof(float));
			chars_total += rows;

			if (progress) {
				pr.epoch = epoch;
				pr.batch = bi + 1;
				pr.train_loss = loss_sum / (double)count_sum;
				pr.lr = lr;
				pr.elapsed = now() - t0;
				pr.chars_per_second =
				    (double)chars_total / pr.elapsed;
				pr.epoch_done = 0;
				progress(arg, &pr);
			}
		}
		if (!isfinite(loss_sum)) {
			snprintf(err, errlen,
				 "the training loss diverged in epoch %d; "
				 "try a smaller learning rate",
				 epoch);
			goto out;
		}

		// Keep the best epoch; cut the step when there was none.
		held_loss = trainer_evaluate(p, held, n_held, nt, NULL);
		res->epochs = epoch;
		res->train_loss = loss_sum / (double)count_sum;
		pr.improved = held_loss < best_loss - 1e-4;
		if (pr.improved) {
			best_loss = held_loss;
			res->best_epoch = epoch;
			memcpy(best, p->data, np * sizeof(float));
			stale = 0;
		} else {
			stale++;
			lr *= cfg->plateau_factor;
		}
		lr *= cfg->lr_decay;
		lr = lr < cfg->lr_min ? cfg->lr_min : lr;

		if (progress) {
			pr.epoch = epoch;
			pr.train_loss = res->train_loss;
			pr.heldout_loss = held_loss;
			pr.best_loss = best_loss;
			pr.elapsed = now() - t0;
			pr.epoch_seconds = now() - te;
			pr.epoch_done = 1;
			progress(arg, &pr);
		}
		if (stale >= cfg->patience)
			break;
		if (cfg->max_seconds > 0 && now() - t0 >= cfg->max_seconds)
			break;
	}
	memcpy(p->data, best, np * sizeof(float));
	res->heldout_loss = best_loss;
	res->seconds = now() - t0;
	res->chars_per_second = (double)chars_total / res->seconds;
	rc = 0;
out:
	workers_free(wk, nt);
	adam_free(&opt);
	free(idx);
	free(starts);
	free(tmp);
	free(best);
	return rc;
}

int trainer_alphabet(const struct dataset *ds, struct alphabet *a, char *err,
		     size_t errlen)
{
	uint32_t *cps = NULL;
	size_t n = 0, i, cap = 0;
	int rc;

	for (i = 0; i < ds->count; i++)
		cap += ds->names[i].len;
	cps = malloc((cap ? cap : 1) * sizeof(*cps));
	if (!cps) {
		snprintf(err, errlen, "out of memory reading the alphabet");
		return -1;
	}
	for (i = 0; i < ds->count; i++) {
		const char *s = dataset_name_str(ds, i);
		size_t off = 0, len = ds->names[i].len;

		// The reader only keeps names that decode.
		while (off < len) {
			int used =
			    alphabet_decode(s + off, len - off, &cps[n]);

			if (used < 0)
				break;
			off += (size_t)used;
			n++;
		}
	}
	rc = alphabet_init(a, cps, n, err, errlen);
	free(cps);
	return rc;
}

int trainer_encode(const struct dataset *ds, const struct alphabet *a,
		   struct trainer_example **ex, int **tokens, char *err,
		   size_t errlen)
{
	size_t i, used = 0, cap = 0;
	char why[128];

	*ex = NULL;
	*tokens = NULL;
	for (i = 0; i < ds->count; i++)
		cap += ds->names[i].len;
	*ex = calloc(ds->count ? ds->count : 1, sizeof(**ex));
	*tokens = malloc((cap ? cap : 1) * sizeof(**tokens));
	if (!*ex || !*tokens) {
		snprintf(err, errlen, "out of memory encoding the names");
		goto fail;
	}
	for (i = 0; i < ds->count; i++) {
		const struct dataset_name *nm = &ds->names[i];
		struct trainer_example *e = &(*ex)[i];
		int n = alphabet_encode(a, dataset_name_str(ds, i), nm->len,
					*tokens + used, DATASET_MAX_NAME_CHARS,
					why, sizeof(why));

		if (n < 0) {
			snprintf(err, errlen, "line %u: %s", nm->line, why);
			goto fail;
		}
		e->tokens = *tokens + used;
		e->len = n;
		e->country = nm->country < 0 ? 0 : nm->country;
		e->gender = nm->gender < 0 ? 0 : nm->gender;
		used += (size_t)n;
	}
	return 0;
fail:
	free(*ex);
	free(*tokens);
	*ex = NULL;
	*tokens = NULL;
	return -1;
}
