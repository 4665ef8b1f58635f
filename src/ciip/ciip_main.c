/* ciip_main.c - the client's global options and command dispatch. */
#include "ciip/ciip.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *help;
} commands[] = {
	{"version", cmd_version, "print the client's version (and the node's, with --url)"},
	{"health", cmd_health, "check a node's /healthz"},
	{"org", cmd_org, "organisations: list, show, add, update, delete"},
	{"user", cmd_user, "people: list, show, add, update, delete"},
	{"token", cmd_token, "API tokens: list, add, revoke"},
	{"audit", cmd_audit, "the audit log: list, verify"},
	{"sensor", cmd_sensor, "sensors: list, add (prints the sensor's token once)"},
	{"replay", cmd_replay, "send a log file to a node as a sensor"},
	{"alert", cmd_alert, "SOC alerts: list, show, acknowledge, false_positive, escalate, close"},
	{"incident", cmd_incident, "incident reports: list, show, create, submit, review, close, ..."},
	{"advisory", cmd_advisory, "advisories: list, inbox, create, submit, publish, reply, ..."},
	{"intel", cmd_intel, "threat intel: import a bundle, export a collection, collections"},
	{"pattern", cmd_pattern, "STIX patterns: check one, match one against observed-data"},
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ciip [--url URL] [--token TOKEN] [--data DIR] COMMAND [ARGS]\n\n"
	            "Global options:\n"
	            "  --url URL       the node (default $CIIP_URL or http://127.0.0.1:8443)\n"
	            "  --token TOKEN   API token (default $CIIP_TOKEN)\n"
	            "  --data DIR      work on a stopped node's data directory\n"
	            "  --cacert FILE   trust this CA for https\n"
	            "  --insecure      do not verify the node's certificate\n\n"
	            "Commands:\n");
	for (size_t i = 0; i < CIIP_ARRAY_LEN(commands); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int
main(int argc, char **argv)
{
	struct cli c = {
		.url = getenv("CIIP_URL") ? getenv("CIIP_URL") : "http://127.0.0.1:8443",
		.token = getenv("CIIP_TOKEN"),
		.timeout_s = 30,
	};
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},   {"token", required_argument, NULL, 't'},
		{"data", required_argument, NULL, 'd'},  {"cacert", required_argument, NULL, 'c'},
		{"insecure", no_argument, NULL, 'k'},    {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	/* "+" stops at the first non-option: the rest belongs to the command. */
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			c.url = optarg;
			break;
		case 't':
			c.token = optarg;
			break;
		case 'd':
			c.data = optarg;
			break;
		case 'c':
			c.cacert = optarg;
			break;
		case 'k':
			c.insecure = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < CIIP_ARRAY_LEN(commands); i++) {
		if (strcmp(name, commands[i].name) != 0)
			continue;
		curl_global_init(CURL_GLOBAL_DEFAULT);
		/* The command sees its own name as argv[0]. */
		int rc = commands[i].fn(&c, argc - optind, argv + optind);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "ciip: unknown command '%s'\n\n", name);
	usage(stderr);
	return 2;
}
