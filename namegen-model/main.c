/* main.c - namegen-model: the model worker.
 *
 * Loads the model file, starts the batcher and serves ModelService on
 * MODEL_RPC_URL until SIGTERM or SIGINT; then it stops taking calls,
 * finishes the ones in progress (up to MODEL_DRAIN_MS) and exits 0.
 * Configuration is the environment only (see .env.example). */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "common/config.h"
#include "common/log.h"
#include "common/rpc_server.h"
#include "namegen-model/batcher.h"
#include "namegen-model/model_file.h"
#include "namegen-model/model_service.h"

#define DEFAULT_MODEL	    "data/default.model"
#define DEFAULT_THREADS_MAX 4 /* MODEL_THREADS' default: the CPUs, up to 4 */

/* default_model_path finds the committed model: next to the build's
 * bin/ folder (build/bin/../../data), else under the current folder. */
static const char *default_model_path(char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		// Strip "/namegen-model", then "/bin", then the build folder.
		for (int i = 0; i < 3 && (slash = strrchr(exe, '/')); i++)
			*slash = '\0';
		if (snprintf(buf, size, "%s/%s", exe, DEFAULT_MODEL) <
			(int)size &&
		    access(buf, R_OK) == 0)
			return buf;
	}
	return DEFAULT_MODEL;
}

/* The thread that waits for SIGTERM and SIGINT in sigwait. */
static pthread_t main_thread;

/* forward_to_main runs when a signal lands on a thread that does not block
 * it (one of OpenBLAS's): it hands the signal to the main thread, which
 * blocks it, so sigwait there picks it up. pthread_kill is
 * async-signal-safe. */
