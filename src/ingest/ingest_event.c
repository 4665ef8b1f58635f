/*
 * ingest_event.c - the normalised event: reset, addresses, timestamps, the
 * scratch buffer, URL helpers, names, and the ECS JSON form.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "ingest/ingest_int.h"

void
ingest_event_reset(struct ingest_event *ev)
{
	/* Everything before the scratch; the scratch itself is dead bytes. */
	memset(ev, 0, offsetof(struct ingest_event, scratch));
	ev->scratch_used = 0;
}

/* ---- names ----------------------------------------------------------- */

static const char *const kind_names[INGEST_EV_KIND_COUNT] = {
	[INGEST_EV_NONE] = "none",
	[INGEST_EV_ALERT] = "alert",
	[INGEST_EV_DNS] = "dns",
	[INGEST_EV_HTTP] = "http",
	[INGEST_EV_TLS] = "tls",
	[INGEST_EV_FLOW] = "network_flow",
	[INGEST_EV_FILE] = "file",
	[INGEST_EV_SMTP] = "email",
	[INGEST_EV_LOGIN_FAILED] = "login_failure",
	[INGEST_EV_LOGIN_SUCCESS] = "login_success",
	[INGEST_EV_COMMAND] = "command",
	[INGEST_EV_DOWNLOAD] = "file_download",
	[INGEST_EV_CONNECT] = "connection",
	[INGEST_EV_SPAM] = "spam",
	[INGEST_EV_LOG] = "log",
};

const char *
ingest_kind_name(enum ingest_kind k)
{
	if ((unsigned)k >= INGEST_EV_KIND_COUNT)
		return "none";
	return kind_names[k];
}

const char *
ingest_format_name(enum ingest_format fmt)
{
	switch (fmt) {
	case INGEST_FMT_EVE: return "eve";
	case INGEST_FMT_COWRIE: return "cowrie";
	case INGEST_FMT_DNSLOG: return "dnslog";
	case INGEST_FMT_SYSLOG: return "syslog";
	case INGEST_FMT_SPAMTRAP: return "spamtrap";
	case INGEST_FMT_GENERIC: return "generic";
	}
	return "?";
}

enum ingest_format
ingest_format_of_kind(const char *kind)
{
	static const struct {
		const char *name;
		enum ingest_format fmt;
	} kinds[] = {
		{"suricata", INGEST_FMT_EVE}, {"eve", INGEST_FMT_EVE},
		{"cowrie", INGEST_FMT_COWRIE}, {"dns", INGEST_FMT_DNSLOG},
		{"dnslog", INGEST_FMT_DNSLOG}, {"unbound", INGEST_FMT_DNSLOG},
		{"bind", INGEST_FMT_DNSLOG}, {"syslog", INGEST_FMT_SYSLOG},
		{"firewall", INGEST_FMT_SYSLOG}, {"spamtrap", INGEST_FMT_SPAMTRAP},
		{"generic", INGEST_FMT_GENERIC},
	};
	if (kind == NULL)
		return 0;
	for (size_t i = 0; i < CIIP_ARRAY_LEN(kinds); i++)
		if (strcmp(kind, kinds[i].name) == 0)
			return kinds[i].fmt;
	return 0;
}

/* ---- addresses --------------------------------------------------------- */

/* Dotted quad, no leading zeros (as inet_pton), at most three digits. */
static int
parse_v4(const char *s, size_t len, uint8_t out[4])
{
	const char *p = s, *end = s + len;
	for (int part = 0; part < 4; part++) {
		if (p >= end || (unsigned)(*p - '0') > 9)
			return -1;
		unsigned v = (unsigned)(*p++ - '0');
		if (p < end && (unsigned)(*p - '0') <= 9) {
			if (v == 0)
				return -1;
			v = v * 10 + (unsigned)(*p++ - '0');
			if (p < end && (unsigned)(*p - '0') <= 9) {
				v = v * 10 + (unsigned)(*p++ - '0');
				if (v > 255)
					return -1;
			}
		}
		out[part] = (uint8_t)v;
		if (part < 3) {
			if (p >= end || *p != '.')
				return -1;
			p++;
		}
	}
	return p == end ? 0 : -1;
}

