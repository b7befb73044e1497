/* bptt.c - forward and backward through time over padded batches. */
#include "namegen-model/bptt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "namegen-model/matmul.h"

int bptt_init(struct bptt *w, const struct gru_dims *d, int max_batch,
	      int max_steps)
{
	size_t tb = (size_t)max_batch * max_steps, hd = d->hidden;
	size_t in0 = (size_t)gru_input_size(d, 0), total, per_layer;
	float *at;
	int l;

	memset(w, 0, sizeof(*w));
	w->d = *d;
	w->max_batch = max_batch;
	w->max_steps = max_steps;
	per_layer = (tb + max_batch) * hd + tb * 3 * hd + 4 * tb * hd;
	total = tb * in0 + d->layers * per_layer + tb * d->vocab + tb * hd +
		2 * tb * 3 * hd + (size_t)max_batch * hd + tb * in0 +
		(size_t)max_batch * 3 * hd + tb * in0 + 2 * tb * hd;
	w->block = calloc(total, sizeof(float));
	if (!w->block)
		return -1;

	at = w->block;
	w->x0 = at;
	at += tb * in0;
	for (l = 0; l < d->layers; l++) {
		struct bptt_layer *ly = &w->layer[l];

		ly->hs = at;
		at += (tb + max_batch) * hd;
		ly->gi = at;
		at += tb * 3 * hd;
		ly->r = at;
		at += tb * hd;
		ly->z = at;
		at += tb * hd;
		ly->n = at;
		at += tb * hd;
		ly->hn = at;
		at += tb * hd;
	}
	w->probs = at;
	at += tb * d->vocab;
	w->dh = at;
	at += tb * hd;
	w->dgi = at;
	at += tb * 3 * hd;
	w->dgh = at;
	at += tb * 3 * hd;
	w->dcarry = at;
	at += (size_t)max_batch * hd;
	w->dx = at;
	at += tb * in0;
	w->tmp = at;
	at += (size_t)max_batch * 3 * hd;
	w->mask_x = at;
	at += tb * in0;
	w->mask_h = at;
	at += tb * hd;
	w->hdrop = at;
	return 0;
}

void bptt_free(struct bptt *w)
{
	free(w->block);
	memset(w, 0, sizeof(*w));
}

static float sigmoid(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/* drop fills mask (n) with 0 (probability p) or 1/(1-p), and multiplies
 * x (n) by it. */
static void drop(float *x, float *mask, size_t n, float p,
		 unsigned long long *s)
{
	float keep = 1.0f / (1.0f - p);
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		mask[i] =
		    (float)((z >> 40) * (1.0 / 16777216.0)) < p ? 0.0f : keep;
		x[i] *= mask[i];
	}
}

/* embed builds layer 0's inputs: [char_emb, country_emb, gender_emb]. */
static void embed(struct bptt *w, const struct gru_params *p)
{
	const struct gru_dims *d = &w->d;
	int in0 = gru_input_size(d, 0), t, b;

	for (t = 0; t < w->steps; t++) {
		for (b = 0; b < w->batch; b++) {
			float *x = w->x0 + ((size_t)t * w->batch + b) * in0;
			int tok = w->inputs[t * w->batch + b];

			memcpy(x, p->char_emb + (size_t)tok * d->emb_char,
			       d->emb_char * sizeof(float));
			x += d->emb_char;
			if (d->countries > 0) {
				memcpy(x,
				       p->country_emb + (size_t)w->country[b] *
							    d->emb_country,
				       d->emb_country * sizeof(float));
				x += d->emb_country;
			}
			if (d->genders > 0)
				memcpy(x,
				       p->gender_emb + (size_t)w->gender[b] *
							   d->emb_gender,
				       d->emb_gender * sizeof(float));
		}
	}
}

