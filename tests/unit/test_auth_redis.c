/* test_auth_redis.c - the Redis layer, sessions and rate limits against a
 * real redis-server.
 *
 * The server is REDIS_URL's (tests/run), database 4, or AUTH_TEST_REDIS_URL
 * when set: tests/integration/auth_rediss.sh runs this same binary against
 * a TLS redis-server with a password (rediss://). Skipped when neither
 * is set. */
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

#include "auth-service/ratelimit.h"
#include "auth-service/redis.h"
#include "auth-service/session.h"
#include "common/log.h"

static char url[512];
static int left; /* expires_in_s of the last lookup */

/* A session policy literal: idle TTL, absolute age, sessions per user. */
#define POLICY(ttl, age, max)                                                 \
	(&(struct auth_session_policy){(ttl), (age), (max)})
static struct auth_redis *R;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static redisReply *cmd1(const char *a, const char *b, const char *c)
{
	struct auth_redis_cmd cmd;
	redisReply *r = NULL;
	char err[256];

	auth_redis_cmd_set(&cmd, a, b, c, NULL);
	if (auth_redis_exec(R, &cmd, 1, &r, 2000, err, sizeof(err)) < 0)
		fail_msg("%s: %s", a, err);
	return r;
}

static long long count_keys(const char *pattern)
{
	redisReply *r = cmd1("KEYS", pattern, NULL);
	long long n = (long long)r->elements;

	freeReplyObject(r);
	return n;
}