int
ingest_ip_parse(const char *s, size_t len, struct ingest_ip *out)
{
	struct ingest_ip ip;
	memset(&ip, 0, sizeof(ip));
	if (len >= 7 && len <= 15 && parse_v4(s, len, ip.a + 12) == 0) {
		ip.a[10] = ip.a[11] = 0xff;
		ip.family = 4;
		*out = ip;
		return 0;
	}
	if (len < 2 || len > 45 || memchr(s, ':', len) == NULL)
		return -1;
	char buf[46];
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL || inet_pton(AF_INET6, buf, ip.a) != 1)
		return -1;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	ip.family = memcmp(ip.a, mapped, 12) == 0 ? 4 : 6;
	*out = ip;
	return 0;
}

void
ingest_ip_format(const struct ingest_ip *ip, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	if (ip->family == 4)
		(void)inet_ntop(AF_INET, ip->a + 12, buf, (socklen_t)len);
	else if (ip->family == 6)
		(void)inet_ntop(AF_INET6, ip->a, buf, (socklen_t)len);
}

/* ---- time -------------------------------------------------------------- */

int64_t
ingest_days_from_civil(int y, int m, int d)
{
	/* Howard Hinnant's algorithm: proleptic Gregorian. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
dig(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
ingest_ts_parse(const char *s, size_t len, int64_t *ms)
{
	int y, mo, d, h, mi, se;
	if (len < 19)
		return -1;
	if (dig(s, 4, &y) || s[4] != '-' || dig(s + 5, 2, &mo) || s[7] != '-' ||
	    dig(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    dig(s + 11, 2, &h) || s[13] != ':' || dig(s + 14, 2, &mi) || s[16] != ':' ||
	    dig(s + 17, 2, &se))
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    se > 60)
		return -1;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return -1;
	size_t i = 19;
	int frac_ms = 0;
	if (i < len && s[i] == '.') {
		i++;
		size_t nd = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (nd < 3)
				frac_ms = frac_ms * 10 + (s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0 || nd > 9)
			return -1;
		for (size_t k = nd; k < 3; k++)
			frac_ms *= 10;
	}
	int off_min = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		int sign = s[i] == '-' ? -1 : 1;
		i++;
		if (len - i >= 5 && s[i + 2] == ':') {
			if (dig(s + i, 2, &oh) || dig(s + i + 3, 2, &om))
				return -1;
			i += 5;
		} else if (len - i >= 4) {
			if (dig(s + i, 2, &oh) || dig(s + i + 2, 2, &om))
				return -1;
			i += 4;
		} else {
			return -1;
		}
		if (oh > 23 || om > 59)
			return -1;
		off_min = sign * (oh * 60 + om);
	}
	if (i != len)
		return -1;
	int64_t secs = ingest_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	               (se == 60 ? 59 : se) - (int64_t)off_min * 60;
	*ms = secs * 1000 + frac_ms;
	return 0;
}

int
ingest_month_parse(const char *p)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++)
		if (memcmp(p, months + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

/* ---- scratch ----------------------------------------------------------- */

struct ingest_str
ingest_scratch_cat(struct ingest_event *ev, const char *a, size_t alen, const char *b,
                   size_t blen, const char *c, size_t clen, const char *d, size_t dlen)
{
	const char *parts[4] = {a, b, c, d};
	size_t lens[4] = {alen, blen, clen, dlen};
	char *start = ev->scratch + ev->scratch_used;
	size_t room = INGEST_SCRATCH_BYTES - ev->scratch_used;
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		if (parts[i] == NULL || lens[i] == 0)
			continue;
		size_t n = lens[i];
		if (o + n > room) {
			n = room - o;
			/* Back off to a UTF-8 character boundary. */
			while (n > 0 && ((uint8_t)parts[i][n] & 0xc0) == 0x80)
				n--;
			memcpy(start + o, parts[i], n);
			o += n;
			ev->flags |= INGEST_EVF_TRUNCATED;
			break;
		}
		memcpy(start + o, parts[i], n);
		o += n;
	}
	ev->scratch_used += (uint32_t)o;
	return (struct ingest_str){.p = start, .len = (uint32_t)o};
}

