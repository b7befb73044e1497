/* cli.h - namegen-cli: its commands, and what they share.
 *
 *   namegen-cli model generate|score|meta ...   one call to a model worker
 *   namegen-cli bench ...                       load a worker, measure
 *   namegen-cli auth ...                        one call to auth-service
 *
 * Exit status of every command: CLI_EXIT_OK, CLI_EXIT_SERVER when the
 * worker answered with an error or could not be reached, CLI_EXIT_USAGE
 * for a mistake on the command line or in the environment. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/rpc_client.h"

#define CLI_EXIT_OK	0
#define CLI_EXIT_SERVER 1
#define CLI_EXIT_USAGE	2

/* cli_model runs "namegen-cli model ..." (argv[0] is "model"). */
int cli_model(int argc, char **argv);

/* cli_bench runs "namegen-cli bench ..." (argv[0] is "bench"). */
int cli_bench(int argc, char **argv);

/* cli_auth runs "namegen-cli auth ..." (argv[0] is "auth"; auth_cmd.c). */
int cli_auth(int argc, char **argv);

/* cli_open_client opens an RPC client to url, or to the environment
 * variable url_env when url is NULL, with the key from RPC_SECRET (or
 * none with NAMEGEN_DEV=1). Returns 0, or prints one line to stderr and
 * returns CLI_EXIT_USAGE. */
int cli_open_client(struct rpc_client **out, const char *url,
		    const char *url_env, int timeout_ms);

/* cli_close_client closes cli (NULL is fine); calls_failed says whether a
 * call on it ended on the client's side (timeout, no connection). */
void cli_close_client(struct rpc_client *cli, bool calls_failed);

/* cli_failed_locally tells whether status may have been decided by the
 * client rather than the worker (timeouts, lost connections). */
bool cli_failed_locally(int status);

/* cli_parse_long reads a decimal integer in [min, max] given for option
 * name; on failure prints a line to stderr and returns false. */
bool cli_parse_long(const char *name, const char *s, long min, long max,
		    long *out);

/* cli_parse_double is cli_parse_long for a finite number. */
bool cli_parse_double(const char *name, const char *s, double min, double max,
		      double *out);

#endif /* CLI_CLI_H */
