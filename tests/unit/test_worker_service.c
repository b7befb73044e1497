/* test_worker_service.c - checking Generate requests (every bad field is
 * refused with a message naming the field and the rule; defaults fill
 * what is left at zero), the sampler's rules (top-k, the end token held
 * back, temperature, the frequencies it draws) and Score's posterior. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "namegen-model/model_service.h"
#include "namegen-model/sampler.h"
#include "namegen-model/scorer.h"
#include "tests/unit/test_worker_model.h"

struct fixture {
	struct model *m;
	struct model_service *ms;
	Namegen__V1__GenerateRequest req;
	Namegen__V1__CountryWeight cw[3];
	Namegen__V1__CountryWeight *cwp[3];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	f->m = make_model(21);
	// Parsing needs no batcher.
	assert_int_equal(
	    model_service_new(&f->ms, f->m, NULL, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	model_service_free(f->ms);
	model_free(f->m);
	free(f);
	return 0;
}

/* reset makes f->req a valid request for one country, DE. */
static void reset(struct fixture *f)
{
	int i;

	namegen__v1__generate_request__init(&f->req);
	for (i = 0; i < 3; i++) {
		namegen__v1__country_weight__init(&f->cw[i]);
		f->cwp[i] = &f->cw[i];
	}
	f->cw[0].code = (char *)"DE";
	f->cw[1].code = (char *)"it";
	f->cw[2].code = (char *)"FR";
	f->req.countries = f->cwp;
	f->req.n_countries = 1;
}

/* refused checks that the request is refused with a message starting
 * with field and holding rule. */
static void refused(struct fixture *f, const char *field, const char *rule)
{
	struct batch_spec spec;
	float cond[3 * 12];
	char err[MODEL_SERVICE_ERR_MAX] = "";

	assert_int_equal(model_service_parse_generate(f->ms, &f->req, &spec,
						      cond, err, sizeof(err)),
			 -1);
	if (strncmp(err, field, strlen(field)) != 0 || !strstr(err, rule))
		fail_msg("wanted \"%s ... %s\", got \"%s\"", field, rule, err);
	reset(f);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;

	reset(f);
	f->req.count = 101;
	refused(f, "count:", "1..100");
	f->req.max_length = MAX_LEN + 1;
	refused(f, "max_length:", "at most 20");
	f->req.min_length = 5;
	f->req.max_length = 4;
	refused(f, "min_length:", "above max_length 4");
	f->req.min_length = MAX_LEN + 1;
	refused(f, "min_length:", "above max_length 20");
	f->req.temperature = 2.5f;
	refused(f, "temperature:", "(0, 2]");
	f->req.temperature = -1.0f;
	refused(f, "temperature:", "(0, 2]");
	f->req.temperature = NAN;
	refused(f, "temperature:", "(0, 2]");
	f->req.top_k = 7; // the alphabet has 6 characters
	refused(f, "top_k:", "0..6");
	f->req.prefix = (char *)"abz";
	refused(f, "prefix:", "\"z\" (U+007A) at byte 2 is not in the");
	f->req.prefix = (char *)"a\xff";
	refused(f, "prefix:", "malformed UTF-8");
	f->req.prefix = (char *)"abcde";
	f->req.max_length = 4;
	refused(f, "prefix:", "longer than max_length 4");
	f->req.gender = (Namegen__V1__Gender)7;
	refused(f, "gender:", "GENDER_ANY, GENDER_MALE or GENDER_FEMALE");
	f->req.n_countries = 0;
	refused(f, "countries:", "at least one");
	f->cw[0].code = (char *)"XX";
	refused(f, "countries[0].code:", "unknown country \"XX\"");
	f->cw[0].code = (char *)"\x01\x02";
	refused(f, "countries[0].code:", "unknown country \"??\"");
	f->req.n_countries = 3;
	f->cw[2].code = (char *)"de";
	refused(f, "countries[2].code:", "listed twice");
	f->req.n_countries = 2;
	f->cw[1].weight = -0.5f;
	refused(f, "countries[1].weight:", "[0, 1e6]");
	f->cw[0].weight = NAN;
	refused(f, "countries[0].weight:", "[0, 1e6]");
	f->cw[0].weight = INFINITY;
	refused(f, "countries[0].weight:", "[0, 1e6]");
}

