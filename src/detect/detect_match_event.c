/*
 * detect_match_event.c - what the matcher sees in an event: the STIX
 * cyber-observable objects (slots) and their property values, extracted
 * from a struct ingest_event and normalised once per event; the same facts
 * as a STIX observed-data "objects" dictionary for the evaluator and for
 * sightings; and the normalisers shared with the compiler, so that an
 * indicator's literal and an event's value meet in one form.
 *
 * Which ECS field fills which object (docs/MATCHING.md has the table):
 * source.ip and destination.ip each give an ipv4-addr or ipv6-addr object
 * and the src_ref/dst_ref of one network-traffic object, which also holds
 * the ports, byte and packet counts and the protocols (transport, then
 * application protocol); dns.question.name, url.domain, tls.client.server_name
 * and the host of every URL give domain-name objects; url.full and the URLs
 * of a body give url objects; file.* gives one file object; the e-mail
 * addresses give email-addr objects referenced by one email-message holding
 * the subject; user.name gives a user-account (user_id and account_login);
 * process.command_line gives a process.
 */
#include "detect/detect_match_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

/* ---- names ------------------------------------------------------------------ */

static const char *const obj_names[MO_COUNT] = {
    [MO_NONE] = "",
    [MO_IPV4] = "ipv4-addr",
    [MO_IPV6] = "ipv6-addr",
    [MO_NT] = "network-traffic",
    [MO_DOMAIN] = "domain-name",
    [MO_URL] = "url",
    [MO_FILE] = "file",
    [MO_EMAIL] = "email-addr",
    [MO_MSG] = "email-message",
    [MO_USER] = "user-account",
    [MO_PROC] = "process",
};

const char *
mobj_name(enum mobj o)
{
	return (unsigned)o < MO_COUNT ? obj_names[o] : "";
}

enum mobj
mobj_from_name(const char *type)
{
	for (unsigned i = 1; i < MO_COUNT; i++) {
		if (strcmp(type, obj_names[i]) == 0)
			return (enum mobj)i;
	}
	return MO_NONE;
}

static const struct {
	const char *path;
	enum mnorm norm;
} field_defs[MF_COUNT] = {
    [MF_NONE] = {"", MN_NONE},
    [MF_TYPE] = {"type", MN_NONE},
    [MF_IP_VALUE] = {"value", MN_IP},
    [MF_NT_SRC_REF] = {"src_ref", MN_NONE},
    [MF_NT_DST_REF] = {"dst_ref", MN_NONE},
    [MF_NT_SRC_TYPE] = {"src_ref.type", MN_NONE},
    [MF_NT_DST_TYPE] = {"dst_ref.type", MN_NONE},
    [MF_NT_SRC_VALUE] = {"src_ref.value", MN_IP},
    [MF_NT_DST_VALUE] = {"dst_ref.value", MN_IP},
    [MF_NT_SRC_PORT] = {"src_port", MN_NONE},
    [MF_NT_DST_PORT] = {"dst_port", MN_NONE},
    [MF_NT_SRC_BYTES] = {"src_byte_count", MN_NONE},
    [MF_NT_DST_BYTES] = {"dst_byte_count", MN_NONE},
    [MF_NT_SRC_PACKETS] = {"src_packets", MN_NONE},
    [MF_NT_DST_PACKETS] = {"dst_packets", MN_NONE},
    [MF_NT_PROTOCOLS] = {"protocols", MN_NONE},
    [MF_NT_PROTOCOL] = {"protocols[*]", MN_NONE},
    [MF_DOMAIN_VALUE] = {"value", MN_DOMAIN},
    [MF_URL_VALUE] = {"value", MN_URL},
    [MF_FILE_NAME] = {"name", MN_NONE},
    [MF_FILE_HASHES] = {"hashes", MN_NONE},
    [MF_FILE_SHA256] = {"hashes.SHA-256", MN_LOWER},
    [MF_FILE_MD5] = {"hashes.MD5", MN_LOWER},
    [MF_FILE_SHA1] = {"hashes.SHA-1", MN_LOWER},
    [MF_FILE_SIZE] = {"size", MN_NONE},
    [MF_EMAIL_VALUE] = {"value", MN_LOWER},
    [MF_MSG_FROM_REF] = {"from_ref", MN_NONE},
    [MF_MSG_FROM_TYPE] = {"from_ref.type", MN_NONE},
    [MF_MSG_FROM_VALUE] = {"from_ref.value", MN_LOWER},
    [MF_MSG_TO_REFS] = {"to_refs", MN_NONE},
    [MF_MSG_TO_REF] = {"to_refs[*]", MN_NONE},
    [MF_MSG_TO_TYPE] = {"to_refs[*].type", MN_NONE},
    [MF_MSG_TO_VALUE] = {"to_refs[*].value", MN_LOWER},
    [MF_MSG_SUBJECT] = {"subject", MN_NONE},
    [MF_USER_ID] = {"user_id", MN_NONE},
    [MF_USER_LOGIN] = {"account_login", MN_NONE},
    [MF_PROC_CMDLINE] = {"command_line", MN_NONE},
};

