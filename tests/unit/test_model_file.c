/* test_model_file.c - the model file: a saved model loads back with
 * bit-identical outputs, and truncated, corrupted and wrong-version files
 * are refused with a sentence (a fuzz-style loop over every truncation,
 * flipped bytes, and mutations with the checksum fixed up, so the parser
 * behind the checksum is exercised too). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "namegen-model/dataset.h"
#include "namegen-model/model_file.h"

static const char *const names[] = {"Anna", "Élodie", "Luca", "Anna",
				    "Noé",  "Lucas",  "Ada"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

struct fixture {
	struct model *m;
	void *buf;
	size_t len;
};

/* make_model builds a small conditioned model with random weights. */
static struct model *make_model(void)
{
	static const char chars[] = "ANLEÉdaoiuecsé";
	struct gru_dims d = {.countries = 3,
			     .genders = 2,
			     .emb_char = 4,
			     .emb_country = 3,
			     .emb_gender = 2,
			     .hidden = 6,
			     .layers = 2};
	struct model_country c[3] = {{"DE", "Germany", {5, 4}},
				     {"FR", "France", {7, 2}},
				     {"IT", "Italy", {1, 9}}};
	struct model_meta meta = {.trained_at = 1700000000,
				  .heldout_loss = 2.25f,
				  .train_loss = 2.0f,
				  .epochs = 9,
				  .best_epoch = 6,
				  .train_names = 6,
				  .heldout_names = 1,
				  .train_seconds = 1.5f,
				  .seed = 42,
				  .data_checksum = 0x1234};
	struct alphabet a;
	struct gru_params p;
	struct model *m = NULL;
	uint32_t cps[32];
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
	gru_params_init(&p, 5);
	assert_int_equal(model_build(&m, &p, &a, c, 3, &meta, names, N_NAMES,
				     err, sizeof(err)),
			 0);
	free(data);
	return m;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[MODEL_ERR_MAX];

