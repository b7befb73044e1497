/* test_auth_service.c - the auth-service process end to end.
 *
 * Starts the real auth-service binary ($BIN/auth-service) against the
 * PostgreSQL and Redis that tests/run started (a database and a Redis
 * database number of its own), and calls it over a real nng socket with
 * a real RPC secret. Checks every method and rule, the rate limits,
 * session expiry, concurrent likes, the hash upgrade on login, what
 * DeleteAccount leaves behind (tables and Redis), a Redis and a
 * PostgreSQL restart in the middle, and a clean exit on SIGTERM.
 * Skipped (exit 77 via cmocka skip) when run outside tests/run. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "auth-service/redis.h"
#include "common/config.h"
#include "common/log.h"
#include "common/rpc_client.h"
#include "namegen.pb-c.h"

/* protobuf-c string fields are char *; literals are const here */
#define S(x) ((char *)(uintptr_t)(x))

#define T_SESSION_TTL 3
#define T_FAILS_EMAIL 3
#define T_FAILS_ADDR  6

static const ProtobufCServiceDescriptor *const svc_desc =
    &namegen__v1__auth_service__descriptor;

static struct {
	bool ready;
	char db_name[64];
	char db_url[256];
	char admin_url[256];
	char redis_url[256];
	char rpc_url[128];
	char log_path[256];
	char root[512];
	uint8_t key[RPC_KEY_BYTES];
	pid_t pid;
	struct rpc_client *cli;
	struct auth_redis *redis;
	int memlimit_kib;
} T;

/* ---------------------------------------------------------------- helpers */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* sql runs a statement on the test database and returns the first
 * column of the first row as a number (-1 when no row). */
static long long sql_num(const char *fmt, ...)
{
	char q[1024];
	va_list ap;
	PGconn *c;
	PGresult *r;
	long long v = -1;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	c = PQconnectdb(T.db_url);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("sql: %s", PQerrorMessage(c));
	r = PQexec(c, q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("sql %s: %s", q, PQerrorMessage(c));
	if (PQntuples(r) > 0)
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

static char *sql_text(const char *q)
{
	PGconn *c = PQconnectdb(T.db_url);
	PGresult *r = PQexec(c, q);
	char *s = NULL;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		s = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return s;
}

/* redis_count counts the keys matching pattern in the test's database. */
static long long redis_count(const char *pattern)
{
	struct auth_redis_cmd cmd;
	redisReply *r = NULL;
	char err[256];
	long long n;

	auth_redis_cmd_set(&cmd, "KEYS", pattern, NULL);
	if (auth_redis_exec(T.redis, &cmd, 1, &r, 2000, err, sizeof(err)) < 0)
		fail_msg("redis: %s", err);
	n = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
	freeReplyObject(r);
	return n;
}

static void redis_flush(void)
{
	struct auth_redis_cmd cmd;
	redisReply *r = NULL;
	char err[256];

	auth_redis_cmd_set(&cmd, "FLUSHDB", NULL);
	if (auth_redis_exec(T.redis, &cmd, 1, &r, 2000, err, sizeof(err)) < 0)
		fail_msg("redis: %s", err);
	freeReplyObject(r);
}

/* services runs a function of tests/lib/services.sh (pg_stop, ...). */
static void services(const char *fn)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
		 "bash -c '. \"%s/tests/lib/services.sh\" && %s'", T.root, fn);
	if (system(cmd) != 0)
		fail_msg("%s failed", fn);
}

/* call makes one sync call with an optional session and address. */
static int call(const char *method, const ProtobufCMessage *req,
		const char *token, const char *addr, struct rpc_reply *out)
{
	struct rpc_meta meta[2];
	size_t n = 0;

	if (token)
		meta[n].key = "session", meta[n++].value = token;
	if (addr)
		meta[n].key = "client-addr", meta[n++].value = addr;
	return rpc_client_call_sync(T.cli, svc_desc, method, req, meta, n,
				    8000, out);
}

/* call_status makes a call, drops the body and returns the status. */
static int call_status(const char *method, const ProtobufCMessage *req,
		       const char *token, const char *addr, char *msg,
		       size_t msglen)
{
	struct rpc_reply r;
	int st = call(method, req, token, addr, &r);

	if (msg)
		snprintf(msg, msglen, "%s", r.message);
	rpc_reply_clear(&r);
	return st;
}

/* what the last successful RegisterUser answered */
static char last_username[300], last_email[300];

static int do_register(const char *user, const char *email, const char *pw,
		       int64_t *id, char *msg)
{
	Namegen__V1__RegisterRequest q;
	struct rpc_reply r;
	int st;

	namegen__v1__register_request__init(&q);
	q.username = (char *)(uintptr_t)user;
	q.email = (char *)(uintptr_t)email;
	q.password = (char *)(uintptr_t)pw;
	st = call("RegisterUser", &q.base, NULL, NULL, &r);
	if (msg)
		strcpy(msg, r.message);
	if (st == RPC_OK) {
		Namegen__V1__User *u =
		    ((Namegen__V1__RegisterReply *)r.body)->user;

		if (id)
			*id = u->id;
		snprintf(last_username, sizeof(last_username), "%s",
			 u->username);
		snprintf(last_email, sizeof(last_email), "%s", u->email);
	}
	rpc_reply_clear(&r);
	return st;
}