enum mnorm
mfield_norm(enum mfield f)
{
	return (unsigned)f < MF_COUNT ? field_defs[f].norm : MN_NONE;
}

const char *
mfield_path(enum mfield f)
{
	return (unsigned)f < MF_COUNT ? field_defs[f].path : "";
}

/* ---- property kinds and addresses -------------------------------------------------- */

/* "a.b.c.d", "a.b.c.d/n", "v6", "v6/n", as the evaluator reads them. */
bool
mnet_parse(const char *s, size_t n, int *family, uint8_t addr[16], int *prefix)
{
	char tmp[64];
	if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash = '\0';
	*family = strchr(tmp, ':') ? 6 : 4;
	memset(addr, 0, 16);
	if (inet_pton(*family == 6 ? AF_INET6 : AF_INET, tmp, addr) != 1)
		return false;
	int max = *family == 4 ? 32 : 128;
	*prefix = max;
	if (slash != NULL) {
		int64_t p = 0;
		if (parse_int64(slash + 1, 0, max, &p) != 0)
			return false;
		*prefix = (int)p;
	}
	return true;
}


/* Is block a (family, addr, prefix) inside block b? */
bool
mnet_within(int fa, const uint8_t *a, int pa, int fb, const uint8_t *b, int pb)
{
	if (fa != fb || pa < pb)
		return false;
	int bits = pb;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] & mask) != (b[i] & mask))
			return false;
	}
	return true;
}


bool
mfield_is_ip(enum mfield f)
{
	return f == MF_IP_VALUE || f == MF_NT_SRC_VALUE || f == MF_NT_DST_VALUE;
}


bool
mfield_is_int(enum mfield f)
{
	return f == MF_NT_SRC_PORT || f == MF_NT_DST_PORT || f == MF_NT_SRC_BYTES ||
	       f == MF_NT_DST_BYTES || f == MF_NT_SRC_PACKETS || f == MF_NT_DST_PACKETS ||
	       f == MF_FILE_SIZE;
}


/* Properties whose value is an object or a list: never ordered or matched. */
bool
mfield_is_other(enum mfield f)
{
	return f == MF_NT_SRC_REF || f == MF_NT_DST_REF || f == MF_NT_PROTOCOLS ||
	       f == MF_FILE_HASHES || f == MF_MSG_FROM_REF || f == MF_MSG_TO_REFS ||
	       f == MF_MSG_TO_REF;
}


/* Properties the matcher synthesises rather than extracts. */
bool
mfield_is_synth(enum mfield f)
{
	return f == MF_TYPE || f == MF_NT_SRC_TYPE || f == MF_NT_DST_TYPE || f == MF_MSG_FROM_TYPE ||
	       f == MF_MSG_TO_TYPE || mfield_is_other(f);
}


enum mspace
mfield_space(enum mfield f)
{
	if (mfield_is_ip(f))
		return MS_IP4;
	if (f == MF_DOMAIN_VALUE)
		return MS_DOMAIN;
	if (f == MF_EMAIL_VALUE || f == MF_MSG_FROM_VALUE || f == MF_MSG_TO_VALUE)
		return MS_EMAIL;
	if (mfield_is_int(f))
		return (enum mspace)(MS_INT_BASE + f);
	return (enum mspace)(MS_STR_BASE + f);
}

