/* auth_cmd.c - namegen-cli auth: try the auth-service by hand.
 *
 *   namegen-cli auth register USERNAME EMAIL     password on stdin
 *   namegen-cli auth login EMAIL                 password on stdin;
 *                                                prints the token
 *   namegen-cli auth whoami | logout
 *   namegen-cli auth passwd                      old, then new on stdin
 *   namegen-cli auth delete                      password on stdin
 *   namegen-cli auth favorites [list] [--limit N] [--cursor C]
 *   namegen-cli auth favorites add|remove NAME [--country CC]
 *                                              [--gender M|F|any]
 *
 * Passwords are read from standard input, one a line, never from the
 * command line (where ps would show them). The session token comes from
 * --token or NAMEGEN_SESSION and travels in the call's "session" metadata,
 * as the gateway sends it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "namegen.pb-c.h"

#define AUTH_CLI_LINE_MAX 1100 /* a password of 1024 bytes and more */

struct auth_cli {
	const char *url;
	const char *token;
	const char *addr;
	long timeout_ms;
	long limit;
	const char *cursor;
	const char *country;
	int gender;
};

static void auth_cli_usage(FILE *f)
{
	fprintf(f,
		"usage: namegen-cli auth COMMAND [options]\n"
		"  register USERNAME EMAIL   create an account (password on "
		"stdin)\n"
		"  login EMAIL               print a session token (password "
		"on stdin)\n"
		"  whoami                    the session's user\n"
		"  logout                    end the session\n"
		"  passwd                    change the password (old, then "
		"new, on stdin)\n"
		"  delete                    delete the account (password on "
		"stdin)\n"
		"  favorites [list]          newest first (--limit N, "
		"--cursor C)\n"
		"  favorites add NAME        like a name (--country CC, "
		"--gender M|F|any)\n"
		"  favorites remove NAME     unlike it (same options)\n"
		"options:\n"
		"  --url URL       the auth-service (default: "
		"$AUTH_RPC_URL)\n"
		"  --token TOKEN   session token (default: "
		"$NAMEGEN_SESSION)\n"
		"  --addr ADDR     client address to report (rate limits)\n"
		"  --timeout MS    deadline of the call (10000)\n"
		"Environment: RPC_SECRET (or NAMEGEN_DEV=1).\n");
}

/* auth_cli_read_line reads one line of stdin without its newline into
 * buf, or prints why not and returns -1. */
