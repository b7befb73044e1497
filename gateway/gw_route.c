/* gw_route.c - which handler answers a method and a path. */
#include "gateway/gw_route.h"

#include <string.h>

enum gw_route_result gw_route_find(const struct gw_route *table, size_t n,
				   const char *method, const char *path,
				   const struct gw_route **out, size_t *index,
				   char *allow)
{
	size_t i, len = 0, m;
	int path_seen = 0;

	allow[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(table[i].path, path) != 0)
			continue;
		if (strcmp(table[i].method, method) == 0) {
			*out = &table[i];
			*index = i;
			return GW_ROUTE_FOUND;
		}
		m = strlen(table[i].method);
		if (len + m + 3 < GW_ROUTE_ALLOW_MAX) {
			if (path_seen) {
				memcpy(allow + len, ", ", 2);
				len += 2;
			}
			memcpy(allow + len, table[i].method, m + 1);
			len += m;
		}
		path_seen = 1;
	}
	/* every path answers OPTIONS (CORS preflight) */
	if (path_seen && len + 11 < GW_ROUTE_ALLOW_MAX)
		memcpy(allow + len, ", OPTIONS", 10);
	return path_seen ? GW_ROUTE_NO_METHOD : GW_ROUTE_NO_PATH;
}