unsigned
mdomain_labels(const char *s, size_t n)
{
	unsigned k = 1;
	for (size_t i = 0; i < n; i++)
		k += s[i] == '.';
	return k > 63 ? 63 : k;
}

/* ---- normalisers ---------------------------------------------------------------- */

bool
mutf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		/* ASCII runs eight at a time. */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static bool
has_upper(const char *s, size_t n)
{
	/* Eight bytes at a time: a byte is in 'A'..'Z' when adding 0x3f
	 * carries it past 0x7f (>= 'A') and adding 0x25 does not (<= 'Z');
	 * bytes with the top bit set are neither. */
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		uint64_t low7 = w & ~high;
		uint64_t ge_a = low7 + ones * 0x3f, gt_z = low7 + ones * 0x25;
		if ((ge_a & ~gt_z & ~w & high) != 0)
			return true;
	}
	for (; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	}
	return false;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static const char *
norm_lower(const char *s, size_t n, bool domain, char *buf, size_t cap, size_t *outlen)
{
	size_t m = n;
	if (domain && m > 1 && s[m - 1] == '.')
		m--;
	if (!has_upper(s, m) || m > cap) {
		*outlen = m;
		return s;
	}
	for (size_t i = 0; i < m; i++)
		buf[i] = lower(s[i]);
	*outlen = m;
	return buf;
}

static bool
unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static bool
scheme_char(int c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* Most URLs are normal already: no upper case before the path, no port,
 * no escapes, a path. Checking is cheaper than copying. */
static bool
url_is_normal(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] != ':') {
		if (s[i] >= 'A' && s[i] <= 'Z')
			return false;
		i++;
	}
	if (i + 3 > n || memcmp(s + i, "://", 3) != 0)
		return true; /* not a URL we touch */
	i += 3;
	size_t a = i;
	while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#') {
		if ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ':' || s[i] == '@' || s[i] == '[')
			return false;
		i++;
	}
	if (i == n || s[i] != '/' || i == a)
		return false;
	return memchr(s + i, '%', n - i) == NULL;
}

static const char *
norm_url(const char *s, size_t n, char *buf, size_t cap, size_t *outlen)
{
	*outlen = n;
	if (url_is_normal(s, n))
		return s;
	/* scheme "://" */
	size_t i = 0;
	while (i < n && scheme_char((unsigned char)s[i], i == 0))
		i++;
	if (i == 0 || i + 3 > n || memcmp(s + i, "://", 3) != 0 || n + 1 > cap)
		return s;
	size_t scheme_len = i;
	size_t k = 0;
	for (size_t j = 0; j < scheme_len; j++)
		buf[k++] = lower(s[j]);
	memcpy(buf + k, "://", 3);
	k += 3;
	i += 3;
	/* authority: [userinfo@]host[:port] */
	size_t auth_end = i;
	while (auth_end < n && s[auth_end] != '/' && s[auth_end] != '?' && s[auth_end] != '#')
		auth_end++;
	size_t host = i;
	for (size_t j = i; j < auth_end; j++) {
		if (s[j] == '@')
			host = j + 1;
	}
	memcpy(buf + k, s + i, host - i); /* userinfo as written */
	k += host - i;
	size_t host_end = host;
	if (host_end < auth_end && s[host_end] == '[') {
		while (host_end < auth_end && s[host_end] != ']')
			host_end++;
		if (host_end < auth_end)
			host_end++;
	} else {
		while (host_end < auth_end && s[host_end] != ':')
			host_end++;
	}
	for (size_t j = host; j < host_end; j++)
		buf[k++] = lower(s[j]);
	if (host_end < auth_end && s[host_end] == ':') {
		const char *port = s + host_end + 1;
		size_t plen = auth_end - host_end - 1;
		static const struct {
			const char *scheme, *port;
		} defaults[] = {{"http", "80"}, {"https", "443"}, {"ftp", "21"}, {"ws", "80"}, {"wss", "443"}};
		bool drop = plen == 0;
		for (size_t d = 0; d < CIIP_ARRAY_LEN(defaults) && !drop; d++) {
			drop = strlen(defaults[d].scheme) == scheme_len &&
			       strncmp(buf, defaults[d].scheme, scheme_len) == 0 &&
			       strlen(defaults[d].port) == plen && memcmp(port, defaults[d].port, plen) == 0;
		}
		if (!drop) {
			memcpy(buf + k, s + host_end, auth_end - host_end);
			k += auth_end - host_end;
		}
	}
	bool web = (scheme_len == 4 && strncmp(buf, "http", 4) == 0) ||
	           (scheme_len == 5 && strncmp(buf, "https", 5) == 0);
	if (web && (auth_end == n || s[auth_end] != '/'))
		buf[k++] = '/'; /* an empty path is "/" */
	/* The rest: decode escapes of unreserved characters, upper-case the
	 * hex of the others. */
	for (size_t j = auth_end; j < n; j++) {
		int h1 = j + 2 < n ? hex_digit((unsigned char)s[j + 1]) : -1;
		int h2 = j + 2 < n ? hex_digit((unsigned char)s[j + 2]) : -1;
		if (s[j] == '%' && h1 >= 0 && h2 >= 0) {
			int c = h1 * 16 + h2;
			if (unreserved(c)) {
				buf[k++] = (char)c;
			} else {
				buf[k++] = '%';
				buf[k++] = "0123456789ABCDEF"[h1];
				buf[k++] = "0123456789ABCDEF"[h2];
			}
			j += 2;
			continue;
		}
		buf[k++] = s[j];
	}
	*outlen = k;
	if (k == n && memcmp(buf, s, n) == 0)
		return s;
	return buf;
}

