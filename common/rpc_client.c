/* rpc_client.c - calling a worker's service over nng REQ.
 *
 * Each call takes a struct pending (an nng context and an aio) from a free
 * list, sends the sealed Call, then receives on the same context. The aio
 * callback runs on an nng thread: it opens the Result, checks that it
 * answers this call, unpacks the body and hands it to the caller's done.
 * A pipe notifier counts live connections. With none (once the client
 * has been connected, or its start-up grace is over), calls fail at once
 * with RPC_UNAVAILABLE instead of waiting for their deadline, and the
 * timer thread fails the calls in flight the same way: nng's REQ would
 * keep them queued to resend when a worker comes back. While another
 * connection is live, nng resends them there and they are left alone.
 *
 * Bundling (see rpc_client.h): a call of a bundled method that has to
 * wait is queued with its sealed message; when a message of those in
 * flight ends, the queue is flushed as one bundle, carried by the first
 * call's pending (the carrier: listed in flight, with the others chained
 * to it as members). The carrier's answer is split among its members by
 * call id.
 *
 * Deadlines are kept by the client's own timer thread, which cancels calls
 * whose deadline has passed; nng's aio timeouts are not used, because
 * nng 1.5.2's aio expiry could hang nng_close or abort afterwards when
 * calls had timed out (seen ~1 in 40 closes, cf. nanomsg/nng#1486). */
#include "common/rpc_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "common/config.h"
#include "common/rpc_envelope.h"
#include "common/rpc_socket.h"
#include "namegen.pb-c.h"

/* How long a new client waits for a first connection before it reports
 * a worker unavailable: dials run in the background after open. */
#define CLIENT_GRACE_MS_DEFAULT 3000

enum pending_state { P_SEND, P_RECV };

struct pending {
	struct rpc_client *cli;
	nng_ctx ctx;
	nng_aio *aio;
	int state;
	const ProtobufCMethodDescriptor *method;
	uint64_t call_id;
	int64_t deadline_ms;
	int64_t queued_ms; /* when it began to wait for a bundle */
	struct timespec started;
	rpc_done_fn done;
	void *arg;
	/* A pending flagged for cancelling is not reused until the
	 * canceller is done with it (it may otherwise cancel the next call
	 * that took it): finishing parks it, the canceller frees it. */
	bool cancelling;
	bool parked;
	int fail_status; /* set when failed from outside: no
			    connection left, or the deadline */
	bool listed;	 /* in the in-flight list */
	bool windowed;	 /* counts in cli->bundle_inflight */
	bool bundled;	 /* carries a bundle */
	nng_msg *msg;	 /* its sealed Call, while queued */
	size_t msg_len;
	struct pending *mnext;	     /* bundle queue, or a carrier's
					members */
	struct pending *prev, *next; /* in-flight list or free list */
};

struct rpc_client {
	nng_socket sock;
	uint8_t key[RPC_KEY_BYTES];
	bool have_key;
	uint64_t client_id;
	atomic_uint_fast64_t next_call;
	int timeout_ms;
	size_t max_message;
	int64_t opened_ms;
	int grace_ms;

	pthread_mutex_t mu;
	pthread_cond_t cv;	 /* a call ended (close waits on it) */
	pthread_cond_t timer_cv; /* a call started, or closing */
	pthread_t timer;
	bool timer_running;
	int64_t timer_wake_ms; /* when the sleeping timer looks next;
				  INT64_MAX while it is awake */
	struct pending *inflight;
	struct pending *freelist;
	int ninflight; /* calls not yet ended, listed or not */

	const char *const *bundle_methods;
	int bundle_window;
	int bundle_wait_ms;
	int bundle_inflight;		   /* windowed messages in flight */
	struct pending *bq_head, *bq_tail; /* calls waiting for a bundle */
	int bq_len;
	atomic_int pipes;      /* live connections (changed under mu) */
	atomic_bool connected; /* a connection has been up since open */
	bool closing;

	/* what went to the workers (rpc_client_get_stats) */
	atomic_uint_fast64_t n_messages, n_bundles, n_bundled_calls;
};

static double since_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* client_down tells whether calls must fail with RPC_UNAVAILABLE: no
 * connection is live, and either one was up before (the worker went
 * away) or the start-up grace is over (it never came). */
static bool client_down(struct rpc_client *cli, int64_t now)
{
	return atomic_load(&cli->pipes) == 0 &&
	       (atomic_load(&cli->connected) ||
		now - cli->opened_ms >= cli->grace_ms);
}

