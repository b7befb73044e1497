/* gw_map.h - JSON bodies <-> protobuf messages, one pair per route.
 *
 * Each *_req function reads a parsed JSON body (or query arguments) into a
 * request message, refusing wrong types, unknown fields and values out of
 * range with an error naming the field; strings in the message point into
 * the JSON value, so it must outlive the message. Each *_reply function
 * returns a new JSON value for a reply message (NULL when out of memory).
 * The v1 shapes are written down in gateway/openapi.json; the legacy ones
 * keep the original service's shapes. */
#ifndef GATEWAY_GW_MAP_H
#define GATEWAY_GW_MAP_H

#include <stdbool.h>

#include <jansson.h>

#include "gateway/gw_json.h"
#include "namegen.pb-c.h"

/* Limits on what a client may ask for; the workers check again. */
#define GW_MAP_COUNTRIES_MAX 16
#define GW_MAP_PREFIX_MAX    64	 /* bytes */
#define GW_MAP_NAME_MAX	     128 /* bytes of a name */
#define GW_MAP_LENGTH_MAX    64	 /* characters of a generated name */
#define GW_MAP_COUNT_MAX     100
#define GW_MAP_TOP_K_MAX     1000
#define GW_MAP_USERNAME_MAX  64
#define GW_MAP_EMAIL_MAX     254
#define GW_MAP_PASSWORD_MAX  1024
#define GW_MAP_CURSOR_MAX    256
#define GW_MAP_PAGE_MAX	     100

/* A GenerateRequest with room for its countries. */
struct gw_map_generate {
	Namegen__V1__GenerateRequest msg;
	Namegen__V1__CountryWeight cw[GW_MAP_COUNTRIES_MAX];
	Namegen__V1__CountryWeight *cwp[GW_MAP_COUNTRIES_MAX];
	char codes[GW_MAP_COUNTRIES_MAX][3];
};

/* A favorite's key: what AddFavorite and RemoveFavorite take. */
struct gw_map_favorite {
	const char *name;
	char country[3];
	Namegen__V1__Gender gender;
};

/* gw_map_gender_name returns "any", "male" or "female". */
const char *gw_map_gender_name(Namegen__V1__Gender g);

/* ---- /api/v1 */
/* gw_map_generate_req reads POST /api/v1/names: every Generate option,
 * countries as codes or {code, weight}. Returns 0 or -1 with err. */
int gw_map_generate_req(const json_t *in, struct gw_map_generate *out,
			struct gw_json_err *err);
/* gw_map_generate_reply: {"names":[{name,log_prob,in_training_data}],
 * "incomplete","attempts"[,"incomplete_reason"]}. */
json_t *gw_map_generate_reply(const Namegen__V1__GenerateReply *r);
/* gw_map_score_req reads {"name"} (1..GW_MAP_NAME_MAX bytes). */
int gw_map_score_req(const json_t *in, Namegen__V1__ScoreRequest *out,
		     struct gw_json_err *err);
/* gw_map_score_reply: {"name","countries","genders","log_likelihood"}. */
json_t *gw_map_score_reply(const Namegen__V1__ScoreReply *r);
/* gw_map_meta_reply: the model's metadata, field for field. */
json_t *gw_map_meta_reply(const Namegen__V1__MetaReply *r);

/* gw_map_register_req reads {"username","email","password"}. */
int gw_map_register_req(const json_t *in, Namegen__V1__RegisterRequest *out,
			struct gw_json_err *err);
/* gw_map_login_req reads {"email","password"}. */
int gw_map_login_req(const json_t *in, Namegen__V1__LoginRequest *out,
		     struct gw_json_err *err);
/* gw_map_password_req reads {"old_password","new_password"}. */
int gw_map_password_req(const json_t *in,
			Namegen__V1__ChangePasswordRequest *out,
			struct gw_json_err *err);
/* gw_map_delete_req reads {"password"}. */
int gw_map_delete_req(const json_t *in, Namegen__V1__DeleteAccountRequest *out,
		      struct gw_json_err *err);
/* gw_map_user: {"id","username","email","created_at"}; null for NULL. */
json_t *gw_map_user(const Namegen__V1__User *u);
/* gw_map_login_reply: {"user","token","expires_in"}. */
json_t *gw_map_login_reply(const Namegen__V1__LoginReply *r);
/* gw_map_whoami_reply: {"user","expires_in"}. */
json_t *gw_map_whoami_reply(const Namegen__V1__WhoAmIReply *r);

/* gw_map_favorite_req reads {"name","country","gender"} (name needed). */
int gw_map_favorite_req(const json_t *in, struct gw_map_favorite *out,
			struct gw_json_err *err);
/* gw_map_favorite_add/remove fill a request from a key (which must
 * outlive it). */
void gw_map_favorite_add(const struct gw_map_favorite *k,
			 Namegen__V1__AddFavoriteRequest *out);
void gw_map_favorite_remove(const struct gw_map_favorite *k,
			    Namegen__V1__RemoveFavoriteRequest *out);
/* gw_map_favorite: {"name_id","name","country","gender","created_at"}. */
json_t *gw_map_favorite(const Namegen__V1__Favorite *f);
/* gw_map_list_req reads the query arguments limit and cursor (either may
 * be NULL, meaning absent). */
int gw_map_list_req(const char *limit, const char *cursor,
		    Namegen__V1__ListFavoritesRequest *out,
		    struct gw_json_err *err);
/* gw_map_list_reply: {"favorites":[...],"next_cursor": string or null}. */
json_t *gw_map_list_reply(const Namegen__V1__ListFavoritesReply *r);

/* ---- the original service's routes (lenient: unknown fields ignored) */
/* gw_map_legacy_name_req reads {countrycode (needed), gender ("M", "F"),
 * start_with, max_len (a number or a string of digits)}: one name. */
int gw_map_legacy_name_req(const json_t *in, struct gw_map_generate *out,
			   struct gw_json_err *err);
/* gw_map_legacy_like_req reads {like (bool), name, countrycode, gender}. */
int gw_map_legacy_like_req(const json_t *in, bool *like,
			   struct gw_map_favorite *out,
			   struct gw_json_err *err);
/* gw_map_legacy_register_req: as gw_map_register_req, lenient. */
int gw_map_legacy_register_req(const json_t *in,
			       Namegen__V1__RegisterRequest *out,
			       struct gw_json_err *err);
/* gw_map_legacy_login_req: as gw_map_login_req, lenient. */
int gw_map_legacy_login_req(const json_t *in, Namegen__V1__LoginRequest *out,
			    struct gw_json_err *err);
/* gw_map_legacy_likes adds the favorites of one page to obj, keyed by
 * name id: {"<id>": {"created_on","name","countrycode","gender"}}.
 * Returns 0, or -1 when out of memory. */
int gw_map_legacy_likes(json_t *obj, const Namegen__V1__ListFavoritesReply *r);
/* gw_map_legacy_meta: {"countries":[{code,name}],"genders":["M","F"],
 * "max_len"}. */
json_t *gw_map_legacy_meta(const Namegen__V1__MetaReply *r);

#endif /* GATEWAY_GW_MAP_H */
