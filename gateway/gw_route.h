/* gw_route.h - which handler answers a method and a path.
 *
 * Routes are exact paths (the API has no path parameters); a path that
 * exists with other methods gives the list for the Allow header. */
#ifndef GATEWAY_GW_ROUTE_H
#define GATEWAY_GW_ROUTE_H

#include <stddef.h>

struct gw_req;

/* A handler runs on an HTTP thread, never blocks, and either sets the
 * response (GW_DONE) or has started calls and suspended the request
 * (GW_WAIT); it is called again, with r->step moved on, when they end. */
enum gw_step { GW_DONE = 0, GW_WAIT = 1 };
typedef enum gw_step (*gw_handler_fn)(struct gw_req *r);

#define GW_ROUTE_BODY	  1u /* reads a JSON object body */
#define GW_ROUTE_LEGACY	  2u /* original route: {"error":"..."} errors */
#define GW_ROUTE_EMPTY_OK 4u /* with BODY: an empty body counts as {} */

struct gw_route {
	const char *method;
	const char *path;
	gw_handler_fn fn;
	unsigned flags;
	const char *name; /* label for metrics and logs */
};

enum gw_route_result {
	GW_ROUTE_FOUND,
	GW_ROUTE_NO_PATH,  /* 404 */
	GW_ROUTE_NO_METHOD /* 405; allow lists the methods */
};

#define GW_ROUTE_ALLOW_MAX 64

/* gw_route_find looks method and path up in table[0..n). On FOUND sets
 * *out (and *index); on NO_METHOD writes "GET, PUT, ..." into allow,
 * which is always at least GW_ROUTE_ALLOW_MAX bytes. */
enum gw_route_result gw_route_find(const struct gw_route *table, size_t n,
				   const char *method, const char *path,
				   const struct gw_route **out, size_t *index,
				   char *allow);

#endif /* GATEWAY_GW_ROUTE_H */
