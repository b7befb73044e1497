/* service.c - AuthService: accounts, sessions and favorites. */
#include "auth-service/service.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-service/favorites.h"
#include "auth-service/session.h"
#include "auth-service/users.h"
#include "common/log.h"
#include "common/rpc_server.h"

/* LOGQ(s) is s as a logfmt value (quoted and escaped when needed), in a
 * buffer that lives until the end of the enclosing statement's block. */
#define LOGQ_MAX 400
#define LOGQ(s)	 log_quote((char[LOGQ_MAX]){0}, LOGQ_MAX, (s))

#define SVC_ERR_MAX 256

/* One message for every failed login, whether the email exists or not. */
#define SVC_BAD_LOGIN  "wrong email or password"
#define SVC_NO_SESSION "not logged in, or the session has expired"
#define SVC_DB_DOWN    "the database is unavailable; try again shortly"
#define SVC_REDIS_DOWN "the session store is unavailable; try again shortly"

static struct auth_svc *svc_of(Namegen__V1__AuthService_Service *base)
{
	/* base is the first member of struct auth_svc */
	return (struct auth_svc *)(void *)base;
}

/* svc_left returns the milliseconds left before the call's deadline, or
 * completes the call with DEADLINE_EXCEEDED and returns 0. */
static int svc_left(struct rpc_call *call)
{
	int64_t left = rpc_call_deadline_ms(call) - rpc_now_ms();

	if (left <= 0) {
		rpc_call_fail(call, RPC_DEADLINE_EXCEEDED,
			      "the call's deadline passed");
		return 0;
	}
	return left > 60000 ? 60000 : (int)left;
}

/* svc_db_fail completes a call after a failed SQL statement. */
static void svc_db_fail(struct rpc_call *call, int rc, const char *err)
{
	if (rc == AUTH_DB_DOWN) {
		log_warn("database unavailable",
			 "method=%s request_id=%s "
			 "reason=%s",
			 rpc_call_method(call), rpc_call_request_id(call),
			 LOGQ(err));
		rpc_call_fail(call, RPC_UNAVAILABLE, SVC_DB_DOWN);
		return;
	}
	log_error("database error", "method=%s request_id=%s reason=%s",
		  rpc_call_method(call), rpc_call_request_id(call), LOGQ(err));
	rpc_call_fail(call, RPC_INTERNAL, "internal error");
}

static void svc_redis_fail(struct rpc_call *call, const char *err)
{
	log_warn("redis unavailable", "method=%s request_id=%s reason=%s",
		 rpc_call_method(call), rpc_call_request_id(call), LOGQ(err));
	rpc_call_fail(call, RPC_UNAVAILABLE, SVC_REDIS_DOWN);
}

/* svc_db_get checks out a connection or completes the call. */
static PGconn *svc_db_get(struct auth_svc *svc, struct rpc_call *call)
{
	char err[SVC_ERR_MAX];
	int left = svc_left(call);
	PGconn *conn;

	if (!left)
		return NULL;
	conn = auth_db_acquire(svc->db, left, err, sizeof(err));
	if (!conn)
		svc_db_fail(call, AUTH_DB_DOWN, err);
	return conn;
}

/* svc_session finds the caller's user from the "session" metadata, or
 * completes the call (UNAUTHENTICATED, UNAVAILABLE) and returns -1. */
static int svc_session(struct auth_svc *svc, struct rpc_call *call,
		       struct auth_user *u)
{
	const char *token = rpc_call_metadata(call, RPC_META_SESSION);
	char err[SVC_ERR_MAX];
	int left, rc, expires_in;

	if (!token || !*token) {
		rpc_call_fail(call, RPC_UNAUTHENTICATED, SVC_NO_SESSION);
		return -1;
	}
	left = svc_left(call);
	if (!left)
		return -1;
	rc = auth_session_lookup(svc->redis, &svc->session, token, u,
				 &expires_in, left, err, sizeof(err));
	if (rc < 0) {
		svc_redis_fail(call, err);
		return -1;
	}
	if (rc == 0) {
		rpc_call_fail(call, RPC_UNAUTHENTICATED, SVC_NO_SESSION);
		return -1;
	}
	return 0;
}

