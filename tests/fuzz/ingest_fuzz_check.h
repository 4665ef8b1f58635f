/*
 * ingest_fuzz_check.h - what every ingest fuzz target asserts about one
 * decode: a refusal has a reason and an offset inside the line; an accepted
 * event's strings are readable (ASan sees every byte) valid UTF-8 without
 * NUL, its scratch is within bounds, and it converts to ECS JSON.
 */
#ifndef CIIP_INGEST_FUZZ_CHECK_H
#define CIIP_INGEST_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"

static void
fuzz_check_str(struct ingest_str s, const char *what)
{
	if (s.len == 0)
		return;
	if (s.p == NULL || ingest_utf8_check(s.p, s.len) != s.len) {
		fprintf(stderr, "%s: not valid UTF-8 or has NUL (len %u)\n", what, s.len);
		abort();
	}
}

static void
fuzz_check_decode(int rc, const struct ingest_event *ev, const struct ingest_decode_err *de,
                  size_t size)
{
	if (rc != 0) {
		if (rc != -1 || de->reason == NULL || de->offset > size) {
			fprintf(stderr, "bad refusal: rc %d reason %s offset %zu size %zu\n", rc,
			        de->reason ? de->reason : "(null)", de->offset, size);
			abort();
		}
		return;
	}
	if (ev->scratch_used > INGEST_SCRATCH_BYTES || ev->nurls < 0 ||
	    ev->nurls > INGEST_MAX_URLS || (unsigned)ev->kind >= INGEST_EV_KIND_COUNT) {
		fprintf(stderr, "event out of bounds\n");
		abort();
	}
	const struct ingest_str *all[] = {
		&ev->sensor, &ev->proto, &ev->app_proto, &ev->dns_qname, &ev->dns_qtype,
		&ev->url_full, &ev->url_domain, &ev->url_path, &ev->http_method, &ev->user_agent,
		&ev->tls_sni, &ev->tls_ja3, &ev->file_name, &ev->file_sha256, &ev->file_md5,
		&ev->file_sha1, &ev->email_from, &ev->email_to, &ev->email_subject, &ev->user_name,
		&ev->command, &ev->message, &ev->rule_name, &ev->action, &ev->host_name,
		&ev->app_name,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		fuzz_check_str(*all[i], "field");
	for (int i = 0; i < ev->nurls; i++)
		fuzz_check_str(ev->urls[i], "url");
	json_t *j = ingest_event_to_json(ev);
	char *text = json_dumps(j, JSON_COMPACT);
	if (j == NULL || text == NULL) {
		fprintf(stderr, "event does not convert to JSON\n");
		abort();
	}
	free(text);
	json_decref(j);
}

#endif
