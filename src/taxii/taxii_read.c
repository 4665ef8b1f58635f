/*
 * taxii_read.c - the read path: one page of objects, of the manifest, of
 * one object's versions, in date_added order, for one caller.
 *
 * A page is one indexed range scan: rows of the collection after the
 * cursor's row_id, in row_id order (which is date_added order, see
 * taxii_schema.c), filtered by the caller's TLP visibility and the match
 * parameters, limit + 1 of them to learn whether there are more. The
 * stored JSON text of each version is copied into the response as it is:
 * nothing is parsed or re-encoded per object.
 */
#include "taxii/taxii_int.h"

#include <stdio.h>
#include <string.h>

#define HEADER_MORE "{\"more\":true,\"next\":\""
#define HEADER_OBJECTS ",\"objects\":["
#define HEADER_VERSIONS ",\"versions\":["

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The cursor belongs to one endpoint, collection, object and filter set. */
static uint64_t
cursor_hash(const struct taxii_query *q, enum taxii_list_kind kind, const struct taxii_coll *c,
            const char *object_id)
{
	uint64_t h = 14695981039346656037ULL;
	int k = (int)kind;
	h = mix(h, &k, sizeof(k));
	h = mix(h, c->uuid, strlen(c->uuid));
	if (object_id)
		h = mix(h, object_id, strlen(object_id));
	return mix(h, &q->filter_hash, sizeof(q->filter_hash));
}

static bool
json_list_one(const json_t *list)
{
	return json_array_size(list) == 1;
}

/* Appends the match[...] and version conditions, in the order
 * bind_filters() binds them. */
static void
sql_filters(struct buf *sql, enum taxii_list_kind kind, const struct taxii_query *q)
{
	/* With an object id, the (collection_id, stix_id, version_key) index
	 * finds the few rows at once; the planner cannot know that a page
	 * index would scan the whole collection, so a unary + takes row_id and
	 * the version flags out of its choices. */
	bool by_id = kind == TAXII_LIST_OBJECT || kind == TAXII_LIST_VERSIONS || q->ids;
	const char *plus = by_id ? "+" : "";
	buf_puts(sql, by_id ? " FROM taxii_objects WHERE +collection_id = ? AND +row_id > ?"
	                    : " FROM taxii_objects WHERE collection_id = ? AND row_id > ?");
	if (kind == TAXII_LIST_OBJECT || kind == TAXII_LIST_VERSIONS)
		buf_puts(sql, " AND stix_id = ?");
	if (kind != TAXII_LIST_VERSIONS) {
		unsigned v = q->versions;
		if (v == TAXII_V_LAST) {
			buf_puts(sql, plus[0] ? " AND +is_last = 1" : " AND is_last = 1");
		} else if (v == TAXII_V_FIRST) {
			buf_puts(sql, plus[0] ? " AND +is_first = 1" : " AND is_first = 1");
		} else if (!(v & TAXII_V_ALL)) {
			buf_puts(sql, " AND (0");
			if (v & TAXII_V_LAST)
				buf_puts(sql, " OR is_last = 1");
			if (v & TAXII_V_FIRST)
				buf_puts(sql, " OR is_first = 1");
			if (v & TAXII_V_STAMPS)
				buf_puts(sql, json_list_one(q->stamps)
				                  ? " OR version_key = ?"
				                  : " OR version_key IN (SELECT value FROM json_each(?))");
			buf_puts(sql, ")");
		}
	}
	if (q->types)
		buf_puts(sql, json_list_one(q->types) ? " AND type = ?"
		                                      : " AND type IN (SELECT value FROM json_each(?))");
	if (q->ids)
		buf_puts(sql, json_list_one(q->ids) ? " AND stix_id = ?"
		                                    : " AND stix_id IN (SELECT value FROM json_each(?))");
}

static void
bind_list(struct store_stmt *s, int idx, const json_t *list)
{
	if (json_list_one(list)) {
		store_bind_text(s, idx, json_string_value(json_array_get(list, 0)));
		return;
	}
	char *text = json_dumps(list, JSON_COMPACT);
	store_bind_text(s, idx, text);
	free(text);
}

static int
bind_filters(struct store_stmt *s, int idx, enum taxii_list_kind kind, const char *object_id,
             const struct taxii_query *q)
{
	if (kind == TAXII_LIST_OBJECT || kind == TAXII_LIST_VERSIONS)
		store_bind_text(s, idx++, object_id);
	/* taxii_query_finish() drops the stamps when "all" is given. */
	if (kind != TAXII_LIST_VERSIONS && (q->versions & TAXII_V_STAMPS))
		bind_list(s, idx++, q->stamps);
	if (q->types)
		bind_list(s, idx++, q->types);
	if (q->ids)
		bind_list(s, idx++, q->ids);
	return idx;
}

