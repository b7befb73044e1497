/* rpc_server.c - a worker serving one protobuf-c service over nng REP.
 *
 * Each REP context runs a small state machine driven by its aio:
 *   RECV  waiting for a message (nng thread calls server_recv_done)
 *   WORK  the call is queued or in a handler (our threads)
 *   SEND  the answer is being sent (server_send_done re-arms RECV)
 *   IDLE  stopped (draining or closed)
 * Decoding, MAC and deadline checks happen in the receive callback; they
 * never block. Handlers run on the server's threads, taken from a bounded
 * queue, because nng's callbacks must not block.
 *
 * A bundle (several sealed calls in one message, rpc_envelope.h) holds its
 * context in WORK until every call in it is answered: each answer goes to
 * its slot of the struct rpc_bundle, and whoever fills the last slot sends
 * them all as one bundle. A call of a bundle is otherwise handled exactly
 * as a call on its own: checks, dedup, deadline, inline or pool. */
#include "common/rpc_server.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/log.h"
#include "common/rpc_dedup.h"
#include "common/rpc_envelope.h"
#include "common/rpc_socket.h"
#include "namegen.pb-c.h"

enum ctx_state { CTX_RECV, CTX_WORK, CTX_SEND, CTX_IDLE };

struct rpc_ctx {
	struct rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	atomic_int state; /* enum ctx_state */
	bool opened;
};

/* The answers of a bundle being gathered. */
struct rpc_bundle {
	atomic_uint remaining; /* slots not yet filled */
	unsigned n;
	nng_msg *answers[]; /* sealed Results; NULL: left unanswered */
};

struct rpc_call {
	struct rpc_server *srv;
	struct rpc_ctx *rctx;	   /* where the answer goes */
	struct rpc_bundle *bundle; /* or NULL for a call on its own */
	unsigned slot;		   /* its place in the bundle */
	Namegen__V1__Call *env;	   /* the unpacked Call (owns metadata) */
	ProtobufCMessage *req;	   /* the unpacked request body */
	unsigned method_index;
	uint32_t retry_after_s;
	atomic_int completed;
	struct timespec started;
	char request_id[64];
	struct rpc_call *next; /* in the work queue */
};

struct rpc_server {
	struct rpc_server_opts opts;
	uint8_t key[RPC_KEY_BYTES];
	bool have_key;
	nng_socket sock;
	nng_listener listener;
	bool sock_open;
	struct rpc_ctx *ctxs;
	int nctx;
	struct rpc_dedup *dedup;
	uint64_t inline_mask; /* bit i: method i runs on nng's thread */

	/* The hot path (receive, answer) touches only atomics; the mutex
	 * guards the work queue. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* work queued or stopping */
	struct rpc_call *qhead, *qtail;
	int qlen;
	atomic_int busy; /* contexts in WORK or SEND */
	atomic_bool draining;
	bool stopping; /* under mu */
	pthread_t *threads;
	int nthreads;

	_Atomic uint64_t n_received, n_bundles, n_handled, n_replayed,
	    n_rejected, n_expired, n_overloaded;
};

static void server_arm_recv(struct rpc_ctx *c);

/* ---------------------------------------------------------- answering */

/* server_send sends m on c (taking ownership of m), or frees it and goes
 * back to receiving when the send cannot start. */
static void server_send(struct rpc_ctx *c, nng_msg *m)
{
	atomic_store(&c->state, CTX_SEND);
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
}

/* server_deliver hands the sealed answer m (NULL for none) of a call to
 * where it goes: sent on c for a call on its own, else put in its slot of
 * bundle b, and the whole bundle sent once its last slot is filled. */
