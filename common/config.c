/* config.c - environment variables and URLs. */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/log.h"

/* The shortest RPC_SECRET accepted: 16 bytes of a random string. */
#define CONFIG_SECRET_MIN 16

void config_fail(struct config *cfg, const char *fmt, ...)
{
	va_list ap;

	if (cfg->failed)
		return;
	cfg->failed = 1;
	va_start(ap, fmt);
	vsnprintf(cfg->err, sizeof(cfg->err), fmt, ap);
	va_end(ap);
}

void config_exit_on_error(const struct config *cfg)
{
	char q[CONFIG_ERR_MAX + 32];

	if (!cfg->failed)
		return;
	/* Written directly: the process may fail before log_init. */
	printf("level=fatal msg=%s\n", log_quote(q, sizeof(q), cfg->err));
	fflush(stdout);
	exit(2);
}

/* config_raw returns the variable, or NULL when unset or empty. */
static const char *config_raw(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

const char *config_str(struct config *cfg, const char *name, const char *def)
{
	const char *v = config_raw(name);

	if (v)
		return v;
	if (!def) {
		config_fail(cfg, "%s is required but not set", name);
		return "";
	}
	return def;
}

long config_int(struct config *cfg, const char *name, long def, long min,
		long max)
{
	const char *v = config_raw(name);
	char *end;
	long n;

	if (!v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0') {
		config_fail(cfg, "%s must be an integer, got \"%.40s\"", name,
			    v);
		return def;
	}
	if (n < min || n > max) {
		config_fail(cfg, "%s must be between %ld and %ld, got %ld",
			    name, min, max, n);
		return def;
	}
	return n;
}

double config_double(struct config *cfg, const char *name, double def,
		     double min, double max)
{
	const char *v = config_raw(name);
	char *end;
	double x;

	if (!v)
		return def;
	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !isfinite(x)) {
		config_fail(cfg, "%s must be a number, got \"%.40s\"", name,
			    v);
		return def;
	}
	if (x < min || x > max) {
		config_fail(cfg, "%s must be between %g and %g, got %g", name,
			    min, max, x);
		return def;
	}
	return x;
}

bool config_bool(struct config *cfg, const char *name, bool def)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	const char *v = config_raw(name);
	size_t i;

	if (!v)
		return def;
	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return true;
		if (strcasecmp(v, no[i]) == 0)
			return false;
	}
	config_fail(cfg,
		    "%s must be 1 or 0 (true/false, yes/no, on/off), "
		    "got \"%.40s\"",
		    name, v);
	return def;
}

/* ------------------------------------------------------------ URLs */

static int config_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* url_copy copies [s, s+n) into out (of CONFIG_URL_PART_MAX), decoding
 * percent escapes when decode is set. Returns -1 when it does not fit, an
 * escape is malformed or decodes to NUL. */
static int url_copy(char *out, const char *s, size_t n, int decode)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (decode && c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = config_hexval((unsigned char)s[i + 1]);
			lo = config_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (o + 1 >= CONFIG_URL_PART_MAX)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int url_default_port(const char *scheme)
{
	if (strcmp(scheme, "postgres") == 0 ||
	    strcmp(scheme, "postgresql") == 0)
		return 5432;
	if (strcmp(scheme, "redis") == 0 || strcmp(scheme, "rediss") == 0)
		return 6379;
	return -1;
}

/* url_parse_port parses a decimal port in [1, 65535]; -1 if not one. */
static int url_parse_port(const char *s, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int config_parse_url(const char *s, struct config_url *out, char *err,
		     size_t errlen)
{
	const char *p, *auth_end, *host, *host_end, *port_s = NULL;
	const char *rest, *at, *colon;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		snprintf(err, errlen, "the URL is empty");
		return -1;
	}

	/* scheme */
	p = strstr(s, "://");
	if (!p || p == s || (size_t)(p - s) >= sizeof(out->scheme)) {
		snprintf(err, errlen,
			 "the URL has no scheme (expected "
			 "postgres://, redis:// or rediss://)");
		return -1;
	}
	for (i = 0; s + i < p; i++)
		out->scheme[i] = (char)tolower((unsigned char)s[i]);
	out->port = url_default_port(out->scheme);
	if (out->port < 0) {
		snprintf(
		    err, errlen,
		    "unsupported URL scheme \"%s\" (expected postgres://, "
		    "postgresql://, redis:// or rediss://)",
		    out->scheme);
		return -1;
	}
	p += 3;

	/* authority: [user[:password]@]host[:port] */
	auth_end = p + strcspn(p, "/?#");
	at = NULL;
	for (rest = p; rest < auth_end; rest++)
		if (*rest == '@')
			at = rest; /* the last '@': passwords may hold one */
	host = p;
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		n = (size_t)((colon ? colon : at) - p);
		if (url_copy(out->user, p, n, 1) < 0) {
			snprintf(err, errlen,
				 "the URL's user name is too "
				 "long or badly escaped");
			return -1;
		}
		if (colon && url_copy(out->password, colon + 1,
				      (size_t)(at - colon - 1), 1) < 0) {
			/* never echo the password itself */
			snprintf(err, errlen,
				 "the URL's password is too long "
				 "or badly escaped");
			return -1;
		}
		host = at + 1;
	}
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (!host_end) {
			snprintf(err, errlen,
				 "the URL's IPv6 host has no "
				 "closing bracket");
			return -1;
		}
		if (url_copy(out->host, host + 1,
			     (size_t)(host_end - host - 1), 0) < 0) {
			snprintf(err, errlen, "the URL's host is too long");
			return -1;
		}
		host_end++;
		if (host_end < auth_end && *host_end != ':') {
			snprintf(err, errlen,
				 "unexpected text after the "
				 "URL's IPv6 host");
			return -1;
		}
	} else {
		host_end = memchr(host, ':', (size_t)(auth_end - host));
		if (!host_end)
			host_end = auth_end;
		if (url_copy(out->host, host, (size_t)(host_end - host), 0) <
		    0) {
			snprintf(err, errlen, "the URL's host is too long");
			return -1;
		}
	}
	if (host_end < auth_end && *host_end == ':')
		port_s = host_end + 1;
	if (!out->host[0]) {
		snprintf(err, errlen, "the URL has no host");
		return -1;
	}
	for (i = 0; out->host[i]; i++) {
		unsigned char c = (unsigned char)out->host[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_' &&
		    c != ':') {
			snprintf(err, errlen,
				 "the URL's host has an invalid "
				 "character");
			return -1;
		}
	}
	if (port_s) {
		out->port =
		    url_parse_port(port_s, (size_t)(auth_end - port_s));
		if (out->port < 0) {
			snprintf(err, errlen,
				 "the URL's port must be a number "
				 "from 1 to 65535");
			return -1;
		}
	}

	/* path (database) and query */
	p = auth_end;
	if (*p == '/') {
		p++;
		n = strcspn(p, "?#");
		if (url_copy(out->path, p, n, 1) < 0) {
			snprintf(err, errlen,
				 "the URL's path is too long or "
				 "badly escaped");
			return -1;
		}
		p += n;
	}
	if (*p == '?') {
		p++;
		n = strcspn(p, "#");
		if (n >= sizeof(out->query)) {
			snprintf(err, errlen, "the URL's query is too long");
			return -1;
		}
		memcpy(out->query, p, n);
		out->query[n] = '\0';
	}
	return 0;
}