const char *
mnorm_apply(enum mnorm how, const char *s, size_t n, char *buf, size_t cap, size_t *outlen)
{
	switch (how) {
	case MN_LOWER: return norm_lower(s, n, false, buf, cap, outlen);
	case MN_DOMAIN: return norm_lower(s, n, true, buf, cap, outlen);
	case MN_URL: return norm_url(s, n, buf, cap, outlen);
	case MN_IP:
	case MN_NONE: break;
	}
	*outlen = n;
	return s;
}

char *
detect_match_url_normalise(const char *url, size_t len)
{
	char *buf = xmalloc(len + 2);
	size_t n = 0;
	const char *r = norm_url(url, len, buf, len + 1, &n);
	if (r != buf)
		memcpy(buf, r, n);
	buf[n] = '\0';
	return buf;
}

/* ---- extraction ------------------------------------------------------------------ */

static unsigned
slot_open(struct mevent *me, enum mobj obj)
{
	struct mslot *s = &me->slot[me->nslots];
	memset(s, 0, sizeof(*s));
	s->obj = (uint8_t)obj;
	s->first = (uint8_t)me->nvals;
	me->objs |= 1u << obj;
	s->ref_src = s->ref_dst = s->ref_from = s->ref_to = 0xff;
	return me->nslots++;
}

static bool
need(const struct mevent *me, enum mfield f)
{
	return (me->need >> f) & 1;
}

static struct mval *
val_add(struct mevent *me, unsigned slot, enum mfield f, enum mkind kind)
{
	struct mval *v = &me->val[me->nvals++];
	memset(v, 0, sizeof(*v));
	v->field = (uint8_t)f;
	v->slot = (uint8_t)slot;
	me->fields |= 1ull << f;
	v->kind = (uint8_t)kind;
	v->probe = 1;
	v->alias_field = MF_NONE;
	me->slot[slot].n++;
	return v;
}

/* A normalised copy of a string in the event's buffer (or the string). */
static const char *
norm_copy(struct mevent *me, enum mnorm how, const char *p, size_t n, size_t *outlen)
{
	size_t room = me->cap - me->used;
	size_t cap = room < MEV_NORM_MAX + 1 ? room : MEV_NORM_MAX + 1;
	const char *r = mnorm_apply(how, p, n, me->buf + me->used, cap, outlen);
	if (r == me->buf + me->used)
		me->used += *outlen;
	return r;
}

static void
str_val(struct mevent *me, unsigned slot, enum mfield f, struct ingest_str s)
{
	if (!need(me, f))
		return;
	struct mval *v = val_add(me, slot, f, MK_STR);
	size_t n = 0;
	v->s = norm_copy(me, mfield_norm(f), s.p, s.len, &n);
	v->len = (uint32_t)n;
}

