/* gw_metrics.h - counters and latency histograms for /metrics.
 *
 * Routes and RPC methods are registered once at start (before any request
 * thread runs); recording is lock-free (relaxed atomics), and rendering
 * reads the counters as they are, in Prometheus text format 0.0.4. */
#ifndef GATEWAY_GW_METRICS_H
#define GATEWAY_GW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rpc_client.h"

#define GW_METRICS_ROUTES_MAX	48
#define GW_METRICS_METHODS_MAX	24
#define GW_METRICS_NAME_MAX	48
#define GW_METRICS_BUCKETS	14 /* the last one is +Inf */
#define GW_METRICS_STATUSES	18 /* HTTP statuses counted one by one */
#define GW_METRICS_RPC_STATUSES 17

struct gw_metrics_hist {
	_Atomic uint64_t bucket[GW_METRICS_BUCKETS]; /* not cumulative */
	_Atomic uint64_t sum_us;
	_Atomic uint64_t count;
};

struct gw_metrics {
	int nroutes, nmethods;
	char route[GW_METRICS_ROUTES_MAX][GW_METRICS_NAME_MAX];
	_Atomic uint64_t requests[GW_METRICS_ROUTES_MAX][GW_METRICS_STATUSES];
	struct gw_metrics_hist route_latency[GW_METRICS_ROUTES_MAX];
	char method[GW_METRICS_METHODS_MAX][GW_METRICS_NAME_MAX];
	_Atomic uint64_t
	    rpc_status[GW_METRICS_METHODS_MAX][GW_METRICS_RPC_STATUSES];
	struct gw_metrics_hist rpc_latency[GW_METRICS_METHODS_MAX];
	_Atomic int64_t in_flight;
};

/* gw_metrics_route registers a route label and returns its index (the
 * same index for the same name), or -1 when the table is full. */
int gw_metrics_route(struct gw_metrics *m, const char *name);

/* gw_metrics_method registers an RPC method ("ModelService/Generate"). */
int gw_metrics_method(struct gw_metrics *m, const char *name);

/* gw_metrics_request counts one answered request. */
void gw_metrics_request(struct gw_metrics *m, int route, int http_status,
			double ms);

/* gw_metrics_rpc counts one finished call with its RPC_* status. */
void gw_metrics_rpc(struct gw_metrics *m, int method, int rpc_status,
		    double ms);

/* What the RPC client of one worker has sent, read when rendering. */
struct gw_metrics_worker {
	const char *worker; /* "model", "auth" */
	struct rpc_client_stats sent;
};

/* gw_metrics_render returns the text exposition, with the nw workers'
 * message counts, in a malloc'd buffer (its length in *len), or NULL
 * when out of memory. */
char *gw_metrics_render(struct gw_metrics *m,
			const struct gw_metrics_worker *workers, int nw,
			size_t *len);

#endif /* GATEWAY_GW_METRICS_H */
