/* adam.h - the Adam optimiser with decoupled weight decay (AdamW), and
 * gradient clipping by global norm, over one flat block of floats. */
#ifndef NAMEGEN_MODEL_ADAM_H
#define NAMEGEN_MODEL_ADAM_H

#include <stddef.h>

struct adam {
	size_t n;
	float *m; // (n) first moment, owned
	float *v; // (n) second moment, owned
	long steps;
	float beta1, beta2, eps, weight_decay;
};

/* adam_init prepares a for n parameters with the usual betas (0.9,
 * 0.999), eps 1e-8 and the given weight decay. Returns 0, or -1 when out
 * of memory (a is then safe to free). */
int adam_init(struct adam *a, size_t n, float weight_decay);

/* adam_free releases a; accepts a zeroed or half-built a. */
void adam_free(struct adam *a);

/* adam_step moves params (n) against grad (n) with step size lr. */
void adam_step(struct adam *a, float *params, const float *grad, float lr);

/* adam_clip scales grad (n) so that its L2 norm is at most max_norm, and
 * returns the norm it had. */
double adam_clip(float *grad, size_t n, double max_norm);

#endif /* NAMEGEN_MODEL_ADAM_H */
