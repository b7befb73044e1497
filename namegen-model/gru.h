/* gru.h - the name network: a character-level GRU conditioned on country
 * and gender, its parameter layout, and the batched inference step.
 *
 * Tokens: id 0 is the boundary token (the start token when fed as input,
 * the end token when predicted); ids 1..vocab-1 are the characters of the
 * model's alphabet (see alphabet.h). The network, per step t:
 *
 *     x_t = [char_emb[tok_t], sum_k w_k country_emb[c_k], gender_emb[g]]
 *     layer 0: GRU over x_t, layer 1 (optional): GRU over layer 0's h
 *     logits = w_out h_last + b_out                       // (vocab)
 *
 * Each GRU layer follows the usual gate order r, z, n stacked in 3*H:
 *
 *     r = sigmoid(Wir x + bir + Whr h + bhr)
 *     z = sigmoid(Wiz x + biz + Whz h + bhz)
 *     n = tanh(Win x + bin + r * (Whn h + bhn))
 *     h' = (1 - z) * n + z * h
 *
 * Because the inputs of layer 0 are one-hot (or a weighted sum of one-hot
 * rows), its input projection is a sum of rows of three precomputed
 * tables: in_char (vocab, 3H) which also holds b_ih, in_country
 * (countries, 3H) and in_gender (genders, 3H). A sequence's country and
 * gender part never changes, so it is computed once per sequence
 * (gru_condition) and a step costs one hidden-to-hidden product per layer
 * and the output projection, for the whole batch.
 *
 * Thread-compatibility: a struct gru is read-only after gru_init, so any
 * number of threads may step it at once; hidden states, logits and
 * scratch belong to the caller. The cblas calls run on whatever threads
 * OpenBLAS is configured for; a process that steps from several threads
 * of its own should call openblas_set_num_threads(1) first (two threading
 * layers competing for the cores cost 2-3x on a 2-core machine). */
#ifndef NAMEGEN_MODEL_GRU_H
#define NAMEGEN_MODEL_GRU_H

#include <stddef.h>

#define GRU_MAX_LAYERS	  2
#define GRU_MAX_HIDDEN	  2048
#define GRU_MAX_EMB	  1024
#define GRU_MAX_VOCAB	  1025 /* alphabet (ALPHABET_MAX) + boundary */
#define GRU_MAX_COUNTRIES 256
#define GRU_MAX_BATCH	  4096

#define GRU_BOUNDARY 0 /* start token as input, end token as output */

/* Genders as stored in the model; GRU_GENDER_ANY (open) means the mean of
 * both rows. */
enum gru_gender { GRU_GENDER_ANY = -1, GRU_GENDER_F = 0, GRU_GENDER_M = 1 };

struct gru_dims {
	int vocab;	 /* V: alphabet size + 1 (the boundary token) */
	int countries;	 /* C: 0 for an unconditioned model */
	int genders;	 /* G: 0 (unconditioned) or 2 (F, M) */
	int emb_char;	 /* Ec */
	int emb_country; /* Ek: 0 when countries == 0 */
	int emb_gender;	 /* Eg: 0 when genders == 0 */
	int hidden;	 /* H */
	int layers;	 /* L: 1 or 2 */
};

/* The trainable tensors, all cut from one float block in this order
 * (the model file stores them in the same order). */
struct gru_layer {
	float *w_ih; // (3H, In) with In = Ec+Ek+Eg for layer 0, H after
	float *w_hh; // (3H, H)
	float *b_ih; // (3H)
	float *b_hh; // (3H)
};

struct gru_params {
	struct gru_dims d;
	float *data;	    // the block, gru_param_count(&d) floats
	float *char_emb;    // (V, Ec)
	float *country_emb; // (C, Ek)
	float *gender_emb;  // (G, Eg)
	struct gru_layer layer[GRU_MAX_LAYERS];
	float *w_out; // (V, H)
	float *b_out; // (V)
};

/* gru_dims_check returns 0 when d describes a network this code can run
 * (every size within the GRU_MAX_* limits, consistent zeros), else -1
 * with a sentence naming the bad dimension in err. */
int gru_dims_check(const struct gru_dims *d, char *err, size_t errlen);

/* gru_input_size is the width of layer l's input: Ec+Ek+Eg or H. */
int gru_input_size(const struct gru_dims *d, int layer);

/* gru_param_count is the number of floats of all tensors of d. */
size_t gru_param_count(const struct gru_dims *d);

