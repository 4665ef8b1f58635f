/*
 * detect_alert.c - alerts: the writer that turns raised detections into
 * rows (merging repeats of one rule and key inside the dedupe window),
 * the sightings written for indicator matches, and the analyst's API.
 */
#include "detect/detect_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert/cert.h"
#include "stix/stix.h"
#include "taxii/taxii.h"

#define ALERT_QUEUE 65536
#define ALERT_BATCH 4096
#define ALERT_WINDOW_MS (3600LL * 1000)

/* A raised detection, copied so the detector can move on. */
struct pending {
	char rule[32];
	int severity;
	int64_t sensor_id, org_id;
	char src[46], dst[46];
	char key[160];
	char indicator[STIX_ID_MAX];
	char detail[256];
	int64_t first_ms, last_ms, count;
	json_t *evidence; /* owned; NULL after a merge took it */
	struct pending *next_in_batch;
};

static void
ip_text(const struct ingest_ip *ip, char *buf, size_t len)
{
	if (ip->family)
		ingest_ip_format(ip, buf, len);
	else
		buf[0] = '\0';
}

void
detect_alerts_raise(struct detect_alerts *a, const struct detect_alert_in *in)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	snprintf(p->rule, sizeof(p->rule), "%s", in->rule);
	p->severity = in->severity;
	p->sensor_id = in->sensor_id;
	p->org_id = in->org_id;
	ip_text(&in->src, p->src, sizeof(p->src));
	ip_text(&in->dst, p->dst, sizeof(p->dst));
	snprintf(p->key, sizeof(p->key), "%s", in->key ? in->key : p->src);
	snprintf(p->indicator, sizeof(p->indicator), "%s", in->indicator_id ? in->indicator_id : "");
	snprintf(p->detail, sizeof(p->detail), "%s", in->detail ? in->detail : "");
	p->first_ms = p->last_ms = in->ts_ms ? in->ts_ms : time_now_ms();
	p->count = in->count > 0 ? in->count : 1;
	p->evidence = in->evidence ? json_deep_copy(in->evidence) : NULL;
	pthread_mutex_lock(&a->mu);
	a->raised++;
	pthread_mutex_unlock(&a->mu);
	if (queue_push(a->q, p) != 0) {
		json_decref(p->evidence);
		free(p);
		pthread_mutex_lock(&a->mu);
		a->written++; /* closed: counted as done so flush cannot hang */
		pthread_cond_broadcast(&a->idle_cond);
		pthread_mutex_unlock(&a->mu);
	}
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
cache_key(const struct pending *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s\x1f%s\x1f%lld", p->rule, p->key, (long long)p->org_id);
}

static struct detect_cache_entry *
cache_slot(struct detect_alerts *a, const char *key)
{
	return &a->cache[hash_str(key) % ALERT_CACHE];
}

/* One write transaction for a batch of merged detections. */
struct batch {
	struct detect_alerts *a;
	struct pending *head;
	/* new indicator alerts need a sighting after the commit */
	struct pending *new_sightings[ALERT_BATCH];
	int64_t new_ids[ALERT_BATCH];
	int nnew;
	struct err e;
};

static int
find_open(struct store_conn *c, const struct pending *p, int64_t *id, struct err *e)
{
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id FROM alerts WHERE rule = ? AND dedupe_key = ? AND org_id = ?"
		" AND last_seen >= ? AND state IN ('new', 'acknowledged')"
		" ORDER BY last_seen DESC LIMIT 1",
		e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, p->rule);
	store_bind_text(s, 2, p->key);
	store_bind_int(s, 3, p->org_id);
	store_bind_int(s, 4, p->first_ms - ALERT_WINDOW_MS);
	int rc = store_step(s, e);
	*id = rc == STORE_ROW ? store_col_int(s, 0) : 0;
	store_finalize(s);
	return rc == STORE_ROW || rc == STORE_DONE ? 0 : -1;
}

