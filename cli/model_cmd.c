/* model_cmd.c - namegen-cli model: one Generate, Score or Meta call.
 *
 * Human-readable output by default, one JSON document with --json. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli/cli.h"
#include "namegen.pb-c.h"

#define CLI_MAX_COUNTRIES 64
#define CLI_SCORE_TOP	  10 /* countries shown without --all */

struct model_opts {
	const char *url;
	bool json;
	bool all;
	long timeout_ms;
};

static void model_usage(FILE *f)
{
	fprintf(f,
		"usage: namegen-cli model generate [options]\n"
		"       namegen-cli model score [options] NAME\n"
		"       namegen-cli model meta [options]\n"
		"common options:\n"
		"  --url URL        the worker (default: $MODEL_RPC_URL)\n"
		"  --json           one JSON document on stdout\n"
		"  --timeout MS     deadline of the call (10000)\n"
		"generate options:\n"
		"  --country CODE[:WEIGHT]  repeat to mix countries\n"
		"  --gender M|F|any         (any)\n"
		"  --prefix TEXT            every name starts with it\n"
		"  --min N, --max N         length in characters\n"
		"  -n, --count N            names, 1..100 (1)\n"
		"  --temperature X          (0, 2] (1)\n"
		"  --top-k N                keep the N likeliest characters\n"
		"  --allow-duplicates       names may repeat\n"
		"  --novel                  only names not in the training "
		"data\n"
		"  --seed N                 same request + seed = same "
		"names\n"
		"score options:\n"
		"  --all                    every country, not the top %d\n",
		CLI_SCORE_TOP);
}

/* call prints the worker's error and returns the exit status, or
 * CLI_EXIT_OK with the reply in *out. */
static int call(const struct model_opts *o, const char *method,
		const ProtobufCMessage *req, struct rpc_reply *out)
{
	struct rpc_client *cli;
	int rc =
	    cli_open_client(&cli, o->url, "MODEL_RPC_URL", (int)o->timeout_ms);

	memset(out, 0, sizeof(*out));
	if (rc != CLI_EXIT_OK)
		return rc;
	rpc_client_call_sync(cli, &namegen__v1__model_service__descriptor,
			     method, req, NULL, 0, (int)o->timeout_ms, out);
	cli_close_client(cli, cli_failed_locally(out->status));
	if (out->status != RPC_OK) {
		fprintf(stderr, "namegen-cli: %s: %s\n",
			rpc_status_name(out->status), out->message);
		rpc_reply_clear(out);
		return CLI_EXIT_SERVER;
	}
	return CLI_EXIT_OK;
}

static int print_json(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2));

	json_decref(doc);
	if (!s) {
		fprintf(stderr, "namegen-cli: out of memory\n");
		return CLI_EXIT_SERVER;
	}
	printf("%s\n", s);
	free(s);
	return CLI_EXIT_OK;
}

static const char *gender_name(Namegen__V1__Gender g)
{
	return g == NAMEGEN__V1__GENDER__GENDER_MALE	 ? "M"
	       : g == NAMEGEN__V1__GENDER__GENDER_FEMALE ? "F"
							 : "any";
}

/* ---------------------------------------------------------- generate */

/* parse_country reads CODE or CODE:WEIGHT into cw (code points into s). */
static bool parse_country(char *s, Namegen__V1__CountryWeight *cw)
{
	char *colon = strchr(s, ':');
	double w = 0.0;

	namegen__v1__country_weight__init(cw);
	if (colon) {
		*colon = '\0';
		if (!cli_parse_double("--country's weight", colon + 1, 0.0,
				      1e6, &w))
			return false;
	}
	if (!*s) {
		fprintf(stderr, "namegen-cli: --country wants a code such as "
				"DE or IT:0.3\n");
		return false;
	}
	cw->code = s;
	cw->weight = (float)w;
	return true;
}

/* parse_seed reads a decimal 64-bit seed. */
static bool parse_seed(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr,
			"namegen-cli: --seed wants a whole number in "
			"0..18446744073709551615, not \"%s\"\n",
			s);
		return false;
	}
	return true;
}

