/*
 * cmd_incident.c - `ciip incident`: incident reports (file, edit, move
 * through review and response, list, export as CSV), the notification
 * queue and the national outbox. Every command is one API call, or with
 * --data the same service on a stopped node's files.
 */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "cert/cert.h"

#define MAX_INPUT_BYTES (16 * 1024 * 1024)

/* The client is single-threaded: the move a local call makes. */
static const char *current_move;

static int
l_list(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_list(x, in, out);
}
static int
l_get(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_get(x, id, out);
}
static int
l_create(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_create(x, in, out);
}
static int
l_update(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_update(x, id, in, out);
}
static int
l_delete(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_delete(x, id, out);
}
static int
l_move(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_move(x, id, current_move, in, out);
}
static int
l_timeline(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_timeline(x, id, out);
}
static int
l_stix(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_stix(x, id, out);
}
static int
l_rules(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_rules(x, out);
}
static int
l_notes(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_notification_list(x, in, out);
}
static int
l_ack(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_notification_ack(x, id, out);
}
static int
l_outbox(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_outbox_list(x, in, out);
}
static int
l_from_alert(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	return cert_svc_incident_from_alert(x, in, out);
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: ciip incident list [--state S] [--org ORG] [--level N] [--class C] [--type T]\n"
	        "                          [--since TIME] [--until TIME] [--overdue] [--q TEXT]\n"
	        "                          [--limit N] [--offset N] [--csv]\n"
	        "       ciip incident overdue\n"
	        "       ciip incident show|timeline|stix|delete ID\n"
	        "       ciip incident create --file REPORT.json|-\n"
	        "       ciip incident update ID --file FIELDS.json|-\n"
	        "       ciip incident submit|resubmit|review|accept|forward|contain|recover ID\n"
	        "                          [--note TEXT]\n"
	        "       ciip incident return ID --reason TEXT\n"
	        "       ciip incident relevel ID --level N --reason TEXT\n"
	        "       ciip incident report ID --text TEXT | --report-file FILE\n"
	        "       ciip incident close ID [--text TEXT | --report-file FILE]\n"
	        "       ciip incident from-alert --file ALERT.json|-\n"
	        "       ciip incident rules\n"
	        "       ciip incident notifications [--org ORG] [--unacked]\n"
	        "       ciip incident ack NOTIFICATION-ID\n"
	        "       ciip incident outbox [--pending]\n"
	        "The report format is in docs/CERT.md.\n");
}

/* Reads a whole file (or stdin for "-") as text; NULL with a message. */
static char *
read_text(const char *path)
{
	if (strcmp(path, "-") == 0) {
		char *s = cli_read_stdin(MAX_INPUT_BYTES);
		if (s == NULL)
			fprintf(stderr, "ciip: nothing (or too much) on standard input\n");
		return s;
	}
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		fprintf(stderr, "ciip: cannot open %s\n", path);
		return NULL;
	}
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b.len + n > MAX_INPUT_BYTES) {
			fprintf(stderr, "ciip: %s is larger than %d bytes\n", path, MAX_INPUT_BYTES);
			fclose(fp);
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, chunk, n);
	}
	fclose(fp);
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_steal(&b);
}

static json_t *
read_json(const char *path)
{
	char *text = read_text(path);
	if (text == NULL)
		return NULL;
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (j == NULL)
		fprintf(stderr, "ciip: %s: line %d, column %d: %s\n", path, je.line, je.column, je.text);
	return j;
}

/* Options shared by the subcommands; what each one uses is checked there. */
struct opts {
	json_t *query; /* list filters, as strings */
	const char *file, *reason, *note, *text, *report_file;
	int64_t level;
	bool csv;
};

