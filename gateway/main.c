/* main.c - the gateway: configuration, the two RPC clients, the HTTP
 * server, and an orderly stop on SIGTERM or SIGINT. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/rpc_client.h"
#include "gateway/gw_api.h"
#include "gateway/gw_http.h"

/* web_root returns WEB_ROOT, else "web" when the working directory has
 * it, else the web/ folder of the checkout the program was built in
 * (<root>/build/bin/gateway). */
static const char *web_root(struct config *cfg, char *buf, size_t len)
{
	const char *env = config_str(cfg, "WEB_ROOT", "");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;
	int i;

	if (*env)
		return env;
	if (access("web", F_OK) == 0)
		return "web";
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "web";
	exe[n] = '\0';
	for (i = 0; i < 3; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return "web";
		*slash = '\0';
	}
	snprintf(buf, len, "%s/web", exe);
	return buf;
}

/* max_connections keeps the connection limit below the open-file limit,
 * leaving room for the RPC sockets, static files and logs. */
static long max_connections(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur - 64 < want)
		return (long)rl.rlim_cur - 64 > 16 ? (long)rl.rlim_cur - 64
						   : 16;
	return want;
}

/* Methods bundled under load (see rpc_client.h). WhoAmI: the session
 * check of every signed-in request, answered at once. Generate: a bundle
 * ends with its slowest call, but its calls share the model's batch
 * anyway, and the worker is spared most of its cost per message. A call
 * waits for a bundle at most bundle_wait_ms (5 ms), so one that came
 * before a worker's SIGTERM reaches it before its drain. Not Meta or
 * Score: bundled with Generate they would wait for the batch. */
static const char *const auth_bundled[] = {"WhoAmI", NULL};
static const char *const model_bundled[] = {"Generate", NULL};

