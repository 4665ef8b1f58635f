/*
 * test_detect_match_gen.h - the seeded generator of the differential tests
 * (test_detect_match_diff.c, test_detect_match_seq.c): value pools, random
 * ingest events, random STIX patterns over the paths events fill, and the
 * tally of (pattern, events) pairs compared with the reference evaluator.
 *
 * Literals are written in the normal form of their property (canonical
 * addresses, lower-case names): where the matcher is deliberately more
 * lenient than the evaluator (docs/MATCHING.md) the two would differ, and
 * tests/data/detect_match/cases.txt pins those cases down.
 */
#ifndef TEST_DETECT_MATCH_GEN_H
#define TEST_DETECT_MATCH_GEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_detect_match_util.h"

/* ---- a seeded generator --------------------------------------------------------- */

static uint64_t rng_state __attribute__((unused));

static inline uint64_t
rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static inline unsigned
rn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static inline bool
chance(unsigned percent)
{
	return rn(100) < percent;
}

#define PICK(a) ((a)[rn(CIIP_ARRAY_LEN(a))])

/* ---- value pools ------------------------------------------------------------------- */

static const char *const ip4[] __attribute__((unused)) = {"198.51.100.1", "198.51.100.7",  "198.51.100.200", "203.0.113.5",
                                  "203.0.113.33", "10.0.0.1",      "192.0.2.1"};
static const char *const ip6[] __attribute__((unused)) = {"2001:db8::1", "2001:db8::2", "2001:db8:dead:beef::1",
                                  "2001:db8:dead:beef:dead:beef:dead:1", "fe80::1"};
static const char *const cidrs[] __attribute__((unused)) = {"198.51.100.0/24", "198.51.100.0/25", "198.51.100.128/25",
                                    "203.0.113.0/24",  "10.0.0.0/8",      "0.0.0.0/0",
                                    "198.51.100.7/32", "192.0.2.1",       "2001:db8::/32",
                                    "2001:db8:dead:beef::/64", "::/0",   "2001:db8::1/128",
                                    "203.0.113.33/33"};
static const char *const domains[] __attribute__((unused)) = {"evil.example", "a.evil.example", "b.a.evil.example",
                                      "good.example", "www.good.example", "x.test",
                                      "c2.example.net", "xn--80ak6aa92e.com"};
static const char *const domains_ev[] __attribute__((unused)) = {"EVIL.example", "a.evil.example.", "Www.Good.Example"};
static const char *const urls[] __attribute__((unused)) = {"http://evil.example/a", "http://evil.example/a?id=1",
                                   "https://good.example/login", "https://www.good.example/",
                                   "http://x.test/path/to/file.php", "http://198.51.100.7/x"};
static const char *const urls_ev[] __attribute__((unused)) = {"HTTP://Evil.Example:80/a", "https://good.example:443/login",
                                      "http://x.test/path/to/%66ile.php"};
static const char *const names[] __attribute__((unused)) = {"a.exe", "invoice.pdf.exe", "readme.txt", "\xc3\xa9t\xc3\xa9.exe",
                                    "C:\\Windows\\cmd.exe", "name.exe", "100%_sure.txt"};
