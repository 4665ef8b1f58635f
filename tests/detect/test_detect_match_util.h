/*
 * test_detect_match_util.h - what the matcher's tests share: events written
 * as "key=value" specs, a matcher of one pattern, and the reference
 * evaluator run over the same event through detect_match_event_objects().
 *
 * Spec keys: ts (ms or RFC 3339), src, dst, sport, dport, proto, app,
 * sbytes, dbytes, spkts, dpkts, qname, domain (url.domain), sni, url, urls
 * (comma-separated), file, sha256, md5, sha1, size, from, to, subject,
 * user, cmd. Values are percent-decoded ("Conference%20Info").
 */
#ifndef TEST_DETECT_MATCH_UTIL_H
#define TEST_DETECT_MATCH_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "stix/stix.h"

/* Strings the events point into, freed by tm_strings_free(). */
static char **tm_strings __attribute__((unused));
static size_t tm_nstrings __attribute__((unused)), tm_strings_cap __attribute__((unused));

static inline char *
tm_keep(const char *s, size_t n)
{
	if (tm_nstrings == tm_strings_cap) {
		tm_strings_cap = tm_strings_cap ? tm_strings_cap * 2 : 256;
		tm_strings = xrealloc(tm_strings, tm_strings_cap * sizeof(*tm_strings));
	}
	char *d = xstrndup(s, n);
	tm_strings[tm_nstrings++] = d;
	return d;
}

static inline void
tm_strings_free(void)
{
	for (size_t i = 0; i < tm_nstrings; i++)
		free(tm_strings[i]);
	free(tm_strings);
	tm_strings = NULL;
	tm_nstrings = tm_strings_cap = 0;
}

static inline int
tm_hex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static inline struct ingest_str
tm_str(const char *s, size_t n)
{
	char *d = tm_keep(s, n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && tm_hex(s[i + 1]) >= 0 && tm_hex(s[i + 2]) >= 0) {
			d[k++] = (char)(tm_hex(s[i + 1]) * 16 + tm_hex(s[i + 2]));
			i += 2;
		} else {
			d[k++] = s[i];
		}
	}
	d[k] = '\0';
	return (struct ingest_str){.p = d, .len = (uint32_t)k};
}

static inline int64_t
tm_num(const char *s, size_t n)
{
	char buf[64];
	int64_t v = 0;
	snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
	if (parse_int64(buf, INT64_MIN, INT64_MAX, &v) == 0)
		return v;
	if (time_parse_rfc3339(buf, &v) == 0)
		return v;
	abort(); /* a typo in a test table */
}

static inline void
tm_ip(struct ingest_ip *ip, const char *s, size_t n)
{
	if (ingest_ip_parse(s, n, ip) != 0)
		abort();
}

/* Fills ev from a spec. */
static inline void
tm_event(struct ingest_event *ev, const char *spec)
{
	ingest_event_reset(ev);
	ev->kind = INGEST_EV_LOG;
	const char *p = spec;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *k = p;
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		size_t kn = (size_t)(p - k);
		if (kn == 0)
			break;
		if (*p != '=')
			abort();
		const char *v = ++p;
		while (*p != '\0' && *p != ' ')
			p++;
		size_t vn = (size_t)(p - v);
#define K(name) (kn == strlen(name) && memcmp(k, name, kn) == 0)
		if (K("ts"))
			ev->ts_ms = tm_num(v, vn);
		else if (K("src"))
			tm_ip(&ev->src_ip, v, vn);
		else if (K("dst"))
			tm_ip(&ev->dst_ip, v, vn);
		else if (K("sport"))
			ev->src_port = (uint16_t)tm_num(v, vn);
		else if (K("dport"))
			ev->dst_port = (uint16_t)tm_num(v, vn);
		else if (K("proto"))
			ev->proto = tm_str(v, vn);
		else if (K("app"))
			ev->app_proto = tm_str(v, vn);
		else if (K("sbytes"))
			ev->bytes_to_server = tm_num(v, vn);
		else if (K("dbytes"))
			ev->bytes_to_client = tm_num(v, vn);
		else if (K("spkts"))
			ev->pkts_to_server = tm_num(v, vn);
		else if (K("dpkts"))
			ev->pkts_to_client = tm_num(v, vn);
		else if (K("qname"))
			ev->dns_qname = tm_str(v, vn);
		else if (K("domain"))
			ev->url_domain = tm_str(v, vn);
		else if (K("sni"))
			ev->tls_sni = tm_str(v, vn);
		else if (K("url"))
			ev->url_full = tm_str(v, vn);
		else if (K("urls")) {
			const char *u = v, *end = v + vn;
			while (u < end && ev->nurls < INGEST_MAX_URLS) {
				const char *c = memchr(u, ',', (size_t)(end - u));
				const char *e = c ? c : end;
				ev->urls[ev->nurls++] = tm_str(u, (size_t)(e - u));
				u = e + 1;
			}
		} else if (K("file"))
			ev->file_name = tm_str(v, vn);
		else if (K("sha256"))
			ev->file_sha256 = tm_str(v, vn);
		else if (K("md5"))
			ev->file_md5 = tm_str(v, vn);
		else if (K("sha1"))
			ev->file_sha1 = tm_str(v, vn);
		else if (K("size"))
			ev->file_size = tm_num(v, vn);
		else if (K("from"))
			ev->email_from = tm_str(v, vn);
		else if (K("to"))
			ev->email_to = tm_str(v, vn);
		else if (K("subject"))
			ev->email_subject = tm_str(v, vn);
		else if (K("user"))
			ev->user_name = tm_str(v, vn);
		else if (K("cmd"))
			ev->command = tm_str(v, vn);
		else
			abort();
#undef K
	}
}

/* A matcher of one indicator (id "indicator--t"), always active. */
static inline struct detect_matcher *
tm_matcher(const char *pattern, struct detect_matcher_stats *st)
{
	struct detect_indicator ind = {
	    .id = "indicator--t",
	    .pattern = pattern,
	    .valid_from_ms = 0,
	    .org_id = 1,
	    .tlp = STIX_TLP_GREEN,
	};
	struct err e;
	err_clear(&e);
	return detect_matcher_build(&ind, 1, 1, st, &e);
}

/* Does the evaluator match the pattern over these events (one observation
 * each, at their timestamps)? -1 if it could not say. */
static inline int
tm_eval(const struct stix_pattern *p, const struct ingest_event *evs, size_t n)
{
	struct stix_observation *obs = xcalloc(n ? n : 1, sizeof(*obs));
	for (size_t i = 0; i < n; i++) {
		obs[i].first_observed_ms = obs[i].last_observed_ms = evs[i].ts_ms;
		obs[i].number_observed = 1;
		obs[i].objects = detect_match_event_objects(&evs[i]);
	}
	struct stix_eval_result res;
	int rc = stix_pattern_eval(p, obs, n, &res);
	int out = rc != 0 ? -1 : res.matched ? 1 : 0;
	stix_eval_result_free(&res);
	for (size_t i = 0; i < n; i++)
		json_decref(obs[i].objects);
	free(obs);
	return out;
}

#endif
