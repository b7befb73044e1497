/* gw_api.c - the /api/v1 handlers, the operations routes, the table. */
#include "gateway/gw_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_legacy.h"
#include "gateway/gw_req.h"
#include "namegen.pb-c.h"

#define MODEL (&namegen__v1__model_service__descriptor)
#define AUTH  (&namegen__v1__auth_service__descriptor)

/* The OpenAPI document, assembled into gw_openapi.o from
 * gateway/openapi.json (see module.mk). */
extern const char gw_openapi_start[];
extern const char gw_openapi_end[];

const char *gw_api_openapi(size_t *len)
{
	*len = (size_t)(gw_openapi_end - gw_openapi_start);
	return gw_openapi_start;
}

static enum gw_step no_content(struct gw_req *r)
{
	return gw_req_bytes(r, 204, NULL, "", 0);
}

/* ---------------------------------------------------------------- model */

static enum gw_step api_meta(struct gw_req *r)
{
	static const Namegen__V1__MetaRequest req =
	    NAMEGEN__V1__META_REQUEST__INIT;

	if (r->step == 0)
		return gw_req_call1(r, MODEL, "Meta", &req.base);
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return gw_req_json(
	    r, 200,
	    gw_map_meta_reply(
		(const Namegen__V1__MetaReply *)r->slot[0].body));
}

static enum gw_step api_names(struct gw_req *r)
{
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_generate_req(r->json, &r->msg.generate, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, MODEL, "Generate",
				    &r->msg.generate.msg.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return gw_req_json(
	    r, 200,
	    gw_map_generate_reply(
		(const Namegen__V1__GenerateReply *)r->slot[0].body));
}

static enum gw_step api_score(struct gw_req *r)
{
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_score_req(r->json, &r->msg.score, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, MODEL, "Score", &r->msg.score.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return gw_req_json(
	    r, 200,
	    gw_map_score_reply(
		(const Namegen__V1__ScoreReply *)r->slot[0].body));
}

/* ------------------------------------------------------------- accounts */

static enum gw_step api_register(struct gw_req *r)
{
	const Namegen__V1__RegisterReply *rep;
	struct gw_json_err e;
	json_t *user;