/* layer_forward runs layer l over all steps. x (T*B, In) is its input. */
static void layer_forward(struct bptt *w, const struct gru_params *p, int l,
			  const float *x)
{
	const struct gru_layer *pl = &p->layer[l];
	struct bptt_layer *ly = &w->layer[l];
	int hd = w->d.hidden, h3 = 3 * hd, in = gru_input_size(&w->d, l);
	int bsz = w->batch, tb = w->steps * bsz, t, b, j;

	// The input projection of every step at once: (T*B, 3H).
	mm_gemm(w->ref, false, true, tb, h3, in, 1.0f, x, in, pl->w_ih, in,
		0.0f, ly->gi, h3);
	for (b = 0; b < tb; b++) {
		for (j = 0; j < h3; j++)
			ly->gi[(size_t)b * h3 + j] += pl->b_ih[j];
	}

	memset(ly->hs, 0, (size_t)bsz * hd * sizeof(float));
	for (t = 0; t < w->steps; t++) {
		const float *hprev = ly->hs + (size_t)t * bsz * hd;
		float *hnext = ly->hs + (size_t)(t + 1) * bsz * hd;
		size_t o = (size_t)t * bsz * hd;

		// tmp = h_{t-1} W_hh^T  (B, 3H)
		mm_gemm(w->ref, false, true, bsz, h3, hd, 1.0f, hprev, hd,
			pl->w_hh, hd, 0.0f, w->tmp, h3);
		for (b = 0; b < bsz; b++) {
			const float *gi = ly->gi + ((size_t)t * bsz + b) * h3;
			const float *gh = w->tmp + (size_t)b * h3;

			for (j = 0; j < hd; j++) {
				size_t k = o + (size_t)b * hd + j;
				float r = sigmoid(gi[j] + gh[j] + pl->b_hh[j]);
				float z = sigmoid(gi[hd + j] + gh[hd + j] +
						  pl->b_hh[hd + j]);
				float hn =
				    gh[2 * hd + j] + pl->b_hh[2 * hd + j];
				float n = tanhf(gi[2 * hd + j] + r * hn);

				ly->r[k] = r;
				ly->z[k] = z;
				ly->hn[k] = hn;
				ly->n[k] = n;
				hnext[(size_t)b * hd + j] =
				    (1.0f - z) * n +
				    z * hprev[(size_t)b * hd + j];
			}
		}
	}
}

double bptt_forward(struct bptt *w, const struct gru_params *p, int batch,
		    int steps, const int *inputs, const int *targets,
		    const int *country, const int *gender, size_t *count)
{
	const struct gru_dims *d = &w->d;
	int hd = d->hidden, v = d->vocab, tb = batch * steps, l, i, j;
	const float *hlast;
	double loss = 0;

	w->batch = batch;
	w->steps = steps;
	w->inputs = inputs;
	w->targets = targets;
	w->country = country;
	w->gender = gender;
	*count = 0;

	embed(w, p);
	if (w->dropout > 0)
		drop(w->x0, w->mask_x, (size_t)tb * gru_input_size(d, 0),
		     w->dropout, &w->rng);
	for (l = 0; l < d->layers; l++)
		layer_forward(
		    w, p, l,
		    l == 0 ? w->x0 : w->layer[l - 1].hs + (size_t)batch * hd);

	// logits = h_last W_out^T + b_out  (T*B, V), then softmax in place.
	hlast = w->layer[d->layers - 1].hs + (size_t)batch * hd;
	if (w->dropout > 0) {
		memcpy(w->hdrop, hlast, (size_t)tb * hd * sizeof(float));
		drop(w->hdrop, w->mask_h, (size_t)tb * hd, w->dropout,
		     &w->rng);
		hlast = w->hdrop;
	}
	mm_gemm(w->ref, false, true, tb, v, hd, 1.0f, hlast, hd, p->w_out, hd,
		0.0f, w->probs, v);
	for (i = 0; i < tb; i++) {
		float *row = w->probs + (size_t)i * v, max = -INFINITY;
		double sum = 0;

		if (targets[i] < 0) {
			memset(row, 0, (size_t)v * sizeof(float));
			continue;
		}
		for (j = 0; j < v; j++) {
			row[j] += p->b_out[j];
			max = row[j] > max ? row[j] : max;
		}
		for (j = 0; j < v; j++)
			sum += exp((double)row[j] - max);
		loss -= (double)row[targets[i]] - max - log(sum);
		for (j = 0; j < v; j++)
			row[j] = (float)(exp((double)row[j] - max) / sum);
		(*count)++;
	}
	return loss;
}

/* colsum_add adds the column sums of x (rows, cols) to out (cols). */
static void colsum_add(float *out, const float *x, int rows, int cols)
{
	int i, j;

	for (i = 0; i < rows; i++) {
		for (j = 0; j < cols; j++)
			out[j] += x[(size_t)i * cols + j];
	}
}

/* layer_backward takes dh (T*B, H) for layer l's outputs, adds its
 * parameter gradients into g and writes d(loss)/d(input) into dx
 * (T*B, In). */
