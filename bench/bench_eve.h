/*
 * bench_eve.h - a generator of realistic Suricata EVE lines for the
 * benchmarks (bench_decode, bench_ingest): the mix, proportions and shapes
 * are described in bench_decode.c. Header-only: benchmarks are single-file
 * programs.
 */
#ifndef CIIP_BENCH_EVE_H
#define CIIP_BENCH_EVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

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
	/* one literal: clang warns on concatenation inside an array initialiser */
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
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


#endif