static void
int_val(struct mevent *me, unsigned slot, enum mfield f, int64_t i)
{
	if (i != 0 && need(me, f))
		val_add(me, slot, f, MK_INT)->i = i;
}

static bool
have(struct ingest_str s)
{
	return s.len > 0 && s.p != NULL;
}

/* Domains come from several fields; one object per distinct name. */
static void
domain_add(struct mevent *me, const char *p, size_t n)
{
	if (n == 0 || me->nslots >= MEV_MAX_SLOTS - 8 || me->nvals >= MEV_MAX_VALUES - 16)
		return;
	size_t m = 0;
	size_t save = me->used;
	const char *d = norm_copy(me, MN_DOMAIN, p, n, &m);
	for (unsigned i = 0; i < me->nslots; i++) {
		const struct mval *v = &me->val[me->slot[i].first];
		if (me->slot[i].obj == MO_DOMAIN && v->len == m && memcmp(v->s, d, m) == 0) {
			me->used = save;
			return;
		}
	}
	unsigned s = slot_open(me, MO_DOMAIN);
	struct mval *v = val_add(me, s, MF_DOMAIN_VALUE, MK_STR);
	v->s = d;
	v->len = (uint32_t)m;
}

/* The host of a normalised URL, if it is a name (not an address literal). */
static void
url_host(struct mevent *me, const char *u, size_t n)
{
	const char *sep = NULL;
	for (size_t i = 0; i + 2 < n; i++) {
		if (u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/') {
			sep = u + i + 3;
			break;
		}
		if (u[i] == '/' || u[i] == '?' || u[i] == '#')
			break;
	}
	if (sep == NULL)
		return;
	const char *end = u + n, *h = sep;
	const char *a = sep;
	while (a < end && *a != '/' && *a != '?' && *a != '#')
		a++;
	for (const char *q = sep; q < a; q++) {
		if (*q == '@')
			h = q + 1;
	}
	const char *he = h;
	while (he < a && *he != ':')
		he++;
	if (he == h || *h == '[')
		return;
	/* An IPv4 literal ends in a digit (IPv6 ones are bracketed): only
	 * those are worth parsing. */
	struct ingest_ip ip;
	if (he[-1] >= '0' && he[-1] <= '9' && ingest_ip_parse(h, (size_t)(he - h), &ip) == 0)
		return;
	domain_add(me, h, (size_t)(he - h));
}

static void
url_add(struct mevent *me, struct ingest_str s)
{
	if (!have(s) || me->nslots >= MEV_MAX_SLOTS - 8 || me->nvals >= MEV_MAX_VALUES - 16)
		return;
	size_t m = 0;
	size_t save = me->used;
	const char *u = norm_copy(me, MN_URL, s.p, s.len, &m);
	for (unsigned i = 0; i < me->nslots; i++) {
		const struct mval *v = &me->val[me->slot[i].first];
		if (me->slot[i].obj == MO_URL && v->len == m && memcmp(v->s, u, m) == 0) {
			me->used = save;
			return;
		}
	}
	unsigned slot = slot_open(me, MO_URL);
	struct mval *v = val_add(me, slot, MF_URL_VALUE, MK_STR);
	v->s = u;
	v->len = (uint32_t)m;
}

uint64_t
mevent_need(uint64_t mask)
{
	const uint64_t bit = 1;
	if (mask & (bit << MF_TYPE))
		return MEVENT_ALL; /* every object, so every value that makes one */
	if (mask & ((bit << MF_NT_SRC_VALUE) | (bit << MF_NT_DST_VALUE)))
		mask |= bit << MF_IP_VALUE;
	if (mask & (bit << MF_DOMAIN_VALUE))
		mask |= bit << MF_URL_VALUE; /* the hosts of URLs are domains */
	/* E-mail addresses are objects that messages refer to: always. */
	mask |= (bit << MF_EMAIL_VALUE) | (bit << MF_MSG_FROM_VALUE) | (bit << MF_MSG_TO_VALUE);
	return mask;
}

