/* batcher.h - continuous batching: every concurrent Generate request
 * shares one batch of sequences that steps together.
 *
 * One scheduler thread owns the batch. At every step it drops requests
 * whose deadline passed, lets new sequences join (first more attempts for
 * the requests already in the batch, then queued requests, in arrival
 * order), advances every live sequence by one character, and lets
 * finished sequences leave. It never waits for a batch to fill: when the
 * batch is empty it sleeps until a request arrives, otherwise it steps
 * at once.
 *
 * The advance is the only part done by more than one thread: with
 * threads > 1 the scheduler lends the batch's rows to a team (team.h),
 * cut into contiguous parts of at least BATCH_MIN_PART_ROWS rows; each
 * part runs gru_step over its rows (one sgemm per layer plus one for the
 * output, on one OpenBLAS thread) and samples each row's next
 * character, and the scheduler waits for all parts (one barrier per
 * step) before it judges, joins and compacts alone. A sequence's
 * generator belongs to the sequence, not to a thread, so a seed gives
 * the same names whatever the thread count (log-probabilities agree to
 * float rounding: a row's products may run in another kernel).
 *
 * A request asks for count names. Each name is sampled by an attempt;
 * attempt i draws from its own generator seeded by (seed, i), and
 * finished attempts are judged in index order (too long, a duplicate,
 * a training name when novel is asked), so that the same request and
 * seed give the same names whatever else shares the batch. At most
 * BATCH_ATTEMPTS_PER_NAME * count attempts are made; then the request
 * ends with fewer names, and says why.
 *
 * Memory is bounded: at most batch_max sequences are live and at most
 * queue_max requests wait; batcher_submit refuses the rest at once. */
#ifndef NAMEGEN_MODEL_BATCHER_H
#define NAMEGEN_MODEL_BATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "namegen-model/model_file.h"
#include "namegen-model/sampler.h"

#define BATCH_MAX_COUNT		100 /* names one request may ask for */
#define BATCH_ATTEMPTS_PER_NAME 8   /* attempt budget per name asked */
#define BATCH_NAME_BYTES	(4 * MODEL_MAX_NAME_CHARS + 1)
#define BATCH_REASON_MAX	192
#define BATCH_SIZE_LIMIT	GRU_MAX_BATCH /* largest batch_max accepted */
#define BATCH_QUEUE_LIMIT	65536	      /* largest queue_max accepted */
#define BATCH_THREADS_LIMIT	16	      /* largest threads accepted */
#define BATCH_SPIN_US		50 /* default wait before a futex sleep */
#define BATCH_SPIN_US_LIMIT	10000
#define BATCH_MIN_PART_ROWS	16 /* fewer rows a thread are not worth it */

/* One request, validated by the caller (see model_service.c). */
struct batch_spec {
	int prefix[MODEL_MAX_NAME_CHARS]; /* tokens every name starts with */
	int prefix_len;
	int min_len; /* characters, 1 <= min_len <= max_len */
	int max_len; /* prefix_len <= max_len <= model max */
	int count;   /* 1..BATCH_MAX_COUNT */
	struct sampler_rules rules;
	bool unique; /* no name twice in the reply */
	bool novel;  /* no name from the training data */
	uint64_t seed;
	int64_t deadline_ms; /* wall clock (rpc_now_ms); 0 = none */
};

struct batch_name {
	char text[BATCH_NAME_BYTES]; /* UTF-8, NUL-terminated */
	float log_prob;		     /* natural log, end token included */
	bool in_training_data;
};

enum batch_status {
	BATCH_DONE = 0,	   /* names (possibly fewer than asked) */
	BATCH_EXPIRED = 1, /* the deadline passed first */
	BATCH_STOPPED = 2  /* the batcher was freed first */
};

/* What a request ended with; valid only during the done callback. */
struct batch_result {
	enum batch_status status;
	int n; /* names found */
	const struct batch_name *names;
	bool incomplete;	       /* n < count */
	char reason[BATCH_REASON_MAX]; /* why, when incomplete */
	uint32_t attempts;	       /* attempts judged */
	uint32_t steps;		       /* batch steps the request took */
};

/* done runs exactly once per accepted request, on the scheduler thread;
 * it must not call back into the batcher. */
typedef void batch_done_fn(void *arg, const struct batch_result *res);

struct batcher_opts {
	const struct model *model; /* must outlive the batcher */
	int batch_max;		   /* live sequences; 0 = 256 */
	int queue_max;		   /* waiting requests; 0 = 512 */
	int threads; /* step threads, scheduler included; 0 = 1 */
	int spin_us; /* a step thread's spin before it sleeps; 0 = default */
};

/* Returned by batcher_submit. */
#define BATCH_E_FULL	(-1) /* queue_max requests are waiting */
#define BATCH_E_STOPPED (-2) /* the batcher is shutting down */
#define BATCH_E_NOMEM	(-3)

struct batcher;

/* batcher_start checks opts and starts the scheduler thread. Returns 0
 * with *out set, or -1 with a sentence in err. */
int batcher_start(struct batcher **out, const struct batcher_opts *opts,
		  char *err, size_t errlen);

/* batcher_submit queues a request: spec is copied, cond is the
 * request's conditioning row (gru_cond_size floats, from gru_condition;
 * copied). Returns 0, after which done(arg, ...) runs exactly once, or a
 * BATCH_E_* code, in which case done never runs. Thread-safe; never
 * blocks on the batch. */
int batcher_submit(struct batcher *b, const struct batch_spec *spec,
		   const float *cond, batch_done_fn *done, void *arg);

/* batcher_free stops the scheduler: requests still queued or in the
 * batch end with BATCH_STOPPED. Accepts NULL and a half-started
 * batcher. To let requests finish first, wait until they are answered
 * (e.g. rpc_server_drain) before calling it. */
void batcher_free(struct batcher *b);

struct batcher_stats {
	uint64_t requests;  /* accepted by batcher_submit */
	uint64_t refused;   /* refused with BATCH_E_FULL */
	uint64_t expired;   /* ended with BATCH_EXPIRED */
	uint64_t steps;	    /* gru_step calls */
	uint64_t seq_steps; /* sum over steps of the live sequences */
	uint64_t attempts;  /* sequences that finished */
	uint64_t names;	    /* names handed out */
	uint64_t chars;	    /* characters of those names */
	uint64_t step_ns;   /* scheduler time in the steps (all threads) */
	uint64_t serial_ns; /* its time around them, when the batch ran */
	int live_max;	    /* largest batch seen */
	int batch_max;
	int queue_max;
};

/* batcher_get_stats copies the counters (thread-safe). */
void batcher_get_stats(struct batcher *b, struct batcher_stats *out);

#endif /* NAMEGEN_MODEL_BATCHER_H */