	if (r->step == 0) {
		if (gw_map_register_req(r->json, &r->msg.reg, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, AUTH, "RegisterUser", &r->msg.reg.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__RegisterReply *)r->slot[0].body;
	user = gw_map_user(rep->user);
	/* the reply may carry only the new id; what it leaves empty is
	 * what was sent (what it does carry, e.g. a normalised email, wins) */
	if (json_is_object(user) && rep->user && !*rep->user->username)
		json_object_set_new(user, "username",
				    json_string(r->msg.reg.username));
	if (json_is_object(user) && rep->user && !*rep->user->email)
		json_object_set_new(user, "email",
				    json_string(r->msg.reg.email));
	return gw_req_json(r, 201, json_pack("{s:o}", "user", user));
}

static enum gw_step api_login(struct gw_req *r)
{
	const Namegen__V1__LoginReply *rep;
	struct gw_json_err e;

	if (r->step == 0) {
		if (gw_map_login_req(r->json, &r->msg.login, &e) < 0)
			return gw_req_bad_body(r, &e);
		/* a login replaces whatever session came with it */
		r->token[0] = '\0';
		return gw_req_call1(r, AUTH, "Login", &r->msg.login.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__LoginReply *)r->slot[0].body;
	gw_req_json(r, 200, gw_map_login_reply(rep));
	gw_req_set_cookie(r, rep->token, rep->expires_in_s);
	return GW_DONE;
}

/* need_session answers 401 without a call when no token came. */
static bool need_session(struct gw_req *r)
{
	if (r->token[0])
		return true;
	gw_req_error(r, 401, "unauthenticated", NULL,
		     "not logged in: send the session cookie or an "
		     "Authorization: Bearer token");
	return false;
}

static enum gw_step api_logout(struct gw_req *r)
{
	static const Namegen__V1__LogoutRequest req =
	    NAMEGEN__V1__LOGOUT_REQUEST__INIT;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		return gw_req_call1(r, AUTH, "Logout", &req.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	no_content(r);
	gw_req_set_cookie(r, NULL, 0);
	return GW_DONE;
}

static enum gw_step api_me(struct gw_req *r)
{
	static const Namegen__V1__WhoAmIRequest req =
	    NAMEGEN__V1__WHO_AM_IREQUEST__INIT;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		return gw_req_call1(r, AUTH, "WhoAmI", &req.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return gw_req_json(
	    r, 200,
	    gw_map_whoami_reply(
		(const Namegen__V1__WhoAmIReply *)r->slot[0].body));
}

static enum gw_step api_me_delete(struct gw_req *r)
{
	struct gw_json_err e;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		if (gw_map_delete_req(r->json, &r->msg.del, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, AUTH, "DeleteAccount",
				    &r->msg.del.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	no_content(r);
	gw_req_set_cookie(r, NULL, 0);
	return GW_DONE;
}

static enum gw_step api_password(struct gw_req *r)
{
	const Namegen__V1__ChangePasswordReply *rep;
	struct gw_json_err e;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		if (gw_map_password_req(r->json, &r->msg.password, &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, AUTH, "ChangePassword",
				    &r->msg.password.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__ChangePasswordReply *)r->slot[0].body;
	/* the other sessions ended; this one goes on */
	return gw_req_json(r, 200,
			   json_pack("{s:I}", "sessions_ended",
				     (json_int_t)rep->sessions_ended));
}

/* ------------------------------------------------------------ favorites */

static enum gw_step api_favorites(struct gw_req *r)
{
	struct gw_json_err e;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		if (gw_map_list_req(gw_req_arg(r, "limit"),
				    gw_req_arg(r, "cursor"), &r->msg.list.msg,
				    &e) < 0)
			return gw_req_bad_body(r, &e);
		return gw_req_call1(r, AUTH, "ListFavorites",
				    &r->msg.list.msg.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	return gw_req_json(
	    r, 200,
	    gw_map_list_reply(
		(const Namegen__V1__ListFavoritesReply *)r->slot[0].body));
}

static enum gw_step api_favorite_add(struct gw_req *r)
{
	const Namegen__V1__AddFavoriteReply *rep;
	struct gw_json_err e;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		if (gw_map_favorite_req(r->json, &r->msg.fav.key, &e) < 0)
			return gw_req_bad_body(r, &e);
		gw_map_favorite_add(&r->msg.fav.key, &r->msg.fav.add);
		return gw_req_call1(r, AUTH, "AddFavorite",
				    &r->msg.fav.add.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__AddFavoriteReply *)r->slot[0].body;
	return gw_req_json(r, rep->created ? 201 : 200,
			   json_pack("{s:o, s:b}", "favorite",
				     gw_map_favorite(rep->favorite), "created",
				     rep->created));
}

static enum gw_step api_favorite_remove(struct gw_req *r)
{
	const Namegen__V1__RemoveFavoriteReply *rep;
	struct gw_json_err e;

	if (r->step == 0) {
		if (!need_session(r))
			return GW_DONE;
		if (gw_map_favorite_req(r->json, &r->msg.fav.key, &e) < 0)
			return gw_req_bad_body(r, &e);
		gw_map_favorite_remove(&r->msg.fav.key, &r->msg.fav.remove);
		return gw_req_call1(r, AUTH, "RemoveFavorite",
				    &r->msg.fav.remove.base);
	}
	if (!gw_req_ok(r, 0))
		return GW_DONE;
	rep = (const Namegen__V1__RemoveFavoriteReply *)r->slot[0].body;
	return gw_req_json(r, 200,
			   json_pack("{s:b}", "removed", rep->removed));
}

/* ----------------------------------------------------------- operations */

static enum gw_step api_openapi(struct gw_req *r)
{
	size_t len;
	const char *doc = gw_api_openapi(&len);

	/* a static buffer: no copy */
	r->resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)doc,
						  MHD_RESPMEM_PERSISTENT);
	r->status = 200;
	r->resp_len = len;
	gw_req_header(r, "Content-Type", "application/json");
	return GW_DONE;
}

static enum gw_step api_healthz(struct gw_req *r)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	r->resp = MHD_create_response_from_buffer(
	    sizeof(ok) - 1, (void *)(uintptr_t)ok, MHD_RESPMEM_PERSISTENT);
	r->status = 200;
	r->resp_len = sizeof(ok) - 1;
	gw_req_header(r, "Content-Type", "application/json");
	return GW_DONE;
}

/* api_readyz asks both workers a cheap question at once: Meta of the
 * model, WhoAmI without a session of the auth-service (which answers
 * UNAUTHENTICATED when it is up). */
static enum gw_step api_readyz(struct gw_req *r)
{
	static const Namegen__V1__MetaRequest meta =
	    NAMEGEN__V1__META_REQUEST__INIT;
	static const Namegen__V1__WhoAmIRequest who =
	    NAMEGEN__V1__WHO_AM_IREQUEST__INIT;
	const struct gw_req_callspec c[2] = {
	    {MODEL, "Meta", &meta.base},
	    {AUTH, "WhoAmI", &who.base},
	};
	const char *model, *auth;
	int ms = r->slot[0].status, as = r->slot[1].status;

	if (r->step == 0) {
		r->token[0] = '\0';
		return gw_req_call(r, c, 2);
	}
	model = ms == RPC_OK ? "ok" : rpc_status_name(ms);
	auth = as == RPC_OK || as == RPC_UNAUTHENTICATED ? "ok"
							 : rpc_status_name(as);
	if (strcmp(model, "ok") == 0 && strcmp(auth, "ok") == 0)
		return gw_req_json(r, 200,
				   json_pack("{s:s, s:s, s:s}", "status",
					     "ready", "model", model, "auth",
					     auth));
	return gw_req_json(r, 503,
			   json_pack("{s:s, s:s, s:s}", "status", "not ready",
				     "model", model, "auth", auth));
}

static enum gw_step api_metrics(struct gw_req *r)
{
	/* a client is NULL once closed, during shutdown: nothing sent */
	struct gw_metrics_worker w[2] = {{"model", {0}}, {"auth", {0}}};
	size_t len = 0;
	char *text;

	if (r->ctx->model)
		rpc_client_get_stats(r->ctx->model, &w[0].sent);
	if (r->ctx->auth)
		rpc_client_get_stats(r->ctx->auth, &w[1].sent);
	text = gw_metrics_render(&r->ctx->metrics, w, 2, &len);

	if (!text)
		return gw_req_error(r, 500, "internal", NULL,
				    "internal error");
	r->resp =
	    MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r->resp) {
		free(text);
		return GW_DONE;
	}
	r->status = 200;
	r->resp_len = len;
	gw_req_header(r, "Content-Type", "text/plain; version=0.0.4");
	return GW_DONE;
}

/* ---------------------------------------------------------------- table */

#define BODY   GW_ROUTE_BODY
#define LEGACY GW_ROUTE_LEGACY
#define EMPTY  GW_ROUTE_EMPTY_OK

const struct gw_route gw_api_routes[] = {
    {"GET", "/api/v1/meta", api_meta, 0, "meta"},
    {"POST", "/api/v1/names", api_names, BODY, "names"},
    {"POST", "/api/v1/names/score", api_score, BODY, "score"},
    {"POST", "/api/v1/users", api_register, BODY, "register"},
    {"POST", "/api/v1/session", api_login, BODY, "login"},
    {"DELETE", "/api/v1/session", api_logout, 0, "logout"},
    {"GET", "/api/v1/me", api_me, 0, "me"},
    {"DELETE", "/api/v1/me", api_me_delete, BODY, "delete_me"},
    {"PUT", "/api/v1/me/password", api_password, BODY, "password"},
    {"GET", "/api/v1/me/favorites", api_favorites, 0, "favorites"},
    {"PUT", "/api/v1/me/favorites", api_favorite_add, BODY, "fav_add"},
    {"DELETE", "/api/v1/me/favorites", api_favorite_remove, BODY,
     "fav_remove"},
    {"GET", "/api/v1/openapi.json", api_openapi, 0, "openapi"},
    {"GET", "/healthz", api_healthz, 0, "healthz"},
    {"GET", "/readyz", api_readyz, 0, "readyz"},
    {"GET", "/metrics", api_metrics, 0, "metrics"},
    {"GET", "/api", gw_legacy_running, LEGACY, "legacy_running"},
    {"POST", "/api/register", gw_legacy_register, BODY | LEGACY,
     "legacy_register"},
    {"POST", "/api/login", gw_legacy_login, BODY | LEGACY, "legacy_login"},
    {"POST", "/api/logout", gw_legacy_logout, LEGACY, "legacy_logout"},
    {"GET", "/api/@me", gw_legacy_me, LEGACY, "legacy_me"},
    {"GET", "/api/likes", gw_legacy_likes, LEGACY, "legacy_likes"},
    {"POST", "/api/likes", gw_legacy_like, BODY | LEGACY, "legacy_like"},
    {"GET", "/api/meta", gw_legacy_meta, LEGACY, "legacy_meta"},
    {"POST", "/api/name", gw_legacy_name, BODY | EMPTY | LEGACY,
     "legacy_name"},
};

const size_t gw_api_nroutes = sizeof(gw_api_routes) / sizeof(gw_api_routes[0]);
