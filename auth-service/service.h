/* service.h - the AuthService handlers (proto/namegen.proto).
 *
 * Handlers run on the RPC server's threads and may block on PostgreSQL
 * and Redis, always within the call's deadline. Anything that hashes a
 * password (Register, Login, ChangePassword, DeleteAccount) hands that
 * work to the hashing pool and completes the call from there, so the RPC
 * threads stay free for WhoAmI and favorites. The session token comes
 * from the call's "session" metadata, the end user's address from
 * "client-addr"; neither is ever logged. */
#ifndef AUTH_SERVICE_H
#define AUTH_SERVICE_H

#include <stdatomic.h>

#include "namegen.pb-c.h"

#include "auth-service/db.h"
#include "auth-service/password.h"
#include "auth-service/ratelimit.h"
#include "auth-service/redis.h"
#include "auth-service/session.h"
#include "auth-service/workpool.h"

struct auth_svc {
	Namegen__V1__AuthService_Service base; /* first: what rpc_server
						  calls through */
	struct auth_db *db;
	struct auth_redis *redis;
	const struct auth_pw *pw;
	struct auth_pool *hash_pool;
	struct auth_rate rate;
	int register_max; /* accounts per client address per window */
	int register_window_s;
	struct auth_session_policy session;
	/* Set at shutdown: hashes still queued are refused. */
	atomic_bool stopping;
};

/* auth_svc_init fills in the handlers; the other fields are the
 * caller's, set before serving, and must outlive the server. */
void auth_svc_init(struct auth_svc *svc);

/* auth_svc_service is what struct rpc_server_opts.service takes. */
ProtobufCService *auth_svc_service(struct auth_svc *svc);

/* auth_svc_inline_methods lists the methods whose handlers never block
 * (for struct rpc_server_opts.inline_methods). */
extern const char *const auth_svc_inline_methods[];

#endif /* AUTH_SERVICE_H */
