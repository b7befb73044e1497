/* test_gateway_map.c - JSON bodies <-> protobuf messages for every route,
 * and the strict reading of bodies (types, unknown fields, limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/gw_json.h"
#include "gateway/gw_map.h"

static json_t *parse(const char *s)
{
	struct gw_json_err e;
	json_t *v = NULL;

	assert_int_equal(gw_json_parse_object(s, strlen(s), false, &v, &e), 0);
	return v;
}

/* dump compacts v with sorted keys for comparison, and frees v. */
static char *dump(json_t *v)
{
	char *s;

	assert_non_null(v);
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(v);
	return s;
}

static void test_parse_refuses_bad_bodies(void **state)
{
	static const char *bad[] = {
	    "",	     "{",	   "[1,2]",
	    "\"x\"", "{} {}",	   "{\"a\":1,\"a\":2}",
	    "nul",   "{\"a\":1,}", "{\"a\":\"x\\u0000y\"}"};
	struct gw_json_err e;
	json_t *v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = NULL;
		assert_int_equal(gw_json_parse_object(bad[i], strlen(bad[i]),
						      false, &v, &e),
				 -1);
		assert_null(v);
		assert_string_equal(e.code, "invalid_json");
	}
	assert_int_equal(gw_json_parse_object("", 0, true, &v, &e), 0);
	assert_true(json_is_object(v));
	json_decref(v);
}

static void test_generate_every_option(void **state)
{
	json_t *in =
	    parse("{\"countries\":[\"de\",{\"code\":\"IT\",\"weight\":0.25}],"
		  "\"gender\":\"female\",\"prefix\":\"Ma\",\"min_length\":3,"
		  "\"max_length\":9,\"count\":10,\"temperature\":0.8,"
		  "\"top_k\":5,\"unique\":false,\"novel\":true,\"seed\":42}");
	struct gw_map_generate g;
	struct gw_json_err e;

	(void)state;
	assert_int_equal(gw_map_generate_req(in, &g, &e), 0);
	assert_int_equal(g.msg.n_countries, 2);
	assert_string_equal(g.msg.countries[0]->code, "DE");
	assert_float_equal(g.msg.countries[0]->weight, 1.0, 1e-6);
	assert_string_equal(g.msg.countries[1]->code, "IT");
	assert_float_equal(g.msg.countries[1]->weight, 0.25, 1e-6);
	assert_int_equal(g.msg.gender, NAMEGEN__V1__GENDER__GENDER_FEMALE);
	assert_string_equal(g.msg.prefix, "Ma");
	assert_int_equal(g.msg.min_length, 3);
	assert_int_equal(g.msg.max_length, 9);
	assert_int_equal(g.msg.count, 10);
	assert_float_equal(g.msg.temperature, 0.8, 1e-6);
	assert_int_equal(g.msg.top_k, 5);
	assert_true(g.msg.allow_duplicates);
	assert_true(g.msg.novel);
	assert_true(g.msg.has_seed);
	assert_int_equal(g.msg.seed, 42);
	json_decref(in);

	/* defaults: one name, unique, no seed */
	in = parse("{\"countries\":[\"US\"]}");
	assert_int_equal(gw_map_generate_req(in, &g, &e), 0);
	assert_int_equal(g.msg.count, 1);
	assert_false(g.msg.allow_duplicates);
	assert_false(g.msg.has_seed);
	assert_int_equal(g.msg.gender, NAMEGEN__V1__GENDER__GENDER_ANY);
	json_decref(in);
}

/* refuse checks that body is refused with code naming field. */
static void refuse(const char *body, const char *code, const char *field)
{
	struct gw_map_generate g;
	struct gw_json_err e;
	json_t *in = parse(body);

	assert_int_equal(gw_map_generate_req(in, &g, &e), -1);
	assert_string_equal(e.code, code);
	assert_string_equal(e.field, field);
	assert_non_null(strstr(e.message, field));
	json_decref(in);
}