/* do_login logs in; on OK copies the token (64 bytes) */
static int do_login(const char *email, const char *pw, const char *addr,
		    char *token, uint32_t *retry_after)
{
	Namegen__V1__LoginRequest q;
	struct rpc_reply r;
	int st;

	namegen__v1__login_request__init(&q);
	q.email = (char *)(uintptr_t)email;
	q.password = (char *)(uintptr_t)pw;
	st = call("Login", &q.base, NULL, addr, &r);
	if (st == RPC_OK && token)
		snprintf(token, 64, "%s",
			 ((Namegen__V1__LoginReply *)r.body)->token);
	if (st == RPC_UNAUTHENTICATED)
		assert_string_equal(r.message, "wrong email or password");
	if (retry_after)
		*retry_after = r.retry_after_s;
	rpc_reply_clear(&r);
	return st;
}

static int do_whoami(const char *token, int64_t *id, char *email)
{
	Namegen__V1__WhoAmIRequest q;
	struct rpc_reply r;
	int st;

	namegen__v1__who_am_irequest__init(&q);
	st = call("WhoAmI", &q.base, token, NULL, &r);
	if (st == RPC_OK) {
		Namegen__V1__WhoAmIReply *w = (void *)r.body;

		if (id)
			*id = w->user->id;
		if (email)
			strcpy(email, w->user->email);
	}
	rpc_reply_clear(&r);
	return st;
}

static int do_fav(const char *method, const char *token, const char *name,
		  const char *country, int gender, bool *created)
{
	Namegen__V1__AddFavoriteRequest q;
	struct rpc_reply r;
	int st;

	/* Add and Remove requests have the same fields and numbers */
	namegen__v1__add_favorite_request__init(&q);
	q.name = (char *)(uintptr_t)name;
	q.country = (char *)(uintptr_t)country;
	q.gender = (Namegen__V1__Gender)gender;
	if (strcmp(method, "RemoveFavorite") == 0) {
		Namegen__V1__RemoveFavoriteRequest rq;

		namegen__v1__remove_favorite_request__init(&rq);
		rq.name = q.name;
		rq.country = q.country;
		rq.gender = q.gender;
		st = call(method, &rq.base, token, NULL, &r);
		if (st == RPC_OK && created)
			*created = ((Namegen__V1__RemoveFavoriteReply *)r.body)
				       ->removed;
	} else {
		st = call(method, &q.base, token, NULL, &r);
		if (st == RPC_OK && created)
			*created =
			    ((Namegen__V1__AddFavoriteReply *)r.body)->created;
	}
	rpc_reply_clear(&r);
	return st;
}

/* ---------------------------------------------------- the service process */