struct ingest_str
ingest_scratch_put(struct ingest_event *ev, const char *p, size_t len)
{
	return ingest_scratch_cat(ev, p, len, NULL, 0, NULL, 0, NULL, 0);
}

struct ingest_str
ingest_transport(struct ingest_event *ev, const char *p, size_t len)
{
	static const struct {
		const char *in;
		const char *out;
	} t[] = {
		{"TCP", "tcp"}, {"UDP", "udp"}, {"ICMP", "icmp"}, {"IPv6-ICMP", "ipv6-icmp"},
		{"ICMPv6", "ipv6-icmp"}, {"SCTP", "sctp"}, {"GRE", "gre"}, {"ESP", "esp"},
		{"6", "tcp"}, {"17", "udp"}, {"1", "icmp"}, {"58", "ipv6-icmp"},
		{"132", "sctp"}, {"47", "gre"}, {"50", "esp"},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(t); i++) {
		if (strlen(t[i].in) == len && strncasecmp(p, t[i].in, len) == 0)
			return (struct ingest_str){.p = t[i].out, .len = (uint32_t)strlen(t[i].out)};
	}
	/* Unknown: keep at most 32 bytes, cut on a character boundary (a cut
	 * inside one was fuzz_syslog's first find). */
	size_t n = len > 32 ? 32 : len;
	while (n > 0 && n < len && ((uint8_t)p[n] & 0xc0) == 0x80)
		n--;
	struct ingest_str s = ingest_scratch_put(ev, p, n);
	for (uint32_t i = 0; i < s.len; i++) {
		char ch = s.p[i];
		if (ch >= 'A' && ch <= 'Z')
			((char *)s.p)[i] = (char)(ch - 'A' + 'a');
	}
	return s;
}

/* ---- URLs -------------------------------------------------------------- */

void
ingest_url_split(struct ingest_event *ev)
{
	const char *p = ev->url_full.p;
	size_t len = ev->url_full.len;
	const char *sep = len >= 3 ? memmem(p, len, "://", 3) : NULL;
	if (sep == NULL)
		return;
	const char *h = sep + 3, *end = p + len;
	const char *hend = h;
	while (hend < end && *hend != '/' && *hend != '?' && *hend != '#')
		hend++;
	/* Drop userinfo and the port. */
	const char *at = memchr(h, '@', (size_t)(hend - h));
	if (at != NULL)
		h = at + 1;
	const char *dend = hend;
	if (h < hend && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(hend - h));
		if (rb != NULL)
			dend = rb + 1;
	} else {
		const char *colon = memchr(h, ':', (size_t)(hend - h));
		if (colon != NULL)
			dend = colon;
	}
	ev->url_domain = (struct ingest_str){.p = h, .len = (uint32_t)(dend - h)};
	const char *pend = hend;
	while (pend < end && *pend != '?' && *pend != '#')
		pend++;
	if (pend > hend)
		ev->url_path = (struct ingest_str){.p = hend, .len = (uint32_t)(pend - hend)};
}

static bool
url_stop(uint8_t c)
{
	return c <= 0x20 || c == '"' || c == '<' || c == '>' || c == '\'' || c == '`' ||
	       c == '{' || c == '}' || c == '|' || c == '^' || c == 0x7f;
}

/* Length of "http://" or "https://" at p (either slash may be JSON-escaped
 * as "\/" when esc), or 0. */
static size_t
url_scheme(const char *p, size_t left, bool esc)
{
	size_t i;
	if (left < 5 || strncasecmp(p, "http", 4) != 0)
		return 0;
	i = 4;
	if (i < left && (p[i] == 's' || p[i] == 'S'))
		i++;
	if (i >= left || p[i] != ':')
		return 0;
	i++;
	for (int k = 0; k < 2; k++) {
		if (i < left && p[i] == '/')
			i++;
		else if (esc && i + 1 < left && p[i] == '\\' && p[i + 1] == '/')
			i += 2;
		else
			return 0;
	}
	return i;
}