static const char *const sha256s[] __attribute__((unused)) = {
    "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
    "bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
static const char *const md5s[] __attribute__((unused)) = {"cead3f77f6cda6ec00f57d76c9a6879f",
                                   "79054025255fb1a26e4bc422aef54eb4"};
static const char *const sha1s[] __attribute__((unused)) = {"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
                                    "de9f2c7fd25e1b3afad3e85a0bd17d9b100db4b3"};
static const char *const emails[] __attribute__((unused)) = {"a@evil.example", "b@good.example", "soc@x.test"};
static const char *const subjects[] __attribute__((unused)) = {"hello", "Invoice 42", "2016-01-01T00:00:00Z",
                                       "Re: it's done", "2016-01-01T00:00:00.500Z"};
static const char *const users[] __attribute__((unused)) = {"root", "admin", "alice", "bob"};
static const char *const cmds[] __attribute__((unused)) = {"wget http://x/y -O /tmp/y", "id", "curl -k https://evil.example",
                                   "cmd.exe /c whoami"};
static const char *const protos[] __attribute__((unused)) = {"tcp", "udp"};
static const char *const apps[] __attribute__((unused)) = {"http", "tls", "dns"};
static const int64_t ports[] __attribute__((unused)) = {22, 53, 80, 443, 4444, 8080, 37020};
static const int64_t counts[] __attribute__((unused)) = {1, 10, 1500, 90000};
static const int64_t sizes[] __attribute__((unused)) = {10, 1024, 371712};
static const char *const types[] __attribute__((unused)) = {"ipv4-addr", "ipv6-addr", "network-traffic", "domain-name",
                                    "url",       "file",      "email-addr",      "email-message",
                                    "user-account", "process"};

static inline struct ingest_str
S(const char *s)
{
	return (struct ingest_str){.p = s, .len = (uint32_t)strlen(s)};
}

static inline void
gen_ip(struct ingest_ip *ip)
{
	const char *s = chance(70) ? PICK(ip4) : PICK(ip6);
	assert_int_equal(ingest_ip_parse(s, strlen(s), ip), 0);
}

/* The network-traffic part of an event: addresses, ports, protocols,
 * counts (a flow, when nothing else is added). */
static inline void
gen_flow(struct ingest_event *ev, int64_t ts)
{
	ingest_event_reset(ev);
	ev->kind = INGEST_EV_LOG;
	ev->ts_ms = ts;
	if (chance(80))
		gen_ip(&ev->src_ip);
	if (chance(80))
		gen_ip(&ev->dst_ip);
	if (chance(40))
		ev->src_port = (uint16_t)PICK(ports);
	if (chance(60))
		ev->dst_port = (uint16_t)PICK(ports);
	if (chance(50))
		ev->proto = chance(80) ? S(PICK(protos)) : S("TCP");
	if (chance(40))
		ev->app_proto = S(PICK(apps));
	if (chance(20))
		ev->bytes_to_server = PICK(counts);
	if (chance(20))
		ev->pkts_to_client = PICK(counts);
}

static inline void
gen_event(struct ingest_event *ev, int64_t ts)
{
	gen_flow(ev, ts);
	if (chance(30))
		ev->dns_qname = chance(85) ? S(PICK(domains)) : S(PICK(domains_ev));
	if (chance(15))
		ev->url_domain = S(PICK(domains));
	if (chance(15))
		ev->tls_sni = S(PICK(domains));
	if (chance(30))
		ev->url_full = chance(80) ? S(PICK(urls)) : S(PICK(urls_ev));
	if (chance(10)) {
		ev->urls[ev->nurls++] = S(PICK(urls));
		ev->urls[ev->nurls++] = S(PICK(urls_ev));
	}
	if (chance(25))
		ev->file_name = S(PICK(names));
	if (chance(20))
		ev->file_sha256 = S(PICK(sha256s));
	if (chance(10))
		ev->file_md5 = S(PICK(md5s));
	if (chance(10))
		ev->file_sha1 = S(PICK(sha1s));
	if (chance(15))
		ev->file_size = PICK(sizes);
	if (chance(15))
		ev->email_from = S(PICK(emails));
	if (chance(15))
		ev->email_to = S(PICK(emails));
	if (chance(15))
		ev->email_subject = S(PICK(subjects));
	if (chance(20))
		ev->user_name = S(PICK(users));
	if (chance(15))
		ev->command = S(PICK(cmds));
}

/* ---- patterns ------------------------------------------------------------------------- */

enum ft {
	FT_IP4, FT_IP6, FT_NTIP, FT_PORT, FT_COUNT, FT_PROTO, FT_DOMAIN, FT_URL, FT_NAME,
	FT_SHA256, FT_MD5, FT_SHA1, FT_SIZE, FT_EMAIL, FT_SUBJECT, FT_USER, FT_CMD, FT_TYPE,
	FT_OTHER, FT_UNMAPPED
};

static const struct __attribute__((unused)) {
	const char *path;
	enum ft t;
	unsigned weight;
} paths[] = {
    {"ipv4-addr:value", FT_IP4, 10},
    {"ipv6-addr:value", FT_IP6, 5},
    {"network-traffic:src_ref.value", FT_NTIP, 4},
    {"network-traffic:dst_ref.value", FT_NTIP, 4},
    {"network-traffic:src_ref.type", FT_TYPE, 1},
    {"network-traffic:src_port", FT_PORT, 4},
    {"network-traffic:dst_port", FT_PORT, 6},
    {"network-traffic:src_byte_count", FT_COUNT, 1},
    {"network-traffic:dst_packets", FT_COUNT, 1},
    {"network-traffic:protocols[*]", FT_PROTO, 3},
    {"network-traffic:protocols[0]", FT_PROTO, 1},
    {"network-traffic:protocols[1]", FT_PROTO, 1},
    {"network-traffic:protocols", FT_OTHER, 1},
    {"network-traffic:src_ref", FT_OTHER, 1},
    {"domain-name:value", FT_DOMAIN, 10},
    {"url:value", FT_URL, 8},
    {"file:name", FT_NAME, 5},
    {"file:hashes.'SHA-256'", FT_SHA256, 5},
    {"file:hashes.MD5", FT_MD5, 2},
    {"file:hashes.'SHA-1'", FT_SHA1, 2},
    {"file:size", FT_SIZE, 2},
    {"file:hashes", FT_OTHER, 1},
    {"email-addr:value", FT_EMAIL, 3},
    {"email-message:from_ref.value", FT_EMAIL, 2},
    {"email-message:to_refs[*].value", FT_EMAIL, 2},
    {"email-message:to_refs[0].value", FT_EMAIL, 1},
    {"email-message:subject", FT_SUBJECT, 2},
    {"email-message:from_ref.type", FT_TYPE, 1},
    {"user-account:user_id", FT_USER, 3},
    {"user-account:account_login", FT_USER, 1},
    {"process:command_line", FT_CMD, 3},
    {"domain-name:type", FT_TYPE, 1},
    {"file:mime_type", FT_UNMAPPED, 1},
    {"process:name", FT_UNMAPPED, 1},
    {"windows-registry-key:key", FT_UNMAPPED, 1},
};

static inline unsigned
pick_path(void)
{
	unsigned total = 0;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(paths); i++)
		total += paths[i].weight;
	unsigned r = rn(total);
	for (size_t i = 0; i < CIIP_ARRAY_LEN(paths); i++) {
		if (r < paths[i].weight)
			return (unsigned)i;
		r -= paths[i].weight;
	}
	return 0;
}

