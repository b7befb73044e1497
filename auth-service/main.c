/* main.c - the auth-service process: wiring, start-up, shutdown.
 *
 *   auth-service            serve AuthService on AUTH_RPC_URL
 *   auth-service --migrate  apply the SQL migrations and exit (release
 *                           phase); 0 on success, 1 on failure
 *
 * Configuration comes from the environment (see .env.example, block
 * "auth-service"). SIGTERM or SIGINT: stop taking calls, let the calls in
 * progress finish (a few seconds at most), exit 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth-service/db.h"
#include "auth-service/migrate.h"
#include "auth-service/password.h"
#include "auth-service/redis.h"
#include "auth-service/service.h"
#include "auth-service/workpool.h"
#include "common/config.h"
#include "common/log.h"
#include "common/rpc_server.h"

/* LOGQ(s) is s as a logfmt value (quoted and escaped when needed), in a
 * buffer that lives until the end of the enclosing statement's block. */
#define LOGQ_MAX 400
#define LOGQ(s)	 log_quote((char[LOGQ_MAX]){0}, LOGQ_MAX, (s))

#define MAIN_ERR_MAX	    512
#define MAIN_BACKOFF_MIN_MS 250
#define MAIN_BACKOFF_MAX_MS 8000
#define MAIN_DRAIN_MS	    5000

struct main_cfg {
	const char *rpc_url, *db_url, *redis_url;
	uint8_t key[RPC_KEY_BYTES];
	bool have_key;
	long threads, contexts, hash_threads, hash_queue;
	long db_pool, redis_pool, redis_pipes, connect_ms, statement_ms;
	long session_ttl, session_max_age, sessions_max;
	long opslimit, memlimit_kib;
	long fails_email, fails_addr, fail_window;
	long register_max, register_window;
	long migrate_wait_s;
};

static sigset_t main_signals;

/* main_sleep waits ms, or returns 1 at once when SIGTERM/SIGINT came. */
static int main_sleep(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	siginfo_t si;

	return sigtimedwait(&main_signals, &si, &ts) > 0;
}

static void main_read_config(struct main_cfg *c, bool migrate_only)
{
	struct config cfg = {0};

	c->db_url = config_str(&cfg, "DATABASE_URL", NULL);
	c->migrate_wait_s = config_int(&cfg, "AUTH_MIGRATE_WAIT", 60, 0, 3600);
	c->connect_ms =
	    config_int(&cfg, "AUTH_CONNECT_TIMEOUT_MS", 3000, 100, 60000);
	c->statement_ms =
	    config_int(&cfg, "AUTH_STATEMENT_TIMEOUT_MS", 5000, 100, 600000);
	if (migrate_only) {
		config_exit_on_error(&cfg);
		return;
	}
	c->rpc_url = config_str(&cfg, "AUTH_RPC_URL", NULL);
	c->redis_url = config_str(&cfg, "REDIS_URL", NULL);
	config_rpc_secret(&cfg, c->key, &c->have_key);
	c->threads = config_int(&cfg, "AUTH_THREADS", 8, 1, 256);
	c->contexts = config_int(&cfg, "AUTH_CONTEXTS", 128, 1, 4096);
	c->hash_threads = config_int(&cfg, "AUTH_HASH_THREADS", 2, 1, 64);
	c->hash_queue = config_int(&cfg, "AUTH_HASH_QUEUE", 256, 1, 65536);
	c->db_pool = config_int(&cfg, "AUTH_DB_POOL", 5, 1, 100);
	c->redis_pool = config_int(&cfg, "AUTH_REDIS_POOL", 16, 1, 256);
	c->redis_pipes = config_int(&cfg, "AUTH_REDIS_PIPELINES", 2, 1,
				    AUTH_REDIS_PIPES_MAX);
	c->session_ttl = config_int(&cfg, "SESSION_TTL", 1209600, 1, 31536000);
	c->session_max_age =
	    config_int(&cfg, "SESSION_MAX_AGE", 2592000, 1, 315360000);
	c->sessions_max =
	    config_int(&cfg, "AUTH_SESSIONS_PER_USER", 20, 1, 1000);
	c->opslimit = config_int(&cfg, "PASSWORD_OPSLIMIT",
				 (long)AUTH_PW_OPSLIMIT_DEFAULT, 1, 100);
	c->memlimit_kib =
	    config_int(&cfg, "PASSWORD_MEMLIMIT_KIB",
		       AUTH_PW_MEMLIMIT_DEFAULT / 1024, 8, 4 * 1024 * 1024);
	c->fails_email =
	    config_int(&cfg, "LOGIN_FAILS_PER_EMAIL", 5, 1, 1000000);
	c->fails_addr =
	    config_int(&cfg, "LOGIN_FAILS_PER_ADDR", 50, 1, 1000000);
	c->fail_window = config_int(&cfg, "LOGIN_FAIL_WINDOW", 900, 1, 86400);
	c->register_max =
	    config_int(&cfg, "REGISTER_PER_ADDR", 20, 1, 1000000);
	c->register_window =
	    config_int(&cfg, "REGISTER_WINDOW", 3600, 1, 86400);
	if (!cfg.failed && c->session_max_age < c->session_ttl)
		config_fail(&cfg,
			    "SESSION_MAX_AGE (%ld) must be at least "
			    "SESSION_TTL (%ld)",
			    c->session_max_age, c->session_ttl);
	if (!cfg.failed && c->rpc_url[0]) {
		char err[CONFIG_ERR_MAX];

		if (config_check_nng_urls(c->rpc_url, 1, err, sizeof(err)) < 0)
			config_fail(&cfg, "AUTH_RPC_URL: %s", err);
	}
	config_exit_on_error(&cfg);
}