static void service_start(int memlimit_kib)
{
	char opt[32], mem[32];
	int64_t deadline;

	snprintf(opt, sizeof(opt), "%d", T_SESSION_TTL);
	snprintf(mem, sizeof(mem), "%d", memlimit_kib);
	T.memlimit_kib = memlimit_kib;
	T.pid = fork();
	if (T.pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (T.pid == 0) {
		char bin[600];
		FILE *f = freopen(T.log_path, "a", stdout);

		(void)f;
		dup2(STDOUT_FILENO, STDERR_FILENO);
		setenv("DATABASE_URL", T.db_url, 1);
		setenv("REDIS_URL", T.redis_url, 1);
		setenv("AUTH_RPC_URL", T.rpc_url, 1);
		setenv("SESSION_TTL", opt, 1);
		setenv("PASSWORD_OPSLIMIT", "1", 1);
		setenv("PASSWORD_MEMLIMIT_KIB", mem, 1);
		setenv("LOGIN_FAILS_PER_EMAIL", "3", 1);
		setenv("LOGIN_FAILS_PER_ADDR", "6", 1);
		setenv("LOGIN_FAIL_WINDOW", "60", 1);
		setenv("REGISTER_PER_ADDR", "3", 1);
		setenv("AUTH_CONNECT_TIMEOUT_MS", "1000", 1);
		setenv("AUTH_STATEMENT_TIMEOUT_MS", "2000", 1);
		setenv("AUTH_THREADS", "6", 1);
		setenv("AUTH_DB_POOL", "4", 1);
		snprintf(bin, sizeof(bin), "%s/auth-service", getenv("BIN"));
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	/* Ready when WhoAmI without a session answers UNAUTHENTICATED. */
	deadline = now_ms() + 30000;
	while (now_ms() < deadline) {
		if (do_whoami(NULL, NULL, NULL) == RPC_UNAUTHENTICATED)
			return;
		sleep_ms(100);
	}
	fail_msg("auth-service did not become ready (see %s)", T.log_path);
}

/* service_stop sends SIGTERM and checks a clean exit within 5 s. */
static void service_stop(void)
{
	int64_t t0 = now_ms();
	int status = 0;
	pid_t p = 0;

	if (T.pid <= 0)
		return;
	kill(T.pid, SIGTERM);
	while (now_ms() - t0 < 5000 &&
	       (p = waitpid(T.pid, &status, WNOHANG)) == 0)
		sleep_ms(20);
	if (p == 0) {
		kill(T.pid, SIGKILL);
		waitpid(T.pid, &status, 0);
		T.pid = 0;
		fail_msg("auth-service did not stop within 5 s of SIGTERM");
	}
	T.pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int setup(void **state)
{
	const char *pg_port = getenv("PG_PORT"),
		   *redis_port = getenv("REDIS_PORT");
	const char *root = getenv("NAMEGEN_ROOT"), *bin = getenv("BIN");
	struct auth_redis_opts ro = {0};
	struct rpc_client_opts co = {0};
	struct config cfg = {0};
	char err[256], cmd[1024];
	bool have_key = false;
	PGconn *c;
	PGresult *r;

	(void)state;
	if (!pg_port || !redis_port || !root || !bin)
		return 0; /* not under tests/run: every test skips */
	log_threshold = LOG_ERROR;
	snprintf(T.root, sizeof(T.root), "%s", root);
	snprintf(T.db_name, sizeof(T.db_name), "auth_svc_%d", (int)getpid());
	snprintf(T.admin_url, sizeof(T.admin_url),
		 "postgres://postgres@127.0.0.1:%s/postgres", pg_port);
	snprintf(T.db_url, sizeof(T.db_url),
		 "postgres://postgres@127.0.0.1:%s/%s", pg_port, T.db_name);
	snprintf(T.redis_url, sizeof(T.redis_url), "redis://127.0.0.1:%s/3",
		 redis_port);
	snprintf(T.rpc_url, sizeof(T.rpc_url),
		 "ipc:///tmp/ng-auth-test-%d.ipc", (int)getpid());
	snprintf(T.log_path, sizeof(T.log_path), "%s/test-output/%s", root,
		 getenv("BUILD") ? getenv("BUILD") : "build");
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", T.log_path);
	if (system(cmd) != 0)
		return -1;
	snprintf(T.log_path + strlen(T.log_path),
		 sizeof(T.log_path) - strlen(T.log_path),
		 "/auth-service-under-test.log");
	unlink(T.log_path);

	/* A database of our own, migrated by the real binary. */
	c = PQconnectdb(T.admin_url);
	PQsetNoticeProcessor(c, ignore_notice, NULL);
	snprintf(cmd, sizeof(cmd), "DROP DATABASE IF EXISTS %s", T.db_name);
	PQclear(PQexec(c, cmd));
	snprintf(cmd, sizeof(cmd), "CREATE DATABASE %s", T.db_name);
	r = PQexec(c, cmd);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "create db: %s", PQerrorMessage(c));
		return -1;
	}
	PQclear(r);
	PQfinish(c);
	snprintf(cmd, sizeof(cmd),
		 "DATABASE_URL='%s' LOG_LEVEL=warn %s/auth-service --migrate",
		 T.db_url, bin);
	if (system(cmd) != 0)
		return -1;

	setenv("RPC_SECRET", "test-secret-for-the-auth-service", 1);
	if (config_rpc_secret(&cfg, T.key, &have_key) < 0 || !have_key)
		return -1;
	co.urls = T.rpc_url;
	co.key = T.key;
	co.timeout_ms = 8000;
	co.resend_ms = -1;
	if (rpc_client_open(&T.cli, &co, err, sizeof(err)) < 0)
		return -1;
	ro.url = T.redis_url;
	if (auth_redis_open(&T.redis, &ro, err, sizeof(err)) < 0)
		return -1;
	redis_flush();
	service_start(1024);
	T.ready = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (T.pid > 0) {
		kill(T.pid, SIGKILL);
		waitpid(T.pid, NULL, 0);
	}
	rpc_client_close(T.cli);
	auth_redis_close(T.redis);
	return 0;
}

#define NEED_SERVICE()                                                        \
	do {                                                                  \
		if (!T.ready)                                                 \
			skip();                                               \
	} while (0)

/* ------------------------------------------------------------------ tests */

static void test_register_login_whoami_logout(void **state)
{
	char token[64], token2[64], email[300], msg[300];
	int64_t id = 0, who = 0;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(do_register("Ada", "  Ada@Example.ORG ",
				     "correct horse", &id, msg),
			 RPC_OK);
	assert_true(id > 0);
	assert_string_equal(last_username, "Ada");
	assert_string_equal(last_email, "ada@example.org");
	assert_int_equal(sql_num("SELECT count(*) FROM users WHERE email = "
				 "'ada@example.org'"),
			 1);
	/* the stored hash is Argon2id, never the password */
	assert_int_equal(sql_num("SELECT count(*) FROM users WHERE "
				 "password_hash LIKE '$argon2id$%%' AND "
				 "position('correct horse' in password_hash) "
				 "= 0"),
			 1);
	assert_int_equal(do_register("Other", "ada@EXAMPLE.org",
				     "another password", NULL, msg),
			 RPC_ALREADY_EXISTS);

	assert_int_equal(
	    do_login("ADA@example.org", "correct horse", NULL, token, NULL),
	    RPC_OK);
	assert_int_equal(strlen(token), 43);
	assert_int_equal(do_whoami(token, &who, email), RPC_OK);
	assert_true(who == id);
	assert_string_equal(email, "ada@example.org");
	/* Redis holds the hash of the token, never the token */
	assert_int_equal(redis_count("ng:sess:*"), 1);
	{
		char pat[80];

		snprintf(pat, sizeof(pat), "*%s*", token);
		assert_int_equal(redis_count(pat), 0);
	}

	/* a second login gives another token; both work */
	assert_int_equal(
	    do_login("ada@example.org", "correct horse", NULL, token2, NULL),
	    RPC_OK);
	assert_string_not_equal(token, token2);
	assert_int_equal(do_whoami(token2, NULL, NULL), RPC_OK);

	{
		Namegen__V1__LogoutRequest q;

		namegen__v1__logout_request__init(&q);
		assert_int_equal(
		    call_status("Logout", &q.base, token, NULL, NULL, 0),
		    RPC_OK);
		assert_int_equal(
		    call_status("Logout", &q.base, NULL, NULL, NULL, 0),
		    RPC_UNAUTHENTICATED);
	}
	assert_int_equal(do_whoami(token, NULL, NULL), RPC_UNAUTHENTICATED);
	assert_int_equal(do_whoami(token2, NULL, NULL), RPC_OK);
	assert_int_equal(do_whoami("not-a-token", NULL, NULL),
			 RPC_UNAUTHENTICATED);
	assert_int_equal(do_whoami(NULL, NULL, NULL), RPC_UNAUTHENTICATED);
}

static void test_bad_input_names_the_field(void **state)
{
	static const struct {
		const char *user, *email, *pw, *field;
	} cases[] = {
	    {"", "a@b.io", "password1", "username"},
	    {"x", "", "password1", "email"},
	    {"x", "no-at-sign", "password1", "email"},
	    {"x", "a@@b.io", "password1", "email"},
	    {"x", "a@localhost", "password1", "email"},
	    {"x", "a b@c.io", "password1", "email"},
	    {"x", "a@b.io", "short", "password"},
	    {"ctl\x01", "a@b.io", "password1", "username"},
	    {"\xff\xfe", "a@b.io", "password1", "username"},
	};
	char msg[300], longname[80], longpw[1100];
	size_t i;

	(void)state;
	NEED_SERVICE();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(do_register(cases[i].user, cases[i].email,
					     cases[i].pw, NULL, msg),
				 RPC_INVALID_ARGUMENT);
		if (strncmp(msg, cases[i].field, strlen(cases[i].field)))
			fail_msg("case %zu: '%s' does not name %s", i, msg,
				 cases[i].field);
	}
	memset(longname, 'a', 65);
	longname[65] = '\0';
	assert_int_equal(
	    do_register(longname, "a@b.io", "password1", NULL, msg),
	    RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "username"));
	/* 64 characters of two bytes each are fine */
	{
		char utf[200] = "";

		for (i = 0; i < 64; i++)
			strcat(utf, "\xc3\xa9");
		assert_int_equal(
		    do_register(utf, "utf@b.io", "password1", NULL, msg),
		    RPC_OK);
	}
	memset(longpw, 'p', 1025);
	longpw[1025] = '\0';
	assert_int_equal(do_register("x", "a@b.io", longpw, NULL, msg),
			 RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "password"));
	longpw[1024] = '\0';
	assert_int_equal(do_register("x", "longpw@b.io", longpw, NULL, msg),
			 RPC_OK);
	assert_int_equal(do_login("longpw@b.io", longpw, NULL, NULL, NULL),
			 RPC_OK);
	assert_int_equal(
	    do_login("not an email", "password1", NULL, NULL, NULL),
	    RPC_INVALID_ARGUMENT);
}

