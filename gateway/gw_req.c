/* gw_req.c - one HTTP request on its way through the gateway. */
#include "gateway/gw_req.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/gw_error.h"
#include "namegen.pb-c.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* method_metric returns the label index of svc/method: model methods
 * first, then auth methods, as gw_http registers them. */
static int method_metric(const ProtobufCServiceDescriptor *svc,
			 const char *method)
{
	unsigned i, base = 0;

	if (svc == &namegen__v1__auth_service__descriptor)
		base = namegen__v1__model_service__descriptor.n_methods;
	for (i = 0; i < svc->n_methods; i++)
		if (strcmp(svc->methods[i].name, method) == 0)
			return (int)(base + i);
	return -1;
}

/* call_done runs on an nng thread when a call ends: keep the reply and
 * resume the connection when it was the last of the round. */
static void call_done(void *arg, struct rpc_reply *reply)
{
	struct gw_req_slot *s = arg;
	struct gw_req *r = s->req;

	s->status = reply->status;
	snprintf(s->message, sizeof(s->message), "%s", reply->message);
	s->retry_after_s = reply->retry_after_s;
	s->body = reply->body;
	reply->body = NULL;
	gw_metrics_rpc(&r->ctx->metrics, s->metric, reply->status,
		       reply->latency_ms);
	if (atomic_fetch_sub(&r->pending, 1) == 1)
		MHD_resume_connection(r->conn);
}

enum gw_step gw_req_call(struct gw_req *r, const struct gw_req_callspec *c,
			 int n)
{
	struct rpc_meta meta[3];
	size_t nmeta = 0;
	int i, rc;

	/* the replies of the previous round are read by now */
	for (i = 0; i < GW_REQ_CALLS; i++) {
		if (r->slot[i].body)
			protobuf_c_message_free_unpacked(r->slot[i].body,
							 NULL);
		memset(&r->slot[i], 0, sizeof(r->slot[i]));
		r->slot[i].req = r;
	}
	meta[nmeta++] = (struct rpc_meta){RPC_META_REQUEST_ID, r->request_id};
	if (r->client_addr[0])
		meta[nmeta++] =
		    (struct rpc_meta){RPC_META_CLIENT_ADDR, r->client_addr};
	if (r->token[0])
		meta[nmeta++] = (struct rpc_meta){RPC_META_SESSION, r->token};

	r->step++;
	r->ncalls = n;
	/* one extra count held while starting, so that a call ending at
	 * once cannot resume the connection before all have started */
	atomic_store(&r->pending, n + 1);
	MHD_suspend_connection(r->conn);
	for (i = 0; i < n; i++) {
		bool model =
		    c[i].svc == &namegen__v1__model_service__descriptor;
		struct gw_req_slot *s = &r->slot[i];

		s->service = model ? "model" : "auth";
		s->metric = method_metric(c[i].svc, c[i].method);
		rc = rpc_client_call(model ? r->ctx->model : r->ctx->auth,
				     c[i].svc, c[i].method, c[i].msg, meta,
				     nmeta, r->ctx->rpc_timeout_ms, call_done,
				     s);
		if (rc != 0) {
			/* refused before sending: no worker (UNAVAILABLE),
			 * or the gateway's own mistake (a wrong method or
			 * message, which the client must not be blamed for) */
			if (rc != RPC_UNAVAILABLE) {
				log_error("call refused before sending",
					  "request_id=%s method=%s status=%s",
					  r->request_id, c[i].method,
					  rpc_status_name(rc));
				rc = RPC_INTERNAL;
			}
			s->status = rc;
			s->message[0] = '\0';
			gw_metrics_rpc(&r->ctx->metrics, s->metric, rc, 0);
			atomic_fetch_sub(&r->pending, 1);
		}
	}
	if (atomic_fetch_sub(&r->pending, 1) == 1)
		MHD_resume_connection(r->conn);
	return GW_WAIT;
}

