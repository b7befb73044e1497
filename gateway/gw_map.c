/* gw_map.c - JSON bodies <-> protobuf messages, one pair per route. */
#include "gateway/gw_map.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* num returns a new JSON number, or null for NaN and infinities, which
 * JSON cannot hold (a name the model finds impossible has -inf). */
static json_t *num(float x)
{
	return isfinite(x) ? json_real((double)x) : json_null();
}

const char *gw_map_gender_name(Namegen__V1__Gender g)
{
	switch (g) {
	case NAMEGEN__V1__GENDER__GENDER_MALE:
		return "male";
	case NAMEGEN__V1__GENDER__GENDER_FEMALE:
		return "female";
	default:
		return "any";
	}
}

/* gender_read reads member name as a gender: "any", "male", "female" on
 * v1; legacy also takes "M", "F", "" in any case. */
static int gender_read(const json_t *in, const char *name, bool legacy,
		       Namegen__V1__Gender *out, struct gw_json_err *err)
{
	const char *s;

	if (gw_json_str(in, name, 16, "", &s, err) < 0)
		return -1;
	*out = NAMEGEN__V1__GENDER__GENDER_ANY;
	if (!legacy && strcmp(s, "male") == 0)
		*out = NAMEGEN__V1__GENDER__GENDER_MALE;
	else if (!legacy && strcmp(s, "female") == 0)
		*out = NAMEGEN__V1__GENDER__GENDER_FEMALE;
	else if (!legacy && (strcmp(s, "any") == 0 || *s == '\0'))
		;
	else if (legacy &&
		 (strcasecmp(s, "m") == 0 || strcasecmp(s, "male") == 0))
		*out = NAMEGEN__V1__GENDER__GENDER_MALE;
	else if (legacy &&
		 (strcasecmp(s, "f") == 0 || strcasecmp(s, "female") == 0))
		*out = NAMEGEN__V1__GENDER__GENDER_FEMALE;
	else if (legacy && (*s == '\0' || strcasecmp(s, "any") == 0))
		;
	else
		return gw_json_fail(err, "invalid_argument", name,
				    "field \"%s\" must be %s", name,
				    legacy
					? "\"M\", \"F\" or \"\""
					: "\"any\", \"male\" or \"female\"");
	return 0;
}

/* country_copy checks a two-letter country code and writes it upper case
 * into out[3]. An empty code is allowed when may_be_empty. */
static int country_copy(const char *s, bool may_be_empty, const char *field,
			char out[3], struct gw_json_err *err)
{
	if (*s == '\0' && may_be_empty) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(s) != 2 || !isalpha((unsigned char)s[0]) ||
	    !isalpha((unsigned char)s[1]))
		return gw_json_fail(err, "invalid_argument", field,
				    "field \"%s\" must be a two-letter "
				    "country code such as \"DE\"",
				    field);
	out[0] = (char)toupper((unsigned char)s[0]);
	out[1] = (char)toupper((unsigned char)s[1]);
	out[2] = '\0';
	return 0;
}

static void generate_init(struct gw_map_generate *g)
{
	Namegen__V1__GenerateRequest init =
	    NAMEGEN__V1__GENERATE_REQUEST__INIT;
	Namegen__V1__CountryWeight cw = NAMEGEN__V1__COUNTRY_WEIGHT__INIT;
	size_t i;

	g->msg = init;
	for (i = 0; i < GW_MAP_COUNTRIES_MAX; i++) {
		g->cw[i] = cw;
		g->cwp[i] = &g->cw[i];
		g->codes[i][0] = '\0';
	}
	g->msg.countries = g->cwp;
}

