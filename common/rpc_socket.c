/* rpc_socket.c - closing an nng socket without risking a hang. */
#include "common/rpc_socket.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"

struct closer {
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	bool abandoned; /* the waiter gave up; the thread frees this */
};

static void *closer_run(void *arg)
{
	struct closer *c = arg;
	bool abandoned;

	nng_close(c->sock);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	abandoned = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (abandoned) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	}
	return NULL;
}

bool rpc_socket_close(nng_socket s, int timeout_ms)
{
	struct closer *c = calloc(1, sizeof(*c));
	struct timespec until;
	pthread_attr_t attr;
	pthread_t th;
	bool done;

	if (!c) {
		nng_close(s); /* no memory for a thread: take the risk */
		return true;
	}
	c->sock = s;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, closer_run, c) != 0) {
		pthread_attr_destroy(&attr);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
		nng_close(s);
		return true;
	}
	pthread_attr_destroy(&attr);

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
		;
	done = c->done;
	if (!done)
		c->abandoned = true;
	pthread_mutex_unlock(&c->mu);
	if (done) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	} else {
		log_warn("nng did not close a socket in time; leaving it",
			 "timeout_ms=%d", timeout_ms);
	}
	return done;
}