/* An address object, and its value when it is needed. */
static unsigned
ip_add(struct mevent *me, const struct ingest_ip *ip)
{
	unsigned s = slot_open(me, ip->family == 4 ? MO_IPV4 : MO_IPV6);
	me->slot[s].family = ip->family;
	if (need(me, MF_IP_VALUE)) {
		me->ipval[me->nip++] = (uint8_t)me->nvals;
		val_add(me, s, MF_IP_VALUE, MK_IP)->ip = ip;
	}
	return s;
}

const uint8_t mevent_number_field[MEVENT_NUMBERS] = {
    MF_NT_SRC_PORT,  MF_NT_DST_PORT,    MF_NT_SRC_BYTES,
    MF_NT_DST_BYTES, MF_NT_SRC_PACKETS, MF_NT_DST_PACKETS};

void
mevent_numbers(const struct ingest_event *ev, int64_t num[MEVENT_NUMBERS])
{
	num[0] = ev->src_port;
	num[1] = ev->dst_port;
	num[2] = ev->bytes_to_server;
	num[3] = ev->bytes_to_client;
	num[4] = ev->pkts_to_server;
	num[5] = ev->pkts_to_client;
}

bool
mevent_addresses_only(const struct ingest_event *ev)
{
	/* Everything mevent_fill() reads beyond the network-traffic object
	 * (a string is there when its length is not 0). */
	return (ev->dns_qname.len | ev->url_domain.len | ev->tls_sni.len | ev->url_full.len |
	        ev->file_name.len | ev->file_sha256.len | ev->file_md5.len | ev->file_sha1.len |
	        ev->email_from.len | ev->email_to.len | ev->email_subject.len | ev->user_name.len |
	        ev->command.len) == 0 &&
	       ev->nurls == 0 && ev->file_size == 0;
}

/* A field of ev read here outside the network-traffic object must also be
 * in mevent_addresses_only(), or flows carrying it would be looked up
 * without it. */