static void forward_to_main(int sig)
{
	pthread_kill(main_thread, sig);
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	struct rpc_server_opts so = {0};
	struct batcher_opts bo = {0};
	struct model *m = NULL;
	struct batcher *b = NULL;
	struct model_service *ms = NULL;
	struct rpc_server *srv = NULL;
	const struct model_meta *mm;
	char err[MODEL_ERR_MAX], pathbuf[PATH_MAX], q[PATH_MAX + 8],
	    qp[PATH_MAX + 8];
	const char *url, *path;
	uint8_t key[RPC_KEY_BYTES];
	bool have_key = false;
	long blas_threads, drain_ms, cpus;
	sigset_t sigs;
	int sig = 0, pending, rc = 1;

	if (argc > 1) {
		fprintf(argc == 2 && strcmp(argv[1], "--help") == 0 ? stdout
								    : stderr,
			"usage: namegen-model\n"
			"Serves ModelService on MODEL_RPC_URL; every setting "
			"is an environment variable\n(see .env.example, "
			"block namegen-model).\n");
		return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	if (log_init("namegen-model") != 0)
		log_warn("LOG_LEVEL is not one of debug, info, warn, error; "
			 "using info");

	// Configuration: everything is checked before anything starts.
	url = config_str(&cfg, "MODEL_RPC_URL", NULL);
	if (!cfg.failed && config_check_nng_urls(url, 1, err, sizeof(err)) < 0)
		config_fail(&cfg, "MODEL_RPC_URL: %s", err);
	path = config_str(&cfg, "MODEL_PATH",
			  default_model_path(pathbuf, sizeof(pathbuf)));
	bo.batch_max =
	    (int)config_int(&cfg, "MODEL_BATCH_MAX", 256, 1, BATCH_SIZE_LIMIT);
	bo.queue_max = (int)config_int(&cfg, "MODEL_QUEUE_MAX", 512, 1,
				       BATCH_QUEUE_LIMIT);
	so.contexts =
	    (int)config_int(&cfg, "MODEL_RPC_CONTEXTS", 1024, 1, 16384);
	so.threads = (int)config_int(&cfg, "MODEL_RPC_THREADS", 2, 1, 64);
	blas_threads = config_int(&cfg, "MODEL_BLAS_THREADS", 1, 1, 64);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > DEFAULT_THREADS_MAX)
		cpus = DEFAULT_THREADS_MAX;
	if (cpus < 1)
		cpus = 1;
	bo.threads = (int)config_int(&cfg, "MODEL_THREADS", cpus, 1,
				     BATCH_THREADS_LIMIT);
	bo.spin_us = (int)config_int(&cfg, "MODEL_STEP_SPIN_US", BATCH_SPIN_US,
				     1, BATCH_SPIN_US_LIMIT);
	drain_ms = config_int(&cfg, "MODEL_DRAIN_MS", 5000, 0, 60000);
	config_rpc_secret(&cfg, key, &have_key);
	config_exit_on_error(&cfg);

	// One threading layer: our step threads call cblas themselves.
	openblas_set_num_threads((int)blas_threads);

	if (model_load(&m, path, err, sizeof(err)) != 0) {
		log_fatal("cannot load the model", "path=%s error=%s",
			  log_quote(q, sizeof(q), path),
			  log_quote(pathbuf, sizeof(pathbuf), err));
		return 2;
	}
	mm = model_meta(m);

	// Signals go to sigwait below. Threads created from now on inherit
	// the blocked mask, but OpenBLAS starts its threads when the library
	// loads, before main, with nothing blocked: a SIGINT delivered to one
	// of them would kill the process. A handler that forwards the signal
	// to this thread (where it stays pending for sigwait) closes that.
	// Blocked here first, so the handler never runs on this thread.
	main_thread = pthread_self();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = forward_to_main;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);

	bo.model = m;
	if (batcher_start(&b, &bo, err, sizeof(err)) != 0 ||
	    model_service_new(&ms, m, b, err, sizeof(err)) != 0) {
		log_fatal("cannot start", "error=%s",
			  log_quote(q, sizeof(q), err));
		goto out;
	}
	so.url = url;
	so.key = have_key ? key : NULL;
	so.service = model_service_base(ms);
	so.inline_methods = model_service_inline_methods;
	so.queue_max = bo.queue_max + so.contexts;
	if (rpc_server_start(&srv, &so, err, sizeof(err)) != 0) {
		log_fatal("cannot serve", "error=%s",
			  log_quote(q, sizeof(q), err));
		goto out;
	}
	log_info("serving",
		 "url=%s model=%s version=%s params=%llu "
		 "countries=%d alphabet=%d hidden=%d layers=%d "
		 "heldout_loss=%.4f batch_max=%d queue_max=%d "
		 "contexts=%d threads=%d spin_us=%d blas_threads=%ld",
		 log_quote(q, sizeof(q), url), log_quote(qp, sizeof(qp), path),
		 mm->version, (unsigned long long)mm->params,
		 model_country_count(m), model_alphabet(m)->size,
		 model_dims(m)->hidden, model_dims(m)->layers,
		 (double)mm->heldout_loss, bo.batch_max, bo.queue_max,
		 so.contexts, bo.threads, bo.spin_us, blas_threads);

	sigwait(&sigs, &sig);
	log_info("stopping", "signal=%s drain_ms=%ld",
		 sig == SIGTERM ? "TERM" : "INT", drain_ms);
	pending = rpc_server_drain(srv, (int)drain_ms);
	{
		struct batcher_stats st;

		batcher_get_stats(b, &st);
		log_info("stopped",
			 "unfinished=%d requests=%llu names=%llu "
			 "steps=%llu step_ms=%llu serial_ms=%llu live_max=%d "
			 "expired=%llu refused=%llu",
			 pending, (unsigned long long)st.requests,
			 (unsigned long long)st.names,
			 (unsigned long long)st.steps,
			 (unsigned long long)(st.step_ns / 1000000),
			 (unsigned long long)(st.serial_ns / 1000000),
			 st.live_max, (unsigned long long)st.expired,
			 (unsigned long long)st.refused);
	}
	rc = 0;
out:
	// The batcher answers what is left before the server goes away.
	batcher_free(b);
	rpc_server_free(srv);
	model_service_free(ms);
	model_free(m);
	return rc;
}
