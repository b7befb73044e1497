/* gw_metrics.c - counters and latency histograms for /metrics. */
#include "gateway/gw_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rpc.h"

/* Upper bounds of the buckets in milliseconds; the last is +Inf. */
static const double bucket_ms[GW_METRICS_BUCKETS - 1] = {
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

/* HTTP statuses counted one by one; anything else counts as "other". */
static const int statuses[GW_METRICS_STATUSES - 1] = {
    200, 201, 204, 304, 400, 401, 403, 404, 405,
    409, 413, 429, 500, 501, 503, 504, 431};

static const int rpc_statuses[GW_METRICS_RPC_STATUSES - 1] = {
    RPC_OK,
    RPC_CANCELLED,
    RPC_UNKNOWN,
    RPC_INVALID_ARGUMENT,
    RPC_DEADLINE_EXCEEDED,
    RPC_NOT_FOUND,
    RPC_ALREADY_EXISTS,
    RPC_PERMISSION_DENIED,
    RPC_RESOURCE_EXHAUSTED,
    RPC_FAILED_PRECONDITION,
    RPC_UNIMPLEMENTED,
    RPC_INTERNAL,
    RPC_UNAVAILABLE,
    RPC_UNAUTHENTICATED,
    10,
    11};

static int name_add(char (*names)[GW_METRICS_NAME_MAX], int *n, int max,
		    const char *name)
{
	int i;

	for (i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	if (*n == max)
		return -1;
	snprintf(names[*n], GW_METRICS_NAME_MAX, "%s", name);
	return (*n)++;
}

int gw_metrics_route(struct gw_metrics *m, const char *name)
{
	return name_add(m->route, &m->nroutes, GW_METRICS_ROUTES_MAX, name);
}

int gw_metrics_method(struct gw_metrics *m, const char *name)
{
	return name_add(m->method, &m->nmethods, GW_METRICS_METHODS_MAX, name);
}

static void hist_add(struct gw_metrics_hist *h, double ms)
{
	int b = 0;

	while (b < GW_METRICS_BUCKETS - 1 && ms > bucket_ms[b])
		b++;
	atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (uint64_t)(ms * 1000.0),
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void gw_metrics_request(struct gw_metrics *m, int route, int http_status,
			double ms)
{
	int s = 0;

	if (route < 0 || route >= m->nroutes)
		return;
	while (s < GW_METRICS_STATUSES - 1 && statuses[s] != http_status)
		s++;
	atomic_fetch_add_explicit(&m->requests[route][s], 1,
				  memory_order_relaxed);
	hist_add(&m->route_latency[route], ms);
}

void gw_metrics_rpc(struct gw_metrics *m, int method, int rpc_status,
		    double ms)
{
	int s = 0;

	if (method < 0 || method >= m->nmethods)
		return;
	while (s < GW_METRICS_RPC_STATUSES - 1 &&
	       rpc_statuses[s] != rpc_status)
		s++;
	atomic_fetch_add_explicit(&m->rpc_status[method][s], 1,
				  memory_order_relaxed);
	hist_add(&m->rpc_latency[method], ms);
}

/* A growing text buffer with a hard ceiling. */
#define RENDER_MAX (1024 * 1024)
struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		if (o->cap * 2 > RENDER_MAX) {
			o->failed = 1;
			return;
		}
		char *nb = realloc(o->buf, o->cap * 2);

		if (!nb) {
			o->failed = 1;
			return;
		}
		o->buf = nb;
		o->cap *= 2;
	}
}

static void hist_render(struct out *o, const char *metric, const char *label,
			const char *value, struct gw_metrics_hist *h)
{
	uint64_t cum = 0;
	int b;

	for (b = 0; b < GW_METRICS_BUCKETS; b++) {
		cum +=
		    atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
		if (b < GW_METRICS_BUCKETS - 1)
			out_printf(o, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n",
				   metric, label, value, bucket_ms[b] / 1000.0,
				   (unsigned long long)cum);
		else
			out_printf(
			    o, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n",
			    metric, label, value, (unsigned long long)cum);
	}
	out_printf(o, "%s_sum{%s=\"%s\"} %.6f\n", metric, label, value,
		   (double)atomic_load(&h->sum_us) / 1e6);
	out_printf(o, "%s_count{%s=\"%s\"} %llu\n", metric, label, value,
		   (unsigned long long)atomic_load(&h->count));
}

char *gw_metrics_render(struct gw_metrics *m,
			const struct gw_metrics_worker *workers, int nw,
			size_t *len)
{
	struct out o = {malloc(16384), 0, 16384, 0};
	uint64_t v;
	int r, s;

	if (!o.buf)
		return NULL;
	out_printf(&o, "# HELP namegen_http_requests_total HTTP requests "
		       "answered, by route and status.\n"
		       "# TYPE namegen_http_requests_total counter\n");
	for (r = 0; r < m->nroutes; r++)
		for (s = 0; s < GW_METRICS_STATUSES; s++) {
			v = atomic_load(&m->requests[r][s]);
			if (!v)
				continue;
			if (s < GW_METRICS_STATUSES - 1)
				out_printf(&o,
					   "namegen_http_requests_total{route="
					   "\"%s\",status=\"%d\"} %llu\n",
					   m->route[r], statuses[s],
					   (unsigned long long)v);
			else
				out_printf(&o,
					   "namegen_http_requests_total{route="
					   "\"%s\",status=\"other\"} %llu\n",
					   m->route[r], (unsigned long long)v);
		}
	out_printf(&o, "# HELP namegen_http_request_duration_seconds Time "
		       "from the first byte of a request to its response.\n"
		       "# TYPE namegen_http_request_duration_seconds "
		       "histogram\n");
	for (r = 0; r < m->nroutes; r++)
		hist_render(&o, "namegen_http_request_duration_seconds",
			    "route", m->route[r], &m->route_latency[r]);
	out_printf(&o, "# HELP namegen_rpc_calls_total Calls to the workers, "
		       "by method and status.\n"
		       "# TYPE namegen_rpc_calls_total counter\n");
	for (r = 0; r < m->nmethods; r++)
		for (s = 0; s < GW_METRICS_RPC_STATUSES; s++) {
			v = atomic_load(&m->rpc_status[r][s]);
			if (!v)
				continue;
			out_printf(&o,
				   "namegen_rpc_calls_total{method=\"%s\","
				   "status=\"%s\"} %llu\n",
				   m->method[r],
				   s < GW_METRICS_RPC_STATUSES - 1
				       ? rpc_status_name(rpc_statuses[s])
				       : "OTHER",
				   (unsigned long long)v);
		}
	out_printf(&o, "# HELP namegen_rpc_errors_total Calls that did not "
		       "end with OK, by method.\n"
		       "# TYPE namegen_rpc_errors_total counter\n");
	for (r = 0; r < m->nmethods; r++) {
		v = 0;
		for (s = 1; s < GW_METRICS_RPC_STATUSES; s++)
			v += atomic_load(&m->rpc_status[r][s]);
		out_printf(&o,
			   "namegen_rpc_errors_total{method=\"%s\"} %llu\n",
			   m->method[r], (unsigned long long)v);
	}
	out_printf(&o, "# HELP namegen_rpc_duration_seconds Time from "
		       "sending a call to its answer.\n"
		       "# TYPE namegen_rpc_duration_seconds histogram\n");
	for (r = 0; r < m->nmethods; r++)
		hist_render(&o, "namegen_rpc_duration_seconds", "method",
			    m->method[r], &m->rpc_latency[r]);
	out_printf(&o, "# HELP namegen_rpc_messages_total Messages sent to "
		       "each worker: a call alone or a bundle of calls.\n"
		       "# TYPE namegen_rpc_messages_total counter\n");
	for (r = 0; r < nw; r++)
		out_printf(&o,
			   "namegen_rpc_messages_total{worker=\"%s\"} %llu\n",
			   workers[r].worker,
			   (unsigned long long)workers[r].sent.messages);
	out_printf(&o, "# HELP namegen_rpc_bundles_total Messages that "
		       "carried a bundle of calls, by worker.\n"
		       "# TYPE namegen_rpc_bundles_total counter\n");
	for (r = 0; r < nw; r++)
		out_printf(&o,
			   "namegen_rpc_bundles_total{worker=\"%s\"} %llu\n",
			   workers[r].worker,
			   (unsigned long long)workers[r].sent.bundles);
	out_printf(&o, "# HELP namegen_rpc_bundled_calls_total Calls that "
		       "went in a bundle, by worker.\n"
		       "# TYPE namegen_rpc_bundled_calls_total counter\n");
	for (r = 0; r < nw; r++)
		out_printf(&o,
			   "namegen_rpc_bundled_calls_total{worker=\"%s\"} "
			   "%llu\n",
			   workers[r].worker,
			   (unsigned long long)workers[r].sent.bundled_calls);
	out_printf(&o,
		   "# HELP namegen_http_in_flight_requests Requests "
		   "being handled now.\n"
		   "# TYPE namegen_http_in_flight_requests gauge\n"
		   "namegen_http_in_flight_requests %lld\n",
		   (long long)atomic_load(&m->in_flight));
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
