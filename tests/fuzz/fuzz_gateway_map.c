/* fuzz_gateway_map.c - libFuzzer target: the gateway's HTTP-to-protobuf
 * mapping of every route, its reply mapping and its header parsers.
 *
 * The first input byte picks what is fuzzed, the rest is its input:
 *   request bodies   parsed as the gateway parses a body
 *                    (gw_json_parse_object), then mapped by the route's
 *                    gw_map_*_req; what is accepted must respect the
 *                    GW_MAP_* limits and pack into a protobuf message
 *                    that unpacks again (what the worker will get);
 *   query arguments  limit and cursor of GET /api/v1/favorites;
 *   replies          the bytes unpacked as a worker's reply message and
 *                    mapped to JSON, as if a worker were compromised;
 *   headers          Cookie, Authorization and Origin parsing. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway/gw_cookie.h"
#include "gateway/gw_cors.h"
#include "gateway/gw_json.h"
#include "gateway/gw_map.h"
#include "namegen.pb-c.h"

#define GMF_TEXT_MAX (GW_JSON_BODY_MAX + 1)

enum gmf_case {
	GMF_GENERATE,
	GMF_SCORE,
	GMF_REGISTER,
	GMF_LOGIN,
	GMF_PASSWORD,
	GMF_DELETE,
	GMF_FAVORITE,
	GMF_LIST,
	GMF_LEGACY_NAME,
	GMF_LEGACY_LIKE,
	GMF_LEGACY_REGISTER,
	GMF_LEGACY_LOGIN,
	GMF_R_GENERATE,
	GMF_R_SCORE,
	GMF_R_META,
	GMF_R_LOGIN,
	GMF_R_WHOAMI,
	GMF_R_FAVORITE,
	GMF_R_LIST,
	GMF_R_LEGACY,
	GMF_COOKIE,
	GMF_CORS,
	GMF_CASES
};

/* gmf_roundtrip packs an accepted request and unpacks it again: the
 * worker must be able to read what the gateway sends. */
static void gmf_roundtrip(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	ProtobufCMessage *back;

	if (!buf)
		return;
	if (protobuf_c_message_pack(m, buf) != n)
		abort();
	back = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	if (!back)
		abort();
	protobuf_c_message_free_unpacked(back, NULL);
	free(buf);
}

/* gmf_str_ok aborts when an accepted string breaks its limit. */
static void gmf_str_ok(const char *s, size_t max)
{
	if (s && strlen(s) > max)
		abort();
}

static void gmf_generate(const struct gw_map_generate *g)
{
	size_t i;

	if (g->msg.n_countries > GW_MAP_COUNTRIES_MAX ||
	    g->msg.count > GW_MAP_COUNT_MAX ||
	    g->msg.top_k > GW_MAP_TOP_K_MAX ||
	    g->msg.max_length > GW_MAP_LENGTH_MAX ||
	    g->msg.min_length > GW_MAP_LENGTH_MAX)
		abort();
	gmf_str_ok(g->msg.prefix, GW_MAP_PREFIX_MAX);
	for (i = 0; i < g->msg.n_countries; i++)
		gmf_str_ok(g->msg.countries[i]->code, 2);
	gmf_roundtrip(&g->msg.base);
}

static void gmf_favorite(const struct gw_map_favorite *f)
{
	Namegen__V1__AddFavoriteRequest add =
	    NAMEGEN__V1__ADD_FAVORITE_REQUEST__INIT;

	gmf_str_ok(f->name, GW_MAP_NAME_MAX);
	if (strlen(f->country) > 2)
		abort();
	add.name = (char *)f->name;
	add.country = (char *)f->country;
	add.gender = f->gender;
	gmf_roundtrip(&add.base);
}

