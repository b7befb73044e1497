/* test_config.c - environment variables, URLs and the RPC secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"

static void test_str_required_and_default(void **state)
{
	struct config cfg = {0};

	(void)state;
	unsetenv("NG_T_A");
	assert_string_equal(config_str(&cfg, "NG_T_A", "dflt"), "dflt");
	assert_int_equal(cfg.failed, 0);
	setenv("NG_T_A", "", 1);
	assert_string_equal(config_str(&cfg, "NG_T_A", "dflt"), "dflt");
	setenv("NG_T_A", "value", 1);
	assert_string_equal(config_str(&cfg, "NG_T_A", NULL), "value");
	unsetenv("NG_T_A");
	assert_string_equal(config_str(&cfg, "NG_T_A", NULL), "");
	assert_int_equal(cfg.failed, 1);
	assert_non_null(strstr(cfg.err, "NG_T_A is required"));
}

static void test_int_range_and_garbage(void **state)
{
	struct config cfg = {0};

	(void)state;
	setenv("NG_T_N", "42", 1);
	assert_int_equal(config_int(&cfg, "NG_T_N", 1, 0, 100), 42);
	assert_int_equal(cfg.failed, 0);
	setenv("NG_T_N", "420", 1);
	assert_int_equal(config_int(&cfg, "NG_T_N", 1, 0, 100), 1);
	assert_non_null(strstr(cfg.err, "between 0 and 100"));

	memset(&cfg, 0, sizeof(cfg));
	setenv("NG_T_N", "12abc", 1);
	config_int(&cfg, "NG_T_N", 1, 0, 100);
	assert_non_null(strstr(cfg.err, "NG_T_N must be an integer"));

	/* only the first problem is kept */
	setenv("NG_T_M", "x", 1);
	config_int(&cfg, "NG_T_M", 1, 0, 100);
	assert_null(strstr(cfg.err, "NG_T_M"));
	unsetenv("NG_T_N");
	unsetenv("NG_T_M");
}

static void test_double_and_bool(void **state)
{
	struct config cfg = {0};

	(void)state;
	setenv("NG_T_D", "0.25", 1);
	assert_true(config_double(&cfg, "NG_T_D", 1, 0, 1) == 0.25);
	setenv("NG_T_D", "nan", 1);
	config_double(&cfg, "NG_T_D", 1, 0, 1);
	assert_int_equal(cfg.failed, 1);

	memset(&cfg, 0, sizeof(cfg));
	setenv("NG_T_B", "yes", 1);
	assert_true(config_bool(&cfg, "NG_T_B", false));
	setenv("NG_T_B", "OFF", 1);
	assert_false(config_bool(&cfg, "NG_T_B", true));
	assert_int_equal(cfg.failed, 0);
	setenv("NG_T_B", "maybe", 1);
	config_bool(&cfg, "NG_T_B", true);
	assert_non_null(strstr(cfg.err, "NG_T_B must be 1 or 0"));
	unsetenv("NG_T_D");
	unsetenv("NG_T_B");
}

static void test_url_postgres_full(void **state)
{
	struct config_url u;
	char err[256];

	(void)state;
	assert_int_equal(
	    config_parse_url("postgres://us%40er:p%3Ass@db.example"
			     ".com:6543/my_db?sslmode=require",
			     &u, err, sizeof(err)),
	    0);
	assert_string_equal(u.scheme, "postgres");
	assert_string_equal(u.user, "us@er");
	assert_string_equal(u.password, "p:ss");
	assert_string_equal(u.host, "db.example.com");
	assert_int_equal(u.port, 6543);
	assert_string_equal(u.path, "my_db");
	assert_string_equal(u.query, "sslmode=require");
}

