/* cmd_user.c - `ciip user`: people and their roles. With --data DIR it
 * works on a stopped node, which is how the first admin is made:
 *   ciip --data DIR user add --org ORG --role admin --name NAME --password-stdin */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

static int
l_list(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_user_list(x, out);
}

static int
l_get(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_user_get(x, id, out);
}

static int
l_create(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_user_create(x, in, out);
}

static int
l_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_user_update(x, id, in, out);
}

static int
l_delete(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return auth_svc_user_delete(x, id, out);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: ciip user list\n"
	        "       ciip user show USER\n"
	        "       ciip user add --org ORG --role ROLE --name USERNAME --password-stdin\n"
	        "                     [--display NAME] [--email ADDR] [--totp]\n"
	        "       ciip user update USER [--role ROLE] [--org ORG] [--disable|--enable]\n"
	        "                     [--password-stdin] [--reset-totp]\n"
	        "       ciip user delete USER\n"
	        "ROLE is admin, analyst, reviewer, reporter or viewer. The password is read\n"
	        "from standard input so that it never appears in a process list.\n");
}

static json_t *
read_fields(int argc, char **argv, int first)
{
	static const struct option opts[] = {
		{"org", required_argument, NULL, 'o'},     {"role", required_argument, NULL, 'r'},
		{"name", required_argument, NULL, 'n'},    {"display", required_argument, NULL, 'd'},
		{"email", required_argument, NULL, 'e'},   {"password-stdin", no_argument, NULL, 'p'},
		{"totp", no_argument, NULL, 't'},          {"disable", no_argument, NULL, 'D'},
		{"enable", no_argument, NULL, 'E'},        {"reset-totp", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	json_t *in = json_object();
	int ch;
	optind = first;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *pw;
		switch (ch) {
		case 'o':
			json_object_set_new(in, "org", json_string(optarg));
			break;
		case 'r':
			json_object_set_new(in, "role", json_string(optarg));
			break;
		case 'n':
			json_object_set_new(in, "username", json_string(optarg));
			break;
		case 'd':
			json_object_set_new(in, "display_name", json_string(optarg));
			break;
		case 'e':
			json_object_set_new(in, "email", json_string(optarg));
			break;
		case 'p':
			pw = cli_read_stdin(4096);
			if (pw == NULL) {
				fprintf(stderr, "ciip: --password-stdin: no password on standard input\n");
				json_decref(in);
				return NULL;
			}
			json_object_set_new(in, "password", json_string(pw));
			memset(pw, 0, strlen(pw));
			free(pw);
			break;
		case 't':
			json_object_set_new(in, "totp", json_true());
			break;
		case 'D':
			json_object_set_new(in, "disabled", json_true());
			break;
		case 'E':
			json_object_set_new(in, "disabled", json_false());
			break;
		case 'R':
			json_object_set_new(in, "reset_totp", json_true());
			break;
		default:
			json_decref(in);
			return NULL;
		}
	}
	return in;
}

int
cmd_user(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return cli_call(c, "GET", "/api/v1/users", NULL, NULL, l_list, NULL);
	if (strcmp(sub, "add") == 0) {
		json_t *in = read_fields(argc, argv, 2);
		if (in == NULL) {
			usage();
			return 2;
		}
		int rc = cli_call(c, "POST", "/api/v1/users", NULL, in, l_create, NULL);
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
	snprintf(path, sizeof(path), "/api/v1/users/%s", esc);
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