/* client_finish ends a call: runs done, then recycles the pending. */
static void client_finish(struct pending *p, struct rpc_reply *r)
{
	struct rpc_client *cli = p->cli;

	r->latency_ms = since_ms(&p->started);
	p->done(p->arg, r);
	if (r->body)
		protobuf_c_message_free_unpacked(r->body, NULL);

	pthread_mutex_lock(&cli->mu);
	if (p->listed) {
		if (p->prev)
			p->prev->next = p->next;
		else
			cli->inflight = p->next;
		if (p->next)
			p->next->prev = p->prev;
		p->listed = false;
	}
	cli->ninflight--;
	p->next = p->prev = NULL;
	/* Kept for the next call with its context open: the free list never
	 * outgrows the most calls the caller had in flight at once. */
	if (p->cancelling) {
		p->parked = true;
	} else {
		p->next = cli->freelist;
		cli->freelist = p;
	}
	pthread_cond_broadcast(&cli->cv);
	pthread_mutex_unlock(&cli->mu);
}

/* client_flag marks a call in flight for cancelling with status (0 for
 * RPC_CANCELLED) and adds it to ps; the caller holds cli->mu. */
static void client_flag(struct pending *p, int status, struct pending **ps,
			int *n)
{
	p->fail_status = status;
	p->cancelling = true;
	ps[(*n)++] = p;
}

/* client_cancel cancels flagged calls, then frees their pendings for
 * reuse; the caller does not hold cli->mu. */
static void client_cancel(struct rpc_client *cli, struct pending **ps, int n)
{
	int i;

	for (i = 0; i < n; i++)
		nng_aio_cancel(ps[i]->aio);
	pthread_mutex_lock(&cli->mu);
	for (i = 0; i < n; i++) {
		struct pending *p = ps[i];

		p->cancelling = false;
		if (p->parked) {
			p->parked = false;
			p->next = cli->freelist;
			cli->freelist = p;
		}
	}
	pthread_mutex_unlock(&cli->mu);
}

static void client_fail(struct pending *p, int status, const char *msg)
{
	struct rpc_reply r = {0};

	r.status = status;
	snprintf(r.message, sizeof(r.message), "%s", msg);
	client_finish(p, &r);
}

/* client_result hands an opened Result to its call (and frees it). */
static void client_result(struct pending *p, Namegen__V1__Result *res)
{
	struct rpc_client *cli = p->cli;
	struct rpc_reply r = {0};

	/* Errors raised before the worker could read the call carry no ids;
	 * anything else must answer exactly this call. */
	if ((res->client_id || res->call_id || (int)res->status == RPC_OK) &&
	    (res->client_id != cli->client_id || res->call_id != p->call_id)) {
		namegen__v1__result__free_unpacked(res, NULL);
		client_fail(p, RPC_INTERNAL,
			    "the worker answered a different call");
		return;
	}
	r.status = (int)res->status;
	snprintf(r.message, sizeof(r.message), "%s",
		 res->message ? res->message : "");
	r.retry_after_s = res->retry_after_s;
	if (r.status == RPC_OK) {
		r.body = protobuf_c_message_unpack(
		    p->method->output, NULL, res->body.len, res->body.data);
		if (!r.body) {
			r.status = RPC_INTERNAL;
			snprintf(r.message, sizeof(r.message),
				 "the worker's answer is not a valid %s",
				 p->method->output->short_name);
		}
	}
	namegen__v1__result__free_unpacked(res, NULL);
	client_finish(p, &r);
}

/* client_received checks, opens and unpacks an answer. */
static void client_received(struct pending *p, nng_msg *m)
{
	struct rpc_client *cli = p->cli;
	Namegen__V1__Result *res = NULL;
	char err[RPC_MESSAGE_MAX];
	int rv;

	if (nng_msg_len(m) > cli->max_message) {
		nng_msg_free(m);
		client_fail(p, RPC_INTERNAL,
			    "the worker's answer is too large");
		return;
	}
	rv = rpc_open(cli->have_key ? cli->key : NULL, nng_msg_body(m),
		      nng_msg_len(m), &namegen__v1__result__descriptor,
		      (ProtobufCMessage **)&res, err, sizeof(err));
	nng_msg_free(m);
	if (rv != 0) {
		client_fail(p, RPC_INTERNAL,
			    rv == RPC_UNAUTHENTICATED
				? "the worker's answer is not "
				  "authenticated (check RPC_SECRET)"
				: "the worker's answer is malformed");
		return;
	}
	client_result(p, res);
}

/* ------------------------------------------------------------ bundles */

/* client_members lists a carrier's members, the carrier last (it is
 * finished last: once recycled it may carry another call). */
static int client_members(struct pending *p, struct pending **all)
{
	struct pending *q;
	int n = 0;

	for (q = p->mnext; q && n < RPC_BUNDLE_MAX - 1; q = q->mnext)
		all[n++] = q;
	all[n++] = p;
	p->mnext = NULL;
	return n;
}

