/* sampler.h - choosing a name's next character from one step's logits,
 * under a request's rules (temperature, top-k, whether the name may end
 * yet), with a seeded generator so that a seed gives the same choices.
 *
 * The sampler knows nothing of batches or requests: the batcher calls
 * sampler_pick once per live sequence per step. The log-probability it
 * reports is always the model's own (temperature 1, no top-k cut), so a
 * name's log_prob means the same whatever the sampling settings were. */
#ifndef NAMEGEN_MODEL_SAMPLER_H
#define NAMEGEN_MODEL_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>

#define SAMPLER_TEMP_MIN                                                      \
	0.01f /* below this, sampling is nearly argmax                        \
		 and exp() of the scaled logits overflows */
#define SAMPLER_TEMP_MAX 2.0f

/* xoshiro256** state: small, fast, and reproducible across machines. */
struct sampler_rng {
	uint64_t s[4];
};

/* sampler_rng_seed sets r from a seed and a stream number (e.g. the
 * attempt index), so that each (seed, stream) pair gives its own
 * independent sequence. */
void sampler_rng_seed(struct sampler_rng *r, uint64_t seed, uint64_t stream);

/* sampler_rng_next returns the next 64 random bits. */
uint64_t sampler_rng_next(struct sampler_rng *r);

/* sampler_rng_uniform returns a double in [0, 1) with 53 random bits. */
double sampler_rng_uniform(struct sampler_rng *r);

/* sampler_mix64 is a strong 64-bit mixing function (splitmix64's), for
 * deriving seeds. */
uint64_t sampler_mix64(uint64_t x);

/* The rules of one request that apply to every step. */
struct sampler_rules {
	float temperature; /* in [SAMPLER_TEMP_MIN, SAMPLER_TEMP_MAX] */
	int top_k;	   /* 0 = no cut; else keep the k most likely */
};

/* sampler_log_norm returns log(sum(exp(logits[0..v)))), computed stably:
 * the model's log-probability of token t is logits[t] - the result. */
float sampler_log_norm(int v, const float *logits);

/* sampler_pick chooses the next token from logits (v values, token 0 =
 * the end of the name) under rules, drawing from rng. allow_end false
 * takes token 0 out of the choice (the name is still shorter than its
 * minimum). work holds v floats of scratch. Returns the token, and its
 * model log-probability in *logp. Never fails: v >= 2 leaves at least
 * one character to choose. */
int sampler_pick(const struct sampler_rules *rules, int v, const float *logits,
		 bool allow_end, struct sampler_rng *rng, float *work,
		 float *logp);

#endif /* NAMEGEN_MODEL_SAMPLER_H */
