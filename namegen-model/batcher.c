/* batcher.c - continuous batching of name generation (see batcher.h).
 *
 * The batch is a set of parallel arrays indexed by live sequence, kept
 * dense: when sequences leave, the ones after them move down. Only the
 * scheduler thread touches the batch and the active requests; the queue
 * of waiting requests is shared with the submitting threads under mu. */
#include "namegen-model/batcher.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/rpc.h"
#include "namegen-model/gru.h"
#include "namegen-model/team.h"

/* One attempt at a name: running in the batch, or finished and waiting
 * to be judged in index order. */
struct attempt {
	int index; /* -1: the slot is free */
	bool done;
	bool too_long;
	int len; /* characters so far */
	int tok[MODEL_MAX_NAME_CHARS];
	float logp;
};

struct job {
	struct batch_spec spec;
	float *cond; /* (3H) */
	batch_done_fn *done;
	void *arg;
	int budget;		   /* attempts allowed */
	int launched;		   /* attempts started: 0..launched-1 */
	int judged;		   /* attempts judged, in index order */
	int accepted;		   /* names kept */
	int dups, known, too_long; /* why attempts were thrown away */
	uint32_t steps;
	bool finished;
	enum batch_status status;
	struct attempt *slots;	  /* (count): attempt i is slot i % count */
	struct batch_name *names; /* (count) */
	struct job *next;	  /* in the queue or the active list */
};

/* One live sequence of the batch. */
struct seq {
	struct job *job;
	struct attempt *at;
	struct sampler_rng rng; /* the attempt's own: see batcher.h */
	int next;		/* the token this step picked */
	float next_lp;		/* its model log-probability */
	bool leave;
};

struct batcher {
	const struct model *m;
	const struct gru *g;
	const struct alphabet *abc;
	int v, h3, hs; /* vocab, 3H, L*H */
	int batch_max, queue_max, threads;

	/* The batch: the scheduler thread's, lent to the team during a
	 * step (each part touches only its own rows and buffers). */
	int live;
	struct seq *seqs; /* (B) */
	int *tokens;	  /* (B) */
	float *cond;	  /* (B, 3H) */
	float *h;	  /* (B, L*H) */
	float *logits;	  /* (B, V) */
	float **scratch;  /* per part: gru_scratch_floats(B) */
	float **work;	  /* per part: (V) */
	struct team *team;
	struct job *active, *active_tail;

