/* core_queue.c - a bounded blocking FIFO of pointers. A full queue blocks
 * the producer, which is how back-pressure reaches a TCP socket.
 *
 * A blocked producer is woken once the queue has drained to half, not on
 * every pop: waking a thread is a system call, and a consumer that made
 * one per item (a detector thread per chunk of 256 events, whenever its
 * decoder was ahead) paid for it again in the cache lines and TLB entries
 * it found cold afterwards (docs/BENCHMARKS.md, indicator matching). */
#include "core/core.h"

#include <pthread.h>
#include <stdlib.h>

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	void **items;
	size_t cap, head, len;
	bool closed;
};

struct queue *
queue_new(size_t capacity)
{
	struct queue *q = xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->cap = capacity ? capacity : 1;
	q->items = xcalloc(q->cap, sizeof(void *));
	return q;
}

void
queue_free(struct queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->items);
	free(q);
}

static void
put_locked(struct queue *q, void *item)
{
	q->items[(q->head + q->len) % q->cap] = item;
	q->len++;
	pthread_cond_signal(&q->not_empty);
}

int
queue_push(struct queue *q, void *item)
{
	pthread_mutex_lock(&q->mu);
	while (q->len == q->cap && !q->closed)
		pthread_cond_wait(&q->not_full, &q->mu);
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		return -1;
	}
	put_locked(q, item);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int
queue_try_push(struct queue *q, void *item)
{
	int rc = -1;
	pthread_mutex_lock(&q->mu);
	if (!q->closed && q->len < q->cap) {
		put_locked(q, item);
		rc = 0;
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void *
queue_pop(struct queue *q)
{
	void *item = NULL;
	pthread_mutex_lock(&q->mu);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->not_empty, &q->mu);
	if (q->len > 0) {
		item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		if (q->len == q->cap / 2)
			pthread_cond_broadcast(&q->not_full);
	}
	pthread_mutex_unlock(&q->mu);
	return item;
}

void
queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->mu);
}

size_t
queue_len(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t n = q->len;
	pthread_mutex_unlock(&q->mu);
	return n;
}