static void test_defaults_and_mapping(void **state)
{
	struct fixture *f = *state;
	const struct gru *g = model_gru(f->m);
	struct batch_spec spec;
	float cond[3 * 12], want[3 * 12];
	int idx[2] = {0, 2};
	float w[2] = {1.0f, 3.0f};
	char err[MODEL_SERVICE_ERR_MAX];
	int i;

	reset(f);
	assert_int_equal(model_service_parse_generate(f->ms, &f->req, &spec,
						      cond, err, sizeof(err)),
			 0);
	assert_int_equal(spec.count, 1);
	assert_int_equal(spec.min_len, 1);
	assert_int_equal(spec.max_len, MAX_LEN);
	assert_true(spec.rules.temperature == 1.0f);
	assert_int_equal(spec.rules.top_k, 0);
	assert_true(spec.unique);
	assert_false(spec.novel);
	assert_int_equal(spec.prefix_len, 0);

	// Weighted countries (0 means 1), female, the other options.
	f->req.n_countries = 2;
	f->cw[1].code = (char *)"it";
	f->cw[1].weight = 3.0f;
	f->req.gender = NAMEGEN__V1__GENDER__GENDER_FEMALE;
	f->req.prefix = (char *)"é";
	f->req.count = 100;
	f->req.min_length = 2;
	f->req.max_length = 9;
	f->req.temperature = 0.001f;
	f->req.top_k = 6;
	f->req.allow_duplicates = 1;
	f->req.novel = 1;
	f->req.has_seed = 1;
	f->req.seed = 987654321;
	assert_int_equal(model_service_parse_generate(f->ms, &f->req, &spec,
						      cond, err, sizeof(err)),
			 0);
	assert_int_equal(spec.count, 100);
	assert_int_equal(spec.min_len, 2);
	assert_int_equal(spec.max_len, 9);
	assert_true(spec.rules.temperature == SAMPLER_TEMP_MIN);
	assert_int_equal(spec.rules.top_k, 6);
	assert_false(spec.unique);
	assert_true(spec.novel);
	assert_true(spec.seed == 987654321);
	assert_int_equal(spec.prefix_len, 1);
	assert_int_equal(spec.prefix[0], 6); // é sorts after a..e
	assert_int_equal(
	    gru_condition(g, want, 2, idx, w, GRU_GENDER_F, err, sizeof(err)),
	    0);
	for (i = 0; i < 3 * 12; i++)
		assert_true(fabsf(cond[i] - want[i]) < 1e-6f);
}

/* ---------------------------------------------------------- sampler */

static void test_sampler_rules(void **state)
{
	float logits[6] = {2.0f, 1.0f, 0.5f, 3.0f, -1.0f, 2.9f}, work[6];
	struct sampler_rules top1 = {1.0f, 1}, top2 = {1.0f, 2},
			     cold = {SAMPLER_TEMP_MIN, 0}, plain = {1.0f, 0};
	struct sampler_rng rng;
	float lz = sampler_log_norm(6, logits), lp;
	double sum = 0;
	int i, t, ends = 0;

	(void)state;
	for (i = 0; i < 6; i++)
		sum += exp(logits[i]);
	assert_true(fabs(lz - log(sum)) < 1e-5);
	sampler_rng_seed(&rng, 1, 2);
	for (i = 0; i < 200; i++) {
		t = sampler_pick(&top1, 6, logits, true, &rng, work, &lp);
		assert_int_equal(t, 3);
		assert_true(fabsf(lp - (logits[3] - lz)) < 1e-6f);
		t = sampler_pick(&top2, 6, logits, true, &rng, work, &lp);
		assert_true(t == 3 || t == 5);
		t = sampler_pick(&cold, 6, logits, true, &rng, work, &lp);
		assert_int_equal(t, 3);
	}
	// The end token (0) held back: top-1 is then among the characters.
	logits[0] = 10.0f;
	lz = sampler_log_norm(6, logits);
	for (i = 0; i < 200; i++) {
		t = sampler_pick(&top1, 6, logits, false, &rng, work, &lp);
		assert_int_equal(t, 3);
		t = sampler_pick(&top2, 6, logits, false, &rng, work, &lp);
		assert_true(t == 3 || t == 5);
		assert_true(fabsf(lp - (logits[t] - lz)) < 1e-6f);
		// The fast path (temperature 1, no cut) holds it back too.
		t = sampler_pick(&plain, 6, logits, false, &rng, work, &lp);
		assert_true(t != 0);
		assert_true(fabsf(lp - (logits[t] - lz)) < 1e-5f);
		ends += sampler_pick(&plain, 6, logits, true, &rng, work,
				     &lp) == 0;
	}
	// Allowed, the end (e^10 against e^3 and less) is nearly certain.
	assert_true(ends > 190);
}