static void test_url_redis_variants(void **state)
{
	struct config_url u;
	char err[256];

	(void)state;
	/* Heroku's shape: empty user, a password holding '@' */
	assert_int_equal(
	    config_parse_url("rediss://:se@cret@ec2-1-2-3-4.compute"
			     "-1.amazonaws.com:12345",
			     &u, err, sizeof(err)),
	    0);
	assert_string_equal(u.scheme, "rediss");
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "se@cret");
	assert_int_equal(u.port, 12345);
	assert_string_equal(u.path, "");

	assert_int_equal(
	    config_parse_url("REDIS://127.0.0.1/3", &u, err, sizeof(err)), 0);
	assert_string_equal(u.scheme, "redis");
	assert_int_equal(u.port, 6379);
	assert_string_equal(u.path, "3");

	assert_int_equal(
	    config_parse_url("redis://[::1]:7000", &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
}

static void test_url_errors_name_the_part(void **state)
{
	static const struct {
		const char *url;
		const char *says;
	} bad[] = {
	    {"", "empty"},
	    {"localhost:5432", "no scheme"},
	    {"mysql://x/y", "unsupported URL scheme \"mysql\""},
	    {"redis://:pw@/0", "no host"},
	    {"redis://host:0", "port"},
	    {"redis://host:99999", "port"},
	    {"redis://host:12ab", "port"},
	    {"postgres://u:p%zz@h/db", "password"},
	    {"postgres://u:p%00@h/db", "password"},
	    {"redis://[::1:70", "closing bracket"},
	    {"redis://ho st:1", "invalid character"},
	};
	struct config_url u;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
		    config_parse_url(bad[i].url, &u, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].says))
			fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].url,
				 err, bad[i].says);
	}
	/* the password never appears in an error */
	config_parse_url("postgres://u:topsecret%q@h/db", &u, err,
			 sizeof(err));
	assert_null(strstr(err, "topsecret"));
}

static void test_nng_urls(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(
	    config_check_nng_urls("tcp://127.0.0.1:7001", 1, err, sizeof(err)),
	    1);
	assert_int_equal(config_check_nng_urls("ipc:///tmp/a.ipc,tcp://h:1,"
					       "inproc://x",
					       0, err, sizeof(err)),
			 3);
	assert_int_equal(
	    config_check_nng_urls("tcp://h:1,tcp://h:2", 1, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "only 1 address"));
	assert_int_equal(config_check_nng_urls("tcp://h", 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "needs a port"));
	assert_int_equal(
	    config_check_nng_urls("http://h:1", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an nng address"));
	assert_int_equal(
	    config_check_nng_urls("tcp://h:1,,tcp://h:2", 0, err, sizeof(err)),
	    -1);
	assert_int_equal(config_check_nng_urls("", 0, err, sizeof(err)), -1);
	assert_int_equal(config_check_nng_urls("ipc://", 0, err, sizeof(err)),
			 -1);
}

static void test_rpc_secret(void **state)
{
	struct config cfg = {0};
	uint8_t k1[32], k2[32];
	bool have;

	(void)state;
	unsetenv("RPC_SECRET");
	unsetenv("NAMEGEN_DEV");
	assert_int_equal(config_rpc_secret(&cfg, k1, &have), -1);
	assert_non_null(strstr(cfg.err, "RPC_SECRET is required"));

	memset(&cfg, 0, sizeof(cfg));
	setenv("NAMEGEN_DEV", "1", 1);
	assert_int_equal(config_rpc_secret(&cfg, k1, &have), 0);
	assert_false(have);
	assert_int_equal(cfg.failed, 0);

	setenv("RPC_SECRET", "short", 1);
	assert_int_equal(config_rpc_secret(&cfg, k1, &have), -1);
	assert_non_null(strstr(cfg.err, "at least 16 bytes"));
	assert_null(strstr(cfg.err, "short"));

	memset(&cfg, 0, sizeof(cfg));
	setenv("RPC_SECRET", "0123456789abcdef-one", 1);
	assert_int_equal(config_rpc_secret(&cfg, k1, &have), 0);
	assert_true(have);
	setenv("RPC_SECRET", "0123456789abcdef-two", 1);
	assert_int_equal(config_rpc_secret(&cfg, k2, &have), 0);
	assert_memory_not_equal(k1, k2, 32);
	setenv("RPC_SECRET", "0123456789abcdef-one", 1);
	assert_int_equal(config_rpc_secret(&cfg, k2, &have), 0);
	assert_memory_equal(k1, k2, 32);
	unsetenv("RPC_SECRET");
	unsetenv("NAMEGEN_DEV");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_str_required_and_default),
	    cmocka_unit_test(test_int_range_and_garbage),
	    cmocka_unit_test(test_double_and_bool),
	    cmocka_unit_test(test_url_postgres_full),
	    cmocka_unit_test(test_url_redis_variants),
	    cmocka_unit_test(test_url_errors_name_the_part),
	    cmocka_unit_test(test_nng_urls),
	    cmocka_unit_test(test_rpc_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