/* svc_rate_check refuses a call for an email or address past its limit
 * of failed password checks. Returns 0 to go on, -1 when completed. */
static int svc_rate_check(struct auth_svc *svc, struct rpc_call *call,
			  const char *email)
{
	const char *addr = rpc_call_metadata(call, RPC_META_CLIENT_ADDR);
	char err[SVC_ERR_MAX];
	uint32_t wait = 0;
	int left = svc_left(call), rc;

	if (!left)
		return -1;
	rc = auth_rate_check(svc->redis, &svc->rate, email, addr, &wait, left,
			     err, sizeof(err));
	if (rc < 0) {
		svc_redis_fail(call, err);
		return -1;
	}
	if (rc > 0) {
		rpc_call_set_retry_after(call, wait);
		rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
			      "too many failed attempts; try again in %u s",
			      wait);
		return -1;
	}
	return 0;
}

/* svc_register_check counts an account creation from the caller's
 * address. Returns 0 to go on, -1 when the call was completed. */
static int svc_register_check(struct auth_svc *svc, struct rpc_call *call)
{
	const char *addr = rpc_call_metadata(call, RPC_META_CLIENT_ADDR);
	char err[SVC_ERR_MAX];
	uint32_t wait = 0;
	int left = svc_left(call), rc;

	if (!left)
		return -1;
	rc = auth_rate_register(svc->redis, addr, svc->register_max,
				svc->register_window_s, &wait, left, err,
				sizeof(err));
	if (rc < 0) {
		svc_redis_fail(call, err);
		return -1;
	}
	if (rc > 0) {
		rpc_call_set_retry_after(call, wait);
		rpc_call_fail(call, RPC_RESOURCE_EXHAUSTED,
			      "too many new accounts from this address; try "
			      "again in %u s",
			      wait);
		return -1;
	}
	return 0;
}

/* svc_rate_fail counts a failed password check (best effort: a Redis
 * failure here is logged, the caller's answer stays the same). */
static void svc_rate_fail(struct auth_svc *svc, struct rpc_call *call,
			  const char *email)
{
	const char *addr = rpc_call_metadata(call, RPC_META_CLIENT_ADDR);
	char err[SVC_ERR_MAX];
	int left = (int)(rpc_call_deadline_ms(call) - rpc_now_ms());

	if (auth_rate_fail(svc->redis, &svc->rate, email, addr,
			   left > 0 ? left : 500, err, sizeof(err)) < 0)
		log_warn("could not count a failed login", "reason=%s",
			 LOGQ(err));
}

static void svc_user_msg(Namegen__V1__User *m, struct auth_user *u)
{
	namegen__v1__user__init(m);
	m->id = u->id;
	m->username = u->username;
	m->email = u->email;
	m->created_at_ms = u->created_ms;
}

/* ------------------------------------------------- work on the hash pool */

enum svc_job_kind { JOB_REGISTER, JOB_LOGIN, JOB_CHANGE, JOB_DELETE };

/* A call handed to the hashing pool. The request and the metadata
 * strings stay valid until the call is completed, which the job does. */
struct svc_job {
	enum svc_job_kind kind;
	struct auth_svc *svc;
	struct rpc_call *call;
	union {
		Namegen__V1__RegisterReply_Closure reg;
		Namegen__V1__LoginReply_Closure login;
		Namegen__V1__ChangePasswordReply_Closure change;
		Namegen__V1__DeleteAccountReply_Closure del;
	} closure;
	const char *password;	  /* to check (or to hash, Register) */
	const char *new_password; /* ChangePassword */
	bool found;		  /* a user row was read */
	struct auth_user user;
	char hash[AUTH_PW_HASH_BUF];
};

