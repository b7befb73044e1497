/* config.h - configuration from environment variables, and URL parsing.
 *
 * A process reads all its variables through one struct config, which keeps
 * the first problem it meets; config_exit_on_error() then prints that one
 * line and exits with status 2, so a misconfigured process never starts:
 *
 *     struct config cfg = {0};
 *     const char *url = config_str(&cfg, "MODEL_RPC_URL", NULL);
 *     long n = config_int(&cfg, "BATCH_MAX", 256, 1, 4096);
 *     config_exit_on_error(&cfg);
 *
 * The parsing functions below never exit; they write an error sentence
 * that names the variable or URL part into the caller's buffer. Nothing
 * here knows about names, users or HTTP. */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 256

struct config {
	int failed;		  /* 1 after the first problem */
	char err[CONFIG_ERR_MAX]; /* that problem, one sentence */
};

/* config_str returns the variable's value, def when it is unset or empty,
 * or, when def is NULL (required) and it is unset, records an error and
 * returns "". The pointer stays valid while the environment is unchanged. */
const char *config_str(struct config *cfg, const char *name, const char *def);

/* config_int parses a decimal integer in [min, max]; def when unset. */
long config_int(struct config *cfg, const char *name, long def, long min,
		long max);

/* config_double parses a finite number in [min, max]; def when unset. */
double config_double(struct config *cfg, const char *name, double def,
		     double min, double max);

/* config_bool accepts 1/0, true/false, yes/no, on/off; def when unset. */
bool config_bool(struct config *cfg, const char *name, bool def);

/* config_fail records msg (printf-style) unless an error is already kept. */
void config_fail(struct config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* config_exit_on_error prints the kept error as one logfmt line on stdout
 * and exits with status 2; returns when there is none. */
void config_exit_on_error(const struct config *cfg);

/* A parsed service URL: postgres://, postgresql://, redis:// or rediss://.
 * Percent-escapes in user, password and database are decoded. */
#define CONFIG_URL_PART_MAX 256
struct config_url {
	char scheme[16]; /* lower case, e.g. "rediss" */
	char user[CONFIG_URL_PART_MAX];
	char password[CONFIG_URL_PART_MAX];
	char host[CONFIG_URL_PART_MAX];	 /* without [] for IPv6 */
	int port;			 /* default of the scheme if absent */
	char path[CONFIG_URL_PART_MAX];	 /* database name or number, no '/' */
	char query[CONFIG_URL_PART_MAX]; /* after '?', undecoded */
};

/* config_parse_url fills out from s. Returns 0, or -1 with a sentence in
 * err that names the part that is wrong (never the password). */
int config_parse_url(const char *s, struct config_url *out, char *err,
		     size_t errlen);

/* config_check_nng_urls checks a comma-separated list of nng addresses
 * (tcp://host:port, tls+tcp://host:port, ipc:///path, inproc://name).
 * With max_urls 1 exactly one is allowed (a listener). Returns the number
 * of URLs, or -1 with a sentence in err. */
int config_check_nng_urls(const char *list, int max_urls, char *err,
			  size_t errlen);

/* config_rpc_secret reads RPC_SECRET (at least 16 bytes) and derives the
 * 32-byte MAC key from it into key. When it is unset, NAMEGEN_DEV=1 allows
 * running without one (returns 0, logs a warning; *have_key = false);
 * otherwise records an error. */
int config_rpc_secret(struct config *cfg, uint8_t key[32], bool *have_key);

#endif /* COMMON_CONFIG_H */