static inline bool
is_int(enum ft t)
{
	return t == FT_PORT || t == FT_COUNT || t == FT_SIZE;
}

static inline const char *
pool_value(enum ft t)
{
	switch (t) {
	case FT_IP4: return chance(85) ? PICK(ip4) : PICK(ip6);
	case FT_IP6: return chance(85) ? PICK(ip6) : PICK(ip4);
	case FT_NTIP: return chance(70) ? PICK(ip4) : PICK(ip6);
	case FT_PROTO: return chance(60) ? PICK(protos) : PICK(apps);
	case FT_DOMAIN: return PICK(domains);
	case FT_URL: return PICK(urls);
	case FT_NAME: return PICK(names);
	case FT_SHA256: return PICK(sha256s);
	case FT_MD5: return PICK(md5s);
	case FT_SHA1: return PICK(sha1s);
	case FT_EMAIL: return PICK(emails);
	case FT_SUBJECT: return PICK(subjects);
	case FT_USER: return PICK(users);
	case FT_CMD: return PICK(cmds);
	case FT_TYPE: return PICK(types);
	default: return PICK(users);
	}
}

static inline int64_t
pool_int(enum ft t)
{
	return t == FT_PORT ? PICK(ports) : t == FT_COUNT ? PICK(counts) : PICK(sizes);
}

/* A STIX string literal. */
static inline void
put_str(struct buf *b, const char *s, size_t n)
{
	buf_puts(b, "'");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'' || s[i] == '\\')
			buf_puts(b, "\\");
		buf_append(b, &s[i], 1);
	}
	buf_puts(b, "'");
}