static void test_generate_refusals_name_the_field(void **state)
{
	(void)state;
	refuse("{}", "missing_field", "countries");
	refuse("{\"countries\":[\"DE\"],\"colour\":1}", "unknown_field",
	       "colour");
	refuse("{\"countries\":\"DE\"}", "invalid_argument", "countries");
	refuse("{\"countries\":[]}", "invalid_argument", "countries");
	refuse("{\"countries\":[\"DEU\"]}", "invalid_argument",
	       "countries[0]");
	refuse("{\"countries\":[\"DE\",7]}", "invalid_argument",
	       "countries[1]");
	refuse("{\"countries\":[{\"code\":\"DE\",\"w\":1}]}", "unknown_field",
	       "countries[0].w");
	refuse("{\"countries\":[{\"code\":\"DE\",\"weight\":-1}]}",
	       "invalid_argument", "countries[0].weight");
	refuse("{\"countries\":[\"DE\"],\"count\":101}", "invalid_argument",
	       "count");
	refuse("{\"countries\":[\"DE\"],\"count\":2.5}", "invalid_argument",
	       "count");
	refuse("{\"countries\":[\"DE\"],\"count\":\"3\"}", "invalid_argument",
	       "count");
	refuse("{\"countries\":[\"DE\"],\"temperature\":0}",
	       "invalid_argument", "temperature");
	refuse("{\"countries\":[\"DE\"],\"temperature\":2.5}",
	       "invalid_argument", "temperature");
	refuse("{\"countries\":[\"DE\"],\"gender\":\"x\"}", "invalid_argument",
	       "gender");
	refuse("{\"countries\":[\"DE\"],\"unique\":1}", "invalid_argument",
	       "unique");
	refuse("{\"countries\":[\"DE\"],\"seed\":-1}", "invalid_argument",
	       "seed");
	refuse("{\"countries\":[\"DE\"],\"min_length\":5,\"max_length\":3}",
	       "invalid_argument", "min_length");
	refuse("{\"countries\":[\"DE\"],\"prefix\":\"a\\tb\"}",
	       "invalid_argument", "prefix");
	refuse("{\"countries\":[\"DE\"],\"prefix\":\"xxxxxxxxxxxxxxxxxxxxxxxx"
	       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
	       "invalid_argument", "prefix");
}

static void test_generate_reply_shape(void **state)
{
	Namegen__V1__GeneratedName a = NAMEGEN__V1__GENERATED_NAME__INIT;
	Namegen__V1__GeneratedName *names[1] = {&a};
	Namegen__V1__GenerateReply r = NAMEGEN__V1__GENERATE_REPLY__INIT;
	char *s;

	(void)state;
	a.name = "Marta";
	a.log_prob = -4.5f;
	a.in_training_data = 1;
	r.names = names;
	r.n_names = 1;
	r.incomplete = 1;
	r.incomplete_reason = "prefix too rare";
	r.attempts = 9;
	s = dump(gw_map_generate_reply(&r));
	assert_string_equal(s, "{\"attempts\":9,\"incomplete\":true,"
			       "\"incomplete_reason\":\"prefix too rare\","
			       "\"names\":[{\"in_training_data\":true,"
			       "\"log_prob\":-4.5,\"name\":\"Marta\"}]}");
	free(s);

	/* JSON has no infinity: an impossible name's log-prob is null */
	a.log_prob = -INFINITY;
	r.incomplete = 0;
	s = dump(gw_map_generate_reply(&r));
	assert_non_null(strstr(s, "\"log_prob\":null"));
	free(s);
}

