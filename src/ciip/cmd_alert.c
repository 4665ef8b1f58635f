/* cmd_alert.c - `ciip alert`: the SOC's alerts from the command line: list
 * and filter them, read one, and acknowledge, close as a false positive,
 * escalate to an incident or close. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(void)
{
	fprintf(stderr,
	        "usage: ciip alert list [--state S] [--rule R] [--severity N] [--source IP] [--limit N]\n"
	        "       ciip alert show ID\n"
	        "       ciip alert acknowledge|false_positive|escalate|close ID [--reason TEXT]\n");
}

int
cmd_alert(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		static const struct option opts[] = {
			{"state", required_argument, NULL, 's'},    {"rule", required_argument, NULL, 'r'},
			{"severity", required_argument, NULL, 'v'}, {"source", required_argument, NULL, 'i'},
			{"limit", required_argument, NULL, 'l'},    {NULL, 0, NULL, 0},
		};
		static const char *names[] = {['s'] = "state", ['r'] = "rule", ['v'] = "severity",
		                              ['i'] = "source", ['l'] = "limit"};
		struct buf path = {0};
		buf_puts(&path, "/api/v1/alerts");
		char sep = '?';
		int ch;
		optind = 2;
		while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
			if (ch == '?' || ch < 0 || (size_t)ch >= CIIP_ARRAY_LEN(names) || !names[ch]) {
				buf_free(&path);
				usage();
				return 2;
			}
			char *v = cli_escape(optarg);
			buf_printf(&path, "%c%s=%s", sep, names[ch], v);
			free(v);
			sep = '&';
		}
		int rc = cli_call(c, "GET", path.data, NULL, NULL, NULL, NULL);
		buf_free(&path);
		return rc;
	}
	if (argc < 3) {
		usage();
		return 2;
	}
	int64_t id;
	if (parse_int64(argv[2], 1, INT64_MAX, &id) != 0) {
		fprintf(stderr, "ciip: '%s' is not an alert id\n", argv[2]);
		return 2;
	}
	char path[128];
	if (strcmp(argv[1], "show") == 0) {
		snprintf(path, sizeof(path), "/api/v1/alerts/%lld", (long long)id);
		return cli_call(c, "GET", path, NULL, NULL, NULL, NULL);
	}
	static const char *moves[] = {"acknowledge", "false_positive", "escalate", "close"};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(moves); i++) {
		if (strcmp(argv[1], moves[i]) != 0)
			continue;
		json_t *in = json_object();
		if (argc >= 5 && strcmp(argv[3], "--reason") == 0)
			json_object_set_new(in, "reason", json_string(argv[4]));
		snprintf(path, sizeof(path), "/api/v1/alerts/%lld/%s", (long long)id, moves[i]);
		int rc = cli_call(c, "POST", path, NULL, in, NULL, NULL);
		json_decref(in);
		return rc;
	}
	usage();
	return 2;
}