static int
write_batch(struct store_conn *c, void *arg)
{
	struct batch *b = arg;
	int64_t now = time_now_ms();
	b->nnew = 0;
	for (struct pending *p = b->head; p; p = p->next_in_batch) {
		char key[240];
		cache_key(p, key, sizeof(key));
		struct detect_cache_entry *ce = cache_slot(b->a, key);
		int64_t id = 0;
		if (strcmp(ce->key, key) == 0 && ce->last_ms >= p->first_ms - ALERT_WINDOW_MS)
			id = ce->id;
		else if (find_open(c, p, &id, &b->e) != 0)
			return -1;
		struct store_stmt *s;
		if (id) {
			s = store_prepare(c,
			                  "UPDATE alerts SET count = count + ?, last_seen = MAX(last_seen, ?),"
			                  " first_seen = MIN(first_seen, ?), updated_at = ?"
			                  " WHERE id = ? AND state IN ('new', 'acknowledged')",
			                  &b->e);
			if (s == NULL)
				return -1;
			store_bind_int(s, 1, p->count);
			store_bind_int(s, 2, p->last_ms);
			store_bind_int(s, 3, p->first_ms);
			store_bind_int(s, 4, now);
			store_bind_int(s, 5, id);
			int rc = store_step(s, &b->e);
			store_finalize(s);
			if (rc != STORE_DONE)
				return -1;
			if (store_changes(c) == 1) {
				b->a->updated_total++;
				snprintf(ce->key, sizeof(ce->key), "%s", key);
				ce->id = id;
				ce->last_ms = p->last_ms > ce->last_ms ? p->last_ms : ce->last_ms;
				continue;
			}
			/* Closed since it was cached: start a new alert. */
		}
		char *ev = p->evidence ? json_dumps(p->evidence, JSON_COMPACT) : NULL;
		s = store_prepare(c,
		                  "INSERT INTO alerts(rule, severity, sensor_id, org_id, src_ip, dst_ip,"
		                  " dedupe_key, indicator_id, detail, evidence, first_seen, last_seen,"
		                  " count, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		                  &b->e);
		if (s == NULL) {
			free(ev);
			return -1;
		}
		store_bind_text(s, 1, p->rule);
		store_bind_int(s, 2, p->severity);
		store_bind_int(s, 3, p->sensor_id);
		store_bind_int(s, 4, p->org_id);
		store_bind_text(s, 5, p->src);
		store_bind_text(s, 6, p->dst);
		store_bind_text(s, 7, p->key);
		store_bind_text(s, 8, p->indicator[0] ? p->indicator : NULL);
		store_bind_text(s, 9, p->detail);
		store_bind_text(s, 10, ev ? ev : "{}");
		store_bind_int(s, 11, p->first_ms);
		store_bind_int(s, 12, p->last_ms);
		store_bind_int(s, 13, p->count);
		store_bind_int(s, 14, now);
		store_bind_int(s, 15, now);
		int rc = store_step(s, &b->e);
		store_finalize(s);
		free(ev);
		if (rc != STORE_DONE)
			return -1;
		id = store_last_insert_id(c);
		b->a->created_total++;
		snprintf(ce->key, sizeof(ce->key), "%s", key);
		ce->id = id;
		ce->last_ms = p->last_ms;
		if (p->indicator[0] && b->nnew < ALERT_BATCH) {
			b->new_sightings[b->nnew] = p;
			b->new_ids[b->nnew] = id;
			b->nnew++;
		}
	}
	return 0;
}

struct sighting_link {
	int64_t alert_id;
	char sighting[STIX_ID_MAX];
	struct err e;
};

static int
link_sighting(struct store_conn *c, void *arg)
{
	struct sighting_link *l = arg;
	struct store_stmt *s = store_prepare(c, "UPDATE alerts SET sighting_id = ? WHERE id = ?", &l->e);
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, l->sighting);
	store_bind_int(s, 2, l->alert_id);
	int rc = store_step(s, &l->e);
	store_finalize(s);
	return rc == STORE_DONE ? 0 : -1;
}

/* A STIX sighting of the matched indicator, seen at the alert's org. */
static void
write_sighting(struct detect_alerts *a, const struct pending *p, int64_t alert_id)
{
	if (a->taxii == NULL)
		return;
	struct store_conn *c = store_reader_get(a->st);
	char identity[STIX_ID_MAX] = "";
	(void)auth_org_describe(c, p->org_id, NULL, 0, identity, sizeof(identity));
	store_reader_put(a->st, c);
	char id[STIX_ID_MAX], now[STIX_TIMESTAMP_MAX], first[32], last[32];
	stix_id_new("sighting", id, sizeof(id));
	stix_timestamp_now(now);
	time_format_rfc3339(p->first_ms, first, sizeof(first));
	time_format_rfc3339(p->last_ms, last, sizeof(last));
	json_t *sg = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:[s]}", "type", "sighting",
	                       "spec_version", "2.1", "id", id, "created", now, "modified", now,
	                       "sighting_of_ref", p->indicator, "first_seen", first, "last_seen", last,
	                       "count", (json_int_t)p->count, "description", p->detail,
	                       "object_marking_refs", stix_tlp_marking_id(STIX_TLP_AMBER));
	if (identity[0])
		json_object_set_new(sg, "where_sighted_refs", json_pack("[s]", identity));
	struct auth_caller sys;
	auth_caller_local(&sys, a->st);
	snprintf(sys.name, sizeof(sys.name), "detect");
	sys.org_id = p->org_id ? p->org_id : sys.org_id;
	struct auth_ctx x = {.st = a->st, .cfg = a->cfg, .caller = &sys, .remote = "detect"};
	json_t *objs = json_pack("[o]", sg);
	json_t *out = NULL;
	int status = taxii_svc_add(a->taxii, &x, "sightings", objs, &out);
	json_decref(objs);
	json_decref(out);
	if (status >= 200 && status < 300) {
		a->sightings_total++;
		struct sighting_link l = {.alert_id = alert_id};
		snprintf(l.sighting, sizeof(l.sighting), "%s", id);
		if (store_write(a->st, link_sighting, &l, &l.e) != 0)
			log_warnx("detect", "cannot link alert %lld to %s: %s", (long long)alert_id, id,
			          l.e.msg);
	} else {
		a->sighting_errors++;
		log_warnx("detect", "cannot write the sighting of %s (HTTP %d)", p->indicator, status);
	}
}

