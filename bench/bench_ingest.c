/*
 * bench_ingest.c - the SOC pipeline end to end, in one process: Suricata
 * EVE lines (the realistic mix of bench_eve.h) are sent over loopback TCP to
 * the JSON-lines listener, decoded, enriched, matched against N compiled
 * indicators and the threshold detectors, and the alerts written to the
 * store. The figure is events per second from the first byte sent to the
 * last alert written, and the peak resident memory.
 *
 *   build/bench/bench_ingest [events] [indicators] [detect|nodetect] [decoders] [detectors]
 *
 * "nodetect" runs the same path with no matcher and every threshold
 * detector off: the decode-and-pipeline ceiling.
 *
 * One event in a thousand carries an address that an indicator names, so
 * alerts are written throughout the run, as on a real edge sensor.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/auth.h"
#include "bench_eve.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "ops/ops.h"
#include "store/store.h"

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "bench_ingest: %s: %s\n", what, why);
	exit(1);
}

static int
free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0)
		die("port", "cannot find a free port");
	close(fd);
	return ntohs(a.sin_port);
}

static long
peak_rss_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;
	while (fp && fgets(line, sizeof(line), fp))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (fp)
		fclose(fp);
	return kb;
}

/* N indicators: addresses, CIDRs, IPv6, domains, URLs, SHA-256 hashes and a
 * few thousand MATCHES on URLs. Indicator i names 100.<i> addresses. */
static struct detect_indicator *
make_indicators(size_t n, char ***strs)
{
	struct detect_indicator *ind = xcalloc(n ? n : 1, sizeof(*ind));
	*strs = xcalloc(n * 2 + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char pat[256];
		uint32_t k = (uint32_t)(i % 100);
		uint32_t a = (uint32_t)i;
		if (k < 40)
			snprintf(pat, sizeof(pat), "[ipv4-addr:value = '100.%u.%u.%u']", (a >> 16) & 255,
			         (a >> 8) & 255, a & 255);
		else if (k < 50)
			snprintf(pat, sizeof(pat), "[ipv4-addr:value ISSUBSET '101.%u.%u.0/24']",
			         (a >> 16) & 255, (a >> 8) & 255);
		else if (k < 60)
			snprintf(pat, sizeof(pat), "[ipv6-addr:value = '2001:db8:%x::%x']", (a >> 16) & 0xffff,
			         a & 0xffff);
		else if (k < 80)
			snprintf(pat, sizeof(pat), "[domain-name:value = 'bad%zu.example.net']", i);
		else if (k < 90)
			snprintf(pat, sizeof(pat), "[url:value = 'http://evil%zu.example.org/payload.bin']", i);
		else if (k < 99 || i >= 300000)
			snprintf(pat, sizeof(pat), "[file:hashes.'SHA-256' = '%064zx']", i);
		else
			snprintf(pat, sizeof(pat), "[url:value MATCHES '^http://[a-z]+%zu\\\\.example\\\\.org/']",
			         i);
		char id[64];
		snprintf(id, sizeof(id), "indicator--00000000-0000-4000-8000-%012zx", i);
		(*strs)[i * 2] = xstrdup(id);
		(*strs)[i * 2 + 1] = xstrdup(pat);
		ind[i].id = (*strs)[i * 2];
		ind[i].pattern = (*strs)[i * 2 + 1];
		ind[i].org_id = 1;
		ind[i].tlp = 3;
	}
	return ind;
}

struct sender {
	int port;
	const char *token;
	const char *data;
	size_t len;
};

static void *
send_all(void *arg)
{
	struct sender *s = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect", "the listener does not answer");
	char hello[256];
	int n = snprintf(hello, sizeof(hello), "{\"token\":\"%s\"}\n", s->token);
	if (write(fd, hello, (size_t)n) != n)
		die("handshake", "short write");
	char ok[64];
	if (read(fd, ok, sizeof(ok)) <= 0)
		die("handshake", "refused");
	size_t off = 0;
	while (off < s->len) {
		ssize_t w = write(fd, s->data + off, s->len - off);
		if (w <= 0)
			die("send", "write failed");
		off += (size_t)w;
	}
	close(fd);
	return NULL;
}