void
mevent_fill(struct mevent *me, const struct ingest_event *ev, char *buf, size_t cap,
            uint64_t need_mask)
{
	me->ev = ev;
	me->buf = buf;
	me->cap = cap;
	me->need = need_mask;
	me->nslots = me->nvals = me->nip = 0;
	me->used = 0;
	me->fields = 0;
	me->objs = 0;
	unsigned src = 0xff, dst = 0xff, nt = 0xff;
	if (ev->src_ip.family == 4 || ev->src_ip.family == 6)
		src = ip_add(me, &ev->src_ip);
	if (ev->dst_ip.family == 4 || ev->dst_ip.family == 6)
		dst = ip_add(me, &ev->dst_ip);
	if (src != 0xff || dst != 0xff || ev->src_port || ev->dst_port || have(ev->proto) ||
	    have(ev->app_proto)) {
		nt = slot_open(me, MO_NT);
		struct mslot *s = &me->slot[nt];
		if (src != 0xff)
			s->ref_src = (uint8_t)src;
		if (dst != 0xff)
			s->ref_dst = (uint8_t)dst;
		if (src != 0xff && need(me, MF_NT_SRC_VALUE)) {
			struct mval *v = val_add(me, nt, MF_NT_SRC_VALUE, MK_IP);
			v->ip = &ev->src_ip;
			v->probe = 0;
			me->val[me->slot[src].first].alias_field = MF_NT_SRC_VALUE;
			me->val[me->slot[src].first].alias_slot = (uint8_t)nt;
		}
		if (dst != 0xff && need(me, MF_NT_DST_VALUE)) {
			struct mval *v = val_add(me, nt, MF_NT_DST_VALUE, MK_IP);
			v->ip = &ev->dst_ip;
			v->probe = 0;
			me->val[me->slot[dst].first].alias_field = MF_NT_DST_VALUE;
			me->val[me->slot[dst].first].alias_slot = (uint8_t)nt;
		}
		int64_t num[MEVENT_NUMBERS];
		mevent_numbers(ev, num);
		for (unsigned k = 0; k < MEVENT_NUMBERS; k++)
			int_val(me, nt, mevent_number_field[k], num[k]);
		/* STIX writes protocols in lower case, outermost first. */
		const struct ingest_str protos[2] = {ev->proto, ev->app_proto};
		for (int i = 0; i < 2; i++) {
			if (!have(protos[i]))
				continue;
			if (!need(me, MF_NT_PROTOCOL)) {
				me->slot[nt].nprotos++;
				continue;
			}
			struct mval *v = val_add(me, nt, MF_NT_PROTOCOL, MK_STR);
			size_t n = 0;
			v->s = norm_copy(me, MN_LOWER, protos[i].p, protos[i].len, &n);
			v->len = (uint32_t)n;
			v->idx = me->slot[nt].nprotos++;
		}
	}
	if (need(me, MF_DOMAIN_VALUE)) {
		if (have(ev->dns_qname))
			domain_add(me, ev->dns_qname.p, ev->dns_qname.len);
		if (have(ev->url_domain))
			domain_add(me, ev->url_domain.p, ev->url_domain.len);
		if (have(ev->tls_sni))
			domain_add(me, ev->tls_sni.p, ev->tls_sni.len);
	}
	if (need(me, MF_URL_VALUE)) {
		unsigned first_url = me->nslots;
		url_add(me, ev->url_full);
		for (int i = 0; i < ev->nurls && i < INGEST_MAX_URLS; i++)
			url_add(me, ev->urls[i]);
		unsigned last_url = me->nslots;
		for (unsigned i = first_url; i < last_url && need(me, MF_DOMAIN_VALUE); i++) {
			const struct mval *v = &me->val[me->slot[i].first];
			url_host(me, v->s, v->len);
		}
	}
	if (have(ev->file_name) || have(ev->file_sha256) || have(ev->file_md5) ||
	    have(ev->file_sha1) || ev->file_size != 0) {
		unsigned f = slot_open(me, MO_FILE);
		if (have(ev->file_name))
			str_val(me, f, MF_FILE_NAME, ev->file_name);
		if (have(ev->file_sha256))
			str_val(me, f, MF_FILE_SHA256, ev->file_sha256);
		if (have(ev->file_md5))
			str_val(me, f, MF_FILE_MD5, ev->file_md5);
		if (have(ev->file_sha1))
			str_val(me, f, MF_FILE_SHA1, ev->file_sha1);
		me->slot[f].hashes = have(ev->file_sha256) || have(ev->file_md5) || have(ev->file_sha1);
		int_val(me, f, MF_FILE_SIZE, ev->file_size);
	}
	unsigned from = 0xff, to = 0xff;
	if (have(ev->email_from)) {
		from = slot_open(me, MO_EMAIL);
		str_val(me, from, MF_EMAIL_VALUE, ev->email_from);
	}
	if (have(ev->email_to)) {
		to = slot_open(me, MO_EMAIL);
		str_val(me, to, MF_EMAIL_VALUE, ev->email_to);
	}
	if (from != 0xff || to != 0xff || have(ev->email_subject)) {
		unsigned m = slot_open(me, MO_MSG);
		if (from != 0xff) {
			me->slot[m].ref_from = (uint8_t)from;
			struct mval *v = val_add(me, m, MF_MSG_FROM_VALUE, MK_STR);
			*v = me->val[me->slot[from].first];
			v->field = MF_MSG_FROM_VALUE;
			v->slot = (uint8_t)m;
			v->probe = 0;
			me->val[me->slot[from].first].alias_field = MF_MSG_FROM_VALUE;
			me->val[me->slot[from].first].alias_slot = (uint8_t)m;
		}
		if (to != 0xff) {
			me->slot[m].nto = 1;
			me->slot[m].ref_to = (uint8_t)to;
			struct mval *v = val_add(me, m, MF_MSG_TO_VALUE, MK_STR);
			*v = me->val[me->slot[to].first];
			v->field = MF_MSG_TO_VALUE;
			v->slot = (uint8_t)m;
			v->idx = 0;
			v->probe = 0;
			me->val[me->slot[to].first].alias_field = MF_MSG_TO_VALUE;
			me->val[me->slot[to].first].alias_slot = (uint8_t)m;
		}
		if (have(ev->email_subject))
			str_val(me, m, MF_MSG_SUBJECT, ev->email_subject);
	}
	if (have(ev->user_name)) {
		unsigned u = slot_open(me, MO_USER);
		str_val(me, u, MF_USER_ID, ev->user_name);
		str_val(me, u, MF_USER_LOGIN, ev->user_name);
	}
	if (have(ev->command)) {
		unsigned p = slot_open(me, MO_PROC);
		str_val(me, p, MF_PROC_CMDLINE, ev->command);
	}
}

