/* ciip.h - the command-line client's own files: global options, the HTTP
 * calls every command uses, and one entry point per command group. The
 * client talks to a node only through its HTTP API. */
#ifndef CIIP_CIIP_H
#define CIIP_CIIP_H

#include <jansson.h>

#include "core/core.h"

struct cli {
	const char *url;   /* base URL of the node */
	const char *token; /* API token, or NULL */
	const char *data;  /* --data DIR: act on a stopped node's files */
	const char *cacert;
	bool insecure;
	long timeout_s;
};

struct cli_resp {
	long status;
	struct buf body;
	char content_type[128];
};

/* Performs one request. body may be NULL. Returns 0 when a response (of any
 * status) arrived, -1 with a message on stderr when none did. */
int cli_http(struct cli *c, const char *method, const char *path, const char *body,
             const char *content_type, struct cli_resp *resp);
void cli_resp_free(struct cli_resp *r);
/* Prints an error response's message ({"error":{...}} or raw) to stderr. */
void cli_print_error(const char *what, struct cli_resp *r);

/*
 * One operation, either over the API (method + path) or, with --data, by
 * calling the same service function on the node's files. local gets the
 * service context (an offline admin), the id from the path and the input.
 * Prints the result (JSON) or the error; returns the exit status.
 */
struct auth_ctx;
typedef int (*cli_local_fn)(struct auth_ctx *x, const char *id, const json_t *in, json_t **out);
int cli_call(struct cli *c, const char *method, const char *path, const char *id, json_t *in,
             cli_local_fn local, json_t **result);
/* Percent-encodes one path segment (an id or a name); free the result. */
char *cli_escape(const char *segment);
/* "ciip THING SUB [ID] [options]": when SUB is one of the n subcommands in
 * with_id, argv[2] is the id (*id) and options start at argv[3], else at
 * argv[2] (*first). -1 when the id is missing. */
int cli_sub_id(int argc, char **argv, const char *const *with_id, size_t n, const char **id,
               int *first);
/* Prints JSON for people (indented) on stdout. */
void cli_print_json(const json_t *j);
/* Reads all of stdin into a string without the final newline (for
 * --password-stdin). Returns NULL if empty or over max bytes. */
char *cli_read_stdin(size_t max);

/* Command groups: each returns the process exit status. */
int cmd_version(struct cli *c, int argc, char **argv);
int cmd_health(struct cli *c, int argc, char **argv);
int cmd_org(struct cli *c, int argc, char **argv);
int cmd_user(struct cli *c, int argc, char **argv);
int cmd_token(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_sensor(struct cli *c, int argc, char **argv);
int cmd_replay(struct cli *c, int argc, char **argv);
int cmd_alert(struct cli *c, int argc, char **argv);
int cmd_incident(struct cli *c, int argc, char **argv);
int cmd_advisory(struct cli *c, int argc, char **argv);
int cmd_intel(struct cli *c, int argc, char **argv);
int cmd_pattern(struct cli *c, int argc, char **argv);

#endif
