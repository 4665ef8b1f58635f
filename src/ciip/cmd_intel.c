/*
 * cmd_intel.c - `ciip intel`: bulk import of a STIX bundle or TAXII
 * envelope into a collection, export of a collection as a bundle, and the
 * list of collections. Over /api/v1/intel and /api/v1/collections, or with
 * --data on a stopped node's files through the same service functions.
 */
#include "ciip/ciip.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "stix/stix.h"
#include "taxii/taxii.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: ciip intel import --collection C FILE   (a STIX bundle or TAXII "
	            "envelope; - for stdin)\n"
	            "       ciip intel export --collection C [--latest] [--output FILE]\n"
	            "       ciip intel collections\n");
}

/* The service functions need the subsystem; offline, it lives for one call. */
static int
import_local(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	struct taxii *t = taxii_new(x->st, x->cfg);
	int rc = taxii_svc_intel_import(t, x, id, in, out);
	taxii_free(t);
	return rc;
}

static int
export_local(struct auth_ctx *x, const char *id, bool all, json_t **out)
{
	struct taxii *t = taxii_new(x->st, x->cfg);
	char *text = NULL;
	int rc = taxii_svc_intel_export(t, x, id, all, &text);
	taxii_free(t);
	*out = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return rc;
}

static int
export_local_all(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	(void)in;
	return export_local(x, id, true, out);
}

static int
export_local_last(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	(void)in;
	return export_local(x, id, false, out);
}

static int
collections_local(struct auth_ctx *x, const char *id, const json_t *in, json_t **out)
{
	(void)id;
	(void)in;
	struct taxii *t = taxii_new(x->st, x->cfg);
	int rc = taxii_svc_collection_list(t, x, out);
	taxii_free(t);
	return rc;
}

static char *
read_file(const char *path, size_t max, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		perror(path);
		return NULL;
	}
	struct buf b = {0};
	char chunk[65536];
	size_t n;
	bool too_big = false;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (b.len + n > max) {
			too_big = true;
			break;
		}
		buf_append(&b, chunk, n);
	}
	if (fp != stdin)
		fclose(fp);
	if (too_big) {
		fprintf(stderr, "ciip: %s is larger than %zu bytes\n", path, max);
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_steal(&b);
}

static int
do_import(struct cli *c, const char *collection, const char *file)
{
	size_t len = 0;
	char *text = read_file(file, STIX_ENVELOPE_MAX_BYTES, &len);
	if (text == NULL)
		return 1;
	json_t *objects = NULL;
	struct err e;
	err_clear(&e);
	int rc = stix_envelope_parse(text, len, 0, &objects, &e);
	free(text);
	if (rc != 0) {
		if (e.line > 0)
			fprintf(stderr, "ciip: %s:%d:%d: %s\n", file, e.line, e.column, e.msg);
		else
			fprintf(stderr, "ciip: %s: %s\n", file, e.msg);
		return 1;
	}
	json_t *in = json_pack("{s:o}", "objects", objects);
	char *esc = cli_escape(collection);
	char *path = xasprintf("/api/v1/intel/import?collection=%s", esc);
	json_t *status = NULL;
	rc = cli_call(c, "POST", path, collection, in, import_local, &status);
	free(path);
	free(esc);
	json_decref(in);
	if (rc != 0)
		return rc;
	json_int_t ok = json_integer_value(json_object_get(status, "success_count"));
	json_int_t bad = json_integer_value(json_object_get(status, "failure_count"));
	printf("%s: %lld object(s) stored, %lld refused (status %s)\n", collection, (long long)ok,
	       (long long)bad, json_string_value(json_object_get(status, "id")));
	size_t i;
	json_t *f;
	json_array_foreach (json_object_get(status, "failures"), i, f)
		fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(f, "id")),
		        json_string_value(json_object_get(f, "message")));
	json_decref(status);
	return bad > 0 ? 1 : 0;
}

static int
do_export(struct cli *c, const char *collection, bool latest, const char *output)
{
	char *esc = cli_escape(collection);
	char *path = xasprintf("/api/v1/intel/export?collection=%s&versions=%s", esc,
	                       latest ? "last" : "all");
	json_t *bundle = NULL;
	int rc = cli_call(c, "GET", path, collection, NULL,
	                  latest ? export_local_last : export_local_all, &bundle);
	free(path);
	free(esc);
	if (rc != 0)
		return rc;
	FILE *fp = output ? fopen(output, "wb") : stdout;
	if (fp == NULL) {
		perror(output);
		json_decref(bundle);
		return 1;
	}
	rc = json_dumpf(bundle, fp, JSON_COMPACT) == 0 && fputc('\n', fp) != EOF ? 0 : 1;
	if (output && fclose(fp) != 0)
		rc = 1;
	if (output)
		fprintf(stderr, "%s: %zu object(s) written to %s\n", collection,
		        json_array_size(json_object_get(bundle, "objects")), output);
	json_decref(bundle);
	return rc;
}

int
cmd_intel(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"collection", required_argument, NULL, 'c'},
		{"latest", no_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	const char *collection = NULL, *output = NULL;
	bool latest = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, "c:o:lh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			collection = optarg;
			break;
		case 'l':
			latest = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Offline, the intel tables must be known before the store opens. */
	taxii_schema_register();
	int rest = argc - 1 - optind;
	char **args = argv + 1 + optind;
	if (strcmp(sub, "import") == 0 && collection && rest == 1)
		return do_import(c, collection, args[0]);
	if (strcmp(sub, "export") == 0 && collection && rest == 0)
		return do_export(c, collection, latest, output);
	if (strcmp(sub, "collections") == 0 && rest == 0)
		return cli_call(c, "GET", "/api/v1/collections", NULL, NULL, collections_local, NULL);
	usage(stderr);
	return 2;
}
