/* test_model_gru.c - the GRU's arithmetic: finite-difference gradients of
 * every parameter tensor, cblas against plain loops (inference step and
 * training), conditioning rows and scoring. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "namegen-model/bptt.h"
#include "namegen-model/gru.h"

/* A tiny network with every kind of tensor: 2 layers, countries, genders. */
static const struct gru_dims tiny = {.vocab = 6,
				     .countries = 3,
				     .genders = 2,
				     .emb_char = 4,
				     .emb_country = 3,
				     .emb_gender = 2,
				     .hidden = 5,
				     .layers = 2};

#define TB 3 /* batch */
#define TT 5 /* steps */

/* Three names of 4, 2 and 3 characters, time-major, padded with -1. */
static const int in_tok[TT * TB] = {0, 0, 0, 1, 4, 2, 2, 5,
				    3, 3, 0, 1, 5, 0, 0};
static const int tg_tok[TT * TB] = {1, 4, 2,  2, 5, 3,	3, 0,
				    1, 5, -1, 0, 0, -1, -1};
static const int countries[TB] = {0, 2, 1};
static const int genders[TB] = {1, 0, 1};

static float *new_params(struct gru_params *p, const struct gru_dims *d,
			 unsigned long long seed)
{
	float *data = calloc(gru_param_count(d), sizeof(float));

	assert_non_null(data);
	gru_params_point(p, d, data);
	gru_params_init(p, seed);
	return data;
}

/* mean_loss runs a forward pass; with dropout, every pass draws the same
 * masks (the rng restarts from seed), so the loss is a function of p. */
static double mean_loss(struct bptt *w, const struct gru_params *p)
{
	size_t count;
	double loss;

	w->rng = 99;
	loss = bptt_forward(w, p, TB, TT, in_tok, tg_tok, countries, genders,
			    &count);

	assert_int_equal(count, 12);
	return loss / (double)count;
}

/* Every parameter tensor, by name, for messages. */
struct tensor {
	const char *name;
	size_t off, len;
};

static int tensors(const struct gru_params *p, struct tensor *t)
{
	const struct gru_dims *d = &p->d;
	size_t h3 = 3 * (size_t)d->hidden;
	int n = 0, l;

#define T(nm, ptr, ln)                                                        \
	t[n++] = (struct tensor){nm, (size_t)((ptr)-p->data), (ln)}
	T("char_emb", p->char_emb, (size_t)d->vocab * d->emb_char);
	T("country_emb", p->country_emb,
	  (size_t)d->countries * d->emb_country);
	T("gender_emb", p->gender_emb, (size_t)d->genders * d->emb_gender);
	for (l = 0; l < d->layers; l++) {
		T(l ? "w_ih[1]" : "w_ih[0]", p->layer[l].w_ih,
		  h3 * gru_input_size(d, l));
		T(l ? "w_hh[1]" : "w_hh[0]", p->layer[l].w_hh, h3 * d->hidden);
		T(l ? "b_ih[1]" : "b_ih[0]", p->layer[l].b_ih, h3);
		T(l ? "b_hh[1]" : "b_hh[0]", p->layer[l].b_hh, h3);
	}
	T("w_out", p->w_out, (size_t)d->vocab * d->hidden);
	T("b_out", p->b_out, (size_t)d->vocab);
#undef T
	return n;
}

/* The analytic gradient of every parameter matches central differences
 * of the loss, tensor by tensor, without and with dropout. */
static void gradient_check(float dropout)
{
	struct gru_params p, g;
	struct tensor t[16];
	struct bptt w;
	float *pd, *gd;
	size_t count, i;
	int nt, k;

	pd = new_params(&p, &tiny, 7);
	gd = calloc(gru_param_count(&tiny), sizeof(float));
	assert_non_null(gd);
	gru_params_point(&g, &tiny, gd);
	assert_int_equal(bptt_init(&w, &tiny, TB, TT), 0);
	w.dropout = dropout;

	(void)mean_loss(&w, &p);
	count = 12;
	bptt_backward(&w, &p, &g, 1.0f / (float)count);

	nt = tensors(&p, t);
	assert_int_equal(nt, 3 + 4 * tiny.layers + 2);
	for (k = 0; k < nt; k++) {
		double worst = 0, scale = 0;

		for (i = t[k].off; i < t[k].off + t[k].len; i++) {
			float keep = pd[i];
			const float eps = 1e-2f;
			double up, down, num;

			pd[i] = keep + eps;
			up = mean_loss(&w, &p);
			pd[i] = keep - eps;
			down = mean_loss(&w, &p);
			pd[i] = keep;
			num = (up - down) / (2.0 * eps);
			if (fabs(num - gd[i]) > worst)
				worst = fabs(num - gd[i]);
			if (fabs(gd[i]) > scale)
				scale = fabs(gd[i]);
		}
		print_message("# %-12s max |grad| %.3e, max error %.3e\n",
			      t[k].name, scale, worst);
		// A gradient that is all zero would pass trivially.
		assert_true(scale > 1e-4);
		assert_true(worst <= 1e-6 + 1e-2 * scale);
	}
	bptt_free(&w);
	free(pd);
	free(gd);
}

