/* test_auth_db.c - the PostgreSQL pool, migrations, users and favorites
 * against the real server tests/run started (a database of its own).
 * Skipped when PG_PORT is not set. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth-service/db.h"
#include "auth-service/favorites.h"
#include "auth-service/migrate.h"
#include "auth-service/users.h"
#include "common/log.h"

static char db_url[256];
static struct auth_db *D;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ignore_notice(void *arg, const char *m)
{
	(void)arg;
	(void)m;
}

static int setup(void **state)
{
	const char *port = getenv("PG_PORT");
	struct auth_db_opts o = {0};
	char admin[256], q[256], err[256];
	PGconn *c;

	(void)state;
	log_threshold = LOG_ERROR;
	if (!port)
		return 0;
	snprintf(admin, sizeof(admin),
		 "postgres://postgres@127.0.0.1:%s/postgres", port);
	snprintf(db_url, sizeof(db_url),
		 "postgres://postgres@127.0.0.1:%s/auth_db_%d", port,
		 (int)getpid());
	c = PQconnectdb(admin);
	PQsetNoticeProcessor(c, ignore_notice, NULL);
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS auth_db_%d",
		 (int)getpid());
	PQclear(PQexec(c, q));
	snprintf(q, sizeof(q), "CREATE DATABASE auth_db_%d", (int)getpid());
	PQclear(PQexec(c, q));
	PQfinish(c);
	o.url = db_url;
	o.pool_size = 3;
	o.statement_timeout_ms = 500;
	if (auth_db_open(&D, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_db_close(D);
	return 0;
}

#define NEED_DB()                                                             \
	do {                                                                  \
		if (!D)                                                       \
			skip();                                               \
	} while (0)

/* describe opens a pool on url and returns what it would log. */
static const char *describe(const char *url, char *buf, size_t size)
{
	struct auth_db_opts o = {.url = url};
	struct auth_db *db = NULL;
	char err[256];

	if (auth_db_open(&db, &o, err, sizeof(err)) < 0) {
		snprintf(buf, size, "error: %s", err);
		return buf;
	}
	snprintf(buf, size, "%s", auth_db_describe(db));
	auth_db_close(db);
	return buf;
}

static void test_sslmode_is_required_for_remote_hosts(void **state)
{
	char b[400];

	(void)state;
	/* Heroku's shape: a remote host and no sslmode */
	assert_non_null(strstr(describe("postgres://u:pw@ec2-1-2-3-4.compute"
					".amazonaws.com:5432/d1",
					b, sizeof(b)),
			       "sslmode=require"));
	assert_null(strstr(b, "pw"));
	/* an sslmode in the URL is kept */
	assert_non_null(strstr(describe("postgres://u@db.example.com/d?"
					"sslmode=verify-full",
					b, sizeof(b)),
			       "sslmode=verify-full"));
	/* local servers are left alone */
	assert_non_null(
	    strstr(describe("postgres://u@localhost/d", b, sizeof(b)),
		   "(libpq default)"));
	assert_non_null(
	    strstr(describe("postgresql://u@127.0.0.1:5/d", b, sizeof(b)),
		   "(libpq default)"));
	assert_non_null(
	    strstr(describe("postgresql:///d?host=/run/pg", b, sizeof(b)),
		   "(libpq default)"));
	assert_non_null(
	    strstr(describe("host=db.example.com dbname=d", b, sizeof(b)),
		   "sslmode=require"));
	/* garbage is refused without echoing it */
	assert_non_null(
	    strstr(describe("postgres://u:s3cr3t@h/d?nosuch=1", b, sizeof(b)),
		   "error: DATABASE_URL"));
	assert_null(strstr(b, "s3cr3t"));
	assert_non_null(strstr(describe("", b, sizeof(b)), "error"));
}

static void test_unreachable_fails_fast(void **state)
{
	struct auth_db_opts o = {.url = "postgres://u@127.0.0.1:1/d",
				 .connect_timeout_ms = 500};
	struct auth_db *db = NULL;
	char err[256];
	int64_t t0;

	(void)state;
	assert_int_equal(auth_db_open(&db, &o, err, sizeof(err)), 0);
	t0 = now_ms();
	assert_null(auth_db_acquire(db, 2000, err, sizeof(err)));
	assert_non_null(strstr(err, "127.0.0.1:1"));
	assert_null(auth_db_acquire(db, 2000, err, sizeof(err)));
	assert_non_null(strstr(err, "unavailable"));
	assert_true(now_ms() - t0 < 1500);
	auth_db_close(db);
}

