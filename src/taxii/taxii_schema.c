/*
 * taxii_schema.c - the intel store's tables (migrations 200-299).
 *
 * taxii_objects holds one row per version. row_id only grows (AUTOINCREMENT:
 * a deleted last row's id is never reused) and date_added_us is assigned
 * on the one writer thread as max(now, previous + 1 µs), so row order,
 * date_added order and commit order are the same: a page cursor is simply
 * the last row_id given, and an object added while a client pages through a
 * collection always lands after every row it has already seen.
 *
 * The indexes serve the listings: (collection_id, is_last, row_id, ...)
 * the default "latest versions" page, (collection_id, row_id, ...) every
 * version, (collection_id, type, is_last, row_id) match[type],
 * (collection_id, stix_id, version_key) one object and version
 * bookkeeping, and (date_added_us) turns added_after into a row_id bound.
 * tlp and org_id are in the page indexes so the visibility test runs on
 * the index alone, before the row (and its JSON) is read.
 */
#include "taxii/taxii_int.h"

static const struct store_migration taxii_migrations[] = {
	{200, "intel store: collections, object versions, status, cursor key",
	 "CREATE TABLE taxii_collections ("
	 " id INTEGER PRIMARY KEY,"
	 " uuid TEXT NOT NULL UNIQUE,"
	 " alias TEXT UNIQUE,"
	 " title TEXT NOT NULL,"
	 " description TEXT NOT NULL DEFAULT '',"
	 " can_read TEXT NOT NULL,"
	 " can_write TEXT NOT NULL,"
	 " default_tlp INTEGER NOT NULL DEFAULT 3 CHECK (default_tlp BETWEEN 1 AND 5),"
	 " media_types TEXT NOT NULL,"
	 " created_at INTEGER NOT NULL,"
	 " updated_at INTEGER NOT NULL);"
	 "CREATE TABLE taxii_objects ("
	 " row_id INTEGER PRIMARY KEY AUTOINCREMENT,"
	 " collection_id INTEGER NOT NULL REFERENCES taxii_collections(id) ON DELETE CASCADE,"
	 " stix_id TEXT NOT NULL,"
	 " type TEXT NOT NULL,"
	 " spec_version TEXT NOT NULL,"
	 " version_key TEXT NOT NULL,"
	 " version TEXT NOT NULL,"
	 " created TEXT,"
	 " modified TEXT,"
	 " revoked INTEGER NOT NULL DEFAULT 0,"
	 " created_by_ref TEXT,"
	 " marking_refs TEXT,"
	 " intel_type TEXT,"
	 " label TEXT NOT NULL DEFAULT '',"
	 " date_added_us INTEGER NOT NULL,"
	 " org_id INTEGER NOT NULL,"
	 " tlp INTEGER NOT NULL CHECK (tlp BETWEEN 1 AND 5),"
	 " is_first INTEGER NOT NULL,"
	 " is_last INTEGER NOT NULL,"
	 " added_by TEXT NOT NULL DEFAULT '',"
	 " json TEXT NOT NULL);"
	 "CREATE UNIQUE INDEX taxii_objects_version ON taxii_objects(collection_id, stix_id,"
	 " version_key);"
	 "CREATE INDEX taxii_objects_last ON taxii_objects(collection_id, is_last, row_id, tlp,"
	 " org_id);"
	 "CREATE INDEX taxii_objects_all ON taxii_objects(collection_id, row_id, tlp, org_id);"
	 "CREATE INDEX taxii_objects_type ON taxii_objects(collection_id, type, is_last, row_id);"
	 "CREATE INDEX taxii_objects_added ON taxii_objects(date_added_us);"
	 "CREATE INDEX taxii_objects_stix_id ON taxii_objects(stix_id);"
	 "CREATE TABLE taxii_status ("
	 " id TEXT PRIMARY KEY,"
	 " org_id INTEGER NOT NULL,"
	 " created_at INTEGER NOT NULL,"
	 " json TEXT NOT NULL);"
	 "CREATE INDEX taxii_status_created ON taxii_status(created_at);"
	 "CREATE TABLE taxii_keys ("
	 " name TEXT PRIMARY KEY,"
	 " key BLOB NOT NULL);"
	 "INSERT INTO taxii_keys(name, key) VALUES ('cursor', randomblob(32));"},
	/* The detection matcher polls the number of indicators twice a second
	 * to notice deletions; counting the rows each time would cost a scan
	 * of the collection, so the write path keeps the number here. */
	{201, "intel store: indicator count",
	 "CREATE TABLE taxii_counters ("
	 " name TEXT PRIMARY KEY,"
	 " n INTEGER NOT NULL);"
	 "INSERT INTO taxii_counters(name, n) SELECT 'indicators', COUNT(*) FROM taxii_objects"
	 " WHERE type = 'indicator' AND is_last = 1;"},
};

void
taxii_schema_register(void)
{
	store_register_migrations(taxii_migrations, CIIP_ARRAY_LEN(taxii_migrations));
}
