/*
 * ingest_syslog.c - syslog messages (RFC 5424, RFC 3164 and the common
 * "timestamp host tag: msg" file form) into generic events, with the
 * bodies of common firewalls and services picked apart:
 *
 *   netfilter LOG   "... IN=eth0 OUT= SRC=a DST=b ... PROTO=TCP SPT=1 DPT=2"
 *   key=value       FortiGate "srcip=a dstip=b ... action=deny", and alike
 *   CEF             "CEF:0|Vendor|Product|Ver|SigID|Name|Sev|src=a dst=b ..."
 *   pf filterlog    pfSense / OPNsense CSV ("...,match,block,in,4,...,a,b,1,2")
 *   MikroTik        "... proto TCP (SYN), a:1->b:2, len 40"
 *   sshd, postfix   failed and accepted logins (as login events)
 *
 * Anything else with a valid header is an INGEST_EV_LOG carrying its text.
 * What fails: an empty line, a NUL byte or invalid UTF-8 (every string in an
 * event is valid UTF-8), a bad PRI, a malformed RFC 5424 header.
 */
#include <string.h>
#include <strings.h>

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
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Year for a timestamp without one (RFC 3164): this year, unless that puts
 * it more than a month ahead of now (a December line read in January). */
static int64_t
ts_3164(int mo, int d, int h, int mi, int s)
{
	int64_t now = time_now_ms();
	int64_t days = now / 86400000;
	/* civil_from_days, for the current year only. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int y = (int)(yoe + era * 400 + (m <= 2));
	int64_t t = (ingest_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
	if (t > now + 31LL * 86400000)
		t = (ingest_days_from_civil(y - 1, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
	return t;
}

/* "Mmm dd hh:mm:ss" (dd may be " 8", or "8" from careless senders);
 * returns the end or NULL. */
static const char *
parse_3164_ts(const char *p, const char *end, int64_t *ms)
{
	char norm[15];
	size_t used = 15;
	if (end - p < 14)
		return NULL;
	int mo = ingest_month_parse(p);
	if (mo == 0 || p[3] != ' ')
		return NULL;
	if (is_digit(p[4]) && p[5] == ' ') {
		/* One column short: read it as "Mmm  d hh:mm:ss". */
		memcpy(norm, p, 4);
		norm[4] = ' ';
		memcpy(norm + 5, p + 4, 10);
		used = 14;
	} else {
		if (end - p < 15)
			return NULL;
		memcpy(norm, p, 15);
	}
	const char *q = p;
	p = norm;
	int d;
	if (p[4] == ' ' && is_digit(p[5]))
		d = p[5] - '0';
	else if (is_digit(p[4]) && is_digit(p[5]))
		d = (p[4] - '0') * 10 + (p[5] - '0');
	else
		return NULL;
	if (p[6] != ' ' || !is_digit(p[7]) || !is_digit(p[8]) || p[9] != ':' || !is_digit(p[10]) ||
	    !is_digit(p[11]) || p[12] != ':' || !is_digit(p[13]) || !is_digit(p[14]))
		return NULL;
	int h = (p[7] - '0') * 10 + (p[8] - '0');
	int mi = (p[10] - '0') * 10 + (p[11] - '0');
	int s = (p[13] - '0') * 10 + (p[14] - '0');
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60)
		return NULL;
	*ms = ts_3164(mo, d, h, mi, s > 59 ? 59 : s);
	p = q + used;
	/* Some senders add fractions ("Jun  8 14:34:33.123"). */
	if (p < end && *p == '.') {
		const char *f = p + 1;
		while (f < end && is_digit(*f))
			f++;
		if (f > p + 1)
			p = f;
	}
	return p;
}

/* An RFC 3339 timestamp token at p (up to the next space). */
static const char *
parse_iso_ts(const char *p, const char *end, int64_t *ms)
{
	const char *e = tok_end(p, end);
	if (e - p < 19 || ingest_ts_parse(p, (size_t)(e - p), ms) != 0)
		return NULL;
	return e;
}