static void server_deliver(struct rpc_ctx *c, struct rpc_bundle *b,
			   unsigned slot, nng_msg *m)
{
	struct rpc_part parts[RPC_BUNDLE_MAX];
	nng_msg *out = NULL;
	unsigned i, n = 0;

	if (!b) {
		server_send(c, m);
		return;
	}
	b->answers[slot] = m;
	if (atomic_fetch_sub(&b->remaining, 1) != 1)
		return;
	for (i = 0; i < b->n; i++)
		if (b->answers[i]) {
			parts[n].data = nng_msg_body(b->answers[i]);
			parts[n].len = nng_msg_len(b->answers[i]);
			n++;
		}
	if (n > 0 && rpc_bundle(parts, n, &out) != 0)
		log_error("cannot build an answer", "reason=out_of_memory");
	for (i = 0; i < b->n; i++)
		if (b->answers[i])
			nng_msg_free(b->answers[i]);
	free(b);
	if (out) {
		server_send(c, out);
		return;
	}
	/* Nothing to send: every call was a resend of one still running
	 * (that one answers), or memory ran out (the caller's deadline
	 * answers). */
	atomic_fetch_sub(&c->srv->busy, 1);
	server_arm_recv(c);
}

/* server_answer seals a Result and delivers it (server_deliver). When
 * dedup is set, the sealed bytes are kept for a resend of the same
 * call. */