static void test_gradient_check(void **state)
{
	(void)state;
	gradient_check(0.0f);
}

static void test_gradient_check_dropout(void **state)
{
	(void)state;
	gradient_check(0.3f);
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]);

		m = e > m ? e : m;
	}
	return m;
}

/* Training forward and backward with cblas equal the plain loops. */
static void test_bptt_cblas_matches_loops(void **state)
{
	struct gru_params p, g1, g2;
	struct bptt w1, w2;
	size_t n = gru_param_count(&tiny), c1, c2;
	float *pd = new_params(&p, &tiny, 11);
	float *gd1 = calloc(n, sizeof(float)), *gd2 = calloc(n, sizeof(float));
	double l1, l2;

	(void)state;
	assert_non_null(gd1);
	assert_non_null(gd2);
	gru_params_point(&g1, &tiny, gd1);
	gru_params_point(&g2, &tiny, gd2);
	assert_int_equal(bptt_init(&w1, &tiny, TB, TT), 0);
	assert_int_equal(bptt_init(&w2, &tiny, TB, TT), 0);
	w2.ref = true;

	l1 = bptt_forward(&w1, &p, TB, TT, in_tok, tg_tok, countries, genders,
			  &c1);
	l2 = bptt_forward(&w2, &p, TB, TT, in_tok, tg_tok, countries, genders,
			  &c2);
	assert_int_equal(c1, c2);
	assert_true(fabs(l1 - l2) < 1e-5 * fabs(l1));
	bptt_backward(&w1, &p, &g1, 0.5f);
	bptt_backward(&w2, &p, &g2, 0.5f);
	assert_true(max_diff(gd1, gd2, n) < 1e-5);
	// The gradients are not all zero, so the comparison means something.
	assert_true(max_diff(gd1, gd1 + 1, n - 1) > 1e-4);

	bptt_free(&w1);
	bptt_free(&w2);
	free(pd);
	free(gd1);
	free(gd2);
}

/* A bigger network, for the inference step comparisons. */
static const struct gru_dims mid = {.vocab = 40,
				    .countries = 7,
				    .genders = 2,
				    .emb_char = 16,
				    .emb_country = 8,
				    .emb_gender = 4,
				    .hidden = 48,
				    .layers = 2};

/* gru_step (cblas, sgemv at batch 1) equals gru_step_ref within 1e-5
 * over several steps, at batch 1 and batch 9. */
static void test_step_cblas_matches_loops(void **state)
{
	static const int batches[] = {1, 9};
	struct gru_params p;
	struct gru g;
	float *pd = new_params(&p, &mid, 3);
	size_t bi;

	(void)state;
	assert_int_equal(gru_init(&g, &p), 0);
	for (bi = 0; bi < sizeof(batches) / sizeof(batches[0]); bi++) {
		int b = batches[bi], s, i;
		size_t hs = (size_t)b * gru_state_size(&g);
		float *cond = malloc((size_t)b * gru_cond_size(&g) * 4);
		float *h1 = malloc(hs * 4), *h2 = malloc(hs * 4);
		float *o1 = malloc((size_t)b * mid.vocab * 4);
		float *o2 = malloc((size_t)b * mid.vocab * 4);
		float *sc = malloc(gru_scratch_floats(&g, b) * 4);
		int *tok = malloc((size_t)b * sizeof(int));
		double worst = 0;

		assert_non_null(sc);
		for (i = 0; i < b; i++) {
			int c[2] = {i % mid.countries,
				    (i + 3) % mid.countries};
			float wt[2] = {1.0f, (float)i};
			char err[128];

			assert_int_equal(
			    gru_condition(
				&g, cond + (size_t)i * gru_cond_size(&g), 2, c,
				wt, i % 3 - 1, err, sizeof(err)),
			    0);
		}
		gru_state_reset(&g, b, h1);
		gru_state_reset(&g, b, h2);
		for (s = 0; s < 6; s++) {
			for (i = 0; i < b; i++)
				tok[i] =
				    s == 0 ? 0 : (i * 7 + s * 3) % mid.vocab;
			gru_step(&g, b, tok, cond, h1, o1, sc);
			gru_step_ref(&g, b, tok, cond, h2, o2, sc);
			worst = fmax(worst, max_diff(h1, h2, hs));
			worst = fmax(worst,
				     max_diff(o1, o2, (size_t)b * mid.vocab));
		}
		print_message("# batch %d: max difference %.2e\n", b, worst);
		assert_true(worst < 1e-5);
		// The states moved: the comparison was not of zeros.
		assert_true(max_diff(h1, h1 + 1, hs - 1) > 1e-3);
		free(cond);
		free(h1);
		free(h2);
		free(o1);
		free(o2);
		free(sc);
		free(tok);
	}
	gru_free(&g);
	free(pd);
}

