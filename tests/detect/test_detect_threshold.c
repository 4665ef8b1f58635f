/* test_detect_threshold.c - the threshold detectors: each fires when its
 * threshold is crossed inside a window and not before, and memory stays
 * bounded under a flood of distinct sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "detect/detect.h"

static struct ingest_event ev;

static void
event(enum ingest_kind kind, const char *src, const char *dst, uint16_t dport, int64_t ts_ms)
{
	ingest_event_reset(&ev);
	ev.kind = kind;
	ev.ts_ms = ts_ms;
	assert_int_equal(ingest_ip_parse(src, strlen(src), &ev.src_ip), 0);
	assert_int_equal(ingest_ip_parse(dst, strlen(dst), &ev.dst_ip), 0);
	ev.dst_port = dport;
}

static int
feed(struct detect_shard *s, struct detect_hit *hits)
{
	return detect_shard_feed(s, &ev, hits, 4);
}

static void
test_bruteforce_fires_once_at_threshold(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	c.brute_failures = 20;
	struct detect_shard *s = detect_shard_new(&c);
	struct detect_hit hits[4];
	int fired = 0, at = -1;
	for (int i = 0; i < 60; i++) {
		event(INGEST_EV_LOGIN_FAILED, "203.0.113.9", "198.51.100.2", 22, 1000000 + i * 1000);
		int n = feed(s, hits);
		at = (n > 0 && at < 0) ? i : at;
		fired += n;
	}
	assert_int_equal(at, 19);
	assert_int_equal(fired, 1);
	assert_string_equal(hits[0].rule, "bruteforce");
	assert_string_equal(hits[0].key, "203.0.113.9");
	detect_shard_free(s);
}

static void
test_bruteforce_below_threshold_is_quiet(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	struct detect_shard *s = detect_shard_new(&c);
	struct detect_hit hits[4];
	int fired = 0;
	/* 19 failures in 5 minutes, then a pause of two windows, then 19 more. */
	for (int i = 0; i < 19; i++) {
		event(INGEST_EV_LOGIN_FAILED, "203.0.113.9", "198.51.100.2", 22, 3000000 + i * 1000);
		fired += feed(s, hits);
	}
	for (int i = 0; i < 19; i++) {
		event(INGEST_EV_LOGIN_FAILED, "203.0.113.9", "198.51.100.2", 22, 4200000 + i * 1000);
		fired += feed(s, hits);
	}
	assert_int_equal(fired, 0);
	detect_shard_free(s);
}

static void
test_port_scan(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	c.scan_ports = 100;
	struct detect_shard *s = detect_shard_new(&c);
	struct detect_hit hits[4];
	int fired = 0, at = -1;
	for (int p = 1; p <= 300; p++) {
		event(INGEST_EV_FLOW, "192.0.2.200", "198.51.100.10", (uint16_t)p, 600000 + p * 10);
		int n = feed(s, hits);
		at = (n > 0 && at < 0) ? p : at;
		fired += n;
	}
	/* The distinct-count estimate is approximate: within 15 %. */
	assert_in_range(at, 85, 115);
	assert_int_equal(fired, 1);
	assert_string_equal(hits[0].rule, "scan.ports");
	detect_shard_free(s);
}

static void
test_ddos_volume(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	c.ddos_bytes_per_s = 1000000;
	c.ddos_packets_per_s = 0;
	c.ddos_flows_per_s = 0;
	c.ddos_window_s = 10;
	struct detect_shard *s = detect_shard_new(&c);
	struct detect_hit hits[4];
	int fired = 0;
	/* 100 flows of 50 kB each per second: 5 MB/s against one host. */
	for (int i = 0; i < 1000; i++) {
		char src[32];
		snprintf(src, sizeof(src), "203.0.113.%d", i % 200);
		event(INGEST_EV_FLOW, src, "198.51.100.80", 80, 7000000 + i * 10);
		ev.bytes_to_server = 50000;
		fired += feed(s, hits);
	}
	assert_int_equal(fired, 1);
	assert_string_equal(hits[0].key, "198.51.100.80");
	detect_shard_free(s);
}