static int
parse_opts(int argc, char **argv, int first, struct opts *o)
{
	static const struct option lo[] = {
		{"state", required_argument, NULL, 's'},   {"org", required_argument, NULL, 'o'},
		{"level", required_argument, NULL, 'l'},   {"class", required_argument, NULL, 'c'},
		{"type", required_argument, NULL, 't'},    {"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'},   {"overdue", no_argument, NULL, 'O'},
		{"q", required_argument, NULL, 'q'},       {"limit", required_argument, NULL, 'n'},
		{"offset", required_argument, NULL, 'f'},  {"csv", no_argument, NULL, 'C'},
		{"file", required_argument, NULL, 'F'},    {"reason", required_argument, NULL, 'r'},
		{"note", required_argument, NULL, 'N'},    {"text", required_argument, NULL, 'x'},
		{"report-file", required_argument, NULL, 'R'}, {"unacked", no_argument, NULL, 'u'},
		{"pending", no_argument, NULL, 'p'},       {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->query = json_object();
	int ch;
	optind = first;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		const char *key = NULL;
		switch (ch) {
		case 's': key = "state"; break;
		case 'o': key = "org"; break;
		case 'c': key = "class"; break;
		case 't': key = "type"; break;
		case 'S': key = "since"; break;
		case 'U': key = "until"; break;
		case 'q': key = "q"; break;
		case 'n': key = "limit"; break;
		case 'f': key = "offset"; break;
		case 'O': json_object_set_new(o->query, "overdue", json_string("true")); break;
		case 'u': json_object_set_new(o->query, "unacked", json_string("true")); break;
		case 'p': json_object_set_new(o->query, "pending", json_string("true")); break;
		case 'C': o->csv = true; break;
		case 'F': o->file = optarg; break;
		case 'r': o->reason = optarg; break;
		case 'N': o->note = optarg; break;
		case 'x': o->text = optarg; break;
		case 'R': o->report_file = optarg; break;
		case 'l':
			if (parse_int64(optarg, 1, 4, &o->level) != 0) {
				fprintf(stderr, "ciip: --level takes 1 to 4\n");
				return -1;
			}
			key = "level";
			break;
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

/* "/api/v1/incidents?k=v&..." from the query object. */
static char *
query_path(const char *base, const json_t *q, const char *extra)
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
	if (extra)
		buf_printf(&b, "%c%s", sep, extra);
	return buf_steal(&b);
}

static int
list_csv(struct cli *c, const json_t *q)
{
	if (c->data) {
		fprintf(stderr, "ciip: --csv works over the API; drop --data or use --url\n");
		return 2;
	}
	char *path = query_path("/api/v1/incidents", q, "format=csv");
	struct cli_resp r;
	int rc = cli_http(c, "GET", path, NULL, NULL, &r);
	free(path);
	if (rc != 0)
		return 1;
	if (r.status != 200) {
		cli_print_error("incident list", &r);
		cli_resp_free(&r);
		return 1;
	}
	fwrite(r.body.data, 1, r.body.len, stdout);
	cli_resp_free(&r);
	return 0;
}

static int
do_move(struct cli *c, const char *move, const char *id, struct opts *o)
{
	json_t *in = json_object();
	if (o->reason)
		json_object_set_new(in, "reason", json_string(o->reason));
	if (o->note)
		json_object_set_new(in, "note", json_string(o->note));
	if (o->level)
		json_object_set_new(in, "level", json_integer(o->level));
	if (o->text || o->report_file) {
		char *t = o->text ? xstrdup(o->text) : read_text(o->report_file);
		if (t == NULL) {
			json_decref(in);
			return 1;
		}
		json_object_set_new(in, "investigation_report", json_string(t));
		free(t);
	}
	char *esc = cli_escape(id);
	char path[256];
	snprintf(path, sizeof(path), "/api/v1/incidents/%s/%s", esc, move);
	free(esc);
	current_move = move;
	int rc = cli_call(c, "POST", path, id, in, l_move, NULL);
	json_decref(in);
	return rc;
}

int
cmd_incident(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *sub = argv[1];
	static const char *const with_id[] = {
		"show", "timeline", "stix", "delete", "update", "submit", "resubmit", "review", "accept",
		"forward", "contain", "recover", "return", "relevel", "report", "close", "ack",
	};
	const char *id = NULL;
	int first = 2;
	if (cli_sub_id(argc, argv, with_id, CIIP_ARRAY_LEN(with_id), &id, &first) != 0) {
		usage();
		return 2;
	}
	struct opts o;
	if (parse_opts(argc, argv, first, &o) != 0) {
		json_decref(o.query);
		usage();
		return 2;
	}
	int rc = 2;
	char path[256] = "";
	if (id) {
		char *esc = cli_escape(id);
		snprintf(path, sizeof(path), "/api/v1/incidents/%s", esc);
		free(esc);
	}
	if (strcmp(sub, "list") == 0 || strcmp(sub, "overdue") == 0) {
		if (strcmp(sub, "overdue") == 0)
			json_object_set_new(o.query, "overdue", json_string("true"));
		if (o.csv) {
			rc = list_csv(c, o.query);
		} else {
			char *p = query_path("/api/v1/incidents", o.query, NULL);
			rc = cli_call(c, "GET", p, NULL, o.query, l_list, NULL);
			free(p);
		}
	} else if (strcmp(sub, "show") == 0) {
		rc = cli_call(c, "GET", path, id, NULL, l_get, NULL);
	} else if (strcmp(sub, "timeline") == 0) {
		strncat(path, "/timeline", sizeof(path) - strlen(path) - 1);
		rc = cli_call(c, "GET", path, id, NULL, l_timeline, NULL);
	} else if (strcmp(sub, "stix") == 0) {
		strncat(path, "/stix", sizeof(path) - strlen(path) - 1);
		rc = cli_call(c, "GET", path, id, NULL, l_stix, NULL);
	} else if (strcmp(sub, "delete") == 0) {
		rc = cli_call(c, "DELETE", path, id, NULL, l_delete, NULL);
	} else if (strcmp(sub, "create") == 0 || strcmp(sub, "update") == 0 ||
	           strcmp(sub, "from-alert") == 0) {
		json_t *in = o.file ? read_json(o.file) : NULL;
		if (o.file == NULL)
			usage();
		if (in && strcmp(sub, "create") == 0)
			rc = cli_call(c, "POST", "/api/v1/incidents", NULL, in, l_create, NULL);
		else if (in && strcmp(sub, "update") == 0)
			rc = cli_call(c, "PATCH", path, id, in, l_update, NULL);
		else if (in)
			rc = cli_call(c, "POST", "/api/v1/incidents/from-alert", NULL, in, l_from_alert,
			              NULL);
		else if (o.file)
			rc = 1;
		json_decref(in);
	} else if (strcmp(sub, "rules") == 0) {
		rc = cli_call(c, "GET", "/api/v1/incidents/rules", NULL, NULL, l_rules, NULL);
	} else if (strcmp(sub, "notifications") == 0) {
		char *p = query_path("/api/v1/notifications", o.query, NULL);
		rc = cli_call(c, "GET", p, NULL, o.query, l_notes, NULL);
		free(p);
	} else if (strcmp(sub, "ack") == 0) {
		char *esc = cli_escape(id);
		snprintf(path, sizeof(path), "/api/v1/notifications/%s/ack", esc);
		free(esc);
		rc = cli_call(c, "POST", path, id, NULL, l_ack, NULL);
	} else if (strcmp(sub, "outbox") == 0) {
		char *p = query_path("/api/v1/incidents/outbox", o.query, NULL);
		rc = cli_call(c, "GET", p, NULL, o.query, l_outbox, NULL);
		free(p);
	} else if (cert_move_parse(sub) >= 0) {
		rc = do_move(c, sub, id, &o);
	} else {
		usage();
	}
	json_decref(o.query);
	return rc;
}
