/* gw_legacy.h - the original service's routes, in their original shapes.
 *
 * GET /api, POST /api/register, /api/login, /api/logout, GET /api/@me,
 * GET and POST /api/likes, GET /api/meta and POST /api/name answer as the
 * original service did ({"msg"} on success, {"error":"..."} on failure,
 * the session in the same cookie), so its frontend runs unchanged. They
 * are lenient where it was: unknown body fields are ignored. */
#ifndef GATEWAY_GW_LEGACY_H
#define GATEWAY_GW_LEGACY_H

#include "gateway/gw_route.h"

/* At most this many pages of 100 are read for GET /api/likes. */
#define GW_LEGACY_LIKES_PAGES 10

enum gw_step gw_legacy_running(struct gw_req *r);
enum gw_step gw_legacy_register(struct gw_req *r);
enum gw_step gw_legacy_login(struct gw_req *r);
enum gw_step gw_legacy_logout(struct gw_req *r);
enum gw_step gw_legacy_me(struct gw_req *r);
enum gw_step gw_legacy_likes(struct gw_req *r);
enum gw_step gw_legacy_like(struct gw_req *r);
enum gw_step gw_legacy_meta(struct gw_req *r);
enum gw_step gw_legacy_name(struct gw_req *r);

#endif /* GATEWAY_GW_LEGACY_H */
