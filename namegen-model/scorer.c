/* scorer.c - Score: the posterior over countries and genders of a name. */
#include "namegen-model/scorer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct scorer {
	const struct model *m;
	const struct gru *g;
	int countries, genders; /* C and G of the model (G is 0 or 2) */
	int n;			/* conditions: max(C,1) * max(G,1) */
	float *conds;		/* (n, 3H); condition i = c * G' + g */
};

void scorer_free(struct scorer *s)
{
	if (!s)
		return;
	free(s->conds);
	free(s);
}

int scorer_new(struct scorer **out, const struct model *m, char *err,
	       size_t errlen)
{
	struct scorer *s = calloc(1, sizeof(*s));
	int h3, nc, ng, c, g;

	*out = NULL;
	if (!s)
		goto nomem;
	s->m = m;
	s->g = model_gru(m);
	s->countries = s->g->d.countries;
	s->genders = s->g->d.genders;
	nc = s->countries > 0 ? s->countries : 1;
	ng = s->genders > 0 ? s->genders : 1;
	s->n = nc * ng;
	h3 = gru_cond_size(s->g);
	s->conds = calloc((size_t)s->n * (size_t)h3, sizeof(float));
	if (!s->conds)
		goto nomem;
	for (c = 0; c < nc; c++) {
		for (g = 0; g < ng; g++) {
			float one = 1.0f;
			float *row = s->conds + (size_t)(c * ng + g) * h3;

			if (gru_condition(s->g, row, s->countries ? 1 : 0, &c,
					  &one,
					  s->genders ? g : GRU_GENDER_ANY, err,
					  errlen) != 0) {
				scorer_free(s);
				return -1;
			}
		}
	}
	*out = s;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	scorer_free(s);
	return -1;
}

static int by_country(const void *a, const void *b)
{
	const struct scorer_country *x = a, *y = b;

	if (x->probability != y->probability)
		return x->probability < y->probability ? 1 : -1;
	return x->index - y->index;
}

int scorer_score(const struct scorer *s, const char *name, size_t len,
		 struct scorer_result *out, char *err, size_t errlen)
{
	int max = model_max_length(s->m);
	int tokens[MODEL_MAX_NAME_CHARS];
	int ng = s->genders > 0 ? s->genders : 1, n, i;
	double *logp = NULL, best = -INFINITY, sum = 0.0;
	float *scratch = NULL;
	char why[SCORER_ERR_MAX];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		snprintf(err, errlen, "name: must not be empty");
		return -1;
	}
	n = alphabet_encode(model_alphabet(s->m), name, len, tokens, max, why,
			    sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "name: %s", why);
		return -1;
	}
	out->chars = n;
	logp = calloc((size_t)s->n, sizeof(double));
	scratch = calloc(gru_score_scratch_floats(s->g, s->n), sizeof(float));
	if (!logp || !scratch) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	// One batch: the name under every condition at once.
	gru_score(s->g, s->n, s->conds, tokens, n, logp, scratch);
	for (i = 0; i < s->n; i++)
		best = logp[i] > best ? logp[i] : best;
	for (i = 0; i < s->n; i++)
		sum += exp(logp[i] - best);
	out->log_likelihood = best;

	// Marginals of the posterior over (country, gender).
	out->ncountries = s->countries;
	for (i = 0; i < s->countries; i++) {
		out->countries[i].index = i;
		out->countries[i].probability = 0.0f;
	}
	out->ngenders = s->genders;
	for (i = 0; i < s->genders; i++) {
		out->genders[i].gender = i;
		out->genders[i].probability = 0.0f;
	}
	for (i = 0; i < s->n; i++) {
		float p = (float)(exp(logp[i] - best) / sum);

		if (s->countries)
			out->countries[i / ng].probability += p;
		if (s->genders)
			out->genders[i % ng].probability += p;
	}
	qsort(out->countries, (size_t)out->ncountries,
	      sizeof(out->countries[0]), by_country);
	if (out->ngenders == 2 &&
	    out->genders[1].probability > out->genders[0].probability) {
		struct scorer_gender t = out->genders[0];

		out->genders[0] = out->genders[1];
		out->genders[1] = t;
	}
	rc = 0;
out:
	free(logp);
	free(scratch);
	return rc;
}