/* country_item reads countries[i]: "DE" or {"code":"DE","weight":0.5}. */
static int country_item(const json_t *v, size_t i, struct gw_map_generate *g,
			struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"code", GW_JSON_STRING, true},
	    {"weight", GW_JSON_NUMBER, false},
	};
	char prefix[GW_JSON_FIELD_MAX], field[GW_JSON_FIELD_MAX + 16];
	const json_t *w;
	double weight = 1.0;
	const char *code;

	snprintf(prefix, sizeof(prefix), "countries[%zu].", i);
	if (json_is_string(v)) {
		snprintf(field, sizeof(field), "countries[%zu]", i);
		code = json_string_value(v);
	} else if (json_is_object(v)) {
		if (gw_json_check(v, prefix, fields, COUNT(fields), true,
				  err) < 0)
			return -1;
		snprintf(field, sizeof(field), "%scode", prefix);
		code = json_string_value(json_object_get(v, "code"));
		w = json_object_get(v, "weight");
		if (w && json_is_number(w)) {
			weight = json_number_value(w);
			if (!(weight > 0 && weight <= 1e6)) {
				snprintf(field, sizeof(field), "%sweight",
					 prefix);
				return gw_json_fail(err, "invalid_argument",
						    field,
						    "field \"%s\" must be "
						    "above 0",
						    field);
			}
		}
	} else {
		snprintf(field, sizeof(field), "countries[%zu]", i);
		return gw_json_fail(err, "invalid_argument", field,
				    "field \"%s\" must be a country code or "
				    "an object {code, weight}",
				    field);
	}
	if (country_copy(code, false, field, g->codes[i], err) < 0)
		return -1;
	g->cw[i].code = g->codes[i];
	g->cw[i].weight = (float)weight;
	return 0;
}

int gw_map_generate_req(const json_t *in, struct gw_map_generate *g,
			struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"countries", GW_JSON_ARRAY, true},
	    {"gender", GW_JSON_STRING, false},
	    {"prefix", GW_JSON_STRING, false},
	    {"min_length", GW_JSON_INT, false},
	    {"max_length", GW_JSON_INT, false},
	    {"count", GW_JSON_INT, false},
	    {"temperature", GW_JSON_NUMBER, false},
	    {"top_k", GW_JSON_INT, false},
	    {"unique", GW_JSON_BOOL, false},
	    {"novel", GW_JSON_BOOL, false},
	    {"seed", GW_JSON_INT, false},
	};
	const json_t *arr, *t, *v;
	const char *prefix;
	int64_t x, lo, hi;
	bool unique, novel;
	size_t i;

	generate_init(g);
	if (gw_json_check(in, "", fields, COUNT(fields), true, err) < 0)
		return -1;

	arr = json_object_get(in, "countries");
	if (json_array_size(arr) < 1 ||
	    json_array_size(arr) > GW_MAP_COUNTRIES_MAX)
		return gw_json_fail(err, "invalid_argument", "countries",
				    "field \"countries\" must hold 1 to %d "
				    "countries",
				    GW_MAP_COUNTRIES_MAX);
	json_array_foreach(arr, i, v)
	{
		if (country_item(v, i, g, err) < 0)
			return -1;
	}
	g->msg.n_countries = json_array_size(arr);

	if (gender_read(in, "gender", false, &g->msg.gender, err) < 0 ||
	    gw_json_str(in, "prefix", GW_MAP_PREFIX_MAX, "", &prefix, err) < 0)
		return -1;
	g->msg.prefix = (char *)(uintptr_t)prefix;

	if (gw_json_int(in, "min_length", 0, GW_MAP_LENGTH_MAX, 0, &lo, err) <
		0 ||
	    gw_json_int(in, "max_length", 0, GW_MAP_LENGTH_MAX, 0, &hi, err) <
		0)
		return -1;
	if (hi > 0 && lo > hi)
		return gw_json_fail(err, "invalid_argument", "min_length",
				    "field \"min_length\" is above "
				    "\"max_length\"");
	g->msg.min_length = (uint32_t)lo;
	g->msg.max_length = (uint32_t)hi;

	if (gw_json_int(in, "count", 1, GW_MAP_COUNT_MAX, 1, &x, err) < 0)
		return -1;
	g->msg.count = (uint32_t)x;
	if (gw_json_int(in, "top_k", 0, GW_MAP_TOP_K_MAX, 0, &x, err) < 0)
		return -1;
	g->msg.top_k = (uint32_t)x;

	t = json_object_get(in, "temperature");
	if (t && json_is_number(t)) {
		double temp = json_number_value(t);

		if (!(temp > 0 && temp <= 2))
			return gw_json_fail(err, "invalid_argument",
					    "temperature",
					    "field \"temperature\" must be "
					    "above 0 and at most 2");
		g->msg.temperature = (float)temp;
	}

	if (gw_json_bool(in, "unique", true, &unique, err) < 0 ||
	    gw_json_bool(in, "novel", false, &novel, err) < 0)
		return -1;
	g->msg.allow_duplicates = !unique;
	g->msg.novel = novel;

	v = json_object_get(in, "seed");
	if (v && !json_is_null(v)) {
		if (gw_json_int(in, "seed", 0, INT64_MAX, 0, &x, err) < 0)
			return -1;
		g->msg.has_seed = 1;
		g->msg.seed = (uint64_t)x;
	}
	return 0;
}