static void test_score_and_meta(void **state)
{
	Namegen__V1__ScoreRequest sr;
	Namegen__V1__CountryScore cs = NAMEGEN__V1__COUNTRY_SCORE__INIT;
	Namegen__V1__CountryScore *csp[1] = {&cs};
	Namegen__V1__GenderScore gs = NAMEGEN__V1__GENDER_SCORE__INIT;
	Namegen__V1__GenderScore *gsp[1] = {&gs};
	Namegen__V1__ScoreReply rep = NAMEGEN__V1__SCORE_REPLY__INIT;
	Namegen__V1__CountryInfo ci = NAMEGEN__V1__COUNTRY_INFO__INIT;
	Namegen__V1__CountryInfo *cip[1] = {&ci};
	Namegen__V1__Gender g[2] = {NAMEGEN__V1__GENDER__GENDER_MALE,
				    NAMEGEN__V1__GENDER__GENDER_FEMALE};
	Namegen__V1__MetaReply meta = NAMEGEN__V1__META_REPLY__INIT;
	struct gw_json_err e;
	json_t *in;
	char *s;

	(void)state;
	in = parse("{\"name\":\"Jörg\"}");
	assert_int_equal(gw_map_score_req(in, &sr, &e), 0);
	assert_string_equal(sr.name, "Jörg");
	json_decref(in);
	in = parse("{\"name\":\"\"}");
	assert_int_equal(gw_map_score_req(in, &sr, &e), -1);
	assert_string_equal(e.field, "name");
	json_decref(in);
	in = parse("{\"name\":\"A\",\"x\":null}");
	assert_int_equal(gw_map_score_req(in, &sr, &e), -1);
	assert_string_equal(e.code, "unknown_field");
	json_decref(in);

	cs.code = "DE";
	cs.probability = 0.5f;
	gs.gender = NAMEGEN__V1__GENDER__GENDER_MALE;
	gs.probability = 0.75f;
	rep.name = "Jörg";
	rep.countries = csp;
	rep.n_countries = 1;
	rep.genders = gsp;
	rep.n_genders = 1;
	rep.log_likelihood = -2.0f;
	s = dump(gw_map_score_reply(&rep));
	assert_string_equal(s, "{\"countries\":[{\"code\":\"DE\","
			       "\"probability\":0.5}],\"genders\":[{"
			       "\"gender\":\"male\",\"probability\":0.75}],"
			       "\"log_likelihood\":-2.0,\"name\":\"Jörg\"}");
	free(s);

	ci.code = "DE";
	ci.name = "Germany";
	ci.training_names = 700;
	meta.countries = cip;
	meta.n_countries = 1;
	meta.genders = g;
	meta.n_genders = 2;
	meta.alphabet = "ab";
	meta.max_length = 20;
	meta.model_version = "v1";
	meta.parameters = 1000;
	meta.trained_at = "2026-12-01T00:00:00Z";
	meta.heldout_loss = 2.0f;
	meta.model_bytes = 4096;
	s = dump(gw_map_meta_reply(&meta));
	assert_string_equal(
	    s, "{\"alphabet\":\"ab\",\"countries\":[{\"code\":\"DE\","
	       "\"name\":\"Germany\",\"training_names\":700}],\"genders\":"
	       "[\"male\",\"female\"],\"heldout_loss\":2.0,\"max_length\":"
	       "20,\"model_bytes\":4096,\"model_version\":\"v1\","
	       "\"parameters\":1000,\"trained_at\":"
	       "\"2026-12-01T00:00:00Z\"}");
	free(s);
	s = dump(gw_map_legacy_meta(&meta));
	assert_string_equal(s, "{\"countries\":[{\"code\":\"DE\",\"name\":"
			       "\"Germany\"}],\"genders\":[\"M\",\"F\"],"
			       "\"max_len\":20}");
	free(s);
}

