/* test_model_vmath.c - the vectorised exp, sigmoid and tanh against
 * double-precision libm: the error bounds vmath.h states, over a dense
 * sweep of each function's useful range, results that do not depend on
 * where a value sits in the array, and a GRU layer's gates. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "namegen-model/vmath.h"

#define SWEEP 2000003 /* odd, so the chunks below end in a tail */
#define CHUNK 1021

typedef void vmath_fn(int n, const float *x, float *y);

/* sweep_error runs fn over SWEEP values evenly spread over [lo, hi] plus
 * the two ends, in chunks of CHUNK (every chunk ends in a tail), and
 * returns the largest error against ref: relative when rel, else
 * absolute. */
static double sweep_error(vmath_fn *fn, double (*ref)(double), float lo,
			  float hi, bool rel, float *worst_x)
{
	float *x = malloc(SWEEP * sizeof(float));
	float *y = malloc(SWEEP * sizeof(float));
	double worst = 0.0;
	int i;

	assert_non_null(x);
	assert_non_null(y);
	for (i = 0; i < SWEEP; i++)
		x[i] = lo + (float)((double)(hi - lo) * i / (SWEEP - 1));
	x[0] = lo;
	x[SWEEP - 1] = hi;
	for (i = 0; i < SWEEP; i += CHUNK)
		fn(SWEEP - i < CHUNK ? SWEEP - i : CHUNK, x + i, y + i);
	for (i = 0; i < SWEEP; i++) {
		double want = ref((double)x[i]), e = fabs((double)y[i] - want);

		assert_true(isfinite(y[i]));
		if (rel)
			e /= fabs(want);
		if (e > worst) {
			worst = e;
			*worst_x = x[i];
		}
	}
	free(x);
	free(y);
	return worst;
}