json_t *gw_map_generate_reply(const Namegen__V1__GenerateReply *r)
{
	json_t *names = json_array(), *out;
	size_t i;

	for (i = 0; names && i < r->n_names; i++)
		json_array_append_new(
		    names,
		    json_pack("{s:s, s:o, s:b}", "name", r->names[i]->name,
			      "log_prob", num(r->names[i]->log_prob),
			      "in_training_data",
			      r->names[i]->in_training_data));
	out = json_pack("{s:o, s:b, s:i}", "names", names, "incomplete",
			r->incomplete, "attempts", (json_int_t)r->attempts);
	if (out && r->incomplete && r->incomplete_reason &&
	    *r->incomplete_reason)
		json_object_set_new(out, "incomplete_reason",
				    json_string(r->incomplete_reason));
	return out;
}

int gw_map_score_req(const json_t *in, Namegen__V1__ScoreRequest *out,
		     struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"name", GW_JSON_STRING, true},
	};
	Namegen__V1__ScoreRequest init = NAMEGEN__V1__SCORE_REQUEST__INIT;
	const char *name;

	*out = init;
	if (gw_json_check(in, "", fields, COUNT(fields), true, err) < 0 ||
	    gw_json_str(in, "name", GW_MAP_NAME_MAX, "", &name, err) < 0)
		return -1;
	if (*name == '\0')
		return gw_json_fail(err, "invalid_argument", "name",
				    "field \"name\" must not be empty");
	out->name = (char *)(uintptr_t)name;
	return 0;
}

json_t *gw_map_score_reply(const Namegen__V1__ScoreReply *r)
{
	json_t *countries = json_array(), *genders = json_array();
	size_t i;

	for (i = 0; countries && i < r->n_countries; i++)
		json_array_append_new(
		    countries, json_pack("{s:s, s:o}", "code",
					 r->countries[i]->code, "probability",
					 num(r->countries[i]->probability)));
	for (i = 0; genders && i < r->n_genders; i++)
		json_array_append_new(
		    genders,
		    json_pack("{s:s, s:o}", "gender",
			      gw_map_gender_name(r->genders[i]->gender),
			      "probability", num(r->genders[i]->probability)));
	return json_pack("{s:s, s:o, s:o, s:o}", "name", r->name, "countries",
			 countries, "genders", genders, "log_likelihood",
			 num(r->log_likelihood));
}

json_t *gw_map_meta_reply(const Namegen__V1__MetaReply *r)
{
	json_t *countries = json_array(), *genders = json_array();
	size_t i;

	for (i = 0; countries && i < r->n_countries; i++)
		json_array_append_new(
		    countries,
		    json_pack("{s:s, s:s, s:I}", "code", r->countries[i]->code,
			      "name", r->countries[i]->name, "training_names",
			      (json_int_t)r->countries[i]->training_names));
	for (i = 0; genders && i < r->n_genders; i++)
		json_array_append_new(
		    genders, json_string(gw_map_gender_name(r->genders[i])));
	return json_pack(
	    "{s:o, s:o, s:s, s:I, s:s, s:I, s:s, s:o, s:I}", "countries",
	    countries, "genders", genders, "alphabet", r->alphabet,
	    "max_length", (json_int_t)r->max_length, "model_version",
	    r->model_version, "parameters", (json_int_t)r->parameters,
	    "trained_at", r->trained_at, "heldout_loss", num(r->heldout_loss),
	    "model_bytes", (json_int_t)r->model_bytes);
}

/* ------------------------------------------------------------ accounts */

/* strings_req reads n string fields into out[] (all required when
 * required), strictly or not. */