static int auth_cli_read_line(const char *what, char *buf, size_t size)
{
	size_t n;

	if (!fgets(buf, (int)size, stdin)) {
		fprintf(stderr, "namegen-cli: expected the %s on stdin\n",
			what);
		return -1;
	}
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == size - 1) {
		fprintf(stderr, "namegen-cli: the %s is too long\n", what);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* auth_cli_call makes one call; prints the service's error and returns
 * the exit status, or CLI_EXIT_OK with the reply in *out. */
static int auth_cli_call(const struct auth_cli *o, const char *method,
			 const ProtobufCMessage *req, bool need_token,
			 struct rpc_reply *out)
{
	struct rpc_meta meta[2];
	struct rpc_client *cli;
	size_t n = 0;
	int rc;

	out->body = NULL;
	if (need_token && (!o->token || !*o->token)) {
		fprintf(stderr, "namegen-cli: no session: give --token or set "
				"NAMEGEN_SESSION (from auth login)\n");
		return CLI_EXIT_USAGE;
	}
	rc = cli_open_client(&cli, o->url, "AUTH_RPC_URL", (int)o->timeout_ms);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (need_token)
		meta[n].key = RPC_META_SESSION, meta[n++].value = o->token;
	if (o->addr)
		meta[n].key = RPC_META_CLIENT_ADDR, meta[n++].value = o->addr;
	rc = rpc_client_call_sync(cli, &namegen__v1__auth_service__descriptor,
				  method, req, meta, n, (int)o->timeout_ms,
				  out);
	rpc_client_close(cli);
	if (rc != RPC_OK) {
		fprintf(stderr, "namegen-cli: %s: %s", rpc_status_name(rc),
			out->message);
		if (out->retry_after_s)
			fprintf(stderr, " (retry after %u s)",
				out->retry_after_s);
		fputc('\n', stderr);
		rpc_reply_clear(out);
		return CLI_EXIT_SERVER;
	}
	return CLI_EXIT_OK;
}

static void auth_cli_print_user(const Namegen__V1__User *u)
{
	printf("id=%lld username=\"%s\" email=%s created_at_ms=%lld\n",
	       (long long)u->id, u->username, u->email,
	       (long long)u->created_at_ms);
}

static const char *auth_cli_gender(int g)
{
	return g == 1 ? "M" : g == 2 ? "F" : "any";
}

static int auth_cli_register(const struct auth_cli *o, int argc, char **argv)
{
	Namegen__V1__RegisterRequest q;
	char pw[AUTH_CLI_LINE_MAX];
	struct rpc_reply r;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: namegen-cli auth register USERNAME "
				"EMAIL (password on stdin)\n");
		return CLI_EXIT_USAGE;
	}
	if (auth_cli_read_line("password", pw, sizeof(pw)) < 0)
		return CLI_EXIT_USAGE;
	namegen__v1__register_request__init(&q);
	q.username = argv[0];
	q.email = argv[1];
	q.password = pw;
	rc = auth_cli_call(o, "RegisterUser", &q.base, false, &r);
	if (rc == CLI_EXIT_OK)
		auth_cli_print_user(
		    ((Namegen__V1__RegisterReply *)r.body)->user);
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_login(const struct auth_cli *o, int argc, char **argv)
{
	Namegen__V1__LoginRequest q;
	char pw[AUTH_CLI_LINE_MAX];
	struct rpc_reply r;
	int rc;

	if (argc != 1) {
		fprintf(stderr, "usage: namegen-cli auth login EMAIL "
				"(password on stdin)\n");
		return CLI_EXIT_USAGE;
	}
	if (auth_cli_read_line("password", pw, sizeof(pw)) < 0)
		return CLI_EXIT_USAGE;
	namegen__v1__login_request__init(&q);
	q.email = argv[0];
	q.password = pw;
	rc = auth_cli_call(o, "Login", &q.base, false, &r);
	if (rc == CLI_EXIT_OK) {
		Namegen__V1__LoginReply *lr = (void *)r.body;

		/* the token alone on stdout, for NAMEGEN_SESSION=$(...) */
		printf("%s\n", lr->token);
		fprintf(stderr, "logged in as %s; expires in %u s\n",
			lr->user->username, lr->expires_in_s);
	}
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_whoami(const struct auth_cli *o)
{
	Namegen__V1__WhoAmIRequest q;
	struct rpc_reply r;
	int rc;

	namegen__v1__who_am_irequest__init(&q);
	rc = auth_cli_call(o, "WhoAmI", &q.base, true, &r);
	if (rc == CLI_EXIT_OK)
		auth_cli_print_user(
		    ((Namegen__V1__WhoAmIReply *)r.body)->user);
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_logout(const struct auth_cli *o)
{
	Namegen__V1__LogoutRequest q;
	struct rpc_reply r;
	int rc;

	namegen__v1__logout_request__init(&q);
	rc = auth_cli_call(o, "Logout", &q.base, true, &r);
	if (rc == CLI_EXIT_OK)
		printf("logged out\n");
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_passwd(const struct auth_cli *o)
{
	Namegen__V1__ChangePasswordRequest q;
	char old_pw[AUTH_CLI_LINE_MAX], new_pw[AUTH_CLI_LINE_MAX];
	struct rpc_reply r;
	int rc;

	if (auth_cli_read_line("old password", old_pw, sizeof(old_pw)) < 0 ||
	    auth_cli_read_line("new password", new_pw, sizeof(new_pw)) < 0)
		return CLI_EXIT_USAGE;
	namegen__v1__change_password_request__init(&q);
	q.old_password = old_pw;
	q.new_password = new_pw;
	rc = auth_cli_call(o, "ChangePassword", &q.base, true, &r);
	if (rc == CLI_EXIT_OK)
		printf("password changed; %u other sessions ended\n",
		       ((Namegen__V1__ChangePasswordReply *)r.body)
			   ->sessions_ended);
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_delete(const struct auth_cli *o)
{
	Namegen__V1__DeleteAccountRequest q;
	char pw[AUTH_CLI_LINE_MAX];
	struct rpc_reply r;
	int rc;

	if (auth_cli_read_line("password", pw, sizeof(pw)) < 0)
		return CLI_EXIT_USAGE;
	namegen__v1__delete_account_request__init(&q);
	q.password = pw;
	rc = auth_cli_call(o, "DeleteAccount", &q.base, true, &r);
	if (rc == CLI_EXIT_OK)
		printf("account deleted\n");
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_fav_list(const struct auth_cli *o)
{
	Namegen__V1__ListFavoritesRequest q;
	Namegen__V1__ListFavoritesReply *lr;
	struct rpc_reply r;
	char cursor[128];
	size_t i;
	int rc;

	namegen__v1__list_favorites_request__init(&q);
	q.limit = (uint32_t)o->limit;
	snprintf(cursor, sizeof(cursor), "%s", o->cursor ? o->cursor : "");
	q.cursor = cursor;
	rc = auth_cli_call(o, "ListFavorites", &q.base, true, &r);
	if (rc != CLI_EXIT_OK)
		return rc;
	lr = (void *)r.body;
	for (i = 0; i < lr->n_favorites; i++) {
		Namegen__V1__Favorite *f = lr->favorites[i];

		printf("%s\t%s\t%s\t%lld\n", f->name,
		       f->country[0] ? f->country : "-",
		       auth_cli_gender(f->gender),
		       (long long)f->created_at_ms);
	}
	if (lr->next_cursor[0])
		printf("# more: --cursor %s\n", lr->next_cursor);
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_fav_change(const struct auth_cli *o, bool add,
			       const char *name)
{
	char country[8], namebuf[AUTH_CLI_LINE_MAX];
	struct rpc_reply r;
	int rc;

	snprintf(country, sizeof(country), "%s", o->country ? o->country : "");
	snprintf(namebuf, sizeof(namebuf), "%s", name);
	if (add) {
		Namegen__V1__AddFavoriteRequest q;

		namegen__v1__add_favorite_request__init(&q);
		q.name = namebuf;
		q.country = country;
		q.gender = (Namegen__V1__Gender)o->gender;
		rc = auth_cli_call(o, "AddFavorite", &q.base, true, &r);
		if (rc == CLI_EXIT_OK)
			printf(
			    "%s\n",
			    ((Namegen__V1__AddFavoriteReply *)r.body)->created
				? "added"
				: "already a favorite");
	} else {
		Namegen__V1__RemoveFavoriteRequest q;

		namegen__v1__remove_favorite_request__init(&q);
		q.name = namebuf;
		q.country = country;
		q.gender = (Namegen__V1__Gender)o->gender;
		rc = auth_cli_call(o, "RemoveFavorite", &q.base, true, &r);
		if (rc == CLI_EXIT_OK)
			printf("%s\n",
			       ((Namegen__V1__RemoveFavoriteReply *)r.body)
				       ->removed
				   ? "removed"
				   : "was not a favorite");
	}
	rpc_reply_clear(&r);
	return rc;
}

static int auth_cli_favorites(const struct auth_cli *o, int argc, char **argv)
{
	if (argc == 0 || (argc == 1 && strcmp(argv[0], "list") == 0))
		return auth_cli_fav_list(o);
	if (argc == 2 &&
	    (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "remove") == 0))
		return auth_cli_fav_change(o, argv[0][0] == 'a', argv[1]);
	fprintf(stderr, "usage: namegen-cli auth favorites [list] | add NAME "
			"| remove NAME\n");
	return CLI_EXIT_USAGE;
}

/* auth_cli_gender_opt reads --gender; -1 when it is none of M, F, any. */
static int auth_cli_gender_opt(const char *s)
{
	if (strcasecmp(s, "m") == 0)
		return 1;
	if (strcasecmp(s, "f") == 0)
		return 2;
	if (strcasecmp(s, "any") == 0)
		return 0;
	fprintf(stderr, "namegen-cli: --gender wants M, F or any\n");
	return -1;
}

int cli_auth(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"addr", required_argument, NULL, 'a'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"limit", required_argument, NULL, 'l'},
	    {"cursor", required_argument, NULL, 'c'},
	    {"country", required_argument, NULL, 'C'},
	    {"gender", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct auth_cli o = {.timeout_ms = 10000};
	const char *cmd;
	int c, n;

	o.token = getenv("NAMEGEN_SESSION");
	/* GNU getopt moves the words after the options, so options may
	 * stand anywhere: "favorites add Ana --country SE" */
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			o.url = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'a':
			o.addr = optarg;
			break;
		case 'T':
			if (!cli_parse_long("--timeout", optarg, 1, 600000,
					    &o.timeout_ms))
				return CLI_EXIT_USAGE;
			break;
		case 'l':
			if (!cli_parse_long("--limit", optarg, 1, 100,
					    &o.limit))
				return CLI_EXIT_USAGE;
			break;
		case 'c':
			o.cursor = optarg;
			break;
		case 'C':
			o.country = optarg;
			break;
		case 'g':
			o.gender = auth_cli_gender_opt(optarg);
			if (o.gender < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'h':
			auth_cli_usage(stdout);
			return CLI_EXIT_OK;
		default:
			auth_cli_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		auth_cli_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[optind];
	n = argc - optind - 1;
	argv += optind + 1;
	if (strcmp(cmd, "register") == 0)
		return auth_cli_register(&o, n, argv);
	if (strcmp(cmd, "login") == 0)
		return auth_cli_login(&o, n, argv);
	if (strcmp(cmd, "favorites") == 0)
		return auth_cli_favorites(&o, n, argv);
	if (n == 0 && strcmp(cmd, "whoami") == 0)
		return auth_cli_whoami(&o);
	if (n == 0 && strcmp(cmd, "logout") == 0)
		return auth_cli_logout(&o);
	if (n == 0 && strcmp(cmd, "passwd") == 0)
		return auth_cli_passwd(&o);
	if (n == 0 && strcmp(cmd, "delete") == 0)
		return auth_cli_delete(&o);
	fprintf(stderr, "namegen-cli: unknown auth command \"%s\"\n", cmd);
	auth_cli_usage(stderr);
	return CLI_EXIT_USAGE;
}