/* client_fail_all ends every call of a carrier with the same status. */
static void client_fail_all(struct pending *p, int status, const char *msg)
{
	struct pending *all[RPC_BUNDLE_MAX];
	int i, n = client_members(p, all);

	for (i = 0; i < n; i++)
		client_fail(all[i], status, msg);
}

/* client_received_bundle splits a bundle's answer among its calls, by
 * call id; a call the answer leaves out ends with RPC_UNAVAILABLE. */
static void client_received_bundle(struct pending *p, nng_msg *m)
{
	struct rpc_client *cli = p->cli;
	struct pending *all[RPC_BUNDLE_MAX];
	struct rpc_part parts[RPC_BUNDLE_MAX];
	Namegen__V1__Result *res;
	char err[RPC_MESSAGE_MAX];
	int n, k, i, j;

	/* Each answer is held to max_message by client_received; the whole
	 * bundle only to the transport's limit (RPC_TRANSPORT_MAX). */
	k = rpc_unbundle(nng_msg_body(m), nng_msg_len(m), parts,
			 RPC_BUNDLE_MAX, err, sizeof(err));
	if (k == 0) {
		/* One Result for the whole message: the worker refused it
		 * before it could read a call (too large, or a worker that
		 * does not know bundles). */
		struct rpc_reply r = {0};

		if (rpc_open(cli->have_key ? cli->key : NULL, nng_msg_body(m),
			     nng_msg_len(m), &namegen__v1__result__descriptor,
			     (ProtobufCMessage **)&res, err,
			     sizeof(err)) != 0) {
			nng_msg_free(m);
			client_fail_all(p, RPC_INTERNAL,
					"the worker's answer is malformed");
			return;
		}
		r.status = res->status != 0 && !res->call_id ? (int)res->status
							     : RPC_INTERNAL;
		snprintf(r.message, sizeof(r.message), "%s",
			 r.status != RPC_INTERNAL && res->message
			     ? res->message
			     : "the worker's answer is malformed");
		namegen__v1__result__free_unpacked(res, NULL);
		nng_msg_free(m);
		client_fail_all(p, r.status, r.message);
		return;
	}
	if (k < 0) {
		nng_msg_free(m);
		client_fail_all(p, RPC_INTERNAL,
				"the worker's answer is malformed");
		return;
	}
	n = client_members(p, all);
	for (i = 0; i < k; i++) {
		if (rpc_open(cli->have_key ? cli->key : NULL, parts[i].data,
			     parts[i].len, &namegen__v1__result__descriptor,
			     (ProtobufCMessage **)&res, err, sizeof(err)) != 0)
			continue;
		for (j = 0; j < n; j++)
			if (all[j] && res->client_id == cli->client_id &&
			    res->call_id == all[j]->call_id)
				break;
		if (j == n) {
			namegen__v1__result__free_unpacked(res, NULL);
			continue;
		}
		if (parts[i].len > cli->max_message) {
			namegen__v1__result__free_unpacked(res, NULL);
			client_fail(all[j], RPC_INTERNAL,
				    "the worker's answer is too large");
		} else {
			client_result(all[j], res);
		}
		all[j] = NULL;
	}
	nng_msg_free(m);
	for (j = 0; j < n; j++)
		if (all[j])
			client_fail(all[j], RPC_UNAVAILABLE,
				    "the worker did not answer this call");
}

static void client_flush(struct rpc_client *cli, struct pending *list);

/* client_take_queue takes the calls waiting for a bundle, as many as fit
 * in one; the caller holds cli->mu. */
static struct pending *client_take_queue(struct rpc_client *cli)
{
	struct pending *head = cli->bq_head, *last = NULL, *q;
	size_t bytes = 0;
	int n = 0;

	for (q = head; q && n < RPC_BUNDLE_MAX; q = q->mnext) {
		struct rpc_part part = {NULL, q->msg_len};

		bytes += rpc_bundle_size(&part, 1);
		if (n > 0 && bytes > cli->max_message)
			break;
		last = q;
		n++;
	}
	if (!last)
		return NULL;
	cli->bq_head = last->mnext;
	if (!cli->bq_head)
		cli->bq_tail = NULL;
	cli->bq_len -= n;
	last->mnext = NULL;
	return head;
}

/* client_window_release ends a windowed message in flight; when that
 * leaves room in the window, everything that waited goes, in bundles of
 * up to RPC_BUNDLE_MAX (a burst may so go past the window for a while).
 * It runs on nng's threads, never on a caller's: a flush may end calls
 * (no worker, deadline) and their done must not run inside the call. */
static void client_window_release(struct rpc_client *cli)
{
	struct pending *list;
	bool room;

	pthread_mutex_lock(&cli->mu);
	cli->bundle_inflight--;
	room = cli->bundle_inflight < cli->bundle_window;
	while (room && cli->bq_head) {
		list = client_take_queue(cli);
		cli->bundle_inflight++; /* each bundle's message counts */
		pthread_mutex_unlock(&cli->mu);
		client_flush(cli, list);
		pthread_mutex_lock(&cli->mu);
	}
	pthread_mutex_unlock(&cli->mu);
}

