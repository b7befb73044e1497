/* sampler.c - choosing a name's next character from one step's logits. */
#include "namegen-model/sampler.h"

#include <math.h>

#include "namegen-model/vmath.h"

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sampler_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void sampler_rng_seed(struct sampler_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = sampler_mix64(seed) ^ sampler_mix64(~stream);
	int i;

	// Four mixed words; xoshiro only needs them not all zero.
	for (i = 0; i < 4; i++) {
		x = sampler_mix64(x + (uint64_t)i);
		r->s[i] = x;
	}
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
}

uint64_t sampler_rng_next(struct sampler_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double sampler_rng_uniform(struct sampler_rng *r)
{
	return (double)(sampler_rng_next(r) >> 11) * 0x1.0p-53;
}

float sampler_log_norm(int v, const float *logits)
{
	float max = -INFINITY, sum = 0.0f;
	int i;

	for (i = 0; i < v; i++)
		max = logits[i] > max ? logits[i] : max;
	for (i = 0; i < v; i++)
		sum += expf(logits[i] - max);
	return max + logf(sum);
}

/* kth_largest returns the k-th largest (1-based) of x[0..n), reordering
 * x. Quickselect with a median-of-three pivot; 1 <= k <= n. */
static float kth_largest(float *x, int n, int k)
{
	int lo = 0, hi = n - 1, want = k - 1;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2, i = lo, j = hi;
		float a = x[lo], b = x[mid], c = x[hi], pivot;

		// The median of the three, so sorted input stays O(n).
		pivot = a > b ? (b > c ? b : (a > c ? c : a))
			      : (a > c ? a : (b > c ? c : b));
		while (i <= j) {
			while (x[i] > pivot)
				i++;
			while (x[j] < pivot)
				j--;
			if (i <= j) {
				float t = x[i];

				x[i++] = x[j];
				x[j--] = t;
			}
		}
		// Now x[lo..j] >= pivot >= x[i..hi]; x[j+1..i-1] == pivot.
		if (want <= j)
			hi = j;
		else if (want >= i)
			lo = i;
		else
			return pivot;
	}
	return x[want];
}

/* walk draws a token from the weights work[first..v) (sum > 0): rounding
 * can leave u past the last weight, so the last token with a weight is
 * the fallback. */
static int walk(const float *work, int first, int v, double sum,
		struct sampler_rng *rng)
{
	double u = sampler_rng_uniform(rng) * sum;
	int t, pick = -1;

	for (t = first; t < v; t++) {
		if (work[t] <= 0.0f)
			continue;
		pick = t;
		if (u < work[t])
			break;
		u -= work[t];
	}
	return pick < 0 ? first : pick; // only with NaN logits: a broken model
}

int sampler_pick(const struct sampler_rules *rules, int v, const float *logits,
		 bool allow_end, struct sampler_rng *rng, float *work,
		 float *logp)
{
	int first = allow_end ? 0 : 1, n = v - first, t, pick;
	float cut = -INFINITY, max = -INFINITY, inv_t, lz;
	double sum = 0.0;

	// The usual case (temperature 1, no cut): the weights that normalise
	// the model's distribution are the ones to draw from.
	if (rules->temperature == 1.0f &&
	    (rules->top_k == 0 || rules->top_k >= n)) {
		sum = vmath_softmax_weights(v, logits, 1.0f, work, &max);
		lz = max + logf((float)sum);
		if (!allow_end)
			sum -= work[0];
		pick = walk(work, first, v, sum, rng);
		*logp = logits[pick] - lz;
		return pick;
	}

	// With a top-k cut, find the k-th largest logit among the choices;
	// ties at the cut are all kept.
	lz = sampler_log_norm(v, logits);
	if (rules->top_k > 0 && rules->top_k < n) {
		for (t = 0; t < n; t++)
			work[t] = logits[first + t];
		cut = kth_largest(work, n, rules->top_k);
	}
	for (t = first; t < v; t++)
		if (logits[t] >= cut && logits[t] > max)
			max = logits[t];

	// Weights at the request's temperature, relative to the best; the
	// tokens out of the choice weigh 0.
	inv_t = 1.0f / rules->temperature;
	for (t = 0; t < v; t++)
		work[t] = t >= first && logits[t] >= cut
			      ? (logits[t] - max) * inv_t
			      : VMATH_EXP_LO;
	vmath_exp(v, work, work);
	for (t = 0; t < v; t++) {
		if (t < first || logits[t] < cut)
			work[t] = 0.0f;
		sum += work[t];
	}
	pick = walk(work, first, v, sum, rng);
	*logp = logits[pick] - lz;
	return pick;
}
