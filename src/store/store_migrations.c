/*
 * store_migrations.c - the schema, as numbered migrations. Append only:
 * a migration that has shipped is never edited, a change is a new one.
 * SQL here is kept to what SQLite and PostgreSQL both accept.
 */
#include "store/store_int.h"

const struct store_migration store_migrations[] = {
	{1, "node settings",
	 "CREATE TABLE node_settings ("
	 " key TEXT PRIMARY KEY,"
	 " value TEXT NOT NULL,"
	 " updated_at INTEGER NOT NULL);"},
};

const size_t store_migrations_count = CIIP_ARRAY_LEN(store_migrations);
