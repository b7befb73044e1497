/* test_auth_rules.c - validation and normalisation of account fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth-service/rules.h"

static void test_email_is_trimmed_and_lowered(void **state)
{
	char out[AUTH_EMAIL_BUF], err[AUTH_ERR_MAX];

	(void)state;
	assert_int_equal(auth_rules_email(" \tJane.Doe+x@Example.CO.uk \n",
					  out, err, sizeof(err)),
			 0);
	assert_string_equal(out, "jane.doe+x@example.co.uk");
}

static void test_email_shapes(void **state)
{
	static const char *const bad[] = {
	    "",		"   ",	    "plain",	  "@example.org", "a@",
	    "a@b",	"a@.b.c",   "a@b.c.",	  "a@@b.co",	  "a@b@c.co",
	    "a b@c.co", "a@b..co",  "a@-b.co",	  "a@b-.co",	  "a\"b@c.co",
	    "a@b_c.co", "a,b@c.co", "a@b.co\x01",
	};
	static const char *const good[] = {
	    "a@b.co",
	    "x_y.z-w@sub.example.org",
	    "o'neil@example.ie",
	    "müller@exämple.de",
	    "1@2.io",
	};
	char out[AUTH_EMAIL_BUF], err[AUTH_ERR_MAX];
	char local[80], longmail[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (auth_rules_email(bad[i], out, err, sizeof(err)) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(err, "email"));
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (auth_rules_email(good[i], out, err, sizeof(err)) != 0)
			fail_msg("refused \"%s\": %s", good[i], err);

	/* 64 bytes before the '@' are allowed, 65 are not */
	memset(local, 'a', 64);
	strcpy(local + 64, "@b.co");
	assert_int_equal(auth_rules_email(local, out, err, sizeof(err)), 0);
	memset(local, 'a', 65);
	strcpy(local + 65, "@b.co");
	assert_int_equal(auth_rules_email(local, out, err, sizeof(err)), -1);
	/* no more than AUTH_EMAIL_MAX bytes in all */
	memset(longmail, 'd', sizeof(longmail));
	memcpy(longmail, "a@", 2);
	strcpy(longmail + AUTH_EMAIL_MAX - 3, ".co");
	assert_int_equal(strlen(longmail), AUTH_EMAIL_MAX);
	/* labels are at most 63 bytes: split the domain */
	for (i = 60; i < AUTH_EMAIL_MAX - 4; i += 60)
		longmail[i] = '.';
	assert_int_equal(auth_rules_email(longmail, out, err, sizeof(err)), 0);
	strcpy(longmail + AUTH_EMAIL_MAX - 3, "x.co");
	assert_int_equal(auth_rules_email(longmail, out, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "longer"));
	/* a NULL string is a missing one */
	assert_int_equal(auth_rules_email(NULL, out, err, sizeof(err)), -1);
	assert_string_equal(err, "email is required");
}

static void test_username(void **state)
{
	char out[AUTH_USERNAME_BUF], err[AUTH_ERR_MAX], s[400];
	int i;

	(void)state;
	assert_int_equal(auth_rules_username("  Zoë  ", out, err, sizeof(err)),
			 0);
	assert_string_equal(out, "Zoë");
	assert_int_equal(auth_rules_username("", out, err, sizeof(err)), -1);
	assert_string_equal(err, "username is required");
	assert_int_equal(auth_rules_username(" \t ", out, err, sizeof(err)),
			 -1);
	/* 64 characters of up to four bytes each */
	s[0] = '\0';
	for (i = 0; i < 64; i++)
		strcat(s, "\xf0\x9f\x98\x80"); /* U+1F600 */
	assert_int_equal(auth_rules_username(s, out, err, sizeof(err)), 0);
	assert_string_equal(out, s);
	strcat(s, "x");
	assert_int_equal(auth_rules_username(s, out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "64"));
	/* invalid UTF-8: lone continuation, overlong, surrogate, too big */
	assert_int_equal(auth_rules_username("a\x80", out, err, sizeof(err)),
			 -1);
	assert_int_equal(
	    auth_rules_username("\xc0\xaf", out, err, sizeof(err)), -1);
	assert_int_equal(
	    auth_rules_username("\xed\xa0\x80", out, err, sizeof(err)), -1);
	assert_int_equal(
	    auth_rules_username("\xf4\x90\x80\x80", out, err, sizeof(err)),
	    -1);
	assert_int_equal(
	    auth_rules_username("tab\there", out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "username"));
}

static void test_password(void **state)
{
	char err[AUTH_ERR_MAX], pw[AUTH_PASSWORD_MAX + 2];

	(void)state;
	assert_int_equal(
	    auth_rules_password("1234567", "password", err, sizeof(err)), -1);
	assert_string_equal(err, "password must be at least 8 bytes");
	assert_int_equal(
	    auth_rules_password("12345678", "password", err, sizeof(err)), 0);
	memset(pw, 'x', sizeof(pw));
	pw[AUTH_PASSWORD_MAX] = '\0';
	assert_int_equal(auth_rules_password(pw, "password", err, sizeof(err)),
			 0);
	pw[AUTH_PASSWORD_MAX] = 'x';
	pw[AUTH_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(
	    auth_rules_password(pw, "new_password", err, sizeof(err)), -1);
	assert_string_equal(err, "new_password must be at most 1024 bytes");
	assert_int_equal(
	    auth_rules_password(NULL, "old_password", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "old_password"));
}

static void test_favorite_fields(void **state)
{
	char name[AUTH_NAME_BUF], country[3], err[AUTH_ERR_MAX];

	(void)state;
	assert_int_equal(auth_rules_name(" Jean-Luc ", name, err, sizeof(err)),
			 0);
	assert_string_equal(name, "Jean-Luc");
	assert_int_equal(auth_rules_name("", name, err, sizeof(err)), -1);
	assert_string_equal(err, "name is required");
	assert_int_equal(auth_rules_country("se", country, err, sizeof(err)),
			 0);
	assert_string_equal(country, "SE");
	assert_int_equal(auth_rules_country("", country, err, sizeof(err)), 0);
	assert_string_equal(country, "");
	assert_int_equal(auth_rules_country("SWE", country, err, sizeof(err)),
			 -1);
	assert_int_equal(auth_rules_country("S1", country, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "country"));
	assert_int_equal(auth_rules_gender(0, err, sizeof(err)), 0);
	assert_int_equal(auth_rules_gender(2, err, sizeof(err)), 0);
	assert_int_equal(auth_rules_gender(3, err, sizeof(err)), -1);
	assert_int_equal(auth_rules_gender(-1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gender"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_email_is_trimmed_and_lowered),
	    cmocka_unit_test(test_email_shapes),
	    cmocka_unit_test(test_username),
	    cmocka_unit_test(test_password),
	    cmocka_unit_test(test_favorite_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