static void svc_job_run(void *arg);

/* svc_job_submit queues a job, or completes its call when the pool is
 * full. Takes ownership of job. */
static void svc_job_submit(struct svc_job *job)
{
	if (auth_pool_submit(job->svc->hash_pool, svc_job_run, job) == 0)
		return;
	rpc_call_set_retry_after(job->call, 1);
	rpc_call_fail(job->call, RPC_UNAVAILABLE,
		      "the server is busy; try again shortly");
	free(job);
}

static struct svc_job *svc_job_new(enum svc_job_kind kind,
				   struct auth_svc *svc, struct rpc_call *call)
{
	struct svc_job *job = calloc(1, sizeof(*job));

	if (!job) {
		rpc_call_fail(call, RPC_INTERNAL, "out of memory");
		return NULL;
	}
	job->kind = kind;
	job->svc = svc;
	job->call = call;
	return job;
}

static void svc_register_job(struct svc_job *job)
{
	struct auth_svc *svc = job->svc;
	Namegen__V1__RegisterReply reply;
	Namegen__V1__User um;
	char err[SVC_ERR_MAX];
	PGconn *conn;
	int rc;

	namegen__v1__register_reply__init(&reply);
	if (auth_pw_hash(svc->pw, job->password, job->hash) < 0) {
		rpc_call_fail(job->call, RPC_UNAVAILABLE,
			      "the server is out of memory; try again");
		return;
	}
	conn = svc_db_get(svc, job->call);
	if (!conn)
		return;
	rc = auth_users_create(conn, job->user.username, job->user.email,
			       job->hash, &job->user, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc == AUTH_DB_UNIQUE) {
		rpc_call_fail(job->call, RPC_ALREADY_EXISTS,
			      "an account with this email already exists");
		return;
	}
	if (rc != AUTH_DB_OK) {
		svc_db_fail(job->call, rc, err);
		return;
	}
	svc_user_msg(&um, &job->user);
	reply.user = &um;
	job->closure.reg(&reply, job->call);
}

/* svc_upgrade_hash rehashes a password made under older limits; a
 * failure only delays the upgrade to the next login. */
static void svc_upgrade_hash(struct svc_job *job)
{
	struct auth_svc *svc = job->svc;
	char fresh[AUTH_PW_HASH_BUF], err[SVC_ERR_MAX];
	bool changed = false;
	PGconn *conn;
	int left = (int)(rpc_call_deadline_ms(job->call) - rpc_now_ms());

	if (left <= 0 || auth_pw_hash(svc->pw, job->password, fresh) < 0)
		return;
	conn = auth_db_acquire(svc->db, left, err, sizeof(err));
	if (!conn ||
	    auth_users_set_hash(conn, job->user.id, job->hash, fresh, &changed,
				err, sizeof(err)) != AUTH_DB_OK)
		log_warn("password hash upgrade failed", "reason=%s",
			 LOGQ(err));
	else if (changed)
		log_info("password hash upgraded", "user_id=%lld",
			 (long long)job->user.id);
	auth_db_release(svc->db, conn);
}

/* svc_login_still_valid closes the race with DeleteAccount: a session
 * made after the password check is kept only if the account still exists
 * once the session is in Redis (a deletion after this point ends it with
 * the others). Returns 0, or ends the session, completes the call and
 * returns -1. */
static int svc_login_still_valid(struct svc_job *job, const char *token)
{
	struct auth_svc *svc = job->svc;
	struct auth_user again;
	char err[SVC_ERR_MAX];
	bool found = false;
	PGconn *conn;
	int rc = AUTH_DB_DOWN;

	conn = svc_db_get(svc, job->call);
	if (!conn)
		goto ended;
	rc = auth_users_find(conn, NULL, job->user.id, &again, NULL, &found,
			     err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc == AUTH_DB_OK && found)
		return 0;
	if (rc != AUTH_DB_OK)
		svc_db_fail(job->call, rc, err);
	else
		rpc_call_fail(job->call, RPC_UNAUTHENTICATED, SVC_BAD_LOGIN);
ended:
	if (auth_session_end(svc->redis, token, 1000, err, sizeof(err)) < 0)
		log_warn("could not end a session of a failed login",
			 "reason=%s", LOGQ(err));
	return -1;
}