static int setup(void **state)
{
	const char *tls = getenv("AUTH_TEST_REDIS_URL");
	const char *port = getenv("REDIS_PORT");
	struct auth_redis_opts o = {0};
	char err[256];

	(void)state;
	log_threshold = LOG_ERROR;
	if (tls && *tls)
		snprintf(url, sizeof(url), "%s", tls);
	else if (port)
		snprintf(url, sizeof(url), "redis://127.0.0.1:%s/4", port);
	else
		return 0;
	o.url = url;
	o.pool_size = 4;
	if (auth_redis_open(&R, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	freeReplyObject(cmd1("FLUSHDB", NULL, NULL));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_redis_close(R);
	return 0;
}

#define NEED_REDIS()                                                          \
	do {                                                                  \
		if (!R)                                                       \
			skip();                                               \
	} while (0)

static void test_bad_urls_are_named(void **state)
{
	struct auth_redis_opts o = {0};
	struct auth_redis *r = NULL;
	char err[256];

	(void)state;
	o.url = "http://127.0.0.1:6379";
	assert_int_equal(auth_redis_open(&r, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "REDIS_URL"));
	o.url = "redis://127.0.0.1:6379/notanumber";
	assert_int_equal(auth_redis_open(&r, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "database"));
	o.url = "redis://:hunter2secret@127.0.0.1:6379/1";
	assert_int_equal(auth_redis_open(&r, &o, err, sizeof(err)), 0);
	assert_null(strstr(auth_redis_describe(r), "hunter2"));
	auth_redis_close(r);
	auth_redis_close(NULL);
}

static void test_commands_and_pipelines(void **state)
{
	struct auth_redis_cmd cmds[3];
	redisReply *rs[3];
	char err[256];
	int i;

	(void)state;
	NEED_REDIS();
	assert_int_equal(auth_redis_ping(R, 2000, err, sizeof(err)), 0);
	/* binary-safe arguments */
	auth_redis_cmd_set(&cmds[0], "SET", "bin", NULL);
	auth_redis_cmd_add(&cmds[0], "a\0b\r\nc", 6);
	auth_redis_cmd_set(&cmds[1], "GET", "bin", NULL);
	auth_redis_cmd_set(&cmds[2], "INCRBY", "bin", "1", NULL);
	assert_int_equal(
	    auth_redis_exec(R, cmds, 3, rs, 2000, err, sizeof(err)), 0);
	assert_int_equal(rs[0]->type, REDIS_REPLY_STATUS);
	assert_int_equal(rs[1]->type, REDIS_REPLY_STRING);
	assert_int_equal(rs[1]->len, 6);
	assert_memory_equal(rs[1]->str, "a\0b\r\nc", 6);
	/* a command error is a reply, not a broken connection */
	assert_int_equal(rs[2]->type, REDIS_REPLY_ERROR);
	for (i = 0; i < 3; i++)
		freeReplyObject(rs[i]);
	assert_int_equal(auth_redis_ping(R, 2000, err, sizeof(err)), 0);
	/* a command holds at most AUTH_REDIS_ARGS_MAX arguments */
	auth_redis_cmd_set(&cmds[0], "DEL", NULL);
	for (i = 1; i < AUTH_REDIS_ARGS_MAX; i++)
		assert_int_equal(auth_redis_cmd_add(&cmds[0], "k", 1), 0);
	assert_int_equal(auth_redis_cmd_add(&cmds[0], "k", 1), -1);
	/* and a pipeline at most AUTH_REDIS_CMDS_MAX commands */
	assert_int_equal(auth_redis_exec(R, cmds, AUTH_REDIS_CMDS_MAX + 1, rs,
					 2000, err, sizeof(err)),
			 -1);
}

static void test_oversized_reply_is_refused(void **state)
{
	size_t n = AUTH_REDIS_REPLY_MAX + 4096;
	char *big = malloc(n);
	struct auth_redis_cmd cmd;
	redisReply *r = NULL;
	char err[256];

	(void)state;
	NEED_REDIS();
	memset(big, 'x', n);
	auth_redis_cmd_set(&cmd, "SET", "big", NULL);
	auth_redis_cmd_add(&cmd, big, n);
	assert_int_equal(
	    auth_redis_exec(R, &cmd, 1, &r, 5000, err, sizeof(err)), 0);
	freeReplyObject(r);
	auth_redis_cmd_set(&cmd, "GET", "big", NULL);
	assert_int_equal(
	    auth_redis_exec(R, &cmd, 1, &r, 5000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
	free(big);
	/* the connection was reset; the next call works */
	freeReplyObject(cmd1("DEL", "big", NULL));
	assert_int_equal(auth_redis_ping(R, 2000, err, sizeof(err)), 0);
}

static void test_reconnects_after_the_server_drops_us(void **state)
{
	char err[256];
	int i;

	(void)state;
	NEED_REDIS();
	/* open every pooled connection, then have the server kill them */
	for (i = 0; i < 8; i++)
		assert_int_equal(auth_redis_ping(R, 2000, err, sizeof(err)),
				 0);
	/* KILL everything of type normal, ourselves included */
	{
		struct auth_redis_cmd cmd;
		redisReply *r = NULL;

		auth_redis_cmd_set(&cmd, "CLIENT", "KILL", "TYPE", "normal",
				   "SKIPME", "no", NULL);
		if (auth_redis_exec(R, &cmd, 1, &r, 2000, err, sizeof(err)) ==
		    0)
			freeReplyObject(r);
	}
	for (i = 0; i < 8; i++)
		assert_int_equal(auth_redis_ping(R, 2000, err, sizeof(err)),
				 0);
}

static void test_unreachable_fails_fast(void **state)
{
	struct auth_redis_opts o = {0};
	struct auth_redis *r = NULL;
	char err[256];
	int64_t t0;

	(void)state;
	o.url = "redis://127.0.0.1:1/0"; /* nothing listens on port 1 */
	o.connect_timeout_ms = 500;
	assert_int_equal(auth_redis_open(&r, &o, err, sizeof(err)), 0);
	t0 = now_ms();
	assert_int_equal(auth_redis_ping(r, 2000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "127.0.0.1:1"));
	/* during the back-off the next call does not even try */
	assert_int_equal(auth_redis_ping(r, 2000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unavailable"));
	assert_true(now_ms() - t0 < 1500);
	auth_redis_close(r);
}

static void test_sessions(void **state)
{
	struct auth_user u = {.id = 42, .created_ms = 1700000000123};
	struct auth_user got;
	char t1[AUTH_TOKEN_BUF], t2[AUTH_TOKEN_BUF];
	char hash[AUTH_SESSION_HASH_HEX + 1], key[128], err[256];
	char first;

	(void)state;
	NEED_REDIS();
	strcpy(u.username, "Ünïcode name");
	strcpy(u.email, "someone@example.org");
	assert_int_equal(auth_session_create(R, POLICY(60, 3600, 10), &u, t1,
					     2000, err, sizeof(err)),
			 0);
	assert_int_equal(auth_session_create(R, POLICY(60, 3600, 10), &u, t2,
					     2000, err, sizeof(err)),
			 0);
	assert_int_equal(strlen(t1), AUTH_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	/* Redis has the hash as key, never the token */
	auth_session_hash(t1, hash);
	snprintf(key, sizeof(key), "ng:sess:%s", hash);
	assert_int_equal(count_keys(key), 1);
	snprintf(key, sizeof(key), "*%s*", t1);
	assert_int_equal(count_keys(key), 0);

	memset(&got, 0, sizeof(got));
	assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10), t1, &got,
					     &left, 2000, err, sizeof(err)),
			 1);
	assert_true(got.id == 42);
	assert_true(got.created_ms == 1700000000123);
	assert_string_equal(got.username, "Ünïcode name");
	assert_string_equal(got.email, "someone@example.org");
	/* malformed or unknown tokens find nothing */
	assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10), "short",
					     &got, &left, 2000, err,
					     sizeof(err)),
			 0);
	first = t1[0];
	t1[0] = first == 'A' ? 'B' : 'A';
	assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10), t1, &got,
					     &left, 2000, err, sizeof(err)),
			 0);
	t1[0] = first;

	assert_int_equal(auth_session_end(R, t1, 2000, err, sizeof(err)), 1);
	assert_int_equal(auth_session_end(R, t1, 2000, err, sizeof(err)), 0);
	assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10), t1, &got,
					     &left, 2000, err, sizeof(err)),
			 0);
	assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10), t2, &got,
					     &left, 2000, err, sizeof(err)),
			 1);
	assert_int_equal(
	    auth_session_end_all(R, 42, NULL, 2000, err, sizeof(err)), 1);
	assert_int_equal(count_keys("ng:sess:*"), 0);
	assert_int_equal(count_keys("ng:usess:42"), 0);
}