static inline void
put_b64(struct buf *b, const char *s)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);
	buf_puts(b, "b'");
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)u[i] << 16 | (i + 1 < n ? (uint32_t)u[i + 1] << 8 : 0) |
		             (i + 2 < n ? u[i + 2] : 0);
		char out[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63],
		               i + 1 < n ? tab[(v >> 6) & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
		buf_append(b, out, 4);
	}
	buf_puts(b, "'");
}

/* Length of the UTF-8 sequence starting at s[i]. */
static inline size_t
cplen(const char *s, size_t i)
{
	unsigned char c = (unsigned char)s[i];
	return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
}

/* A LIKE pattern that the value (or a neighbour) may match. */
static inline void
put_like(struct buf *b, enum ft t, const char *v)
{
	size_t n = strlen(v);
	struct buf p = {0};
	size_t i = n ? rn((unsigned)n) : 0;
	while (i > 0 && ((unsigned char)v[i] & 0xc0) == 0x80)
		i--;
	switch (rn(6)) {
	case 0: buf_append(&p, v, n); break;
	case 1:
		buf_append(&p, v, i);
		buf_puts(&p, "%");
		break;
	case 2:
		buf_puts(&p, "%");
		buf_append(&p, v + i, n - i);
		break;
	case 3:
		buf_append(&p, v, i);
		buf_puts(&p, "_");
		if (i < n)
			buf_append(&p, v + i + cplen(v, i), n - i - cplen(v, i));
		break;
	case 4: {
		size_t j = i + rn((unsigned)(n - i + 1));
		while (j < n && ((unsigned char)v[j] & 0xc0) == 0x80)
			j++;
		buf_append(&p, v, i);
		buf_puts(&p, "%");
		buf_append(&p, v + j, n - j);
		break;
	}
	default: {
		const char *dot = t == FT_DOMAIN ? strchr(v, '.') : NULL;
		buf_puts(&p, "%.");
		if (dot != NULL)
			buf_puts(&p, dot + 1);
		else
			buf_append(&p, v, n);
		break;
	}
	}
	put_str(b, p.data ? p.data : "", p.len);
	buf_free(&p);
}

static inline void
rx_escaped(struct buf *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr("\\.^$|?*+()[]{}", s[i]) != NULL && s[i] != '\0')
			buf_puts(p, "\\");
		buf_append(p, &s[i], 1);
	}
}

/* A regex that the value (or a neighbour) may match. */
static inline void
put_regex(struct buf *b, const char *v)
{
	size_t n = strlen(v);
	struct buf p = {0};
	size_t i = n ? rn((unsigned)n) : 0, j;
	while (i > 0 && ((unsigned char)v[i] & 0xc0) == 0x80)
		i--;
	j = i + rn((unsigned)(n - i + 1));
	while (j < n && ((unsigned char)v[j] & 0xc0) == 0x80)
		j++;
	switch (rn(5)) {
	case 0:
		buf_puts(&p, "^");
		rx_escaped(&p, v, n);
		buf_puts(&p, "$");
		break;
	case 1:
		if (i == 0)
			buf_puts(&p, "^");
		rx_escaped(&p, v + i, j - i);
		if (j == n)
			buf_puts(&p, "$");
		break;
	case 2:
		rx_escaped(&p, v, i);
		buf_puts(&p, ".");
		if (i < n)
			rx_escaped(&p, v + i + cplen(v, i), n - i - cplen(v, i));
		break;
	case 3: buf_puts(&p, chance(50) ? "[0-9]+" : "^[a-z]+\\."); break;
	default:
		rx_escaped(&p, v, i);
		buf_puts(&p, ".*");
		rx_escaped(&p, v + j, n - j);
		buf_puts(&p, "$");
		break;
	}
	put_str(b, p.data ? p.data : "", p.len);
	buf_free(&p);
}