static void svc_login_job(struct svc_job *job)
{
	struct auth_svc *svc = job->svc;
	Namegen__V1__LoginReply reply;
	Namegen__V1__User um;
	char token[AUTH_TOKEN_BUF], err[SVC_ERR_MAX];
	int left;

	namegen__v1__login_reply__init(&reply);
	/* The dummy hash stands in for a missing user: same work, no match */
	if (!auth_pw_verify(svc->pw, job->found ? job->hash : NULL,
			    job->password)) {
		svc_rate_fail(svc, job->call, job->user.email);
		rpc_call_fail(job->call, RPC_UNAUTHENTICATED, SVC_BAD_LOGIN);
		return;
	}
	if (auth_pw_needs_rehash(svc->pw, job->hash))
		svc_upgrade_hash(job);
	left = svc_left(job->call);
	if (!left)
		return;
	if (auth_rate_clear(svc->redis, job->user.email, left, err,
			    sizeof(err)) < 0 ||
	    auth_session_create(svc->redis, &svc->session, &job->user, token,
				left, err, sizeof(err)) < 0) {
		svc_redis_fail(job->call, err);
		return;
	}
	if (svc_login_still_valid(job, token) < 0)
		return;
	svc_user_msg(&um, &job->user);
	reply.user = &um;
	reply.token = token;
	reply.expires_in_s = (uint32_t)svc->session.ttl_s;
	job->closure.login(&reply, job->call);
	sodium_memzero(token, sizeof(token));
}

/* svc_check_password verifies job->password against the user's stored
 * hash (read again: it may have changed since the session began).
 * Returns 0 when it matches, else completes the call and returns -1. */
static int svc_check_password(struct svc_job *job)
{
	struct auth_svc *svc = job->svc;
	char err[SVC_ERR_MAX];
	PGconn *conn;
	int rc;

	conn = svc_db_get(svc, job->call);
	if (!conn)
		return -1;
	rc = auth_users_find(conn, NULL, job->user.id, &job->user, job->hash,
			     &job->found, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_db_fail(job->call, rc, err);
		return -1;
	}
	if (!job->found) {
		/* Deleted meanwhile (or a DeleteAccount whose session cleanup
		 * failed): end what is left of its sessions. */
		if (auth_session_end_all(svc->redis, job->user.id, NULL, 1000,
					 err, sizeof(err)) < 0)
			log_warn("could not end the sessions of a deleted "
				 "account",
				 "reason=%s", LOGQ(err));
		rpc_call_fail(job->call, RPC_UNAUTHENTICATED,
			      "the account no longer exists");
		return -1;
	}
	if (!auth_pw_verify(svc->pw, job->hash, job->password)) {
		svc_rate_fail(svc, job->call, job->user.email);
		rpc_call_fail(job->call, RPC_PERMISSION_DENIED,
			      "the password is wrong");
		return -1;
	}
	return 0;
}

