/*
 * ingest_sensor.c - the sensors of the node: registered per organisation,
 * each with its own token (role sensor, scope events.write), a kind that
 * says what it sends, and live statistics (last seen, events per second,
 * bytes, decode errors, drops) kept in memory and shown in the API and in
 * /metrics.
 */
#include "ingest/ingest_sources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct store_migration ingest_migrations[] = {
	{350, "sensors",
	 "CREATE TABLE sensors ("
	 " id INTEGER PRIMARY KEY,"
	 " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	 " name TEXT NOT NULL UNIQUE,"
	 " kind TEXT NOT NULL CHECK (kind IN"
	 "  ('suricata','cowrie','dns','syslog','spamtrap','generic')),"
	 " token_id INTEGER REFERENCES tokens(id),"
	 " mapping TEXT,"
	 " disabled INTEGER NOT NULL DEFAULT 0,"
	 " created_at INTEGER NOT NULL);"
	 "CREATE INDEX sensors_token ON sensors(token_id);"},
};

void
ingest_schema_register(void)
{
	store_register_migrations(ingest_migrations, CIIP_ARRAY_LEN(ingest_migrations));
}

static const char *kinds[] = {"suricata", "cowrie", "dns", "syslog", "spamtrap", "generic"};

/* The kinds a sensor is registered with (the decoders accept a few
 * aliases too; the registry keeps to these names). */
static bool
known_kind(const char *kind)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(kinds); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/* Loads (or reloads) every sensor into the registry. Existing entries keep
 * their statistics. */
int
ingest_sensors_load(struct ingest *in, struct err *e)
{
	struct store_conn *c = store_reader_get(in->st);
	struct store_stmt *s = store_prepare(
		c,
		"SELECT id, org_id, name, kind, COALESCE(token_id, 0), mapping, disabled FROM sensors"
		" ORDER BY id",
		e);
	if (s == NULL) {
		store_reader_put(in->st, c);
		return -1;
	}
	pthread_rwlock_wrlock(&in->sensors_lock);
	while (store_step(s, e) == STORE_ROW) {
		int64_t id = store_col_int(s, 0);
		struct ingest_sensor *se = NULL;
		for (size_t i = 0; i < in->nsensors && se == NULL; i++)
			if (in->sensors[i]->id == id)
				se = in->sensors[i];
		if (se == NULL) {
			if (in->nsensors == INGEST_MAX_SENSORS) {
				log_warnx("ingest", "more than %d sensors: the rest are ignored",
				          INGEST_MAX_SENSORS);
				break;
			}
			se = xcalloc(1, sizeof(*se));
			se->id = id;
			in->sensors[in->nsensors++] = se;
		}
		se->org_id = store_col_int(s, 1);
		snprintf(se->name, sizeof(se->name), "%s", store_col_text(s, 2));
		snprintf(se->kind, sizeof(se->kind), "%s", store_col_text(s, 3));
		se->fmt = ingest_format_of_kind(se->kind);
		se->token_id = store_col_int(s, 4);
		se->disabled = store_col_int(s, 6) != 0;
		if (!store_col_null(s, 5) && se->mapping == NULL) {
			json_t *m = json_loads(store_col_text(s, 5), 0, NULL);
			struct err me;
			se->mapping = m ? ingest_mapping_new(m, &me) : NULL;
			json_decref(m);
		}
	}
	pthread_rwlock_unlock(&in->sensors_lock);
	store_finalize(s);
	store_reader_put(in->st, c);
	return 0;
}

struct ingest_sensor *
ingest_sensor_by_token(struct ingest *in, int64_t token_id)
{
	struct ingest_sensor *found = NULL;
	pthread_rwlock_rdlock(&in->sensors_lock);
	for (size_t i = 0; i < in->nsensors && !found; i++)
		if (in->sensors[i]->token_id == token_id && !in->sensors[i]->disabled)
			found = in->sensors[i];
	pthread_rwlock_unlock(&in->sensors_lock);
	return found;
}

struct ingest_sensor *
ingest_sensor_by_id(struct ingest *in, int64_t id)
{
	struct ingest_sensor *found = NULL;
	pthread_rwlock_rdlock(&in->sensors_lock);
	for (size_t i = 0; i < in->nsensors && !found; i++)
		if (in->sensors[i]->id == id)
			found = in->sensors[i];
	pthread_rwlock_unlock(&in->sensors_lock);
	return found;
}

struct ingest_sensor *
ingest_sensor_by_name(struct ingest *in, const char *name)
{
	struct ingest_sensor *found = NULL;
	pthread_rwlock_rdlock(&in->sensors_lock);
	for (size_t i = 0; i < in->nsensors && !found; i++)
		if (strcmp(in->sensors[i]->name, name) == 0)
			found = in->sensors[i];
	pthread_rwlock_unlock(&in->sensors_lock);
	return found;
}