static void
free_batch(struct pending *head)
{
	for (struct pending *p = head, *nx; p; p = nx) {
		nx = p->next_in_batch;
		json_decref(p->evidence);
		free(p);
	}
}

static void *
writer_main(void *arg)
{
	struct detect_alerts *a = arg;
	struct pending *items[ALERT_BATCH];
	for (;;) {
		struct pending *first = queue_pop(a->q);
		if (first == NULL)
			break;
		int n = 0;
		items[n++] = first;
		while (n < ALERT_BATCH && queue_len(a->q) > 0) {
			struct pending *p = queue_pop(a->q);
			if (p == NULL)
				break;
			items[n++] = p;
		}
		/* Merge repeats of one rule+key+org inside the batch. */
		struct pending *head = NULL, *tail = NULL;
		for (int i = 0; i < n; i++) {
			struct pending *p = items[i], *m = NULL;
			for (struct pending *q = head; q && !m; q = q->next_in_batch)
				if (q->org_id == p->org_id && strcmp(q->rule, p->rule) == 0 &&
				    strcmp(q->key, p->key) == 0)
					m = q;
			if (m) {
				m->count += p->count;
				m->first_ms = p->first_ms < m->first_ms ? p->first_ms : m->first_ms;
				m->last_ms = p->last_ms > m->last_ms ? p->last_ms : m->last_ms;
				json_decref(p->evidence);
				free(p);
				continue;
			}
			if (tail)
				tail->next_in_batch = p;
			else
				head = p;
			tail = p;
		}
		struct batch *b = xcalloc(1, sizeof(*b));
		b->a = a;
		b->head = head;
		if (store_write(a->st, write_batch, b, &b->e) != 0) {
			log_errorx("detect", "cannot write %d alerts: %s", n, b->e.msg);
			/* The cache may name rows that were rolled back. */
			memset(a->cache, 0, sizeof(struct detect_cache_entry) * ALERT_CACHE);
		} else {
			for (int i = 0; i < b->nnew; i++)
				write_sighting(a, b->new_sightings[i], b->new_ids[i]);
		}
		free(b);
		free_batch(head);
		pthread_mutex_lock(&a->mu);
		a->written += (uint64_t)n;
		pthread_cond_broadcast(&a->idle_cond);
		pthread_mutex_unlock(&a->mu);
	}
	return NULL;
}

struct detect_alerts *
detect_alerts_new(struct store *st, const struct config *cfg, struct taxii *taxii)
{
	struct detect_alerts *a = xcalloc(1, sizeof(*a));
	a->st = st;
	a->cfg = cfg;
	a->taxii = taxii;
	a->q = queue_new(ALERT_QUEUE);
	a->cache = xcalloc(ALERT_CACHE, sizeof(struct detect_cache_entry));
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->idle_cond, NULL);
	if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
		log_errorx("detect", "cannot start the alert writer");
		abort();
	}
	a->running = true;
	return a;
}

void
detect_alerts_flush(struct detect_alerts *a)
{
	pthread_mutex_lock(&a->mu);
	while (a->written < a->raised)
		pthread_cond_wait(&a->idle_cond, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

void
detect_alerts_free(struct detect_alerts *a)
{
	if (a == NULL)
		return;
	queue_close(a->q);
	if (a->running)
		pthread_join(a->thread, NULL);
	queue_free(a->q);
	free(a->cache);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->idle_cond);
	free(a);
}