static int strings_req(const json_t *in, const struct gw_json_field *fields,
		       size_t n, const size_t *max, bool strict,
		       const char **out, struct gw_json_err *err)
{
	size_t i;

	if (gw_json_check(in, "", fields, n, strict, err) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (gw_json_str(in, fields[i].name, max[i], "", &out[i], err) <
		    0)
			return -1;
	return 0;
}

static int register_req(const json_t *in, Namegen__V1__RegisterRequest *out,
			bool strict, struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"username", GW_JSON_STRING, true},
	    {"email", GW_JSON_STRING, true},
	    {"password", GW_JSON_STRING, true},
	};
	static const size_t max[] = {GW_MAP_USERNAME_MAX, GW_MAP_EMAIL_MAX,
				     GW_MAP_PASSWORD_MAX};
	Namegen__V1__RegisterRequest init =
	    NAMEGEN__V1__REGISTER_REQUEST__INIT;
	const char *s[3];

	*out = init;
	if (strings_req(in, fields, COUNT(fields), max, strict, s, err) < 0)
		return -1;
	out->username = (char *)(uintptr_t)s[0];
	out->email = (char *)(uintptr_t)s[1];
	out->password = (char *)(uintptr_t)s[2];
	return 0;
}

int gw_map_register_req(const json_t *in, Namegen__V1__RegisterRequest *out,
			struct gw_json_err *err)
{
	return register_req(in, out, true, err);
}

int gw_map_legacy_register_req(const json_t *in,
			       Namegen__V1__RegisterRequest *out,
			       struct gw_json_err *err)
{
	return register_req(in, out, false, err);
}

static int login_req(const json_t *in, Namegen__V1__LoginRequest *out,
		     bool strict, struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"email", GW_JSON_STRING, true},
	    {"password", GW_JSON_STRING, true},
	};
	static const size_t max[] = {GW_MAP_EMAIL_MAX, GW_MAP_PASSWORD_MAX};
	Namegen__V1__LoginRequest init = NAMEGEN__V1__LOGIN_REQUEST__INIT;
	const char *s[2];

	*out = init;
	if (strings_req(in, fields, COUNT(fields), max, strict, s, err) < 0)
		return -1;
	out->email = (char *)(uintptr_t)s[0];
	out->password = (char *)(uintptr_t)s[1];
	return 0;
}

int gw_map_login_req(const json_t *in, Namegen__V1__LoginRequest *out,
		     struct gw_json_err *err)
{
	return login_req(in, out, true, err);
}

int gw_map_legacy_login_req(const json_t *in, Namegen__V1__LoginRequest *out,
			    struct gw_json_err *err)
{
	return login_req(in, out, false, err);
}

int gw_map_password_req(const json_t *in,
			Namegen__V1__ChangePasswordRequest *out,
			struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"old_password", GW_JSON_STRING, true},
	    {"new_password", GW_JSON_STRING, true},
	};
	static const size_t max[] = {GW_MAP_PASSWORD_MAX, GW_MAP_PASSWORD_MAX};
	Namegen__V1__ChangePasswordRequest init =
	    NAMEGEN__V1__CHANGE_PASSWORD_REQUEST__INIT;
	const char *s[2];

	*out = init;
	if (strings_req(in, fields, COUNT(fields), max, true, s, err) < 0)
		return -1;
	out->old_password = (char *)(uintptr_t)s[0];
	out->new_password = (char *)(uintptr_t)s[1];
	return 0;
}

int gw_map_delete_req(const json_t *in, Namegen__V1__DeleteAccountRequest *out,
		      struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"password", GW_JSON_STRING, true},
	};
	static const size_t max[] = {GW_MAP_PASSWORD_MAX};
	Namegen__V1__DeleteAccountRequest init =
	    NAMEGEN__V1__DELETE_ACCOUNT_REQUEST__INIT;
	const char *s[1];

	*out = init;
	if (strings_req(in, fields, COUNT(fields), max, true, s, err) < 0)
		return -1;
	out->password = (char *)(uintptr_t)s[0];
	return 0;
}

json_t *gw_map_user(const Namegen__V1__User *u)
{
	if (!u)
		return json_null();
	return json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)u->id,
			 "username", u->username, "email", u->email,
			 "created_at", gw_json_time(u->created_at_ms));
}

json_t *gw_map_login_reply(const Namegen__V1__LoginReply *r)
{
	return json_pack("{s:o, s:s, s:I}", "user", gw_map_user(r->user),
			 "token", r->token, "expires_in",
			 (json_int_t)r->expires_in_s);
}

json_t *gw_map_whoami_reply(const Namegen__V1__WhoAmIReply *r)
{
	return json_pack("{s:o, s:I}", "user", gw_map_user(r->user),
			 "expires_in", (json_int_t)r->expires_in_s);
}

