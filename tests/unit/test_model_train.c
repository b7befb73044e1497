/* test_model_train.c - the trainer: the loss falls on a tiny data set,
 * runs are reproducible, and its evaluation agrees with gru_score. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "namegen-model/trainer.h"

static const char tsv[] = "country\tgender\tname\n"
			  "IT\tF\tGiulia\nIT\tF\tGiada\nIT\tF\tGina\n"
			  "IT\tM\tGino\nIT\tM\tGiulio\nIT\tM\tGiacomo\n"
			  "SE\tF\tAstrid\nSE\tF\tAnnika\nSE\tF\tAgneta\n"
			  "SE\tM\tAnders\nSE\tM\tArvid\nSE\tM\tAxel\n"
			  "GR\tF\tΕλένη\nGR\tF\tΕιρήνη\nGR\tM\tΕυάγγελος\n"
			  "GR\tM\tΕμμανουήλ\n";

struct data {
	struct dataset ds;
	struct alphabet a;
	struct trainer_example *ex;
	int *tokens;
	struct gru_dims d;
};

static int setup(void **state)
{
	struct data *t = calloc(1, sizeof(*t));
	char err[DATASET_ERR_MAX];

	assert_non_null(t);
	assert_int_equal(dataset_parse(&t->ds, tsv, strlen(tsv), "tiny.tsv",
				       DATASET_AUTO, 0, NULL, NULL, err,
				       sizeof(err)),
			 0);
	assert_int_equal(trainer_alphabet(&t->ds, &t->a, err, sizeof(err)), 0);
	assert_int_equal(trainer_encode(&t->ds, &t->a, &t->ex, &t->tokens, err,
					sizeof(err)),
			 0);
	t->d = (struct gru_dims){.vocab = t->a.size + 1,
				 .countries = t->ds.countries,
				 .genders = 2,
				 .emb_char = 8,
				 .emb_country = 4,
				 .emb_gender = 2,
				 .hidden = 24,
				 .layers = 1};
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct data *t = *state;

	dataset_free(&t->ds);
	free(t->ex);
	free(t->tokens);
	free(t);
	return 0;
}

static void train(struct data *t, float *data, int threads,
		  struct trainer_result *res)
{
	struct trainer_config tc;
	struct gru_params p;
	char err[256];

	trainer_defaults(&tc);
	tc.batch = 4;
	tc.threads = threads;
	tc.lr = 1e-2f;
	tc.lr_decay = 1.0f;
	tc.max_epochs = 60;
	tc.patience = 60;
	tc.dropout = 0.1f;
	gru_params_point(&p, &t->d, data);
	gru_params_init(&p, 3);
	// Held-out = the training names: this checks fitting, not generality.
	assert_int_equal(trainer_run(&tc, &p, t->ex, t->ds.count, t->ex,
				     t->ds.count, res, NULL, NULL, err,
				     sizeof(err)),
			 0);
}

static void test_loss_falls_and_is_reproducible(void **state)
{
	struct data *t = *state;
	size_t np = gru_param_count(&t->d), chars;
	float *a = malloc(np * sizeof(float)), *b = malloc(np * sizeof(float));
	struct trainer_result ra, rb;
	struct gru_params p;
	double before, after;

	assert_non_null(a);
	assert_non_null(b);
	gru_params_point(&p, &t->d, a);
	gru_params_init(&p, 3);
	before = trainer_evaluate(&p, t->ex, t->ds.count, 1, &chars);
	assert_int_equal(chars, strlen("GiuliaGiadaGinaGinoGiulioGiacomo"
				       "AstridAnnikaAgnetaAndersArvidAxel") +
				    5 + 6 + 9 + 9 + 16);

	train(t, a, 2, &ra);
	after = trainer_evaluate(&p, t->ex, t->ds.count, 2, NULL);
	print_message("# loss %.4f -> %.4f in %d epochs (best %d)\n", before,
		      after, ra.epochs, ra.best_epoch);
	assert_true(before > 2.5);
	assert_true(after < 0.5 * before);
	assert_true(fabs(after - ra.heldout_loss) < 1e-4);

	// Same seeds, same threads: the same floats.
	train(t, b, 2, &rb);
	assert_memory_equal(a, b, np * sizeof(float));
	free(a);
	free(b);
}

/* trainer_evaluate (training forward) and gru_score (inference) agree. */
static void test_evaluate_matches_score(void **state)
{
	struct data *t = *state;
	size_t np = gru_param_count(&t->d), i, chars = 0;
	float *data = malloc(np * sizeof(float)), *cond, *scratch;
	struct gru_params p;
	struct gru g;
	double mean, total = 0;

	assert_non_null(data);
	gru_params_point(&p, &t->d, data);
	gru_params_init(&p, 8);
	assert_int_equal(gru_init(&g, &p), 0);
	cond = malloc((size_t)gru_cond_size(&g) * sizeof(float));
	scratch = malloc(gru_score_scratch_floats(&g, 1) * sizeof(float));
	assert_non_null(cond);
	assert_non_null(scratch);
	mean = trainer_evaluate(&p, t->ex, t->ds.count, 2, NULL);
	for (i = 0; i < t->ds.count; i++) {
		const struct trainer_example *e = &t->ex[i];
		float w = 1.0f;
		double lp;
		char err[128];

		assert_int_equal(gru_condition(&g, cond, 1, &e->country, &w,
					       e->gender, err, sizeof(err)),
				 0);
		gru_score(&g, 1, cond, e->tokens, e->len, &lp, scratch);
		total -= lp;
		chars += (size_t)e->len + 1;
	}
	print_message("# evaluate %.6f, score %.6f\n", mean,
		      total / (double)chars);
	assert_true(fabs(mean - total / (double)chars) < 1e-4);
	gru_free(&g);
	free(cond);
	free(scratch);
	free(data);
}

static void test_bad_settings_refused(void **state)
{
	struct data *t = *state;
	struct trainer_config tc;
	struct trainer_result res;
	struct trainer_example bad = t->ex[0];
	float *data = malloc(gru_param_count(&t->d) * sizeof(float));
	struct gru_params p;
	char err[256];

	assert_non_null(data);
	gru_params_point(&p, &t->d, data);
	gru_params_init(&p, 1);
	trainer_defaults(&tc);
	tc.threads = 0;
	assert_int_equal(trainer_run(&tc, &p, t->ex, 4, t->ex, 4, &res, NULL,
				     NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "settings"));
	trainer_defaults(&tc);
	bad.country = 99;
	assert_int_equal(trainer_run(&tc, &p, &bad, 1, t->ex, 4, &res, NULL,
				     NULL, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "out of range"));
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_loss_falls_and_is_reproducible, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_evaluate_matches_score, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_settings_refused, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
