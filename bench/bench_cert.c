/*
 * bench_cert.c - the console's list queries on a large store: 1,000,000
 * incident reports and 100,000 advisories (sizes adjustable), filled in
 * batches on the writer thread, then each list query run through the very
 * service function the API calls, timed, and reported as p50 and p99.
 *
 * usage: bench_cert [--incidents N] [--advisories N] [--runs N] [--dir DIR]
 *
 * The data is synthetic and deterministic (a fixed xorshift seed): 49
 * member organisations, states in the proportions of a working node (most
 * reports closed), levels 1-4, times spread over a year before "now", so
 * that a realistic share of open reports is overdue.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "advisory/advisory.h"
#include "auth/auth.h"
#include "cert/cert.h"

#define MEMBERS 49
#define BATCH 25000
#define H 3600000LL

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t
rnd_range(int64_t n)
{
	return (int64_t)(rnd() % (uint64_t)n);
}

static int64_t members[MEMBERS];
static int64_t root_org;
static int64_t now_ms;
static struct cert_rules rules;

struct fill {
	int64_t first, count;
	struct err e;
};

static const struct {
	const char *cls, *type;
} kinds[] = {
	{"intrusions", "system-compromise"}, {"availability", "ddos"},
	{"malicious-code", "infected-system"}, {"fraud", "phishing"},
	{"intrusion-attempts", "brute-force"}, {"information-gathering", "scanner"},
};

static enum cert_state
pick_state(void)
{
	/* Per mille: closed 700, recovered 80, contained 50, accepted 50,
	 * under_review 30, submitted 40, returned 20, draft 30. */
	int64_t r = rnd_range(1000);
	static const struct {
		int upto;
		enum cert_state s;
	} dist[] = {{700, CERT_CLOSED},    {780, CERT_RECOVERED},    {830, CERT_CONTAINED},
	            {880, CERT_ACCEPTED},  {910, CERT_UNDER_REVIEW}, {950, CERT_SUBMITTED},
	            {970, CERT_RETURNED},  {1000, CERT_DRAFT}};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(dist); i++)
		if (r < dist[i].upto)
			return dist[i].s;
	return CERT_CLOSED;
}

static void
bind_ms(struct store_stmt *s, int i, int64_t v)
{
	if (v)
		store_bind_int(s, i, v);
	else
		store_bind_null(s, i);
}