static void test_sessions_per_user_are_capped(void **state)
{
	struct auth_user u = {.id = 7}, got;
	char t[5][AUTH_TOKEN_BUF], err[256];
	int i;

	(void)state;
	NEED_REDIS();
	strcpy(u.username, "cap");
	strcpy(u.email, "cap@example.org");
	for (i = 0; i < 5; i++) {
		assert_int_equal(auth_session_create(R, POLICY(60, 3600, 3),
						     &u, t[i], 2000, err,
						     sizeof(err)),
				 0);
		usleep(2000); /* distinct creation times */
	}
	/* the two oldest were ended */
	for (i = 0; i < 5; i++)
		assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10),
						     t[i], &got, &left, 2000,
						     err, sizeof(err)),
				 i >= 2);
	/* keep one, end the rest */
	assert_int_equal(
	    auth_session_end_all(R, 7, t[4], 2000, err, sizeof(err)), 2);
	assert_int_equal(auth_session_lookup(R, POLICY(60, 3600, 10), t[4],
					     &got, &left, 2000, err,
					     sizeof(err)),
			 1);
	assert_int_equal(
	    auth_session_end_all(R, 7, NULL, 2000, err, sizeof(err)), 1);
}

static void test_session_ttl_slides(void **state)
{
	struct auth_user u = {.id = 9}, got;
	char t[AUTH_TOKEN_BUF], err[256];
	int i;

	(void)state;
	NEED_REDIS();
	strcpy(u.username, "ttl");
	strcpy(u.email, "ttl@example.org");
	assert_int_equal(auth_session_create(R, POLICY(2, 3600, 10), &u, t,
					     2000, err, sizeof(err)),
			 0);
	for (i = 0; i < 4; i++) {
		usleep(700000);
		assert_int_equal(auth_session_lookup(R, POLICY(2, 3600, 10), t,
						     &got, &left, 2000, err,
						     sizeof(err)),
				 1);
	}
	usleep(2600000);
	assert_int_equal(auth_session_lookup(R, POLICY(2, 3600, 10), t, &got,
					     &left, 2000, err, sizeof(err)),
			 0);
	/* an expired session also drops out of the user's set at the next
	 * login */
	assert_int_equal(auth_session_create(R, POLICY(60, 3600, 10), &u, t,
					     2000, err, sizeof(err)),
			 0);
	{
		redisReply *r = cmd1("ZCARD", "ng:usess:9", NULL);

		assert_int_equal(r->integer, 1);
		freeReplyObject(r);
	}
}