static void client_aio_done(void *arg)
{
	struct pending *p = arg;
	struct rpc_client *cli = p->cli;
	int rv = nng_aio_result(p->aio);

	if (rv == 0 && p->state == P_SEND) {
		/* Sent; the answer is next. A cancel (by close, the deadline
		 * or a lost connection) that came after the send ended found
		 * no operation to cancel, and the call would wait for its
		 * answer anyway. What the cancel leaves behind (closing, a
		 * fail status) is set under cli->mu, so it is looked for,
		 * and the receive started, under the same lock. */
		pthread_mutex_lock(&cli->mu);
		if (!p->cancelling && !p->fail_status && !cli->closing) {
			p->state = P_RECV;
			nng_ctx_recv(p->ctx, p->aio);
			pthread_mutex_unlock(&cli->mu);
			return;
		}
		pthread_mutex_unlock(&cli->mu);
		p->state = P_RECV; /* sent: the message is nng's, not ours */
		rv = NNG_ECANCELED;
	}
	/* The message ended (failed, or answered): calls waiting for a
	 * bundle go now, before this one's answer is handed out. */
	if (p->windowed && (rv != 0 || p->state == P_RECV)) {
		p->windowed = false;
		client_window_release(cli);
	}
	if (rv != 0) {
		int fail;

		if (p->state == P_SEND) {
			nng_msg *m = nng_aio_get_msg(p->aio);

			if (m)
				nng_msg_free(m);
		}
		pthread_mutex_lock(&cli->mu);
		fail = p->fail_status;
		pthread_mutex_unlock(&cli->mu);
		if (fail == RPC_DEADLINE_EXCEEDED)
			client_fail_all(p, fail,
					"the worker did not answer in time");
		else if (fail)
			client_fail_all(p, fail, "no worker is reachable");
		else if (rv == NNG_ETIMEDOUT)
			client_fail_all(p, RPC_DEADLINE_EXCEEDED,
					"the worker did not answer in time");
		else if (rv == NNG_ECANCELED || rv == NNG_ECLOSED)
			client_fail_all(p, RPC_CANCELLED,
					"the call was cancelled");
		else
			client_fail_all(p, RPC_UNAVAILABLE,
					"the worker could not be reached");
		return;
	}
	if (p->bundled)
		client_received_bundle(p, nng_aio_get_msg(p->aio));
	else
		client_received(p, nng_aio_get_msg(p->aio));
}

/* client_pipe_event counts connections; when the last one goes it wakes
 * the timer, which fails the calls in flight (nng would otherwise hold
 * them until a worker comes back or their deadline passes). It runs on
 * an nng thread that must not wait on nng, so it cancels nothing itself. */
static void client_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	struct rpc_client *cli = arg;

	(void)pipe;
	pthread_mutex_lock(&cli->mu);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&cli->pipes, 1);
		atomic_store(&cli->connected, true);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		if (atomic_fetch_sub(&cli->pipes, 1) == 1)
			pthread_cond_signal(&cli->timer_cv);
	}
	pthread_mutex_unlock(&cli->mu);
}

/* client_take_late takes the calls waiting for a bundle whose deadline
 * has passed, and lowers *next to the earliest deadline of the others;
 * the caller holds cli->mu. */
static struct pending *client_take_late(struct rpc_client *cli, int64_t now,
					int64_t *next)
{
	struct pending *late = NULL, **pp = &cli->bq_head, *q;

	cli->bq_tail = NULL;
	while ((q = *pp) != NULL) {
		if (q->deadline_ms <= now) {
			*pp = q->mnext;
			q->mnext = late;
			late = q;
			cli->bq_len--;
			continue;
		}
		if (q->deadline_ms < *next)
			*next = q->deadline_ms;
		cli->bq_tail = q;
		pp = &q->mnext;
	}
	return late;
}

/* client_fail_waiting ends calls that never left the queue (a chain
 * through mnext); the caller does not hold cli->mu. */
static void client_fail_waiting(struct pending *list, int status,
				const char *msg)
{
	struct pending *q;

	while ((q = list) != NULL) {
		list = q->mnext;
		q->mnext = NULL;
		nng_msg_free(q->msg);
		q->msg = NULL;
		client_fail(q, status, msg);
	}
}

/* client_timer cancels the calls whose deadline has passed (in flight, or
 * still waiting for a bundle), and every call in flight while
 * client_down() holds, and sends the calls that have waited
 * bundle_wait_ms for a bundle. It sleeps until the earliest of those
 * times (at most 100 ms, so a deadline of a call started meanwhile is
 * never late by more than that unless the call that started signals it);
 * a lost connection, or a call that starts the bundle queue, wakes it. A
 * cancel that nng does not see is caught by client_aio_done, and the call
 * stays listed meanwhile, so the next pass would flag it again. */