static double sigmoid_ref(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

static void test_exp_error(void **state)
{
	float at = 0.0f;
	double e;

	(void)state;
	e = sweep_error(vmath_exp, exp, VMATH_EXP_LO, VMATH_EXP_HI, true, &at);
	printf("# exp: largest relative error %.3g at %.9g over [%g, %g]\n", e,
	       (double)at, (double)VMATH_EXP_LO, (double)VMATH_EXP_HI);
	assert_true(e <= VMATH_EXP_REL_ERR);
	// The range a softmax sees (logits minus their max) in detail.
	e = sweep_error(vmath_exp, exp, -30.0f, 0.0f, true, &at);
	printf("# exp: largest relative error %.3g at %.9g over [-30, 0]\n", e,
	       (double)at);
	assert_true(e <= VMATH_EXP_REL_ERR);
}

static void test_sigmoid_error(void **state)
{
	float at = 0.0f;
	double e;

	(void)state;
	e = sweep_error(vmath_sigmoid, sigmoid_ref, -100.0f, 100.0f, false,
			&at);
	printf("# sigmoid: largest absolute error %.3g at %.9g\n", e,
	       (double)at);
	assert_true(e <= VMATH_SIGMOID_ABS_ERR);
	e = sweep_error(vmath_sigmoid, sigmoid_ref, -8.0f, 8.0f, false, &at);
	assert_true(e <= VMATH_SIGMOID_ABS_ERR);
}

static void test_tanh_error(void **state)
{
	float at = 0.0f;
	double e;

	(void)state;
	e = sweep_error(vmath_tanh, tanh, -50.0f, 50.0f, false, &at);
	printf("# tanh: largest absolute error %.3g at %.9g\n", e, (double)at);
	assert_true(e <= VMATH_TANH_ABS_ERR);
	e = sweep_error(vmath_tanh, tanh, -4.0f, 4.0f, false, &at);
	assert_true(e <= VMATH_TANH_ABS_ERR);
}

/* Special values: exact where it matters, saturation, clamping, and no
 * infinity or NaN out of an infinity in. */
static void test_special_values(void **state)
{
	float x[8] = {0.0f,	-0.0f,	   1000.0f, -1000.0f,
		      INFINITY, -INFINITY, 20.0f,   -20.0f};
	float y[8];
	int i;

	(void)state;
	vmath_exp(8, x, y);
	assert_true(y[0] == 1.0f && y[1] == 1.0f);
	assert_true(y[2] > 1e38f && isfinite(y[2]) && isfinite(y[4]));
	assert_true(y[3] >= 0.0f && y[3] < 1e-37f && y[5] < 1e-37f);
	vmath_sigmoid(8, x, y);
	assert_true(y[0] == 0.5f);
	assert_true(y[2] == 1.0f && y[4] == 1.0f);
	assert_true(y[3] >= 0.0f && y[3] < 1e-37f);
	vmath_tanh(8, x, y);
	assert_true(y[0] == 0.0f);
	assert_true(y[2] == 1.0f && y[6] == 1.0f);
	assert_true(y[3] == -1.0f && y[7] == -1.0f && y[5] == -1.0f);
	for (i = 0; i < 8; i++)
		assert_true(fabsf(y[i]) <= 1.0f);
}

/* A value gives the same bits at any position, in any length of array,
 * in place or not: what keeps a batch's results independent of how it
 * is cut into pieces. */
static void test_position_independent(void **state)
{
	float x[40], y[40], z[40], one;
	int n, i;

	(void)state;
	for (i = 0; i < 40; i++)
		x[i] = (float)i * 0.37f - 7.0f;
	vmath_sigmoid(40, x, z);
	for (n = 0; n <= 40; n++) {
		for (i = 0; i + n <= 40; i += 3) {
			memset(y, 0, sizeof(y));
			vmath_sigmoid(n, x + i, y);
			if (n > 0)
				assert_memory_equal(y, z + i,
						    (size_t)n * sizeof(float));
		}
		vmath_sigmoid(1, x + (n % 40), &one);
		assert_true(one == z[n % 40]);
	}
	memcpy(y, x, sizeof(x));
	vmath_sigmoid(37, y, y);
	assert_memory_equal(y, z, 37 * sizeof(float));
	assert_true(y[37] == x[37]); // past n: untouched
}

/* gates_double is vmath_gru_gates in double precision with libm. */
static void gates_double(int hd, const float *xa, const float *xb,
			 const float *bhh, const float *gh, const float *h,
			 double *out)
{
	int j;

	for (j = 0; j < hd; j++) {
		double r =
		    1.0 /
		    (1.0 + exp(-((double)xa[j] + xb[j] + gh[j] + bhh[j])));
		double z = 1.0 / (1.0 + exp(-((double)xa[hd + j] + xb[hd + j] +
					      gh[hd + j] + bhh[hd + j])));
		double n =
		    tanh((double)xa[2 * hd + j] + xb[2 * hd + j] +
			 r * ((double)gh[2 * hd + j] + bhh[2 * hd + j]));

		out[j] = (1.0 - z) * n + z * h[j];
	}
}

/* A layer's gates for every width from 1 to 70 (whole vectors and every
 * tail), on values like a trained network's (pre-activations up to
 * about 6 in size), against double precision. */
static void test_gru_gates(void **state)
{
	enum { MAXH = 70 };
	float xa[3 * MAXH], xb[3 * MAXH], bhh[3 * MAXH], gh[3 * MAXH];
	float h[MAXH], h0[MAXH];
	double want[MAXH], worst = 0.0;
	uint64_t s = 42;
	int hd, j, round;

	(void)state;
	for (round = 0; round < 200; round++) {
		for (hd = 1; hd <= MAXH; hd++) {
			for (j = 0; j < 3 * MAXH; j++) {
				// Small LCG: values in [-1.5, 1.5).
				float *arrays[4] = {xa, xb, bhh, gh};

				for (int a = 0; a < 4; a++) {
					s = s * 6364136223846793005ULL +
					    1442695040888963407ULL;
					arrays[a][j] =
					    (float)((s >> 40) / 16777216.0 *
							3.0 -
						    1.5);
				}
			}
			for (j = 0; j < hd; j++)
				h0[j] = h[j] = xa[j] / 1.5f; // in (-1, 1)
			gates_double(hd, xa, xb, bhh, gh, h0, want);
			vmath_gru_gates(hd, xa, xb, bhh, gh, h);
			for (j = 0; j < hd; j++) {
				double e = fabs((double)h[j] - want[j]);

				worst = e > worst ? e : worst;
			}
		}
	}
	printf("# gates: largest absolute error of h %.3g\n", worst);
	assert_true(worst <= VMATH_GATES_ABS_ERR);
}

/* Softmax weights for every length from 1 to 300 (the default model's
 * vocabulary is 298) at two temperatures: the max exact, each weight
 * within exp's error, the sum within float rounding of the weights'. */
static void test_softmax_weights(void **state)
{
	enum { MAXN = 300 };
	float x[MAXN], w[MAXN], max;
	uint64_t s = 7;
	double worst_w = 0.0, worst_sum = 0.0;
	int n, i, k;

	(void)state;
	for (n = 1; n <= MAXN; n++) {
		for (k = 0; k < 2; k++) {
			float scale = k == 0 ? 1.0f : 1.0f / 0.7f, sum;
			double want_max = -INFINITY, want_sum = 0.0;

			for (i = 0; i < n; i++) {
				s = s * 6364136223846793005ULL +
				    1442695040888963407ULL;
				x[i] = (float)((s >> 40) / 16777216.0 * 30.0 -
					       20.0);
				want_max = x[i] > want_max ? x[i] : want_max;
			}
			sum = vmath_softmax_weights(n, x, scale, w, &max);
			assert_true(max == (float)want_max);
			for (i = 0; i < n; i++) {
				// The argument as float arithmetic makes it.
				float arg = (x[i] - max) * scale;
				double want = exp((double)arg);
				double e = fabs(w[i] - want) / want;

				want_sum += want;
				worst_w = e > worst_w ? e : worst_w;
			}
			assert_true(sum >= 1.0f);
			worst_sum =
			    fmax(worst_sum, fabs(sum - want_sum) / want_sum);
		}
	}
	printf("# softmax weights: largest relative error %.3g, of the sum "
	       "%.3g\n",
	       worst_w, worst_sum);
	assert_true(worst_w <= 2 * VMATH_EXP_REL_ERR);
	assert_true(worst_sum <= 1e-6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exp_error),
	    cmocka_unit_test(test_sigmoid_error),
	    cmocka_unit_test(test_tanh_error),
	    cmocka_unit_test(test_special_values),
	    cmocka_unit_test(test_position_independent),
	    cmocka_unit_test(test_gru_gates),
	    cmocka_unit_test(test_softmax_weights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
