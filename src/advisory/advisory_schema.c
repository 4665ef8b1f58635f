/*
 * advisory_schema.c - the advisory subsystem's tables (migrations 500-599).
 *
 * Each row of `advisories` is one version; root_id names the series (the
 * first version's id). Deliveries (advisory_targets) and member replies
 * belong to the series. advisory_stix keeps every STIX bundle written at a
 * publication or withdrawal until the STIX object store takes them.
 */
#include "advisory/advisory_int.h"

static const struct store_migration advisory_migrations[] = {
	{500, "advisories, deliveries, replies, STIX reports, history",
	 "CREATE TABLE advisories ("
	 " id INTEGER PRIMARY KEY,"
	 " root_id INTEGER NOT NULL,"
	 " version INTEGER NOT NULL DEFAULT 1,"
	 " supersedes_id INTEGER,"
	 " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	 " state TEXT NOT NULL,"
	 " title TEXT NOT NULL,"
	 " severity TEXT NOT NULL,"
	 " intel_type TEXT NOT NULL,"
	 " tlp INTEGER NOT NULL,"
	 " reply_due_at INTEGER,"
	 " stix_id TEXT NOT NULL,"
	 " author TEXT NOT NULL,"
	 " author_user_id INTEGER NOT NULL DEFAULT 0,"
	 " author_token_id INTEGER NOT NULL DEFAULT 0,"
	 " reviewer TEXT,"
	 " data TEXT NOT NULL DEFAULT '{}',"
	 " created_at INTEGER NOT NULL,"
	 " updated_at INTEGER NOT NULL,"
	 " submitted_at INTEGER,"
	 " reviewed_at INTEGER,"
	 " published_at INTEGER,"
	 " withdrawn_at INTEGER);"
	 "CREATE INDEX advisories_state ON advisories(state, id);"
	 "CREATE INDEX advisories_root ON advisories(root_id, version);"
	 "CREATE TABLE advisory_targets ("
	 " root_id INTEGER NOT NULL,"
	 " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	 " version INTEGER NOT NULL,"
	 " delivered_at INTEGER NOT NULL,"
	 " updated_at INTEGER NOT NULL,"
	 " PRIMARY KEY (root_id, org_id));"
	 "CREATE INDEX advisory_targets_org ON advisory_targets(org_id, root_id);"
	 "CREATE TABLE advisory_replies ("
	 " id INTEGER PRIMARY KEY,"
	 " root_id INTEGER NOT NULL,"
	 " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	 " status TEXT NOT NULL CHECK (status IN ('received', 'affected', 'not_affected')),"
	 " mitigated INTEGER NOT NULL DEFAULT 0,"
	 " measures TEXT NOT NULL DEFAULT '',"
	 " measures_at INTEGER,"
	 " note TEXT NOT NULL DEFAULT '',"
	 " replied_by TEXT NOT NULL,"
	 " created_at INTEGER NOT NULL);"
	 "CREATE INDEX advisory_replies_root ON advisory_replies(root_id, org_id, id);"
	 "CREATE TABLE advisory_stix ("
	 " id INTEGER PRIMARY KEY,"
	 " advisory_id INTEGER NOT NULL,"
	 " root_id INTEGER NOT NULL,"
	 " stix_id TEXT NOT NULL,"
	 " modified TEXT NOT NULL,"
	 " bundle TEXT NOT NULL,"
	 " created_at INTEGER NOT NULL);"
	 "CREATE INDEX advisory_stix_root ON advisory_stix(root_id, id);"
	 "CREATE TABLE advisory_history ("
	 " id INTEGER PRIMARY KEY,"
	 " advisory_id INTEGER NOT NULL,"
	 " root_id INTEGER NOT NULL,"
	 " ts INTEGER NOT NULL,"
	 " actor TEXT NOT NULL,"
	 " action TEXT NOT NULL,"
	 " detail TEXT NOT NULL DEFAULT '{}');"
	 "CREATE INDEX advisory_history_root ON advisory_history(root_id, id);"},
};

void
advisory_schema_register(void)
{
	store_register_migrations(advisory_migrations, CIIP_ARRAY_LEN(advisory_migrations));
}