/* The row_id before the first row added after `us` (rows are in date
 * order), or -1 when none was. */
static int
added_after_row(struct store_conn *conn, int64_t us, int64_t *row, struct err *e)
{
	int64_t found = 0;
	int rc = store_query_int(conn,
	                         "SELECT row_id FROM taxii_objects WHERE date_added_us > ?"
	                         " ORDER BY date_added_us LIMIT 1",
	                         &found, e, "i", us);
	if (rc == STORE_ERROR)
		return -1;
	*row = rc == STORE_ROW ? found - 1 : -1;
	return 0;
}

/* Whether the caller may see any version of the object (404 otherwise). */
static int
object_visible(struct store_conn *conn, const struct auth_caller *caller,
               const struct taxii_coll *c, const char *object_id, bool *visible, struct err *e)
{
	struct buf sql = {0};
	json_t *binds = json_array();
	buf_puts(&sql, "SELECT 1 FROM taxii_objects WHERE collection_id = ? AND stix_id = ? AND ");
	auth_sql_visible(caller, "org_id", "tlp", &sql, binds);
	buf_puts(&sql, " LIMIT 1");
	struct store_stmt *s = store_prepare(conn, sql.data, e);
	int rc = -1;
	if (s) {
		store_bind_int(s, 1, c->id);
		store_bind_text(s, 2, object_id);
		auth_sql_bind(s, 3, binds);
		int step = store_step(s, e);
		if (step == STORE_ROW || step == STORE_DONE) {
			*visible = step == STORE_ROW;
			rc = 0;
		}
		store_finalize(s);
	}
	json_decref(binds);
	buf_free(&sql);
	return rc;
}

