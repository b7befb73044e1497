/* scorer.h - Score: which countries and which gender a name sounds like.
 *
 * The name's log-likelihood is computed under every (country, gender)
 * condition of the model as one batch (gru_score), and turned into a
 * posterior with a uniform prior over the conditions:
 *
 *     P(c, g | name) = exp(logp(name | c, g)) / sum over all (c', g')
 *
 * whose marginals are the country and gender probabilities. The
 * conditioning rows are computed once, when the scorer is made. */
#ifndef NAMEGEN_MODEL_SCORER_H
#define NAMEGEN_MODEL_SCORER_H

#include <stddef.h>

#include "namegen-model/gru.h"
#include "namegen-model/model_file.h"

#define SCORER_ERR_MAX 256

struct scorer;

struct scorer_country {
	int index; /* model country index */
	float probability;
};

struct scorer_gender {
	int gender; /* GRU_GENDER_F or GRU_GENDER_M */
	float probability;
};

struct scorer_result {
	int ncountries; /* 0 for an unconditioned model */
	struct scorer_country countries[GRU_MAX_COUNTRIES]; /* best first */
	int ngenders;					    /* 0 or 2 */
	struct scorer_gender genders[2];		    /* best first */
	double log_likelihood; /* under the best condition */
	int chars;	       /* characters in the name */
};

/* scorer_new prepares a scorer for m (which must outlive it). Returns 0
 * with *out set, or -1 with a sentence in err. */
int scorer_new(struct scorer **out, const struct model *m, char *err,
	       size_t errlen);

/* scorer_free releases s; accepts NULL. */
void scorer_free(struct scorer *s);

/* scorer_score scores the UTF-8 name (len bytes). Returns 0 with *out
 * filled, or -1 with a sentence in err for a name that is empty, too
 * long (more than the model's maximum length), malformed or holds a
 * character outside the alphabet; also -1 when out of memory.
 * Thread-safe: any number of threads may score with one scorer. */
int scorer_score(const struct scorer *s, const char *name, size_t len,
		 struct scorer_result *out, char *err, size_t errlen);

#endif /* NAMEGEN_MODEL_SCORER_H */
