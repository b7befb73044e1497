/* main.c - namegen-cli: talk to namegen's workers without the gateway.
 *
 * Dispatches to a command (cli.h) and holds the helpers they share. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/config.h"
#include "common/log.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: namegen-cli COMMAND ...\n"
		"  model generate [options]   generate names (see "
		"namegen-cli model --help)\n"
		"  model score NAME           countries and gender a name "
		"sounds like\n"
		"  model meta                 what the model knows\n"
		"  bench [options]            keep N clients busy and "
		"measure (namegen-cli bench --help)\n"
		"  auth COMMAND ...           accounts, sessions, favorites "
		"(namegen-cli auth --help)\n"
		"Environment: MODEL_RPC_URL / AUTH_RPC_URL (or --url), "
		"RPC_SECRET (or NAMEGEN_DEV=1).\n"
		"Exit status: 0 ok, 1 the worker answered an error or was "
		"unreachable, 2 usage.\n");
}

bool cli_parse_long(const char *name, const char *s, long min, long max,
		    long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr,
			"namegen-cli: %s wants a whole number in "
			"%ld..%ld, not \"%s\"\n",
			name, min, max, s);
		return false;
	}
	*out = v;
	return true;
}

bool cli_parse_double(const char *name, const char *s, double min, double max,
		      double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max) {
		fprintf(stderr,
			"namegen-cli: %s wants a number in [%g, %g], "
			"not \"%s\"\n",
			name, min, max, s);
		return false;
	}
	*out = v;
	return true;
}

int cli_open_client(struct rpc_client **out, const char *url,
		    const char *url_env, int timeout_ms)
{
	struct config cfg = {0};
	struct rpc_client_opts o = {0};
	uint8_t key[RPC_KEY_BYTES];
	bool have_key = false;
	char err[256];

	*out = NULL;
	if (!url)
		url = config_str(&cfg, url_env, NULL);
	config_rpc_secret(&cfg, key, &have_key);
	if (cfg.failed) {
		fprintf(stderr, "namegen-cli: %s%s\n", cfg.err,
			url && *url ? "" : " (or give --url)");
		return CLI_EXIT_USAGE;
	}
	o.urls = url;
	o.key = have_key ? key : NULL;
	o.timeout_ms = timeout_ms;
	if (rpc_client_open(out, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "namegen-cli: %s\n", err);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

bool cli_failed_locally(int status)
{
	return status == RPC_DEADLINE_EXCEEDED || status == RPC_UNAVAILABLE ||
	       status == RPC_CANCELLED;
}

void cli_close_client(struct rpc_client *cli, bool calls_failed)
{
	// Closing after a call timed out or lost its connection used to
	// hang in nng 1.5.2's nng_close; rpc_client now keeps its own
	// deadlines and bounds the close (common/rpc_socket.h), so every
	// client is closed. calls_failed is kept for the log line.
	if (calls_failed)
		log_debug("closing a client whose calls failed");
	rpc_client_close(cli);
}

int main(int argc, char **argv)
{
	// Our output is for people and scripts; only errors are logged.
	log_threshold = LOG_ERROR;
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "model") == 0)
		return cli_model(argc - 1, argv + 1);
	if (strcmp(argv[1], "bench") == 0)
		return cli_bench(argc - 1, argv + 1);
	if (strcmp(argv[1], "auth") == 0)
		return cli_auth(argc - 1, argv + 1);
	fprintf(stderr, "namegen-cli: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
