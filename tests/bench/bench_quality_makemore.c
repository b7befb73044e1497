/* bench_quality_makemore.c - the model's quality on a public benchmark:
 * makemore's names.txt with makemore's kind of split (indices shuffled
 * with a fixed seed, the last 1,000 names are the test set, the rest is
 * for training). Of the training part, the last 1,000 are held out for
 * early stopping, so the test names are never looked at before the end.
 *
 * Prints the test loss in nats per character (end token counted, start
 * token not) of a GRU and of a bigram table fitted on the same names:
 *
 *   bench_quality_makemore [--hidden N] [--emb N] [--layers N]
 *                          [--epochs N] [--lr X] [--lr-decay X]
 *                          [--batch N] [--weight-decay X] [--seed N] FILE
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "namegen-model/dataset.h"
#include "namegen-model/trainer.h"

#define TEST_NAMES  1000
#define VALID_NAMES 1000
#define SPLIT_SEED  3407

/* bigram_loss fits P(next | previous) by counting over train (add-alpha
 * smoothing) and returns the mean loss per character over test. */
static double bigram_loss(const struct trainer_example *train, size_t nt,
			  const struct trainer_example *test, size_t ns, int v,
			  double alpha)
{
	double *count = calloc((size_t)v * v, sizeof(double)), loss = 0;
	size_t i, chars = 0;
	int t, a, b;

	if (!count)
		return NAN;
	for (i = 0; i < nt; i++) {
		for (t = 0, a = 0; t <= train[i].len; t++, a = b) {
			b = t < train[i].len ? train[i].tokens[t] : 0;
			count[a * v + b] += 1;
		}
	}
	for (i = 0; i < ns; i++) {
		for (t = 0, a = 0; t <= test[i].len; t++, a = b) {
			double row = 0;
			int k;

			b = t < test[i].len ? test[i].tokens[t] : 0;
			for (k = 0; k < v; k++)
				row += count[a * v + k] + alpha;
			loss -= log((count[a * v + b] + alpha) / row);
			chars++;
		}
	}
	free(count);
	return loss / (double)chars;
}

