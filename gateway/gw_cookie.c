/* gw_cookie.c - the session cookie and bearer tokens. */
#include "gateway/gw_cookie.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool gw_cookie_token_ok(const char *s, size_t len)
{
	size_t i;
	char c;

	if (len == 0 || len > GW_COOKIE_TOKEN_MAX)
		return false;
	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._~+/=-", c)) ||
		    c == '\0')
			return false;
	}
	return true;
}

static bool token_copy(const char *s, size_t len, char *out, size_t outlen)
{
	if (!gw_cookie_token_ok(s, len) || len >= outlen)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

bool gw_cookie_find(const char *header, char *out, size_t outlen)
{
	const size_t nlen = strlen(GW_COOKIE_NAME);
	const char *p = header, *end;

	if (!header)
		return false;
	/* pairs are "name=value" separated by ";" and optional spaces */
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen &&
		    strncmp(p, GW_COOKIE_NAME, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t len = (size_t)(end - v);

			while (len > 0 &&
			       (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
				v++;
				len -= 2;
			}
			return token_copy(v, len, out, outlen);
		}
		p = end;
	}
	return false;
}

bool gw_cookie_bearer(const char *header, char *out, size_t outlen)
{
	size_t len;

	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return false;
	header += 7;
	while (*header == ' ')
		header++;
	len = strlen(header);
	while (len > 0 && header[len - 1] == ' ')
		len--;
	return token_copy(header, len, out, outlen);
}

int gw_cookie_set(const struct gw_cookie_opts *o, const char *token,
		  unsigned max_age_s, char *out, size_t outlen)
{
	int n;

	n = snprintf(out, outlen,
		     "%s=%s; Path=/; Max-Age=%u; HttpOnly; "
		     "SameSite=%s%s",
		     GW_COOKIE_NAME, token ? token : "", token ? max_age_s : 0,
		     o->same_site_none ? "None" : "Lax",
		     o->secure ? "; Secure" : "");
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