enum gw_step gw_req_call1(struct gw_req *r,
			  const ProtobufCServiceDescriptor *svc,
			  const char *method, const ProtobufCMessage *msg)
{
	struct gw_req_callspec c = {svc, method, msg};

	return gw_req_call(r, &c, 1);
}

enum gw_step gw_req_bad_body(struct gw_req *r, const struct gw_json_err *e)
{
	return gw_req_error(r, 400, e->code, e->field, "%s", e->message);
}

bool gw_req_ok(struct gw_req *r, int i)
{
	struct gw_req_slot *s = &r->slot[i];
	char secs[16];

	if (s->status == RPC_OK && s->body)
		return true;
	if (s->status == RPC_OK) /* OK without a body: the worker is wrong */
		s->status = RPC_INTERNAL;
	if (s->status == RPC_INTERNAL || s->status == RPC_UNKNOWN)
		log_warn("worker call failed",
			 "request_id=%s service=%s "
			 "status=%s",
			 r->request_id, s->service,
			 rpc_status_name(s->status));
	gw_req_error(r, gw_error_http_status(s->status),
		     gw_error_code(s->status), NULL, "%s",
		     gw_error_message(s->status, s->message, s->service));
	if (s->status == RPC_RESOURCE_EXHAUSTED) {
		snprintf(secs, sizeof(secs), "%u",
			 s->retry_after_s ? s->retry_after_s : 1);
		gw_req_header(r, "Retry-After", secs);
	}
	return false;
}

enum gw_step gw_req_bytes(struct gw_req *r, int status,
			  const char *content_type, const void *data,
			  size_t len)
{
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
						  MHD_RESPMEM_MUST_COPY);
	r->status = status;
	r->resp_len = len;
	if (r->resp && content_type)
		MHD_add_response_header(r->resp, "Content-Type", content_type);
	return GW_DONE;
}

enum gw_step gw_req_json(struct gw_req *r, int status, json_t *body)
{
	size_t len = 0;
	char *s = gw_json_dump(body, &len);

	if (!s) {
		static const char oom[] = "{\"error\":{\"code\":\"internal\","
					  "\"message\":\"internal error\"}}";

		return gw_req_bytes(r, 500, "application/json", oom,
				    sizeof(oom) - 1);
	}
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp =
	    MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	if (!r->resp) {
		free(s);
		return GW_DONE;
	}
	r->status = status;
	r->resp_len = len;
	MHD_add_response_header(r->resp, "Content-Type", "application/json");
	return GW_DONE;
}

enum gw_step gw_req_error(struct gw_req *r, int status, const char *code,
			  const char *field, const char *fmt, ...)
{
	char msg[GW_JSON_MESSAGE_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->legacy)
		return gw_req_json(r, status, gw_error_legacy_json(msg));
	return gw_req_json(r, status, gw_error_json(code, msg, field));
}

void gw_req_header(struct gw_req *r, const char *name, const char *value)
{
	if (r->resp)
		MHD_add_response_header(r->resp, name, value);
}

const char *gw_req_arg(struct gw_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

void gw_req_set_cookie(struct gw_req *r, const char *token, unsigned max_age_s)
{
	char buf[GW_COOKIE_HEADER_MAX];

	if (gw_cookie_set(&r->ctx->cookie, token, max_age_s, buf,
			  sizeof(buf)) == 0)
		gw_req_header(r, "Set-Cookie", buf);
}

void gw_req_free(struct gw_req *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < GW_REQ_CALLS; i++)
		if (r->slot[i].body)
			protobuf_c_message_free_unpacked(r->slot[i].body,
							 NULL);
	if (r->resp)
		MHD_destroy_response(r->resp);
	json_decref(r->json);
	json_decref(r->acc);
	free(r->body);
	free(r);
}

int64_t gw_req_now_ns(void)
{
	return now_ns();
}