static void
url_add(struct ingest_event *ev, struct ingest_str u)
{
	for (int i = 0; i < ev->nurls; i++)
		if (ev->urls[i].len == u.len && memcmp(ev->urls[i].p, u.p, u.len) == 0)
			return;
	if (ev->nurls >= INGEST_MAX_URLS) {
		ev->flags |= INGEST_EVF_URLS_MORE;
		return;
	}
	ev->urls[ev->nurls++] = u;
}

void
ingest_urls_extract(struct ingest_event *ev, const char *text, size_t len, bool esc)
{
	size_t i = 0;
	while (i < len) {
		const char *hit = NULL;
		size_t sep = 0;
		for (size_t j = i; j + 7 < len; j++) {
			if (text[j] == 'h' || text[j] == 'H') {
				sep = url_scheme(text + j, len - j, esc);
				if (sep > 0) {
					hit = text + j;
					break;
				}
			}
		}
		if (hit == NULL)
			return;
		size_t s = (size_t)(hit - text), e = s + sep;
		bool needs_unescape = sep > 8 || (sep == 8 && (text[s + 4] == ':'));
		while (e < len) {
			uint8_t c = (uint8_t)text[e];
			if (esc && c == '\\') {
				if (e + 1 < len && text[e + 1] == '/') {
					needs_unescape = true;
					e += 2;
					continue;
				}
				if (e + 5 < len && text[e + 1] == 'u') {
					unsigned cp = 0;
					for (int k = 2; k < 6; k++) {
						char hc = text[e + k];
						cp = cp << 4 | (unsigned)(hc <= '9' ? hc - '0' : (hc | 0x20) - 'a' + 10);
					}
					if (cp >= 0x80 || !url_stop((uint8_t)cp)) {
						needs_unescape = true;
						e += 6;
						continue;
					}
				}
				break;
			}
			if (!esc && c == '\\')
				break;
			if (url_stop(c))
				break;
			e++;
		}
		/* Trailing punctuation belongs to the sentence, not the URL. */
		while (e > s && strchr(".,;:!?)]", text[e - 1]) != NULL)
			e--;
		if (e > s + sep) {
			struct ingest_str u;
			if (needs_unescape) {
				char *dst = ev->scratch + ev->scratch_used;
				bool cut = false;
				size_t n = ingest_json_unescape(text + s, e - s, dst,
				                                INGEST_SCRATCH_BYTES - ev->scratch_used,
				                                &cut);
				if (cut)
					ev->flags |= INGEST_EVF_TRUNCATED;
				ev->scratch_used += (uint32_t)n;
				u = (struct ingest_str){.p = dst, .len = (uint32_t)n};
			} else {
				u = (struct ingest_str){.p = text + s, .len = (uint32_t)(e - s)};
			}
			if (u.len > 0)
				url_add(ev, u);
		}
		i = e > s ? e : s + 1;
	}
}

/* ---- JSON -------------------------------------------------------------- */

/* Sets obj.path ("a.b.c") to v (stolen), creating objects on the way. */
static void
set_path(json_t *root, const char *path, json_t *v)
{
	if (v == NULL)
		return;
	json_t *o = root;
	char seg[64];
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		if (dot == NULL) {
			json_object_set_new(o, p, v);
			return;
		}
		size_t n = (size_t)(dot - p);
		memcpy(seg, p, n);
		seg[n] = '\0';
		json_t *next = json_object_get(o, seg);
		if (!json_is_object(next)) {
			next = json_object();
			json_object_set_new(o, seg, next);
		}
		o = next;
		p = dot + 1;
	}
}

static void
set_str(json_t *root, const char *path, struct ingest_str s)
{
	if (s.len > 0)
		set_path(root, path, json_stringn(s.p, s.len));
}

static void
set_int(json_t *root, const char *path, int64_t v)
{
	if (v != 0)
		set_path(root, path, json_integer(v));
}

