/* test_rpc_failover.c - the RPC client when a worker process dies.
 *
 * Each worker is this test binary run again as a child process
 * ("--serve URL"), serving the rpctest EchoService over ipc until it is
 * killed with SIGKILL, as a crashed worker would be: no drain, no close,
 * the kernel just drops its connections. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/log.h"
#include "common/rpc_client.h"
#include "common/rpc_server.h"
#include "tests/support/echo_service.h"

#define CALLS 6

static uint8_t key[RPC_KEY_BYTES];
static char url1[128], url2[128];
static pid_t workers[4]; /* started and not yet killed: the teardown's */

/* serve runs in the child: an echo server on url until killed. */
static int serve(const char *url)
{
	struct rpc_server_opts o = {0};
	struct rpc_server *srv;
	char err[256];

	o.url = url;
	o.key = key;
	o.service = &echo_service.base;
	o.threads = 4;
	o.contexts = 16;
	if (rpc_server_start(&srv, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "server on %s: %s\n", url, err);
		return 1;
	}
	for (;;)
		pause();
}

/* worker_start runs "this binary --serve url" and returns its pid; the
 * child dies with this process. */
static pid_t worker_start(const char *url)
{
	pid_t pid = fork();
	size_t i;

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/proc/self/exe", "test_rpc_failover", "--serve", url,
		      (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++)
		if (workers[i] == 0) {
			workers[i] = pid;
			break;
		}
	return pid;
}

static void worker_kill(pid_t pid)
{
	size_t i;

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++)
		if (workers[i] == pid)
			workers[i] = 0;
}

/* kill_workers stops what a failed test left running. */
static int kill_workers(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(workers) / sizeof(workers[0]); i++)
		if (workers[i] > 0)
			worker_kill(workers[i]);
	return 0;
}

static struct rpc_client *client_open(const char *urls)
{
	struct rpc_client_opts o = {0};
	struct rpc_client *cli;
	char err[256];

	o.urls = urls;
	o.key = key;
	o.timeout_ms = 5000;
	if (rpc_client_open(&cli, &o, err, sizeof(err)) != 0)
		fail_msg("client: %s", err);
	return cli;
}

static int echo_sync(struct rpc_client *cli, uint32_t sleep_ms)
{
	Rpctest__EchoRequest req = RPCTEST__ECHO_REQUEST__INIT;
	struct rpc_reply r;
	int status;

	req.sleep_ms = sleep_ms;
	status = rpc_client_call_sync(cli, &rpctest__echo_service__descriptor,
				      "Echo", &req.base, NULL, 0, 0, &r);
	rpc_reply_clear(&r);
	return status;
}

/* wait_ok calls until one succeeds (a worker is up and connected). */
static void wait_ok(struct rpc_client *cli)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (echo_sync(cli, 0) == RPC_OK)
			return;
		usleep(50000);
	}
	fail_msg("the worker never answered");
}

/* The only worker dies with calls in its handlers, within the client's
 * start-up grace: they end UNAVAILABLE at once, not at their 5 s
 * deadline; new calls fail at once; a restarted worker is used again. */
static void test_killed_worker_fails_calls_at_once(void **state)
{
	struct echo_call a[CALLS] = {{0}};
	struct rpc_client *cli;
	pid_t pid = worker_start(url1);
	double t_kill, t0;
	int i;

	(void)state;
	cli = client_open(url1);
	wait_ok(cli);
	assert_int_equal(echo_start(cli, a, CALLS, 3000, 5000), 0);
	usleep(300000); /* the calls are in the handlers */
	t_kill = echo_now_s();
	worker_kill(pid);
	assert_int_equal(echo_wait(a, CALLS, 8000), CALLS);
	for (i = 0; i < CALLS; i++) {
		assert_int_equal(a[i].status, RPC_UNAVAILABLE);
		if (a[i].at - t_kill > 0.5)
			fail_msg("call %d failed %.3f s after the kill", i,
				 a[i].at - t_kill);
	}

	t0 = echo_now_s();
	assert_int_equal(echo_sync(cli, 0), RPC_UNAVAILABLE);
	assert_true(echo_now_s() - t0 < 0.1);

	pid = worker_start(url1);
	wait_ok(cli);
	rpc_client_close(cli);
	worker_kill(pid);
}

/* One of two workers dies with calls in flight: nng sends those again to
 * the other one, and every call succeeds. */
static void test_other_worker_takes_over(void **state)
{
	struct echo_call a[CALLS] = {{0}};
	struct rpc_client *cli;
	char urls[300];
	pid_t p1 = worker_start(url1), p2 = worker_start(url2);
	int i;

	(void)state;
	snprintf(urls, sizeof(urls), "%s,%s", url1, url2);
	cli = client_open(urls);
	wait_ok(cli);
	/* the other connection is up too (a worker under ASan starts slowly,
	 * and nng's redial backs off) */
	for (i = 0; i < 1000 && rpc_client_connections(cli) < 2; i++)
		usleep(10000);
	assert_int_equal(rpc_client_connections(cli), 2);
	assert_int_equal(echo_start(cli, a, CALLS, 500, 5000), 0);
	usleep(100000);
	worker_kill(p1);
	assert_int_equal(echo_wait(a, CALLS, 8000), CALLS);
	for (i = 0; i < CALLS; i++)
		assert_int_equal(a[i].status, RPC_OK);
	assert_int_equal(echo_sync(cli, 0), RPC_OK);
	rpc_client_close(cli);
	worker_kill(p2);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_killed_worker_fails_calls_at_once,
				      kill_workers),
	    cmocka_unit_test_teardown(test_other_worker_takes_over,
				      kill_workers),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	/* the same key in the children: derived from nothing secret */
	crypto_generichash(key, sizeof(key), (const uint8_t *)"failover", 8,
			   NULL, 0);
	log_threshold = LOG_ERROR;
	if (argc == 3 && strcmp(argv[1], "--serve") == 0)
		return serve(argv[2]);
	snprintf(url1, sizeof(url1), "ipc:///tmp/ng-test-failover1-%d.ipc",
		 (int)getpid());
	snprintf(url2, sizeof(url2), "ipc:///tmp/ng-test-failover2-%d.ipc",
		 (int)getpid());
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(url1 + strlen("ipc://"));
	unlink(url2 + strlen("ipc://"));
	return rc;
}