static void test_accounts(void **state)
{
	Namegen__V1__RegisterRequest reg;
	Namegen__V1__LoginRequest login;
	Namegen__V1__ChangePasswordRequest pw;
	Namegen__V1__DeleteAccountRequest del;
	Namegen__V1__User u = NAMEGEN__V1__USER__INIT;
	Namegen__V1__LoginReply lr = NAMEGEN__V1__LOGIN_REPLY__INIT;
	struct gw_json_err e;
	json_t *in;
	char *s;

	(void)state;
	in = parse("{\"username\":\"ann\",\"email\":\"a@x.org\","
		   "\"password\":\"secret123\"}");
	assert_int_equal(gw_map_register_req(in, &reg, &e), 0);
	assert_string_equal(reg.username, "ann");
	assert_string_equal(reg.email, "a@x.org");
	assert_string_equal(reg.password, "secret123");
	json_decref(in);

	in = parse("{\"username\":\"ann\",\"email\":\"a@x.org\"}");
	assert_int_equal(gw_map_register_req(in, &reg, &e), -1);
	assert_string_equal(e.code, "missing_field");
	assert_string_equal(e.field, "password");
	json_decref(in);

	/* the original routes ignore extra fields, v1 does not */
	in =
	    parse("{\"email\":\"a@x.org\",\"password\":\"p\",\"remember\":1}");
	assert_int_equal(gw_map_login_req(in, &login, &e), -1);
	assert_string_equal(e.field, "remember");
	assert_int_equal(gw_map_legacy_login_req(in, &login, &e), 0);
	assert_string_equal(login.email, "a@x.org");
	json_decref(in);

	in = parse("{\"email\":5,\"password\":\"p\"}");
	assert_int_equal(gw_map_legacy_login_req(in, &login, &e), -1);
	assert_string_equal(e.field, "email");
	json_decref(in);

	in = parse("{\"old_password\":\"a\",\"new_password\":\"b\"}");
	assert_int_equal(gw_map_password_req(in, &pw, &e), 0);
	assert_string_equal(pw.old_password, "a");
	assert_string_equal(pw.new_password, "b");
	json_decref(in);

	in = parse("{\"password\":true}");
	assert_int_equal(gw_map_delete_req(in, &del, &e), -1);
	assert_string_equal(e.field, "password");
	json_decref(in);

	u.id = 7;
	u.username = "ann";
	u.email = "a@x.org";
	u.created_at_ms = 86400000;
	lr.user = &u;
	lr.token = "tok";
	lr.expires_in_s = 3600;
	s = dump(gw_map_login_reply(&lr));
	assert_string_equal(s, "{\"expires_in\":3600,\"token\":\"tok\","
			       "\"user\":{\"created_at\":"
			       "\"1970-01-02T00:00:00Z\",\"email\":"
			       "\"a@x.org\",\"id\":7,\"username\":\"ann\"}}");
	free(s);
}

