/* test_core_util.c - numbers, time, buffers and the bounded queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

static void
test_parse_int64(void **state)
{
	int64_t v = 42;
	assert_int_equal(parse_int64("123", 0, 1000, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(parse_int64("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_int64("", 0, 10, &v), -1);
	assert_int_equal(parse_int64(" 1", 0, 10, &v), -1);
	assert_int_equal(parse_int64("+1", 0, 10, &v), -1);
	assert_int_equal(parse_int64("1x", 0, 10, &v), -1);
	assert_int_equal(parse_int64("11", 0, 10, &v), -1);
	assert_int_equal(parse_int64("99999999999999999999", 0, INT64_MAX, &v), -1);
	assert_int_equal(v, -5);
}

static void
test_hostport(void **state)
{
	char host[64];
	int port = 0;
	assert_int_equal(parse_hostport("127.0.0.1:8443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 8443);
	assert_int_equal(parse_hostport("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(parse_hostport("127.0.0.1", host, sizeof(host), &port), -1);
	assert_int_equal(parse_hostport("127.0.0.1:65536", host, sizeof(host), &port), -1);
	assert_int_equal(parse_hostport(":80", host, sizeof(host), &port), -1);
}

static void
test_rfc3339(void **state)
{
	int64_t ms = 0;
	assert_int_equal(time_parse_rfc3339("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(time_parse_rfc3339("2016-05-12T08:17:27.123Z", &ms), 0);
	assert_int_equal(ms, 1463041047123LL);
	assert_int_equal(time_parse_rfc3339("2016-05-12T10:17:27.123+02:00", &ms), 0);
	assert_int_equal(ms, 1463041047123LL);
	assert_int_equal(time_parse_rfc3339("2016-05-12T08:17:27.123456789Z", &ms), 0);
	assert_int_equal(ms, 1463041047123LL);
	char buf[32];
	time_format_rfc3339(1463041047123LL, buf, sizeof(buf));
	assert_string_equal(buf, "2016-05-12T08:17:27.123Z");
	assert_int_equal(time_parse_rfc3339("2016-02-30T00:00:00Z", &ms), -1);
	assert_int_equal(time_parse_rfc3339("2015-02-29T00:00:00Z", &ms), -1);
	assert_int_equal(time_parse_rfc3339("2016-05-12 08:17:27Z", &ms), -1);
	assert_int_equal(time_parse_rfc3339("2016-05-12T08:17:27", &ms), -1);
	assert_int_equal(time_parse_rfc3339("2016-05-12T08:17:27.Z", &ms), -1);
	assert_int_equal(time_parse_rfc3339("2016-05-12T08:17:27Zjunk", &ms), -1);
}

static void
test_fake_clock(void **state)
{
	time_set_fake_ms(1000);
	assert_int_equal(time_now_ms(), 1000);
	time_set_fake_ms(0);
	assert_true(time_now_ms() > 1700000000000LL);
}

static void
test_buf(void **state)
{
	struct buf b = {0};
	buf_puts(&b, "abc");
	buf_printf(&b, "-%d-", 42);
	for (int i = 0; i < 1000; i++)
		buf_append(&b, "x", 1);
	assert_int_equal(b.len, 3 + 4 + 1000);
	assert_memory_equal(b.data, "abc-42-x", 8);
	char *s = buf_steal(&b);
	assert_null(b.data);
	free(s);
	assert_true(str_secret_eq("secret", "secret"));
	assert_false(str_secret_eq("secret", "secreT"));
	assert_false(str_secret_eq("secret", "secrets"));
}

static void *
producer(void *arg)
{
	struct queue *q = arg;
	for (intptr_t i = 1; i <= 1000; i++)
		assert_int_equal(queue_push(q, (void *)i), 0);
	return NULL;
}

static void
test_queue_backpressure(void **state)
{
	struct queue *q = queue_new(4);
	assert_int_equal(queue_try_push(q, (void *)1), 0);
	assert_int_equal(queue_try_push(q, (void *)2), 0);
	assert_int_equal(queue_try_push(q, (void *)3), 0);
	assert_int_equal(queue_try_push(q, (void *)4), 0);
	assert_int_equal(queue_try_push(q, (void *)5), -1); /* full */
	for (intptr_t i = 1; i <= 4; i++)
		assert_int_equal((intptr_t)queue_pop(q), i);
	pthread_t t;
	pthread_create(&t, NULL, producer, q);
	intptr_t sum = 0;
	for (int i = 0; i < 1000; i++)
		sum += (intptr_t)queue_pop(q);
	pthread_join(t, NULL);
	assert_int_equal(sum, 1000 * 1001 / 2);
	queue_close(q);
	assert_null(queue_pop(q));
	assert_int_equal(queue_push(q, (void *)1), -1);
	queue_free(q);
}

struct pusher {
	struct queue *q;
	atomic_int started, pushed;
};

static void *
push_one(void *arg)
{
	struct pusher *p = arg;
	atomic_store(&p->started, 1);
	assert_int_equal(queue_push(p->q, (void *)99), 0);
	atomic_store(&p->pushed, 1);
	return NULL;
}

/* A producer blocked on a full queue is woken once the queue has drained
 * to half, not by every pop. */
static void
test_queue_wakes_producer_at_half(void **state)
{
	(void)state;
	struct queue *q = queue_new(8);
	for (intptr_t i = 1; i <= 8; i++)
		assert_int_equal(queue_push(q, (void *)i), 0);
	struct pusher p = {.q = q};
	pthread_t t;
	pthread_create(&t, NULL, push_one, &p);
	struct timespec pause = {0, 100 * 1000000};
	while (!atomic_load(&p.started))
		nanosleep(&pause, NULL);
	nanosleep(&pause, NULL); /* into queue_push(), blocked on the full queue */
	for (intptr_t i = 1; i <= 3; i++)
		assert_int_equal((intptr_t)queue_pop(q), i);
	/* Five left, above half: the producer still waits. (Were it woken,
	 * it would have pushed long before this.) */
	nanosleep(&pause, NULL);
	assert_int_equal(atomic_load(&p.pushed), 0);
	assert_int_equal(queue_len(q), 5);
	assert_int_equal((intptr_t)queue_pop(q), 4); /* four left: half */
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&p.pushed), 1);
	assert_int_equal(queue_len(q), 5);
	for (intptr_t i = 5; i <= 8; i++)
		assert_int_equal((intptr_t)queue_pop(q), i);
	assert_int_equal((intptr_t)queue_pop(q), 99);
	queue_free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int64), cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_rfc3339),     cmocka_unit_test(test_fake_clock),
		cmocka_unit_test(test_buf),         cmocka_unit_test(test_queue_backpressure),
		cmocka_unit_test(test_queue_wakes_producer_at_half),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
