/* gru.c - parameter layout, initialisation and the inference step. */
#include "namegen-model/gru.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/matmul.h"
#include "namegen-model/vmath.h"

int gru_dims_check(const struct gru_dims *d, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (d->vocab < 2 || d->vocab > GRU_MAX_VOCAB)
		bad = "vocabulary size";
	else if (d->countries < 0 || d->countries > GRU_MAX_COUNTRIES)
		bad = "country count";
	else if (d->genders != 0 && d->genders != 2)
		bad = "gender count (must be 0 or 2)";
	else if (d->emb_char < 1 || d->emb_char > GRU_MAX_EMB)
		bad = "character embedding size";
	else if (d->emb_country < 0 || d->emb_country > GRU_MAX_EMB ||
		 (d->countries == 0) != (d->emb_country == 0))
		bad = "country embedding size";
	else if (d->emb_gender < 0 || d->emb_gender > GRU_MAX_EMB ||
		 (d->genders == 0) != (d->emb_gender == 0))
		bad = "gender embedding size";
	else if (d->hidden < 1 || d->hidden > GRU_MAX_HIDDEN)
		bad = "hidden size";
	else if (d->layers < 1 || d->layers > GRU_MAX_LAYERS)
		bad = "layer count";
	if (bad) {
		snprintf(err, errlen, "unsupported network: bad %s", bad);
		return -1;
	}
	return 0;
}

int gru_input_size(const struct gru_dims *d, int layer)
{
	if (layer > 0)
		return d->hidden;
	return d->emb_char + d->emb_country + d->emb_gender;
}

size_t gru_param_count(const struct gru_dims *d)
{
	size_t h3 = 3 * (size_t)d->hidden, n;
	int l;

	n = (size_t)d->vocab * d->emb_char +
	    (size_t)d->countries * d->emb_country +
	    (size_t)d->genders * d->emb_gender;
	for (l = 0; l < d->layers; l++)
		n += h3 * gru_input_size(d, l) + h3 * d->hidden + 2 * h3;
	return n + (size_t)d->vocab * d->hidden + d->vocab;
}

void gru_params_point(struct gru_params *p, const struct gru_dims *d,
		      float *data)
{
	size_t h3 = 3 * (size_t)d->hidden;
	float *at = data;
	int l;

	memset(p, 0, sizeof(*p));
	p->d = *d;
	p->data = data;
	p->char_emb = at;
	at += (size_t)d->vocab * d->emb_char;
	p->country_emb = at;
	at += (size_t)d->countries * d->emb_country;
	p->gender_emb = at;
	at += (size_t)d->genders * d->emb_gender;
	for (l = 0; l < d->layers; l++) {
		struct gru_layer *ly = &p->layer[l];

		ly->w_ih = at;
		at += h3 * gru_input_size(d, l);
		ly->w_hh = at;
		at += h3 * d->hidden;
		ly->b_ih = at;
		at += h3;
		ly->b_hh = at;
		at += h3;
	}
	p->w_out = at;
	at += (size_t)d->vocab * d->hidden;
	p->b_out = at;
}

/* splitmix64: a small generator with explicit state, for reproducible
 * initialisation. */
