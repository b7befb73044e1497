/* test_worker_model.h - a small random model for the worker's unit
 * tests (included by tests/unit/test_worker_*.c; everything static). */
#ifndef TESTS_UNIT_TEST_WORKER_MODEL_H
#define TESTS_UNIT_TEST_WORKER_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "namegen-model/gru.h"
#include "namegen-model/model_file.h"

/* Training names: every name of one or two characters that starts with
 * "a" except "aé", so "aé" is the only novel one; and one of 20
 * characters, the model's maximum length. */
static const char *const train_names[] = {
    "a",  "aa",	 "ab",	 "ac",	  "ad",	  "b",
    "ba", "cab", "dace", "abcdé", "bébé", "abcdeabcdeabcdeabcde"};
#define N_TRAIN (sizeof(train_names) / sizeof(train_names[0]))
#define MAX_LEN 20

/* make_model builds a conditioned 2-layer model (hidden 12) over the
 * alphabet "abcdeé" with random weights from seed; free it with
 * model_free. Uses cmocka's asserts. */
static struct model *make_model(unsigned long long seed)
{
	static const char chars[] = "abcdeé";
	struct gru_dims d = {.countries = 3,
			     .genders = 2,
			     .emb_char = 5,
			     .emb_country = 3,
			     .emb_gender = 2,
			     .hidden = 12,
			     .layers = 2};
	struct model_country c[3] = {{"DE", "Germany", {5, 4}},
				     {"FR", "France", {7, 2}},
				     {"IT", "Italy", {1, 9}}};
	struct model_meta meta = {.trained_at = 1700000000,
				  .heldout_loss = 1.5f};
	struct alphabet a;
	struct gru_params p;
	struct model *m = NULL;
	uint32_t cps[8];
	size_t n = 0, off = 0;
	float *data;
	char err[MODEL_ERR_MAX];

	while (chars[off]) {
		int used = alphabet_decode(chars + off, strlen(chars + off),
					   &cps[n++]);

		assert_true(used > 0);
		off += (size_t)used;
	}
	assert_int_equal(alphabet_init(&a, cps, n, err, sizeof(err)), 0);
	d.vocab = a.size + 1;
	data = malloc(gru_param_count(&d) * sizeof(float));
	assert_non_null(data);
	gru_params_point(&p, &d, data);
	gru_params_init(&p, seed);
	assert_int_equal(model_build(&m, &p, &a, c, 3, &meta, train_names,
				     N_TRAIN, err, sizeof(err)),
			 0);
	free(data);
	assert_int_equal(model_max_length(m), MAX_LEN);
	return m;
}

#endif /* TESTS_UNIT_TEST_WORKER_MODEL_H */