/* RFC 5424 STRUCTURED-DATA: "-" or one or more [id k="v" ...]. */
static const char *
skip_sd(const char *p, const char *end)
{
	if (p < end && *p == '-')
		return p + 1;
	if (p >= end || *p != '[')
		return NULL;
	while (p < end && *p == '[') {
		p++;
		const char *id = p;
		while (p < end && *p != ' ' && *p != ']' && *p != '=' && *p != '"')
			p++;
		if (p == id)
			return NULL;
		while (p < end && *p == ' ') {
			p++;
			const char *name = p;
			while (p < end && *p != '=' && *p != ' ' && *p != ']' && *p != '"')
				p++;
			if (p == name || p >= end || *p != '=' || p + 1 >= end || p[1] != '"')
				return NULL;
			p += 2;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				p++;
			}
			if (p >= end)
				return NULL;
			p++; /* closing quote */
		}
		if (p >= end || *p != ']')
			return NULL;
		p++;
	}
	return p;
}

static struct ingest_str
nil_or(const char *p, const char *e)
{
	if (e - p == 1 && *p == '-')
		return (struct ingest_str){0};
	return mk(p, e);
}

int
ingest_syslog_header(struct ingest_ctx *c, const char **msg, const char **msg_end, int *pri)
{
	struct ingest_event *ev = c->ev;
	const char *p = c->line, *end = c->line + c->len;
	*pri = -1;
	if (p < end && *p == '<') {
		const char *q = p + 1;
		int v = 0;
		while (q < end && is_digit(*q) && q - p <= 3)
			v = v * 10 + (*q++ - '0');
		if (q == p + 1 || q >= end || *q != '>' || v > 191 || (q - p > 2 && p[1] == '0'))
			return ingest_fail(c, p, "bad syslog PRI");
		*pri = v;
		p = q + 1;
		if (end - p >= 2 && p[0] == '1' && p[1] == ' ') {
			/* RFC 5424: VERSION TS HOST APP PROCID MSGID SD [MSG] */
			const char *f[5][2];
			p += 2;
			for (int i = 0; i < 5; i++) {
				const char *e = tok_end(p, end);
				if (e == p || e >= end)
					return ingest_fail(c, p, "truncated RFC 5424 header");
				f[i][0] = p;
				f[i][1] = e;
				p = e + 1;
			}
			if (!(f[0][1] - f[0][0] == 1 && *f[0][0] == '-') &&
			    ingest_ts_parse(f[0][0], (size_t)(f[0][1] - f[0][0]), &ev->ts_ms) != 0)
				return ingest_fail(c, f[0][0], "bad RFC 5424 timestamp");
			if (f[1][1] - f[1][0] > 255 || f[2][1] - f[2][0] > 48 ||
			    f[3][1] - f[3][0] > 128 || f[4][1] - f[4][0] > 32)
				return ingest_fail(c, f[1][0], "RFC 5424 header field too long");
			ev->host_name = nil_or(f[1][0], f[1][1]);
			ev->app_name = nil_or(f[2][0], f[2][1]);
			const char *sd = p;
			p = skip_sd(p, end);
			if (p == NULL)
				return ingest_fail(c, sd, "bad RFC 5424 structured data");
			if (p < end) {
				if (*p != ' ')
					return ingest_fail(c, p, "bad RFC 5424 structured data");
				p++;
			}
			/* A UTF-8 BOM may start MSG. */
			if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
				p += 3;
			*msg = p;
			*msg_end = end;
			return 0;
		}
	}
	/* RFC 3164 or the file form: [TS] [HOST] [TAG[pid]:] MSG */
	const char *q = NULL;
	if (end - p >= 15 && ingest_month_parse(p) != 0)
		q = parse_3164_ts(p, end, &ev->ts_ms);
	else if (end - p >= 19 && is_digit(p[0]) && p[4] == '-')
		q = parse_iso_ts(p, end, &ev->ts_ms);
	if (q != NULL) {
		p = q;
		while (p < end && *p == ' ')
			p++;
		/* HOSTNAME, unless the token is already the tag ("prog:"). */
		const char *e = tok_end(p, end);
		if (e > p && e[-1] != ':' && e[-1] != ']') {
			ev->host_name = mk(p, e);
			p = e < end ? e + 1 : e;
		}
	}
	/* TAG: "name[pid]:" or "name:" (up to 48 characters, no spaces). */
	const char *e = tok_end(p, end);
	if (e > p && e[-1] == ':' && e - p <= 64) {
		const char *t = p;
		const char *br = memchr(t, '[', (size_t)(e - t));
		const char *tend = br != NULL ? br : e - 1;
		if (tend > t && (br == NULL || e[-2] == ']')) {
			ev->app_name = mk(t, tend);
			p = e;
			while (p < end && *p == ' ')
				p++;
		}
	}
	*msg = p;
	*msg_end = end;
	return 0;
}

/* ---- bodies ------------------------------------------------------------ */