static void server_answer(struct rpc_ctx *c, struct rpc_bundle *b,
			  unsigned slot, uint64_t client_id, uint64_t call_id,
			  int status, const char *message,
			  uint32_t retry_after, const uint8_t *body,
			  size_t body_len, bool dedup)
{
	struct rpc_server *srv = c->srv;
	Namegen__V1__Result res = NAMEGEN__V1__RESULT__INIT;
	nng_msg *m;

	res.client_id = client_id;
	res.call_id = call_id;
	res.status = (Namegen__V1__Status)status;
	res.message = (char *)(message ? message : "");
	res.retry_after_s = retry_after;
	res.body.data = (uint8_t *)body;
	res.body.len = body_len;
	if (rpc_seal(srv->have_key ? srv->key : NULL, &res.base, &m) != 0) {
		/* Out of memory: the caller's deadline will answer for us. */
		log_error("cannot build an answer", "reason=out_of_memory");
		if (dedup)
			rpc_dedup_finish(srv->dedup, client_id, call_id, NULL,
					 RPC_DEDUP_REPLY_MAX + 1);
		if (b) {
			server_deliver(c, b, slot, NULL);
			return;
		}
		atomic_fetch_sub(&srv->busy, 1);
		server_arm_recv(c);
		return;
	}
	if (dedup)
		rpc_dedup_finish(srv->dedup, client_id, call_id,
				 nng_msg_body(m), nng_msg_len(m));
	server_deliver(c, b, slot, m);
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* call_complete answers a call once and frees it. */
static void call_complete(struct rpc_call *call, int status,
			  const char *message, const ProtobufCMessage *reply)
{
	struct rpc_server *srv = call->srv;
	const ProtobufCMethodDescriptor *m =
	    &srv->opts.service->descriptor->methods[call->method_index];
	uint8_t stackbuf[1024];
	uint8_t *body = NULL;
	size_t len = 0;
	char qmsg[RPC_MESSAGE_MAX + 16];

	if (atomic_exchange(&call->completed, 1)) {
		log_error("call completed twice", "method=%s request_id=%s",
			  m->name, rpc_call_request_id(call));
		return;
	}
	if (status == RPC_OK && reply) {
		len = protobuf_c_message_get_packed_size(reply);
		body = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
		if (!body) {
			status = RPC_INTERNAL;
			message = "the worker ran out of memory";
			len = 0;
		} else {
			protobuf_c_message_pack(reply, body);
		}
	}
	log_info("call", "method=%s status=%s ms=%.2f request_id=%s%s%s",
		 m->name, rpc_status_name(status), elapsed_ms(&call->started),
		 rpc_call_request_id(call), status != RPC_OK ? " error=" : "",
		 status != RPC_OK
		     ? log_quote(qmsg, sizeof(qmsg), message ? message : "")
		     : "");
	server_answer(call->rctx, call->bundle, call->slot,
		      call->env->client_id, call->env->call_id, status,
		      message, call->retry_after_s, body, len, true);
	if (body && body != stackbuf)
		free(body);
	protobuf_c_message_free_unpacked(call->req, NULL);
	namegen__v1__call__free_unpacked(call->env, NULL);
	free(call);
}

/* The closure protobuf-c hands to a handler: success with a reply. */
static void server_closure(const ProtobufCMessage *reply, void *closure_data)
{
	struct rpc_call *call = closure_data;

	if (!reply) {
		call_complete(call, RPC_INTERNAL, "the worker failed", NULL);
		return;
	}
	call_complete(call, RPC_OK, NULL, reply);
}

void rpc_call_fail(struct rpc_call *call, int status, const char *fmt, ...)
{
	char msg[RPC_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == RPC_OK)
		status = RPC_UNKNOWN; /* a failure is never OK */
	call_complete(call, status, msg, NULL);
}

void rpc_call_set_retry_after(struct rpc_call *call, uint32_t seconds)
{
	call->retry_after_s = seconds;
}

const char *rpc_call_metadata(const struct rpc_call *call, const char *key)
{
	size_t i;

	for (i = 0; i < call->env->n_metadata; i++)
		if (strcmp(call->env->metadata[i]->key, key) == 0)
			return call->env->metadata[i]->value;
	return NULL;
}

const char *rpc_call_method(const struct rpc_call *call)
{
	return call->srv->opts.service->descriptor->methods[call->method_index]
	    .name;
}

int64_t rpc_call_deadline_ms(const struct rpc_call *call)
{
	return call->env->deadline_ms;
}

bool rpc_call_expired(const struct rpc_call *call)
{
	return rpc_now_ms() > call->env->deadline_ms;
}

const char *rpc_call_request_id(const struct rpc_call *call)
{
	struct rpc_call *c =
	    (struct rpc_call *)call; /* a cache, filled once */
	const char *rid;

	/* Made on first use: most calls are never logged below info. */
	if (c->request_id[0])
		return c->request_id;
	rid = rpc_call_metadata(call, RPC_META_REQUEST_ID);
	if (rid)
		log_quote(c->request_id, sizeof(c->request_id), rid);
	else
		snprintf(c->request_id, sizeof(c->request_id), "%016llx-%llu",
			 (unsigned long long)call->env->client_id,
			 (unsigned long long)call->env->call_id);
	return c->request_id;
}

/* ---------------------------------------------------------- receiving */

/* server_hold marks c as working on an answer (a bundle is held once,
 * for all its calls). */
static void server_hold(struct rpc_ctx *c, struct rpc_bundle *b)
{
	if (b)
		return;
	atomic_fetch_add(&c->srv->busy, 1);
	atomic_store(&c->state, CTX_WORK);
}

/* server_reject answers a message that never became a call. */
static void server_reject(struct rpc_ctx *c, struct rpc_bundle *b,
			  unsigned slot, const Namegen__V1__Call *env,
			  int status, const char *why)
{
	struct rpc_server *srv = c->srv;
	char q[RPC_MESSAGE_MAX + 16];

	atomic_fetch_add(&srv->n_rejected, 1);
	log_warn("call refused", "status=%s reason=%s",
		 rpc_status_name(status), log_quote(q, sizeof(q), why));
	server_hold(c, b);
	server_answer(c, b, slot, env ? env->client_id : 0,
		      env ? env->call_id : 0, status, why, 0, NULL, 0, false);
}

/* server_find_method maps "Service/Method" to the method's index. */
static int server_find_method(const ProtobufCServiceDescriptor *sd,
			      const char *name, unsigned *index)
{
	const char *slash = strchr(name, '/');
	const ProtobufCMethodDescriptor *m;
	size_t svc_len;

	if (!slash)
		return -1;
	svc_len = (size_t)(slash - name);
	if (strlen(sd->short_name) != svc_len ||
	    strncmp(sd->short_name, name, svc_len) != 0)
		return -1;
	m = protobuf_c_service_descriptor_get_method_by_name(sd, slash + 1);
	if (!m)
		return -1;
	*index = (unsigned)(m - sd->methods);
	return 0;
}

/* server_take_one handles one sealed call, on its own (b NULL) or in
 * slot of bundle b: checks, dedup, queueing. */
static void server_take_one(struct rpc_ctx *c, struct rpc_bundle *b,
			    unsigned slot, const uint8_t *data, size_t len)
{
	struct rpc_server *srv = c->srv;
	const ProtobufCServiceDescriptor *sd = srv->opts.service->descriptor;
	Namegen__V1__Call *env = NULL;
	ProtobufCMessage *req = NULL;
	struct rpc_call *call;
	char err[RPC_MESSAGE_MAX];
	void *cached;
	size_t cached_len;
	unsigned mi;
	int rv;

	rv = rpc_open(srv->have_key ? srv->key : NULL, data, len,
		      &namegen__v1__call__descriptor,
		      (ProtobufCMessage **)&env, err, sizeof(err));
	if (rv != 0) {
		server_reject(c, b, slot, NULL, rv, err);
		return;
	}

	if (env->deadline_ms > 0 && rpc_now_ms() > env->deadline_ms) {
		atomic_fetch_add(&srv->n_expired, 1);
		server_reject(c, b, slot, env, RPC_DEADLINE_EXCEEDED,
			      "the call's deadline passed before it was "
			      "handled");
		goto drop;
	}
	if (env->n_metadata > RPC_METADATA_MAX) {
		server_reject(c, b, slot, env, RPC_INVALID_ARGUMENT,
			      "the call carries too many metadata entries");
		goto drop;
	}
	if (server_find_method(sd, env->method, &mi) != 0) {
		snprintf(err, sizeof(err), "%s has no method \"%.64s\"",
			 sd->short_name, env->method);
		server_reject(c, b, slot, env, RPC_UNIMPLEMENTED, err);
		goto drop;
	}

	/* A resent call: answer it again, or let the first copy answer. */
	rv = rpc_dedup_begin(srv->dedup, env->client_id, env->call_id, &cached,
			     &cached_len);
	if (rv == RPC_DEDUP_DONE) {
		nng_msg *m;

		atomic_fetch_add(&srv->n_replayed, 1);
		namegen__v1__call__free_unpacked(env, NULL);
		if (nng_msg_alloc(&m, cached_len) != 0) {
			free(cached);
			if (b)
				server_deliver(c, b, slot, NULL);
			else
				server_arm_recv(c);
			return;
		}
		memcpy(nng_msg_body(m), cached, cached_len);
		free(cached);
		server_hold(c, b);
		server_deliver(c, b, slot, m);
		return;
	}
	if (rv == RPC_DEDUP_RUNNING) {
		/* the first copy answers */
		atomic_fetch_add(&srv->n_replayed, 1);
		namegen__v1__call__free_unpacked(env, NULL);
		if (b)
			server_deliver(c, b, slot, NULL);
		else
			server_arm_recv(c);
		return;
	}

	req = protobuf_c_message_unpack(sd->methods[mi].input, NULL,
					env->body.len, env->body.data);
	if (!req) {
		snprintf(err, sizeof(err), "the body is not a valid %s",
			 sd->methods[mi].input->short_name);
		/* forget the call so a corrected resend is not refused */
		rpc_dedup_finish(srv->dedup, env->client_id, env->call_id,
				 NULL, RPC_DEDUP_REPLY_MAX + 1);
		server_reject(c, b, slot, env, RPC_INVALID_ARGUMENT, err);
		goto drop;
	}

	call = calloc(1, sizeof(*call));
	if (!call) {
		rpc_dedup_finish(srv->dedup, env->client_id, env->call_id,
				 NULL, RPC_DEDUP_REPLY_MAX + 1);
		protobuf_c_message_free_unpacked(req, NULL);
		server_reject(c, b, slot, env, RPC_RESOURCE_EXHAUSTED,
			      "the worker is out of memory");
		goto drop;
	}
	call->srv = srv;
	call->rctx = c;
	call->bundle = b;
	call->slot = slot;
	call->env = env;
	call->req = req;
	call->method_index = mi;
	clock_gettime(CLOCK_MONOTONIC, &call->started);
	atomic_fetch_add(&srv->n_received, 1);

	if (srv->opts.inline_handlers ||
	    (mi < 64 && (srv->inline_mask >> mi & 1))) {
		server_hold(c, b);
		atomic_fetch_add(&srv->n_handled, 1);
		srv->opts.service->invoke(srv->opts.service, mi, req,
					  server_closure, call);
		return;
	}

	/* Queue it for a handler thread, unless the queue is full. */
	server_hold(c, b);
	pthread_mutex_lock(&srv->mu);
	if (srv->qlen >= srv->opts.queue_max) {
		pthread_mutex_unlock(&srv->mu);
		atomic_fetch_add(&srv->n_overloaded, 1);
		call->retry_after_s = 1;
		call_complete(call, RPC_RESOURCE_EXHAUSTED,
			      "the worker is overloaded; retry shortly", NULL);
		return;
	}
	if (srv->qtail)
		srv->qtail->next = call;
	else
		srv->qhead = call;
	srv->qtail = call;
	srv->qlen++;
	pthread_cond_signal(&srv->work_cv);
	pthread_mutex_unlock(&srv->mu);
	return;

drop:
	namegen__v1__call__free_unpacked(env, NULL);
}

/* server_take handles one received message: a call on its own or a
 * bundle of them. */
static void server_take(struct rpc_ctx *c, nng_msg *msg)
{
	struct rpc_server *srv = c->srv;
	struct rpc_part parts[RPC_BUNDLE_MAX];
	struct rpc_bundle *b;
	char err[RPC_MESSAGE_MAX];
	size_t len = nng_msg_len(msg);
	int n, i;

	if (len > srv->opts.max_message) {
		nng_msg_free(msg);
		snprintf(err, sizeof(err),
			 "the message of %zu bytes exceeds "
			 "the limit of %zu bytes",
			 len, srv->opts.max_message);
		server_reject(c, NULL, 0, NULL, RPC_RESOURCE_EXHAUSTED, err);
		return;
	}
	n = rpc_unbundle(nng_msg_body(msg), len, parts, RPC_BUNDLE_MAX, err,
			 sizeof(err));
	if (n == 0) {
		server_take_one(c, NULL, 0, nng_msg_body(msg), len);
		nng_msg_free(msg);
		return;
	}
	b = n > 0 ? calloc(1, sizeof(*b) + (size_t)n * sizeof(nng_msg *))
		  : NULL;
	if (!b) {
		nng_msg_free(msg);
		server_reject(c, NULL, 0, NULL,
			      n < 0 ? RPC_INVALID_ARGUMENT
				    : RPC_RESOURCE_EXHAUSTED,
			      n < 0 ? err : "the worker is out of memory");
		return;
	}
	atomic_fetch_add(&srv->n_bundles, 1);
	b->n = (unsigned)n;
	atomic_init(&b->remaining, (unsigned)n);
	server_hold(c, NULL);
	/* b may be sent and freed within the last call (when every call of
	 * it is answered at once), so it is not touched after the loop */
	for (i = 0; i < n; i++)
		server_take_one(c, b, (unsigned)i, parts[i].data,
				parts[i].len);
	nng_msg_free(msg);
}

static void server_arm_recv(struct rpc_ctx *c)
{
	if (atomic_load(&c->srv->draining)) {
		atomic_store(&c->state, CTX_IDLE);
		return;
	}
	atomic_store(&c->state, CTX_RECV);
	nng_ctx_recv(c->ctx, c->aio);
}

/* server_aio_done runs on an nng thread when a receive or send ends. */
static void server_aio_done(void *arg)
{
	struct rpc_ctx *c = arg;
	struct rpc_server *srv = c->srv;
	int rv = nng_aio_result(c->aio);

	if (atomic_load(&c->state) == CTX_SEND) {
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(c->aio);

			if (m)
				nng_msg_free(m);
		}
		atomic_fetch_sub(&srv->busy, 1);
		if (rv == NNG_ECLOSED) {
			atomic_store(&c->state, CTX_IDLE);
			return;
		}
		server_arm_recv(c);
		return;
	}

	/* A receive ended. */
	if (rv != 0) {
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
			atomic_store(&c->state, CTX_IDLE);
			return;
		}
		server_arm_recv(c);
		return;
	}
	server_take(c, nng_aio_get_msg(c->aio));
}