/* At temperature 1 the draws follow softmax(logits): each frequency of
 * 200000 draws within 1% (absolute) of its probability. At temperature
 * 0.5 they follow softmax(2 * logits). */
static void test_sampler_frequencies(void **state)
{
	const float logits[5] = {0.0f, 1.0f, -0.5f, 0.7f, 0.2f};
	struct sampler_rules r1 = {1.0f, 0}, rh = {0.5f, 0};
	struct sampler_rng rng;
	float work[5], lp;
	int hits1[5] = {0}, hitsh[5] = {0}, i;
	const int n = 200000;
	double z1 = 0, zh = 0;

	(void)state;
	sampler_rng_seed(&rng, 42, 0);
	for (i = 0; i < n; i++) {
		hits1[sampler_pick(&r1, 5, logits, true, &rng, work, &lp)]++;
		hitsh[sampler_pick(&rh, 5, logits, true, &rng, work, &lp)]++;
	}
	for (i = 0; i < 5; i++) {
		z1 += exp(logits[i]);
		zh += exp(2.0 * logits[i]);
	}
	for (i = 0; i < 5; i++) {
		assert_true(fabs((double)hits1[i] / n - exp(logits[i]) / z1) <
			    0.01);
		assert_true(fabs((double)hitsh[i] / n -
				 exp(2.0 * logits[i]) / zh) < 0.01);
	}
}

static void test_rng_streams(void **state)
{
	struct sampler_rng a, b, c;
	int i, same = 0;

	(void)state;
	sampler_rng_seed(&a, 7, 3);
	sampler_rng_seed(&b, 7, 3);
	sampler_rng_seed(&c, 7, 4);
	for (i = 0; i < 1000; i++) {
		uint64_t x = sampler_rng_next(&a);
		double u;

		assert_true(x == sampler_rng_next(&b));
		same += x == sampler_rng_next(&c);
		u = sampler_rng_uniform(&a);
		(void)sampler_rng_uniform(&b);
		assert_true(u >= 0.0 && u < 1.0);
	}
	assert_int_equal(same, 0);
}

/* ------------------------------------------------------------ scorer */

static void test_score(void **state)
{
	struct fixture *f = *state;
	const struct gru *g = model_gru(f->m);
	struct scorer *s = NULL;
	struct scorer_result *r = malloc(sizeof(*r));
	float cond[3 * 12], scratch[4096];
	int tokens[8], c, gd, n;
	double logp, best = -INFINITY, sum = 0.0, pc[3] = {0}, pg[2] = {0};
	double lps[3][2];
	char err[256];

	assert_non_null(r);
	assert_true(gru_score_scratch_floats(g, 1) <= 4096);
	assert_int_equal(scorer_new(&s, f->m, err, sizeof(err)), 0);
	assert_int_equal(
	    scorer_score(s, "bébé", strlen("bébé"), r, err, sizeof(err)), 0);

	// The posterior by hand: one condition at a time.
	n = alphabet_encode(model_alphabet(f->m), "bébé", strlen("bébé"),
			    tokens, 8, err, sizeof(err));
	assert_int_equal(n, 4);
	assert_int_equal(r->chars, 4);
	for (c = 0; c < 3; c++)
		for (gd = 0; gd < 2; gd++) {
			float one = 1.0f;

			assert_int_equal(gru_condition(g, cond, 1, &c, &one,
						       gd, err, sizeof(err)),
					 0);
			gru_score(g, 1, cond, tokens, n, &logp, scratch);
			lps[c][gd] = logp;
			best = logp > best ? logp : best;
		}
	for (c = 0; c < 3; c++)
		for (gd = 0; gd < 2; gd++)
			sum += exp(lps[c][gd] - best);
	for (c = 0; c < 3; c++)
		for (gd = 0; gd < 2; gd++) {
			pc[c] += exp(lps[c][gd] - best) / sum;
			pg[gd] += exp(lps[c][gd] - best) / sum;
		}
	assert_true(fabs(r->log_likelihood - best) < 1e-4);
	assert_int_equal(r->ncountries, 3);
	assert_int_equal(r->ngenders, 2);
	for (c = 0; c < 3; c++) {
		assert_true(fabs(r->countries[c].probability -
				 pc[r->countries[c].index]) < 1e-5);
		if (c > 0)
			assert_true(r->countries[c].probability <=
				    r->countries[c - 1].probability);
	}
	assert_true(r->genders[0].probability >= r->genders[1].probability);
	for (gd = 0; gd < 2; gd++)
		assert_true(fabs(r->genders[gd].probability -
				 pg[r->genders[gd].gender]) < 1e-5);

	// Bad names: empty, outside the alphabet, too long, malformed.
	assert_int_equal(scorer_score(s, "", 0, r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "name: must not be empty"));
	assert_int_equal(scorer_score(s, "abx", 3, r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "name: the character \"x\""));
	assert_int_equal(
	    scorer_score(s, "abcdeabcdeabcdeabcdea", 21, r, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "name: longer than 20 characters"));
	assert_int_equal(scorer_score(s, "a\xc3", 2, r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "name: malformed UTF-8"));
	scorer_free(s);
	free(r);
}