/* gru_params_point sets p->d = *d and cuts data (gru_param_count floats,
 * owned by the caller, not copied) into p's tensor pointers. */
void gru_params_point(struct gru_params *p, const struct gru_dims *d,
		      float *data);

/* gru_params_init fills p with a fixed-seed random initialisation
 * (uniform(-1/sqrt(H), 1/sqrt(H)) for the GRU and output, N(0,1)-like for
 * the embeddings); the same seed gives the same floats. */
void gru_params_init(struct gru_params *p, unsigned long long seed);

/* The inference form of a network: the layer-0 input tables computed from
 * the embeddings, plus pointers into the parameters for the rest. */
struct gru {
	struct gru_dims d;
	const struct gru_params *p; // borrowed: must outlive the gru
	float *tables;		    // owned: in_char, in_country, in_gender
	float *in_char;		    // (V, 3H), includes layer 0's b_ih
	float *in_country;	    // (C, 3H)
	float *in_gender;	    // (G, 3H)
};

/* gru_init builds g from p (which must stay alive and unchanged while g is
 * used). Returns 0, or -1 when out of memory (g is then safe to free). */
int gru_init(struct gru *g, const struct gru_params *p);

/* gru_free releases g's tables; accepts a zeroed or half-built g. */
void gru_free(struct gru *g);

/* gru_cond_size is 3*H: the floats of one conditioning row. */
int gru_cond_size(const struct gru *g);

/* gru_state_size is L*H: the floats of one sequence's hidden state. */
int gru_state_size(const struct gru *g);

/* gru_condition writes one sequence's conditioning row cond (3H): the
 * weighted sum of the in_country rows of countries[0..n) (weights are
 * normalised to sum to 1; each must be >= 0 and their sum > 0) plus the
 * in_gender row of gender, or the mean of both rows for GRU_GENDER_ANY.
 * For an unconditioned model (C == 0, G == 0), n must be 0 and the row is
 * zeros. Returns 0, or -1 with a sentence in err for a country index out
 * of range, a bad weight or a gender the model does not have. */
int gru_condition(const struct gru *g, float *cond, int n,
		  const int *countries, const float *weights, int gender,
		  char *err, size_t errlen);

/* gru_state_reset sets the hidden states h (batch, L*H) to zeros, the
 * state before the start token. */
void gru_state_reset(const struct gru *g, int batch, float *h);

/* gru_scratch_floats is how many floats of scratch gru_step needs for
 * batch sequences. */
size_t gru_scratch_floats(const struct gru *g, int batch);

/* gru_step advances batch sequences (1 <= batch <= GRU_MAX_BATCH) by one
 * token each:
 *   tokens  (batch)       the current input token of each sequence
 *                         (GRU_BOUNDARY at the first step)
 *   cond    (batch, 3H)   each sequence's row from gru_condition
 *   h       (batch, L*H)  hidden states, updated in place; sequence b's
 *                         layer l is h[(b*L + l)*H .. +H)
 *   logits  (batch, V)    out: unnormalised log-probabilities of the
 *                         next token (index 0 = end of name)
 *   scratch               gru_scratch_floats(g, batch) floats
 * Tokens must be in [0, V); the caller checks them. Uses cblas (sgemv
 * for a batch of one, sgemm otherwise). */
void gru_step(const struct gru *g, int batch, const int *tokens,
	      const float *cond, float *h, float *logits, float *scratch);

/* gru_step_ref is gru_step written with plain loops: the reference the
 * tests compare gru_step against (same arguments, same results within
 * float rounding). */
void gru_step_ref(const struct gru *g, int batch, const int *tokens,
		  const float *cond, float *h, float *logits, float *scratch);

/* gru_log_softmax writes log(softmax(logits)) of n values into out (may be
 * the same array), computed stably (max subtracted first). */
void gru_log_softmax(int n, const float *logits, float *out);

/* gru_score_scratch_floats is the scratch gru_score needs for n
 * conditions. */
size_t gru_score_scratch_floats(const struct gru *g, int n);

/* gru_score computes, as one batch, the log-probability of one name under
 * n conditions (1 <= n <= GRU_MAX_BATCH): logp[i] = log P(tokens[0..len),
 * then the end token | conds row i), natural log, start token not
 * counted. conds is (n, 3H) from gru_condition; tokens are character
 * ids in [1, V). Divide by len + 1 for nats per character. */
void gru_score(const struct gru *g, int n, const float *conds,
	       const int *tokens, int len, double *logp, float *scratch);

#endif /* NAMEGEN_MODEL_GRU_H */
