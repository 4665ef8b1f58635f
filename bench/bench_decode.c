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

#include "bench_eve.h"
#include "core/core.h"
#include "ingest/ingest.h"

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
