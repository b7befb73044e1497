/* gw_cors.c - which origins may call the API from a browser. */
#include "gateway/gw_cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* origin_ok checks the shape scheme://host[:port] of one origin. */
static bool origin_ok(const char *s, size_t len)
{
	const char *p = memchr(s, ':', len);
	size_t i;

	if (!p || (size_t)(p - s) + 3 >= len || strncmp(p, "://", 3) != 0)
		return false;
	if (!((p - s == 4 && strncmp(s, "http", 4) == 0) ||
	      (p - s == 5 && strncmp(s, "https", 5) == 0)))
		return false;
	for (i = (size_t)(p - s) + 3; i < len; i++)
		if (s[i] == '/' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

int gw_cors_parse(struct gw_cors *c, const char *list, char *err,
		  size_t errlen)
{
	const char *p = list, *end;
	size_t len;

	c->n = 0;
	if (!list)
		return 0;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		end = p + strcspn(p, ", ");
		len = (size_t)(end - p);
		if (!origin_ok(p, len) || len >= GW_CORS_ORIGIN_LEN) {
			snprintf(err, errlen,
				 "CORS_ORIGINS: \"%.*s\" is not an origin "
				 "such as https://app.example.com",
				 (int)(len > 80 ? 80 : len), p);
			return -1;
		}
		if (c->n == GW_CORS_ORIGINS_MAX) {
			snprintf(err, errlen,
				 "CORS_ORIGINS: more than %d origins",
				 GW_CORS_ORIGINS_MAX);
			return -1;
		}
		memcpy(c->origins[c->n], p, len);
		c->origins[c->n][len] = '\0';
		c->n++;
		p = end;
	}
	return 0;
}

bool gw_cors_allowed(const struct gw_cors *c, const char *origin)
{
	int i;

	if (!origin)
		return false;
	for (i = 0; i < c->n; i++)
		if (strcasecmp(c->origins[i], origin) == 0)
			return true;
	return false;
}

bool gw_cors_same_origin(const char *origin, const char *host)
{
	const char *p;

	if (!origin || !host || !*host)
		return false;
	p = strstr(origin, "://");
	if (!p)
		return false;
	return strcasecmp(p + 3, host) == 0;
}

bool gw_cors_state_changing(const char *method)
{
	return !(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
		 strcmp(method, "OPTIONS") == 0);
}