/* ----------------------------------------------------------- favorites */

int gw_map_favorite_req(const json_t *in, struct gw_map_favorite *out,
			struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"name", GW_JSON_STRING, true},
	    {"country", GW_JSON_STRING, false},
	    {"gender", GW_JSON_STRING, false},
	};
	const char *country;

	if (gw_json_check(in, "", fields, COUNT(fields), true, err) < 0 ||
	    gw_json_str(in, "name", GW_MAP_NAME_MAX, "", &out->name, err) <
		0 ||
	    gw_json_str(in, "country", 2, "", &country, err) < 0 ||
	    country_copy(country, true, "country", out->country, err) < 0 ||
	    gender_read(in, "gender", false, &out->gender, err) < 0)
		return -1;
	if (*out->name == '\0')
		return gw_json_fail(err, "invalid_argument", "name",
				    "field \"name\" must not be empty");
	return 0;
}

void gw_map_favorite_add(const struct gw_map_favorite *k,
			 Namegen__V1__AddFavoriteRequest *out)
{
	namegen__v1__add_favorite_request__init(out);
	out->name = (char *)(uintptr_t)k->name;
	out->country = (char *)(uintptr_t)k->country;
	out->gender = k->gender;
}

void gw_map_favorite_remove(const struct gw_map_favorite *k,
			    Namegen__V1__RemoveFavoriteRequest *out)
{
	namegen__v1__remove_favorite_request__init(out);
	out->name = (char *)(uintptr_t)k->name;
	out->country = (char *)(uintptr_t)k->country;
	out->gender = k->gender;
}

json_t *gw_map_favorite(const Namegen__V1__Favorite *f)
{
	if (!f)
		return json_null();
	return json_pack("{s:I, s:s, s:s, s:s, s:o}", "name_id",
			 (json_int_t)f->name_id, "name", f->name, "country",
			 f->country, "gender", gw_map_gender_name(f->gender),
			 "created_at", gw_json_time(f->created_at_ms));
}

int gw_map_list_req(const char *limit, const char *cursor,
		    Namegen__V1__ListFavoritesRequest *out,
		    struct gw_json_err *err)
{
	Namegen__V1__ListFavoritesRequest init =
	    NAMEGEN__V1__LIST_FAVORITES_REQUEST__INIT;
	const char *p;
	long n = 0;

	*out = init;
	if (limit) {
		/* digits only: strtol would take signs and spaces */
		for (p = limit; *p; p++)
			if (*p < '0' || *p > '9' || p - limit > 3)
				break;
		if (*limit == '\0' || *p != '\0' ||
		    (n = strtol(limit, NULL, 10)) < 1 || n > GW_MAP_PAGE_MAX)
			return gw_json_fail(err, "invalid_argument", "limit",
					    "query argument \"limit\" must "
					    "be an integer from 1 to %d",
					    GW_MAP_PAGE_MAX);
		out->limit = (uint32_t)n;
	}
	if (cursor) {
		if (strlen(cursor) > GW_MAP_CURSOR_MAX)
			return gw_json_fail(err, "invalid_argument", "cursor",
					    "query argument \"cursor\" is "
					    "too long");
		for (p = cursor; *p; p++)
			if ((unsigned char)*p < 0x21 ||
			    (unsigned char)*p > 0x7e)
				return gw_json_fail(err, "invalid_argument",
						    "cursor",
						    "query argument \"cursor\""
						    " is not a cursor");
		out->cursor = (char *)(uintptr_t)cursor;
	}
	return 0;
}

json_t *gw_map_list_reply(const Namegen__V1__ListFavoritesReply *r)
{
	json_t *favs = json_array();
	size_t i;

	for (i = 0; favs && i < r->n_favorites; i++)
		json_array_append_new(favs, gw_map_favorite(r->favorites[i]));
	return json_pack("{s:o, s:o}", "favorites", favs, "next_cursor",
			 r->next_cursor && *r->next_cursor
			     ? json_string(r->next_cursor)
			     : json_null());
}

/* -------------------------------------------------- the original routes */

int gw_map_legacy_name_req(const json_t *in, struct gw_map_generate *g,
			   struct gw_json_err *err)
{
	const char *country, *start;
	const json_t *v;
	int64_t max_len = 0;