enum taxii_list_rc
taxii_list(struct taxii *t, const struct auth_caller *caller, const struct taxii_coll *c,
           enum taxii_list_kind kind, const char *object_id, const struct taxii_query *q,
           struct taxii_page *page, struct err *e)
{
	memset(page, 0, sizeof(*page));
	uint64_t fh = cursor_hash(q, kind, c, object_id);
	int64_t after = 0;
	if (q->next[0]) {
		struct taxii_cursor cur;
		if (taxii_cursor_decode(t->key, q->next, fh, time_now_ms() / 1000, TAXII_CURSOR_TTL_S,
		                        &cur, e) != 0)
			return TAXII_LIST_BAD_CURSOR;
		after = cur.row_id;
	}
	struct store_conn *conn = store_reader_get(t->st);
	enum taxii_list_rc rc = TAXII_LIST_ERROR;
	struct buf sql = {0};
	/* The items are written after room for the longest header, which is
	 * then put right before them once "more" is known (page->skip): the
	 * page is built in place, with no second copy. */
	struct buf *items = &page->body;
	size_t room = strlen(HEADER_MORE) + TAXII_NEXT_MAX + strlen(HEADER_OBJECTS);
	/* A typical STIX object is a few hundred bytes; one object has few
	 * versions. Growing past the guess is fine, just slower. */
	size_t rows = kind == TAXII_LIST_OBJECT || kind == TAXII_LIST_VERSIONS ? 4 : (size_t)q->limit;
	size_t guess = room + 2 + rows * 700;
	items->data = xmalloc(guess);
	items->cap = guess;
	memset(items->data, ' ', room);
	items->len = room;
	items->data[room] = '\0';
	json_t *binds = json_array();
	struct store_stmt *s = NULL;
	bool empty_range = q->spec_excludes;
	if (!empty_range && (q->present & TAXII_P_ADDED_AFTER)) {
		int64_t row;
		if (added_after_row(conn, q->added_after_us, &row, e) != 0)
			goto out;
		if (row < 0)
			empty_range = true;
		else if (row > after)
			after = row;
	}
	bool more = false;
	int64_t last_row = 0, last_added = 0;
	if (!empty_range) {
		buf_puts(&sql, "SELECT row_id, date_added_us, ");
		switch (kind) {
		case TAXII_LIST_OBJECTS:
		case TAXII_LIST_OBJECT:
			buf_puts(&sql, "json");
			break;
		case TAXII_LIST_MANIFEST:
			buf_puts(&sql, "stix_id, version");
			break;
		case TAXII_LIST_VERSIONS:
			buf_puts(&sql, "version");
			break;
		}
		sql_filters(&sql, kind, q);
		buf_puts(&sql, " AND ");
		auth_sql_visible(caller, "org_id", "tlp", &sql, binds);
		buf_puts(&sql, " ORDER BY row_id LIMIT ?");
		s = store_prepare(conn, sql.data, e);
		if (s == NULL)
			goto out;
		store_bind_int(s, 1, c->id);
		store_bind_int(s, 2, after);
		int idx = bind_filters(s, 3, kind, object_id, q); /* row_id > ? is parameter 2 */
		idx = auth_sql_bind(s, idx, binds);
		store_bind_int(s, idx, (int64_t)q->limit + 1);
		int step;
		while ((step = store_step(s, e)) == STORE_ROW) {
			if (page->count == (size_t)q->limit) {
				more = true;
				break;
			}
			last_added = store_col_int(s, 1);
			if (page->count == 0)
				taxii_ts_format(last_added, page->first);
			else
				buf_append(items, ",", 1);
			last_row = store_col_int(s, 0);
			size_t len;
			const char *text;
			switch (kind) {
			case TAXII_LIST_OBJECTS:
			case TAXII_LIST_OBJECT:
				text = store_col_textn(s, 2, &len);
				buf_append(items, text, len);
				break;
			case TAXII_LIST_MANIFEST:
				/* ids and versions were validated: plain ASCII, no escaping. */
				taxii_ts_format(last_added, page->last);
				buf_puts(items, "{\"id\":\"");
				buf_puts(items, store_col_text(s, 2));
				buf_puts(items, "\",\"date_added\":\"");
				buf_puts(items, page->last);
				buf_puts(items, "\",\"version\":\"");
				buf_puts(items, store_col_text(s, 3));
				buf_puts(items, "\",\"media_type\":\"" TAXII_STIX_MEDIA_TYPE "\"}");
				break;
			case TAXII_LIST_VERSIONS:
				buf_puts(items, "\"");
				buf_puts(items, store_col_text(s, 2));
				buf_puts(items, "\"");
				break;
			}
			page->count++;
		}
		if (step != STORE_ROW && step != STORE_DONE)
			goto out;
		if (page->count > 0)
			taxii_ts_format(last_added, page->last);
	}
	if (page->count == 0 && after == 0 && !q->next[0] &&
	    (kind == TAXII_LIST_OBJECT || kind == TAXII_LIST_VERSIONS)) {
		bool visible = false;
		if (object_visible(conn, caller, c, object_id, &visible, e) != 0)
			goto out;
		if (!visible) {
			rc = TAXII_LIST_NOT_FOUND;
			goto out;
		}
	}
	char next[TAXII_NEXT_MAX + 1] = "";
	if (more) {
		struct taxii_cursor cur = {
			.row_id = last_row, .issued_s = time_now_ms() / 1000, .filter_hash = fh};
		taxii_cursor_encode(t->key, &cur, next, sizeof(next));
	}
	char head[sizeof(HEADER_MORE) + TAXII_NEXT_MAX + sizeof(HEADER_OBJECTS)];
	const char *list = kind == TAXII_LIST_VERSIONS ? HEADER_VERSIONS : HEADER_OBJECTS;
	if (page->count == 0)
		snprintf(head, sizeof(head), "{\"more\":false}");
	else if (more)
		snprintf(head, sizeof(head), HEADER_MORE "%s\"%s", next, list);
	else
		snprintf(head, sizeof(head), "{\"more\":false%s", list);
	size_t hlen = strlen(head);
	memcpy(page->body.data + room - hlen, head, hlen);
	page->skip = room - hlen;
	if (page->count > 0)
		buf_puts(&page->body, "]}");
	rc = TAXII_LIST_OK;
out:
	store_finalize(s);
	store_reader_put(t->st, conn);
	json_decref(binds);
	buf_free(&sql);
	if (rc != TAXII_LIST_OK)
		buf_free(&page->body);
	return rc;
}

int
taxii_each_object(struct taxii *t, const struct auth_caller *caller, const struct taxii_coll *c,
                  bool all_versions, void (*fn)(const char *json, size_t len, void *arg),
                  void *arg, struct err *e)
{
	struct buf sql = {0};
	json_t *binds = json_array();
	buf_puts(&sql, "SELECT json FROM taxii_objects WHERE collection_id = ?");
	if (!all_versions)
		buf_puts(&sql, " AND is_last = 1");
	buf_puts(&sql, " AND ");
	auth_sql_visible(caller, "org_id", "tlp", &sql, binds);
	buf_puts(&sql, " ORDER BY row_id");
	struct store_conn *conn = store_reader_get(t->st);
	struct store_stmt *s = store_prepare(conn, sql.data, e);
	int rc = -1;
	if (s) {
		store_bind_int(s, 1, c->id);
		auth_sql_bind(s, 2, binds);
		int step;
		while ((step = store_step(s, e)) == STORE_ROW) {
			size_t len;
			const char *text = store_col_textn(s, 0, &len);
			fn(text, len, arg);
		}
		rc = step == STORE_DONE ? 0 : -1;
		store_finalize(s);
	}
	store_reader_put(t->st, conn);
	json_decref(binds);
	buf_free(&sql);
	return rc;
}
