/* vmath.h - the elementwise math of a serving step over arrays of
 * floats, 8 at a time: exp, sigmoid, tanh, and a GRU layer's gates.
 *
 * The network's gates and the sampler's softmax call exp once per value;
 * glibc's expf, one value per call, took about a quarter of a serving
 * step (perf). These run one polynomial on 8 lanes with GCC vector
 * extensions, built for AVX2 and for baseline x86-64 (picked at load
 * time), so a value costs a few instructions.
 *
 * exp: x = n ln2 + r with |r| <= ln2/2 (n rounded to nearest, ln2 split
 * in two parts so r is exact enough), exp(r) by a degree-6 polynomial
 * fitted (Remez, constant and linear terms fixed at 1) for relative error
 * on that interval, then 2^n put into the exponent bits. Inputs are
 * clamped to [VMATH_EXP_LO, VMATH_EXP_HI] first, so the result is always
 * a finite normal float: exp of anything below VMATH_EXP_LO gives
 * exp(VMATH_EXP_LO) (about 2.6e-38) instead of a smaller number or 0.
 *
 * Accuracy, checked by tests/unit/test_model_vmath.c against double
 * precision libm over the whole clamped range and a dense sweep:
 *   vmath_exp      relative error <= VMATH_EXP_REL_ERR
 *   vmath_sigmoid  absolute error <= VMATH_SIGMOID_ABS_ERR
 *   vmath_tanh     absolute error <= VMATH_TANH_ABS_ERR
 *   vmath_gru_gates absolute error of h <= VMATH_GATES_ABS_ERR, for
 *                  pre-activations of a few units, as in a trained net
 * The result for a value depends on that value only (not on its
 * position in the array or the array's length), so results are the same
 * however a batch is cut into pieces; the AVX2 and baseline builds do
 * the same operations in the same order, so they agree bit for bit. NaN in
 * gives an unspecified finite value out (weights are checked finite when a
 * model loads). */
#ifndef NAMEGEN_MODEL_VMATH_H
#define NAMEGEN_MODEL_VMATH_H

#define VMATH_EXP_LO	      (-86.5f)
#define VMATH_EXP_HI	      88.0f
#define VMATH_HUGE	      3e38f
#define VMATH_EXP_REL_ERR     2e-7   /* measured: 1.2e-7 */
#define VMATH_SIGMOID_ABS_ERR 1.5e-7 /* measured: 8.9e-8 */
#define VMATH_TANH_ABS_ERR    3e-7   /* measured: 1.8e-7 */
#define VMATH_GATES_ABS_ERR   1e-6   /* of h: see test_model_vmath.c */

/* vmath_exp writes y[i] = exp(x[i]) for i < n; y may be x. */
void vmath_exp(int n, const float *x, float *y);

/* vmath_sigmoid writes y[i] = 1 / (1 + exp(-x[i])); y may be x. */
void vmath_sigmoid(int n, const float *x, float *y);

/* vmath_tanh writes y[i] = tanh(x[i]), computed as 2 sigmoid(2x) - 1;
 * y may be x. Saturates to exactly -1 and 1. */
void vmath_tanh(int n, const float *x, float *y);

/* vmath_softmax_weights writes the unnormalised softmax weights of n
 * values (n >= 1) at a temperature: w[i] = exp((x[i] - max) * scale)
 * with max the largest x (stored in *max) and scale = 1/temperature
 * (> 0), and returns their sum (>= 1: the largest weighs 1). So
 * log(softmax(x))[i] = x[i] - *max - log(sum) at scale 1. Values must be
 * finite and above -VMATH_HUGE. */
float vmath_softmax_weights(int n, const float *x, float scale, float *w,
			    float *max);

/* vmath_gru_gates updates one sequence's state h (H = hd) in one GRU
 * layer (gate order r, z, n as in gru.h), given the layer's input
 * projection as two parts xa + xb (3H each, b_ih included in one of
 * them), its hidden projection gh (3H, without b_hh) and b_hh (3H):
 *   r = sigmoid(xa + xb + gh + bhh)        (first H of each)
 *   z = sigmoid(...)                       (second H)
 *   n = tanh(xa + xb + r * (gh + bhh))     (third H)
 *   h = (1 - z) * n + z * h
 * with the sigmoid and tanh above, in one pass over the row. */
void vmath_gru_gates(int hd, const float *xa, const float *xb,
		     const float *bhh, const float *gh, float *h);

#endif /* NAMEGEN_MODEL_VMATH_H */
