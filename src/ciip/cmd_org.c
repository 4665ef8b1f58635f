/* cmd_org.c - `ciip org`: the organisations of the node. */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

static int
l_list(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_org_list(x, out);
}

static int
l_get(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_org_get(x, id, out);
}

static int
l_create(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_org_create(x, in, out);
}

static int
l_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_org_update(x, id, in, out);
}

static int
l_delete(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_org_delete(x, id, out);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: ciip org list\n"
	        "       ciip org show ORG\n"
	        "       ciip org add --name NAME --sector SECTOR --kind national|sector|operator|isp\n"
	        "                    [--parent ORG-ID] [--prefix CIDR]... [--email ADDR] "
	        "[--outside-community]\n"
	        "       ciip org update ORG [--name ...] [--sector ...] [--kind ...] [--parent ID]\n"
	        "                    [--prefix CIDR]... [--email ADDR]\n"
	        "       ciip org delete ORG\n"
	        "ORG is an id or a name.\n");
}

/* Reads the options of add and update into a JSON object. */
static json_t *
read_fields(int argc, char **argv, int first)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},   {"sector", required_argument, NULL, 's'},
		{"kind", required_argument, NULL, 'k'},   {"parent", required_argument, NULL, 'p'},
		{"prefix", required_argument, NULL, 'x'}, {"email", required_argument, NULL, 'e'},
		{"outside-community", no_argument, NULL, 'o'},
		{"in-community", no_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	json_t *in = json_object();
	json_t *prefixes = NULL;
	int ch;
	optind = first;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int64_t pid;
		switch (ch) {
		case 'n':
			json_object_set_new(in, "name", json_string(optarg));
			break;
		case 's':
			json_object_set_new(in, "sector", json_string(optarg));
			break;
		case 'k':
			json_object_set_new(in, "kind", json_string(optarg));
			break;
		case 'p':
			if (parse_int64(optarg, 1, INT64_MAX, &pid) != 0) {
				fprintf(stderr, "ciip: --parent takes an organisation id\n");
				json_decref(in);
				json_decref(prefixes);
				return NULL;
			}
			json_object_set_new(in, "parent_id", json_integer(pid));
			break;
		case 'x':
			if (prefixes == NULL)
				prefixes = json_array();
			json_array_append_new(prefixes, json_string(optarg));
			break;
		case 'e':
			json_object_set_new(in, "contact_email", json_string(optarg));
			break;
		case 'o':
			json_object_set_new(in, "community", json_false());
			break;
		case 'i':
			json_object_set_new(in, "community", json_true());
			break;
		default:
			json_decref(in);
			json_decref(prefixes);
			return NULL;
		}
	}
	if (prefixes)
		json_object_set_new(in, "prefixes", prefixes);
	return in;
}

int
cmd_org(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return cli_call(c, "GET", "/api/v1/orgs", NULL, NULL, l_list, NULL);
	if (strcmp(sub, "add") == 0) {
		json_t *in = read_fields(argc, argv, 2);
		if (in == NULL) {
			usage();
			return 2;
		}
		int rc = cli_call(c, "POST", "/api/v1/orgs", NULL, in, l_create, NULL);
		json_decref(in);
		return rc;
	}
	if (argc < 3) {
		usage();
		return 2;
	}
	const char *id = argv[2];
	char *esc = cli_escape(id);
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/orgs/%s", esc);
	free(esc);
	int rc = 2;
	if (strcmp(sub, "show") == 0) {
		rc = cli_call(c, "GET", path, id, NULL, l_get, NULL);
	} else if (strcmp(sub, "delete") == 0) {
		rc = cli_call(c, "DELETE", path, id, NULL, l_delete, NULL);
	} else if (strcmp(sub, "update") == 0) {
		json_t *in = read_fields(argc, argv, 3);
		if (in == NULL) {
			usage();
			return 2;
		}
		rc = cli_call(c, "PATCH", path, id, in, l_update, NULL);
		json_decref(in);
	} else {
		usage();
	}
	return rc;
}