static int
fill_incidents(struct store_conn *c, void *arg)
{
	struct fill *f = arg;
	/* A statement is re-prepared for each row: the store hands back its
	 * cached copy, reset, which is how the store API re-runs a statement. */
	for (int64_t n = 0; n < f->count; n++) {
		struct store_stmt *s = store_prepare(
			c,
			"INSERT INTO cert_incidents(org_id, created_by_org, created_by, source, state, title,"
			" level, reported_level, class, type, tlp, stix_id, occurred_at, known_at, notified_at,"
			" submitted_at, review_started_at, reviewed_at, accepted_at, review_start, forward_start,"
			" forwarded_at, contain_start, contained_at, recovered_at, report_at, closed_at,"
			" next_due_at, next_due_kind, data, created_at, updated_at)"
			" VALUES (?,?,'bench','member',?,?,?,?,?,?,3,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			&f->e);
		if (s == NULL)
			return -1;
		int64_t org = members[rnd_range(MEMBERS)];
		enum cert_state st = pick_state();
		int64_t lr = rnd_range(100);
		int level = lr < 50 ? 1 : lr < 80 ? 2 : lr < 95 ? 3 : 4;
		int k = (int)rnd_range((int64_t)CIIP_ARRAY_LEN(kinds));
		struct cert_times t = {.level = level};
		t.known = now_ms - rnd_range(365 * 24 * H);
		t.contain_start = t.known;
		int64_t submitted = 0, review_started = 0, accepted = 0, closed = 0;
		if (st != CERT_DRAFT) {
			t.notified = t.known + rnd_range(2 * H);
			submitted = t.notified;
			t.review_start = submitted;
		}
		if (st == CERT_UNDER_REVIEW || st == CERT_RETURNED || st >= CERT_ACCEPTED)
			review_started = submitted + rnd_range(H);
		if (st == CERT_RETURNED || st >= CERT_ACCEPTED)
			t.reviewed = review_started + rnd_range(10 * H);
		if (st >= CERT_ACCEPTED) {
			accepted = t.reviewed;
			t.forward_start = accepted;
			t.forwarded = rnd_range(10) < 8 ? accepted + rnd_range(2 * H) : 0;
		}
		if (st >= CERT_CONTAINED)
			t.contained = t.known + rnd_range(80 * H);
		if (st >= CERT_RECOVERED)
			t.recovered = t.contained + rnd_range(24 * H);
		if (st == CERT_CLOSED) {
			t.reported = t.recovered + rnd_range(30 * 24 * H);
			closed = t.reported;
			t.forwarded = t.forwarded ? t.forwarded : accepted + H / 2;
		}
		struct cert_deadline_eval ev[CERT_DL_COUNT];
		cert_deadlines_eval(&rules, &t, ev);
		int kind = -1;
		int64_t due = cert_next_due(ev, &kind);
		char title[96], stix[80];
		int64_t id = f->first + n;
		snprintf(title, sizeof(title), "Bench incident %lld: %s", (long long)id, kinds[k].type);
		snprintf(stix, sizeof(stix), "incident--00000000-0000-4000-8000-%012llx",
		         (unsigned long long)id);
		int i = 1;
		store_bind_int(s, i++, org);
		store_bind_int(s, i++, org);
		store_bind_text(s, i++, cert_state_name(st));
		store_bind_text(s, i++, title);
		store_bind_int(s, i++, level);
		store_bind_int(s, i++, level);
		store_bind_text(s, i++, kinds[k].cls);
		store_bind_text(s, i++, kinds[k].type);
		store_bind_text(s, i++, stix);
		bind_ms(s, i++, t.known - rnd_range(H));
		store_bind_int(s, i++, t.known);
		bind_ms(s, i++, t.notified);
		bind_ms(s, i++, submitted);
		bind_ms(s, i++, review_started);
		bind_ms(s, i++, t.reviewed);
		bind_ms(s, i++, accepted);
		bind_ms(s, i++, t.review_start);
		bind_ms(s, i++, t.forward_start);
		bind_ms(s, i++, t.forwarded);
		store_bind_int(s, i++, t.contain_start);
		bind_ms(s, i++, t.contained);
		bind_ms(s, i++, t.recovered);
		bind_ms(s, i++, t.reported);
		bind_ms(s, i++, closed);
		bind_ms(s, i++, due);
		store_bind_text(s, i++, kind >= 0 ? cert_deadline_name((enum cert_deadline)kind) : NULL);
		store_bind_text(s, i++,
		                "{\"contact\":{\"name\":\"Duty officer\",\"email\":\"soc@example.org\"},"
		                "\"affected_systems\":[\"historian\"],\"description\":\"Synthetic report "
		                "for the benchmark.\",\"impact\":{\"confidentiality\":1,\"integrity\":1,"
		                "\"availability\":2}}");
		store_bind_int(s, i++, t.known);
		store_bind_int(s, i++, t.known);
		int rc = store_step(s, &f->e);
		store_finalize(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

/* Runs one INSERT with binds described by fmt ('i' int64_t, 's' text,
 * 'n' an int64_t where 0 binds NULL). */
static int
exec_row(struct store_conn *c, struct err *e, const char *sql, const char *fmt, ...)
{
	struct store_stmt *s = store_prepare(c, sql, e);
	if (s == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's') {
			store_bind_text(s, i + 1, va_arg(ap, const char *));
		} else {
			int64_t v = va_arg(ap, int64_t);
			if (fmt[i] == 'n' && v == 0)
				store_bind_null(s, i + 1);
			else
				store_bind_int(s, i + 1, v);
		}
	}
	va_end(ap);
	int rc = store_step(s, e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

static int
fill_advisories(struct store_conn *c, void *arg)
{
	struct fill *f = arg;
	static const char *const sev[] = {"low", "medium", "high", "critical"};
	static const char *const it[] = {"ANA", "DEF", "INT", "EWA", "FBI"};
	int rc = 0;
	for (int64_t n = 0; n < f->count && rc == 0; n++) {
		int64_t id = f->first + n;
		int64_t p = rnd_range(100);
		const char *state = p < 80 ? "published" : p < 85 ? "superseded" : p < 88 ? "withdrawn"
		                    : p < 95 ? "draft" : p < 98 ? "submitted" : "rejected";
		bool out = strcmp(state, "draft") && strcmp(state, "submitted") &&
		           strcmp(state, "rejected");
		int64_t at = now_ms - rnd_range(365 * 24 * H);
		char title[96], stix[80];
		snprintf(title, sizeof(title), "Bench advisory %lld", (long long)id);
		snprintf(stix, sizeof(stix), "report--00000000-0000-4000-8000-%012llx",
		         (unsigned long long)id);
		rc = exec_row(c, &f->e,
		              "INSERT INTO advisories(id, root_id, version, org_id, state, title,"
		              " severity, intel_type, tlp, reply_due_at, stix_id, author, data,"
		              " created_at, updated_at, published_at)"
		              " VALUES (?,?,1,?,?,?,?,?,?,?,?,'bench',?,?,?,?)",
		              "iiissssiissiin", id, id, root_org, state, title, sev[rnd_range(4)],
		              it[rnd_range(5)], (int64_t)(rnd_range(3) == 0 ? AUTH_TLP_GREEN
		                                                            : AUTH_TLP_AMBER),
		              at + 72 * H, stix,
		              "{\"summary\":\"Synthetic advisory.\",\"body\":\"Patch.\",\"targets\":"
		              "{\"sectors\":[\"energy\"]},\"cves\":[\"CVE-2024-3400\"]}",
		              at, at, out ? at : (int64_t)0);
		for (int k = 0; rc == 0 && k < 3 && strcmp(state, "published") == 0; k++) {
			int64_t org = members[rnd_range(MEMBERS)];
			rc = exec_row(c, &f->e,
			              "INSERT OR IGNORE INTO advisory_targets(root_id, org_id, version,"
			              " delivered_at, updated_at) VALUES (?,?,1,?,?)",
			              "iiii", id, org, at, at);
			if (rc == 0 && rnd_range(2) == 0)
				rc = exec_row(c, &f->e,
				              "INSERT INTO advisory_replies(root_id, org_id, status, replied_by,"
				              " created_at) VALUES (?,?,'affected','bench',?)",
				              "iii", id, org, at + H);
		}
	}
	return rc;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

typedef int (*list_fn)(struct auth_ctx *x, const json_t *q, json_t **out);

struct query {
	const char *name;
	list_fn fn;
	bool member;
	const char *key;                /* filter key, or NULL */
	const char *const *values;      /* chosen at random per run */
	size_t nvalues;
	bool random_org;
};

static const char *const open_states[] = {"submitted", "under_review", "returned", "accepted",
                                          "contained", "recovered", "closed"};
static const char *const adv_states[] = {"published", "draft", "submitted", "withdrawn"};

static int
adv_list(struct auth_ctx *x, const json_t *q, json_t **out)
{
	return advisory_svc_list(x, q, out);
}

static void
run(struct store *st, const struct config *cfg, const struct query *q, int runs)
{
	struct auth_caller staff, member;
	memset(&staff, 0, sizeof(staff));
	staff.user_id = 1;
	staff.org_id = root_org;
	staff.role = AUTH_ROLE_REVIEWER;
	staff.node_staff = true;
	staff.in_community = true;
	snprintf(staff.name, sizeof(staff.name), "bench-reviewer");
	member = staff;
	member.role = AUTH_ROLE_REPORTER;
	member.node_staff = false;
	int64_t *lat = xcalloc((size_t)runs, sizeof(*lat));
	size_t rows = 0;
	/* The first fifth warms the page cache and is not counted: the figure
	 * is for a node that has been serving its console for a while. */
	int warm = runs / 5;
	for (int i = -warm; i < runs; i++) {
		member.org_id = members[rnd_range(MEMBERS)];
		struct auth_ctx x = {.st = st, .cfg = cfg, .caller = q->member ? &member : &staff};
		json_t *in = json_object();
		if (q->key && q->values)
			json_object_set_new(in, q->key, json_string(q->values[rnd_range((int64_t)q->nvalues)]));
		if (q->key && strcmp(q->key, "overdue") == 0)
			json_object_set_new(in, "overdue", json_string("true"));
		if (q->random_org) {
			char org[32];
			snprintf(org, sizeof(org), "%lld", (long long)members[rnd_range(MEMBERS)]);
			json_object_set_new(in, "org", json_string(org));
		}
		json_t *out = NULL;
		int64_t t0 = time_mono_ns();
		int status = q->fn(&x, in, &out);
		int64_t took = time_mono_ns() - t0;
		if (status != 200) {
			fprintf(stderr, "%s: status %d\n", q->name, status);
			exit(1);
		}
		json_t *arr = json_object_get(out, "incidents");
		size_t got = json_array_size(arr ? arr : json_object_get(out, "advisories"));
		json_decref(out);
		json_decref(in);
		if (i < 0)
			continue;
		lat[i] = took;
		rows += got;
	}
	qsort(lat, (size_t)runs, sizeof(*lat), cmp_i64);
	printf("%-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%.1f rows/page)\n", q->name,
	       lat[runs / 2] / 1e6, lat[(runs * 99) / 100] / 1e6, lat[runs - 1] / 1e6,
	       (double)rows / runs);
	free(lat);
}

int
main(int argc, char **argv)
{
	int64_t n_inc = 1000000, n_adv = 100000, runs = 500;
	const char *dir_arg = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		int64_t *dst = strcmp(argv[i], "--incidents") == 0    ? &n_inc
		               : strcmp(argv[i], "--advisories") == 0 ? &n_adv
		               : strcmp(argv[i], "--runs") == 0       ? &runs
		                                                      : NULL;
		if (strcmp(argv[i], "--dir") == 0) {
			dir_arg = argv[i + 1];
			continue;
		}
		if (dst == NULL || parse_int64(argv[i + 1], 1, 100000000, dst) != 0) {
			fprintf(stderr, "usage: bench_cert [--incidents N] [--advisories N] [--runs N]"
			                " [--dir DIR]\n");
			return 2;
		}
	}
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", dir_arg ? dir_arg : "/tmp/ciip-bench-cert-XXXXXX");
	if (dir_arg == NULL && mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	log_open(LOG_LVL_WARN, false, NULL);
	auth_schema_register();
	cert_schema_register();
	advisory_schema_register();
	struct config cfg;
	config_defaults(&cfg);
	cert_rules_default(&rules);
	struct store_opts so = {.data_dir = dir, .busy_timeout_ms = 10000, .readers = 4};
	struct err e;
	struct store *st = store_open(&so, &e);
	if (st == NULL) {
		fprintf(stderr, "bench_cert: %s\n", e.msg);
		return 1;
	}
	now_ms = time_now_ms();
	struct auth_caller local;
	auth_caller_local(&local, st);
	struct auth_ctx x = {.st = st, .cfg = &cfg, .caller = &local};
	for (int i = 0; i <= MEMBERS; i++) {
		char name[64];
		snprintf(name, sizeof(name), i ? "Member %02d" : "Bench ISAC", i);
		json_t *in = json_pack("{s:s,s:s,s:s}", "name", name, "sector", "energy", "kind",
		                       i ? "operator" : "sector");
		json_t *out = NULL;
		if (auth_svc_org_create(&x, in, &out) != 201) {
			fprintf(stderr, "bench_cert: cannot create organisations\n");
			return 1;
		}
		if (i == 0) {
			root_org = json_integer_value(json_object_get(out, "id"));
			auth_caller_local(&local, st);
		} else {
			members[i - 1] = json_integer_value(json_object_get(out, "id"));
		}
		json_decref(in);
		json_decref(out);
	}
	/* With --dir, a store filled by an earlier run is reused as it is. */
	int64_t have = 0;
	struct store_conn *rc0 = store_reader_get(st);
	(void)store_query_int(rc0, "SELECT COUNT(*) FROM cert_incidents", &have, &e, NULL);
	store_reader_put(st, rc0);
	if (have > 0) {
		n_inc = 0;
		n_adv = 0;
		printf("reusing the %lld incidents already in %s\n", (long long)have, dir);
	}
	int64_t t0 = time_mono_ns();
	for (int64_t done = 0; done < n_inc; done += BATCH) {
		struct fill f = {.first = done + 1, .count = n_inc - done < BATCH ? n_inc - done : BATCH};
		if (store_write(st, fill_incidents, &f, &f.e) != 0) {
			fprintf(stderr, "bench_cert: fill: %s\n", f.e.msg);
			return 1;
		}
	}
	double inc_s = (time_mono_ns() - t0) / 1e9;
	t0 = time_mono_ns();
	for (int64_t done = 0; done < n_adv; done += BATCH) {
		struct fill f = {.first = done + 1, .count = n_adv - done < BATCH ? n_adv - done : BATCH};
		if (store_write(st, fill_advisories, &f, &f.e) != 0) {
			fprintf(stderr, "bench_cert: fill: %s\n", f.e.msg);
			return 1;
		}
	}
	double adv_s = (time_mono_ns() - t0) / 1e9;
	printf("filled %lld incidents in %.1f s, %lld advisories in %.1f s; store %.0f MB in %s\n",
	       (long long)n_inc, inc_s, (long long)n_adv, adv_s, store_size_bytes(st) / 1e6, dir);

	const struct query queries[] = {
		{"incidents, staff, by state", cert_svc_incident_list, false, "state", open_states,
		 CIIP_ARRAY_LEN(open_states), false},
		{"incidents, staff, by organisation", cert_svc_incident_list, false, NULL, NULL, 0,
		 true},
		{"incidents, staff, by organisation and state", cert_svc_incident_list, false, "state",
		 open_states, CIIP_ARRAY_LEN(open_states), true},
		{"incidents, staff, overdue", cert_svc_incident_list, false, "overdue", NULL, 0, false},
		{"incidents, member, own (all states)", cert_svc_incident_list, true, NULL, NULL, 0,
		 false},
		{"incidents, member, own by state", cert_svc_incident_list, true, "state", open_states,
		 CIIP_ARRAY_LEN(open_states), false},
		{"incidents, member, own overdue", cert_svc_incident_list, true, "overdue", NULL, 0,
		 false},
		{"advisories, staff, by state", adv_list, false, "state", adv_states,
		 CIIP_ARRAY_LEN(adv_states), false},
		{"advisories, member, visible", adv_list, true, NULL, NULL, 0, false},
	};
	for (size_t i = 0; i < CIIP_ARRAY_LEN(queries); i++)
		run(st, &cfg, &queries[i], (int)runs);
	store_close(st);
	if (dir_arg == NULL) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_cert: could not remove %s\n", dir);
	}
	return 0;
}
