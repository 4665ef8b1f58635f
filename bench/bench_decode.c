/*
 * bench_decode.c - decode-only throughput of Suricata EVE lines on one core:
 * the purpose-built scanner (ingest_decode) against jansson (json_loadb plus
 * the same field look-ups) on the same lines, generated in memory.
 *
 * The mix follows what an operator's Internet-edge sensor writes with the
 * default eve-log types: every connection ends in a flow record (35%); DNS
 * is the most numerous application record, queries and answers each logged
 * (30%); TLS (15%) and plain HTTP (15%) records one per transaction; alerts
 * are a small share of lines (5%) but the longest, with rule metadata, flow
 * counters and the app-layer record. About 2% of strings carry escapes
 * ("\/" from older Suricata, quotes in user agents), 10% of DNS records use
 * the v3 layout of Suricata 8.
 *
 *   build/bench/bench_decode [lines] [seconds] [scanner|jansson]
 *
 * Prints one line per decoder: lines/s, MB/s and ns/line.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "ingest/ingest.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const hosts[] = {
	"www.example.com", "login.microsoftonline.com", "update.vendor-cdn.net",
	"api.weather.example.org", "static.news-site.example", "c.gov.example.tw",
	"telemetry.app.example.io", "mail.operator.example.net",
};
static const char *const uas[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/120.0.0.0 Safari/537.36",
	"curl/7.88.1", "Microsoft-CryptoAPI/10.0",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"python-requests/2.31.0",
};
static const char *const sigs[][3] = {
	{"2024468", "ET WEB_SPECIFIC_APPS OGNL Expression Injection (CVE-2017-9791)",
	 "Attempted User Privilege Gain"},
	{"2034125", "ET EXPLOIT Apache HTTP Server 2.4.49 - Path Traversal Attempt (CVE-2021-41773) M2",
	 "Attempted Administrator Privilege Gain"},
	{"2001219", "ET SCAN Potential SSH Scan", "Attempted Information Leak"},
	{"2402000", "ET DROP Dshield Block Listed Source group 1", "Misc Attack"},
};

static void
ts(struct buf *b, int i)
{
	buf_printf(b, "\"timestamp\":\"2026-11-25T%02d:%02d:%02d.%06d+0000\"", (i / 3600) % 24,
	           (i / 60) % 60, i % 60, (int)rnd(1000000));
}

static void
common(struct buf *b, int i, const char *type, int dport, const char *proto)
{
	buf_puts(b, "{");
	ts(b, i);
	buf_printf(b,
	           ",\"flow_id\":%llu,\"in_iface\":\"eth0\",\"event_type\":\"%s\","
	           "\"src_ip\":\"10.%u.%u.%u\",\"src_port\":%u,\"dest_ip\":\"%u.%u.%u.%u\","
	           "\"dest_port\":%d,\"proto\":\"%s\",\"host\":\"sensor-edge-1\"",
	           (unsigned long long)(1000000000000000ULL + rnd(1000000000)), type, rnd(256),
	           rnd(256), rnd(254) + 1, 1024 + rnd(64000), 1 + rnd(223), rnd(256), rnd(256),
	           1 + rnd(254), dport, proto);
	buf_printf(b, ",\"community_id\":\"1:%08x%08xAbCdEfGh=\"", rnd(0x7fffffff), rnd(0x7fffffff));
}

static void
flow_obj(struct buf *b, bool full)
{
	buf_printf(b,
	           "\"flow\":{\"pkts_toserver\":%u,\"pkts_toclient\":%u,\"bytes_toserver\":%u,"
	           "\"bytes_toclient\":%u,\"start\":\"2026-11-25T09:59:58.001234+0000\"",
	           1 + rnd(100), rnd(100), 60 + rnd(100000), rnd(1000000));
	if (full)
		buf_puts(b, ",\"end\":\"2026-11-25T10:00:00.100000+0000\",\"age\":2,\"state\":\"closed\","
		            "\"reason\":\"timeout\",\"alerted\":false");
	buf_puts(b, "}");
}

static void
http_obj(struct buf *b)
{
	bool esc = rnd(50) == 0;
	buf_printf(b,
	           "\"http\":{\"hostname\":\"%s\",\"url\":\"%s\",\"http_user_agent\":\"%s\","
	           "\"http_content_type\":\"text/html\",\"http_refer\":\"http://%s/\","
	           "\"http_method\":\"%s\",\"protocol\":\"HTTP/1.1\",\"status\":%d,\"length\":%u}",
	           hosts[rnd(CIIP_ARRAY_LEN(hosts))],
	           esc ? "\\/index.php?id=1&q=\\\"x\\\"" : "/index.php?id=123&q=abc",
	           uas[rnd(CIIP_ARRAY_LEN(uas))], hosts[rnd(CIIP_ARRAY_LEN(hosts))],
	           rnd(4) == 0 ? "POST" : "GET", rnd(5) == 0 ? 404 : 200, rnd(100000));
}

static void
gen_line(struct buf *b, int i)
{
	uint32_t r = rnd(100);
	if (r < 35) {
		common(b, i, "flow", 443, "TCP");
		buf_puts(b, ",\"app_proto\":\"tls\",");
		flow_obj(b, true);
		buf_puts(b, ",\"tcp\":{\"tcp_flags\":\"1b\",\"tcp_flags_ts\":\"1b\",\"tcp_flags_tc\":\"1b\","
		            "\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true,\"state\":\"closed\"}}");
	} else if (r < 65) {
		const char *h = hosts[rnd(CIIP_ARRAY_LEN(hosts))];
		common(b, i, "dns", 53, "UDP");
		uint32_t k = rnd(10);
		if (k == 0)
			buf_printf(b, ",\"dns\":{\"version\":3,\"type\":\"request\",\"tx_id\":0,\"id\":%u,"
			              "\"flags\":\"0100\",\"rd\":true,\"opcode\":0,\"rcode\":\"NOERROR\","
			              "\"queries\":[{\"rrname\":\"%s\",\"rrtype\":\"A\"}]}}",
			           rnd(65536), h);
		else if (k < 6)
			buf_printf(b, ",\"dns\":{\"type\":\"query\",\"id\":%u,\"rrname\":\"%s\","
			              "\"rrtype\":\"%s\",\"tx_id\":0,\"opcode\":0}}",
			           rnd(65536), h, rnd(3) == 0 ? "AAAA" : "A");
		else
			buf_printf(b, ",\"dns\":{\"version\":2,\"type\":\"answer\",\"id\":%u,\"flags\":\"8180\","
			              "\"qr\":true,\"rd\":true,\"ra\":true,\"opcode\":0,\"rrname\":\"%s\","
			              "\"rrtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[{\"rrname\":\"%s\","
			              "\"rrtype\":\"CNAME\",\"ttl\":300,\"rdata\":\"edge.example.net\"},"
			              "{\"rrname\":\"edge.example.net\",\"rrtype\":\"A\",\"ttl\":20,"
			              "\"rdata\":\"23.%u.%u.%u\"}],\"grouped\":{\"A\":[\"23.1.2.3\"],"
			              "\"CNAME\":[\"edge.example.net\"]}}}",
			           rnd(65536), h, h, rnd(256), rnd(256), rnd(256));
	} else if (r < 80) {
		common(b, i, "tls", 443, "TCP");
		const char *h = hosts[rnd(CIIP_ARRAY_LEN(hosts))];
		buf_printf(b, ",\"tls\":{\"subject\":\"CN=%s\",\"issuerdn\":\"C=US, O=Let's Encrypt, CN=R3\","
		              "\"serial\":\"04:1A:%02X:9C:77:0B:2E:51:AB:90:11:3C:DE:45:6F:88:12\","
		              "\"fingerprint\":\"a1:b2:c3:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f:90:a1:b2:c3:d4\","
		              "\"sni\":\"%s\",\"version\":\"TLS 1.3\",\"notbefore\":\"2026-09-01T00:00:00\","
		              "\"notafter\":\"2026-11-30T00:00:00\",\"ja3\":{\"hash\":\"cd08e31494f9531f560d64c695473da9\","
		              "\"string\":\"771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
		              "0-23-65281-10-11-35-16-5-13-18-51-45-43-27-17513-21,29-23-24,0\"},"
		              "\"ja3s\":{\"hash\":\"eb1d94daa7e0344597e756a1fb6e7054\",\"string\":\"771,4865,51-43\"}}}",
		           h, rnd(256), h);
	} else if (r < 95) {
		common(b, i, "http", 80, "TCP");
		buf_puts(b, ",\"tx_id\":0,");
		http_obj(b);
		buf_puts(b, "}");
	} else {
		int s = (int)rnd(CIIP_ARRAY_LEN(sigs));
		common(b, i, "alert", 80, "TCP");
		buf_printf(b, ",\"tx_id\":0,\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":%s,"
		              "\"rev\":3,\"signature\":\"%s\",\"category\":\"%s\",\"severity\":%u,"
		              "\"metadata\":{\"affected_product\":[\"Apache_Struts2\"],\"attack_target\":[\"Web_Server\"],"
		              "\"created_at\":[\"2017_07_14\"],\"deployment\":[\"Datacenter\"],"
		              "\"former_category\":[\"WEB_SPECIFIC_APPS\"],\"performance_impact\":[\"Low\"],"
		              "\"signature_severity\":[\"Major\"],\"updated_at\":[\"2020_08_10\"]}},",
		           sigs[s][0], sigs[s][1], sigs[s][2], 1 + rnd(3));
		http_obj(b);
		buf_puts(b, ",\"app_proto\":\"http\",\"direction\":\"to_server\",");
		flow_obj(b, false);
		buf_puts(b, "}");
	}
}

/* jansson: parse the line and read the same fields as the EVE decoder. */
static const char *const jpaths[][3] = {
	{"timestamp"}, {"flow_id"}, {"event_type"}, {"src_ip"}, {"src_port"}, {"dest_ip"},
	{"dest_port"}, {"proto"}, {"app_proto"}, {"host"},
	{"alert", "signature"}, {"alert", "signature_id"}, {"alert", "severity"}, {"alert", "action"},
	{"dns", "rrname"}, {"dns", "rrtype"}, {"http", "hostname"}, {"http", "url"},
	{"http", "http_method"}, {"http", "status"}, {"http", "http_user_agent"}, {"tls", "sni"},
	{"tls", "ja3", "hash"}, {"flow", "pkts_toserver"}, {"flow", "pkts_toclient"},
	{"flow", "bytes_toserver"}, {"flow", "bytes_toclient"},
};

