/* workpool.c - fixed threads over a bounded ring of jobs. */
#include "auth-service/workpool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct pool_job {
	auth_pool_fn fn;
	void *arg;
};

struct auth_pool {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct pool_job *ring; /* queue_max slots */
	int queue_max, head, count;
	bool stopping;
	int nthreads; /* threads started */
	pthread_t *threads;
};

static void *pool_main(void *arg)
{
	struct auth_pool *pool = arg;

	for (;;) {
		struct pool_job job;

		pthread_mutex_lock(&pool->lock);
		while (pool->count == 0 && !pool->stopping)
			pthread_cond_wait(&pool->ready, &pool->lock);
		if (pool->count == 0) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		job = pool->ring[pool->head];
		pool->head = (pool->head + 1) % pool->queue_max;
		pool->count--;
		pthread_mutex_unlock(&pool->lock);
		job.fn(job.arg);
	}
}

struct auth_pool *auth_pool_start(int nthreads, int queue_max)
{
	struct auth_pool *pool;
	int i;

	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->ready, NULL);
	pool->queue_max = queue_max > 0 ? queue_max : 1;
	pool->ring = calloc((size_t)pool->queue_max, sizeof(*pool->ring));
	pool->threads = calloc((size_t)(nthreads > 0 ? nthreads : 1),
			       sizeof(*pool->threads));
	if (!pool->ring || !pool->threads)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&pool->threads[i], NULL, pool_main, pool) !=
		    0)
			goto fail;
		pool->nthreads++;
	}
	return pool;
fail:
	auth_pool_free(pool);
	return NULL;
}

int auth_pool_submit(struct auth_pool *pool, auth_pool_fn fn, void *arg)
{
	int rc = -1;

	pthread_mutex_lock(&pool->lock);
	if (!pool->stopping && pool->count < pool->queue_max) {
		int tail = (pool->head + pool->count) % pool->queue_max;

		pool->ring[tail].fn = fn;
		pool->ring[tail].arg = arg;
		pool->count++;
		pthread_cond_signal(&pool->ready);
		rc = 0;
	}
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

void auth_pool_free(struct auth_pool *pool)
{
	int i;

	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->ready);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->ready);
	free(pool->threads);
	free(pool->ring);
	free(pool);
}