static void layer_backward(struct bptt *w, const struct gru_params *p,
			   struct gru_params *g, int l, const float *x,
			   float *dx)
{
	const struct gru_layer *pl = &p->layer[l];
	struct gru_layer *gl = &g->layer[l];
	struct bptt_layer *ly = &w->layer[l];
	int hd = w->d.hidden, h3 = 3 * hd, in = gru_input_size(&w->d, l);
	int bsz = w->batch, tb = w->steps * bsz, t, b, j;

	memset(w->dcarry, 0, (size_t)bsz * hd * sizeof(float));
	for (t = w->steps - 1; t >= 0; t--) {
		const float *hprev = ly->hs + (size_t)t * bsz * hd;
		size_t o = (size_t)t * bsz * hd;

		for (b = 0; b < bsz; b++) {
			float *dgi = w->dgi + ((size_t)t * bsz + b) * h3;
			float *dgh = w->dgh + ((size_t)t * bsz + b) * h3;

			for (j = 0; j < hd; j++) {
				size_t k = o + (size_t)b * hd + j;
				size_t c = (size_t)b * hd + j;
				float dhj = w->dh[k] + w->dcarry[c];
				float r = ly->r[k], z = ly->z[k], n = ly->n[k];
				float dn = dhj * (1.0f - z);
				float dz = dhj * (hprev[c] - n);
				float dan = dn * (1.0f - n * n);
				float dr = dan * ly->hn[k];
				float daz = dz * z * (1.0f - z);
				float dar = dr * r * (1.0f - r);

				dgi[j] = dar;
				dgi[hd + j] = daz;
				dgi[2 * hd + j] = dan;
				dgh[j] = dar;
				dgh[hd + j] = daz;
				dgh[2 * hd + j] = dan * r;
				w->dcarry[c] = dhj * z;
			}
		}
		// dcarry += dgh_t W_hh  (B, H)
		mm_gemm(w->ref, false, false, bsz, hd, h3, 1.0f,
			w->dgh + (size_t)t * bsz * h3, h3, pl->w_hh, hd, 1.0f,
			w->dcarry, hd);
	}

	// The weight gradients of all steps at once.
	mm_gemm(w->ref, true, false, h3, hd, tb, 1.0f, w->dgh, h3, ly->hs, hd,
		1.0f, gl->w_hh, hd);
	mm_gemm(w->ref, true, false, h3, in, tb, 1.0f, w->dgi, h3, x, in, 1.0f,
		gl->w_ih, in);
	colsum_add(gl->b_hh, w->dgh, tb, h3);
	colsum_add(gl->b_ih, w->dgi, tb, h3);
	mm_gemm(w->ref, false, false, tb, in, h3, 1.0f, w->dgi, h3, pl->w_ih,
		in, 0.0f, dx, in);
}

/* embed_backward scatters dx (T*B, In0) into the embedding gradients. */
static void embed_backward(struct bptt *w, struct gru_params *g)
{
	const struct gru_dims *d = &w->d;
	int in0 = gru_input_size(d, 0), t, b, j;

	for (t = 0; t < w->steps; t++) {
		for (b = 0; b < w->batch; b++) {
			const float *dx =
			    w->dx + ((size_t)t * w->batch + b) * in0;
			float *ge =
			    g->char_emb +
			    (size_t)w->inputs[t * w->batch + b] * d->emb_char;

			for (j = 0; j < d->emb_char; j++)
				ge[j] += dx[j];
			dx += d->emb_char;
			if (d->countries > 0) {
				ge = g->country_emb +
				     (size_t)w->country[b] * d->emb_country;
				for (j = 0; j < d->emb_country; j++)
					ge[j] += dx[j];
				dx += d->emb_country;
			}
			if (d->genders > 0) {
				ge = g->gender_emb +
				     (size_t)w->gender[b] * d->emb_gender;
				for (j = 0; j < d->emb_gender; j++)
					ge[j] += dx[j];
			}
		}
	}
}

void bptt_backward(struct bptt *w, const struct gru_params *p,
		   struct gru_params *grad, float scale)
{
	const struct gru_dims *d = &w->d;
	int hd = d->hidden, v = d->vocab, bsz = w->batch;
	int tb = bsz * w->steps, l, i;
	const float *hlast =
	    w->dropout > 0 ? w->hdrop
			   : w->layer[d->layers - 1].hs + (size_t)bsz * hd;

	// d(loss)/d(logits) = scale * (softmax - onehot); padding rows are 0.
	for (i = 0; i < tb; i++) {
		float *row = w->probs + (size_t)i * v;
		int j;

		if (w->targets[i] < 0)
			continue;
		row[w->targets[i]] -= 1.0f;
		for (j = 0; j < v; j++)
			row[j] *= scale;
	}
	mm_gemm(w->ref, true, false, v, hd, tb, 1.0f, w->probs, v, hlast, hd,
		1.0f, grad->w_out, hd);
	colsum_add(grad->b_out, w->probs, tb, v);
	mm_gemm(w->ref, false, false, tb, hd, v, 1.0f, w->probs, v, p->w_out,
		hd, 0.0f, w->dh, hd);
	if (w->dropout > 0) {
		for (i = 0; i < tb * hd; i++)
			w->dh[i] *= w->mask_h[i];
	}

	// Down the layers; a layer's input gradient is the one below's dh.
	for (l = d->layers - 1; l >= 0; l--) {
		const float *x =
		    l == 0 ? w->x0 : w->layer[l - 1].hs + (size_t)bsz * hd;

		layer_backward(w, p, grad, l, x, l == 0 ? w->dx : w->dh);
	}
	if (w->dropout > 0) {
		size_t n = (size_t)tb * gru_input_size(d, 0), k;

		for (k = 0; k < n; k++)
			w->dx[k] *= w->mask_x[k];
	}
	embed_backward(w, grad);
}
