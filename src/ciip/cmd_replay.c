/* cmd_replay.c - `ciip replay FILE --sensor TOKEN --url URL [--rate N]`:
 * sends a log file to a node as the sensor whose token is given, in
 * batches, optionally at N lines per second. For demos and tests. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLAY_BATCH_LINES 1000
#define REPLAY_BATCH_BYTES (4 * 1024 * 1024)

static int
send_batch(struct cli *c, struct buf *b, long *sent_lines, int lines)
{
	struct cli_resp r;
	if (cli_http(c, "POST", "/api/v1/events", b->data, "application/x-ndjson", &r) != 0)
		return -1;
	int rc = 0;
	if (r.status != 202) {
		cli_print_error("replay", &r);
		rc = -1;
	} else {
		*sent_lines += lines;
	}
	cli_resp_free(&r);
	buf_reset(b);
	return rc;
}

int
cmd_replay(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"sensor", required_argument, NULL, 's'},
		{"url", required_argument, NULL, 'u'},
		{"rate", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	int64_t rate = 0;
	int ch;
	/* 0, not 1: GNU getopt must start afresh to move FILE after the options. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's')
			c->token = optarg;
		else if (ch == 'u')
			c->url = optarg;
		else if (ch == 'r' && parse_int64(optarg, 1, 100000000, &rate) == 0)
			;
		else {
			fprintf(stderr, "usage: ciip replay FILE --sensor TOKEN [--url URL] [--rate N]\n");
			return 2;
		}
	}
	if (optind >= argc || c->token == NULL) {
		fprintf(stderr, "usage: ciip replay FILE --sensor TOKEN [--url URL] [--rate N]\n");
		return 2;
	}
	const char *path = argv[optind];
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (fp == NULL) {
		perror(path);
		return 1;
	}
	struct buf b = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long sent = 0;
	int in_batch = 0, rc = 0;
	int64_t start = time_mono_ns();
	/* With a rate, batches are smaller so the pace is smooth. */
	int batch_lines = rate && rate < REPLAY_BATCH_LINES * 10 ? (int)(rate / 10 + 1)
	                                                          : REPLAY_BATCH_LINES;
	while ((n = getline(&line, &cap, fp)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		buf_append(&b, line, (size_t)n);
		buf_append(&b, "\n", 1);
		in_batch++;
		if (in_batch >= batch_lines || b.len >= REPLAY_BATCH_BYTES) {
			if (send_batch(c, &b, &sent, in_batch) != 0) {
				rc = 1;
				break;
			}
			in_batch = 0;
			if (rate) {
				/* Sleep until the lines sent so far are due. */
				int64_t due = start + (int64_t)((double)sent / (double)rate * 1e9);
				int64_t now = time_mono_ns();
				if (due > now) {
					struct timespec ts = {(time_t)((due - now) / 1000000000),
					                      (long)((due - now) % 1000000000)};
					nanosleep(&ts, NULL);
				}
			}
		}
	}
	if (rc == 0 && in_batch > 0 && send_batch(c, &b, &sent, in_batch) != 0)
		rc = 1;
	free(line);
	buf_free(&b);
	if (fp != stdin)
		fclose(fp);
	double secs = (double)(time_mono_ns() - start) / 1e9;
	fprintf(stderr, "ciip: replayed %ld lines in %.2f s (%.0f lines/s)\n", sent, secs,
	        secs > 0 ? (double)sent / secs : 0);
	return rc;
}