/* main_wait_db opens the pool and waits for PostgreSQL, one log line per
 * failed try with a growing pause. give_up_s 0 waits forever. Returns 0,
 * or -1 on a signal, a bad URL or when give_up_s passed. */
static int main_wait_db(struct auth_db **db, const struct main_cfg *c,
			int pool, long give_up_s)
{
	struct auth_db_opts o = {
	    .url = c->db_url,
	    .pool_size = pool,
	    .connect_timeout_ms = (int)c->connect_ms,
	    .statement_timeout_ms = (int)c->statement_ms,
	};
	char err[MAIN_ERR_MAX];
	time_t start = time(NULL);
	int pause = MAIN_BACKOFF_MIN_MS, attempt = 1;

	if (auth_db_open(db, &o, err, sizeof(err)) < 0) {
		log_error("bad DATABASE_URL", "reason=%s", LOGQ(err));
		return -1;
	}
	while (auth_db_ping(*db, (int)c->connect_ms, err, sizeof(err)) < 0) {
		log_warn("PostgreSQL not reachable, retrying",
			 "attempt=%d retry_in_ms=%d reason=%s", attempt, pause,
			 LOGQ(err));
		if (give_up_s && time(NULL) - start >= give_up_s) {
			log_error("gave up waiting for PostgreSQL",
				  "waited_s=%ld", give_up_s);
			return -1;
		}
		if (main_sleep(pause))
			return -1;
		pause = pause * 2 > MAIN_BACKOFF_MAX_MS ? MAIN_BACKOFF_MAX_MS
							: pause * 2;
		attempt++;
	}
	log_info("PostgreSQL reachable", "db=\"%s\"", auth_db_describe(*db));
	return 0;
}

static int main_migrate(const struct main_cfg *c)
{
	struct auth_db *db = NULL;
	char err[MAIN_ERR_MAX];
	PGconn *conn = NULL;
	int applied = -1;

	if (main_wait_db(&db, c, 1, c->migrate_wait_s) < 0)
		goto out;
	conn = auth_db_acquire(db, (int)c->connect_ms, err, sizeof(err));
	if (!conn) {
		log_error("migration failed", "reason=%s", LOGQ(err));
		goto out;
	}
	/* migrations take what they take; the release phase has its own
	 * limit */
	auth_db_set_timeout(conn, 0);
	applied = migrate_apply(conn, err, sizeof(err));
	if (applied < 0)
		log_error("migration failed", "reason=%s", LOGQ(err));
	else
		log_info("migrations done", "applied=%d version=%d", applied,
			 migrate_files[migrate_nfiles - 1].version);
out:
	auth_db_release(db, conn);
	auth_db_close(db);
	return applied < 0 ? 1 : 0;
}

/* main_wait_ready waits until Redis answers and the schema is current. */
static int main_wait_ready(struct auth_db *db, struct auth_redis *redis,
			   const struct main_cfg *c)
{
	int want = migrate_files[migrate_nfiles - 1].version;
	int pause = MAIN_BACKOFF_MIN_MS, attempt = 1;
	char err[MAIN_ERR_MAX];

	for (;;) {
		PGconn *conn;
		int have = -1;

		if (auth_redis_ping(redis, (int)c->connect_ms, err,
				    sizeof(err)) < 0) {
			log_warn("Redis not reachable, retrying",
				 "attempt=%d retry_in_ms=%d reason=%s",
				 attempt, pause, LOGQ(err));
		} else if (!(conn = auth_db_acquire(db, (int)c->connect_ms,
						    err, sizeof(err)))) {
			log_warn("PostgreSQL not reachable, retrying",
				 "attempt=%d retry_in_ms=%d reason=%s",
				 attempt, pause, LOGQ(err));
		} else {
			have = migrate_version(conn, err, sizeof(err));
			auth_db_release(db, conn);
			if (have >= want)
				return 0;
			log_warn("database schema is behind, retrying (run "
				 "auth-service --migrate)",
				 "attempt=%d retry_in_ms=%d have=%d want=%d",
				 attempt, pause, have < 0 ? 0 : have, want);
		}
		if (main_sleep(pause))
			return -1;
		pause = pause * 2 > MAIN_BACKOFF_MAX_MS ? MAIN_BACKOFF_MAX_MS
							: pause * 2;
		attempt++;
	}
}