static void svc_change_job(struct svc_job *job)
{
	struct auth_svc *svc = job->svc;
	Namegen__V1__ChangePasswordReply reply;
	char fresh[AUTH_PW_HASH_BUF], err[SVC_ERR_MAX];
	const char *token = rpc_call_metadata(job->call, RPC_META_SESSION);
	bool changed = false;
	PGconn *conn;
	int rc, left;

	namegen__v1__change_password_reply__init(&reply);
	if (svc_check_password(job) < 0)
		return;
	if (auth_pw_hash(svc->pw, job->new_password, fresh) < 0) {
		rpc_call_fail(job->call, RPC_UNAVAILABLE,
			      "the server is out of memory; try again");
		return;
	}
	conn = svc_db_get(svc, job->call);
	if (!conn)
		return;
	/* Only over the hash we checked: a concurrent change wins. */
	rc = auth_users_set_hash(conn, job->user.id, job->hash, fresh,
				 &changed, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_db_fail(job->call, rc, err);
		return;
	}
	if (!changed) {
		rpc_call_fail(job->call, RPC_FAILED_PRECONDITION,
			      "the password was changed meanwhile");
		return;
	}
	left = svc_left(job->call);
	if (!left)
		return;
	rc = auth_session_end_all(svc->redis, job->user.id, token, left, err,
				  sizeof(err));
	if (rc < 0) {
		/* The new password is stored; ask for a retry so the other
		 * sessions end too (the old password then fails, so a retry
		 * needs the new one as old_password). */
		svc_redis_fail(job->call, err);
		return;
	}
	reply.sessions_ended = (uint32_t)rc;
	job->closure.change(&reply, job->call);
}

static void svc_delete_job(struct svc_job *job)
{
	struct auth_svc *svc = job->svc;
	Namegen__V1__DeleteAccountReply reply;
	char err[SVC_ERR_MAX];
	bool deleted = false;
	PGconn *conn;
	int rc, left;

	namegen__v1__delete_account_reply__init(&reply);
	if (svc_check_password(job) < 0)
		return;
	conn = svc_db_get(svc, job->call);
	if (!conn)
		return;
	rc = auth_users_delete(conn, job->user.id, &deleted, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_db_fail(job->call, rc, err);
		return;
	}
	left = svc_left(job->call);
	if (!left)
		return;
	if (auth_session_end_all(svc->redis, job->user.id, NULL, left, err,
				 sizeof(err)) < 0) {
		svc_redis_fail(job->call, err);
		return;
	}
	log_info("account deleted", "user_id=%lld", (long long)job->user.id);
	job->closure.del(&reply, job->call);
}

static void svc_job_run(void *arg)
{
	struct svc_job *job = arg;

	/* A call whose caller gave up is not worth a hash, nor one queued
	 * when the service began to stop. */
	if (rpc_call_expired(job->call)) {
		rpc_call_fail(job->call, RPC_DEADLINE_EXCEEDED,
			      "the call's deadline passed");
		goto out;
	}
	if (atomic_load(&job->svc->stopping)) {
		rpc_call_fail(job->call, RPC_UNAVAILABLE,
			      "the service is stopping; try again");
		goto out;
	}
	switch (job->kind) {
	case JOB_REGISTER:
		svc_register_job(job);
		break;
	case JOB_LOGIN:
		svc_login_job(job);
		break;
	case JOB_CHANGE:
		svc_change_job(job);
		break;
	case JOB_DELETE:
		svc_delete_job(job);
		break;
	}
out:
	sodium_memzero(job->hash, sizeof(job->hash));
	free(job);
}

/* -------------------------------------------------------------- handlers */

static void svc_register(Namegen__V1__AuthService_Service *base,
			 const Namegen__V1__RegisterRequest *req,
			 Namegen__V1__RegisterReply_Closure closure, void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	char err[AUTH_ERR_MAX];
	struct svc_job *job = svc_job_new(JOB_REGISTER, svc, call);

	if (!job)
		return;
	if (auth_rules_username(req->username, job->user.username, err,
				sizeof(err)) < 0 ||
	    auth_rules_email(req->email, job->user.email, err, sizeof(err)) <
		0 ||
	    auth_rules_password(req->password, "password", err, sizeof(err)) <
		0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err);
		free(job);
		return;
	}
	if (svc_register_check(svc, call) < 0) {
		free(job);
		return;
	}
	job->closure.reg = closure;
	job->password = req->password;
	svc_job_submit(job);
}