/* A model trained on a plain list of names has no countries or genders:
 * requests must name none, Score and Meta still answer. */
static void test_unconditioned_model(void **state)
{
	static const char *const plain[] = {"ab", "ba", "abc"};
	struct gru_dims d = {.emb_char = 3, .hidden = 5, .layers = 1};
	struct model_meta meta = {.heldout_loss = 2.0f};
	Namegen__V1__GenerateRequest req = NAMEGEN__V1__GENERATE_REQUEST__INIT;
	Namegen__V1__CountryWeight cw = NAMEGEN__V1__COUNTRY_WEIGHT__INIT;
	Namegen__V1__CountryWeight *cwp = &cw;
	struct model_service *ms = NULL;
	struct scorer *sc = NULL;
	struct scorer_result *r = malloc(sizeof(*r));
	struct batch_spec spec;
	struct alphabet a;
	struct gru_params p;
	struct model *m = NULL;
	uint32_t cps[3] = {'a', 'b', 'c'};
	float cond[15], *data;
	char err[256];
	int i;

	(void)state;
	assert_non_null(r);
	assert_int_equal(alphabet_init(&a, cps, 3, err, sizeof(err)), 0);
	d.vocab = a.size + 1;
	data = malloc(gru_param_count(&d) * sizeof(float));
	assert_non_null(data);
	gru_params_point(&p, &d, data);
	gru_params_init(&p, 3);
	assert_int_equal(model_build(&m, &p, &a, NULL, 0, &meta, plain, 3, err,
				     sizeof(err)),
			 0);
	free(data);
	assert_int_equal(model_service_new(&ms, m, NULL, err, sizeof(err)), 0);

	// No country, open gender: fine; the conditioning row is zeros.
	assert_int_equal(model_service_parse_generate(ms, &req, &spec, cond,
						      err, sizeof(err)),
			 0);
	for (i = 0; i < 15; i++)
		assert_true(cond[i] == 0.0f);
	req.n_countries = 1;
	req.countries = &cwp;
	cw.code = (char *)"DE";
	assert_int_equal(model_service_parse_generate(ms, &req, &spec, cond,
						      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "countries: this model has no countries"));
	req.n_countries = 0;
	req.gender = NAMEGEN__V1__GENDER__GENDER_MALE;
	assert_int_equal(model_service_parse_generate(ms, &req, &spec, cond,
						      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "gender: this model has no genders"));

	assert_int_equal(scorer_new(&sc, m, err, sizeof(err)), 0);
	assert_int_equal(scorer_score(sc, "cab", 3, r, err, sizeof(err)), 0);
	assert_int_equal(r->ncountries, 0);
	assert_int_equal(r->ngenders, 0);
	assert_true(r->log_likelihood < 0.0 && isfinite(r->log_likelihood));
	scorer_free(sc);
	model_service_free(ms);
	model_free(m);
	free(r);
}