static void *client_timer(void *arg)
{
	struct rpc_client *cli = arg;
	struct pending *expired[64], *p, *late;
	struct timespec ts;
	int64_t now, next;
	bool down;
	int n;

	pthread_mutex_lock(&cli->mu);
	while (!cli->closing) {
		now = rpc_now_ms();
		next = now + 100;
		down = client_down(cli, now);
		n = 0;
		for (p = cli->inflight; p && n < 64; p = p->next) {
			if (p->cancelling)
				continue;
			if (p->deadline_ms <= now)
				client_flag(p, RPC_DEADLINE_EXCEEDED, expired,
					    &n);
			else if (down)
				client_flag(p, RPC_UNAVAILABLE, expired, &n);
			else if (p->deadline_ms < next) {
				next = p->deadline_ms;
			}
		}
		late = client_take_late(cli, now, &next);
		if (late) {
			pthread_mutex_unlock(&cli->mu);
			client_fail_waiting(
			    late, RPC_DEADLINE_EXCEEDED,
			    "the worker did not answer in time");
			pthread_mutex_lock(&cli->mu);
		}
		/* calls do not wait for room in the window for long: past
		 * bundle_wait_ms they go anyway, over the window */
		while (cli->bq_head &&
		       now - cli->bq_head->queued_ms >= cli->bundle_wait_ms) {
			struct pending *list = client_take_queue(cli);

			cli->bundle_inflight++;
			pthread_mutex_unlock(&cli->mu);
			client_flush(cli, list);
			pthread_mutex_lock(&cli->mu);
		}
		if (cli->bq_head &&
		    cli->bq_head->queued_ms + cli->bundle_wait_ms < next)
			next = cli->bq_head->queued_ms + cli->bundle_wait_ms;
		if (n > 0) {
			/* outside the lock: the callbacks take it */
			pthread_mutex_unlock(&cli->mu);
			client_cancel(cli, expired, n);
			pthread_mutex_lock(&cli->mu);
			if (n == 64)
				continue; /* more may be due */
			/* look again soon for a cancel that did not land */
			next = rpc_now_ms() + 5;
		}
		ts.tv_sec = (time_t)(next / 1000);
		ts.tv_nsec = (long)(next % 1000) * 1000000L;
		cli->timer_wake_ms = next;
		pthread_cond_timedwait(&cli->timer_cv, &cli->mu, &ts);
		cli->timer_wake_ms = INT64_MAX;
	}
	pthread_mutex_unlock(&cli->mu);
	return NULL;
}