void
ingest_count(struct ingest *in, int64_t sensor_id, uint64_t events, uint64_t bytes)
{
	struct ingest_sensor *se = ingest_sensor_by_id(in, sensor_id);
	if (se == NULL)
		return;
	atomic_fetch_add(&se->events, events);
	atomic_fetch_add(&se->bytes, bytes);
	atomic_store(&se->last_seen_ms, time_now_ms());
}

void
ingest_count_drop(struct ingest *in, int64_t sensor_id, uint64_t n)
{
	struct ingest_sensor *se = ingest_sensor_by_id(in, sensor_id);
	if (se)
		atomic_fetch_add(&se->drops, n);
	atomic_fetch_add(&in->drops_unattributed, se ? 0 : n);
}

/*
 * A line that did not decode: counted, kept in the dead-letter file
 * DATA/deadletter/<sensor>.log (offset, reason, line), and logged at most
 * once per sensor per minute with its offset.
 */
void
ingest_decode_failed(struct ingest *in, int64_t sensor_id, const char *line, size_t len,
                     uint64_t offset, const struct ingest_decode_err *de)
{
	struct ingest_sensor *se = ingest_sensor_by_id(in, sensor_id);
	const char *name = se ? se->name : "unknown";
	if (se)
		atomic_fetch_add(&se->decode_errors, 1);
	int64_t now = time_now_ms();
	bool log_now = false;
	if (se) {
		int64_t last = atomic_load(&se->last_error_log_ms);
		log_now = now - last >= 60000 &&
		          atomic_compare_exchange_strong(&se->last_error_log_ms, &last, now);
	}
	if (log_now)
		log_warnx("ingest", "sensor %s: cannot decode the line at offset %llu (byte %zu of "
		                    "it): %s; further errors this minute are only counted",
		          name, (unsigned long long)offset, de->offset, de->reason);
	pthread_mutex_lock(&in->dead_mu);
	char path[CONFIG_MAX_PATH + 160];
	snprintf(path, sizeof(path), "%s/deadletter/%s.log", in->cfg->data_dir, name);
	struct stat sb;
	if (stat(path, &sb) == 0 && sb.st_size > INGEST_DEADLETTER_MAX_BYTES) {
		char old[sizeof(path) + 4];
		snprintf(old, sizeof(old), "%s.1", path);
		if (rename(path, old) != 0)
			log_warn("ingest", "cannot rotate %s", path);
	}
	FILE *fp = fopen(path, "a");
	if (fp) {
		size_t keep = len > INGEST_DEADLETTER_LINE_MAX ? INGEST_DEADLETTER_LINE_MAX : len;
		fprintf(fp, "%llu\t%zu\t%s\t", (unsigned long long)offset, de->offset, de->reason);
		/* The line as it came, less control bytes that would break the file. */
		for (size_t i = 0; i < keep; i++)
			fputc((unsigned char)line[i] < 0x20 ? ' ' : line[i], fp);
		fputs(keep < len ? " [cut]\n" : "\n", fp);
		fclose(fp);
	}
	pthread_mutex_unlock(&in->dead_mu);
}

static json_t *
sensor_json(struct ingest_sensor *se)
{
	int64_t last = atomic_load(&se->last_seen_ms);
	char ts[32] = "";
	if (last)
		time_format_rfc3339(last, ts, sizeof(ts));
	return json_pack("{s:I,s:s,s:s,s:I,s:b,s:o,s:I,s:I,s:f,s:I,s:I}", "id", (json_int_t)se->id,
	                 "name", se->name, "kind", se->kind, "org_id", (json_int_t)se->org_id,
	                 "disabled", se->disabled, "last_seen", last ? json_string(ts) : json_null(),
	                 "events", (json_int_t)atomic_load(&se->events), "bytes",
	                 (json_int_t)atomic_load(&se->bytes), "events_per_second", se->rate_eps,
	                 "decode_errors", (json_int_t)atomic_load(&se->decode_errors), "drops",
	                 (json_int_t)atomic_load(&se->drops));
}

int
ingest_svc_sensor_list(struct ingest *in, struct auth_ctx *x, json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_ALERT_READ, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	json_t *list = json_array();
	pthread_rwlock_rdlock(&in->sensors_lock);
	for (size_t i = 0; i < in->nsensors; i++) {
		struct ingest_sensor *se = in->sensors[i];
		struct auth_object obj = {.org_id = se->org_id};
		if (auth_check(x->caller, AUTH_ALERT_READ, &obj) == AUTH_ALLOW)
			json_array_append_new(list, sensor_json(se));
	}
	pthread_rwlock_unlock(&in->sensors_lock);
	*out = json_pack("{s:o}", "sensors", list);
	return 200;
}