int main(void)
{
	static struct gw_ctx ctx;
	struct rpc_client_opts mopts = {0}, aopts = {0};
	struct gw_http_opts hopts = {0};
	struct gw_http *http = NULL;
	struct config cfg = {0};
	char err[CONFIG_ERR_MAX], webbuf[PATH_MAX];
	uint8_t key[RPC_KEY_BYTES];
	const char *model_url, *auth_url, *cors, *web;
	bool have_key = false;
	long grace_ms;
	sigset_t sigs;
	int sig, rc = 1, left, bundle_window;

	if (log_init("gateway") < 0)
		log_warn("LOG_LEVEL is not debug, info, warn or error; using "
			 "info");

	/* configuration: everything is read and checked before anything
	 * starts, so a wrong variable stops the process with one line */
	hopts.port = (int)config_int(&cfg, "PORT", 5000, 0, 65535);
	model_url = config_str(&cfg, "MODEL_RPC_URL", NULL);
	auth_url = config_str(&cfg, "AUTH_RPC_URL", NULL);
	config_rpc_secret(&cfg, key, &have_key);
	ctx.rpc_timeout_ms =
	    (int)config_int(&cfg, "GATEWAY_RPC_TIMEOUT_MS", 10000, 100, 25000);
	bundle_window =
	    (int)config_int(&cfg, "GATEWAY_RPC_BUNDLE_WINDOW", 2, 1, 1000);
	hopts.threads = (int)config_int(&cfg, "GATEWAY_THREADS",
					sysconf(_SC_NPROCESSORS_ONLN) > 0
					    ? sysconf(_SC_NPROCESSORS_ONLN)
					    : 2,
					1, 64);
	hopts.max_connections = (int)max_connections(
	    config_int(&cfg, "GATEWAY_MAX_CONNECTIONS", 1000, 1, 100000));
	hopts.idle_timeout_s =
	    (int)config_int(&cfg, "GATEWAY_IDLE_TIMEOUT_S", 30, 1, 3600);
	hopts.request_timeout_s =
	    (int)config_int(&cfg, "GATEWAY_REQUEST_TIMEOUT_S", 10, 0, 300);
	hopts.conn_memory = (size_t)config_int(&cfg, "GATEWAY_CONN_MEMORY",
					       32768, 8192, 1048576);
	/* long enough for every call in flight to reach its deadline */
	grace_ms = config_int(&cfg, "GATEWAY_SHUTDOWN_GRACE_MS",
			      ctx.rpc_timeout_ms + 2000, 0, 28000);
	/* behind Heroku's router (which sets DYNO) the last X-Forwarded-For
	 * entry is the client's; anywhere else a client could forge it */
	ctx.trust_forwarded = config_bool(&cfg, "GATEWAY_TRUST_FORWARDED",
					  getenv("DYNO") && *getenv("DYNO"));
	ctx.cookie.secure = config_bool(&cfg, "COOKIE_SECURE", true);
	cors = config_str(&cfg, "CORS_ORIGINS", "");
	web = web_root(&cfg, webbuf, sizeof(webbuf));
	if (!cfg.failed && gw_cors_parse(&ctx.cors, cors, err, sizeof(err)))
		config_fail(&cfg, "%s", err);
	if (!cfg.failed &&
	    config_check_nng_urls(model_url, 0, err, sizeof(err)) < 0)
		config_fail(&cfg, "MODEL_RPC_URL: %s", err);
	if (!cfg.failed &&
	    config_check_nng_urls(auth_url, 0, err, sizeof(err)) < 0)
		config_fail(&cfg, "AUTH_RPC_URL: %s", err);
	if (!cfg.failed && gw_static_open(&ctx.web, web, err, sizeof(err)))
		config_fail(&cfg, "%s", err);
	config_exit_on_error(&cfg);
	ctx.cookie.same_site_none = ctx.cors.n > 0;
	ctx.routes = gw_api_routes;
	ctx.nroutes = gw_api_nroutes;

	/* SIGTERM and SIGINT are taken by sigwait below; block them before
	 * any thread starts so that every thread inherits the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	mopts.urls = model_url;
	mopts.key = have_key ? key : NULL;
	mopts.timeout_ms = ctx.rpc_timeout_ms;
	mopts.bundle_window = bundle_window;
	aopts = mopts;
	aopts.urls = auth_url;
	mopts.bundle_methods = model_bundled;
	aopts.bundle_methods = auth_bundled;
	if (rpc_client_open(&ctx.model, &mopts, err, sizeof(err)) < 0 ||
	    rpc_client_open(&ctx.auth, &aopts, err, sizeof(err)) < 0) {
		log_fatal("cannot open the RPC clients", "detail=\"%s\"", err);
		goto out;
	}
	if (gw_http_start(&http, &hopts, &ctx, err, sizeof(err)) < 0) {
		log_fatal("cannot start the HTTP server", "detail=\"%s\"",
			  err);
		goto out;
	}
	log_info("listening",
		 "port=%d threads=%d max_connections=%d rpc_timeout_ms=%d "
		 "web_root=%s static=%s cors_origins=%d cookie_secure=%d",
		 gw_http_port(http), hopts.threads, hopts.max_connections,
		 ctx.rpc_timeout_ms, web, ctx.web.root_fd >= 0 ? "on" : "off",
		 ctx.cors.n, ctx.cookie.secure);

	if (sigwait(&sigs, &sig) != 0)
		sig = SIGTERM;
	log_info("stopping", "signal=%s in_flight=%lld",
		 sig == SIGINT ? "SIGINT" : "SIGTERM",
		 (long long)atomic_load(&ctx.in_flight));

	/* stop accepting and let the requests in flight finish: every
	 * call ends by its deadline, and each connection closes after its
	 * answer. Should some still wait after the grace, closing a client
	 * cancels its calls, which answers their requests with 503, since
	 * the HTTP server must not stop with a request suspended. */
	left = gw_http_quiesce(http, (int)grace_ms);
	if (left > 0) {
		log_warn("requests still open after the grace", "count=%d",
			 left);
		rpc_client_close(ctx.model);
		rpc_client_close(ctx.auth);
		ctx.model = ctx.auth = NULL;
		left = gw_http_quiesce(http, 2000);
	}
	rc = 0;
out:
	gw_http_stop(http);
	rpc_client_close(ctx.model);
	rpc_client_close(ctx.auth);
	gw_static_close(&ctx.web);
	log_info("stopped", "status=%d", rc);
	return rc;
}