static void test_session_max_age(void **state)
{
	struct auth_user u = {.id = 11}, got;
	char t[AUTH_TOKEN_BUF], err[256];

	(void)state;
	NEED_REDIS();
	strcpy(u.username, "age");
	strcpy(u.email, "age@example.org");
	assert_int_equal(auth_session_create(R, POLICY(60, 2, 10), &u, t, 2000,
					     err, sizeof(err)),
			 0);
	assert_int_equal(auth_session_lookup(R, POLICY(60, 2, 10), t, &got,
					     &left, 2000, err, sizeof(err)),
			 1);
	/* the idle TTL is 60 s, but it may not outlive its 2 s */
	assert_true(left >= 1 && left <= 2);
	{
		char hash[AUTH_SESSION_HASH_HEX + 1], key[128];
		redisReply *r;

		auth_session_hash(t, hash);
		snprintf(key, sizeof(key), "ng:sess:%s", hash);
		r = cmd1("TTL", key, NULL);
		assert_true(r->integer >= 1 && r->integer <= 2);
		freeReplyObject(r);
	}
	usleep(2100000);
	assert_int_equal(auth_session_lookup(R, POLICY(60, 2, 10), t, &got,
					     &left, 2000, err, sizeof(err)),
			 0);
	/* the user's set expires with the longest possible session */
	{
		redisReply *r = cmd1("TTL", "ng:usess:11", NULL);

		assert_true(r->integer <= 2);
		freeReplyObject(r);
	}
}

static void test_rate_limit(void **state)
{
	struct auth_rate rate = {.email_max = 2, .addr_max = 3, .window_s = 2};
	uint32_t wait = 0;
	char err[256];

	(void)state;
	NEED_REDIS();
	assert_int_equal(auth_rate_check(R, &rate, "a@b.io", "1.2.3.4", &wait,
					 2000, err, sizeof(err)),
			 0);
	assert_int_equal(auth_rate_fail(R, &rate, "a@b.io", "1.2.3.4", 2000,
					err, sizeof(err)),
			 0);
	assert_int_equal(auth_rate_check(R, &rate, "a@b.io", "1.2.3.4", &wait,
					 2000, err, sizeof(err)),
			 0);
	assert_int_equal(
	    auth_rate_fail(R, &rate, "a@b.io", NULL, 2000, err, sizeof(err)),
	    0);
	/* the email is at its limit; the address not yet */
	assert_int_equal(auth_rate_check(R, &rate, "a@b.io", "", &wait, 2000,
					 err, sizeof(err)),
			 1);
	assert_true(wait >= 1 && wait <= 2);
	assert_int_equal(auth_rate_check(R, &rate, "c@d.io", "1.2.3.4", &wait,
					 2000, err, sizeof(err)),
			 0);
	assert_int_equal(auth_rate_fail(R, &rate, "c@d.io", "1.2.3.4", 2000,
					err, sizeof(err)),
			 0);
	assert_int_equal(auth_rate_fail(R, &rate, "e@f.io", "1.2.3.4", 2000,
					err, sizeof(err)),
			 0);
	/* now the address is at 3: any email from it waits */
	assert_int_equal(auth_rate_check(R, &rate, "g@h.io", "1.2.3.4", &wait,
					 2000, err, sizeof(err)),
			 1);
	/* clearing the email frees it (from another address) */
	assert_int_equal(auth_rate_clear(R, "a@b.io", 2000, err, sizeof(err)),
			 0);
	assert_int_equal(auth_rate_check(R, &rate, "a@b.io", "5.6.7.8", &wait,
					 2000, err, sizeof(err)),
			 0);
	/* windows end */
	usleep(2300000);
	assert_int_equal(auth_rate_check(R, &rate, "g@h.io", "1.2.3.4", &wait,
					 2000, err, sizeof(err)),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_urls_are_named),
	    cmocka_unit_test(test_commands_and_pipelines),
	    cmocka_unit_test(test_oversized_reply_is_refused),
	    cmocka_unit_test(test_reconnects_after_the_server_drops_us),
	    cmocka_unit_test(test_unreachable_fails_fast),
	    cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_sessions_per_user_are_capped),
	    cmocka_unit_test(test_session_ttl_slides),
	    cmocka_unit_test(test_session_max_age),
	    cmocka_unit_test(test_rate_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
