/*
 * ingest_dnslog.c - resolver query logs into DNS events:
 *
 *   BIND querylog    [dd-Mmm-yyyy hh:mm:ss.mmm] [category: [severity:]]
 *                    client [@0x...] IP#PORT (NAME): [view V: ]query: NAME CLASS TYPE FLAGS (SERVER)
 *   BIND security    ... client ... (NAME): query (cache) 'NAME/TYPE/CLASS' denied
 *                    ... client ... (NAME): zone transfer 'NAME/AXFR/IN' denied
 *   Unbound          [EPOCH] unbound[PID:TID] info: IP NAME. TYPE CLASS [RCODE TIME CACHED SIZE]
 *
 * each optionally behind a syslog header ("Nov 13 10:59:46 ns1 named[207]: ...").
 * Names lose Unbound's trailing dot, so both resolvers and EVE agree.
 */
#include <string.h>

#include "ingest/ingest_int.h"

static struct ingest_str
mk(const char *p, const char *end)
{
	return (struct ingest_str){.p = p, .len = (uint32_t)(end - p)};
}

static const char *
tok_end(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	return p;
}

static bool
dig2(const char *p, int *v)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return false;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/* BIND's "19-Oct-2022 05:34:02.425"; returns the end or NULL. */
static const char *
bind_ts(const char *p, const char *end, int64_t *ms)
{
	int d, y1, y2, h, mi, s, mo;
	if (end - p < 20 || !dig2(p, &d) || p[2] != '-' || p[6] != '-' || !dig2(p + 7, &y1) ||
	    !dig2(p + 9, &y2) || p[11] != ' ' || !dig2(p + 12, &h) || p[14] != ':' ||
	    !dig2(p + 15, &mi) || p[17] != ':' || !dig2(p + 18, &s))
		return NULL;
	mo = ingest_month_parse(p + 3);
	if (mo == 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return NULL;
	int y = y1 * 100 + y2;
	int64_t t = (ingest_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (s > 59 ? 59 : s)) * 1000;
	p += 20;
	if (end - p >= 4 && *p == '.' && dig2(p + 1, &h) && p[3] >= '0' && p[3] <= '9') {
		t += h * 10 + (p[3] - '0');
		p += 4;
	}
	*ms = t;
	return p;
}

static struct ingest_str
strip_dot(struct ingest_str s)
{
	if (s.len > 1 && s.p[s.len - 1] == '.')
		s.len--;
	return s;
}

static bool
addr_hash_port(struct ingest_event *ev, const char *p, const char *e)
{
	const char *hash = NULL;
	for (const char *q = p; q < e; q++)
		if (*q == '#')
			hash = q;
	if (hash == NULL || ingest_ip_parse(p, (size_t)(hash - p), &ev->src_ip) != 0)
		return false;
	int64_t port;
	if (ingest_num_int(hash + 1, (size_t)(e - hash - 1), &port) == 0 && port >= 0 && port <= 65535)
		ev->src_port = (uint16_t)port;
	return true;
}

static int
decode_bind(struct ingest_ctx *c, const char *client, const char *end)
{
	struct ingest_event *ev = c->ev;
	const char *p = client + 7;
	if (end - p > 3 && p[0] == '@' && p[1] == '0' && p[2] == 'x')
		p = tok_end(p, end) + 1;
	if (p >= end)
		return ingest_fail(c, p, "truncated BIND client");
	const char *ae = tok_end(p, end);
	if (ae > p && ae[-1] == ':')
		ae--; /* "client 1.2.3.4#53: ..." without a name */
	if (!addr_hash_port(ev, p, ae))
		return ingest_fail(c, p, "bad BIND client address");
	p = ae;
	struct ingest_str paren = {0};
	if (end - p > 2 && p[0] == ' ' && p[1] == '(') {
		const char *rp = memchr(p + 2, ')', (size_t)(end - p - 2));
		if (rp == NULL)
			return ingest_fail(c, p, "unclosed ( in BIND line");
		paren = mk(p + 2, rp);
		p = rp + 1;
	}
	if (end - p < 2 || p[0] != ':' || p[1] != ' ')
		return ingest_fail(c, p, "expected ': ' after BIND client");
	p += 2;
	if (end - p > 5 && memcmp(p, "view ", 5) == 0) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon != NULL && colon + 1 < end && colon[1] == ' ')
			p = colon + 2;
	}
	ev->kind = INGEST_EV_DNS;
	if (end - p > 7 && memcmp(p, "query: ", 7) == 0) {
		/* NAME CLASS TYPE FLAGS (SERVER) */
		const char *f[5][2];
		const char *q = p + 7;
		int n = 0;
		while (n < 5 && q < end) {
			const char *e = tok_end(q, end);
			f[n][0] = q;
			f[n][1] = e;
			n++;
			q = e < end ? e + 1 : e;
		}
		if (n < 3)
			return ingest_fail(c, p, "truncated BIND query line");
		ev->dns_qname = strip_dot(mk(f[0][0], f[0][1]));
		ev->dns_qtype = mk(f[2][0], f[2][1]);
		if (n >= 4) {
			bool tcp = memchr(f[3][0], 'T', (size_t)(f[3][1] - f[3][0])) != NULL;
			ev->proto = tcp ? (struct ingest_str){.p = "tcp", .len = 3}
			                : (struct ingest_str){.p = "udp", .len = 3};
		}
		if (n >= 5 && f[4][1] - f[4][0] > 2 && *f[4][0] == '(' && f[4][1][-1] == ')') {
			struct ingest_ip dst;
			if (ingest_ip_parse(f[4][0] + 1, (size_t)(f[4][1] - f[4][0] - 2), &dst) == 0)
				ev->dst_ip = dst;
		}
		return 0;
	}
	/* Everything else ("query (cache) 'x/ANY/IN' denied", "zone transfer
	 * ... denied", "update ... denied", "bad zone transfer request: ..."). */
	ev->message = mk(p, end);
	const char *q1 = memchr(p, '\'', (size_t)(end - p));
	const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', (size_t)(end - q1 - 1)) : NULL;
	if (q2 != NULL) {
		/* 'NAME/TYPE/CLASS' or 'NAME/CLASS' */
		const char *s1 = memchr(q1 + 1, '/', (size_t)(q2 - q1 - 1));
		const char *s2 = s1 != NULL ? memchr(s1 + 1, '/', (size_t)(q2 - s1 - 1)) : NULL;
		ev->dns_qname = strip_dot(mk(q1 + 1, s1 != NULL ? s1 : q2));
		if (s2 != NULL)
			ev->dns_qtype = mk(s1 + 1, s2);
	} else if (paren.len > 0) {
		ev->dns_qname = strip_dot(paren);
	}
	if (memmem(p, (size_t)(end - p), "' denied", 8) != NULL)
		ev->action = (struct ingest_str){.p = "denied", .len = 6};
	else if (memmem(p, (size_t)(end - p), "REFUSED", 7) != NULL ||
	         memmem(p, (size_t)(end - p), "refused", 7) != NULL)
		ev->action = (struct ingest_str){.p = "refused", .len = 7};
	return 0;
}