static void svc_login(Namegen__V1__AuthService_Service *base,
		      const Namegen__V1__LoginRequest *req,
		      Namegen__V1__LoginReply_Closure closure, void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	char err[SVC_ERR_MAX];
	struct svc_job *job = svc_job_new(JOB_LOGIN, svc, call);
	PGconn *conn;
	int rc;

	if (!job)
		return;
	if (auth_rules_email(req->email, job->user.email, err, sizeof(err)) <
		0 ||
	    auth_rules_password(req->password, "password", err, sizeof(err)) <
		0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err);
		goto fail;
	}
	if (svc_rate_check(svc, call, job->user.email) < 0)
		goto fail;
	conn = svc_db_get(svc, call);
	if (!conn)
		goto fail;
	rc = auth_users_find(conn, job->user.email, 0, &job->user, job->hash,
			     &job->found, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_db_fail(call, rc, err);
		goto fail;
	}
	job->closure.login = closure;
	job->password = req->password;
	svc_job_submit(job);
	return;
fail:
	free(job);
}

static void svc_logout(Namegen__V1__AuthService_Service *base,
		       const Namegen__V1__LogoutRequest *req,
		       Namegen__V1__LogoutReply_Closure closure, void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	Namegen__V1__LogoutReply reply;
	const char *token = rpc_call_metadata(call, RPC_META_SESSION);
	char err[SVC_ERR_MAX];
	int left;

	namegen__v1__logout_reply__init(&reply);
	(void)req;
	if (!token || !*token) {
		rpc_call_fail(call, RPC_UNAUTHENTICATED, SVC_NO_SESSION);
		return;
	}
	left = svc_left(call);
	if (!left)
		return;
	/* Ending a session that already ended is not an error. */
	if (auth_session_end(svc->redis, token, left, err, sizeof(err)) < 0) {
		svc_redis_fail(call, err);
		return;
	}
	closure(&reply, cd);
}

/* A WhoAmI waiting for its session lookup on the Redis pipeline. */
struct svc_whoami {
	struct rpc_call *call;
	Namegen__V1__WhoAmIReply_Closure closure;
};

static void svc_who_am_i_done(void *arg, int rc, const struct auth_user *u,
			      int expires_in_s, const char *err)
{
	struct svc_whoami *w = arg;
	Namegen__V1__WhoAmIReply reply;
	Namegen__V1__User um;
	struct auth_user copy;

	if (rc < 0) {
		svc_redis_fail(w->call, err);
	} else if (rc == 0) {
		rpc_call_fail(w->call, RPC_UNAUTHENTICATED, SVC_NO_SESSION);
	} else {
		namegen__v1__who_am_ireply__init(&reply);
		copy = *u;
		svc_user_msg(&um, &copy);
		reply.user = &um;
		reply.expires_in_s = (uint32_t)expires_in_s;
		w->closure(&reply, w->call);
	}
	free(w);
}

/* WhoAmI never waits for Redis on an RPC thread: the lookup joins the
 * pipeline and the call is completed from its thread. So it never blocks
 * and runs on nng's thread (auth_svc_inline_methods). */
static void svc_who_am_i(Namegen__V1__AuthService_Service *base,
			 const Namegen__V1__WhoAmIRequest *req,
			 Namegen__V1__WhoAmIReply_Closure closure, void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	const char *token = rpc_call_metadata(call, RPC_META_SESSION);
	struct svc_whoami *w;
	int left;

	(void)req;
	if (!token || !*token) {
		rpc_call_fail(call, RPC_UNAUTHENTICATED, SVC_NO_SESSION);
		return;
	}
	left = svc_left(call);
	if (!left)
		return;
	w = malloc(sizeof(*w));
	if (!w) {
		rpc_call_fail(call, RPC_INTERNAL, "out of memory");
		return;
	}
	w->call = call;
	w->closure = closure;
	auth_session_lookup_async(svc->redis, &svc->session, token, left,
				  svc_who_am_i_done, w);
}

const char *const auth_svc_inline_methods[] = {"WhoAmI", NULL};