int rpc_client_open(struct rpc_client **out,
		    const struct rpc_client_opts *opts, char *err,
		    size_t errlen)
{
	struct rpc_client *cli;
	nng_duration resend;
	const char *p;
	char url[512];
	int rv;

	*out = NULL;
	if (config_check_nng_urls(opts->urls, 0, err, errlen) < 0)
		return -1;
	cli = calloc(1, sizeof(*cli));
	if (!cli) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&cli->mu, NULL);
	pthread_cond_init(&cli->cv, NULL);
	pthread_cond_init(&cli->timer_cv, NULL);
	if (opts->key) {
		memcpy(cli->key, opts->key, RPC_KEY_BYTES);
		cli->have_key = true;
	}
	cli->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
	cli->max_message =
	    opts->max_message ? opts->max_message : RPC_MAX_MESSAGE_DEFAULT;
	randombytes_buf(&cli->client_id, sizeof(cli->client_id));
	atomic_init(&cli->next_call, 1);
	cli->opened_ms = rpc_now_ms();
	cli->grace_ms = opts->grace_ms == 0  ? CLIENT_GRACE_MS_DEFAULT
			: opts->grace_ms < 0 ? 0
					     : opts->grace_ms;
	cli->bundle_methods = opts->bundle_methods;
	cli->bundle_window = opts->bundle_window > 0 ? opts->bundle_window : 2;
	cli->bundle_wait_ms =
	    opts->bundle_wait_ms > 0 ? opts->bundle_wait_ms : 5;
	cli->timer_wake_ms = INT64_MAX;

	if ((rv = nng_req0_open(&cli->sock)) != 0) {
		snprintf(err, errlen, "cannot open a REQ socket: %s",
			 nng_strerror(rv));
		pthread_mutex_destroy(&cli->mu);
		pthread_cond_destroy(&cli->cv);
		pthread_cond_destroy(&cli->timer_cv);
		free(cli);
		return -1;
	}
	if (pthread_create(&cli->timer, NULL, client_timer, cli) != 0) {
		snprintf(err, errlen, "cannot start the client's timer");
		rpc_client_close(cli);
		return -1;
	}
	cli->timer_running = true;
	resend = opts->resend_ms == 0  ? 5000
		 : opts->resend_ms < 0 ? NNG_DURATION_INFINITE
				       : opts->resend_ms;
	nng_socket_set_ms(cli->sock, NNG_OPT_REQ_RESENDTIME, resend);
	nng_socket_set_ms(cli->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(cli->sock, NNG_OPT_RECONNMAXT, 2000);
	nng_socket_set_size(cli->sock, NNG_OPT_RECVMAXSZ,
			    cli->max_message > RPC_TRANSPORT_MAX
				? cli->max_message
				: RPC_TRANSPORT_MAX);
	nng_pipe_notify(cli->sock, NNG_PIPE_EV_ADD_POST, client_pipe_event,
			cli);
	nng_pipe_notify(cli->sock, NNG_PIPE_EV_REM_POST, client_pipe_event,
			cli);

	/* Dial every endpoint in the background: workers may start later. */
	for (p = opts->urls; *p;) {
		size_t n = strcspn(p, ",");

		snprintf(url, sizeof(url), "%.*s", (int)n, p);
		rv = nng_dial(cli->sock, url, NULL, NNG_FLAG_NONBLOCK);
		if (rv != 0) {
			snprintf(err, errlen, "cannot dial %s: %s", url,
				 nng_strerror(rv));
			rpc_client_close(cli);
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	*out = cli;
	return 0;
}

int rpc_client_connections(struct rpc_client *cli)
{
	return atomic_load(&cli->pipes);
}

void rpc_client_close(struct rpc_client *cli)
{
	struct pending *p, *queued, **cancel;
	int n = 0;

	if (!cli)
		return;
	pthread_mutex_lock(&cli->mu);
	cli->closing = true;
	pthread_cond_signal(&cli->timer_cv);
	cancel = calloc((size_t)cli->ninflight + 1, sizeof(*cancel));
	for (p = cli->inflight; p && cancel; p = p->next)
		if (!p->cancelling)
			client_flag(p, 0, cancel, &n);
	queued = cli->bq_head;
	cli->bq_head = cli->bq_tail = NULL;
	cli->bq_len = 0;
	pthread_mutex_unlock(&cli->mu);
	client_fail_waiting(queued, RPC_CANCELLED, "the call was cancelled");
	client_cancel(cli, cancel, n);
	free(cancel);

	pthread_mutex_lock(&cli->mu);
	while (cli->ninflight > 0)
		pthread_cond_wait(&cli->cv, &cli->mu);
	pthread_mutex_unlock(&cli->mu);
	if (cli->timer_running)
		pthread_join(cli->timer, NULL);

	/* No more pipe events into a client that is going away; then stop
	 * every aio and close every context before the socket itself. */
	nng_pipe_notify(cli->sock, NNG_PIPE_EV_ADD_POST, NULL, NULL);
	nng_pipe_notify(cli->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
	for (p = cli->freelist; p; p = p->next) {
		nng_aio_stop(p->aio);
		nng_ctx_close(p->ctx);
	}
	if (!rpc_socket_close(cli->sock, 2000))
		return; /* nng may still use the pendings: leave them be */
	while ((p = cli->freelist) != NULL) {
		cli->freelist = p->next;
		nng_aio_free(p->aio);
		free(p);
	}
	pthread_mutex_destroy(&cli->mu);
	pthread_cond_destroy(&cli->cv);
	pthread_cond_destroy(&cli->timer_cv);
	free(cli);
}

/* client_pending_take takes a pending from the free list; the caller
 * holds cli->mu. Returns NULL when the list is empty. */
static struct pending *client_pending_take(struct rpc_client *cli)
{
	struct pending *p = cli->freelist;

	if (p)
		cli->freelist = p->next;
	return p;
}

/* client_pending_new makes a pending with its aio and context; the caller
 * does not hold cli->mu. Returns NULL when nng is out of resources. */
static struct pending *client_pending_new(struct rpc_client *cli)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cli = cli;
	if (nng_aio_alloc(&p->aio, client_aio_done, p) != 0) {
		free(p);
		return NULL;
	}
	if (nng_ctx_open(&p->ctx, cli->sock) != 0) {
		nng_aio_free(p->aio);
		free(p);
		return NULL;
	}
	return p;
}

/* client_bundles tells whether calls of m are bundled. */
static bool client_bundles(const struct rpc_client *cli,
			   const ProtobufCMethodDescriptor *m)
{
	const char *const *b;

	for (b = cli->bundle_methods; b && *b; b++)
		if (strcmp(*b, m->name) == 0)
			return true;
	return false;
}

/* client_list puts p in flight; the caller holds cli->mu. */
static void client_list(struct rpc_client *cli, struct pending *p)
{
	p->prev = NULL;
	p->next = cli->inflight;
	if (cli->inflight)
		cli->inflight->prev = p;
	cli->inflight = p;
	p->listed = true;
	p->state = P_SEND;
	p->fail_status = 0;
	p->cancelling = p->parked = false;
}

/* client_flush sends calls that waited for a bundle (a chain through
 * mnext) in one message, carried by the first; the caller has counted
 * that message in cli->bundle_inflight. Calls past their deadline, or all
 * of them when no worker is reachable, end here instead. */
static void client_flush(struct rpc_client *cli, struct pending *list)
{
	struct rpc_part parts[RPC_BUNDLE_MAX];
	struct pending *q, *next, *keep = NULL, **tail = &keep;
	int64_t now = rpc_now_ms(), deadline = 0;
	bool down = client_down(cli, now);
	nng_msg *msg = NULL;
	int n = 0;

	for (q = list; q; q = next) {
		next = q->mnext;
		q->mnext = NULL;
		if (down || q->deadline_ms <= now || n == RPC_BUNDLE_MAX) {
			nng_msg_free(q->msg);
			q->msg = NULL;
			if (down)
				client_fail(q, RPC_UNAVAILABLE,
					    "no worker is reachable");
			else
				client_fail(q, RPC_DEADLINE_EXCEEDED,
					    "the worker did not answer in "
					    "time");
			continue;
		}
		*tail = q;
		tail = &q->mnext;
		parts[n].data = nng_msg_body(q->msg);
		parts[n].len = q->msg_len;
		n++;
		if (q->deadline_ms > deadline)
			deadline = q->deadline_ms;
	}
	if (n == 1) {
		msg = keep->msg;
		keep->msg = NULL;
		keep->bundled = false;
	} else if (n > 1) {
		if (rpc_bundle(parts, (size_t)n, &msg) != 0)
			msg = NULL;
		for (q = keep; q; q = q->mnext) {
			nng_msg_free(q->msg);
			q->msg = NULL;
		}
		keep->bundled = true;
	}
	pthread_mutex_lock(&cli->mu);
	if (!msg || cli->closing) {
		pthread_mutex_unlock(&cli->mu);
		client_window_release(cli);
		if (msg)
			nng_msg_free(msg);
		if (keep)
			client_fail_all(keep,
					msg ? RPC_CANCELLED : RPC_INTERNAL,
					msg ? "the call was cancelled"
					    : "the client is out of memory");
		return;
	}
	client_list(cli, keep);
	keep->deadline_ms = deadline;
	keep->windowed = true;
	pthread_mutex_unlock(&cli->mu);
	atomic_fetch_add_explicit(&cli->n_messages, 1, memory_order_relaxed);
	if (n > 1) {
		atomic_fetch_add_explicit(&cli->n_bundles, 1,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&cli->n_bundled_calls, (unsigned)n,
					  memory_order_relaxed);
	}
	nng_aio_set_msg(keep->aio, msg);
	nng_ctx_send(keep->ctx, keep->aio);
}

int rpc_client_call(struct rpc_client *cli,
		    const ProtobufCServiceDescriptor *svc,
		    const char *method_name, const ProtobufCMessage *req,
		    const struct rpc_meta *meta, size_t nmeta, int timeout_ms,
		    rpc_done_fn done, void *arg)
{
	Namegen__V1__Call env = NAMEGEN__V1__CALL__INIT;
	Namegen__V1__MetadataEntry entries[RPC_METADATA_MAX];
	Namegen__V1__MetadataEntry *eptrs[RPC_METADATA_MAX];
	const ProtobufCMethodDescriptor *m;
	char method[RPC_METHOD_MAX + 64];
	uint8_t stackbuf[2048];
	uint8_t *body;
	struct pending *p;
	nng_msg *msg;
	size_t len, i;
	int64_t now = rpc_now_ms();
	bool bundle;

	m = protobuf_c_service_descriptor_get_method_by_name(svc, method_name);
	if (!m || req->descriptor != m->input || nmeta > RPC_METADATA_MAX)
		return RPC_INVALID_ARGUMENT;
	if (timeout_ms <= 0)
		timeout_ms = cli->timeout_ms;

	if (client_down(cli, now))
		return RPC_UNAVAILABLE;

	/* Build and seal the Call. */
	len = protobuf_c_message_get_packed_size(req);
	if (len > cli->max_message)
		return RPC_INVALID_ARGUMENT;
	body = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	if (!body)
		return RPC_INTERNAL;
	protobuf_c_message_pack(req, body);
	snprintf(method, sizeof(method), "%s/%s", svc->short_name, m->name);
	env.method = method;
	env.client_id = cli->client_id;
	env.call_id = atomic_fetch_add(&cli->next_call, 1);
	env.deadline_ms = now + timeout_ms;
	env.body.data = body;
	env.body.len = len;
	for (i = 0; i < nmeta; i++) {
		namegen__v1__metadata_entry__init(&entries[i]);
		entries[i].key = (char *)meta[i].key;
		entries[i].value = (char *)meta[i].value;
		eptrs[i] = &entries[i];
	}
	env.n_metadata = nmeta;
	env.metadata = eptrs;
	i = (size_t)rpc_seal(cli->have_key ? cli->key : NULL, &env.base, &msg);
	if (body != stackbuf)
		free(body);
	if (i != 0)
		return RPC_INTERNAL;
	if (nng_msg_len(msg) > cli->max_message) {
		nng_msg_free(msg);
		return RPC_INVALID_ARGUMENT;
	}

	/* One lock for taking a pending and listing it in flight. */
	bundle = client_bundles(cli, m);
	pthread_mutex_lock(&cli->mu);
	if (cli->closing) {
		pthread_mutex_unlock(&cli->mu);
		nng_msg_free(msg);
		return RPC_CANCELLED;
	}
	/* again under the lock: the last connection may have gone since */
	if (client_down(cli, rpc_now_ms())) {
		pthread_mutex_unlock(&cli->mu);
		nng_msg_free(msg);
		return RPC_UNAVAILABLE;
	}
	p = client_pending_take(cli);
	if (!p) {
		pthread_mutex_unlock(&cli->mu);
		p = client_pending_new(cli);
		if (!p) {
			nng_msg_free(msg);
			return RPC_INTERNAL;
		}
		pthread_mutex_lock(&cli->mu);
	}
	cli->ninflight++;
	p->method = m;
	p->call_id = env.call_id;
	p->deadline_ms = env.deadline_ms;
	p->done = done;
	p->arg = arg;
	p->windowed = p->bundled = false;
	p->mnext = NULL;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	if (bundle &&
	    (cli->bq_head || cli->bundle_inflight >= cli->bundle_window)) {
		/* wait for a bundle: client_window_release sends it */
		p->listed = false;
		p->msg = msg;
		p->msg_len = nng_msg_len(msg);
		p->queued_ms = rpc_now_ms();
		if (cli->bq_tail) {
			cli->bq_tail->mnext = p;
		} else {
			/* the timer sends the queue when its first call has
			 * waited bundle_wait_ms: woken only when it would
			 * otherwise look later than that */
			cli->bq_head = p;
			if (p->queued_ms + cli->bundle_wait_ms <
			    cli->timer_wake_ms)
				pthread_cond_signal(&cli->timer_cv);
		}
		cli->bq_tail = p;
		cli->bq_len++;
		if (timeout_ms < 100)
			pthread_cond_signal(&cli->timer_cv);
		pthread_mutex_unlock(&cli->mu);
		return 0;
	}
	client_list(cli, p);
	if (bundle) {
		p->windowed = true;
		cli->bundle_inflight++;
	}
	/* wake the timer when this deadline is sooner than its next look */
	if (timeout_ms < 100)
		pthread_cond_signal(&cli->timer_cv);
	pthread_mutex_unlock(&cli->mu);
	atomic_fetch_add_explicit(&cli->n_messages, 1, memory_order_relaxed);

	nng_aio_set_msg(p->aio, msg);
	nng_ctx_send(p->ctx, p->aio);
	return 0;
}

void rpc_client_get_stats(struct rpc_client *cli, struct rpc_client_stats *out)
{
	out->messages = atomic_load(&cli->n_messages);
	out->bundles = atomic_load(&cli->n_bundles);
	out->bundled_calls = atomic_load(&cli->n_bundled_calls);
}

/* ------------------------------------------------------- synchronous */

struct sync_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	struct rpc_reply *out;
};

static void sync_done(void *arg, struct rpc_reply *r)
{
	struct sync_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	*w->out = *r;
	r->body = NULL; /* taken */
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int rpc_client_call_sync(struct rpc_client *cli,
			 const ProtobufCServiceDescriptor *svc,
			 const char *method_name, const ProtobufCMessage *req,
			 const struct rpc_meta *meta, size_t nmeta,
			 int timeout_ms, struct rpc_reply *out)
{
	struct sync_wait w = {.done = false, .out = out};
	int rv;

	memset(out, 0, sizeof(*out));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	rv = rpc_client_call(cli, svc, method_name, req, meta, nmeta,
			     timeout_ms, sync_done, &w);
	if (rv != 0) {
		out->status = rv;
		snprintf(out->message, sizeof(out->message), "%s",
			 rv == RPC_UNAVAILABLE ? "no worker is reachable"
					       : "the call could not be sent");
	} else {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
	}
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return out->status;
}

void rpc_reply_clear(struct rpc_reply *reply)
{
	if (reply->body)
		protobuf_c_message_free_unpacked(reply->body, NULL);
	reply->body = NULL;
}
