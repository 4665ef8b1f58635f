/*
 * cmd_advisory.c - `ciip advisory`: draft, review, publish, correct and
 * withdraw advisories (警訊); members read their queue and reply. Every
 * command is one API call, or with --data the same service on a stopped
 * node's files.
 */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "advisory/advisory.h"
#include "auth/auth.h"

#define MAX_INPUT_BYTES (16 * 1024 * 1024)

static const char *current_move;

static int
l_list(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_list(x, in, out);
}
static int
l_inbox(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_inbox(x, in, out);
}
static int
l_get(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_get(x, id, out);
}
static int
l_versions(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_versions(x, id, out);
}
static int
l_replies(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_replies(x, id, out);
}
static int
l_stix(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_stix(x, id, out);
}
static int
l_delete(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_delete(x, id, out);
}
static int
l_create(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_create(x, in, out);
}
static int
l_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_update(x, id, in, out);
}
static int
l_correct(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_correct(x, id, in, out);
}
static int
l_move(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_move(x, id, current_move, in, out);
}
static int
l_reply(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return advisory_svc_reply(x, id, in, out);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: ciip advisory list [--state S] [--severity S] [--intel-type T] [--q TEXT]\n"
	        "                          [--all-versions] [--limit N] [--offset N]\n"
	        "       ciip advisory inbox [--org ORG] [--unanswered]\n"
	        "       ciip advisory show|versions|replies|stix|delete ID\n"
	        "       ciip advisory create --file ADVISORY.json|-\n"
	        "       ciip advisory update ID --file FIELDS.json|-\n"
	        "       ciip advisory submit|publish ID\n"
	        "       ciip advisory reject|withdraw ID --reason TEXT\n"
	        "       ciip advisory correct ID --note TEXT [--file FIELDS.json|-]\n"
	        "       ciip advisory reply ID --status received|affected|not_affected\n"
	        "                          [--mitigated] [--measures TEXT] [--measures-at TIME]\n"
	        "                          [--note TEXT] [--org ORG]\n"
	        "The advisory format is in docs/CERT.md.\n");
}

static json_t *
read_json(const char *path)
{
	char *text = NULL;
	if (strcmp(path, "-") == 0) {
		text = cli_read_stdin(MAX_INPUT_BYTES);
	} else {
		FILE *fp = fopen(path, "rb");
		if (fp) {
			struct buf b = {0};
			char chunk[4096];
			size_t n;
			while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len <= MAX_INPUT_BYTES)
				buf_append(&b, chunk, n);
			fclose(fp);
			text = b.len <= MAX_INPUT_BYTES ? buf_steal(&b) : NULL;
			buf_free(&b);
		}
	}
	if (text == NULL) {
		fprintf(stderr, "ciip: cannot read %s (or it is empty or too large)\n", path);
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (j == NULL)
		fprintf(stderr, "ciip: %s: line %d, column %d: %s\n", path, je.line, je.column, je.text);
	return j;
}

struct opts {
	json_t *query;
	json_t *reply;
	const char *file, *reason, *note;
};