static void
svc_change_password(Namegen__V1__AuthService_Service *base,
		    const Namegen__V1__ChangePasswordRequest *req,
		    Namegen__V1__ChangePasswordReply_Closure closure, void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	char err[AUTH_ERR_MAX];
	struct auth_user u;
	struct svc_job *job;

	if (svc_session(svc, call, &u) < 0)
		return;
	if (auth_rules_password(req->old_password, "old_password", err,
				sizeof(err)) < 0 ||
	    auth_rules_password(req->new_password, "new_password", err,
				sizeof(err)) < 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (svc_rate_check(svc, call, u.email) < 0)
		return;
	job = svc_job_new(JOB_CHANGE, svc, call);
	if (!job)
		return;
	job->user = u;
	job->closure.change = closure;
	job->password = req->old_password;
	job->new_password = req->new_password;
	svc_job_submit(job);
}

static void svc_delete_account(Namegen__V1__AuthService_Service *base,
			       const Namegen__V1__DeleteAccountRequest *req,
			       Namegen__V1__DeleteAccountReply_Closure closure,
			       void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	char err[AUTH_ERR_MAX];
	struct auth_user u;
	struct svc_job *job;

	if (svc_session(svc, call, &u) < 0)
		return;
	if (auth_rules_password(req->password, "password", err, sizeof(err)) <
	    0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err);
		return;
	}
	if (svc_rate_check(svc, call, u.email) < 0)
		return;
	job = svc_job_new(JOB_DELETE, svc, call);
	if (!job)
		return;
	job->user = u;
	job->closure.del = closure;
	job->password = req->password;
	svc_job_submit(job);
}

/* svc_fav_args validates a favorite's name, country and gender. */
static int svc_fav_args(struct rpc_call *call, const char *name_in,
			const char *country_in, int gender, char *name,
			char *country)
{
	char err[AUTH_ERR_MAX];

	if (auth_rules_name(name_in, name, err, sizeof(err)) < 0 ||
	    auth_rules_country(country_in, country, err, sizeof(err)) < 0 ||
	    auth_rules_gender(gender, err, sizeof(err)) < 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT, "%s", err);
		return -1;
	}
	return 0;
}

static void svc_fav_msg(Namegen__V1__Favorite *m, struct auth_fav *f)
{
	namegen__v1__favorite__init(m);
	m->name_id = f->name_id;
	m->name = f->name;
	m->country = f->country;
	m->gender = (Namegen__V1__Gender)f->gender;
	m->created_at_ms = f->created_us / 1000;
}

/* svc_fav_db_fail: a favorite of a user deleted meanwhile is refused. */
static void svc_fav_db_fail(struct rpc_call *call, int rc, const char *err)
{
	if (rc == AUTH_DB_FOREIGN)
		rpc_call_fail(call, RPC_UNAUTHENTICATED,
			      "the account no longer exists");
	else
		svc_db_fail(call, rc, err);
}

static void svc_add_favorite(Namegen__V1__AuthService_Service *base,
			     const Namegen__V1__AddFavoriteRequest *req,
			     Namegen__V1__AddFavoriteReply_Closure closure,
			     void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	Namegen__V1__AddFavoriteReply reply;
	Namegen__V1__Favorite fm;
	char name[AUTH_NAME_BUF], country[3], err[SVC_ERR_MAX];
	struct auth_user u;
	struct auth_fav fav;
	bool created = false;
	PGconn *conn;
	int rc;

	namegen__v1__add_favorite_reply__init(&reply);
	if (svc_session(svc, call, &u) < 0 ||
	    svc_fav_args(call, req->name, req->country, (int)req->gender, name,
			 country) < 0)
		return;
	conn = svc_db_get(svc, call);
	if (!conn)
		return;
	rc = auth_fav_add(conn, u.id, name, country, (int)req->gender, &fav,
			  &created, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_fav_db_fail(call, rc, err);
		return;
	}
	svc_fav_msg(&fm, &fav);
	reply.favorite = &fm;
	reply.created = created;
	closure(&reply, cd);
}