struct sensor_write {
	int64_t org_id, token_id, id;
	const char *name, *kind;
	char *mapping;
	const struct auth_caller *who;
	struct err e;
	int status;
};

static int
sensor_insert(struct store_conn *c, void *arg)
{
	struct sensor_write *w = arg;
	struct store_stmt *s = store_prepare(
		c,
		"INSERT INTO sensors(org_id, name, kind, token_id, mapping, created_at)"
		" VALUES (?,?,?,?,?,?)",
		&w->e);
	if (s == NULL)
		return -1;
	store_bind_int(s, 1, w->org_id);
	store_bind_text(s, 2, w->name);
	store_bind_text(s, 3, w->kind);
	store_bind_int(s, 4, w->token_id);
	store_bind_text(s, 5, w->mapping);
	store_bind_int(s, 6, time_now_ms());
	int rc = store_step(s, &w->e);
	store_finalize(s);
	if (rc == STORE_CONSTRAINT) {
		w->status = 409;
		return -1;
	}
	if (rc != STORE_DONE)
		return -1;
	w->id = store_last_insert_id(c);
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)w->id);
	json_t *d = json_pack("{s:s,s:s,s:I}", "name", w->name, "kind", w->kind, "org_id",
	                      (json_int_t)w->org_id);
	rc = auth_audit_append(c, w->who, "sensor.create", "sensor", id, d, &w->e);
	json_decref(d);
	return rc;
}

int
ingest_svc_sensor_create(struct ingest *in, struct auth_ctx *x, const json_t *in_json,
                         json_t **out)
{
	enum auth_decision d = auth_check(x->caller, AUTH_SENSOR_ADMIN, NULL);
	if (d != AUTH_ALLOW)
		return auth_refuse(d, out);
	struct sensor_write w = {.who = x->caller};
	w.name = json_string_value(json_object_get(in_json, "name"));
	w.kind = json_string_value(json_object_get(in_json, "kind"));
	const char *org = json_string_value(json_object_get(in_json, "org"));
	if (w.name == NULL || w.kind == NULL || org == NULL) {
		*out = auth_error("bad_request", "name, org and kind are required");
		return 400;
	}
	size_t nl = strlen(w.name);
	bool name_ok = nl >= 2 && nl <= 64;
	for (size_t i = 0; i < nl; i++)
		name_ok &= (w.name[i] >= 'a' && w.name[i] <= 'z') || (w.name[i] >= '0' && w.name[i] <= '9') ||
		           w.name[i] == '-' || w.name[i] == '_' || w.name[i] == '.';
	if (!name_ok) {
		*out = auth_error("bad_request",
		                  "name must be 2 to 64 lower-case letters, digits, '-', '_' or '.'");
		return 400;
	}
	if (!known_kind(w.kind)) {
		*out = auth_error("bad_request",
		                  "kind must be suricata, cowrie, dns, syslog, spamtrap or generic");
		return 400;
	}
	json_t *mapping = json_object_get(in_json, "mapping");
	if (strcmp(w.kind, "generic") == 0) {
		struct err me;
		struct ingest_mapping *m = mapping ? ingest_mapping_new(mapping, &me) : NULL;
		if (m == NULL) {
			*out = auth_error("bad_request", "a generic sensor needs a valid mapping: %s",
			                  mapping ? me.msg : "none given");
			return 400;
		}
		ingest_mapping_free(m);
		w.mapping = json_dumps(mapping, JSON_COMPACT);
	}
	struct store_conn *c = store_reader_get(x->st);
	w.org_id = auth_org_lookup(c, org);
	store_reader_put(x->st, c);
	if (w.org_id == 0) {
		free(w.mapping);
		*out = auth_error("bad_request", "org names no organisation");
		return 400;
	}
	/* The sensor's own token: it may only send events. */
	char tname[128];
	snprintf(tname, sizeof(tname), "sensor:%s", w.name);
	json_t *tin = json_pack("{s:s,s:s,s:I,s:s,s:i}", "name", tname, "role", "sensor", "org_id",
	                        (json_int_t)w.org_id, "scope", "events.write", "expires_in_days", 0);
	json_t *tout = NULL;
	int st = auth_svc_token_create(x, tin, &tout);
	json_decref(tin);
	if (st != 201) {
		free(w.mapping);
		*out = tout;
		return st;
	}
	w.token_id = json_integer_value(json_object_get(tout, "id"));
	if (store_write(x->st, sensor_insert, &w, &w.e) != 0) {
		free(w.mapping);
		json_t *rv = NULL;
		char tid[32];
		snprintf(tid, sizeof(tid), "%lld", (long long)w.token_id);
		(void)auth_svc_token_revoke(x, tid, &rv);
		json_decref(rv);
		json_decref(tout);
		if (w.status == 409) {
			*out = auth_error("conflict", "a sensor with that name exists");
			return 409;
		}
		*out = auth_error("internal", "%s", w.e.msg);
		return 500;
	}
	free(w.mapping);
	struct err e;
	(void)ingest_sensors_load(in, &e);
	struct ingest_sensor *se = ingest_sensor_by_id(in, w.id);
	*out = se ? sensor_json(se) : json_object();
	json_object_set(*out, "token", json_object_get(tout, "token"));
	json_object_set_new(*out, "note", json_string("the token is shown once; configure the "
	                                              "sensor with it"));
	json_decref(tout);
	return 201;
}