static void test_favorites(void **state)
{
	Namegen__V1__ListFavoritesRequest lr;
	Namegen__V1__Favorite f = NAMEGEN__V1__FAVORITE__INIT;
	Namegen__V1__Favorite *fp[1] = {&f};
	Namegen__V1__ListFavoritesReply rep =
	    NAMEGEN__V1__LIST_FAVORITES_REPLY__INIT;
	struct gw_map_favorite k;
	struct gw_json_err e;
	json_t *in, *obj;
	bool like;
	char *s;

	(void)state;
	in = parse("{\"name\":\"Ana\",\"country\":\"es\",\"gender\":"
		   "\"female\"}");
	assert_int_equal(gw_map_favorite_req(in, &k, &e), 0);
	assert_string_equal(k.name, "Ana");
	assert_string_equal(k.country, "ES");
	assert_int_equal(k.gender, NAMEGEN__V1__GENDER__GENDER_FEMALE);
	json_decref(in);
	in = parse("{\"name\":\"Ana\",\"country\":\"Spain\"}");
	assert_int_equal(gw_map_favorite_req(in, &k, &e), -1);
	assert_string_equal(e.field, "country");
	json_decref(in);

	assert_int_equal(gw_map_list_req("50", "abc", &lr, &e), 0);
	assert_int_equal(lr.limit, 50);
	assert_string_equal(lr.cursor, "abc");
	assert_int_equal(gw_map_list_req(NULL, NULL, &lr, &e), 0);
	assert_int_equal(lr.limit, 0);
	assert_int_equal(gw_map_list_req("0", NULL, &lr, &e), -1);
	assert_string_equal(e.field, "limit");
	assert_int_equal(gw_map_list_req("101", NULL, &lr, &e), -1);
	assert_int_equal(gw_map_list_req("-5", NULL, &lr, &e), -1);
	assert_int_equal(gw_map_list_req(" 5", NULL, &lr, &e), -1);
	assert_int_equal(gw_map_list_req("5x", NULL, &lr, &e), -1);
	assert_int_equal(gw_map_list_req("", NULL, &lr, &e), -1);
	assert_int_equal(gw_map_list_req(NULL, "a b", &lr, &e), -1);
	assert_string_equal(e.field, "cursor");

	f.name_id = 12;
	f.name = "Ana";
	f.country = "ES";
	f.gender = NAMEGEN__V1__GENDER__GENDER_FEMALE;
	f.created_at_ms = 0;
	rep.favorites = fp;
	rep.n_favorites = 1;
	rep.next_cursor = "";
	s = dump(gw_map_list_reply(&rep));
	assert_string_equal(s, "{\"favorites\":[{\"country\":\"ES\","
			       "\"created_at\":\"1970-01-01T00:00:00Z\","
			       "\"gender\":\"female\",\"name\":\"Ana\","
			       "\"name_id\":12}],\"next_cursor\":null}");
	free(s);

	obj = json_object();
	assert_int_equal(gw_map_legacy_likes(obj, &rep), 0);
	s = dump(obj);
	assert_string_equal(s, "{\"12\":{\"countrycode\":\"ES\","
			       "\"created_on\":\"1970-01-01T00:00:00Z\","
			       "\"gender\":\"F\",\"name\":\"Ana\"}}");
	free(s);

	in = parse("{\"like\":false,\"name\":\"Ana\",\"countrycode\":\"ES\","
		   "\"gender\":\"F\",\"extra\":1}");
	assert_int_equal(gw_map_legacy_like_req(in, &like, &k, &e), 0);
	assert_false(like);
	assert_string_equal(k.country, "ES");
	assert_int_equal(k.gender, NAMEGEN__V1__GENDER__GENDER_FEMALE);
	json_decref(in);
	in = parse("{\"like\":\"yes\",\"name\":\"Ana\"}");
	assert_int_equal(gw_map_legacy_like_req(in, &like, &k, &e), -1);
	assert_string_equal(e.field, "like");
	json_decref(in);
}

static void test_legacy_name(void **state)
{
	struct gw_map_generate g;
	struct gw_json_err e;
	json_t *in;

	(void)state;
	in = parse("{\"countrycode\":\"fr\",\"gender\":\"M\","
		   "\"start_with\":\"Je\",\"max_len\":\"8\"}");
	assert_int_equal(gw_map_legacy_name_req(in, &g, &e), 0);
	assert_int_equal(g.msg.n_countries, 1);
	assert_string_equal(g.msg.countries[0]->code, "FR");
	assert_int_equal(g.msg.gender, NAMEGEN__V1__GENDER__GENDER_MALE);
	assert_string_equal(g.msg.prefix, "Je");
	assert_int_equal(g.msg.max_length, 8);
	assert_int_equal(g.msg.count, 1);
	json_decref(in);
	in = parse("{\"countrycode\":\"FR\",\"max_len\":12}");
	assert_int_equal(gw_map_legacy_name_req(in, &g, &e), 0);
	assert_int_equal(g.msg.max_length, 12);
	json_decref(in);
	in = parse("{\"countrycode\":\"FR\",\"max_len\":\"12a\"}");
	assert_int_equal(gw_map_legacy_name_req(in, &g, &e), -1);
	assert_string_equal(e.field, "max_len");
	json_decref(in);
	in = parse("{\"gender\":\"F\"}");
	assert_int_equal(gw_map_legacy_name_req(in, &g, &e), -1);
	assert_string_equal(e.field, "countrycode");
	json_decref(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_refuses_bad_bodies),
	    cmocka_unit_test(test_generate_every_option),
	    cmocka_unit_test(test_generate_refusals_name_the_field),
	    cmocka_unit_test(test_generate_reply_shape),
	    cmocka_unit_test(test_score_and_meta),
	    cmocka_unit_test(test_accounts),
	    cmocka_unit_test(test_favorites),
	    cmocka_unit_test(test_legacy_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