	assert_non_null(f);
	f->m = make_model();
	assert_int_equal(model_write(f->m, &f->buf, &f->len, err, sizeof(err)),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	model_free(f->m);
	free(f->buf);
	free(f);
	return 0;
}

/* run_steps feeds a few tokens under two conditions, returning logits. */
static void run_steps(const struct model *m, float *logits_out)
{
	const struct gru *g = model_gru(m);
	int v = model_dims(m)->vocab, toks[2] = {0, 0}, s, c[2] = {0, 2};
	float cond[2 * 18], h[2 * 12], w[2] = {1, 3}, scratch[256];
	char err[128];

	assert_true(gru_scratch_floats(g, 2) <= 256);
	assert_int_equal(gru_condition(g, cond, 2, c, w, -1, err, 128), 0);
	assert_int_equal(gru_condition(g, cond + 18, 1, c, w, 1, err, 128), 0);
	gru_state_reset(g, 2, h);
	for (s = 0; s < 4; s++) {
		gru_step(g, 2, toks, cond, h, logits_out + (size_t)s * 2 * v,
			 scratch);
		toks[0] = 1 + s;
		toks[1] = v - 1 - s;
	}
}

static void test_roundtrip_bit_identical(void **state)
{
	struct fixture *f = *state;
	struct model *back = NULL;
	const struct model_meta *a, *b;
	char err[MODEL_ERR_MAX], path[] = "/tmp/test_model_file.XXXXXX";
	int v = model_dims(f->m)->vocab, fd, i;
	float *l1 = calloc((size_t)8 * v, sizeof(float));
	float *l2 = calloc((size_t)8 * v, sizeof(float));

	assert_non_null(l1);
	assert_non_null(l2);

	// Through a real file, written atomically and read back.
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(model_save(f->m, path, err, sizeof(err)), 0);
	assert_int_equal(model_load(&back, path, err, sizeof(err)), 0);
	unlink(path);

	assert_memory_equal(model_dims(f->m), model_dims(back),
			    sizeof(struct gru_dims));
	assert_memory_equal(model_params(f->m)->data, model_params(back)->data,
			    gru_param_count(model_dims(back)) * sizeof(float));
	run_steps(f->m, l1);
	run_steps(back, l2);
	assert_memory_equal(l1, l2, (size_t)8 * v * sizeof(float));

	a = model_meta(f->m);
	b = model_meta(back);
	assert_int_equal(b->file_bytes, f->len);
	assert_int_equal(a->file_bytes, f->len);
	assert_string_equal(a->version, b->version);
	assert_int_equal(b->trained_at, 1700000000);
	assert_true(b->heldout_loss == 2.25f);
	assert_int_equal(b->best_epoch, 6);
	assert_int_equal(b->seed, 42);
	assert_int_equal(b->data_checksum, 0x1234);
	assert_int_equal(b->params, gru_param_count(model_dims(back)));

	// Alphabet, countries, names.
	assert_int_equal(model_alphabet(back)->size, 14);
	assert_string_equal(alphabet_utf8(model_alphabet(back), 14), "é");
	assert_int_equal(model_country_count(back), 3);
	assert_string_equal(model_country(back, 1)->name, "France");
	assert_int_equal(model_country(back, 2)->names[1], 9);
	assert_null(model_country(back, 3));
	assert_int_equal(model_country_find(back, "it"), 2);
	assert_int_equal(model_country_find(back, "ES"), -1);
	assert_int_equal(model_name_count(back), N_NAMES - 1);
	for (i = 0; i < (int)N_NAMES; i++)
		assert_true(model_has_name(back, names[i], strlen(names[i])));
	assert_false(model_has_name(back, "Ann", 3));
	assert_false(model_has_name(back, "Annabel", 7));
	assert_false(model_has_name(back, "", 0));
	assert_int_equal(model_max_length(back), 6);
	assert_int_equal(model_end_token(back), 0);

	model_free(back);
	free(l1);
	free(l2);
}

/* Every truncation is refused, and says so. */
static void test_truncations_refused(void **state)
{
	struct fixture *f = *state;
	size_t len;

	for (len = 0; len < f->len; len++) {
		struct model *m = (struct model *)1;
		char err[MODEL_ERR_MAX] = "";

		assert_int_equal(
		    model_load_buffer(&m, f->buf, len, err, sizeof(err)), -1);
		assert_null(m);
		assert_true(strlen(err) > 10);
	}
}

/* Any flipped byte is refused (the checksum sees it). */
static void test_flipped_bytes_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *copy = malloc(f->len);
	size_t i;
	int bit;

	assert_non_null(copy);
	for (i = 0; i < f->len; i++) {
		for (bit = 0; bit < 8; bit += 3) {
			struct model *m = NULL;
			char err[MODEL_ERR_MAX] = "";

			memcpy(copy, f->buf, f->len);
			copy[i] ^= (unsigned char)(1u << bit);
			assert_int_equal(model_load_buffer(&m, copy, f->len,
							   err, sizeof(err)),
					 -1);
			assert_true(strlen(err) > 10);
		}
	}
	free(copy);
}

/* reseal fixes up the size field and the checksum of a mutated file. */
static void reseal(unsigned char *b, size_t len)
{
	uint64_t sum;
	int k;

	for (k = 0; k < 8; k++)
		b[12 + k] = (unsigned char)((uint64_t)len >> (8 * k));
	sum = dataset_fnv1a64(DATASET_FNV_SEED, b, len - 8);
	for (k = 0; k < 8; k++)
		b[len - 8 + k] = (unsigned char)(sum >> (8 * k));
}

/* Mutations behind a valid checksum never crash the parser (the
 * sanitizer build checks every access): each is loaded or refused. */
