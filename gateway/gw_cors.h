/* gw_cors.h - which origins may call the API from a browser.
 *
 * CORS_ORIGINS lists the origins of cross-site frontends
 * ("https://a.example,https://b.example:8443"); only those get CORS
 * headers, with credentials. A request that changes state, carries the
 * session cookie and comes from an Origin that is neither listed nor the
 * gateway's own host is refused, so a foreign page cannot act with a
 * visitor's cookie. */
#ifndef GATEWAY_GW_CORS_H
#define GATEWAY_GW_CORS_H

#include <stdbool.h>
#include <stddef.h>

#define GW_CORS_ORIGINS_MAX 16
#define GW_CORS_ORIGIN_LEN  256

struct gw_cors {
	int n;
	char origins[GW_CORS_ORIGINS_MAX][GW_CORS_ORIGIN_LEN];
};

/* gw_cors_parse reads a comma-separated list (NULL or "" = none). Each
 * origin is scheme://host[:port] with no path. Returns 0, or -1 with a
 * sentence naming the bad entry in err. */
int gw_cors_parse(struct gw_cors *c, const char *list, char *err,
		  size_t errlen);

/* gw_cors_allowed says whether origin is one of the listed ones. */
bool gw_cors_allowed(const struct gw_cors *c, const char *origin);

/* gw_cors_same_origin says whether origin names the host the request was
 * sent to (the Host header), whatever its scheme. */
bool gw_cors_same_origin(const char *origin, const char *host);

/* gw_cors_state_changing says whether an HTTP method changes state. */
bool gw_cors_state_changing(const char *method);

#endif /* GATEWAY_GW_CORS_H */
