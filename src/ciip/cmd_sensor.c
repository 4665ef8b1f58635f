/* cmd_sensor.c - `ciip sensor`: register sensors and watch their counters.
 * A new sensor's token is printed once. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
usage(void)
{
	fprintf(stderr, "usage: ciip sensor list\n"
	                "       ciip sensor add --org ORG --kind KIND --name NAME [--mapping JSON]\n"
	                "KIND is suricata, cowrie, dns, syslog, spamtrap or generic (which needs\n"
	                "--mapping '{\"source.ip\": \"path.in.record\", ...}').\n");
}

int
cmd_sensor(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return cli_call(c, "GET", "/api/v1/sensors", NULL, NULL, NULL, NULL);
	if (argc < 2 || strcmp(argv[1], "add") != 0) {
		usage();
		return 2;
	}
	static const struct option opts[] = {
		{"org", required_argument, NULL, 'o'},  {"kind", required_argument, NULL, 'k'},
		{"name", required_argument, NULL, 'n'}, {"mapping", required_argument, NULL, 'm'},
		{NULL, 0, NULL, 0},
	};
	json_t *in = json_object();
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		json_t *m;
		switch (ch) {
		case 'o':
			json_object_set_new(in, "org", json_string(optarg));
			break;
		case 'k':
			json_object_set_new(in, "kind", json_string(optarg));
			break;
		case 'n':
			json_object_set_new(in, "name", json_string(optarg));
			break;
		case 'm':
			m = json_loads(optarg, 0, NULL);
			if (m == NULL) {
				fprintf(stderr, "ciip: --mapping is not JSON\n");
				json_decref(in);
				return 2;
			}
			json_object_set_new(in, "mapping", m);
			break;
		default:
			json_decref(in);
			usage();
			return 2;
		}
	}
	int rc = cli_call(c, "POST", "/api/v1/sensors", NULL, in, NULL, NULL);
	json_decref(in);
	return rc;
}