	generate_init(g);
	if (gw_json_str(in, "countrycode", 2, "", &country, err) < 0 ||
	    gw_json_str(in, "start_with", GW_MAP_PREFIX_MAX, "", &start, err) <
		0 ||
	    gender_read(in, "gender", true, &g->msg.gender, err) < 0)
		return -1;
	if (*country == '\0')
		return gw_json_fail(err, "invalid_argument", "countrycode",
				    "field \"countrycode\" is required");
	if (country_copy(country, false, "countrycode", g->codes[0], err) < 0)
		return -1;
	g->cw[0].code = g->codes[0];
	g->msg.n_countries = 1;
	g->msg.prefix = (char *)(uintptr_t)start;

	/* the original frontend sends max_len from a form: a number or a
	 * string of digits */
	v = json_object_get(in, "max_len");
	if (v && json_is_string(v) && *json_string_value(v)) {
		char *end;

		max_len = strtoll(json_string_value(v), &end, 10);
		if (*end != '\0' || max_len < 0 || max_len > GW_MAP_LENGTH_MAX)
			return gw_json_fail(err, "invalid_argument", "max_len",
					    "field \"max_len\" must be a "
					    "number from 0 to %d",
					    GW_MAP_LENGTH_MAX);
	} else if (v && !json_is_string(v) &&
		   gw_json_int(in, "max_len", 0, GW_MAP_LENGTH_MAX, 0,
			       &max_len, err) < 0) {
		return -1;
	}
	g->msg.max_length = (uint32_t)max_len;
	g->msg.count = 1;
	return 0;
}

int gw_map_legacy_like_req(const json_t *in, bool *like,
			   struct gw_map_favorite *out,
			   struct gw_json_err *err)
{
	static const struct gw_json_field fields[] = {
	    {"like", GW_JSON_BOOL, true},
	    {"name", GW_JSON_STRING, true},
	};
	const char *country;

	if (gw_json_check(in, "", fields, COUNT(fields), false, err) < 0 ||
	    gw_json_bool(in, "like", true, like, err) < 0 ||
	    gw_json_str(in, "name", GW_MAP_NAME_MAX, "", &out->name, err) <
		0 ||
	    gw_json_str(in, "countrycode", 2, "", &country, err) < 0 ||
	    country_copy(country, true, "countrycode", out->country, err) <
		0 ||
	    gender_read(in, "gender", true, &out->gender, err) < 0)
		return -1;
	if (*out->name == '\0')
		return gw_json_fail(err, "invalid_argument", "name",
				    "field \"name\" must not be empty");
	return 0;
}

static const char *legacy_gender(Namegen__V1__Gender g)
{
	switch (g) {
	case NAMEGEN__V1__GENDER__GENDER_MALE:
		return "M";
	case NAMEGEN__V1__GENDER__GENDER_FEMALE:
		return "F";
	default:
		return "";
	}
}

int gw_map_legacy_likes(json_t *obj, const Namegen__V1__ListFavoritesReply *r)
{
	const Namegen__V1__Favorite *f;
	char key[24];
	size_t i;

	for (i = 0; i < r->n_favorites; i++) {
		f = r->favorites[i];
		snprintf(key, sizeof(key), "%" PRId64, f->name_id);
		if (json_object_set_new(
			obj, key,
			json_pack("{s:o, s:s, s:s, s:s}", "created_on",
				  gw_json_time(f->created_at_ms), "name",
				  f->name, "countrycode", f->country, "gender",
				  legacy_gender(f->gender))) < 0)
			return -1;
	}
	return 0;
}

json_t *gw_map_legacy_meta(const Namegen__V1__MetaReply *r)
{
	json_t *countries = json_array(), *genders = json_array();
	size_t i;

	for (i = 0; countries && i < r->n_countries; i++)
		json_array_append_new(countries,
				      json_pack("{s:s, s:s}", "code",
						r->countries[i]->code, "name",
						r->countries[i]->name));
	for (i = 0; genders && i < r->n_genders; i++)
		if (*legacy_gender(r->genders[i]))
			json_array_append_new(
			    genders,
			    json_string(legacy_gender(r->genders[i])));
	return json_pack("{s:o, s:o, s:I}", "countries", countries, "genders",
			 genders, "max_len", (json_int_t)r->max_length);
}