static int main_serve(const struct main_cfg *c)
{
	static struct auth_svc svc;
	static struct auth_pw pw;
	struct auth_redis_opts ro = {
	    .url = c->redis_url,
	    .pool_size = (int)c->redis_pool,
	    .connect_timeout_ms = (int)c->connect_ms,
	    .io_timeout_ms = (int)c->statement_ms,
	    .pipelines = (int)c->redis_pipes,
	};
	struct rpc_server_opts so = {0};
	struct rpc_server *srv = NULL;
	struct auth_db *db = NULL;
	struct auth_redis *redis = NULL;
	struct auth_pool *pool = NULL;
	char err[MAIN_ERR_MAX];
	siginfo_t si;
	int rc = 1, pending;

	if (auth_pw_init(&pw, (unsigned long long)c->opslimit,
			 (size_t)c->memlimit_kib * 1024, err,
			 sizeof(err)) < 0) {
		log_error("bad password limits", "reason=%s", LOGQ(err));
		goto out;
	}
	if (auth_redis_open(&redis, &ro, err, sizeof(err)) < 0) {
		log_error("bad REDIS_URL", "reason=%s", LOGQ(err));
		goto out;
	}
	if (main_wait_db(&db, c, (int)c->db_pool, 0) < 0)
		goto stopped;
	if (main_wait_ready(db, redis, c) < 0)
		goto stopped;
	log_info("Redis reachable", "redis=\"%s\"",
		 auth_redis_describe(redis));
	pool = auth_pool_start((int)c->hash_threads, (int)c->hash_queue);
	if (!pool) {
		log_error("cannot start the hashing threads", "threads=%ld",
			  c->hash_threads);
		goto out;
	}

	auth_svc_init(&svc);
	svc.db = db;
	svc.redis = redis;
	svc.pw = &pw;
	svc.hash_pool = pool;
	svc.rate.email_max = (int)c->fails_email;
	svc.rate.addr_max = (int)c->fails_addr;
	svc.rate.window_s = (int)c->fail_window;
	svc.register_max = (int)c->register_max;
	svc.register_window_s = (int)c->register_window;
	svc.session.ttl_s = (int)c->session_ttl;
	svc.session.max_age_s = (int)c->session_max_age;
	svc.session.max_per_user = (int)c->sessions_max;

	so.url = c->rpc_url;
	so.key = c->have_key ? c->key : NULL;
	so.service = auth_svc_service(&svc);
	so.contexts = (int)c->contexts;
	so.threads = (int)c->threads;
	/* WhoAmI only queues a Redis lookup: no need for a pool thread */
	so.inline_methods = auth_svc_inline_methods;
	if (rpc_server_start(&srv, &so, err, sizeof(err)) < 0) {
		log_error("cannot serve", "reason=%s", LOGQ(err));
		goto out;
	}
	log_info("serving",
		 "url=%s threads=%ld hash_threads=%ld "
		 "db_pool=%ld redis_pool=%ld opslimit=%ld memlimit_kib=%ld",
		 c->rpc_url, c->threads, c->hash_threads, c->db_pool,
		 c->redis_pool, c->opslimit, c->memlimit_kib);

	while (sigwaitinfo(&main_signals, &si) < 0)
		;
	log_info("stopping", "signal=%d", si.si_signo);
	pending = rpc_server_drain(srv, MAIN_DRAIN_MS);
	if (pending > 0)
		log_warn("calls still pending at shutdown", "pending=%d",
			 pending);
stopped:
	rc = 0;
out:
	/* What may still complete calls goes while the server is there:
	 * queued hashes (refused now), then the Redis pipeline. Handlers
	 * still running then find Redis refusing, and the server joins
	 * them before the pools they use are freed. */
	atomic_store(&svc.stopping, true);
	auth_pool_free(pool);
	if (redis)
		auth_redis_stop_pipeline(redis);
	rpc_server_free(srv);
	auth_redis_close(redis);
	auth_db_close(db);
	sodium_memzero(pw.dummy, sizeof(pw.dummy));
	if (rc == 0)
		log_info("stopped", "status=%d", rc);
	return rc;
}

static void main_usage(void)
{
	printf("usage: auth-service [--migrate]\n"
	       "  serves AuthService on AUTH_RPC_URL (PostgreSQL at "
	       "DATABASE_URL, Redis at REDIS_URL);\n"
	       "  --migrate applies the SQL migrations and exits.\n");
}

int main(int argc, char **argv)
{
	static struct main_cfg c;
	bool migrate_only = false;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--migrate") != 0)) {
		main_usage();
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	migrate_only = argc == 2;
	if (log_init("auth-service") < 0)
		log_warn("bad LOG_LEVEL, using info", "allowed=%s",
			 "debug,info,warn,error");

	/* Signals are taken by sigwait in this thread only; block them
	 * before any thread starts so none of ours is interrupted. */
	sigemptyset(&main_signals);
	sigaddset(&main_signals, SIGTERM);
	sigaddset(&main_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &main_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	main_read_config(&c, migrate_only);
	if (migrate_only)
		return main_migrate(&c);
	return main_serve(&c);
}