/* The inference step computes the same function as the training forward:
 * a name's loss from bptt equals minus gru_score's log-probability. */
static void test_score_matches_training_forward(void **state)
{
	struct gru_params p;
	struct gru g;
	struct bptt w;
	float *pd = new_params(&p, &tiny, 5);
	int name[4] = {1, 2, 3, 5}, in[5] = {0, 1, 2, 3, 5};
	int tg[5] = {1, 2, 3, 5, 0}, c = 2, gen = 0;
	float cond[2 * 15], wt = 1.0f, *sc;
	double logp[2], loss;
	size_t count;
	char err[128];

	(void)state;
	assert_int_equal(gru_init(&g, &p), 0);
	assert_int_equal(bptt_init(&w, &tiny, 1, 5), 0);
	loss = bptt_forward(&w, &p, 1, 5, in, tg, &c, &gen, &count);
	assert_int_equal(count, 5);

	assert_int_equal(
	    gru_condition(&g, cond, 1, &c, &wt, gen, err, sizeof(err)), 0);
	c = 0;
	assert_int_equal(
	    gru_condition(&g, cond + 15, 1, &c, &wt, 1, err, sizeof(err)), 0);
	sc = malloc(gru_score_scratch_floats(&g, 2) * sizeof(float));
	assert_non_null(sc);
	gru_score(&g, 2, cond, name, 4, logp, sc);
	print_message("# bptt %.6f score %.6f other %.6f\n", loss, -logp[0],
		      -logp[1]);
	assert_true(fabs(loss + logp[0]) < 1e-4);
	assert_true(fabs(logp[0] - logp[1]) > 1e-4);

	free(sc);
	bptt_free(&w);
	gru_free(&g);
	free(pd);
}

/* Conditioning: weights are normalised, an open gender is the mean, and
 * bad arguments are refused with a sentence. */
static void test_condition(void **state)
{
	struct gru_params p;
	struct gru g;
	float *pd = new_params(&p, &tiny, 9);
	float a[15], b[15], m[15], f[15], any[15];
	int c01[2] = {0, 1}, c = 0, bad = 3, j;
	float w11[2] = {1, 1}, w22[2] = {2, 2}, one = 1, neg = -1;
	char err[128];

	(void)state;
	assert_int_equal(gru_init(&g, &p), 0);
	assert_int_equal(gru_condition(&g, a, 2, c01, w11, 0, err, 128), 0);
	assert_int_equal(gru_condition(&g, b, 2, c01, w22, 0, err, 128), 0);
	assert_true(max_diff(a, b, 15) < 1e-6);

	assert_int_equal(gru_condition(&g, m, 1, &c, &one, 1, err, 128), 0);
	assert_int_equal(gru_condition(&g, f, 1, &c, &one, 0, err, 128), 0);
	assert_int_equal(gru_condition(&g, any, 1, &c, &one, -1, err, 128), 0);
	for (j = 0; j < 15; j++)
		assert_true(fabsf(any[j] - 0.5f * (m[j] + f[j])) < 1e-5f);
	assert_true(max_diff(m, f, 15) > 1e-3);

	assert_int_equal(gru_condition(&g, a, 1, &bad, &one, 0, err, 128), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_int_equal(gru_condition(&g, a, 1, &c, &neg, 0, err, 128), -1);
	assert_non_null(strstr(err, "weights"));
	assert_int_equal(gru_condition(&g, a, 1, &c, &one, 2, err, 128), -1);
	assert_int_equal(gru_condition(&g, a, 0, &c, &one, 0, err, 128), -1);
	gru_free(&g);
	free(pd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gradient_check),
	    cmocka_unit_test(test_gradient_check_dropout),
	    cmocka_unit_test(test_bptt_cblas_matches_loops),
	    cmocka_unit_test(test_step_cblas_matches_loops),
	    cmocka_unit_test(test_score_matches_training_forward),
	    cmocka_unit_test(test_condition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
