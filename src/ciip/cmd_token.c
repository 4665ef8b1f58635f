/* cmd_token.c - `ciip token`: API tokens for sensors, peer nodes and
 * scripts. A new token is printed once and never again. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

static int
l_list(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_token_list(x, out);
}

static int
l_create(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_token_create(x, in, out);
}

static int
l_revoke(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_token_revoke(x, id, out);
}

static void
usage(void)
{
	fprintf(stderr, "usage: ciip token list\n"
	                "       ciip token add --org ORG --role ROLE --name NAME [--scope LIST]\n"
	                "                      [--days N (0: never expires; default 365)]\n"
	                "       ciip token revoke ID\n"
	                "ROLE is sensor, peer, or a person's role for scripts. SCOPE is * or a\n"
	                "comma-separated list of actions such as taxii.read,intel.*\n");
}

int
cmd_token(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return cli_call(c, "GET", "/api/v1/tokens", NULL, NULL, l_list, NULL);
	if (strcmp(sub, "revoke") == 0 && argc == 3) {
		char path[128];
		char *esc = cli_escape(argv[2]);
		snprintf(path, sizeof(path), "/api/v1/tokens/%s", esc);
		free(esc);
		return cli_call(c, "DELETE", path, argv[2], NULL, l_revoke, NULL);
	}
	if (strcmp(sub, "add") != 0) {
		usage();
		return 2;
	}
	static const struct option opts[] = {
		{"org", required_argument, NULL, 'o'},   {"role", required_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'},  {"scope", required_argument, NULL, 's'},
		{"days", required_argument, NULL, 'd'},  {NULL, 0, NULL, 0},
	};
	json_t *in = json_object();
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t days;
		switch (ch) {
		case 'o':
			json_object_set_new(in, "org", json_string(optarg));
			break;
		case 'r':
			json_object_set_new(in, "role", json_string(optarg));
			break;
		case 'n':
			json_object_set_new(in, "name", json_string(optarg));
			break;
		case 's':
			json_object_set_new(in, "scope", json_string(optarg));
			break;
		case 'd':
			if (parse_int64(optarg, 0, 3650, &days) != 0) {
				fprintf(stderr, "ciip: --days takes 0 to 3650\n");
				json_decref(in);
				return 2;
			}
			json_object_set_new(in, "expires_in_days", json_integer(days));
			break;
		default:
			json_decref(in);
			usage();
			return 2;
		}
	}
	int rc = cli_call(c, "POST", "/api/v1/tokens", NULL, in, l_create, NULL);
	json_decref(in);
	return rc;
}