/* Events per second per sensor: an exponentially weighted average updated
 * by the pipeline's housekeeping once a second. */
void
ingest_sensors_tick(struct ingest *in, double dt_s)
{
	pthread_rwlock_rdlock(&in->sensors_lock);
	for (size_t i = 0; i < in->nsensors; i++) {
		struct ingest_sensor *se = in->sensors[i];
		uint64_t ev = atomic_load(&se->events);
		double rate = (double)(ev - se->rate_last_events) / (dt_s > 0 ? dt_s : 1);
		se->rate_last_events = ev;
		se->rate_eps = se->rate_eps * 0.7 + rate * 0.3;
	}
	pthread_rwlock_unlock(&in->sensors_lock);
}

void
ingest_metrics(struct buf *out, void *arg)
{
	struct ingest *in = arg;
	static const char *names[] = {"events", "bytes", "decode_errors", "drops"};
	static const char *help[] = {"Events received", "Bytes received", "Lines that did not decode",
	                             "Events dropped (UDP overload)"};
	pthread_rwlock_rdlock(&in->sensors_lock);
	for (int k = 0; k < 4; k++) {
		buf_printf(out, "# HELP ciip_sensor_%s_total %s, per sensor.\n"
		                "# TYPE ciip_sensor_%s_total counter\n",
		           names[k], help[k], names[k]);
		for (size_t i = 0; i < in->nsensors; i++) {
			struct ingest_sensor *se = in->sensors[i];
			uint64_t v = k == 0 ? atomic_load(&se->events)
			             : k == 1 ? atomic_load(&se->bytes)
			             : k == 2 ? atomic_load(&se->decode_errors)
			                      : atomic_load(&se->drops);
			buf_printf(out, "ciip_sensor_%s_total{sensor=\"%s\",kind=\"%s\"} %llu\n", names[k],
			           se->name, se->kind, (unsigned long long)v);
		}
	}
	buf_puts(out, "# HELP ciip_sensor_last_seen_seconds When a sensor last sent.\n"
	              "# TYPE ciip_sensor_last_seen_seconds gauge\n");
	for (size_t i = 0; i < in->nsensors; i++)
		buf_printf(out, "ciip_sensor_last_seen_seconds{sensor=\"%s\"} %.3f\n",
		           in->sensors[i]->name,
		           (double)atomic_load(&in->sensors[i]->last_seen_ms) / 1000.0);
	pthread_rwlock_unlock(&in->sensors_lock);
	buf_puts(out, "# HELP ciip_listener_connections Open connections per listener.\n"
	              "# TYPE ciip_listener_connections gauge\n");
	for (int i = 0; i < in->nlisteners; i++) {
		uint64_t conns, refused;
		ingest_listener_stats(in->listeners[i], &conns, &refused);
		buf_printf(out, "ciip_listener_connections{listener=\"%d\"} %llu\n", i,
		           (unsigned long long)conns);
	}
	buf_puts(out, "# HELP ciip_listener_refused_total Connections closed at once: over "
	              "ingest.max_connections.\n# TYPE ciip_listener_refused_total counter\n");
	for (int i = 0; i < in->nlisteners; i++) {
		uint64_t conns, refused;
		ingest_listener_stats(in->listeners[i], &conns, &refused);
		buf_printf(out, "ciip_listener_refused_total{listener=\"%d\"} %llu\n", i,
		           (unsigned long long)refused);
	}
	uint64_t rec, bytes, pending;
	if (in->spool) {
		ingest_spool_stats(in->spool, &rec, &bytes, &pending);
		buf_printf(out,
		           "# HELP ciip_spool_batches_total Batches written to the spool.\n"
		           "# TYPE ciip_spool_batches_total counter\nciip_spool_batches_total %llu\n"
		           "# HELP ciip_spool_pending Batches in the spool not yet processed.\n"
		           "# TYPE ciip_spool_pending gauge\nciip_spool_pending %llu\n",
		           (unsigned long long)rec, (unsigned long long)pending);
	}
}