struct migrator {
	int applied;
	char err[256];
};

static void *migrator_main(void *arg)
{
	struct migrator *m = arg;
	PGconn *c = PQconnectdb(db_url);

	PQsetNoticeProcessor(c, ignore_notice, NULL);
	m->applied = migrate_apply(c, m->err, sizeof(m->err));
	PQfinish(c);
	return NULL;
}

static void test_migrations_concurrently_and_twice(void **state)
{
	struct migrator m[4];
	pthread_t th[4];
	char err[256];
	PGconn *c;
	int i, total = 0;

	(void)state;
	NEED_DB();
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, migrator_main, &m[i]);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (m[i].applied < 0)
			fail_msg("migrator %d: %s", i, m[i].err);
		total += m[i].applied;
	}
	assert_int_equal(total, migrate_nfiles);
	c = auth_db_acquire(D, 2000, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(migrate_version(c, err, sizeof(err)),
			 migrate_files[migrate_nfiles - 1].version);
	assert_int_equal(migrate_apply(c, err, sizeof(err)), 0);
	auth_db_release(D, c);
}

static void test_pool_is_bounded(void **state)
{
	PGconn *a, *b, *c, *d;
	char err[256];
	int64_t t0;

	(void)state;
	NEED_DB();
	a = auth_db_acquire(D, 2000, err, sizeof(err));
	b = auth_db_acquire(D, 2000, err, sizeof(err));
	c = auth_db_acquire(D, 2000, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	t0 = now_ms();
	assert_null(auth_db_acquire(D, 200, err, sizeof(err)));
	assert_true(now_ms() - t0 >= 150);
	assert_non_null(strstr(err, "no PostgreSQL connection free"));
	auth_db_release(D, b);
	d = auth_db_acquire(D, 200, err, sizeof(err));
	assert_true(d == b);
	/* a connection left inside a transaction is rolled back */
	assert_int_equal(auth_db_begin(a, err, sizeof(err)), AUTH_DB_OK);
	auth_db_release(D, a);
	auth_db_release(D, c);
	auth_db_release(D, d);
}

static void test_statement_timeout(void **state)
{
	char err[256];
	PGconn *c;
	int64_t t0;

	(void)state;
	NEED_DB();
	c = auth_db_acquire(D, 2000, err, sizeof(err));
	assert_non_null(c);
	t0 = now_ms();
	assert_int_equal(auth_db_exec(c, "SELECT pg_sleep(5)", 0, NULL, NULL,
				      err, sizeof(err)),
			 AUTH_DB_DOWN);
	assert_true(now_ms() - t0 < 3000);
	assert_non_null(strstr(err, "57014"));
	/* the connection is still good */
	assert_int_equal(
	    auth_db_exec(c, "SELECT 1", 0, NULL, NULL, err, sizeof(err)),
	    AUTH_DB_OK);
	auth_db_release(D, c);
}

/* A statement still running at the checkout's deadline is abandoned
 * there, whatever the server's statement_timeout, and its connection is
 * not reused. */
static void test_deadline_of_the_checkout(void **state)
{
	char err[256];
	PGconn *c, *d;
	int64_t t0;

	(void)state;
	NEED_DB();
	c = auth_db_acquire(D, 300, err, sizeof(err));
	assert_non_null(c);
	t0 = now_ms();
	assert_int_equal(auth_db_exec(c, "SELECT pg_sleep(2)", 0, NULL, NULL,
				      err, sizeof(err)),
			 AUTH_DB_DOWN);
	assert_true(now_ms() - t0 < 450);
	assert_non_null(strstr(err, "deadline"));
	/* the same connection refuses further work at once */
	assert_int_equal(
	    auth_db_exec(c, "SELECT 1", 0, NULL, NULL, err, sizeof(err)),
	    AUTH_DB_DOWN);
	auth_db_release(D, c);
	d = auth_db_acquire(D, 2000, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(
	    auth_db_exec(d, "SELECT 1", 0, NULL, NULL, err, sizeof(err)),
	    AUTH_DB_OK);
	auth_db_release(D, d);
}

static long long count_prepared(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT count(*) FROM pg_prepared_statements");
	long long n = atoll(PQgetvalue(r, 0, 0));

	PQclear(r);
	return n;
}

/* Parameterised statements are prepared once per connection and reused;
 * a connection the server killed is replaced, and prepares again. */
static void test_statements_are_prepared_once(void **state)
{
	const char *params[1] = {"41"};
	char err[256], pid[32];
	PGresult *res = NULL;
	PGconn *c, *d;

	(void)state;
	NEED_DB();
	c = auth_db_acquire(D, 2000, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(count_prepared(c), 0);
	assert_int_equal(auth_db_exec(c, "SELECT $1::int + 1", 1, params, &res,
				      err, sizeof(err)),
			 AUTH_DB_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "42");
	PQclear(res);
	assert_int_equal(auth_db_exec(c, "SELECT $1::int + 1", 1, params, NULL,
				      err, sizeof(err)),
			 AUTH_DB_OK);
	assert_int_equal(count_prepared(c), 1);
	/* a bad statement is an error, not a prepared statement */
	assert_int_equal(auth_db_exec(c, "SELECT $1::int FROM nowhere", 1,
				      params, NULL, err, sizeof(err)),
			 AUTH_DB_ERROR);
	assert_non_null(strstr(err, "42P01"));
	assert_int_equal(count_prepared(c), 1);

	/* kill it from another connection while it sits in the pool */
	snprintf(pid, sizeof(pid), "%d", PQbackendPID(c));
	auth_db_release(D, c);
	{
		PGconn *admin = PQconnectdb(db_url);
		const char *p1[1] = {pid};

		PQclear(PQexecParams(admin, "SELECT pg_terminate_backend($1)",
				     1, NULL, p1, NULL, NULL, 0));
		PQfinish(admin);
	}
	usleep(200000);
	d = auth_db_acquire(D, 2000, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(auth_db_exec(d, "SELECT $1::int + 1", 1, params, NULL,
				      err, sizeof(err)),
			 AUTH_DB_OK);
	auth_db_release(D, d);
}

static void test_users(void **state)
{
	struct auth_user u, f;
	char hash[AUTH_PW_HASH_BUF], err[256];
	bool found = false, changed = false, deleted = false;
	PGconn *c;

	(void)state;
	NEED_DB();
	c = auth_db_acquire(D, 20000, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(auth_users_create(c, "Quinn", "quinn@example.org",
					   "$argon2id$h1", &u, err,
					   sizeof(err)),
			 AUTH_DB_OK);
	assert_true(u.id > 0 && u.created_ms > 1600000000000LL);
	assert_int_equal(auth_users_create(c, "Q2", "quinn@example.org",
					   "$argon2id$h2", &f, err,
					   sizeof(err)),
			 AUTH_DB_UNIQUE);
	/* input that looks like SQL is just data */
	assert_int_equal(auth_users_create(c, "Robert'); DROP TABLE users;--",
					   "bobby@example.org", "$argon2id$x",
					   &f, err, sizeof(err)),
			 AUTH_DB_OK);
	assert_int_equal(auth_users_find(c, "bobby@example.org", 0, &f, hash,
					 &found, err, sizeof(err)),
			 AUTH_DB_OK);
	assert_true(found);
	assert_string_equal(f.username, "Robert'); DROP TABLE users;--");

	assert_int_equal(
	    auth_users_find(c, NULL, u.id, &f, hash, &found, err, sizeof(err)),
	    AUTH_DB_OK);
	assert_true(found);
	assert_string_equal(f.email, "quinn@example.org");
	assert_string_equal(hash, "$argon2id$h1");
	assert_int_equal(auth_users_find(c, "nobody@example.org", 0, &f, hash,
					 &found, err, sizeof(err)),
			 AUTH_DB_OK);
	assert_false(found);

	/* compare-and-set of the hash */
	assert_int_equal(auth_users_set_hash(c, u.id, "$argon2id$other",
					     "$argon2id$h3", &changed, err,
					     sizeof(err)),
			 AUTH_DB_OK);
	assert_false(changed);
	assert_int_equal(auth_users_set_hash(c, u.id, "$argon2id$h1",
					     "$argon2id$h3", &changed, err,
					     sizeof(err)),
			 AUTH_DB_OK);
	assert_true(changed);

	assert_int_equal(
	    auth_users_delete(c, u.id, &deleted, err, sizeof(err)),
	    AUTH_DB_OK);
	assert_true(deleted);
	assert_int_equal(
	    auth_users_delete(c, u.id, &deleted, err, sizeof(err)),
	    AUTH_DB_OK);
	assert_false(deleted);
	auth_db_release(D, c);
}

static void test_favorites_pages_and_scope(void **state)
{
	struct auth_user u1, u2;
	struct auth_fav favs[4], fav;
	char next[AUTH_FAV_CURSOR_BUF], err[256], name[16];
	bool created;
	PGconn *c;
	int i, n, seen = 0;

	(void)state;
	NEED_DB();
	c = auth_db_acquire(D, 20000, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(auth_users_create(c, "P1", "p1@example.org", "h", &u1,
					   err, sizeof(err)),
			 AUTH_DB_OK);
	assert_int_equal(auth_users_create(c, "P2", "p2@example.org", "h", &u2,
					   err, sizeof(err)),
			 AUTH_DB_OK);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "Name%02d", i);
		assert_int_equal(auth_fav_add(c, u1.id, name, "FR", 1, &fav,
					      &created, err, sizeof(err)),
				 AUTH_DB_OK);
		assert_true(created);
	}
	assert_int_equal(auth_fav_add(c, u2.id, "Name03", "FR", 1, &fav,
				      &created, err, sizeof(err)),
			 AUTH_DB_OK);
	/* pages of 4: 4, 4, 2, newest first, no repeats */
	next[0] = '\0';
	do {
		char cursor[AUTH_FAV_CURSOR_BUF];

		snprintf(cursor, sizeof(cursor), "%s", next);
		assert_int_equal(auth_fav_cursor_ok(cursor), 0);
		assert_int_equal(auth_fav_list(c, u1.id, 4, cursor, favs, &n,
					       next, err, sizeof(err)),
				 AUTH_DB_OK);
		for (i = 0; i < n; i++, seen++) {
			snprintf(name, sizeof(name), "Name%02d", 9 - seen);
			assert_string_equal(favs[i].name, name);
		}
	} while (next[0]);
	assert_int_equal(seen, 10);
	assert_int_equal(
	    auth_fav_list(c, u2.id, 4, "", favs, &n, next, err, sizeof(err)),
	    AUTH_DB_OK);
	assert_int_equal(n, 1);
	assert_string_equal(next, "");
	/* cursors are checked */
	assert_int_equal(auth_fav_cursor_ok("12.x"), -1);
	assert_int_equal(auth_fav_cursor_ok("-1.5"), -1);
	assert_int_equal(auth_fav_cursor_ok("1.0"), -1);
	assert_int_equal(auth_fav_cursor_ok("1700000000000000.5"), 0);
	/* deleting a user takes their favorites, not the names */
	assert_int_equal(
	    auth_users_delete(c, u1.id, &created, err, sizeof(err)),
	    AUTH_DB_OK);
	assert_int_equal(
	    auth_fav_list(c, u1.id, 4, "", favs, &n, next, err, sizeof(err)),
	    AUTH_DB_OK);
	assert_int_equal(n, 0);
	/* a deleted user cannot like anything */
	assert_int_equal(auth_fav_add(c, u1.id, "Late", "", 0, &fav, &created,
				      err, sizeof(err)),
			 AUTH_DB_FOREIGN);
	auth_db_release(D, c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sslmode_is_required_for_remote_hosts),
	    cmocka_unit_test(test_unreachable_fails_fast),
	    cmocka_unit_test(test_migrations_concurrently_and_twice),
	    cmocka_unit_test(test_pool_is_bounded),
	    cmocka_unit_test(test_statement_timeout),
	    cmocka_unit_test(test_deadline_of_the_checkout),
	    cmocka_unit_test(test_statements_are_prepared_once),
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_favorites_pages_and_scope),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