static inline void
put_int_literal(struct buf *b, enum ft t, bool ordering)
{
	int64_t v = pool_int(t) + (chance(20) ? (int64_t)rn(3) - 1 : 0);
	unsigned r = rn(100);
	if (r < 80)
		buf_printf(b, "%lld", (long long)v);
	else if (r < 88)
		buf_printf(b, "%lld.%d", (long long)v, chance(50) ? 0 : 5);
	else if (r < 95)
		buf_printf(b, "'%lld'", (long long)v);
	else
		buf_puts(b, chance(50) && !ordering ? "true" : "h'50'");
}

static inline void
put_literal(struct buf *b, enum ft t, bool ordering)
{
	if (is_int(t)) {
		put_int_literal(b, t, ordering);
		return;
	}
	const char *v = chance(80) ? pool_value(t) : "zzz";
	unsigned r = rn(100);
	if (r < 84 || (ordering && r < 92))
		put_str(b, v, strlen(v));
	else if (r < 88)
		put_b64(b, v);
	else if (r < 91) {
		buf_puts(b, "h'");
		for (const char *c = v; *c; c++)
			buf_printf(b, "%02x", (unsigned char)*c);
		buf_puts(b, "'");
	} else if (r < 94)
		buf_puts(b, t == FT_SUBJECT ? "t'2016-01-01T00:00:00Z'" : "7");
	else if (!ordering)
		buf_puts(b, "false");
	else
		buf_puts(b, "1.5");
}

static inline void
gen_comparison(struct buf *b, unsigned path)
{
	enum ft t = paths[path].t;
	bool neg = chance(12);
	unsigned r = rn(100);
	const char *not = neg ? "NOT " : "";
	if (r < 6) {
		buf_printf(b, "EXISTS %s", paths[path].path);
		return;
	}
	buf_printf(b, "%s ", paths[path].path);
	bool ipish = t == FT_IP4 || t == FT_IP6 || t == FT_NTIP;
	bool textual = !is_int(t) && t != FT_OTHER;
	if (r < 40) {
		buf_printf(b, "%s= ", not);
		put_literal(b, t, false);
	} else if (r < 48) {
		buf_printf(b, "%s!= ", not);
		put_literal(b, t, false);
	} else if (r < 58) {
		static const char *const ops[] = {"<", "<=", ">", ">="};
		buf_printf(b, "%s%s ", not, PICK(ops));
		put_literal(b, t, true);
	} else if (r < 68) {
		buf_printf(b, "%sIN (", not);
		unsigned k = rn(4);
		for (unsigned i = 0; i < k; i++) {
			buf_puts(b, i ? ", " : "");
			put_literal(b, t, false);
		}
		buf_puts(b, ")");
	} else if (r < 81 && textual) {
		buf_printf(b, "%sLIKE ", not);
		const char *v = chance(85) ? pool_value(t) : "zzz";
		/* The matcher does not run wildcard LIKE on synthesised "type". */
		if (t == FT_TYPE)
			put_str(b, v, strlen(v));
		else
			put_like(b, t, v);
	} else if (r < 86 && textual && t != FT_TYPE) {
		/* The evaluator compiles a regex per call: keep them a few. */
		buf_printf(b, "%sMATCHES ", not);
		put_regex(b, chance(85) ? pool_value(t) : "zzz");
	} else if (ipish || chance(20)) {
		buf_printf(b, "%s%s ", not, chance(80) ? "ISSUBSET" : "ISSUPERSET");
		const char *c = chance(80) ? PICK(cidrs) : pool_value(FT_IP4);
		put_str(b, c, strlen(c));
	} else {
		buf_printf(b, "%s= ", not);
		put_literal(b, t, false);
	}
}

