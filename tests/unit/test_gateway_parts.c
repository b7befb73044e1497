/* test_gateway_parts.c - the gateway's pieces that need no socket:
 * routing with 404/405 and Allow, error mapping, cookies and bearer
 * tokens, CORS decisions, static file paths and lookups, metrics text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/rpc.h"
#include "gateway/gw_api.h"
#include "gateway/gw_cookie.h"
#include "gateway/gw_cors.h"
#include "gateway/gw_error.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_route.h"
#include "gateway/gw_static.h"

static void test_routes(void **state)
{
	const struct gw_route *r = NULL;
	char allow[GW_ROUTE_ALLOW_MAX];
	size_t i;

	(void)state;
	assert_int_equal(gw_route_find(gw_api_routes, gw_api_nroutes, "POST",
				       "/api/v1/names", &r, &i, allow),
			 GW_ROUTE_FOUND);
	assert_string_equal(r->path, "/api/v1/names");
	assert_ptr_equal(r, &gw_api_routes[i]);
	assert_true(r->flags & GW_ROUTE_BODY);

	assert_int_equal(gw_route_find(gw_api_routes, gw_api_nroutes, "PATCH",
				       "/api/v1/me/favorites", &r, &i, allow),
			 GW_ROUTE_NO_METHOD);
	assert_string_equal(allow, "GET, PUT, DELETE, OPTIONS");

	assert_int_equal(gw_route_find(gw_api_routes, gw_api_nroutes, "GET",
				       "/api/v1/names/", &r, &i, allow),
			 GW_ROUTE_NO_PATH);
	assert_int_equal(gw_route_find(gw_api_routes, gw_api_nroutes, "GET",
				       "/API/V1/META", &r, &i, allow),
			 GW_ROUTE_NO_PATH);
	assert_int_equal(gw_route_find(gw_api_routes, gw_api_nroutes, "GET",
				       "/api/likes", &r, &i, allow),
			 GW_ROUTE_FOUND);
	assert_true(r->flags & GW_ROUTE_LEGACY);

	/* each method and path once */
	for (i = 0; i < gw_api_nroutes; i++) {
		size_t j;

		for (j = i + 1; j < gw_api_nroutes; j++)
			assert_false(strcmp(gw_api_routes[i].path,
					    gw_api_routes[j].path) == 0 &&
				     strcmp(gw_api_routes[i].method,
					    gw_api_routes[j].method) == 0);
	}
}

static void test_error_mapping(void **state)
{
	static const struct {
		int rpc, http;
		const char *code;
	} map[] = {
	    {RPC_INVALID_ARGUMENT, 400, "invalid_argument"},
	    {RPC_UNAUTHENTICATED, 401, "unauthenticated"},
	    {RPC_PERMISSION_DENIED, 403, "permission_denied"},
	    {RPC_NOT_FOUND, 404, "not_found"},
	    {RPC_ALREADY_EXISTS, 409, "already_exists"},
	    {RPC_RESOURCE_EXHAUSTED, 429, "resource_exhausted"},
	    {RPC_UNAVAILABLE, 503, "unavailable"},
	    {RPC_DEADLINE_EXCEEDED, 504, "deadline_exceeded"},
	    {RPC_INTERNAL, 500, "internal"},
	    {RPC_UNKNOWN, 500, "internal"},
	    {RPC_FAILED_PRECONDITION, 400, "failed_precondition"},
	};
	json_t *v;
	char *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		assert_int_equal(gw_error_http_status(map[i].rpc),
				 map[i].http);
		assert_string_equal(gw_error_code(map[i].rpc), map[i].code);
	}
	/* a worker's words pass for statuses it sets on purpose only */
	assert_string_equal(
	    gw_error_message(RPC_ALREADY_EXISTS, "email taken", "auth"),
	    "email taken");
	assert_string_equal(
	    gw_error_message(RPC_INTERNAL, "/srv/db.c:12 SELECT", "auth"),
	    "internal error");
	assert_null(
	    strstr(gw_error_message(RPC_UNAVAILABLE, "ipc:///tmp/x", "model"),
		   "ipc"));
	assert_non_null(strstr(
	    gw_error_message(RPC_DEADLINE_EXCEEDED, "", "model"), "model"));

	v = gw_error_json("unknown_field", "bad", "x");
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	assert_string_equal(s, "{\"error\":{\"code\":\"unknown_field\","
			       "\"field\":\"x\",\"message\":\"bad\"}}");
	free(s);
	v = gw_error_legacy_json("nope");
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	assert_string_equal(s, "{\"error\":\"nope\"}");
	free(s);
}