static bool
has_ci(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(p + i, needle, k) == 0)
			return true;
	return false;
}

static void
set_ip(struct ingest_ip *ip, const char *p, const char *e)
{
	struct ingest_ip tmp;
	if (e > p && ingest_ip_parse(p, (size_t)(e - p), &tmp) == 0)
		*ip = tmp;
}

static void
set_port(uint16_t *port, const char *p, const char *e)
{
	int64_t v;
	if (e > p && ingest_num_int(p, (size_t)(e - p), &v) == 0 && v >= 0 && v <= 65535)
		*port = (uint16_t)v;
}

static bool
key_is(const char *k, size_t n, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strlen(*names) == n && memcmp(k, *names, n) == 0)
			return true;
	return false;
}

static const char *const k_src[] = {"SRC", "src", "srcip", "src_ip", "remip", "rhost", "source_ip", NULL};
static const char *const k_dst[] = {"DST", "dst", "dstip", "dst_ip", "dest_ip", "destination_ip", NULL};
static const char *const k_spt[] = {"SPT", "spt", "srcport", "src_port", "sport", "source_port", NULL};
static const char *const k_dpt[] = {"DPT", "dpt", "dstport", "dst_port", "dport", "dest_port", "destination_port", NULL};
static const char *const k_proto[] = {"PROTO", "proto", "protocol", NULL};
static const char *const k_action[] = {"action", "act", NULL};
static const char *const k_user[] = {"user", "suser", "usrName", NULL};
static const char *const k_rule[] = {"policyname", "rule", "rule_name", NULL};

/* Applies one key=value pair; returns true if it was a network field. */
static bool
kv_apply(struct ingest_event *ev, const char *k, size_t kn, const char *v, const char *ve)
{
	if (key_is(k, kn, k_src)) {
		set_ip(&ev->src_ip, v, ve);
		return true;
	}
	if (key_is(k, kn, k_dst)) {
		set_ip(&ev->dst_ip, v, ve);
		return true;
	}
	if (key_is(k, kn, k_spt)) {
		set_port(&ev->src_port, v, ve);
		return true;
	}
	if (key_is(k, kn, k_dpt)) {
		set_port(&ev->dst_port, v, ve);
		return true;
	}
	if (key_is(k, kn, k_proto) && ve > v && ev->proto.len == 0) {
		ev->proto = ingest_transport(ev, v, (size_t)(ve - v));
		return false;
	}
	if (key_is(k, kn, k_action) && ve > v)
		ev->action = mk(v, ve);
	else if (key_is(k, kn, k_user) && ve > v && !(ve - v == 3 && memcmp(v, "N/A", 3) == 0))
		ev->user_name = mk(v, ve);
	else if (key_is(k, kn, k_rule) && ve > v)
		ev->rule_name = mk(v, ve);
	return false;
}

static bool
key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '_' ||
	       ch == '-' || ch == '.';
}

/* Space-separated KEY=VALUE pairs, values optionally in double quotes.
 * Returns the number of network fields found. */
static int
parse_kv(struct ingest_event *ev, const char *p, const char *end)
{
	int net = 0;
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		const char *k = p;
		while (p < end && key_char(*p))
			p++;
		if (p >= end || *p != '=' || p == k) {
			p = tok_end(p, end);
			continue;
		}
		size_t kn = (size_t)(p - k);
		p++;
		const char *v = p, *ve;
		if (p < end && *p == '"') {
			v = ++p;
			while (p < end && *p != '"')
				p++;
			ve = p;
			if (p < end)
				p++;
		} else {
			p = tok_end(p, end);
			ve = p;
		}
		net += kv_apply(ev, k, kn, v, ve);
	}
	return net;
}

/* iptables/ufw log prefix ("IPTABLES-DROP: IN=..." or "[UFW BLOCK] IN="). */
static void
netfilter_prefix(struct ingest_event *ev, const char *msg, const char *in)
{
	const char *p = msg;
	/* Skip the kernel's "[12345.678901] " uptime stamp. */
	if (p < in && *p == '[') {
		const char *q = p + 1;
		while (q < in && (*q == ' ' || *q == '.' || is_digit(*q)))
			q++;
		if (q < in && *q == ']')
			p = q + 1;
	}
	while (p < in && (*p == ' ' || *p == '['))
		p++;
	const char *e = in;
	while (e > p && (e[-1] == ' ' || e[-1] == ':' || e[-1] == ']'))
		e--;
	if (e <= p)
		return;
	ev->rule_name = mk(p, e);
	static const struct {
		const char *word, *action;
	} verbs[] = {{"drop", "drop"}, {"block", "block"}, {"reject", "reject"}, {"deny", "deny"},
	             {"accept", "accept"}, {"allow", "allow"}};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(verbs); i++) {
		if (has_ci(p, (size_t)(e - p), verbs[i].word)) {
			ev->action = (struct ingest_str){.p = verbs[i].action,
			                                 .len = (uint32_t)strlen(verbs[i].action)};
			return;
		}
	}
}

