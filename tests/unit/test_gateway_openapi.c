/* test_gateway_openapi.c - the OpenAPI document the gateway serves
 * describes exactly the routes it serves: every route in gw_api_routes is
 * an operation of the document and every operation is a route, and every
 * $ref in it resolves. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gateway/gw_api.h"

static json_t *document(void)
{
	json_error_t jerr;
	size_t len;
	const char *doc = gw_api_openapi(&len);
	json_t *v;

	assert_true(len > 1000);
	v = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		fail_msg("openapi.json: %s at line %d", jerr.text, jerr.line);
	return v;
}

static void lower(char *out, const char *in, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && in[i]; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = '\0';
}

static void test_every_route_is_documented(void **state)
{
	json_t *doc = document(), *paths, *op;
	char m[16];
	size_t i;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(doc, "openapi")),
			    "3.1.0");
	paths = json_object_get(doc, "paths");
	assert_non_null(paths);
	for (i = 0; i < gw_api_nroutes; i++) {
		lower(m, gw_api_routes[i].method, sizeof(m));
		op = json_object_get(
		    json_object_get(paths, gw_api_routes[i].path), m);
		if (!op)
			fail_msg("%s %s is served but not in openapi.json",
				 gw_api_routes[i].method,
				 gw_api_routes[i].path);
		assert_non_null(json_object_get(op, "responses"));
		/* a route that reads a body documents it, and back */
		assert_int_equal(json_object_get(op, "requestBody") != NULL,
				 (gw_api_routes[i].flags & GW_ROUTE_BODY) !=
				     0);
	}
	json_decref(doc);
}

static void test_every_operation_is_served(void **state)
{
	json_t *doc = document(), *paths, *item, *op;
	const char *path, *method;
	char m[16];
	size_t i, ops = 0;

	(void)state;
	paths = json_object_get(doc, "paths");
	json_object_foreach(paths, path, item)
	{
		json_object_foreach(item, method, op)
		{
			for (i = 0; i < gw_api_nroutes; i++) {
				lower(m, gw_api_routes[i].method, sizeof(m));
				if (strcmp(gw_api_routes[i].path, path) == 0 &&
				    strcmp(m, method) == 0)
					break;
			}
			if (i == gw_api_nroutes)
				fail_msg("openapi.json has %s %s, which the "
					 "gateway does not serve",
					 method, path);
			ops++;
		}
	}
	assert_int_equal(ops, gw_api_nroutes);
	json_decref(doc);
}

/* refs_resolve walks v and checks every "$ref" names a schema. */
static void refs_resolve(json_t *v, json_t *schemas)
{
	const char *key, *ref;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, x)
		{
			if (strcmp(key, "$ref") == 0) {
				ref = json_string_value(x);
				assert_non_null(ref);
				assert_int_equal(
				    strncmp(ref, "#/components/schemas/", 21),
				    0);
				if (!json_object_get(schemas, ref + 21))
					fail_msg("unresolved $ref %s", ref);
			} else {
				refs_resolve(x, schemas);
			}
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) refs_resolve(x, schemas);
	}
}

static void test_refs_resolve(void **state)
{
	json_t *doc = document();

	(void)state;
	refs_resolve(doc, json_object_get(json_object_get(doc, "components"),
					  "schemas"));
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_route_is_documented),
	    cmocka_unit_test(test_every_operation_is_served),
	    cmocka_unit_test(test_refs_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