static int print_generate(const struct model_opts *o,
			  const Namegen__V1__GenerateReply *r)
{
	size_t i;

	if (o->json) {
		json_t *names = json_array();

		for (i = 0; i < r->n_names; i++)
			json_array_append_new(
			    names, json_pack("{s:s, s:f, s:b}", "name",
					     r->names[i]->name, "log_prob",
					     (double)r->names[i]->log_prob,
					     "in_training_data",
					     r->names[i]->in_training_data));
		return print_json(
		    json_pack("{s:o, s:b, s:s, s:i}", "names", names,
			      "incomplete", r->incomplete, "incomplete_reason",
			      r->incomplete_reason ? r->incomplete_reason : "",
			      "attempts", (json_int_t)r->attempts));
	}
	for (i = 0; i < r->n_names; i++)
		printf("%-24s %8.3f%s\n", r->names[i]->name,
		       (double)r->names[i]->log_prob,
		       r->names[i]->in_training_data ? "  (in training data)"
						     : "");
	if (r->incomplete)
		printf("incomplete: %s\n", r->incomplete_reason);
	return CLI_EXIT_OK;
}

static int cmd_generate(const struct model_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"country", 1, 0, 'c'},
	    {"gender", 1, 0, 'g'},
	    {"prefix", 1, 0, 'p'},
	    {"min", 1, 0, 'a'},
	    {"max", 1, 0, 'b'},
	    {"count", 1, 0, 'n'},
	    {"temperature", 1, 0, 't'},
	    {"top-k", 1, 0, 'k'},
	    {"allow-duplicates", 0, 0, 'd'},
	    {"novel", 0, 0, 'N'},
	    {"seed", 1, 0, 's'},
	    {0, 0, 0, 0},
	};
	Namegen__V1__GenerateRequest req = NAMEGEN__V1__GENERATE_REQUEST__INIT;
	Namegen__V1__CountryWeight cws[CLI_MAX_COUNTRIES];
	Namegen__V1__CountryWeight *cwp[CLI_MAX_COUNTRIES];
	struct rpc_reply reply;
	double d;
	long v;
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:", longs, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (req.n_countries == CLI_MAX_COUNTRIES) {
				fprintf(stderr,
					"namegen-cli: at most %d "
					"--country\n",
					CLI_MAX_COUNTRIES);
				return CLI_EXIT_USAGE;
			}
			if (!parse_country(optarg, &cws[req.n_countries]))
				return CLI_EXIT_USAGE;
			cwp[req.n_countries] = &cws[req.n_countries];
			req.n_countries++;
			break;
		case 'g':
			if (strcasecmp(optarg, "m") == 0 ||
			    strcasecmp(optarg, "male") == 0)
				req.gender = NAMEGEN__V1__GENDER__GENDER_MALE;
			else if (strcasecmp(optarg, "f") == 0 ||
				 strcasecmp(optarg, "female") == 0)
				req.gender =
				    NAMEGEN__V1__GENDER__GENDER_FEMALE;
			else if (strcasecmp(optarg, "any") == 0)
				req.gender = NAMEGEN__V1__GENDER__GENDER_ANY;
			else {
				fprintf(stderr,
					"namegen-cli: --gender is M, F "
					"or any, not \"%s\"\n",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'p':
			req.prefix = optarg;
			break;
		case 'a':
		case 'b':
			if (!cli_parse_long(c == 'a' ? "--min" : "--max",
					    optarg, 0, 1000, &v))
				return CLI_EXIT_USAGE;
			if (c == 'a')
				req.min_length = (uint32_t)v;
			else
				req.max_length = (uint32_t)v;
			break;
		case 'n':
			if (!cli_parse_long("--count", optarg, 0, 100000, &v))
				return CLI_EXIT_USAGE;
			req.count = (uint32_t)v;
			break;
		case 't':
			if (!cli_parse_double("--temperature", optarg, 0.0,
					      1000.0, &d))
				return CLI_EXIT_USAGE;
			req.temperature = (float)d;
			break;
		case 'k':
			if (!cli_parse_long("--top-k", optarg, 0, 100000, &v))
				return CLI_EXIT_USAGE;
			req.top_k = (uint32_t)v;
			break;
		case 'd':
			req.allow_duplicates = 1;
			break;
		case 'N':
			req.novel = 1;
			break;
		case 's':
			if (!parse_seed(optarg, &req.seed))
				return CLI_EXIT_USAGE;
			req.has_seed = 1;
			break;
		default:
			fprintf(stderr,
				"namegen-cli: unknown or incomplete "
				"option \"%s\" for model generate\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"namegen-cli: model generate takes no "
			"argument \"%s\"\n",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	req.countries = cwp;
	rc = call(o, "Generate", &req.base, &reply);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = print_generate(o, (Namegen__V1__GenerateReply *)reply.body);
	rpc_reply_clear(&reply);
	return rc;
}

/* ------------------------------------------------------------- score */

static int print_score(const struct model_opts *o,
		       const Namegen__V1__ScoreReply *r)
{
	size_t i, top = o->all ? r->n_countries : CLI_SCORE_TOP;

	if (top > r->n_countries)
		top = r->n_countries;
	if (o->json) {
		json_t *cs = json_array(), *gs = json_array();

		for (i = 0; i < r->n_countries; i++)
			json_array_append_new(
			    cs,
			    json_pack("{s:s, s:f}", "code",
				      r->countries[i]->code, "probability",
				      (double)r->countries[i]->probability));
		for (i = 0; i < r->n_genders; i++)
			json_array_append_new(
			    gs, json_pack("{s:s, s:f}", "gender",
					  gender_name(r->genders[i]->gender),
					  "probability",
					  (double)r->genders[i]->probability));
		return print_json(json_pack("{s:s, s:o, s:o, s:f}", "name",
					    r->name, "countries", cs,
					    "genders", gs, "log_likelihood",
					    (double)r->log_likelihood));
	}
	printf("%s: log-likelihood %.3f under its best country and "
	       "gender\n",
	       r->name, (double)r->log_likelihood);
	for (i = 0; i < top; i++)
		printf("  %-3s %6.2f%%\n", r->countries[i]->code,
		       100.0 * r->countries[i]->probability);
	if (top < r->n_countries)
		printf("  (%zu more; --all shows them)\n",
		       r->n_countries - top);
	for (i = 0; i < r->n_genders; i++)
		printf("  %-3s %6.2f%%\n", gender_name(r->genders[i]->gender),
		       100.0 * r->genders[i]->probability);
	return CLI_EXIT_OK;
}

static int cmd_score(struct model_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"all", 0, 0, 'A'},
	    {0, 0, 0, 0},
	};
	Namegen__V1__ScoreRequest req = NAMEGEN__V1__SCORE_REQUEST__INIT;
	struct rpc_reply reply;
	int c, rc;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (c != 'A') {
			fprintf(stderr,
				"namegen-cli: unknown option \"%s\" "
				"for model score\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
		o->all = true;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "namegen-cli: model score takes one NAME\n");
		return CLI_EXIT_USAGE;
	}
	req.name = argv[optind];
	rc = call(o, "Score", &req.base, &reply);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = print_score(o, (Namegen__V1__ScoreReply *)reply.body);
	rpc_reply_clear(&reply);
	return rc;
}

