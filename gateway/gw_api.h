/* gw_api.h - the routes the gateway serves and their handlers.
 *
 * gw_api_routes is the one table of every route: /api/v1 (JSON resource
 * API), the original service's routes (gw_legacy.h) and the operations
 * routes (/healthz, /readyz, /metrics). gateway/openapi.json describes
 * exactly these; a unit test keeps the two equal. */
#ifndef GATEWAY_GW_API_H
#define GATEWAY_GW_API_H

#include <stddef.h>

#include "gateway/gw_route.h"

extern const struct gw_route gw_api_routes[];
extern const size_t gw_api_nroutes;

/* gw_api_openapi returns the OpenAPI document (gateway/openapi.json,
 * built into the program) and its length. */
const char *gw_api_openapi(size_t *len);

#endif /* GATEWAY_GW_API_H */