static void test_login_failures_look_the_same(void **state)
{
	char m1[300], m2[300];
	Namegen__V1__LoginRequest q;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(do_register("Bob", "bob@example.org",
				     "bob's password", NULL, NULL),
			 RPC_OK);
	namegen__v1__login_request__init(&q);
	q.email = S("bob@example.org");
	q.password = S("wrong password");
	assert_int_equal(
	    call_status("Login", &q.base, NULL, "10.0.0.1", m1, sizeof(m1)),
	    RPC_UNAUTHENTICATED);
	q.email = S("nobody@example.org");
	assert_int_equal(
	    call_status("Login", &q.base, NULL, "10.0.0.1", m2, sizeof(m2)),
	    RPC_UNAUTHENTICATED);
	assert_string_equal(m1, m2);
}

static void test_rate_limits(void **state)
{
	uint32_t wait = 0;
	char addr[32];
	int i;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Eve", "eve@example.org", "eve's secret", NULL, NULL),
	    RPC_OK);
	/* per email: T_FAILS_EMAIL failures, then refused, even with the
	 * right password, with the seconds to wait */
	for (i = 0; i < T_FAILS_EMAIL; i++)
		assert_int_equal(do_login("eve@example.org", "bad password",
					  "10.1.0.1", NULL, NULL),
				 RPC_UNAUTHENTICATED);
	assert_int_equal(do_login("eve@example.org", "eve's secret",
				  "10.1.0.2", NULL, &wait),
			 RPC_RESOURCE_EXHAUSTED);
	assert_true(wait >= 1 && wait <= 60);
	/* an unknown email is limited the same way */
	for (i = 0; i < T_FAILS_EMAIL; i++)
		assert_int_equal(do_login("ghost@example.org", "bad password",
					  "10.1.0.3", NULL, NULL),
				 RPC_UNAUTHENTICATED);
	assert_int_equal(do_login("ghost@example.org", "bad password",
				  "10.1.0.4", NULL, &wait),
			 RPC_RESOURCE_EXHAUSTED);

	/* per address: T_FAILS_ADDR failures over many emails */
	for (i = 0; i < T_FAILS_ADDR; i++) {
		snprintf(addr, sizeof(addr), "u%d@example.org", i);
		assert_int_equal(
		    do_login(addr, "bad password", "10.2.0.1", NULL, NULL),
		    RPC_UNAUTHENTICATED);
	}
	assert_int_equal(do_login("fresh@example.org", "bad password",
				  "10.2.0.1", NULL, &wait),
			 RPC_RESOURCE_EXHAUSTED);
	assert_true(wait >= 1);
	/* another address is not affected */
	assert_int_equal(do_login("fresh@example.org", "bad password",
				  "10.2.0.2", NULL, NULL),
			 RPC_UNAUTHENTICATED);
	/* the counters hold hashes, not the email or the address */
	assert_int_equal(redis_count("*eve@example.org*"), 0);
	assert_int_equal(redis_count("*10.2.0.1*"), 0);
	assert_true(redis_count("ng:rl:*") > 0);
}