/* nng_url_check checks one nng address [s, s+n). */
static int nng_url_check(const char *s, size_t n, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		int needs_port;
	} schemes[] = {{"tcp://", 1},	  {"tcp4://", 1}, {"tcp6://", 1},
		       {"tls+tcp://", 1}, {"ipc://", 0},  {"inproc://", 0}};
	size_t i, k;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t plen = strlen(schemes[i].prefix);
		const char *rest, *colon;

		if (n < plen || strncmp(s, schemes[i].prefix, plen) != 0)
			continue;
		rest = s + plen;
		if (n == plen) {
			snprintf(err, errlen,
				 "\"%.*s\" has nothing after the "
				 "scheme",
				 (int)n, s);
			return -1;
		}
		for (k = 0; k < n; k++)
			if ((unsigned char)s[k] <= ' ') {
				snprintf(err, errlen,
					 "\"%.*s\" holds a space "
					 "or control character",
					 (int)(n > 64 ? 64 : n), s);
				return -1;
			}
		if (!schemes[i].needs_port)
			return 0;
		colon = NULL;
		for (k = 0; rest + k < s + n; k++)
			if (rest[k] == ':')
				colon = rest + k;
		if (!colon ||
		    url_parse_port(colon + 1, (size_t)(s + n - colon - 1)) <
			0) {
			snprintf(err, errlen,
				 "\"%.*s\" needs a port from 1 to "
				 "65535 (host:port)",
				 (int)(n > 64 ? 64 : n), s);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen,
		 "\"%.*s\" is not an nng address (tcp://host:port, "
		 "tls+tcp://host:port, ipc:///path or inproc://name)",
		 (int)(n > 64 ? 64 : n), s);
	return -1;
}

int config_check_nng_urls(const char *list, int max_urls, char *err,
			  size_t errlen)
{
	const char *p = list;
	int count = 0;

	if (!list || !*list) {
		snprintf(err, errlen, "the address list is empty");
		return -1;
	}
	for (;;) {
		size_t n = strcspn(p, ",");

		if (n == 0) {
			snprintf(err, errlen,
				 "the address list has an empty "
				 "entry");
			return -1;
		}
		if (nng_url_check(p, n, err, errlen) < 0)
			return -1;
		count++;
		if (max_urls > 0 && count > max_urls) {
			snprintf(err, errlen, "only %d address%s allowed here",
				 max_urls, max_urls == 1 ? " is" : "es are");
			return -1;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return count;
}

int config_rpc_secret(struct config *cfg, uint8_t key[32], bool *have_key)
{
	const char *secret = config_raw("RPC_SECRET");
	bool dev = config_bool(cfg, "NAMEGEN_DEV", false);

	*have_key = false;
	if (!secret) {
		if (dev) {
			log_warn("running without RPC_SECRET: calls are not "
				 "authenticated (NAMEGEN_DEV=1)");
			return 0;
		}
		config_fail(cfg,
			    "RPC_SECRET is required (at least %d bytes; "
			    "NAMEGEN_DEV=1 allows running without one)",
			    CONFIG_SECRET_MIN);
		return -1;
	}
	if (strlen(secret) < CONFIG_SECRET_MIN) {
		config_fail(cfg, "RPC_SECRET must be at least %d bytes long",
			    CONFIG_SECRET_MIN);
		return -1;
	}
	if (sodium_init() < 0) {
		config_fail(cfg, "libsodium failed to initialise");
		return -1;
	}
	/* A fixed-length key from a secret of any length, bound to our use. */
	{
		crypto_generichash_state st;
		static const char label[] = "namegen-rpc-key-v1:";

		crypto_generichash_init(&st, NULL, 0, 32);
		crypto_generichash_update(&st, (const unsigned char *)label,
					  sizeof(label) - 1);
		crypto_generichash_update(&st, (const unsigned char *)secret,
					  strlen(secret));
		crypto_generichash_final(&st, key, 32);
	}
	*have_key = true;
	return 0;
}