static unsigned long long next_u64(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static float next_sym(unsigned long long *s)
{
	return (float)((next_u64(s) >> 40) * (2.0 / 16777216.0) - 1.0);
}

static void fill(float *x, size_t n, float scale, unsigned long long *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = scale * next_sym(s);
}

void gru_params_init(struct gru_params *p, unsigned long long seed)
{
	const struct gru_dims *d = &p->d;
	float k = 1.0f / sqrtf((float)d->hidden);
	float unit = sqrtf(3.0f); // uniform(-a, a) has variance a*a/3
	size_t h3 = 3 * (size_t)d->hidden;
	unsigned long long s = seed;
	int l;

	fill(p->char_emb, (size_t)d->vocab * d->emb_char, unit, &s);
	fill(p->country_emb, (size_t)d->countries * d->emb_country, unit, &s);
	fill(p->gender_emb, (size_t)d->genders * d->emb_gender, unit, &s);
	for (l = 0; l < d->layers; l++) {
		struct gru_layer *ly = &p->layer[l];
		// Scale layer 0's input weights to the width of its input.
		float ki = 1.0f / sqrtf((float)gru_input_size(d, l));

		fill(ly->w_ih, h3 * gru_input_size(d, l), ki, &s);
		fill(ly->w_hh, h3 * d->hidden, k, &s);
		fill(ly->b_ih, h3, k, &s);
		fill(ly->b_hh, h3, k, &s);
	}
	fill(p->w_out, (size_t)d->vocab * d->hidden, k, &s);
	memset(p->b_out, 0, (size_t)d->vocab * sizeof(float));
}

/* table_rows writes out (rows, 3H) = emb (rows, E) times the E columns of
 * w_ih (3H, In) starting at col, plus bias when not NULL. */
static void table_rows(float *out, int rows, const float *emb, int e,
		       const float *w_ih, int in, int col, int h3,
		       const float *bias)
{
	int r, j, k;

	for (r = 0; r < rows; r++) {
		for (j = 0; j < h3; j++) {
			double s = bias ? bias[j] : 0.0;

			for (k = 0; k < e; k++)
				s += (double)emb[(size_t)r * e + k] *
				     w_ih[(size_t)j * in + col + k];
			out[(size_t)r * h3 + j] = (float)s;
		}
	}
}

int gru_init(struct gru *g, const struct gru_params *p)
{
	const struct gru_dims *d = &p->d;
	int h3 = 3 * d->hidden, in = gru_input_size(d, 0);
	size_t n = (size_t)(d->vocab + d->countries + d->genders) * h3;

	memset(g, 0, sizeof(*g));
	g->d = *d;
	g->p = p;
	g->tables = malloc(n * sizeof(float));
	if (!g->tables)
		return -1;
	g->in_char = g->tables;
	g->in_country = g->in_char + (size_t)d->vocab * h3;
	g->in_gender = g->in_country + (size_t)d->countries * h3;

	// Each table is its embedding times its slice of layer 0's w_ih.
	table_rows(g->in_char, d->vocab, p->char_emb, d->emb_char,
		   p->layer[0].w_ih, in, 0, h3, p->layer[0].b_ih);
	table_rows(g->in_country, d->countries, p->country_emb, d->emb_country,
		   p->layer[0].w_ih, in, d->emb_char, h3, NULL);
	table_rows(g->in_gender, d->genders, p->gender_emb, d->emb_gender,
		   p->layer[0].w_ih, in, d->emb_char + d->emb_country, h3,
		   NULL);
	return 0;
}

void gru_free(struct gru *g)
{
	free(g->tables);
	memset(g, 0, sizeof(*g));
}

int gru_cond_size(const struct gru *g)
{
	return 3 * g->d.hidden;
}

int gru_state_size(const struct gru *g)
{
	return g->d.layers * g->d.hidden;
}

int gru_condition(const struct gru *g, float *cond, int n,
		  const int *countries, const float *weights, int gender,
		  char *err, size_t errlen)
{
	int h3 = 3 * g->d.hidden, i, j;
	double sum = 0;

	memset(cond, 0, (size_t)h3 * sizeof(float));
	if (g->d.countries == 0 && n > 0) {
		snprintf(err, errlen, "this model has no countries");
		return -1;
	}
	if (g->d.countries > 0 && n < 1) {
		snprintf(err, errlen, "at least one country is needed");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (countries[i] < 0 || countries[i] >= g->d.countries) {
			snprintf(err, errlen, "country index %d out of range",
				 countries[i]);
			return -1;
		}
		if (!(weights[i] >= 0.0f) || !isfinite(weights[i])) {
			snprintf(err, errlen,
				 "country weights must be finite and >= 0");
			return -1;
		}
		sum += weights[i];
	}
	if (n > 0 && !(sum > 0.0)) {
		snprintf(err, errlen, "country weights must not all be 0");
		return -1;
	}
	if (gender != GRU_GENDER_ANY &&
	    (gender < 0 || gender >= g->d.genders)) {
		snprintf(err, errlen, "this model has no gender %d", gender);
		return -1;
	}

	// Mixing rows is mixing embeddings: the projection is linear.
	for (i = 0; i < n; i++) {
		const float *row = g->in_country + (size_t)countries[i] * h3;
		float w = (float)(weights[i] / sum);

		for (j = 0; j < h3; j++)
			cond[j] += w * row[j];
	}
	for (i = 0; i < g->d.genders; i++) {
		const float *row = g->in_gender + (size_t)i * h3;
		float w = gender == GRU_GENDER_ANY ? 1.0f / g->d.genders
			  : gender == i		   ? 1.0f
						   : 0.0f;

		for (j = 0; j < h3; j++)
			cond[j] += w * row[j];
	}
	return 0;
}

void gru_state_reset(const struct gru *g, int batch, float *h)
{
	memset(h, 0, (size_t)batch * gru_state_size(g) * sizeof(float));
}

size_t gru_scratch_floats(const struct gru *g, int batch)
{
	return 6 * (size_t)batch * g->d.hidden;
}

/* gates_ref is vmath_gru_gates with libm, one value at a time: the
 * reference. */
static void gates_ref(int hd, const float *xa, const float *xb,
		      const float *bhh, float *gh, float *h)
{
	int j;

	for (j = 0; j < hd; j++) {
		float r =
		    1.0f / (1.0f + expf(-(xa[j] + xb[j] + gh[j] + bhh[j])));
		float z = 1.0f / (1.0f + expf(-(xa[hd + j] + xb[hd + j] +
						gh[hd + j] + bhh[hd + j])));
		float n = tanhf(xa[2 * hd + j] + xb[2 * hd + j] +
				r * (gh[2 * hd + j] + bhh[2 * hd + j]));

		h[j] = (1.0f - z) * n + z * h[j];
	}
}

/* step runs one step with cblas or plain loops. tokens may be NULL, then
 * every sequence reads token tok. */
static void step(bool ref, const struct gru *g, int batch, const int *tokens,
		 int tok, const float *cond, float *h, float *logits,
		 float *scratch)
{
	const struct gru_params *p = g->p;
	int hd = g->d.hidden, h3 = 3 * hd, ld = g->d.layers * hd;
	int v = g->d.vocab, l, b, j;
	float *gh = scratch;			  // (B, 3H)
	float *gi = scratch + (size_t)batch * h3; // (B, 3H), layers > 0

	for (l = 0; l < g->d.layers; l++) {
		const struct gru_layer *ly = &p->layer[l];
		float *hl = h + (size_t)l * hd; // row b at hl + b*ld

		// gh = h_l W_hh^T: the one product that is sequential.
		if (batch == 1)
			mm_gemv(ref, h3, hd, ly->w_hh, hd, hl, gh);
		else
			mm_gemm(ref, false, true, batch, h3, hd, 1.0f, hl, ld,
				ly->w_hh, hd, 0.0f, gh, h3);
		// Layers above 0 read the new state of the layer below.
		if (l > 0 && batch == 1)
			mm_gemv(ref, h3, hd, ly->w_ih, hd, hl - hd, gi);
		else if (l > 0)
			mm_gemm(ref, false, true, batch, h3, hd, 1.0f, hl - hd,
				ld, ly->w_ih, hd, 0.0f, gi, h3);

		for (b = 0; b < batch; b++) {
			float *ghb = gh + (size_t)b * h3;
			const float *xa, *xb;
			float *hb = hl + (size_t)b * ld;

			// Layer 0's input is two table rows: char and cond.
			if (l == 0) {
				int t = tokens ? tokens[b] : tok;

				xa = g->in_char + (size_t)t * h3;
				xb = cond + (size_t)b * h3;
			} else {
				xa = gi + (size_t)b * h3;
				xb = ly->b_ih;
			}
			// The gates: 8 values an instruction (vmath.h).
			if (ref)
				gates_ref(hd, xa, xb, ly->b_hh, ghb, hb);
			else
				vmath_gru_gates(hd, xa, xb, ly->b_hh, ghb, hb);
		}
	}

	// logits = h_last W_out^T + b_out
	if (batch == 1)
		mm_gemv(ref, v, hd, p->w_out, hd, h + (size_t)(ld - hd),
			logits);
	else
		mm_gemm(ref, false, true, batch, v, hd, 1.0f,
			h + (size_t)(ld - hd), ld, p->w_out, hd, 0.0f, logits,
			v);
	for (b = 0; b < batch; b++) {
		for (j = 0; j < v; j++)
			logits[(size_t)b * v + j] += p->b_out[j];
	}
}

void gru_step(const struct gru *g, int batch, const int *tokens,
	      const float *cond, float *h, float *logits, float *scratch)
{
	step(false, g, batch, tokens, 0, cond, h, logits, scratch);
}

void gru_step_ref(const struct gru *g, int batch, const int *tokens,
		  const float *cond, float *h, float *logits, float *scratch)
{
	step(true, g, batch, tokens, 0, cond, h, logits, scratch);
}

void gru_log_softmax(int n, const float *logits, float *out)
{
	float max = -INFINITY;
	double sum = 0;
	float lse;
	int i;

	for (i = 0; i < n; i++)
		max = logits[i] > max ? logits[i] : max;
	for (i = 0; i < n; i++)
		sum += exp((double)logits[i] - max);
	lse = max + (float)log(sum);
	for (i = 0; i < n; i++)
		out[i] = logits[i] - lse;
}

size_t gru_score_scratch_floats(const struct gru *g, int n)
{
	return (size_t)n * gru_state_size(g) + (size_t)n * g->d.vocab +
	       gru_scratch_floats(g, n);
}

void gru_score(const struct gru *g, int n, const float *conds,
	       const int *tokens, int len, double *logp, float *scratch)
{
	int v = g->d.vocab, i, t;
	float *h = scratch;				   // (n, L*H)
	float *logits = h + (size_t)n * gru_state_size(g); // (n, V)
	float *work = logits + (size_t)n * v;

	gru_state_reset(g, n, h);
	for (i = 0; i < n; i++)
		logp[i] = 0;
	for (t = 0; t <= len; t++) {
		int in = t == 0 ? GRU_BOUNDARY : tokens[t - 1];
		int target = t < len ? tokens[t] : GRU_BOUNDARY;

		step(false, g, n, NULL, in, conds, h, logits, work);
		for (i = 0; i < n; i++) {
			const float *row = logits + (size_t)i * v;
			float max = -INFINITY;
			double sum = 0;
			int j;

			for (j = 0; j < v; j++)
				max = row[j] > max ? row[j] : max;
			for (j = 0; j < v; j++)
				sum += exp((double)row[j] - max);
			logp[i] += (double)row[target] - max - log(sum);
		}
	}
}