/* register_from creates an account as the gateway would, with the end
 * user's address. */
static int register_from(const char *addr, const char *email, uint32_t *wait)
{
	Namegen__V1__RegisterRequest q;
	struct rpc_reply r;
	int st;

	namegen__v1__register_request__init(&q);
	q.username = S("Many");
	q.email = (char *)(uintptr_t)email;
	q.password = S("many secrets");
	st = call("RegisterUser", &q.base, NULL, addr, &r);
	*wait = r.retry_after_s;
	rpc_reply_clear(&r);
	return st;
}

static void test_registrations_per_address_are_limited(void **state)
{
	uint32_t wait = 0;
	char email[64];
	int i;

	(void)state;
	NEED_SERVICE();
	for (i = 0; i < 3; i++) {
		snprintf(email, sizeof(email), "many%d@example.org", i);
		assert_int_equal(register_from("10.3.0.1", email, &wait),
				 RPC_OK);
	}
	assert_int_equal(register_from("10.3.0.1", "many9@example.org", &wait),
			 RPC_RESOURCE_EXHAUSTED);
	assert_true(wait >= 1 && wait <= 3600);
	assert_int_equal(sql_num("SELECT count(*) FROM users WHERE email = "
				 "'many9@example.org'"),
			 0);
	assert_int_equal(register_from("10.3.0.2", "many9@example.org", &wait),
			 RPC_OK);
}

static void test_session_expiry_slides(void **state)
{
	char token[64];
	int i;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Tim", "tim@example.org", "tim's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("tim@example.org", "tim's secret", NULL, token, NULL),
	    RPC_OK);
	/* used every second, it outlives its TTL */
	for (i = 0; i < T_SESSION_TTL + 2; i++) {
		sleep_ms(1000);
		assert_int_equal(do_whoami(token, NULL, NULL), RPC_OK);
	}
	/* left alone past the TTL, it is gone */
	sleep_ms((T_SESSION_TTL + 1) * 1000);
	assert_int_equal(do_whoami(token, NULL, NULL), RPC_UNAUTHENTICATED);
}

static void test_change_password_ends_other_sessions(void **state)
{
	Namegen__V1__ChangePasswordRequest q;
	char a[64], b[64], c[64], msg[300];
	struct rpc_reply r;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Cy", "cy@example.org", "first password", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("cy@example.org", "first password", NULL, a, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("cy@example.org", "first password", NULL, b, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("cy@example.org", "first password", NULL, c, NULL),
	    RPC_OK);
	namegen__v1__change_password_request__init(&q);
	q.old_password = S("not the password");
	q.new_password = S("second password");
	assert_int_equal(
	    call_status("ChangePassword", &q.base, a, NULL, msg, sizeof(msg)),
	    RPC_PERMISSION_DENIED);
	q.old_password = S("first password");
	q.new_password = S("short");
	assert_int_equal(
	    call_status("ChangePassword", &q.base, a, NULL, msg, sizeof(msg)),
	    RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "new_password"));
	q.new_password = S("second password");
	assert_int_equal(
	    call_status("ChangePassword", &q.base, NULL, NULL, NULL, 0),
	    RPC_UNAUTHENTICATED);
	assert_int_equal(call("ChangePassword", &q.base, a, NULL, &r), RPC_OK);
	assert_int_equal(
	    ((Namegen__V1__ChangePasswordReply *)r.body)->sessions_ended, 2);
	rpc_reply_clear(&r);
	assert_int_equal(do_whoami(a, NULL, NULL), RPC_OK);
	assert_int_equal(do_whoami(b, NULL, NULL), RPC_UNAUTHENTICATED);
	assert_int_equal(do_whoami(c, NULL, NULL), RPC_UNAUTHENTICATED);
	assert_int_equal(
	    do_login("cy@example.org", "first password", NULL, NULL, NULL),
	    RPC_UNAUTHENTICATED);
	assert_int_equal(
	    do_login("cy@example.org", "second password", NULL, NULL, NULL),
	    RPC_OK);
}