/* [ ... ] with one to three comparisons, mostly on one object type. */
static inline void
gen_observation(struct buf *b)
{
	unsigned n = 1 + (chance(45) ? 1 + rn(2) : 0);
	unsigned first = pick_path();
	const char *obj = paths[first].path;
	size_t objlen = strcspn(obj, ":");
	buf_puts(b, "[");
	bool open = false;
	for (unsigned i = 0; i < n; i++) {
		unsigned p = first;
		if (i > 0) {
			/* Same object type most of the time: AND must hold for one object. */
			for (int tries = 0; tries < 20; tries++) {
				p = pick_path();
				if (chance(25) || (strncmp(paths[p].path, obj, objlen) == 0 &&
				                   paths[p].path[objlen] == ':'))
					break;
			}
			buf_puts(b, chance(55) ? " AND " : " OR ");
			if (!open && i + 1 < n && chance(30)) {
				buf_puts(b, "(");
				open = true;
			}
		}
		gen_comparison(b, p);
	}
	if (open)
		buf_puts(b, ")");
	buf_puts(b, "]");
}

static const int64_t T0 = 1464739200000; /* 2016-06-01T00:00:00Z */

/* Times on a coarse grid, so that events land on the edges of windows. */
static inline int64_t
grid_time(void)
{
	return T0 + (int64_t)rn(30) * 60000;
}

static inline void
put_qualifier(struct buf *b, bool stateful)
{
	static const char *const within[] = {"1", "60", "120", "300", "600", "59.5", "180.0"};
	unsigned r = rn(100);
	char t1[32], t2[32];
	if (r < 40) {
		buf_printf(b, " WITHIN %s SECONDS", PICK(within));
	} else if (r < 70 && stateful) {
		buf_printf(b, " REPEATS %u TIMES", 1 + rn(3));
	} else {
		int64_t a = grid_time(), d = (1 + (int64_t)rn(10)) * 60000;
		time_format_rfc3339(a, t1, sizeof(t1));
		time_format_rfc3339(chance(90) ? a + d : a - d, t2, sizeof(t2));
		buf_printf(b, " START t'%s' STOP t'%s'", t1, t2);
	}
}

/* A pattern: one observation (single-event corpus, no REPEATS > 1) or up
 * to three joined by operators (sequence corpus). */
static inline char *
gen_pattern(bool stateful)
{
	struct buf b = {0};
	unsigned nobs = stateful ? 1 + rn(3) : (chance(85) ? 1 : 2);
	static const char *const ops[] = {" AND ", " OR ", " FOLLOWEDBY "};
	bool group = nobs > 1 && chance(30);
	if (group)
		buf_puts(&b, "(");
	for (unsigned i = 0; i < nobs; i++) {
		if (i > 0)
			buf_puts(&b, stateful ? PICK(ops) : " OR ");
		gen_observation(&b);
		if (chance(25))
			put_qualifier(&b, stateful);
	}
	if (group) {
		buf_puts(&b, ")");
		put_qualifier(&b, stateful);
	}
	return buf_steal(&b);
}

/* ---- running the corpus ---------------------------------------------------------------- */

struct tally {
	long pairs, matched, mismatches, unknown, unsupported;
	long batch_diffs; /* (indicator, event) pairs where a batch call differs */
	long stream_hits; /* multi-observation completions over the long streams */
	long lazy_quiet;  /* events of addresses only found quiet before extraction */
};

static inline void
report(const char *pattern, const struct ingest_event *evs, size_t n, bool got, int want)
{
	print_message("mismatch: matcher %d, evaluator %d: %s\n", got, want, pattern);
	for (size_t i = 0; i < n; i++) {
		json_t *o = detect_match_event_objects(&evs[i]);
		char *t = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
		print_message("  ts=%lld %s\n", (long long)evs[i].ts_ms, t);
		free(t);
		json_decref(o);
	}
}

static inline int
id_index(const char *id)
{
	int64_t v = -1;
	assert_int_equal(parse_int64(id + strlen("indicator--"), 0, INT32_MAX, &v), 0);
	return (int)v;
}

/* Compiles np patterns into one matcher; returns it with the patterns
 * parsed for the evaluator. */