/* Random requests, hostile bytes included, through the checks: each is
 * either refused with a message naming one of the request's fields, or
 * accepted with a spec the batcher can run. Each field is out of its
 * range one time in eight. */
static void test_random_requests(void **state)
{
	static const char *const fields[] = {
	    "count:",  "max_length:", "min_length:", "temperature:", "top_k:",
	    "prefix:", "gender:",     "countries:",  "countries["};
	static const char *const codes[] = {"DE", "fr", "IT",  "XX",
					    "",	  "D",	"DEU", "\xff\xfe"};
	static const float values[] = {0.0f,  0.005f, 1.0f, 2.0f,
				       2.01f, -1.0f,  NAN,  INFINITY};
	struct fixture *f = *state;
	struct batch_spec spec;
	struct sampler_rng rng;
	float cond[3 * 12];
	char err[MODEL_SERVICE_ERR_MAX], prefix[8];
	int i, k, accepted = 0;

	sampler_rng_seed(&rng, 2024, 0);
#define BAD (sampler_rng_next(&rng) % 8 == 0)
#define PICK(good, all)                                                       \
	(BAD ? sampler_rng_next(&rng) % (all)                                 \
	     : sampler_rng_next(&rng) % (good))
	for (i = 0; i < 5000; i++) {
		reset(f);
		f->req.n_countries = BAD ? 0 : 1 + sampler_rng_next(&rng) % 3;
		for (k = 0; k < 3; k++) {
			size_t c =
			    BAD ? 3 + sampler_rng_next(&rng) % 5 : (size_t)k;

			f->cw[k].code = (char *)codes[c];
			f->cw[k].weight = values[PICK(4, 8)];
		}
		f->req.count = (uint32_t)PICK(101, 130);
		f->req.max_length = (uint32_t)PICK(21, 40);
		f->req.min_length = (uint32_t)(sampler_rng_next(&rng) % 8);
		f->req.temperature = values[PICK(4, 8)];
		f->req.top_k = (uint32_t)PICK(7, 12);
		f->req.gender = (Namegen__V1__Gender)PICK(3, 9);
		for (k = 0; k < 7; k++) {
			uint64_t x = sampler_rng_next(&rng);

			// Mostly the alphabet, sometimes any byte.
			prefix[k] = x % 16 ? "abcde"[x % 5] : (char)(x >> 8);
		}
		prefix[sampler_rng_next(&rng) % 8] = '\0';
		f->req.prefix = prefix;
		err[0] = '\0';
		if (model_service_parse_generate(f->ms, &f->req, &spec, cond,
						 err, sizeof(err)) != 0) {
			bool named = false;

			for (k = 0; k < 9; k++)
				named |= strncmp(err, fields[k],
						 strlen(fields[k])) == 0;
			if (!named)
				fail_msg("refused without a field: \"%s\"",
					 err);
			continue;
		}
		accepted++;
		assert_true(spec.count >= 1 && spec.count <= BATCH_MAX_COUNT);
		assert_true(spec.min_len >= 1 && spec.min_len <= spec.max_len);
		assert_true(spec.max_len <= MAX_LEN);
		assert_true(spec.prefix_len <= spec.max_len);
		assert_true(spec.rules.temperature >= SAMPLER_TEMP_MIN &&
			    spec.rules.temperature <= SAMPLER_TEMP_MAX);
		assert_true(spec.rules.top_k >= 0 && spec.rules.top_k <= 6);
		for (k = 0; k < 3 * 12; k++)
			assert_true(isfinite(cond[k]));
	}
#undef PICK
#undef BAD
	// Enough of both kinds to have tested something.
	assert_true(accepted > 500 && accepted < 4500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_requests, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_defaults_and_mapping, setup,
					    teardown),
	    cmocka_unit_test(test_sampler_rules),
	    cmocka_unit_test(test_sampler_frequencies),
	    cmocka_unit_test(test_rng_streams),
	    cmocka_unit_test_setup_teardown(test_score, setup, teardown),
	    cmocka_unit_test(test_unconditioned_model),
	    cmocka_unit_test_setup_teardown(test_random_requests, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