/* pfSense / OPNsense filterlog CSV. */
static void
parse_filterlog(struct ingest_event *ev, const char *p, const char *end)
{
	const char *f[24][2];
	int n = 0;
	while (n < 24) {
		const char *e = memchr(p, ',', (size_t)(end - p));
		f[n][0] = p;
		f[n][1] = e != NULL ? e : end;
		n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	if (n < 9)
		return;
	ev->rule_name = mk(f[3][0], f[3][1]);
	int64_t rid;
	if (ingest_num_int(f[3][0], (size_t)(f[3][1] - f[3][0]), &rid) == 0)
		ev->rule_id = rid;
	if (f[6][1] > f[6][0])
		ev->action = mk(f[6][0], f[6][1]);
	int proto_text, src, sport;
	if (f[8][1] - f[8][0] == 1 && *f[8][0] == '4') {
		proto_text = 16;
		src = 18;
		sport = 20;
	} else if (f[8][1] - f[8][0] == 1 && *f[8][0] == '6') {
		proto_text = 12;
		src = 15;
		sport = 17;
	} else {
		return;
	}
	if (n > proto_text && f[proto_text][1] > f[proto_text][0])
		ev->proto = ingest_transport(ev, f[proto_text][0],
		                             (size_t)(f[proto_text][1] - f[proto_text][0]));
	if (n > src + 1) {
		set_ip(&ev->src_ip, f[src][0], f[src][1]);
		set_ip(&ev->dst_ip, f[src + 1][0], f[src + 1][1]);
	}
	bool ports = ingest_str_eq(ev->proto, "tcp") || ingest_str_eq(ev->proto, "udp");
	if (ports && n > sport + 1) {
		set_port(&ev->src_port, f[sport][0], f[sport][1]);
		set_port(&ev->dst_port, f[sport + 1][0], f[sport + 1][1]);
	}
}

/* "a.b.c.d:port" or "[v6]:port" ending at e. */
static void
addr_port(const char *p, const char *e, struct ingest_ip *ip, uint16_t *port)
{
	const char *colon = NULL;
	for (const char *q = e; q > p; q--) {
		if (q[-1] == ':') {
			colon = q - 1;
			break;
		}
	}
	if (colon == NULL)
		return;
	const char *a = p, *ae = colon;
	if (a < ae && *a == '[' && ae[-1] == ']') {
		a++;
		ae--;
	}
	set_ip(ip, a, ae);
	set_port(port, colon + 1, e);
}

/* MikroTik: "..., proto TCP (SYN), 1.2.3.4:5->6.7.8.9:10, len 40". */
static bool
parse_mikrotik(struct ingest_event *ev, const char *p, const char *end)
{
	const char *arrow = memmem(p, (size_t)(end - p), "->", 2);
	const char *proto = memmem(p, (size_t)(end - p), "proto ", 6);
	if (arrow == NULL || proto == NULL)
		return false;
	const char *ps = proto + 6, *pe = ps;
	while (pe < end && *pe != ' ' && *pe != ',')
		pe++;
	if (pe > ps)
		ev->proto = ingest_transport(ev, ps, (size_t)(pe - ps));
	const char *ls = arrow;
	while (ls > p && ls[-1] != ' ' && ls[-1] != ',')
		ls--;
	const char *re = arrow + 2;
	while (re < end && *re != ' ' && *re != ',')
		re++;
	addr_port(ls, arrow, &ev->src_ip, &ev->src_port);
	addr_port(arrow + 2, re, &ev->dst_ip, &ev->dst_port);
	/* "drop-in input:" style rule comments come before the chain. */
	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (colon != NULL && colon > p) {
		const char *s = p;
		/* Skip "topics" ("firewall,info"). */
		const char *sp = memchr(p, ' ', (size_t)(colon - p));
		if (sp != NULL && memchr(p, ',', (size_t)(sp - p)) != NULL)
			s = sp + 1;
		ev->rule_name = mk(s, colon);
	}
	return ev->src_ip.family != 0;
}

/* sshd: "Failed password for [invalid user ]X from IP port N ssh2",
 * "Invalid user X from IP port N", "Accepted publickey for X from IP ...". */
static bool
parse_sshd(struct ingest_event *ev, const char *p, const char *end)
{
	size_t n = (size_t)(end - p);
	enum ingest_kind kind;
	const char *user;
	if (n > 7 && memcmp(p, "Failed ", 7) == 0) {
		kind = INGEST_EV_LOGIN_FAILED;
		user = memmem(p, n, " for ", 5);
		if (user == NULL)
			return false;
		user += 5;
		if ((size_t)(end - user) > 13 && memcmp(user, "invalid user ", 13) == 0)
			user += 13;
	} else if (n > 13 && memcmp(p, "Invalid user ", 13) == 0) {
		kind = INGEST_EV_LOGIN_FAILED;
		user = p + 13;
	} else if (n > 9 && memcmp(p, "Accepted ", 9) == 0) {
		kind = INGEST_EV_LOGIN_SUCCESS;
		user = memmem(p, n, " for ", 5);
		if (user == NULL)
			return false;
		user += 5;
	} else {
		/* Not a login line; "... IP port N ..." still names the client
		 * (pre-auth disconnects, negotiation failures, timeouts). */
		for (const char *q = p; q < end;) {
			const char *port = memmem(q, (size_t)(end - q), " port ", 6);
			if (port == NULL)
				break;
			const char *ip = port;
			while (ip > p && ip[-1] != ' ')
				ip--;
			struct ingest_ip tmp;
			if (ingest_ip_parse(ip, (size_t)(port - ip), &tmp) == 0) {
				ev->src_ip = tmp;
				const char *pe = port + 6;
				while (pe < end && is_digit(*pe))
					pe++;
				set_port(&ev->src_port, port + 6, pe);
				ev->proto = (struct ingest_str){.p = "tcp", .len = 3};
				ev->app_proto = (struct ingest_str){.p = "ssh", .len = 3};
				break;
			}
			q = port + 6;
		}
		return false;
	}
	/* The last " from IP" that is an address: user names may hold spaces. */
	const char *from = NULL;
	for (const char *q = user; q < end;) {
		const char *f = memmem(q, (size_t)(end - q), " from ", 6);
		if (f == NULL)
			break;
		const char *ip = f + 6, *ipe = tok_end(ip, end);
		struct ingest_ip tmp;
		if (ingest_ip_parse(ip, (size_t)(ipe - ip), &tmp) == 0) {
			from = f;
			ev->src_ip = tmp;
			const char *port = ipe;
			if (end - port > 6 && memcmp(port, " port ", 6) == 0)
				set_port(&ev->src_port, port + 6, tok_end(port + 6, end));
		}
		q = f + 6;
	}
	if (from == NULL)
		return false;
	ev->user_name = mk(user, from);
	ev->kind = kind;
	ev->proto = (struct ingest_str){.p = "tcp", .len = 3};
	ev->app_proto = (struct ingest_str){.p = "ssh", .len = 3};
	ev->action = kind == INGEST_EV_LOGIN_FAILED ? (struct ingest_str){.p = "failure", .len = 7}
	                                            : (struct ingest_str){.p = "success", .len = 7};
	return true;
}

/* postfix: "warning: host[IP]: SASL LOGIN authentication failed: ..." */
static bool
parse_postfix_sasl(struct ingest_event *ev, const char *p, const char *end)
{
	const char *sasl = memmem(p, (size_t)(end - p), "]: SASL ", 8);
	if (sasl == NULL || memmem(sasl, (size_t)(end - sasl), "authentication failed", 21) == NULL)
		return false;
	const char *lb = sasl;
	while (lb > p && lb[-1] != '[')
		lb--;
	if (lb == p)
		return false;
	set_ip(&ev->src_ip, lb, sasl);
	if (ev->src_ip.family == 0)
		return false;
	ev->kind = INGEST_EV_LOGIN_FAILED;
	ev->proto = (struct ingest_str){.p = "tcp", .len = 3};
	ev->app_proto = (struct ingest_str){.p = "smtp", .len = 4};
	ev->action = (struct ingest_str){.p = "failure", .len = 7};
	return true;
}

/* CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension */
static int
parse_cef(struct ingest_ctx *c, const char *p, const char *end)
{
	struct ingest_event *ev = c->ev;
	const char *f[7][2];
	const char *q = p + 4;
	for (int i = 0; i < 7; i++) {
		f[i][0] = q;
		while (q < end && *q != '|') {
			if (*q == '\\' && q + 1 < end)
				q++;
			q++;
		}
		if (q >= end)
			return ingest_fail(c, q, "truncated CEF header");
		f[i][1] = q++;
	}
	int64_t sid;
	if (ingest_num_int(f[4][0], (size_t)(f[4][1] - f[4][0]), &sid) == 0)
		ev->rule_id = sid;
	ev->rule_name = mk(f[5][0], f[5][1]);
	ev->message = ev->rule_name;
	int64_t sev;
	if (ingest_num_int(f[6][0], (size_t)(f[6][1] - f[6][0]), &sev) == 0 && sev >= 0 && sev <= 10)
		ev->severity = sev >= 9 ? 1 : sev >= 7 ? 2 : sev >= 4 ? 3 : 4;
	/* Extension: key=value, values run to the next " key=" and may hold
	 * spaces; "\=" is an escaped '='. */
	while (q < end) {
		while (q < end && *q == ' ')
			q++;
		const char *k = q;
		while (q < end && key_char(*q))
			q++;
		if (q >= end || *q != '=' || q == k)
			break;
		size_t kn = (size_t)(q - k);
		const char *v = ++q, *ve = end;
		for (const char *s = v; s < end; s++) {
			if (*s == '\\' && s + 1 < end) {
				s++;
				continue;
			}
			if (*s != ' ')
				continue;
			const char *t = s + 1;
			while (t < end && key_char(*t))
				t++;
			if (t < end && *t == '=' && t > s + 1) {
				ve = s;
				break;
			}
		}
		if (kn == 7 && memcmp(k, "request", 7) == 0) {
			ev->url_full = mk(v, ve);
			ingest_url_split(ev);
		} else if (kn == 3 && memcmp(k, "msg", 3) == 0) {
			ev->message = mk(v, ve);
		} else {
			(void)kv_apply(ev, k, kn, v, ve);
		}
		q = ve;
	}
	return 0;
}

static void
set_severity_from_pri(struct ingest_event *ev, int pri)
{
	if (pri < 0 || ev->severity != 0)
		return;
	int s = pri & 7;
	ev->severity = s <= 2 ? 1 : s == 3 ? 2 : s == 4 ? 3 : 4;
}

int
ingest_decode_syslog(struct ingest_ctx *c)
{
	struct ingest_event *ev = c->ev;
	const char *msg, *end;
	int pri;
	size_t bad = ingest_utf8_check(c->line, c->len);
	if (bad != c->len)
		return ingest_fail(c, c->line + bad,
		                   c->line[bad] == '\0' ? "NUL byte in line" : "invalid UTF-8");
	while (c->len > 0 && (c->line[c->len - 1] == '\r' || c->line[c->len - 1] == '\n'))
		c->len--;
	if (c->len == 0)
		return ingest_fail(c, c->line, "empty line");
	if (ingest_syslog_header(c, &msg, &end, &pri) != 0)
		return -1;
	ev->kind = INGEST_EV_LOG;
	ev->message = mk(msg, end);
	size_t n = (size_t)(end - msg);
	const char *cef = n >= 4 ? memmem(msg, n, "CEF:", 4) : NULL;
	if (cef != NULL && (cef == msg || cef[-1] == ' ')) {
		if (parse_cef(c, cef, end) != 0)
			return -1;
	} else if (ingest_str_eq(ev->app_name, "filterlog")) {
		parse_filterlog(ev, msg, end);
	} else if ((ingest_str_eq(ev->app_name, "sshd") || ingest_str_eq(ev->app_name, "sshd-session")) &&
	           parse_sshd(ev, msg, end)) {
		/* a login event, or at least the client's address */
	} else if (ev->app_name.len >= 7 && memcmp(ev->app_name.p, "postfix", 7) == 0 &&
	           parse_postfix_sasl(ev, msg, end)) {
		/* a login event */
	} else {
		const char *in = n >= 3 ? memmem(msg, n, "IN=", 3) : NULL;
		if (in != NULL && (in == msg || in[-1] == ' ') && memmem(msg, n, " SRC=", 5) != NULL) {
			netfilter_prefix(ev, msg, in);
			(void)parse_kv(ev, in, end);
		} else if (parse_kv(ev, msg, end) == 0) {
			(void)parse_mikrotik(ev, msg, end);
		}
	}
	set_severity_from_pri(ev, pri);
	return 0;
}