static void test_cookies_and_bearer(void **state)
{
	struct gw_cookie_opts o = {true, false};
	char tok[GW_COOKIE_TOKEN_MAX + 1], buf[GW_COOKIE_HEADER_MAX];

	(void)state;
	assert_true(
	    gw_cookie_find("a=1; session=abc-DEF_123; b=2", tok, sizeof(tok)));
	assert_string_equal(tok, "abc-DEF_123");
	assert_true(gw_cookie_find("session=\"q1\"", tok, sizeof(tok)));
	assert_string_equal(tok, "q1");
	assert_false(gw_cookie_find("xsession=abc", tok, sizeof(tok)));
	assert_false(gw_cookie_find("session=", tok, sizeof(tok)));
	assert_false(gw_cookie_find("session=a b", tok, sizeof(tok)));
	assert_false(gw_cookie_find("session=a\"b", tok, sizeof(tok)));
	assert_false(gw_cookie_find(NULL, tok, sizeof(tok)));

	assert_true(gw_cookie_bearer("Bearer t0k.en", tok, sizeof(tok)));
	assert_string_equal(tok, "t0k.en");
	assert_true(gw_cookie_bearer("bearer  xyz ", tok, sizeof(tok)));
	assert_string_equal(tok, "xyz");
	assert_false(gw_cookie_bearer("Basic abc", tok, sizeof(tok)));
	assert_false(gw_cookie_bearer("Bearer a;b", tok, sizeof(tok)));
	memset(buf, 'a', 300);
	memcpy(buf, "Bearer ", 7);
	buf[300] = '\0';
	assert_false(gw_cookie_bearer(buf, tok, sizeof(tok)));

	assert_int_equal(gw_cookie_set(&o, "abc", 3600, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "session=abc; Path=/; Max-Age=3600; "
				 "HttpOnly; SameSite=Lax; Secure");
	o.secure = false;
	o.same_site_none = true;
	assert_int_equal(gw_cookie_set(&o, NULL, 3600, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "session=; Path=/; Max-Age=0; HttpOnly; "
				 "SameSite=None");
}

static void test_cors(void **state)
{
	struct gw_cors c;
	char err[256];

	(void)state;
	assert_int_equal(gw_cors_parse(&c, "", err, sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	assert_false(gw_cors_allowed(&c, "https://a.example"));
	assert_int_equal(gw_cors_parse(&c,
				       "https://a.example, http://b.example:8"
				       "080",
				       err, sizeof(err)),
			 0);
	assert_int_equal(c.n, 2);
	assert_true(gw_cors_allowed(&c, "https://a.example"));
	assert_true(gw_cors_allowed(&c, "http://b.example:8080"));
	assert_false(gw_cors_allowed(&c, "http://a.example"));
	assert_false(gw_cors_allowed(&c, "https://a.example.evil"));
	assert_false(gw_cors_allowed(&c, "null"));
	assert_false(gw_cors_allowed(&c, NULL));
	assert_int_equal(
	    gw_cors_parse(&c, "https://a.example/path", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CORS_ORIGINS"));
	assert_int_equal(gw_cors_parse(&c, "ftp://x", err, sizeof(err)), -1);
	assert_int_equal(gw_cors_parse(&c, "*", err, sizeof(err)), -1);

	assert_true(
	    gw_cors_same_origin("http://localhost:5000", "localhost:5000"));
	assert_false(
	    gw_cors_same_origin("http://evil:5000", "localhost:5000"));
	assert_false(gw_cors_same_origin("null", "localhost"));
	assert_true(gw_cors_state_changing("POST"));
	assert_true(gw_cors_state_changing("DELETE"));
	assert_false(gw_cors_state_changing("GET"));
}

static void test_static_paths(void **state)
{
	static const char *refused[] = {"/../etc/passwd", "/a/../../x",
					"/./a",		  "/a//b",
					"/.env",	  "/a/.git/config",
					"/a\\..\\b",	  "/a%00b",
					"/%2e%2e/x",	  "a",
					"/a\tb",	  ""};
	char out[GW_STATIC_PATH_MAX + 16];
	size_t i;

	(void)state;
	assert_int_equal(gw_static_path("/", out, sizeof(out)), 0);
	assert_string_equal(out, "index.html");
	assert_int_equal(gw_static_path("/css/", out, sizeof(out)), 0);
	assert_string_equal(out, "css/index.html");
	assert_int_equal(gw_static_path("/js/app.js", out, sizeof(out)), 0);
	assert_string_equal(out, "js/app.js");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_int_equal(gw_static_path(refused[i], out, sizeof(out)),
				 -1);
	assert_string_equal(gw_static_type("a/b.css"),
			    "text/css; charset=utf-8");
	assert_string_equal(gw_static_type("x.JS"),
			    "text/javascript; charset=utf-8");
	assert_string_equal(gw_static_type("index.html"),
			    "text/html; charset=utf-8");
	assert_string_equal(gw_static_type("a.svg"), "image/svg+xml");
	assert_string_equal(gw_static_type("a.d/noext"),
			    "application/octet-stream");
}

static void test_static_lookup_stays_inside(void **state)
{
	char dir[] = "/tmp/gw-static-XXXXXX", path[512], err[256];
	struct gw_static s;
	struct gw_static_file f;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/web", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/web/index.html", dir);
	fp = fopen(path, "w");
	fputs("<p>hi</p>", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/secret.txt", dir);
	fp = fopen(path, "w");
	fputs("secret", fp);
	fclose(fp);
	/* a link inside the folder to a file outside it */
	snprintf(path, sizeof(path), "%s/web/link.txt", dir);
	assert_int_equal(symlink("../secret.txt", path), 0);

	snprintf(path, sizeof(path), "%s/web", dir);
	assert_int_equal(gw_static_open(&s, path, err, sizeof(err)), 0);
	assert_true(s.root_fd >= 0);
	assert_int_equal(gw_static_lookup(&s, "/", &f), 0);
	assert_int_equal(f.size, 9);
	assert_string_equal(f.type, "text/html; charset=utf-8");
	assert_string_equal(f.cache, "no-cache");
	assert_true(f.etag[0] == '"');
	close(f.fd);
	assert_int_equal(gw_static_lookup(&s, "/../secret.txt", &f), -1);
	assert_int_equal(gw_static_lookup(&s, "/link.txt", &f), -1);
	assert_int_equal(gw_static_lookup(&s, "/nothere.html", &f), -1);
	gw_static_close(&s);

	/* a folder that is not there serves nothing */
	assert_int_equal(
	    gw_static_open(&s, "/nonexistent/web", err, sizeof(err)), 0);
	assert_int_equal(gw_static_lookup(&s, "/", &f), -1);
	gw_static_close(&s);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void test_metrics_text(void **state)
{
	struct gw_metrics *m = calloc(1, sizeof(*m));
	const struct gw_metrics_worker workers[2] = {{"model", {9, 0, 0}},
						     {"auth", {5, 2, 7}}};
	size_t len;
	char *text;
	int a, b;

	(void)state;
	assert_non_null(m);
	a = gw_metrics_route(m, "meta");
	b = gw_metrics_route(m, "names");
	assert_int_equal(gw_metrics_route(m, "meta"), a);
	assert_int_equal(gw_metrics_method(m, "ModelService/Meta"), 0);
	gw_metrics_request(m, a, 200, 3.0);
	gw_metrics_request(m, a, 200, 30.0);
	gw_metrics_request(m, b, 429, 0.5);
	gw_metrics_request(m, b, 418, 0.5);
	gw_metrics_rpc(m, 0, RPC_OK, 2.0);
	gw_metrics_rpc(m, 0, RPC_UNAVAILABLE, 1.0);
	text = gw_metrics_render(m, workers, 2, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "namegen_http_requests_total{route="
				     "\"meta\",status=\"200\"} 2\n"));
	assert_non_null(strstr(text, "{route=\"names\",status=\"429\"} 1\n"));
	assert_non_null(
	    strstr(text, "{route=\"names\",status=\"other\"} 1\n"));
	assert_non_null(strstr(text,
			       "namegen_http_request_duration_seconds_"
			       "bucket{route=\"meta\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(text,
			       "namegen_http_request_duration_seconds_"
			       "bucket{route=\"meta\",le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(text, "namegen_rpc_calls_total{method="
				     "\"ModelService/Meta\",status="
				     "\"UNAVAILABLE\"} 1\n"));
	assert_non_null(strstr(text, "namegen_rpc_errors_total{method="
				     "\"ModelService/Meta\"} 1\n"));
	assert_non_null(strstr(text, "namegen_http_in_flight_requests 0\n"));
	assert_non_null(
	    strstr(text, "namegen_rpc_messages_total{worker=\"model\"} 9\n"));
	assert_non_null(
	    strstr(text, "namegen_rpc_bundles_total{worker=\"auth\"} 2\n"));
	assert_non_null(strstr(text, "namegen_rpc_bundled_calls_total{worker="
				     "\"auth\"} 7\n"));
	free(text);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_error_mapping),
	    cmocka_unit_test(test_cookies_and_bearer),
	    cmocka_unit_test(test_cors),
	    cmocka_unit_test(test_static_paths),
	    cmocka_unit_test(test_static_lookup_stays_inside),
	    cmocka_unit_test(test_metrics_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