static void progress(void *arg, const struct trainer_progress *p)
{
	(void)arg;
	if (!p->epoch_done)
		return;
	printf("epoch=%d train_loss=%.4f valid_loss=%.4f lr=%.2e "
	       "seconds=%.1f chars_per_s=%.0f\n",
	       p->epoch, p->train_loss, p->heldout_loss, (double)p->lr,
	       p->elapsed, p->chars_per_second);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct gru_dims d = {.emb_char = 64, .hidden = 256, .layers = 1};
	struct trainer_config tc;
	struct trainer_result res;
	struct dataset ds = {0};
	struct alphabet a;
	struct trainer_example *ex = NULL, *order = NULL;
	struct gru_params p;
	const char *file = NULL;
	char err[DATASET_ERR_MAX];
	unsigned long long rng = SPLIT_SEED;
	size_t *idx = NULL, n, n_train, i, test_chars;
	float *data = NULL;
	int *tokens = NULL, rc = 1, k;
	double test_loss, big;

	trainer_defaults(&tc);
	for (k = 1; k < argc; k++) {
		const char *f = argv[k], *v = k + 1 < argc ? argv[k + 1] : "";

		if (strcmp(f, "--hidden") == 0)
			d.hidden = atoi(v);
		else if (strcmp(f, "--emb") == 0)
			d.emb_char = atoi(v);
		else if (strcmp(f, "--layers") == 0)
			d.layers = atoi(v);
		else if (strcmp(f, "--epochs") == 0)
			tc.max_epochs = atoi(v);
		else if (strcmp(f, "--lr") == 0)
			tc.lr = (float)atof(v);
		else if (strcmp(f, "--lr-decay") == 0)
			tc.lr_decay = (float)atof(v);
		else if (strcmp(f, "--batch") == 0)
			tc.batch = atoi(v);
		else if (strcmp(f, "--weight-decay") == 0)
			tc.weight_decay = (float)atof(v);
		else if (strcmp(f, "--dropout") == 0)
			tc.dropout = (float)atof(v);
		else if (strcmp(f, "--patience") == 0)
			tc.patience = atoi(v);
		else if (strcmp(f, "--seed") == 0)
			tc.seed = strtoull(v, NULL, 10);
		else {
			file = f;
			continue;
		}
		k++;
	}
	if (!file) {
		fprintf(stderr, "usage: bench_quality_makemore [options] "
				"names.txt\n");
		return 2;
	}

	if (dataset_load(&ds, file, DATASET_PLAIN, 0, NULL, NULL, err,
			 sizeof(err)) != 0 ||
	    trainer_alphabet(&ds, &a, err, sizeof(err)) != 0 ||
	    trainer_encode(&ds, &a, &ex, &tokens, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_quality_makemore: %s\n", err);
		goto out;
	}
	n = ds.count;
	if (n <= TEST_NAMES + VALID_NAMES) {
		fprintf(stderr, "bench_quality_makemore: too few names\n");
		goto out;
	}
	idx = malloc(n * sizeof(*idx));
	order = malloc(n * sizeof(*order));
	d.vocab = a.size + 1;
	data = malloc(gru_param_count(&d) * sizeof(float));
	if (!idx || !order || !data)
		goto out;
	for (i = 0; i < n; i++)
		idx[i] = i;
	trainer_shuffle(idx, n, &rng);
	for (i = 0; i < n; i++)
		order[i] = ex[idx[i]];
	n_train = n - TEST_NAMES;

	printf("names=%zu train=%zu valid=%d test=%d vocab=%d hidden=%d "
	       "emb=%d layers=%d params=%zu batch=%d lr=%g threads=%d "
	       "dropout=%g weight_decay=%g\n",
	       n, n_train - VALID_NAMES, VALID_NAMES, TEST_NAMES, d.vocab,
	       d.hidden, d.emb_char, d.layers, gru_param_count(&d), tc.batch,
	       (double)tc.lr, tc.threads, (double)tc.dropout,
	       (double)tc.weight_decay);
	fflush(stdout);
	big = bigram_loss(order, n_train, order + n_train, TEST_NAMES, d.vocab,
			  1.0);

	gru_params_point(&p, &d, data);
	gru_params_init(&p, 1);
	if (trainer_run(&tc, &p, order, n_train - VALID_NAMES,
			order + n_train - VALID_NAMES, VALID_NAMES, &res,
			progress, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_quality_makemore: %s\n", err);
		goto out;
	}
	test_loss = trainer_evaluate(&p, order + n_train, TEST_NAMES,
				     tc.threads, &test_chars);

	printf("\n%-28s %10s %10s %10s\n", "model (makemore split)",
	       "test loss", "params", "seconds");
	printf("%-28s %10.4f %10d %10s\n", "bigram (add-1 counts)", big,
	       d.vocab * d.vocab, "-");
	printf("%-28s %10s %10s %10s\n", "makemore transformer (ref)", "~1.92",
	       "~200K", "-");
	printf("%-28s %10.4f %10zu %10.0f\n", "namegen GRU", test_loss,
	       gru_param_count(&d), res.seconds);
	printf("test_loss=%.4f params=%zu seconds=%.0f best_epoch=%d "
	       "epochs=%d valid_loss=%.4f chars_per_s=%.0f test_chars=%zu "
	       "bigram_test_loss=%.4f\n",
	       test_loss, gru_param_count(&d), res.seconds, res.best_epoch,
	       res.epochs, res.heldout_loss, res.chars_per_second, test_chars,
	       big);
	rc = 0;
out:
	dataset_free(&ds);
	free(ex);
	free(tokens);
	free(idx);
	free(order);
	free(data);
	return rc;
}