const char *
mval_text(struct mevent *me, struct mval *v, uint32_t *len)
{
	if (v->kind == MK_IP && v->s == NULL) {
		char *buf = me->iptext[v->ip == &me->ev->src_ip ? 0 : 1];
		ingest_ip_format(v->ip, buf, sizeof(me->iptext[0]));
		v->s = buf;
		v->len = (uint32_t)strlen(buf);
	}
	*len = v->len;
	return v->s;
}

bool
mval_utf8(struct mevent *me, struct mval *v)
{
	if (v->utf8 == 0) {
		uint32_t n = 0;
		const char *s = mval_text(me, v, &n);
		v->utf8 = mutf8_valid(s, n) ? 1 : 2;
	}
	return v->utf8 == 1;
}

/* ---- as observed-data ------------------------------------------------------------- */

static json_t *
jstr(const char *s, size_t n)
{
	return json_stringn(s, n); /* NULL for text that is not UTF-8: left out */
}

json_t *
detect_match_event_objects(const struct ingest_event *ev)
{
	struct mevent *me = xmalloc(sizeof(*me) + MEV_BUF_BYTES);
	mevent_fill(me, ev, (char *)(me + 1), MEV_BUF_BYTES, MEVENT_ALL);
	json_t *objs = json_object();
	char key[8];
	for (unsigned i = 0; i < me->nslots; i++) {
		const struct mslot *s = &me->slot[i];
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string(mobj_name(s->obj)));
		json_t *protos = NULL, *hashes = NULL, *to = NULL;
		for (unsigned k = 0; k < s->n; k++) {
			struct mval *v = &me->val[s->first + k];
			uint32_t n = 0;
			const char *t = v->kind == MK_INT ? NULL : mval_text(me, v, &n);
			json_t *j = v->kind == MK_INT ? json_integer(v->i) : jstr(t, n);
			if (j == NULL)
				continue;
			switch (v->field) {
			case MF_NT_SRC_VALUE:
			case MF_NT_DST_VALUE:
			case MF_MSG_FROM_VALUE:
				json_decref(j); /* references, below */
				break;
			case MF_MSG_TO_VALUE:
				json_decref(j);
				break;
			case MF_NT_PROTOCOL:
				if (protos == NULL)
					protos = json_array();
				json_array_append_new(protos, j);
				break;
			case MF_FILE_SHA256:
			case MF_FILE_MD5:
			case MF_FILE_SHA1:
				if (hashes == NULL)
					hashes = json_object();
				json_object_set_new(hashes,
				                    v->field == MF_FILE_SHA256 ? "SHA-256"
				                    : v->field == MF_FILE_MD5  ? "MD5"
				                                               : "SHA-1",
				                    j);
				break;
			default: json_object_set_new(o, mfield_path(v->field), j); break;
			}
		}
		if (s->obj == MO_NT) {
			if (s->ref_src != 0xff) {
				snprintf(key, sizeof(key), "%u", s->ref_src);
				json_object_set_new(o, "src_ref", json_string(key));
			}
			if (s->ref_dst != 0xff) {
				snprintf(key, sizeof(key), "%u", s->ref_dst);
				json_object_set_new(o, "dst_ref", json_string(key));
			}
		}
		if (s->obj == MO_MSG) {
			if (s->ref_from != 0xff) {
				snprintf(key, sizeof(key), "%u", s->ref_from);
				json_object_set_new(o, "from_ref", json_string(key));
			}
			if (s->ref_to != 0xff) {
				snprintf(key, sizeof(key), "%u", s->ref_to);
				to = json_array();
				json_array_append_new(to, json_string(key));
			}
		}
		if (protos != NULL)
			json_object_set_new(o, "protocols", protos);
		if (hashes != NULL)
			json_object_set_new(o, "hashes", hashes);
		if (to != NULL)
			json_object_set_new(o, "to_refs", to);
		snprintf(key, sizeof(key), "%u", i);
		json_object_set_new(objs, key, o);
	}
	free(me);
	return objs;
}
