/*
 * taxii_feed.c - the indicators of the STIX store, for the detection
 * matcher: the newest version of each indicator added after a row, in row
 * order, so that a reader can follow the store incrementally, and a count
 * that tells it when something was deleted and a full reload is due.
 */
#include "taxii/taxii_int.h"

int
taxii_indicators_each(struct store *st, int64_t after_row, taxii_indicator_fn fn, void *ctx,
                      int64_t *last_row, struct err *e)
{
	struct store_conn *c = store_reader_get(st);
	struct store_stmt *cs = store_prepare(c, "SELECT id FROM taxii_collections ORDER BY id", e);
	int rc = cs ? 0 : -1;
	int64_t last = after_row;
	while (rc == 0 && store_step(cs, e) == STORE_ROW) {
		int64_t coll = store_col_int(cs, 0);
		struct store_stmt *s = store_prepare(
			c,
			"SELECT row_id, json, org_id, tlp FROM taxii_objects"
			" WHERE collection_id = ? AND type = 'indicator' AND is_last = 1 AND row_id > ?"
			" ORDER BY row_id",
			e);
		if (s == NULL) {
			rc = -1;
			break;
		}
		store_bind_int(s, 1, coll);
		store_bind_int(s, 2, after_row);
		int sr;
		while ((sr = store_step(s, e)) == STORE_ROW) {
			int64_t row = store_col_int(s, 0);
			size_t len;
			const char *json = store_col_textn(s, 1, &len);
			fn(ctx, json, len, store_col_int(s, 2), (int)store_col_int(s, 3));
			if (row > last)
				last = row;
		}
		store_finalize(s);
		if (sr != STORE_DONE)
			rc = -1;
	}
	store_finalize(cs);
	store_reader_put(st, c);
	if (last_row)
		*last_row = last;
	return rc;
}

int64_t
taxii_indicators_count(struct store *st)
{
	struct store_conn *c = store_reader_get(st);
	int64_t n = -1;
	struct err e;
	/* Kept by the write path (taxii_count_indicators): polled twice a
	 * second, a COUNT(*) would scan every indicator each time. */
	if (store_query_int(c, "SELECT n FROM taxii_counters WHERE name = 'indicators'", &n, &e,
	                    NULL) != STORE_ROW)
		n = -1;
	store_reader_put(st, c);
	return n;
}