static void test_resealed_mutations(void **state)
{
	struct fixture *f = *state;
	unsigned char *copy = malloc(f->len + 64);
	unsigned long long s = 12345;
	int round, refused = 0, loaded = 0;

	assert_non_null(copy);
	for (round = 0; round < 3000; round++) {
		struct model *m = NULL;
		char err[MODEL_ERR_MAX] = "";
		size_t len = f->len, k;
		int edits, e, rc;

		memcpy(copy, f->buf, f->len);
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		// Some rounds also cut or grow the file.
		if (round % 5 == 0)
			len = 28 + (size_t)(s >> 33) % (f->len - 28);
		else if (round % 7 == 0)
			len = f->len + (size_t)(s >> 40) % 64;
		edits = 1 + (int)((s >> 20) % 4);
		for (e = 0; e < edits; e++) {
			s = s * 6364136223846793005ULL +
			    1442695040888963407ULL;
			// Keep magic and version, so the parser is reached.
			k = 12 + (size_t)(s >> 33) % (len - 20);
			copy[k] = (unsigned char)(s >> 8);
		}
		reseal(copy, len);
		rc = model_load_buffer(&m, copy, len, err, sizeof(err));
		if (rc == 0) {
			assert_non_null(m);
			loaded++;
			model_free(m);
		} else {
			assert_null(m);
			assert_true(strlen(err) > 10);
			refused++;
		}
	}
	print_message("# resealed mutations: %d refused, %d loaded\n", refused,
		      loaded);
	assert_true(refused > 1000);
	free(copy);
}

static void test_wrong_version_and_magic(void **state)
{
	struct fixture *f = *state;
	unsigned char *copy = malloc(f->len);
	struct model *m = NULL;
	char err[MODEL_ERR_MAX];

	assert_non_null(copy);
	memcpy(copy, f->buf, f->len);
	copy[8] = 2;
	reseal(copy, f->len);
	assert_int_equal(model_load_buffer(&m, copy, f->len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "version 2"));

	memcpy(copy, f->buf, f->len);
	copy[0] = 'X';
	assert_int_equal(model_load_buffer(&m, copy, f->len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a namegen model"));

	assert_int_equal(
	    model_load(&m, "/nonexistent/x.model", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.model"));
	free(copy);
}

/* model_build refuses what the loader would refuse, so that a model it
 * builds can always be read back. */
static void test_build_refuses(void **state)
{
	struct gru_dims d = {.countries = 2,
			     .genders = 2,
			     .emb_char = 2,
			     .emb_country = 2,
			     .emb_gender = 2,
			     .hidden = 3,
			     .layers = 1};
	struct model_country ok[2] = {{"DE", "Germany", {1, 1}},
				      {"FR", "France", {1, 1}}};
	struct model_country bad[2];
	struct model_meta meta = {0};
	const char *long_name = "Abcdefghijabcdefghijabcdefghijabc"; // 33
	const char *one = "Ab";
	struct alphabet a;
	struct gru_params p;
	struct model *m = NULL;
	uint32_t cps[3] = {'A', 'b', 'c'};
	float *data;
	char err[MODEL_ERR_MAX];

	(void)state;
	assert_int_equal(alphabet_init(&a, cps, 3, err, sizeof(err)), 0);
	d.vocab = a.size + 1;
	data = malloc(gru_param_count(&d) * sizeof(float));
	assert_non_null(data);
	gru_params_point(&p, &d, data);
	gru_params_init(&p, 1);

	assert_int_equal(
	    model_build(&m, &p, &a, ok, 2, &meta, &one, 1, err, sizeof(err)),
	    0);
	model_free(m);

	memcpy(bad, ok, sizeof(bad));
	memcpy(bad[0].code, "FR", 3);
	memcpy(bad[1].code, "DE", 3);
	assert_int_equal(
	    model_build(&m, &p, &a, bad, 2, &meta, &one, 1, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "code order"));

	memcpy(bad, ok, sizeof(bad));
	memcpy(bad[1].name, "Fr\xc3", 4); // cut inside a character
	assert_int_equal(
	    model_build(&m, &p, &a, bad, 2, &meta, &one, 1, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "country FR"));

	assert_int_equal(model_build(&m, &p, &a, ok, 2, &meta, &long_name, 1,
				     err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "training name 0"));

	data[3] = NAN;
	assert_int_equal(
	    model_build(&m, &p, &a, ok, 2, &meta, &one, 1, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "parameter 3 is not finite"));
	assert_null(m);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip_bit_identical,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncations_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_flipped_bytes_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resealed_mutations, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_version_and_magic,
					    setup, teardown),
	    cmocka_unit_test(test_build_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