static inline struct detect_matcher *
compile_batch(char **pats, size_t np, struct stix_pattern **parsed, struct tally *t)
{
	struct detect_indicator *ind = xcalloc(np, sizeof(*ind));
	char (*ids)[32] = xcalloc(np, sizeof(*ids));
	for (size_t i = 0; i < np; i++) {
		snprintf(ids[i], sizeof(ids[i]), "indicator--%zu", i);
		ind[i] = (struct detect_indicator){.id = ids[i], .pattern = pats[i]};
		struct err e;
		err_clear(&e);
		parsed[i] = stix_pattern_parse(pats[i], strlen(pats[i]), &e);
		if (parsed[i] == NULL)
			print_message("does not parse: %s: %s\n", pats[i], e.msg);
		assert_non_null(parsed[i]);
	}
	struct detect_matcher_stats st;
	struct err e;
	struct detect_matcher *m = detect_matcher_build(ind, np, 1, &st, &e);
	assert_non_null(m);
	t->unsupported += (long)st.unsupported;
	if (st.unsupported)
		print_message("unsupported: %s\n", st.first_error);
	free(ids);
	free(ind);
	return m;
}


/* np generated patterns, compiled into one matcher and parsed for the
 * evaluator. */
struct corpus {
	size_t np;
	char **pats;
	struct stix_pattern **parsed;
	struct detect_matcher *m;
};

static inline void
corpus_make_with(struct corpus *c, size_t np, char *(*gen)(bool), bool stateful, struct tally *t)
{
	c->np = np;
	c->pats = xcalloc(np, sizeof(*c->pats));
	c->parsed = xcalloc(np, sizeof(*c->parsed));
	for (size_t i = 0; i < np; i++)
		c->pats[i] = gen(stateful);
	c->m = compile_batch(c->pats, np, c->parsed, t);
}

static inline void
corpus_make(struct corpus *c, size_t np, bool stateful, struct tally *t)
{
	corpus_make_with(c, np, gen_pattern, stateful, t);
}

static inline void
corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->np; i++) {
		stix_pattern_free(c->parsed[i]);
		free(c->pats[i]);
	}
	free(c->parsed);
	free(c->pats);
	detect_matcher_free(c->m);
}

/* The time of the next event of a sequence: mostly forward, sometimes at
 * the same time or back. */
static inline int64_t
next_time(int64_t ts)
{
	static const int64_t steps[] = {0, 60000, 60000, 60000, 120000, 300000, -60000};
	return ts + PICK(steps);
}

/* The batch call (detect_matcher_match_batch) against hit[], the hits of
 * the same events matched one by one with a fresh state: hit[i * ne + e]
 * for indicator i and event e. Batches of 1 to maxb events. Returns the
 * (indicator, event) pairs that differ, plus the events reported out of
 * order. */
struct batch_hits {
	bool *hit;
	size_t ne, base;
	size_t next;         /* the least index the next report may have */
	size_t out_of_order; /* reports that broke that */
};

static inline void
batch_keep(void *arg, size_t i, const struct detect_match_hit *hits, int n)
{
	struct batch_hits *b = arg;
	/* Events come back in their order, each once. */
	if (b->base + i < b->next)
		b->out_of_order++;
	b->next = b->base + i + 1;
	for (int k = 0; k < n; k++)
		b->hit[(size_t)id_index(hits[k].indicator_id) * b->ne + b->base + i] = true;
}

static inline long
batch_differs(const struct detect_matcher *m, const struct ingest_event *evs, size_t ne,
              size_t np, const bool *hit, size_t maxb)
{
	struct batch_hits b = {.hit = xcalloc(np * ne, sizeof(bool)), .ne = ne};
	const struct ingest_event **ptr = xcalloc(ne, sizeof(*ptr));
	for (size_t e = 0; e < ne; e++)
		ptr[e] = &evs[e];
	struct detect_match_state *st = detect_match_state_new(0, 0);
	for (size_t e = 0; e < ne;) {
		size_t k = 1 + rn((unsigned)maxb);
		if (k > ne - e)
			k = ne - e;
		b.base = e;
		detect_matcher_match_batch(m, st, ptr + e, k, 256, batch_keep, &b);
		e += k;
	}
	long diff = (long)b.out_of_order;
	for (size_t i = 0; i < np * ne; i++)
		diff += b.hit[i] != hit[i];
	detect_match_state_free(st);
	free(ptr);
	free(b.hit);
	return diff;
}

#endif
