/* gw_json.c - strict reading of JSON request bodies. */
#include "gateway/gw_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int gw_json_fail(struct gw_json_err *err, const char *code, const char *field,
		 const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int gw_json_parse_object(const char *buf, size_t len, bool allow_empty,
			 json_t **out, struct gw_json_err *err)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (len == 0) {
		if (!allow_empty)
			return gw_json_fail(err, "invalid_json", NULL,
					    "the request needs a JSON body");
		*out = json_object();
		return *out ? 0
			    : gw_json_fail(err, "internal", NULL,
					   "out of memory");
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return gw_json_fail(err, "invalid_json", NULL,
				    "the body is not valid JSON: %s at "
				    "line %d column %d",
				    jerr.text, jerr.line, jerr.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return gw_json_fail(err, "invalid_json", NULL,
				    "the body must be a JSON object");
	}
	*out = v;
	return 0;
}

static const char *type_name(enum gw_json_type t)
{
	switch (t) {
	case GW_JSON_STRING:
		return "a string";
	case GW_JSON_INT:
		return "an integer";
	case GW_JSON_NUMBER:
		return "a number";
	case GW_JSON_BOOL:
		return "true or false";
	case GW_JSON_ARRAY:
		return "an array";
	case GW_JSON_OBJECT:
		return "an object";
	case GW_JSON_ANY:
		break;
	}
	return "a value";
}

static bool type_ok(const json_t *v, enum gw_json_type t)
{
	switch (t) {
	case GW_JSON_STRING:
		return json_is_string(v);
	case GW_JSON_INT:
		return json_is_integer(v);
	case GW_JSON_NUMBER:
		return json_is_number(v);
	case GW_JSON_BOOL:
		return json_is_boolean(v);
	case GW_JSON_ARRAY:
		return json_is_array(v);
	case GW_JSON_OBJECT:
		return json_is_object(v);
	case GW_JSON_ANY:
		break;
	}
	return true;
}

int gw_json_check(const json_t *obj, const char *prefix,
		  const struct gw_json_field *fields, size_t n, bool strict,
		  struct gw_json_err *err)
{
	char path[GW_JSON_FIELD_MAX];
	const char *key;
	json_t *v;
	size_t i;

	/* every member present must be known and of its type */
	json_object_foreach((json_t *)(uintptr_t)obj, key, v)
	{
		snprintf(path, sizeof(path), "%s%s", prefix, key);
		for (i = 0; i < n; i++)
			if (strcmp(fields[i].name, key) == 0)
				break;
		if (i == n) {
			if (!strict)
				continue;
			return gw_json_fail(err, "unknown_field", path,
					    "unknown field \"%s\"", path);
		}
		if (!json_is_null(v) && !type_ok(v, fields[i].type))
			return gw_json_fail(err, "invalid_argument", path,
					    "field \"%s\" must be %s", path,
					    type_name(fields[i].type));
	}

	/* and every required member must be there */
	for (i = 0; i < n; i++) {
		if (!fields[i].required)
			continue;
		v = json_object_get(obj, fields[i].name);
		if (!v || json_is_null(v)) {
			snprintf(path, sizeof(path), "%s%s", prefix,
				 fields[i].name);
			return gw_json_fail(err, "missing_field", path,
					    "field \"%s\" is required", path);
		}
	}
	return 0;
}

int gw_json_str(const json_t *obj, const char *name, size_t max,
		const char *def, const char **out, struct gw_json_err *err)
{
	const json_t *v = json_object_get(obj, name);
	const unsigned char *p;
	size_t len;

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_string(v))
		return gw_json_fail(err, "invalid_argument", name,
				    "field \"%s\" must be a string", name);
	len = json_string_length(v);
	*out = json_string_value(v);
	if (len > max)
		return gw_json_fail(err, "invalid_argument", name,
				    "field \"%s\" is longer than %zu bytes",
				    name, max);
	/* jansson accepts \u0000 and control characters; no field wants
	 * them, and an embedded NUL would silently cut the string */
	for (p = (const unsigned char *)*out;
	     p < (const unsigned char *)*out + len; p++)
		if (*p < 0x20 || *p == 0x7f)
			return gw_json_fail(err, "invalid_argument", name,
					    "field \"%s\" holds a control "
					    "character",
					    name);
	return 0;
}

int gw_json_int(const json_t *obj, const char *name, int64_t min, int64_t max,
		int64_t def, int64_t *out, struct gw_json_err *err)
{
	const json_t *v = json_object_get(obj, name);
	json_int_t x;

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return gw_json_fail(err, "invalid_argument", name,
				    "field \"%s\" must be an integer", name);
	x = json_integer_value(v);
	if (x < min || x > max)
		return gw_json_fail(err, "invalid_argument", name,
				    "field \"%s\" must be between %lld and "
				    "%lld",
				    name, (long long)min, (long long)max);
	*out = x;
	return 0;
}

int gw_json_bool(const json_t *obj, const char *name, bool def, bool *out,
		 struct gw_json_err *err)
{
	const json_t *v = json_object_get(obj, name);

	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return gw_json_fail(err, "invalid_argument", name,
				    "field \"%s\" must be true or false",
				    name);
	*out = json_is_true(v);
	return 0;
}

char *gw_json_dump(json_t *v, size_t *len)
{
	char *s;

	if (!v)
		return NULL;
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	if (s)
		*len = strlen(s);
	return s;
}

json_t *gw_json_time(int64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return json_string("");
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}