/* gmf_request maps a body for route c. */
static void gmf_request(enum gmf_case c, const char *body, size_t len)
{
	union {
		struct gw_map_generate gen;
		struct gw_map_favorite fav;
		Namegen__V1__ScoreRequest score;
		Namegen__V1__RegisterRequest reg;
		Namegen__V1__LoginRequest login;
		Namegen__V1__ChangePasswordRequest pw;
		Namegen__V1__DeleteAccountRequest del;
	} u;
	struct gw_json_err err;
	json_t *in = NULL;
	bool like;
	int rc = -1;

	memset(&err, 0, sizeof(err));
	if (gw_json_parse_object(body, len, len % 2 == 0, &in, &err) < 0) {
		if (!err.code || err.message[0] == '\0')
			abort();
		return;
	}
	memset(&u, 0, sizeof(u));
	switch (c) {
	case GMF_GENERATE:
	case GMF_LEGACY_NAME:
		rc = c == GMF_GENERATE
			 ? gw_map_generate_req(in, &u.gen, &err)
			 : gw_map_legacy_name_req(in, &u.gen, &err);
		if (rc == 0)
			gmf_generate(&u.gen);
		break;
	case GMF_SCORE:
		rc = gw_map_score_req(in, &u.score, &err);
		if (rc == 0) {
			gmf_str_ok(u.score.name, GW_MAP_NAME_MAX);
			gmf_roundtrip(&u.score.base);
		}
		break;
	case GMF_REGISTER:
	case GMF_LEGACY_REGISTER:
		rc = c == GMF_REGISTER
			 ? gw_map_register_req(in, &u.reg, &err)
			 : gw_map_legacy_register_req(in, &u.reg, &err);
		if (rc == 0) {
			gmf_str_ok(u.reg.username, GW_MAP_USERNAME_MAX * 4);
			gmf_str_ok(u.reg.email, GW_MAP_EMAIL_MAX);
			gmf_str_ok(u.reg.password, GW_MAP_PASSWORD_MAX);
			gmf_roundtrip(&u.reg.base);
		}
		break;
	case GMF_LOGIN:
	case GMF_LEGACY_LOGIN:
		rc = c == GMF_LOGIN
			 ? gw_map_login_req(in, &u.login, &err)
			 : gw_map_legacy_login_req(in, &u.login, &err);
		if (rc == 0) {
			gmf_str_ok(u.login.email, GW_MAP_EMAIL_MAX);
			gmf_str_ok(u.login.password, GW_MAP_PASSWORD_MAX);
			gmf_roundtrip(&u.login.base);
		}
		break;
	case GMF_PASSWORD:
		rc = gw_map_password_req(in, &u.pw, &err);
		if (rc == 0)
			gmf_roundtrip(&u.pw.base);
		break;
	case GMF_DELETE:
		rc = gw_map_delete_req(in, &u.del, &err);
		if (rc == 0)
			gmf_roundtrip(&u.del.base);
		break;
	case GMF_FAVORITE:
	case GMF_LEGACY_LIKE:
		rc = c == GMF_FAVORITE
			 ? gw_map_favorite_req(in, &u.fav, &err)
			 : gw_map_legacy_like_req(in, &like, &u.fav, &err);
		if (rc == 0)
			gmf_favorite(&u.fav);
		break;
	default:
		abort();
	}
	// A refusal always says what is wrong.
	if (rc != 0 && (!err.code || err.message[0] == '\0'))
		abort();
	json_decref(in);
}

/* gmf_list maps the two query arguments, split at the first NUL. */
static void gmf_list(const char *text, size_t len)
{
	Namegen__V1__ListFavoritesRequest m;
	struct gw_json_err err;
	const char *limit = text, *cursor = NULL;
	size_t l1 = strlen(text);

	memset(&err, 0, sizeof(err));
	if (l1 < len)
		cursor = text + l1 + 1;
	if (len == 0)
		limit = NULL;
	if (gw_map_list_req(limit, cursor, &m, &err) == 0) {
		if (m.limit > GW_MAP_PAGE_MAX)
			abort();
		gmf_str_ok(m.cursor, GW_MAP_CURSOR_MAX);
		gmf_roundtrip(&m.base);
	} else if (!err.code || err.message[0] == '\0') {
		abort();
	}
}

