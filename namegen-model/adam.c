/* adam.c - AdamW and clipping by global norm. */
#include "namegen-model/adam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int adam_init(struct adam *a, size_t n, float weight_decay)
{
	memset(a, 0, sizeof(*a));
	a->n = n;
	a->beta1 = 0.9f;
	a->beta2 = 0.999f;
	a->eps = 1e-8f;
	a->weight_decay = weight_decay;
	a->m = calloc(n ? n : 1, sizeof(float));
	a->v = calloc(n ? n : 1, sizeof(float));
	return a->m && a->v ? 0 : -1;
}

void adam_free(struct adam *a)
{
	free(a->m);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

void adam_step(struct adam *a, float *params, const float *grad, float lr)
{
	double c1, c2;
	size_t i;

	a->steps++;
	c1 = 1.0 - pow(a->beta1, (double)a->steps);
	c2 = 1.0 - pow(a->beta2, (double)a->steps);
	for (i = 0; i < a->n; i++) {
		float g = grad[i];
		float mh, vh;

		a->m[i] = a->beta1 * a->m[i] + (1.0f - a->beta1) * g;
		a->v[i] = a->beta2 * a->v[i] + (1.0f - a->beta2) * g * g;
		mh = (float)(a->m[i] / c1);
		vh = (float)(a->v[i] / c2);
		// Decoupled decay: it shrinks the weight, not the gradient.
		params[i] -= lr * (mh / (sqrtf(vh) + a->eps) +
				   a->weight_decay * params[i]);
	}
}

double adam_clip(float *grad, size_t n, double max_norm)
{
	double sq = 0, norm;
	size_t i;

	for (i = 0; i < n; i++)
		sq += (double)grad[i] * grad[i];
	norm = sqrt(sq);
	if (norm > max_norm && norm > 0) {
		float s = (float)(max_norm / norm);

		for (i = 0; i < n; i++)
			grad[i] *= s;
	}
	return norm;
}
