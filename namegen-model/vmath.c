/* vmath.c - the elementwise math of a step, 8 lanes at a time (see
 * vmath.h for the method and its error bounds). */
#include "namegen-model/vmath.h"

#include <stdint.h>
#include <string.h>

/* The lanes are 32 bytes: one AVX2 register in the avx2 clones, two SSE
 * registers in the baseline ones. The helpers below pass vectors by
 * value, which GCC notes would change the ABI without AVX (silenced in
 * module.mk); they are all static and inlined, so no call crosses that
 * boundary. */

/* Each public function is built twice, for AVX2 and for any x86-64, and
 * the loader picks one (GCC function multi-versioning). Both do the same
 * float operations in the same order (no FMA contraction: -std=c17 turns
 * it off), so their results are identical. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&        \
    !defined(VMATH_NO_CLONES)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

typedef float vf __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));

#define LANES  ((int)(sizeof(vf) / sizeof(float)))
#define INLINE static inline __attribute__((always_inline))

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

INLINE vf vmin(vf a, vf b)
{
	vi m = a < b;

	return (vf)((m & (vi)a) | (~m & (vi)b));
}

INLINE vf vmax(vf a, vf b)
{
	vi m = a > b;

	return (vf)((m & (vi)a) | (~m & (vi)b));
}

INLINE vf exp_lanes(vf x)
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

INLINE vf sigmoid_lanes(vf x)
{
	return 1.0f / (1.0f + exp_lanes(-x));
}

INLINE vf tanh_lanes(vf x)
{
	return 2.0f / (1.0f + exp_lanes(-2.0f * x)) - 1.0f;
}

/* load reads n (1..LANES) floats, the lanes past n zero. */
INLINE vf load(const float *p, int n)
{
	vf v = {0};

	memcpy(&v, p, (size_t)n * sizeof(float));
	return v;
}

INLINE void store(float *p, vf v, int n)
{
	memcpy(p, &v, (size_t)n * sizeof(float));
}

enum kind { KIND_EXP, KIND_SIGMOID, KIND_TANH };

INLINE vf lanes(enum kind k, vf x)
{
	switch (k) {
	case KIND_SIGMOID:
		return sigmoid_lanes(x);
	case KIND_TANH:
		return tanh_lanes(x);
	case KIND_EXP:
		break;
	}
	return exp_lanes(x);
}

/* apply runs kind k over x[0..n) into y, whole vectors, then the tail in
 * a zero-padded vector: every value goes through the same lanes code
 * wherever it sits. */
INLINE void apply(enum kind k, int n, const float *x, float *y)
{
	int i;

	for (i = 0; i + LANES <= n; i += LANES)
		store(y + i, lanes(k, load(x + i, LANES)), LANES);
	if (i < n)
		store(y + i, lanes(k, load(x + i, n - i)), n - i);
}

CLONES void vmath_exp(int n, const float *x, float *y)
{
	apply(KIND_EXP, n, x, y);
}

CLONES void vmath_sigmoid(int n, const float *x, float *y)
{
	apply(KIND_SIGMOID, n, x, y);
}

CLONES void vmath_tanh(int n, const float *x, float *y)
{
	apply(KIND_TANH, n, x, y);
}

CLONES float vmath_softmax_weights(int n, const float *x, float scale,
				   float *w, float *max)
{
	const vf zero = {0};
	vf m = zero - VMATH_HUGE, acc = zero, v;
	float best = -VMATH_HUGE, sum = 0.0f, tail[LANES];
	int i, k;

	// The largest value: whole vectors, then the tail one by one.
	for (i = 0; i + LANES <= n; i += LANES)
		m = vmax(m, load(x + i, LANES));
	for (k = 0; k < LANES; k++)
		best = m[k] > best ? m[k] : best;
	for (k = i; k < n; k++)
		best = x[k] > best ? x[k] : best;

	// The weights, and their sum lane by lane, then across the lanes
	// and the tail in a fixed order.
	for (i = 0; i + LANES <= n; i += LANES) {
		v = exp_lanes((load(x + i, LANES) - best) * scale);
		store(w + i, v, LANES);
		acc += v;
	}
	if (i < n) {
		v = exp_lanes((load(x + i, n - i) - best) * scale);
		store(tail, v, LANES);
		memcpy(w + i, tail, (size_t)(n - i) * sizeof(float));
	}
	for (k = 0; k < LANES; k++)
		sum += acc[k];
	for (k = i; k < n; k++)
		sum += w[k];
	*max = best;
	return sum;
}

/* gates_lanes does vmath_gru_gates for the n (1..LANES) values at j. */
INLINE void gates_lanes(int hd, int j, int n, const float *xa, const float *xb,
			const float *bhh, const float *gh, float *h)
{
	vf r, z, c, hj;

	r = load(xa + j, n) + load(xb + j, n) + load(gh + j, n) +
	    load(bhh + j, n);
	z = load(xa + hd + j, n) + load(xb + hd + j, n) +
	    load(gh + hd + j, n) + load(bhh + hd + j, n);
	r = sigmoid_lanes(r);
	z = sigmoid_lanes(z);
	c = load(xa + 2 * hd + j, n) + load(xb + 2 * hd + j, n) +
	    r * (load(gh + 2 * hd + j, n) + load(bhh + 2 * hd + j, n));
	c = tanh_lanes(c);
	hj = load(h + j, n);
	store(h + j, (1.0f - z) * c + z * hj, n);
}

CLONES void vmath_gru_gates(int hd, const float *xa, const float *xb,
			    const float *bhh, const float *gh, float *h)
{
	int j;

	for (j = 0; j + LANES <= hd; j += LANES)
		gates_lanes(hd, j, LANES, xa, xb, bhh, gh, h);
	if (j < hd)
		gates_lanes(hd, j, hd - j, xa, xb, bhh, gh, h);
}