/* ---------------------------------------------------------- handlers */

static void *server_thread(void *arg)
{
	struct rpc_server *srv = arg;
	struct rpc_call *call;

	for (;;) {
		pthread_mutex_lock(&srv->mu);
		while (!srv->qhead && !srv->stopping)
			pthread_cond_wait(&srv->work_cv, &srv->mu);
		call = srv->qhead;
		if (!call) {
			pthread_mutex_unlock(&srv->mu);
			return NULL;
		}
		srv->qhead = call->next;
		if (!srv->qhead)
			srv->qtail = NULL;
		srv->qlen--;
		pthread_mutex_unlock(&srv->mu);

		/* It may have waited in the queue past its deadline. */
		if (call->env->deadline_ms > 0 && rpc_call_expired(call)) {
			atomic_fetch_add(&srv->n_expired, 1);
			call_complete(call, RPC_DEADLINE_EXCEEDED,
				      "the call's deadline passed while it "
				      "was queued",
				      NULL);
			continue;
		}
		atomic_fetch_add(&srv->n_handled, 1);
		srv->opts.service->invoke(srv->opts.service,
					  call->method_index, call->req,
					  server_closure, call);
	}
}

/* ---------------------------------------------------------- lifecycle */

int rpc_server_start(struct rpc_server **out,
		     const struct rpc_server_opts *opts, char *err,
		     size_t errlen)
{
	struct rpc_server *srv;
	int rv, i;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	srv->opts = *opts;
	if (srv->opts.contexts <= 0)
		srv->opts.contexts = 64;
	if (srv->opts.inline_handlers)
		srv->opts.threads = 0;
	else if (srv->opts.threads <= 0)
		srv->opts.threads = 2;
	if (srv->opts.queue_max <= 0)
		srv->opts.queue_max = 1024;
	if (srv->opts.max_message == 0)
		srv->opts.max_message = RPC_MAX_MESSAGE_DEFAULT;
	if (srv->opts.dedup_entries <= 0)
		srv->opts.dedup_entries = 1024;
	for (i = 0; opts->inline_methods && opts->inline_methods[i]; i++) {
		const ProtobufCServiceDescriptor *sd =
		    opts->service->descriptor;
		const ProtobufCMethodDescriptor *m =
		    protobuf_c_service_descriptor_get_method_by_name(
			sd, opts->inline_methods[i]);
		unsigned mi = m ? (unsigned)(m - sd->methods) : 64;

		if (mi >= 64) {
			snprintf(err, errlen,
				 "%s has no method \"%s\" to run "
				 "inline",
				 sd->short_name, opts->inline_methods[i]);
			free(srv);
			return -1;
		}
		srv->inline_mask |= (uint64_t)1 << mi;
	}
	srv->opts.inline_methods = NULL; /* the caller's array may go */
	if (opts->key) {
		memcpy(srv->key, opts->key, RPC_KEY_BYTES);
		srv->have_key = true;
	}
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->work_cv, NULL);

	srv->dedup = rpc_dedup_new((size_t)srv->opts.dedup_entries);
	srv->ctxs = calloc((size_t)srv->opts.contexts, sizeof(*srv->ctxs));
	srv->threads =
	    calloc((size_t)srv->opts.threads, sizeof(*srv->threads));
	if (!srv->dedup || !srv->ctxs || !srv->threads) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	if ((rv = nng_rep0_open(&srv->sock)) != 0) {
		snprintf(err, errlen, "cannot open a REP socket: %s",
			 nng_strerror(rv));
		goto fail;
	}
	srv->sock_open = true;
	/* Anything beyond this is dropped by the transport (the connection
	 * closes); up to it, oversized calls get an answer. */
	nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ,
			    srv->opts.max_message > RPC_TRANSPORT_MAX
				? srv->opts.max_message
				: RPC_TRANSPORT_MAX);

	for (i = 0; i < srv->opts.threads; i++) {
		if (pthread_create(&srv->threads[i], NULL, server_thread,
				   srv) != 0) {
			snprintf(err, errlen, "cannot start handler threads");
			goto fail;
		}
		srv->nthreads++;
	}
	for (i = 0; i < srv->opts.contexts; i++) {
		struct rpc_ctx *c = &srv->ctxs[i];

		c->srv = srv;
		atomic_init(&c->state, CTX_IDLE);
		if ((rv = nng_aio_alloc(&c->aio, server_aio_done, c)) != 0 ||
		    (rv = nng_ctx_open(&c->ctx, srv->sock)) != 0) {
			snprintf(err, errlen, "cannot open REP contexts: %s",
				 nng_strerror(rv));
			goto fail;
		}
		c->opened = true;
		srv->nctx++;
	}
	if ((rv = nng_listen(srv->sock, opts->url, &srv->listener, 0)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", opts->url,
			 nng_strerror(rv));
		goto fail;
	}
	for (i = 0; i < srv->nctx; i++)
		server_arm_recv(&srv->ctxs[i]);
	*out = srv;
	return 0;
