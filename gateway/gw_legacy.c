/* gw_legacy.c - the original service's routes, in their original shapes. */
#include "gateway/gw_legacy.h"

#include <stdio.h>
#include <string.h>

#include "gateway/gw_req.h"
#include "namegen.pb-c.h"

#define MODEL (&namegen__v1__model_service__descriptor)
#define AUTH  (&namegen__v1__auth_service__descriptor)

static enum gw_step msg(struct gw_req *r, const char *text)
{
	return gw_req_json(r, 200, json_pack("{s:s}", "msg", text));
}

enum gw_step gw_legacy_running(struct gw_req *r)
{
	static const char line[] = "namegen API is running\n";

	return gw_req_bytes(r, 200, "text/plain; charset=utf-8", line,
			    sizeof(line) - 1);
}

enum gw_step gw_legacy_register(struct gw_req *r)
{
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_legacy_register_req(r->json, &r->msg.reg, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, AUTH, "RegisterUser", &r->msg.reg.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return msg(r, "user registered");
}

enum gw_step gw_legacy_login(struct gw_req *r)
{
	const Namegen__V1__LoginReply *rep;
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_legacy_login_req(r->json, &r->msg.login, &e) < 0)
			return gw_req_bad_body(r, &e);
		r->token[0] = '\0';
		return gw_req_call1(r, AUTH, "Login", &r->msg.login.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__LoginReply *)r->slot[0].body;
	if (!rep->user)
		return gw_req_error(r, 500, "internal", NULL,
				    "internal error");
	gw_req_json(r, 200,
		    json_pack("{s:s, s:{s:s, s:s}}", "msg", "logged in",
			      "user", "username", rep->user->username, "email",
			      rep->user->email));
	gw_req_set_cookie(r, rep->token, rep->expires_in_s);
	return GW_DONE;
}

enum gw_step gw_legacy_logout(struct gw_req *r)
{
	static const Namegen__V1__LogoutRequest req =
	    NAMEGEN__V1__LOGOUT_REQUEST__INIT;

	if (r->step == 0) {
		if (!r->token[0])
			return gw_req_error(r, 401, "unauthenticated", NULL,
					    "not logged in");
		return gw_req_call1(r, AUTH, "Logout", &req.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	msg(r, "logged out");
	gw_req_set_cookie(r, NULL, 0);
	return GW_DONE;
}

enum gw_step gw_legacy_me(struct gw_req *r)
{
	static const Namegen__V1__WhoAmIRequest req =
	    NAMEGEN__V1__WHO_AM_IREQUEST__INIT;
	const Namegen__V1__WhoAmIReply *rep;

	if (r->step == 0) {
		if (!r->token[0])
			return gw_req_error(r, 401, "unauthenticated", NULL,
					    "not logged in");
		return gw_req_call1(r, AUTH, "WhoAmI", &req.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__WhoAmIReply *)r->slot[0].body;
	if (!rep->user)
		return gw_req_error(r, 500, "internal", NULL,
				    "internal error");
	return gw_req_json(r, 200,
			   json_pack("{s:I, s:s, s:s}", "id",
				     (json_int_t)rep->user->id, "username",
				     rep->user->username, "email",
				     rep->user->email));
}

/* gw_legacy_likes reads the favorites a page of 100 at a time (one call
 * per round) into one object, up to GW_LEGACY_LIKES_PAGES pages. */
enum gw_step gw_legacy_likes(struct gw_req *r)
{
	Namegen__V1__ListFavoritesRequest init =
	    NAMEGEN__V1__LIST_FAVORITES_REQUEST__INIT;
	const Namegen__V1__ListFavoritesReply *rep;

	if (r->step == 0) {
		if (!r->token[0])
			return gw_req_error(r, 401, "unauthenticated", NULL,
					    "not logged in");
		r->acc = json_object();
		if (!r->acc)
			return gw_req_error(r, 500, "internal", NULL,
					    "internal error");
		r->msg.list.msg = init;
		r->msg.list.msg.limit = GW_MAP_PAGE_MAX;
		return gw_req_call1(r, AUTH, "ListFavorites",
				    &r->msg.list.msg.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__ListFavoritesReply *)r->slot[0].body;
	if (gw_map_legacy_likes(r->acc, rep) < 0)
		return gw_req_error(r, 500, "internal", NULL,
				    "internal error");
	r->msg.list.pages++;
	if (rep->next_cursor && *rep->next_cursor &&
	    strlen(rep->next_cursor) <= GW_MAP_CURSOR_MAX &&
	    r->msg.list.pages < GW_LEGACY_LIKES_PAGES) {
		/* the reply is freed when the next call starts */
		snprintf(r->msg.list.cursor, sizeof(r->msg.list.cursor), "%s",
			 rep->next_cursor);
		r->msg.list.msg.cursor = r->msg.list.cursor;
		return gw_req_call1(r, AUTH, "ListFavorites",
				    &r->msg.list.msg.base);
	}
	gw_req_json(r, 200, r->acc);
	r->acc = NULL;
	return GW_DONE;
}

enum gw_step gw_legacy_like(struct gw_req *r)
{
	struct gw_map_favorite *k = &r->msg.fav.key;
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_legacy_like_req(r->json, &r->flag, k, &e) < 0)
			return gw_req_bad_body(r, &e);
		if (r->flag) {
			gw_map_favorite_add(k, &r->msg.fav.add);
			return gw_req_call1(r, AUTH, "AddFavorite",
					    &r->msg.fav.add.base);
		}
		gw_map_favorite_remove(k, &r->msg.fav.remove);
		return gw_req_call1(r, AUTH, "RemoveFavorite",
				    &r->msg.fav.remove.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return msg(r, r->flag ? "liked" : "unliked");
}

enum gw_step gw_legacy_meta(struct gw_req *r)
{
	static const Namegen__V1__MetaRequest req =
	    NAMEGEN__V1__META_REQUEST__INIT;

	if (r->step == 0)
		return gw_req_call1(r, MODEL, "Meta", &req.base);
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return gw_req_json(
	    r, 200,
	    gw_map_legacy_meta(
		(const Namegen__V1__MetaReply *)r->slot[0].body));
}

enum gw_step gw_legacy_name(struct gw_req *r)
{
	const Namegen__V1__GenerateReply *rep;
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_legacy_name_req(r->json, &r->msg.generate, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, MODEL, "Generate",
				    &r->msg.generate.msg.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__GenerateReply *)r->slot[0].body;
	if (rep->n_names == 0)
		return gw_req_error(r, 400, "invalid_argument", NULL,
				    "no name fits these constraints");
	return gw_req_json(r, 200, json_string(rep->names[0]->name));
}