static uint64_t
sensor_events(struct ingest *in, struct auth_ctx *x)
{
	json_t *out = NULL;
	(void)ingest_svc_sensor_list(in, x, &out);
	json_t *s = json_array_get(json_object_get(out, "sensors"), 0);
	uint64_t n = (uint64_t)json_integer_value(json_object_get(s, "events"));
	json_decref(out);
	return n;
}

int
main(int argc, char **argv)
{
	size_t nevents = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000;
	size_t nind = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	bool detect = !(argc > 3 && strcmp(argv[3], "nodetect") == 0);
	int decoders = argc > 4 ? atoi(argv[4]) : 2;
	int detectors = argc > 5 ? atoi(argv[5]) : 2;

	char dir[] = "/tmp/ciip-bench-ingest-XXXXXX";
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "failed");
	static struct config cfg;
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
	cfg.detect_decoders = decoders;
	cfg.detect_threads = detectors;
	int port = free_port();
	snprintf(cfg.ingest_json_tcp, sizeof(cfg.ingest_json_tcp), "127.0.0.1:%d", port);
	if (!detect) {
		cfg.detect_ddos_bytes_per_s = cfg.detect_ddos_packets_per_s = 0;
		cfg.detect_ddos_flows_per_s = cfg.detect_brute_failures = 0;
		cfg.detect_scan_ports = cfg.detect_scan_hosts = cfg.detect_spam_messages = 0;
		cfg.detect_beacon_min_count = 0;
	}
	log_open(LOG_LVL_WARN, false, NULL);
	ops_schema_register_all();
	struct err e;
	err_clear(&e);
	struct store_opts so = {.data_dir = dir, .busy_timeout_ms = 10000, .readers = 4};
	struct store *st = store_open(&so, &e);
	if (st == NULL)
		die("store", e.msg);

	struct auth_caller local;
	auth_caller_local(&local, st);
	struct auth_ctx x = {.st = st, .cfg = &cfg, .caller = &local, .remote = "bench"};
	json_t *out = NULL;
	json_t *org = json_pack("{s:s,s:s,s:s}", "name", "Bench ISAC", "sector", "energy", "kind",
	                        "sector");
	if (auth_svc_org_create(&x, org, &out) != 201)
		die("org", "cannot create");
	json_decref(org);
	json_decref(out);
	auth_caller_local(&local, st);

	struct detect_matcher_live *live = NULL;
	char **strs = NULL;
	if (detect) {
		struct detect_indicator *ind = make_indicators(nind, &strs);
		struct detect_matcher_stats ms;
		int64_t t0 = time_mono_ns();
		struct detect_matcher *m = detect_matcher_build(ind, nind, time_now_ms(), &ms, &e);
		if (m == NULL)
			die("matcher", e.msg);
		printf("matcher: %zu indicators compiled in %.2f s (%zu active)\n", nind,
		       (double)(time_mono_ns() - t0) / 1e9, ms.active);
		live = detect_matcher_live_new(m);
		for (size_t i = 0; i < nind * 2; i++)
			free(strs[i]);
		free(strs);
		free(ind);
	}

	struct detect_alerts *alerts = detect_alerts_new(st, &cfg, NULL);
	struct detect_pipeline *p = detect_pipeline_new(&cfg, alerts, NULL);
	if (live)
		detect_pipeline_set_matcher(p, live);
	struct ingest *in = ingest_new(st, &cfg, detect_pipeline_input(p), &e);
	if (in == NULL)
		die("ingest", e.msg);
	json_t *sreq = json_pack("{s:s,s:s,s:s}", "name", "edge-1", "kind", "suricata", "org",
	                         "Bench ISAC");
	if (ingest_svc_sensor_create(in, &x, sreq, &out) != 201)
		die("sensor", "cannot create");
	json_decref(sreq);
	char token[128];
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(out, "token")));
	json_decref(out);
	if (detect_pipeline_start(p, in, &e) != 0 || ingest_start(in, &e) != 0)
		die("start", e.msg);

	/* The lines: the realistic mix, with one in a thousand from an address
	 * an indicator names. */
	struct buf lines = {0};
	struct buf one = {0};
	for (size_t i = 0; i < nevents; i++) {
		buf_reset(&one);
		gen_line(&one, (int)i);
		if (detect && nind && i % 1000 == 7) {
			char *sip = strstr(one.data, "\"src_ip\":\"10.");
			if (sip) {
				uint32_t a = (uint32_t)((i / 1000 * 100) % nind); /* an IPv4 indicator */
				char repl[64];
				snprintf(repl, sizeof(repl), "\"src_ip\":\"100.%u.%u.%u\"", (a >> 16) & 255,
				         (a >> 8) & 255, a & 255);
				char *end = strchr(sip + 10, '"');
				buf_append(&lines, one.data, (size_t)(sip - one.data));
				buf_puts(&lines, repl);
				buf_puts(&lines, end + 1);
				buf_puts(&lines, "\n");
				continue;
			}
		}
		buf_append(&lines, one.data, one.len);
		buf_puts(&lines, "\n");
	}
	buf_free(&one);
	printf("events: %zu lines, %.1f MB, detection %s\n", nevents, (double)lines.len / 1e6,
	       detect ? "on" : "off");

	/* Two sensor connections, as two sensors would send: one sender's
	 * kernel copies would otherwise be the limit being measured. */
	enum { NSEND = 2 };
	struct sender snd[NSEND];
	size_t cut = lines.len / 2;
	while (cut < lines.len && lines.data[cut - 1] != '\n')
		cut++;
	snd[0] = (struct sender){port, token, lines.data, cut};
	snd[1] = (struct sender){port, token, lines.data + cut, lines.len - cut};
	pthread_t th[NSEND];
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	int64_t t0 = time_mono_ns();
	for (int i = 0; i < NSEND; i++)
		pthread_create(&th[i], NULL, send_all, &snd[i]);
	while (sensor_events(in, &x) < nevents) {
		struct timespec ts = {0, 2 * 1000000};
		nanosleep(&ts, NULL);
	}
	detect_pipeline_drain(p);
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	for (int i = 0; i < NSEND; i++)
		pthread_join(th[i], NULL);
	getrusage(RUSAGE_SELF, &ru1);
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
	                      ru0.ru_stime.tv_sec) +
	             (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
	                      ru0.ru_stime.tv_usec) /
	                 1e6;

	struct store_conn *c = store_reader_get(st);
	int64_t nalerts = 0, count = 0;
	(void)store_query_int(c, "SELECT COUNT(*) FROM alerts", &nalerts, &e, NULL);
	(void)store_query_int(c, "SELECT COALESCE(SUM(count), 0) FROM alerts", &count, &e, NULL);
	store_reader_put(st, c);
	printf("end to end: %.0f events/s (%zu events in %.2f s), %lld alerts covering %lld "
	       "detections, peak RSS %.0f MB\n",
	       (double)nevents / secs, nevents, secs, (long long)nalerts, (long long)count,
	       (double)peak_rss_kb() / 1024.0);
	/* CPU seconds of the whole process (sender included): the figure that
	 * does not depend on what else the machine is doing. */
	printf("cpu: %.2f s for %zu events: %.0f events per CPU-second\n", cpu, nevents,
	       (double)nevents / cpu);

	ingest_stop(in);
	detect_pipeline_stop(p);
	detect_pipeline_free(p);
	ingest_free(in);
	detect_alerts_free(alerts);
	detect_matcher_live_free(live);
	store_close(st);
	buf_free(&lines);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_ingest: could not remove %s\n", dir);
	return 0;
}