static void test_favorites(void **state)
{
	Namegen__V1__ListFavoritesRequest lq;
	char a[64], b[64], cursor[64] = "", msg[300];
	const char *names[] = {"Anna", "Björn", "Chloé", "Dmitri", "Eun-ji"};
	struct rpc_reply r;
	bool created = false;
	int i, seen = 0;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Fay", "fay@example.org", "fay's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_register("Gus", "gus@example.org", "gus's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("fay@example.org", "fay's secret", NULL, a, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("gus@example.org", "gus's secret", NULL, b, NULL),
	    RPC_OK);
	for (i = 0; i < 5; i++) {
		assert_int_equal(
		    do_fav("AddFavorite", a, names[i], "se", 2, &created),
		    RPC_OK);
		assert_true(created);
	}
	/* liking twice is fine and stores one row */
	assert_int_equal(do_fav("AddFavorite", a, "Anna", "SE", 2, &created),
			 RPC_OK);
	assert_false(created);
	assert_int_equal(sql_num("SELECT count(*) FROM favorites f JOIN users"
				 " u ON u.id = f.user_id WHERE u.email = "
				 "'fay@example.org'"),
			 5);
	/* the same name for another country is another favorite */
	assert_int_equal(do_fav("AddFavorite", a, "Anna", "", 0, &created),
			 RPC_OK);
	assert_true(created);
	/* Gus likes Anna too: one names row, his own favorite */
	assert_int_equal(do_fav("AddFavorite", b, "Anna", "SE", 2, &created),
			 RPC_OK);
	assert_true(created);
	assert_int_equal(sql_num("SELECT count(*) FROM names WHERE name = "
				 "'Anna' AND country = 'SE'"),
			 1);

	/* bad input */
	assert_int_equal(do_fav("AddFavorite", a, "", "SE", 2, NULL),
			 RPC_INVALID_ARGUMENT);
	assert_int_equal(do_fav("AddFavorite", a, "Zed", "SWE", 2, NULL),
			 RPC_INVALID_ARGUMENT);
	assert_int_equal(do_fav("AddFavorite", a, "Zed", "SE", 7, NULL),
			 RPC_INVALID_ARGUMENT);
	assert_int_equal(do_fav("AddFavorite", NULL, "Zed", "SE", 1, NULL),
			 RPC_UNAUTHENTICATED);

	/* newest first, two at a time, with cursors */
	namegen__v1__list_favorites_request__init(&lq);
	lq.limit = 2;
	do {
		Namegen__V1__ListFavoritesReply *lr;

		lq.cursor = cursor;
		assert_int_equal(call("ListFavorites", &lq.base, a, NULL, &r),
				 RPC_OK);
		lr = (void *)r.body;
		assert_true(lr->n_favorites <= 2);
		for (i = 0; i < (int)lr->n_favorites; i++, seen++) {
			/* order: Anna(any), Eun-ji, Dmitri, Chloé, Björn,
			 * Anna(SE) */
			const char *want =
			    seen == 0 ? "Anna" : names[5 - seen];

			assert_string_equal(lr->favorites[i]->name, want);
		}
		snprintf(cursor, sizeof(cursor), "%s", lr->next_cursor);
		rpc_reply_clear(&r);
	} while (cursor[0] && seen < 50);
	assert_int_equal(seen, 6);

	/* Gus sees only his own */
	lq.limit = 0;
	lq.cursor = S("");
	assert_int_equal(call("ListFavorites", &lq.base, b, NULL, &r), RPC_OK);
	assert_int_equal(
	    ((Namegen__V1__ListFavoritesReply *)r.body)->n_favorites, 1);
	rpc_reply_clear(&r);
	lq.limit = 101;
	assert_int_equal(
	    call_status("ListFavorites", &lq.base, b, NULL, msg, sizeof(msg)),
	    RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "limit"));
	lq.limit = 5;
	lq.cursor = S("garbage");
	assert_int_equal(
	    call_status("ListFavorites", &lq.base, b, NULL, msg, sizeof(msg)),
	    RPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "cursor"));

	/* Gus removing Fay's Björn removes nothing */
	assert_int_equal(
	    do_fav("RemoveFavorite", b, "Björn", "SE", 2, &created), RPC_OK);
	assert_false(created);
	assert_int_equal(
	    do_fav("RemoveFavorite", a, "Björn", "SE", 2, &created), RPC_OK);
	assert_true(created);
	assert_int_equal(
	    do_fav("RemoveFavorite", a, "Björn", "SE", 2, &created), RPC_OK);
	assert_false(created);
}

struct liker {
	const char *token;
	int status;
	bool created;
};

static void *liker_main(void *arg)
{
	struct liker *l = arg;

	l->status =
	    do_fav("AddFavorite", l->token, "Same Name", "IT", 1, &l->created);
	return NULL;
}

static void test_concurrent_likes_store_one_row(void **state)
{
	struct liker likers[16];
	pthread_t th[16];
	char token[64];
	int i, created = 0;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Hal", "hal@example.org", "hal's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("hal@example.org", "hal's secret", NULL, token, NULL),
	    RPC_OK);
	for (i = 0; i < 16; i++) {
		likers[i].token = token;
		pthread_create(&th[i], NULL, liker_main, &likers[i]);
	}
	for (i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(likers[i].status, RPC_OK);
		created += likers[i].created;
	}
	assert_int_equal(created, 1);
	assert_int_equal(sql_num("SELECT count(*) FROM favorites f JOIN names"
				 " n ON n.id = f.name_id WHERE n.name = "
				 "'Same Name'"),
			 1);
	assert_int_equal(sql_num("SELECT count(*) FROM names WHERE name = "
				 "'Same Name'"),
			 1);
}