static void
set_ip(json_t *root, const char *path, const struct ingest_ip *ip)
{
	char buf[46];
	if (ip->family == 0)
		return;
	ingest_ip_format(ip, buf, sizeof(buf));
	set_path(root, path, json_string(buf));
}

json_t *
ingest_event_to_json(const struct ingest_event *ev)
{
	json_t *o = json_object();
	if (ev->ts_ms != 0) {
		char ts[32];
		time_format_rfc3339(ev->ts_ms, ts, sizeof(ts));
		set_path(o, "@timestamp", json_string(ts));
	}
	set_path(o, "event.kind", json_string(ev->kind == INGEST_EV_ALERT ? "alert" : "event"));
	set_path(o, "event.dataset", json_string(ingest_kind_name(ev->kind)));
	set_int(o, "event.severity", ev->severity);
	set_str(o, "event.action", ev->action);
	set_int(o, "observer.id", ev->sensor_id);
	set_str(o, "observer.name", ev->sensor);
	set_int(o, "organization.id", ev->org_id);
	set_ip(o, "source.ip", &ev->src_ip);
	set_int(o, "source.port", ev->src_port);
	set_int(o, "source.bytes", ev->bytes_to_server);
	set_int(o, "source.packets", ev->pkts_to_server);
	set_ip(o, "destination.ip", &ev->dst_ip);
	set_int(o, "destination.port", ev->dst_port);
	set_int(o, "destination.bytes", ev->bytes_to_client);
	set_int(o, "destination.packets", ev->pkts_to_client);
	set_str(o, "network.transport", ev->proto);
	set_str(o, "network.protocol", ev->app_proto);
	set_int(o, "flow.id", ev->flow_id);
	set_str(o, "dns.question.name", ev->dns_qname);
	set_str(o, "dns.question.type", ev->dns_qtype);
	set_str(o, "url.full", ev->url_full);
	set_str(o, "url.domain", ev->url_domain);
	set_str(o, "url.path", ev->url_path);
	set_str(o, "http.request.method", ev->http_method);
	set_int(o, "http.response.status_code", ev->http_status);
	set_str(o, "user_agent.original", ev->user_agent);
	set_str(o, "tls.client.server_name", ev->tls_sni);
	set_str(o, "tls.client.ja3", ev->tls_ja3);
	set_str(o, "file.name", ev->file_name);
	set_str(o, "file.hash.sha256", ev->file_sha256);
	set_str(o, "file.hash.md5", ev->file_md5);
	set_str(o, "file.hash.sha1", ev->file_sha1);
	set_int(o, "file.size", ev->file_size);
	set_str(o, "email.from.address", ev->email_from);
	set_str(o, "email.to.address", ev->email_to);
	set_str(o, "email.subject", ev->email_subject);
	if (ev->nurls > 0) {
		json_t *a = json_array();
		for (int i = 0; i < ev->nurls && i < INGEST_MAX_URLS; i++) {
			json_t *u = json_stringn(ev->urls[i].p, ev->urls[i].len);
			if (u != NULL)
				json_array_append_new(a, u);
		}
		set_path(o, "email.urls", a);
	}
	set_str(o, "user.name", ev->user_name);
	set_str(o, "process.command_line", ev->command);
	set_str(o, "message", ev->message);
	set_str(o, "rule.name", ev->rule_name);
	set_int(o, "rule.id", ev->rule_id);
	set_str(o, "host.hostname", ev->host_name);
	set_str(o, "process.name", ev->app_name);
	if (ev->src_country[0] != '\0')
		set_path(o, "source.geo.country_iso_code", json_stringn(ev->src_country, 2));
	if (ev->dst_country[0] != '\0')
		set_path(o, "destination.geo.country_iso_code", json_stringn(ev->dst_country, 2));
	set_int(o, "source.as.number", ev->src_asn);
	set_int(o, "destination.as.number", ev->dst_asn);
	if (ev->flags & INGEST_EVF_TRUNCATED)
		set_path(o, "ciip.truncated", json_true());
	return o;
}