static int64_t
jansson_decode(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, 0, &jerr);
	int64_t sum = 0;
	if (root == NULL)
		return -1;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(jpaths); i++) {
		json_t *v = root;
		for (int k = 0; k < 3 && jpaths[i][k] != NULL && v != NULL; k++)
			v = json_object_get(v, jpaths[i][k]);
		if (json_is_integer(v))
			sum += json_integer_value(v) & 0xff;
		else if (json_is_string(v))
			sum += (int64_t)json_string_length(v);
	}
	json_decref(root);
	return sum;
}

int
main(int argc, char **argv)
{
	int nlines = argc > 1 ? atoi(argv[1]) : 200000;
	double seconds = argc > 2 ? atof(argv[2]) : 3.0;
	const char *only = argc > 3 ? argv[3] : ""; /* "scanner" or "jansson" */
	struct buf text = {0};
	size_t *off = xcalloc((size_t)nlines + 1, sizeof(*off));
	for (int i = 0; i < nlines; i++) {
		off[i] = text.len;
		gen_line(&text, i);
	}
	off[nlines] = text.len;
	double avg = (double)text.len / nlines;

	/* Every generated line must decode, else the figures mean nothing. */
	struct ingest_event *ev = xmalloc(sizeof(*ev));
	struct ingest_decode_err de;
	int kinds[INGEST_EV_KIND_COUNT] = {0};
	for (int i = 0; i < nlines; i++) {
		if (ingest_decode(INGEST_FMT_EVE, text.data + off[i], off[i + 1] - off[i], NULL, ev,
		                  &de) != 0) {
			fprintf(stderr, "line %d does not decode: %s at %zu\n%.*s\n", i, de.reason,
			        de.offset, (int)(off[i + 1] - off[i]), text.data + off[i]);
			return 1;
		}
		kinds[ev->kind]++;
		if (jansson_decode(text.data + off[i], off[i + 1] - off[i]) < 0) {
			fprintf(stderr, "jansson refuses line %d\n", i);
			return 1;
		}
	}
	printf("lines %d, average %.0f bytes; mix:", nlines, avg);
	for (int k = 0; k < INGEST_EV_KIND_COUNT; k++)
		if (kinds[k] > 0)
			printf(" %s %.1f%%", ingest_kind_name((enum ingest_kind)k), 100.0 * kinds[k] / nlines);
	printf("\n");

	for (int which = 0; which < 2; which++) {
		if ((which == 0 && strcmp(only, "jansson") == 0) ||
		    (which == 1 && strcmp(only, "scanner") == 0))
			continue;
		struct timespec c0, c1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		int64_t t0 = time_mono_ns(), t1;
		long long done = 0;
		int64_t sink = 0;
		do {
			for (int i = 0; i < nlines; i++) {
				const char *l = text.data + off[i];
				size_t n = off[i + 1] - off[i];
				if (which == 0) {
					(void)ingest_decode(INGEST_FMT_EVE, l, n, NULL, ev, &de);
					sink += ev->src_port;
				} else {
					sink += jansson_decode(l, n);
				}
			}
			done += nlines;
			t1 = time_mono_ns();
		} while ((double)(t1 - t0) < seconds * 1e9);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		double secs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
		double wall = (double)(t1 - t0) / 1e9;
		/* CPU time of this thread: the capacity of one core, whatever else
		 * shares the machine; wall clock alongside for an idle machine. */
		printf("%-8s %10.0f lines/s %7.1f MB/s %7.1f ns/line (cpu %.2fs, wall %.2fs: %.0f "
		       "lines/s; sink %lld)\n",
		       which == 0 ? "scanner" : "jansson", done / secs, done * avg / secs / 1e6,
		       secs * 1e9 / done, secs, wall, done / wall, (long long)sink);
	}
	free(ev);
	free(off);
	buf_free(&text);
	return 0;
}