static void test_delete_account_leaves_nothing(void **state)
{
	Namegen__V1__DeleteAccountRequest q;
	char a[64], b[64], pat[64];
	int64_t id = 0;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Ivy", "ivy@example.org", "ivy's secret", &id, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("ivy@example.org", "ivy's secret", NULL, a, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("ivy@example.org", "ivy's secret", NULL, b, NULL),
	    RPC_OK);
	assert_int_equal(do_fav("AddFavorite", a, "Iris", "", 2, NULL),
			 RPC_OK);
	assert_int_equal(do_fav("AddFavorite", a, "Ines", "ES", 2, NULL),
			 RPC_OK);
	namegen__v1__delete_account_request__init(&q);
	q.password = S("wrong password");
	assert_int_equal(
	    call_status("DeleteAccount", &q.base, a, NULL, NULL, 0),
	    RPC_PERMISSION_DENIED);
	assert_int_equal(sql_num("SELECT count(*) FROM users WHERE id = %lld",
				 (long long)id),
			 1);
	q.password = S("ivy's secret");
	assert_int_equal(
	    call_status("DeleteAccount", &q.base, a, NULL, NULL, 0), RPC_OK);
	assert_int_equal(sql_num("SELECT count(*) FROM users WHERE id = %lld",
				 (long long)id),
			 0);
	assert_int_equal(sql_num("SELECT count(*) FROM favorites WHERE "
				 "user_id = %lld",
				 (long long)id),
			 0);
	snprintf(pat, sizeof(pat), "ng:usess:%lld", (long long)id);
	assert_int_equal(redis_count(pat), 0);
	assert_int_equal(do_whoami(a, NULL, NULL), RPC_UNAUTHENTICATED);
	assert_int_equal(do_whoami(b, NULL, NULL), RPC_UNAUTHENTICATED);
	assert_int_equal(
	    do_login("ivy@example.org", "ivy's secret", NULL, NULL, NULL),
	    RPC_UNAUTHENTICATED);
	/* an account whose row went but whose sessions stayed (a Redis
	 * failure during deletion): asking again clears them */
	assert_int_equal(
	    do_register("Jo", "jo@example.org", "jo's secret", &id, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("jo@example.org", "jo's secret", NULL, a, NULL), RPC_OK);
	assert_int_equal(sql_num("WITH d AS (DELETE FROM users WHERE id = "
				 "%lld RETURNING 1) SELECT count(*) FROM d",
				 (long long)id),
			 1);
	assert_int_equal(do_whoami(a, NULL, NULL), RPC_OK);
	q.password = S("jo's secret");
	assert_int_equal(
	    call_status("DeleteAccount", &q.base, a, NULL, NULL, 0),
	    RPC_UNAUTHENTICATED);
	assert_int_equal(do_whoami(a, NULL, NULL), RPC_UNAUTHENTICATED);
	/* the email is free again */
	assert_int_equal(
	    do_register("Ivy", "ivy@example.org", "new secret!", NULL, NULL),
	    RPC_OK);
}

static void test_hash_upgraded_on_login(void **state)
{
	char *before, *after;
	char pattern[64];

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Kim", "kim@example.org", "kim's secret", NULL, NULL),
	    RPC_OK);
	before = sql_text("SELECT password_hash FROM users WHERE email = "
			  "'kim@example.org'");
	assert_non_null(before);
	snprintf(pattern, sizeof(pattern), "$m=%d,", T.memlimit_kib);
	assert_non_null(strstr(before, pattern));

	/* restart with higher limits: the next login rehashes */
	service_stop();
	service_start(T.memlimit_kib * 2);
	assert_int_equal(
	    do_login("kim@example.org", "kim's secret", NULL, NULL, NULL),
	    RPC_OK);
	after = sql_text("SELECT password_hash FROM users WHERE email = "
			 "'kim@example.org'");
	assert_non_null(after);
	snprintf(pattern, sizeof(pattern), "$m=%d,", T.memlimit_kib);
	assert_non_null(strstr(after, pattern));
	assert_string_not_equal(before, after);
	assert_int_equal(
	    do_login("kim@example.org", "kim's secret", NULL, NULL, NULL),
	    RPC_OK);
	free(before);
	free(after);
}

/* recover_within polls WhoAmI until it is no longer UNAVAILABLE. */
static int login_until_ok(const char *email, const char *pw, char *token,
			  int ms)
{
	int64_t deadline = now_ms() + ms;
	int st;

	do {
		st = do_login(email, pw, NULL, token, NULL);
		if (st == RPC_OK)
			return st;
		sleep_ms(200);
	} while (now_ms() < deadline);
	return st;
}

static void test_redis_restart(void **state)
{
	char token[64];
	int64_t t0;
	int st;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Lou", "lou@example.org", "lou's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("lou@example.org", "lou's secret", NULL, token, NULL),
	    RPC_OK);
	services("redis_stop");
	/* calls fail quickly with UNAVAILABLE, not at their deadline */
	t0 = now_ms();
	st = do_whoami(token, NULL, NULL);
	assert_int_equal(st, RPC_UNAVAILABLE);
	assert_true(now_ms() - t0 < 4000);
	assert_int_equal(
	    do_login("lou@example.org", "lou's secret", NULL, NULL, NULL),
	    RPC_UNAVAILABLE);
	services("redis_start");
	/* Redis lost its data (no persistence in tests): log in again */
	assert_int_equal(
	    login_until_ok("lou@example.org", "lou's secret", token, 10000),
	    RPC_OK);
	assert_int_equal(do_whoami(token, NULL, NULL), RPC_OK);
	assert_int_equal(do_fav("AddFavorite", token, "Luna", "", 0, NULL),
			 RPC_OK);
}