static int
decode_unbound(struct ingest_ctx *c, const char *info, const char *end)
{
	struct ingest_event *ev = c->ev;
	const char *f[5][2];
	const char *q = info + 6;
	int n = 0;
	while (n < 5 && q < end) {
		const char *e = tok_end(q, end);
		f[n][0] = q;
		f[n][1] = e;
		n++;
		q = e < end ? e + 1 : e;
	}
	if (n < 4 || ingest_ip_parse(f[0][0], (size_t)(f[0][1] - f[0][0]), &ev->src_ip) != 0)
		return ingest_fail(c, info, "not an Unbound query line");
	ev->dns_qname = strip_dot(mk(f[1][0], f[1][1]));
	ev->dns_qtype = mk(f[2][0], f[2][1]);
	if (n >= 5)
		ev->action = mk(f[4][0], f[4][1]); /* the RCODE of log-replies */
	ev->kind = INGEST_EV_DNS;
	return 0;
}

int
ingest_decode_dnslog(struct ingest_ctx *c)
{
	struct ingest_event *ev = c->ev;
	const char *p, *end;
	int pri;
	size_t bad = ingest_utf8_check(c->line, c->len);
	if (bad != c->len)
		return ingest_fail(c, c->line + bad,
		                   c->line[bad] == '\0' ? "NUL byte in line" : "invalid UTF-8");
	while (c->len > 0 && (c->line[c->len - 1] == '\r' || c->line[c->len - 1] == '\n'))
		c->len--;
	if (c->len == 0)
		return ingest_fail(c, c->line, "empty line");
	if (ingest_syslog_header(c, &p, &end, &pri) != 0)
		return -1;
	const char *q = bind_ts(p, end, &ev->ts_ms);
	if (q != NULL) {
		p = q;
		while (p < end && *p == ' ')
			p++;
	} else if (end - p > 3 && *p == '[') {
		/* Unbound: "[1580396012] unbound[2323:0] " */
		int64_t secs;
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb != NULL && ingest_num_int(p + 1, (size_t)(rb - p - 1), &secs) == 0 && secs >= 0 &&
		    secs < 253402300800LL)
			ev->ts_ms = secs * 1000;
	}
	const char *client = memmem(p, (size_t)(end - p), "client ", 7);
	if (client != NULL && (client == p || client[-1] == ' '))
		return decode_bind(c, client, end);
	const char *info = memmem(p, (size_t)(end - p), "info: ", 6);
	if (info != NULL)
		return decode_unbound(c, info, end);
	return ingest_fail(c, p, "not a BIND or Unbound query log line");
}