static int
parse_opts(int argc, char **argv, int first, struct opts *o)
{
	static const struct option lo[] = {
		{"state", required_argument, NULL, 's'},     {"severity", required_argument, NULL, 'v'},
		{"intel-type", required_argument, NULL, 'i'}, {"q", required_argument, NULL, 'q'},
		{"all-versions", no_argument, NULL, 'A'},    {"limit", required_argument, NULL, 'n'},
		{"offset", required_argument, NULL, 'f'},    {"org", required_argument, NULL, 'o'},
		{"unanswered", no_argument, NULL, 'u'},      {"file", required_argument, NULL, 'F'},
		{"reason", required_argument, NULL, 'r'},    {"note", required_argument, NULL, 'N'},
		{"status", required_argument, NULL, 'S'},    {"mitigated", no_argument, NULL, 'm'},
		{"measures", required_argument, NULL, 'M'},  {"measures-at", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->query = json_object();
	o->reply = json_object();
	int ch;
	optind = first;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		const char *key = NULL;
		switch (ch) {
		case 's': key = "state"; break;
		case 'v': key = "severity"; break;
		case 'i': key = "intel_type"; break;
		case 'q': key = "q"; break;
		case 'n': key = "limit"; break;
		case 'f': key = "offset"; break;
		case 'A': json_object_set_new(o->query, "versions", json_string("all")); break;
		case 'u': json_object_set_new(o->query, "unanswered", json_string("true")); break;
		case 'o':
			key = "org";
			json_object_set_new(o->reply, "org", json_string(optarg));
			break;
		case 'F': o->file = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'N':
			o->note = optarg;
			json_object_set_new(o->reply, "note", json_string(optarg));
			break;
		case 'S': json_object_set_new(o->reply, "status", json_string(optarg)); break;
		case 'm': json_object_set_new(o->reply, "mitigated", json_true()); break;
		case 'M': json_object_set_new(o->reply, "measures", json_string(optarg)); break;
		case 'T': json_object_set_new(o->reply, "measures_at", json_string(optarg)); break;
		default:
			return -1;
		}
		if (key)
			json_object_set_new(o->query, key, json_string(optarg));
	}
	if (optind < argc) {
		fprintf(stderr, "ciip: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static char *
query_path(const char *base, const json_t *q)
{
	struct buf b = {0};
	buf_puts(&b, base);
	char sep = '?';
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)q, k, v)
	{
		char *ev = cli_escape(json_string_value(v));
		buf_printf(&b, "%c%s=%s", sep, k, ev);
		free(ev);
		sep = '&';
	}
	return buf_steal(&b);
}

int
cmd_advisory(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *sub = argv[1];
	static const char *const with_id[] = {"show",    "versions", "replies", "stix",
	                                      "delete",  "update",   "submit",  "publish",
	                                      "reject",  "withdraw", "correct", "reply"};
	const char *id = NULL;
	int first = 2;
	if (cli_sub_id(argc, argv, with_id, CIIP_ARRAY_LEN(with_id), &id, &first) != 0) {
		usage();
		return 2;
	}
	struct opts o;
	if (parse_opts(argc, argv, first, &o) != 0) {
		json_decref(o.query);
		json_decref(o.reply);
		usage();
		return 2;
	}
	char path[256] = "";
	if (id) {
		char *esc = cli_escape(id);
		snprintf(path, sizeof(path), "/api/v1/advisories/%s", esc);
		free(esc);
	}
	int rc = 2;
	if (strcmp(sub, "list") == 0 || strcmp(sub, "inbox") == 0) {
		bool inbox = strcmp(sub, "inbox") == 0;
		char *p = query_path(inbox ? "/api/v1/advisories/inbox" : "/api/v1/advisories", o.query);
		rc = cli_call(c, "GET", p, NULL, o.query, inbox ? l_inbox : l_list, NULL);
		free(p);
	} else if (strcmp(sub, "show") == 0) {
		rc = cli_call(c, "GET", path, id, NULL, l_get, NULL);
	} else if (strcmp(sub, "versions") == 0 || strcmp(sub, "replies") == 0 ||
	           strcmp(sub, "stix") == 0) {
		cli_local_fn fn = sub[0] == 'v' ? l_versions : sub[0] == 'r' ? l_replies : l_stix;
		strncat(path, "/", sizeof(path) - strlen(path) - 1);
		strncat(path, sub, sizeof(path) - strlen(path) - 1);
		rc = cli_call(c, "GET", path, id, NULL, fn, NULL);
	} else if (strcmp(sub, "delete") == 0) {
		rc = cli_call(c, "DELETE", path, id, NULL, l_delete, NULL);
	} else if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0) {
		json_t *in = o.file ? read_json(o.file) : NULL;
		if (o.file == NULL)
			usage();
		else if (in == NULL)
			rc = 1;
		else if (sub[0] == 'c')
			rc = cli_call(c, "POST", "/api/v1/advisories", NULL, in, l_create, NULL);
		else
			rc = cli_call(c, "PATCH", path, id, in, l_update, NULL);
		json_decref(in);
	} else if (strcmp(sub, "correct") == 0) {
		json_t *in = o.file ? read_json(o.file) : json_object();
		if (in && o.note)
			json_object_set_new(in, "note", json_string(o.note));
		if (in) {
			strncat(path, "/correct", sizeof(path) - strlen(path) - 1);
			rc = cli_call(c, "POST", path, id, in, l_correct, NULL);
		} else {
			rc = 1;
		}
		json_decref(in);
	} else if (strcmp(sub, "reply") == 0) {
		strncat(path, "/replies", sizeof(path) - strlen(path) - 1);
		rc = cli_call(c, "POST", path, id, o.reply, l_reply, NULL);
	} else if (strcmp(sub, "submit") == 0 || strcmp(sub, "publish") == 0 ||
	           strcmp(sub, "reject") == 0 || strcmp(sub, "withdraw") == 0) {
		json_t *in = json_object();
		if (o.reason)
			json_object_set_new(in, "reason", json_string(o.reason));
		strncat(path, "/", sizeof(path) - strlen(path) - 1);
		strncat(path, sub, sizeof(path) - strlen(path) - 1);
		current_move = sub;
		rc = cli_call(c, "POST", path, id, in, l_move, NULL);
		json_decref(in);
	} else {
		usage();
	}
	json_decref(o.query);
	json_decref(o.reply);
	return rc;
}
