/* vmath.c - exp, sigmoid and tanh over arrays, 4 lanes at a time (see
 * vmath.h for the method and its error bounds). */
#include "namegen-model/vmath.h"

#include <stdint.h>
#include <string.h>

typedef float vf __attribute__((vector_size(16)));
typedef uint32_t vu __attribute__((vector_size(16)));
typedef int32_t vi __attribute__((vector_size(16)));

#define LANES ((int)(sizeof(vf) / sizeof(float)))

/* Adding then subtracting 1.5 * 2^23 rounds a float of magnitude below
 * 2^22 to the nearest integer, and leaves that integer in the low bits
 * of the sum. */
#define ROUND_MAGIC 12582912.0f
#define LOG2E	    1.44269504088896341f
#define LN2_HI	    0.693145751953125f /* few bits: n * LN2_HI is exact */
#define LN2_LO	    1.42860682030941723e-6f

/* exp(r) = 1 + r + r^2 (C2 + r (C3 + ...)) on |r| <= ln2/2: the Remez fit
 * for relative error, 2.6e-9 before float rounding. */
#define C2 5.000000596e-01f
#define C3 1.666636616e-01f
#define C4 4.166477546e-02f
#define C5 8.379011415e-03f
#define C6 1.406124095e-03f

static inline vf vmin(vf a, vf b)
{
	vi m = a < b;

	return (vf)((m & (vi)a) | (~m & (vi)b));
}

static inline vf vmax(vf a, vf b)
{
	vi m = a > b;

	return (vf)((m & (vi)a) | (~m & (vi)b));
}

static inline vf exp_lanes(vf x)
{
	const vf zero = {0};
	vf t, k, r, p;
	vu e;

	x = vmax(vmin(x, zero + VMATH_EXP_HI), zero + VMATH_EXP_LO);

	// n = round(x / ln2), as a float (k) and in t's low bits.
	t = x * LOG2E + ROUND_MAGIC;
	k = t - ROUND_MAGIC;
	e = ((vu)t - (vu)(zero + ROUND_MAGIC)) << 23;

	// r = x - n ln2, in two parts so the rounding of ln2 cancels.
	r = x - k * LN2_HI;
	r = r - k * LN2_LO;

	p = r * C6 + C5;
	p = p * r + C4;
	p = p * r + C3;
	p = p * r + C2;
	p = p * r + 1.0f;
	p = p * r + 1.0f;

	// p * 2^n: n added to the exponent field (the clamp keeps it valid).
	return (vf)((vu)p + e);
}

enum kind { KIND_EXP, KIND_SIGMOID, KIND_TANH };

static inline __attribute__((always_inline)) vf lanes(enum kind k, vf x)
{
	switch (k) {
	case KIND_SIGMOID:
		return 1.0f / (1.0f + exp_lanes(-x));
	case KIND_TANH:
		return 2.0f / (1.0f + exp_lanes(-2.0f * x)) - 1.0f;
	case KIND_EXP:
		break;
	}
	return exp_lanes(x);
}

/* apply runs kind k over x[0..n) into y, whole vectors first, then the
 * tail in a zero-padded vector, so every value goes through the same
 * lanes code wherever it sits. */
static inline __attribute__((always_inline)) void
apply(enum kind k, int n, const float *x, float *y)
{
	size_t tail;
	vf v;
	int i;

	for (i = 0; i + LANES <= n; i += LANES) {
		memcpy(&v, x + i, sizeof(v));
		v = lanes(k, v);
		memcpy(y + i, &v, sizeof(v));
	}
	if (i >= n)
		return;
	tail = (size_t)(n - i) * sizeof(float);
	memset(&v, 0, sizeof(v));
	memcpy(&v, x + i, tail);
	v = lanes(k, v);
	memcpy(y + i, &v, tail);
}

void vmath_exp(int n, const float *x, float *y)
{
	apply(KIND_EXP, n, x, y);
}

void vmath_sigmoid(int n, const float *x, float *y)
{
	apply(KIND_SIGMOID, n, x, y);
}

void vmath_tanh(int n, const float *x, float *y)
{
	apply(KIND_TANH, n, x, y);
}