/* -------------------------------------------------------------- meta */

static int print_meta(const struct model_opts *o,
		      const Namegen__V1__MetaReply *r)
{
	size_t i;

	if (o->json) {
		json_t *cs = json_array(), *gs = json_array();

		for (i = 0; i < r->n_countries; i++)
			json_array_append_new(
			    cs,
			    json_pack(
				"{s:s, s:s, s:i}", "code",
				r->countries[i]->code, "name",
				r->countries[i]->name, "training_names",
				(json_int_t)r->countries[i]->training_names));
		for (i = 0; i < r->n_genders; i++)
			json_array_append_new(
			    gs, json_string(gender_name(r->genders[i])));
		return print_json(json_pack(
		    "{s:o, s:o, s:s, s:i, s:s, s:I, s:s, s:f, s:I}",
		    "countries", cs, "genders", gs, "alphabet", r->alphabet,
		    "max_length", (json_int_t)r->max_length, "model_version",
		    r->model_version, "parameters", (json_int_t)r->parameters,
		    "trained_at", r->trained_at, "heldout_loss",
		    (double)r->heldout_loss, "model_bytes",
		    (json_int_t)r->model_bytes));
	}
	printf("model %s: %llu parameters, %llu bytes, trained %s, held-out "
	       "loss %.4f nats/char\n",
	       r->model_version, (unsigned long long)r->parameters,
	       (unsigned long long)r->model_bytes, r->trained_at,
	       (double)r->heldout_loss);
	printf("max length %u characters; alphabet: %s\n", r->max_length,
	       r->alphabet);
	printf("genders:");
	for (i = 0; i < r->n_genders; i++)
		printf(" %s", gender_name(r->genders[i]));
	printf("\ncountries (%zu):\n", r->n_countries);
	for (i = 0; i < r->n_countries; i++)
		printf("  %-3s %-28s %6u names\n", r->countries[i]->code,
		       r->countries[i]->name, r->countries[i]->training_names);
	return CLI_EXIT_OK;
}

