/* bptt.h - training the GRU: forward over padded batches of names and
 * backpropagation through time.
 *
 * A batch is time-major: row t*B + b is sequence b at step t. inputs
 * (T, B) holds each name's tokens after the start token, targets (T, B)
 * the tokens to predict (the name's characters, then the end token), and
 * -1 for padding after a name's end. Padding rows get no loss and, since
 * they come last in time, send no gradient back. The loss is the
 * cross-entropy in nats summed over the rows that are not padding.
 *
 * A workspace belongs to one thread; several workspaces may run at once
 * on the same read-only parameters, each with its own gradient block. */
#ifndef NAMEGEN_MODEL_BPTT_H
#define NAMEGEN_MODEL_BPTT_H

#include <stdbool.h>
#include <stddef.h>

#include "namegen-model/gru.h"

struct bptt_layer {
	float *hs; // (T+1, B, H) states; hs[0] = zeros
	float *gi; // (T, B, 3H) input projection, biases included
	float *r;  // (T, B, H) reset gate
	float *z;  // (T, B, H) update gate
	float *n;  // (T, B, H) candidate state
	float *hn; // (T, B, H) W_hn h + b_hn
};

struct bptt {
	struct gru_dims d;
	int max_batch, max_steps;
	bool ref;      // plain loops instead of cblas (tests)
	float dropout; // training only: drop rate of inputs and outputs
	unsigned long long rng; // dropout masks, explicit state
	float *block;		// owns every array below
	float *x0;		// (T, B, In0) layer 0 inputs: embeddings
	struct bptt_layer layer[GRU_MAX_LAYERS];
	float *probs;  // (T, B, V) softmax, then d(loss)/d(logits)
	float *dh;     // (T, B, H) d(loss)/d(layer outputs)
	float *dgi;    // (T, B, 3H)
	float *dgh;    // (T, B, 3H)
	float *dcarry; // (B, H) gradient flowing back through time
	float *dx;     // (T, B, In0)
	float *tmp;    // (B, 3H)
	float *mask_x; // (T, B, In0) dropout mask: 0 or 1/(1-p)
	float *mask_h; // (T, B, H) dropout mask of the last layer
	float *hdrop;  // (T, B, H) last layer's output after dropout
	// The batch of the last forward, kept for backward.
	int batch, steps;
	const int *inputs, *targets, *country, *gender;
};

/* bptt_init sizes w for batches of up to max_batch names of up to
 * max_steps steps (characters + 1). Returns 0, or -1 when out of memory
 * (w is then safe to free). */
int bptt_init(struct bptt *w, const struct gru_dims *d, int max_batch,
	      int max_steps);

/* bptt_free releases w; accepts a zeroed or half-built w. */
void bptt_free(struct bptt *w);

/* With w->dropout > 0, bptt_forward drops (zeroes, and scales the rest
 * by 1/(1-p)) that fraction of the embeddings entering layer 0 and of
 * the last layer's outputs entering the output projection, with masks
 * drawn from w->rng; inference (gru.h) then uses the network as is.
 *
 * bptt_forward runs p over a batch (batch <= max_batch, steps <=
 * max_steps; inputs and targets (steps, batch); country and gender
 * (batch), ignored when the model has none). The arrays must stay alive
 * until bptt_backward. Returns the summed loss in nats and sets *count to
 * the number of rows that are not padding. */
double bptt_forward(struct bptt *w, const struct gru_params *p, int batch,
		    int steps, const int *inputs, const int *targets,
		    const int *country, const int *gender, size_t *count);

/* bptt_backward adds scale * d(loss)/d(param) of the last forward into
 * grad (same dims as p). */
void bptt_backward(struct bptt *w, const struct gru_params *p,
		   struct gru_params *grad, float scale);

#endif /* NAMEGEN_MODEL_BPTT_H */