fail:
	rpc_server_free(srv);
	return -1;
}

int rpc_server_drain(struct rpc_server *srv, int timeout_ms)
{
	struct timespec tick = {0, 10 * 1000000L};
	int i, waited;

	atomic_store(&srv->draining, true);
	/* Stop the receives; contexts with a call finish it first. A
	 * context may leave RECV between the check and the cancel; the
	 * cancel then hits its send, and that caller retries elsewhere. */
	for (i = 0; i < srv->nctx; i++)
		if (atomic_load(&srv->ctxs[i].state) == CTX_RECV)
			nng_aio_cancel(srv->ctxs[i].aio);

	/* Polled: draining happens once per process life. */
	for (waited = 0; atomic_load(&srv->busy) > 0 && waited < timeout_ms;
	     waited += 10)
		nanosleep(&tick, NULL);
	return atomic_load(&srv->busy);
}

void rpc_server_free(struct rpc_server *srv)
{
	struct rpc_call *call;
	int i;

	if (!srv)
		return;
	atomic_store(&srv->draining, true);
	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->work_cv);
	pthread_mutex_unlock(&srv->mu);
	for (i = 0; i < srv->nthreads; i++)
		pthread_join(srv->threads[i], NULL);

	/* Stop every context's operation and close the contexts before the
	 * socket: nng 1.5.2's nng_close could otherwise wait forever on a
	 * context whose answer was still being sent (seen in a stress test
	 * that frees a server right after a drain). */
	for (i = 0; i < srv->opts.contexts && srv->ctxs; i++) {
		struct rpc_ctx *c = &srv->ctxs[i];

		if (c->aio)
			nng_aio_stop(c->aio);
		if (c->opened)
			nng_ctx_close(c->ctx);
	}
	if (srv->sock_open && !rpc_socket_close(srv->sock, 2000))
		return; /* nng may still use the contexts: leave them be */
	for (i = 0; i < srv->opts.contexts && srv->ctxs; i++)
		if (srv->ctxs[i].aio)
			nng_aio_free(srv->ctxs[i].aio);
	/* Calls queued but never handled. */
	while ((call = srv->qhead) != NULL) {
		srv->qhead = call->next;
		protobuf_c_message_free_unpacked(call->req, NULL);
		namegen__v1__call__free_unpacked(call->env, NULL);
		free(call);
	}
	rpc_dedup_free(srv->dedup);
	free(srv->ctxs);
	free(srv->threads);
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->work_cv);
	free(srv);
}

int rpc_server_bound_port(struct rpc_server *srv)
{
	int port;

	if (nng_listener_get_int(srv->listener, NNG_OPT_TCP_BOUND_PORT,
				 &port) != 0)
		return -1;
	return port;
}

void rpc_server_get_stats(struct rpc_server *srv, struct rpc_server_stats *out)
{
	out->received = atomic_load(&srv->n_received);
	out->bundles = atomic_load(&srv->n_bundles);
	out->handled = atomic_load(&srv->n_handled);
	out->replayed = atomic_load(&srv->n_replayed);
	out->rejected = atomic_load(&srv->n_rejected);
	out->expired = atomic_load(&srv->n_expired);
	out->overloaded = atomic_load(&srv->n_overloaded);
}