static void
test_spam_burst(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	c.spam_messages = 10;
	struct detect_shard *s = detect_shard_new(&c);
	struct detect_hit hits[4];
	int fired = 0;
	for (int i = 0; i < 30; i++) {
		event(INGEST_EV_SPAM, "198.51.100.77", "192.0.2.25", 25, 9000000 + i * 100);
		fired += feed(s, hits);
	}
	assert_int_equal(fired, 1);
	assert_string_equal(hits[0].rule, "spam.burst");
	detect_shard_free(s);
}

static void
test_beacon_regular_but_not_irregular(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	c.beacon_min_count = 8;
	struct detect_shard *s = detect_shard_new(&c);
	struct detect_hit hits[4];
	int fired = 0;
	/* Every 60 s, give or take 1 s: a beacon. */
	for (int i = 0; i < 10; i++) {
		event(INGEST_EV_TLS, "10.1.2.3", "203.0.113.66", 443,
		      10000000 + i * 60000 + (i % 2 ? 1000 : -1000));
		fired += feed(s, hits);
	}
	assert_int_equal(fired, 1);
	assert_string_equal(hits[0].rule, "beacon");
	assert_string_equal(hits[0].key, "10.1.2.3>203.0.113.66");
	/* Irregular intervals from another host: nothing. */
	static const int gaps[] = {5, 300, 17, 90, 2, 600, 45, 11, 240, 33};
	int64_t t = 20000000;
	fired = 0;
	for (int i = 0; i < 10; i++) {
		t += gaps[i] * 1000;
		event(INGEST_EV_TLS, "10.1.2.4", "203.0.113.66", 443, t);
		fired += feed(s, hits);
	}
	assert_int_equal(fired, 0);
	detect_shard_free(s);
}

static void
test_memory_bounded_under_distinct_flood(void **state)
{
	struct detect_config c;
	detect_config_defaults(&c);
	c.max_keys = 1024;
	c.brute_failures = 2; /* every source becomes a heavy hitter quickly */
	struct detect_shard *s = detect_shard_new(&c);
	size_t bytes = detect_shard_bytes(s);
	struct detect_hit hits[4];
	for (uint32_t i = 0; i < 200000; i++) {
		char src[32];
		snprintf(src, sizeof(src), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		event(INGEST_EV_LOGIN_FAILED, src, "198.51.100.2", 22, 50000000 + i);
		feed(s, hits);
		event(INGEST_EV_LOGIN_FAILED, src, "198.51.100.2", 22, 50000000 + i);
		feed(s, hits);
	}
	assert_int_equal(detect_shard_bytes(s), bytes);
	assert_true(detect_shard_evictions(s) > 100000);
	detect_shard_free(s);
}

static void
test_private_ranges(void **state)
{
	struct ingest_ip ip;
	const char *priv[] = {"10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "100.64.1.1",
	                      "fd00::1", "fe80::1", "::1"};
	const char *pub[] = {"8.8.8.8", "203.0.113.5", "198.51.100.1", "172.32.0.1", "2001:db8::1"};
	for (size_t i = 0; i < sizeof(priv) / sizeof(priv[0]); i++) {
		assert_int_equal(ingest_ip_parse(priv[i], strlen(priv[i]), &ip), 0);
		assert_true(ingest_ip_private(&ip));
	}
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
		assert_int_equal(ingest_ip_parse(pub[i], strlen(pub[i]), &ip), 0);
		assert_false(ingest_ip_private(&ip));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bruteforce_fires_once_at_threshold),
		cmocka_unit_test(test_bruteforce_below_threshold_is_quiet),
		cmocka_unit_test(test_port_scan),
		cmocka_unit_test(test_ddos_volume),
		cmocka_unit_test(test_spam_burst),
		cmocka_unit_test(test_beacon_regular_but_not_irregular),
		cmocka_unit_test(test_memory_bounded_under_distinct_flood),
		cmocka_unit_test(test_private_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
