/* gw_json.h - strict reading of JSON request bodies.
 *
 * A request body must be one JSON object of known fields with the right
 * types; anything else is refused with an error that names the field, so
 * a client learns exactly what to fix. Nothing here knows about routes:
 * gw_map.c says which fields each route takes. */
#ifndef GATEWAY_GW_JSON_H
#define GATEWAY_GW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A request body larger than this is refused with 413. */
#define GW_JSON_BODY_MAX    (16 * 1024)
#define GW_JSON_FIELD_MAX   64
#define GW_JSON_MESSAGE_MAX 200

/* Why a body was refused: code is one of "invalid_json", "unknown_field",
 * "missing_field", "invalid_argument"; field names the member (empty when
 * the body as a whole is wrong); message is a sentence for the client. */
struct gw_json_err {
	const char *code;
	char field[GW_JSON_FIELD_MAX];
	char message[GW_JSON_MESSAGE_MAX];
};

enum gw_json_type {
	GW_JSON_STRING,
	GW_JSON_INT,
	GW_JSON_NUMBER, /* an integer or a real */
	GW_JSON_BOOL,
	GW_JSON_ARRAY,
	GW_JSON_OBJECT,
	GW_JSON_ANY
};

struct gw_json_field {
	const char *name;
	enum gw_json_type type;
	bool required;
};

/* gw_json_fail fills err and returns -1, for "return gw_json_fail(...)". */
int gw_json_fail(struct gw_json_err *err, const char *code, const char *field,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* gw_json_parse_object parses buf[0..len) as exactly one JSON object
 * (duplicate keys refused). Returns 0 and a new reference in *out, or -1
 * with err filled. An empty body counts as {} when allow_empty. */
int gw_json_parse_object(const char *buf, size_t len, bool allow_empty,
			 json_t **out, struct gw_json_err *err);

/* gw_json_check checks that obj has every required field, that each field
 * present has its type (null counts as absent) and, when strict, that no
 * other field is there. prefix (may be "") is put before field names in
 * errors, e.g. "countries[1].". Returns 0 or -1 with err filled. */
int gw_json_check(const json_t *obj, const char *prefix,
		  const struct gw_json_field *fields, size_t n, bool strict,
		  struct gw_json_err *err);

/* gw_json_str returns the string member name of obj, def when absent or
 * null. Refuses (-1) a string longer than max bytes or one holding a NUL
 * or another control character. The string lives as long as obj. */
int gw_json_str(const json_t *obj, const char *name, size_t max,
		const char *def, const char **out, struct gw_json_err *err);

/* gw_json_int reads an integer member in [min, max]; def when absent. */
int gw_json_int(const json_t *obj, const char *name, int64_t min, int64_t max,
		int64_t def, int64_t *out, struct gw_json_err *err);

/* gw_json_bool reads a boolean member; def when absent. */
int gw_json_bool(const json_t *obj, const char *name, bool def, bool *out,
		 struct gw_json_err *err);

/* gw_json_dump serialises v compactly into a malloc'd string and its
 * length (no trailing newline) and drops the reference to v. Returns
 * NULL when out of memory. */
char *gw_json_dump(json_t *v, size_t *len);

/* gw_json_time returns a new ISO 8601 UTC string for ms since the epoch. */
json_t *gw_json_time(int64_t ms);

#endif /* GATEWAY_GW_JSON_H */
