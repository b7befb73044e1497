/* trainer.h - fitting a GRU to names: shuffled, length-bucketed batches,
 * BPTT, AdamW with clipping, a learning-rate schedule, and early stopping
 * on the held-out loss. Data-parallel over threads: each thread runs
 * forward and backward on its share of a batch with its own workspace
 * and gradient block, and the gradients are summed before the update
 * (OpenBLAS itself is then kept to one thread, so the two threading
 * layers do not compete for the cores).
 *
 * Losses are in nats per character over the names' characters and their
 * end token (the start token is not predicted, so not counted). */
#ifndef NAMEGEN_MODEL_TRAINER_H
#define NAMEGEN_MODEL_TRAINER_H

#include <stddef.h>

#include "namegen-model/alphabet.h"
#include "namegen-model/dataset.h"
#include "namegen-model/gru.h"

#define TRAINER_MAX_THREADS 8

struct trainer_config {
	int batch;	      // names per update, split over threads
	int threads;	      // 1..TRAINER_MAX_THREADS
	float lr;	      // Adam step size at the start
	float lr_min;	      // floor of the schedule
	float lr_decay;	      // multiplied in after every epoch
	float plateau_factor; // and when the held-out loss did not improve
	int patience;	      // epochs without improvement before stopping
	int max_epochs;
	double max_seconds;	 // stop after the epoch that passes it; 0 none
	float clip;		 // max global L2 norm of the gradient
	float weight_decay;	 // AdamW's decoupled decay
	float dropout;		 // of embeddings and outputs, in [0, 0.9]
	unsigned long long seed; // batch order
};

/* trainer_defaults fills c with the settings the default model uses. */
void trainer_defaults(struct trainer_config *c);

/* One name, already encoded. */
struct trainer_example {
	const int *tokens; // (len) character tokens, in [1, V)
	int len;	   // 1..DATASET_MAX_NAME_CHARS
	int country;	   // index, or 0 for an unconditioned model
	int gender;	   // 0 F, 1 M, or 0 for an unconditioned model
};

struct trainer_progress {
	int epoch; // 1-based
	int max_epochs;
	size_t batch, batches; // within the epoch, 1-based
	double train_loss;     // running mean over this epoch so far
	double heldout_loss;   // of the last finished epoch (NAN before)
	double best_loss;      // best held-out loss so far (NAN before)
	float lr;
	double elapsed;	      // seconds since training started
	double epoch_seconds; // seconds the last finished epoch took
	double chars_per_second;
	int epoch_done; // 1 on the call that ends an epoch
	int improved;	// with epoch_done: this epoch is the best
};

typedef void trainer_progress_fn(void *arg, const struct trainer_progress *p);

struct trainer_result {
	int epochs;	     // run
	int best_epoch;	     // whose parameters were kept
	double heldout_loss; // at best_epoch
	double train_loss;   // mean over the last epoch
	double seconds;
	double chars_per_second; // training characters (end tokens included)
};

/* trainer_run trains p (initialised by the caller, e.g. gru_params_init)
 * on train[0..n_train) and measures held[0..n_held) after every epoch;
 * when it returns, p holds the parameters of the best epoch. progress
 * (may be NULL) is called after every batch and every epoch. Returns 0,
 * or -1 with a sentence in err (bad configuration, out of memory, an
 * example out of range, or a loss that is not finite). */
int trainer_run(const struct trainer_config *cfg, struct gru_params *p,
		const struct trainer_example *train, size_t n_train,
		const struct trainer_example *held, size_t n_held,
		struct trainer_result *res, trainer_progress_fn *progress,
		void *arg, char *err, size_t errlen);

/* trainer_evaluate returns the mean loss of p over ex[0..n) in nats per
 * character, using up to threads threads; *chars (may be NULL) gets the
 * characters counted. Returns NAN when out of memory. */
double trainer_evaluate(const struct gru_params *p,
			const struct trainer_example *ex, size_t n,
			int threads, size_t *chars);

/* trainer_shuffle puts idx[0..n) in a random order drawn from *state (a
 * seed; it is advanced), the same order for the same seed. */
void trainer_shuffle(size_t *idx, size_t n, unsigned long long *state);

/* trainer_alphabet sets a to every character of ds's names. Returns 0,
 * or -1 with a sentence in err (too many distinct characters). */
int trainer_alphabet(const struct dataset *ds, struct alphabet *a, char *err,
		     size_t errlen);

/* trainer_encode turns ds's names into examples (*ex, ds->count of them)
 * whose tokens live in *tokens; both are freed by the caller with free.
 * Returns 0, or -1 with a sentence in err (out of memory, or a character
 * a lacks). */
int trainer_encode(const struct dataset *ds, const struct alphabet *a,
		   struct trainer_example **ex, int **tokens, char *err,
		   size_t errlen);

#endif /* NAMEGEN_MODEL_TRAINER_H */