static int cmd_meta(const struct model_opts *o, int argc, char **argv)
{
	Namegen__V1__MetaRequest req = NAMEGEN__V1__META_REQUEST__INIT;
	struct rpc_reply reply;
	int rc;

	if (argc > 1) {
		fprintf(stderr,
			"namegen-cli: model meta takes no argument "
			"\"%s\"\n",
			argv[1]);
		return CLI_EXIT_USAGE;
	}
	rc = call(o, "Meta", &req.base, &reply);
	if (rc != CLI_EXIT_OK)
		return rc;
	rc = print_meta(o, (Namegen__V1__MetaReply *)reply.body);
	rpc_reply_clear(&reply);
	return rc;
}

/* ----------------------------------------------------------- command */

/* take_common removes --url, --json and --timeout (anywhere after the
 * subcommand) from argv, so each subcommand parses only its own. */
static int take_common(struct model_opts *o, int *argc, char **argv)
{
	int i, w = 1;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--url") == 0 ||
			   strcmp(a, "--timeout") == 0) {
			if (i + 1 >= *argc) {
				fprintf(stderr,
					"namegen-cli: %s wants a "
					"value\n",
					a);
				return CLI_EXIT_USAGE;
			}
			if (a[2] == 'u')
				o->url = argv[++i];
			else if (!cli_parse_long("--timeout", argv[++i], 1,
						 600000, &o->timeout_ms))
				return CLI_EXIT_USAGE;
		} else if (strncmp(a, "--url=", 6) == 0) {
			o->url = a + 6;
		} else {
			argv[w++] = argv[i];
		}
	}
	*argc = w;
	return CLI_EXIT_OK;
}

int cli_model(int argc, char **argv)
{
	struct model_opts o = {.timeout_ms = 10000};
	const char *sub = argc > 1 ? argv[1] : "";
	int rc;

	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		model_usage(stdout);
		return CLI_EXIT_OK;
	}
	// From here argv[0] is the subcommand.
	argc--;
	argv++;
	rc = take_common(&o, &argc, argv);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (strcmp(sub, "generate") == 0)
		return cmd_generate(&o, argc, argv);
	if (strcmp(sub, "score") == 0)
		return cmd_score(&o, argc, argv);
	if (strcmp(sub, "meta") == 0)
		return cmd_meta(&o, argc, argv);
	fprintf(stderr,
		"namegen-cli: model wants generate, score or meta%s%s"
		"\n",
		*sub ? ", not " : "", sub);
	model_usage(stderr);
	return CLI_EXIT_USAGE;
}