static void test_postgres_restart(void **state)
{
	char token[64];
	int64_t t0;
	bool created;
	int st, i;

	(void)state;
	NEED_SERVICE();
	assert_int_equal(
	    do_register("Max", "max@example.org", "max's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("max@example.org", "max's secret", NULL, token, NULL),
	    RPC_OK);
	assert_int_equal(do_fav("AddFavorite", token, "Mia", "", 0, NULL),
			 RPC_OK);
	services("pg_stop");
	t0 = now_ms();
	st = do_fav("AddFavorite", token, "Mila", "", 0, NULL);
	assert_int_equal(st, RPC_UNAVAILABLE);
	assert_true(now_ms() - t0 < 4000);
	/* sessions live in Redis: WhoAmI keeps working */
	assert_int_equal(do_whoami(token, NULL, NULL), RPC_OK);
	services("pg_start");
	for (i = 0, st = -1; i < 50 && st != RPC_OK; i++) {
		st = do_fav("AddFavorite", token, "Mila", "", 0, &created);
		if (st != RPC_OK)
			sleep_ms(200);
	}
	assert_int_equal(st, RPC_OK);
	/* what was answered OK before the restart is still there */
	assert_int_equal(
	    sql_num("SELECT count(*) FROM favorites f JOIN names"
		    " n ON n.id = f.name_id JOIN users u ON u.id ="
		    " f.user_id WHERE u.email = 'max@example.org'"
		    " AND n.name IN ('Mia', 'Mila')"),
	    2);
}

struct login_wave {
	atomic_int done;
	atomic_int ok;
	int64_t last_done_ms;
	pthread_mutex_t lock;
	pthread_cond_t cv;
};

static void login_wave_done(void *arg, struct rpc_reply *reply)
{
	struct login_wave *w = arg;

	pthread_mutex_lock(&w->lock);
	if (reply->status == RPC_OK)
		atomic_fetch_add(&w->ok, 1);
	w->last_done_ms = now_ms();
	atomic_fetch_add(&w->done, 1);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

/* Password hashes run on their own small pool: with a queue of slow
 * logins in front of it, WhoAmI is still answered at once. */
static void test_hashing_never_blocks_whoami(void **state)
{
	struct login_wave w = {.lock = PTHREAD_MUTEX_INITIALIZER,
			       .cv = PTHREAD_COND_INITIALIZER};
	Namegen__V1__LoginRequest q;
	char token[64];
	int64_t whoami_done;
	int i, done_at_whoami;
	enum { LOGINS = 16 };

	(void)state;
	NEED_SERVICE();
	/* 32 MiB per hash: tens of milliseconds each, two at a time */
	service_stop();
	service_start(32 * 1024);
	assert_int_equal(
	    do_register("Nia", "nia@example.org", "nia's secret", NULL, NULL),
	    RPC_OK);
	assert_int_equal(
	    do_login("nia@example.org", "nia's secret", NULL, token, NULL),
	    RPC_OK);
	namegen__v1__login_request__init(&q);
	q.email = S("nia@example.org");
	q.password = S("nia's secret");
	for (i = 0; i < LOGINS; i++)
		assert_int_equal(rpc_client_call(T.cli, svc_desc, "Login",
						 &q.base, NULL, 0, 20000,
						 login_wave_done, &w),
				 0);
	assert_int_equal(do_whoami(token, NULL, NULL), RPC_OK);
	whoami_done = now_ms();
	done_at_whoami = atomic_load(&w.done);
	pthread_mutex_lock(&w.lock);
	while (atomic_load(&w.done) < LOGINS)
		pthread_cond_wait(&w.cv, &w.lock);
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(atomic_load(&w.ok), LOGINS);
	if (done_at_whoami >= LOGINS / 2 || whoami_done >= w.last_done_ms)
		fail_msg("WhoAmI waited for hashes: %d of %d logins were done "
			 "before it",
			 done_at_whoami, LOGINS);
}

static void test_sigterm_exits_cleanly(void **state)
{
	(void)state;
	NEED_SERVICE();
	service_stop();
	T.ready = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_login_whoami_logout),
	    cmocka_unit_test(test_bad_input_names_the_field),
	    cmocka_unit_test(test_login_failures_look_the_same),
	    cmocka_unit_test(test_rate_limits),
	    cmocka_unit_test(test_change_password_ends_other_sessions),
	    cmocka_unit_test(test_favorites),
	    cmocka_unit_test(test_concurrent_likes_store_one_row),
	    cmocka_unit_test(test_delete_account_leaves_nothing),
	    cmocka_unit_test(test_registrations_per_address_are_limited),
	    cmocka_unit_test(test_session_expiry_slides),
	    cmocka_unit_test(test_hash_upgraded_on_login),
	    cmocka_unit_test(test_redis_restart),
	    cmocka_unit_test(test_postgres_restart),
	    cmocka_unit_test(test_hashing_never_blocks_whoami),
	    cmocka_unit_test(test_sigterm_exits_cleanly),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