	/* Shared with batcher_submit. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *qhead, *qtail;
	int qlen;
	bool stopping;
	bool mu_ok, cv_ok, thread_ok;
	pthread_t thread;

	_Atomic uint64_t n_requests, n_refused, n_expired, n_steps,
	    n_seq_steps, n_attempts, n_names, n_chars, n_step_ns, n_serial_ns;
	_Atomic int live_max;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->cond);
	free(j->slots);
	free(j->names);
	free(j);
}

/* ---------------------------------------------------------- judging */

/* job_finish marks j as over; the sweep hands it back. */
static void job_finish(struct job *j, enum batch_status status)
{
	if (j->finished)
		return;
	j->finished = true;
	j->status = status;
}

/* job_judge takes one finished attempt: keeps its name, or counts why
 * not. */
static void job_judge(struct batcher *b, struct job *j, struct attempt *at)
{
	struct batch_name *nm = &j->names[j->accepted];
	int len, i;

	if (at->too_long) {
		j->too_long++;
		return;
	}
	len = alphabet_decode_tokens(b->abc, at->tok, at->len, nm->text,
				     sizeof(nm->text));
	if (len < 0) { // cannot happen: tokens come from the model
		j->too_long++;
		return;
	}
	if (j->spec.unique) {
		for (i = 0; i < j->accepted; i++)
			if (strcmp(j->names[i].text, nm->text) == 0) {
				j->dups++;
				return;
			}
	}
	nm->in_training_data = model_has_name(b->m, nm->text, (size_t)len);
	if (j->spec.novel && nm->in_training_data) {
		j->known++;
		return;
	}
	nm->log_prob = at->logp;
	j->accepted++;
	atomic_fetch_add(&b->n_names, 1);
	atomic_fetch_add(&b->n_chars, (uint64_t)at->len);
}

/* job_commit judges the finished attempts that are next in index order
 * and ends the job when it has its names or its budget is spent. */
static void job_commit(struct batcher *b, struct job *j)
{
	int count = j->spec.count;

	while (!j->finished && j->judged < j->launched) {
		struct attempt *at = &j->slots[j->judged % count];

		if (!at->done)
			return;
		job_judge(b, j, at);
		at->index = -1;
		at->done = false;
		j->judged++;
		if (j->accepted == count)
			job_finish(j, BATCH_DONE);
	}
	if (j->judged == j->budget)
		job_finish(j, BATCH_DONE);
}

/* --------------------------------------------------------- the batch */

/* job_wants is how many more sequences j would start now: enough that
 * every name still missing has one attempt on its way. */
static int job_wants(const struct job *j)
{
	int missing = j->spec.count - j->accepted - (j->launched - j->judged);
	int left = j->budget - j->launched;

	if (j->finished)
		return 0;
	return missing < left ? missing : left;
}

/* batch_launch adds sequences of j to the batch while it wants some and
 * there is room. */
static void batch_launch(struct batcher *b, struct job *j)
{
	int n = job_wants(j);

	while (n-- > 0 && b->live < b->batch_max) {
		int i = b->live++;
		struct seq *s = &b->seqs[i];
		struct attempt *at = &j->slots[j->launched % j->spec.count];

		at->index = j->launched;
		at->done = false;
		at->too_long = false;
		at->len = 0;
		at->logp = 0.0f;
		s->job = j;
		s->at = at;
		s->leave = false;
		sampler_rng_seed(&s->rng, j->spec.seed, (uint64_t)j->launched);
		j->launched++;
		b->tokens[i] = GRU_BOUNDARY;
		memcpy(b->cond + (size_t)i * b->h3, j->cond,
		       (size_t)b->h3 * sizeof(float));
		memset(b->h + (size_t)i * b->hs, 0,
		       (size_t)b->hs * sizeof(float));
	}
}

/* seq_pick chooses sequence s's next token from its logits row, into
 * s->next and s->next_lp; it reads the request but changes nothing
 * shared, so the parts of a step run it at once. */
static void seq_pick(const struct batcher *b, struct seq *s, const float *row,
		     float *work)
{
	const struct batch_spec *sp = &s->job->spec;
	int len = s->at->len;

	if (len < sp->prefix_len) {
		s->next = sp->prefix[len];
		s->next_lp = row[s->next] - sampler_log_norm(b->v, row);
		return;
	}
	s->next = sampler_pick(&sp->rules, b->v, row, len >= sp->min_len,
			       &s->rng, work, &s->next_lp);
}

/* part_row is where part i of parts begins in a batch of live rows:
 * the rows are shared out evenly, in order. */
static int part_row(int live, int i, int parts)
{
	return (int)((long long)live * i / parts);
}

/* step_part runs one part of a step: the network over the part's rows,
 * then each row's pick (team_fn). */
static void step_part(void *arg, int part, int parts)
{
	struct batcher *b = arg;
	int lo = part_row(b->live, part, parts);
	int hi = part_row(b->live, part + 1, parts), i;

	if (hi <= lo)
		return;
	gru_step(b->g, hi - lo, b->tokens + lo, b->cond + (size_t)lo * b->h3,
		 b->h + (size_t)lo * b->hs, b->logits + (size_t)lo * b->v,
		 b->scratch[part]);
	for (i = lo; i < hi; i++)
		seq_pick(b, &b->seqs[i], b->logits + (size_t)i * b->v,
			 b->work[part]);
}

/* batch_step advances every live sequence by one token, over as many
 * parts as the batch is worth (at least BATCH_MIN_PART_ROWS rows each):
 * a thread's wake-up costs more than a few rows of work. */
static void batch_step(struct batcher *b)
{
	int parts = b->live / BATCH_MIN_PART_ROWS;

	if (parts > b->threads)
		parts = b->threads;
	team_run(b->team, parts < 1 ? 1 : parts, step_part, b);
}

/* batch_advance appends each live sequence's picked token; sequences
 * that end are marked to leave, and their attempts judged in order. */
static void batch_advance(struct batcher *b)
{
	int i;

	for (i = 0; i < b->live; i++) {
		struct seq *s = &b->seqs[i];
		struct job *j = s->job;
		const struct batch_spec *sp = &j->spec;
		struct attempt *at = s->at;
		int tok = s->next;

		if (j->finished)
			continue;
		at->logp += s->next_lp;
		if (tok != GRU_BOUNDARY && at->len < sp->max_len) {
			at->tok[at->len++] = tok;
			b->tokens[i] = tok;
			continue;
		}
		// The name ended, or wanted to go past its maximum length.
		at->too_long = tok != GRU_BOUNDARY;
		at->done = true;
		s->leave = true;
		atomic_fetch_add(&b->n_attempts, 1);
		job_commit(b, j);
	}
}

/* batch_compact removes the sequences that left or whose request is
 * over, moving the rest down so the batch stays dense. */
static void batch_compact(struct batcher *b)
{
	int i, w = 0;

	for (i = 0; i < b->live; i++) {
		struct seq *s = &b->seqs[i];

		if (s->leave || s->job->finished)
			continue;
		if (w != i) {
			b->seqs[w] = *s;
			b->tokens[w] = b->tokens[i];
			memcpy(b->cond + (size_t)w * b->h3,
			       b->cond + (size_t)i * b->h3,
			       (size_t)b->h3 * sizeof(float));
			memcpy(b->h + (size_t)w * b->hs,
			       b->h + (size_t)i * b->hs,
			       (size_t)b->hs * sizeof(float));
		}
		w++;
	}
	b->live = w;
}

/* deliver hands a finished request back to its caller and frees it. */
static void deliver(struct batcher *b, struct job *j)
{
	struct batch_result res;

	memset(&res, 0, sizeof(res));
	res.status = j->status;
	res.n = j->accepted;
	res.names = j->names;
	res.attempts = (uint32_t)j->judged;
	res.steps = j->steps;
	res.incomplete = j->accepted < j->spec.count;
	if (res.incomplete && j->status == BATCH_DONE)
		snprintf(res.reason, sizeof(res.reason),
			 "found %d of %d names in %d attempts (%d too long, "
			 "%d duplicates, %d in the training data)",
			 j->accepted, j->spec.count, j->judged, j->too_long,
			 j->dups, j->known);
	if (j->status == BATCH_EXPIRED)
		atomic_fetch_add(&b->n_expired, 1);
	j->done(j->arg, &res);
	job_free(j);
}

/* sweep removes finished requests from the batch and the active list
 * and delivers them. */
static void sweep(struct batcher *b)
{
	struct job **pp = &b->active, *j;

	batch_compact(b);
	b->active_tail = NULL;
	while ((j = *pp) != NULL) {
		if (!j->finished) {
			b->active_tail = j;
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		deliver(b, j);
	}
}

static void active_append(struct batcher *b, struct job *j)
{
	j->next = NULL;
	if (b->active_tail)
		b->active_tail->next = j;
	else
		b->active = j;
	b->active_tail = j;
}

/* take_queued moves queued requests into the active list while the batch
 * has room for their sequences, and drops queued requests whose
 * deadline passed (into *expired). Returns false when stopping. */
static bool take_queued(struct batcher *b, struct job **expired)
{
	int room = b->batch_max - b->live;
	struct job *j, **pp;
	int64_t now = rpc_now_ms();
	bool run;

	pthread_mutex_lock(&b->mu);
	while (!b->stopping && !b->active && !b->qhead)
		pthread_cond_wait(&b->cv, &b->mu);
	run = !b->stopping;
	// Expired requests leave the queue without taking room.
	for (pp = &b->qhead; (j = *pp) != NULL;) {
		if (j->spec.deadline_ms > 0 && now > j->spec.deadline_ms) {
			*pp = j->next;
			b->qlen--;
			j->next = *expired;
			*expired = j;
			continue;
		}
		pp = &j->next;
	}
	while (run && room > 0 && b->qhead) {
		j = b->qhead;
		b->qhead = j->next;
		b->qlen--;
		room -= job_wants(j);
		active_append(b, j);
	}
	b->qtail = NULL;
	for (j = b->qhead; j; j = j->next)
		b->qtail = j;
	pthread_mutex_unlock(&b->mu);
	return run;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *batcher_main(void *arg)
{
	struct batcher *b = arg;

	for (;;) {
		struct job *expired = NULL, *j;
		int64_t now;
		bool run = take_queued(b, &expired);
		uint64_t t_loop = mono_ns(), t_step, t_done;

		while ((j = expired) != NULL) {
			expired = j->next;
			job_finish(j, BATCH_EXPIRED);
			deliver(b, j);
		}
		if (!run)
			break;

		// Requests past their deadline leave the batch now.
		now = rpc_now_ms();
		for (j = b->active; j; j = j->next)
			if (j->spec.deadline_ms > 0 &&
			    now > j->spec.deadline_ms)
				job_finish(j, BATCH_EXPIRED);
		sweep(b);

		// Join: older requests first, so they finish first.
		for (j = b->active; j && b->live < b->batch_max; j = j->next)
			batch_launch(b, j);
		if (b->live == 0) {
			// Only jobs that cannot start: they end in the sweep.
			for (j = b->active; j; j = j->next)
				job_commit(b, j);
			sweep(b);
			continue;
		}

		t_step = mono_ns();
		batch_step(b);
		t_done = mono_ns();
		atomic_fetch_add(&b->n_steps, 1);
		atomic_fetch_add(&b->n_seq_steps, (uint64_t)b->live);
		if (b->live > atomic_load(&b->live_max))
			atomic_store(&b->live_max, b->live);
		for (j = b->active; j; j = j->next)
			j->steps++;
		batch_advance(b);
		sweep(b);
		// Where the scheduler's time goes: the step (parallel) and the
		// rest of the loop (its own).
		atomic_fetch_add(&b->n_step_ns, t_done - t_step);
		atomic_fetch_add(&b->n_serial_ns,
				 (t_step - t_loop) + (mono_ns() - t_done));
	}

	// Stopping: whatever is left ends unanswered by the model.
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&b->mu);
		j = b->qhead;
		if (j) {
			b->qhead = j->next;
			b->qlen--;
		} else {
			b->qtail = NULL;
		}
		pthread_mutex_unlock(&b->mu);
		if (!j)
			break;
		active_append(b, j);
	}
	for (struct job *j = b->active; j; j = j->next)
		job_finish(j, BATCH_STOPPED);
	sweep(b);
	return NULL;
}

/* --------------------------------------------------------- lifecycle */

int batcher_start(struct batcher **out, const struct batcher_opts *opts,
		  char *err, size_t errlen)
{
	struct batcher *b;
	size_t bm;
	int i;

	*out = NULL;
	if (!opts->model) {
		snprintf(err, errlen, "the batcher needs a model");
		return -1;
	}
	if (opts->batch_max < 0 || opts->batch_max > BATCH_SIZE_LIMIT) {
		snprintf(err, errlen, "the batch size must be 1..%d",
			 BATCH_SIZE_LIMIT);
		return -1;
	}
	if (opts->queue_max < 0 || opts->queue_max > BATCH_QUEUE_LIMIT) {
		snprintf(err, errlen, "the queue limit must be 1..%d",
			 BATCH_QUEUE_LIMIT);
		return -1;
	}
	if (opts->threads < 0 || opts->threads > BATCH_THREADS_LIMIT) {
		snprintf(err, errlen, "the step threads must be 1..%d",
			 BATCH_THREADS_LIMIT);
		return -1;
	}
	if (opts->spin_us < 0 || opts->spin_us > BATCH_SPIN_US_LIMIT) {
		snprintf(err, errlen, "the spin time must be 1..%d us",
			 BATCH_SPIN_US_LIMIT);
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		goto nomem;
	b->m = opts->model;
	b->g = model_gru(b->m);
	b->abc = model_alphabet(b->m);
	b->v = b->g->d.vocab;
	b->h3 = gru_cond_size(b->g);
	b->hs = gru_state_size(b->g);
	b->batch_max = opts->batch_max ? opts->batch_max : 256;
	b->queue_max = opts->queue_max ? opts->queue_max : 512;
	b->threads = opts->threads ? opts->threads : 1;
	bm = (size_t)b->batch_max;
	b->seqs = calloc(bm, sizeof(*b->seqs));
	b->tokens = calloc(bm, sizeof(*b->tokens));
	b->cond = calloc(bm * (size_t)b->h3, sizeof(float));
	b->h = calloc(bm * (size_t)b->hs, sizeof(float));
	b->logits = calloc(bm * (size_t)b->v, sizeof(float));
	b->scratch = calloc((size_t)b->threads, sizeof(*b->scratch));
	b->work = calloc((size_t)b->threads, sizeof(*b->work));
	if (!b->seqs || !b->tokens || !b->cond || !b->h || !b->logits ||
	    !b->scratch || !b->work)
		goto nomem;
	// Each part has its own scratch; any part may get the whole batch.
	for (i = 0; i < b->threads; i++) {
		b->scratch[i] = calloc(gru_scratch_floats(b->g, b->batch_max),
				       sizeof(float));
		b->work[i] = calloc((size_t)b->v, sizeof(float));
		if (!b->scratch[i] || !b->work[i])
			goto nomem;
	}
	if (team_start(&b->team, b->threads,
		       opts->spin_us ? opts->spin_us : BATCH_SPIN_US, err,
		       errlen) != 0) {
		batcher_free(b);
		return -1;
	}
	if (pthread_mutex_init(&b->mu, NULL) != 0)
		goto nomem;
	b->mu_ok = true;
	if (pthread_cond_init(&b->cv, NULL) != 0)
		goto nomem;
	b->cv_ok = true;
	if (pthread_create(&b->thread, NULL, batcher_main, b) != 0) {
		snprintf(err, errlen, "cannot start the scheduler thread");
		batcher_free(b);
		return -1;
	}
	b->thread_ok = true;
	pthread_setname_np(b->thread, "batcher"); // for top -H, perf
	*out = b;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory for a batch of %d",
		 opts->batch_max);
	batcher_free(b);
	return -1;
}

int batcher_submit(struct batcher *b, const struct batch_spec *spec,
		   const float *cond, batch_done_fn *done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	size_t count = (size_t)spec->count;
	int rv = 0;

	if (!j)
		return BATCH_E_NOMEM;
	j->spec = *spec;
	j->done = done;
	j->arg = arg;
	j->budget = BATCH_ATTEMPTS_PER_NAME * spec->count;
	j->cond = malloc((size_t)b->h3 * sizeof(float));
	j->slots = calloc(count, sizeof(*j->slots));
	j->names = calloc(count, sizeof(*j->names));
	if (!j->cond || !j->slots || !j->names) {
		job_free(j);
		return BATCH_E_NOMEM;
	}
	memcpy(j->cond, cond, (size_t)b->h3 * sizeof(float));

	pthread_mutex_lock(&b->mu);
	if (b->stopping)
		rv = BATCH_E_STOPPED;
	else if (b->qlen >= b->queue_max)
		rv = BATCH_E_FULL;
	if (rv == 0) {
		if (b->qtail)
			b->qtail->next = j;
		else
			b->qhead = j;
		b->qtail = j;
		b->qlen++;
		pthread_cond_signal(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	if (rv != 0) {
		if (rv == BATCH_E_FULL)
			atomic_fetch_add(&b->n_refused, 1);
		job_free(j);
		return rv;
	}
	atomic_fetch_add(&b->n_requests, 1);
	return 0;
}

void batcher_free(struct batcher *b)
{
	if (!b)
		return;
	if (b->thread_ok) {
		pthread_mutex_lock(&b->mu);
		b->stopping = true;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->thread, NULL);
	}
	if (b->cv_ok)
		pthread_cond_destroy(&b->cv);
	if (b->mu_ok)
		pthread_mutex_destroy(&b->mu);
	free(b->seqs);
	free(b->tokens);
	free(b->cond);
	free(b->h);
	free(b->logits);
	team_free(b->team);
	for (int i = 0; b->scratch && i < b->threads; i++)
		free(b->scratch[i]);
	for (int i = 0; b->work && i < b->threads; i++)
		free(b->work[i]);
	free(b->scratch);
	free(b->work);
	free(b);
}

void batcher_get_stats(struct batcher *b, struct batcher_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->requests = atomic_load(&b->n_requests);
	out->refused = atomic_load(&b->n_refused);
	out->expired = atomic_load(&b->n_expired);
	out->steps = atomic_load(&b->n_steps);
	out->seq_steps = atomic_load(&b->n_seq_steps);
	out->attempts = atomic_load(&b->n_attempts);
	out->names = atomic_load(&b->n_names);
	out->chars = atomic_load(&b->n_chars);
	out->live_max = atomic_load(&b->live_max);
	out->step_ns = atomic_load(&b->n_step_ns);
	out->serial_ns = atomic_load(&b->n_serial_ns);
	out->batch_max = b->batch_max;
	out->queue_max = b->queue_max;
}