/* gmf_reply maps a worker's reply (the bytes as its message) to JSON. */
static void gmf_reply(enum gmf_case c, const uint8_t *data, size_t len)
{
	static const ProtobufCMessageDescriptor *const descs[] = {
	    [GMF_R_GENERATE] = &namegen__v1__generate_reply__descriptor,
	    [GMF_R_SCORE] = &namegen__v1__score_reply__descriptor,
	    [GMF_R_META] = &namegen__v1__meta_reply__descriptor,
	    [GMF_R_LOGIN] = &namegen__v1__login_reply__descriptor,
	    [GMF_R_WHOAMI] = &namegen__v1__who_am_ireply__descriptor,
	    [GMF_R_FAVORITE] = &namegen__v1__favorite__descriptor,
	    [GMF_R_LIST] = &namegen__v1__list_favorites_reply__descriptor,
	    [GMF_R_LEGACY] = &namegen__v1__meta_reply__descriptor,
	};
	ProtobufCMessage *m =
	    protobuf_c_message_unpack(descs[c], NULL, len, data);
	json_t *out = NULL, *obj;
	size_t n;

	if (!m)
		return;
	switch (c) {
	case GMF_R_GENERATE:
		out = gw_map_generate_reply((void *)m);
		break;
	case GMF_R_SCORE:
		out = gw_map_score_reply((void *)m);
		break;
	case GMF_R_META:
		out = gw_map_meta_reply((void *)m);
		break;
	case GMF_R_LOGIN:
		out = gw_map_login_reply((void *)m);
		break;
	case GMF_R_WHOAMI:
		out = gw_map_whoami_reply((void *)m);
		break;
	case GMF_R_FAVORITE:
		out = gw_map_favorite((void *)m);
		break;
	case GMF_R_LIST:
		out = gw_map_list_reply((void *)m);
		obj = json_object();
		if (obj && gw_map_legacy_likes(obj, (void *)m) == 0)
			free(gw_json_dump(obj, &n));
		else
			json_decref(obj);
		break;
	case GMF_R_LEGACY:
		out = gw_map_legacy_meta((void *)m);
		break;
	default:
		abort();
	}
	if (out)
		free(gw_json_dump(out, &n));
	protobuf_c_message_free_unpacked(m, NULL);
}

/* gmf_headers parses text as Cookie, Authorization and Origin headers. */
static void gmf_headers(enum gmf_case c, const char *text, size_t len)
{
	char tok[GW_COOKIE_TOKEN_MAX + 1];
	struct gw_cors cors;
	char err[256];

	if (c == GMF_COOKIE) {
		if (gw_cookie_find(text, tok, sizeof(tok)) &&
		    !gw_cookie_token_ok(tok, strlen(tok)))
			abort();
		if (gw_cookie_bearer(text, tok, sizeof(tok)) &&
		    !gw_cookie_token_ok(tok, strlen(tok)))
			abort();
		(void)gw_cookie_token_ok(text, len);
		return;
	}
	if (gw_cors_parse(&cors, text, err, sizeof(err)) == 0) {
		if (cors.n < 0 || cors.n > GW_CORS_ORIGINS_MAX)
			abort();
		// Every origin listed is allowed, and only those.
		if (cors.n > 0 && !gw_cors_allowed(&cors, cors.origins[0]))
			abort();
	}
	memset(&cors, 0, sizeof(cors));
	if (gw_cors_allowed(&cors, text))
		abort();
	(void)gw_cors_same_origin(text, "127.0.0.1:8080");
	(void)gw_cors_same_origin("http://127.0.0.1:8080", text);
	(void)gw_cors_state_changing(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum gmf_case c;
	char *text;

	if (size < 1 || size > GMF_TEXT_MAX)
		return 0;
	c = (enum gmf_case)(data[0] % GMF_CASES);
	data++;
	size--;
	if (c >= GMF_R_GENERATE && c <= GMF_R_LEGACY) {
		gmf_reply(c, data, size);
		return 0;
	}
	// The rest wants a NUL-terminated copy, as MHD hands over.
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (c == GMF_LIST)
		gmf_list(text, size);
	else if (c == GMF_COOKIE || c == GMF_CORS)
		gmf_headers(c, text, size);
	else
		gmf_request(c, text, size);
	free(text);
	return 0;
}