static void
svc_remove_favorite(Namegen__V1__AuthService_Service *base,
		    const Namegen__V1__RemoveFavoriteRequest *req,
		    Namegen__V1__RemoveFavoriteReply_Closure closure, void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	Namegen__V1__RemoveFavoriteReply reply;
	char name[AUTH_NAME_BUF], country[3], err[SVC_ERR_MAX];
	struct auth_user u;
	bool removed = false;
	PGconn *conn;
	int rc;

	namegen__v1__remove_favorite_reply__init(&reply);
	if (svc_session(svc, call, &u) < 0 ||
	    svc_fav_args(call, req->name, req->country, (int)req->gender, name,
			 country) < 0)
		return;
	conn = svc_db_get(svc, call);
	if (!conn)
		return;
	rc = auth_fav_remove(conn, u.id, name, country, (int)req->gender,
			     &removed, err, sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_db_fail(call, rc, err);
		return;
	}
	reply.removed = removed;
	closure(&reply, cd);
}

static void svc_list_favorites(Namegen__V1__AuthService_Service *base,
			       const Namegen__V1__ListFavoritesRequest *req,
			       Namegen__V1__ListFavoritesReply_Closure closure,
			       void *cd)
{
	struct auth_svc *svc = svc_of(base);
	struct rpc_call *call = cd;
	Namegen__V1__ListFavoritesReply reply;
	Namegen__V1__Favorite msgs[AUTH_FAV_LIMIT_MAX];
	Namegen__V1__Favorite *ptrs[AUTH_FAV_LIMIT_MAX];
	char next[AUTH_FAV_CURSOR_BUF], err[SVC_ERR_MAX];
	struct auth_fav *favs = NULL;
	struct auth_user u;
	PGconn *conn;
	int limit, n = 0, rc, i;

	namegen__v1__list_favorites_reply__init(&reply);
	if (svc_session(svc, call, &u) < 0)
		return;
	limit = req->limit ? (int)req->limit : AUTH_FAV_LIMIT_DEFAULT;
	if (req->limit > AUTH_FAV_LIMIT_MAX) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT,
			      "limit must be 1 to %d", AUTH_FAV_LIMIT_MAX);
		return;
	}
	if (auth_fav_cursor_ok(req->cursor) < 0) {
		rpc_call_fail(call, RPC_INVALID_ARGUMENT,
			      "cursor is not one this service gave out");
		return;
	}
	favs = calloc((size_t)limit, sizeof(*favs));
	if (!favs) {
		rpc_call_fail(call, RPC_INTERNAL, "out of memory");
		return;
	}
	conn = svc_db_get(svc, call);
	if (!conn)
		goto out;
	rc = auth_fav_list(conn, u.id, limit, req->cursor, favs, &n, next, err,
			   sizeof(err));
	auth_db_release(svc->db, conn);
	if (rc != AUTH_DB_OK) {
		svc_db_fail(call, rc, err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		svc_fav_msg(&msgs[i], &favs[i]);
		ptrs[i] = &msgs[i];
	}
	reply.n_favorites = (size_t)n;
	reply.favorites = ptrs;
	reply.next_cursor = next;
	closure(&reply, cd);
out:
	free(favs);
}

void auth_svc_init(struct auth_svc *svc)
{
	namegen__v1__auth_service__init(&svc->base, NULL);
	svc->base.register_user = svc_register;
	svc->base.login = svc_login;
	svc->base.logout = svc_logout;
	svc->base.who_am_i = svc_who_am_i;
	svc->base.change_password = svc_change_password;
	svc->base.delete_account = svc_delete_account;
	svc->base.add_favorite = svc_add_favorite;
	svc->base.remove_favorite = svc_remove_favorite;
	svc->base.list_favorites = svc_list_favorites;
}

ProtobufCService *auth_svc_service(struct auth_svc *svc)
{
	return &svc->base.base;
}
