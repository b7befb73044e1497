/* gw_cookie.h - the session cookie and bearer tokens.
 *
 * A session token reaches the gateway in the "session" cookie (browsers)
 * or in "Authorization: Bearer <token>" (other clients); the gateway only
 * carries it to the auth-service in call metadata and never logs it. */
#ifndef GATEWAY_GW_COOKIE_H
#define GATEWAY_GW_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

#define GW_COOKIE_NAME "session"
/* A token longer than this is not a token (RPC metadata is 512 bytes). */
#define GW_COOKIE_TOKEN_MAX 256
/* Room for a whole Set-Cookie value. */
#define GW_COOKIE_HEADER_MAX 512

struct gw_cookie_opts {
	bool secure;	     /* add Secure (COOKIE_SECURE, default on) */
	bool same_site_none; /* SameSite=None for a cross-site frontend */
};

/* gw_cookie_token_ok says whether s looks like a token: 1 to
 * GW_COOKIE_TOKEN_MAX characters of [A-Za-z0-9._~+/=-]. */
bool gw_cookie_token_ok(const char *s, size_t len);

/* gw_cookie_find copies the value of the session cookie from a Cookie
 * header into out[outlen]. Returns true when one with a well-formed token
 * is there. */
bool gw_cookie_find(const char *header, char *out, size_t outlen);

/* gw_cookie_bearer copies the token of an "Authorization: Bearer <token>"
 * header into out[outlen]. Returns true when it is well formed. */
bool gw_cookie_bearer(const char *header, char *out, size_t outlen);

/* gw_cookie_set writes the Set-Cookie value that stores token for
 * max_age_s seconds; with token NULL, the one that clears the cookie.
 * Returns 0, or -1 when it does not fit. */
int gw_cookie_set(const struct gw_cookie_opts *o, const char *token,
		  unsigned max_age_s, char *out, size_t outlen);

#endif /* GATEWAY_GW_COOKIE_H */
