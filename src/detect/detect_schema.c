/* detect_schema.c - the detection subsystem's tables (migrations 300-349;
 * ingest has 350-399). */
#include "detect/detect.h"

static const struct store_migration detect_migrations[] = {
	{300, "alerts",
	 "CREATE TABLE alerts ("
	 " id INTEGER PRIMARY KEY,"
	 " rule TEXT NOT NULL,"
	 " severity INTEGER NOT NULL,"
	 " sensor_id INTEGER NOT NULL DEFAULT 0,"
	 " org_id INTEGER NOT NULL DEFAULT 0,"
	 " src_ip TEXT NOT NULL DEFAULT '',"
	 " dst_ip TEXT NOT NULL DEFAULT '',"
	 " dedupe_key TEXT NOT NULL,"
	 " indicator_id TEXT,"
	 " sighting_id TEXT,"
	 " detail TEXT NOT NULL DEFAULT '',"
	 " evidence TEXT NOT NULL DEFAULT '{}',"
	 " first_seen INTEGER NOT NULL,"
	 " last_seen INTEGER NOT NULL,"
	 " count INTEGER NOT NULL,"
	 " state TEXT NOT NULL DEFAULT 'new' CHECK (state IN"
	 "  ('new','acknowledged','false_positive','escalated','closed')),"
	 " state_reason TEXT NOT NULL DEFAULT '',"
	 " incident_id INTEGER,"
	 " created_at INTEGER NOT NULL,"
	 " updated_at INTEGER NOT NULL);"
	 "CREATE INDEX alerts_dedupe ON alerts(rule, dedupe_key, org_id, last_seen);"
	 "CREATE INDEX alerts_org_seen ON alerts(org_id, last_seen);"
	 "CREATE INDEX alerts_state_seen ON alerts(state, last_seen);"
	 "CREATE INDEX alerts_seen ON alerts(last_seen);"},
};

void
detect_schema_register(void)
{
	store_register_migrations(detect_migrations, CIIP_ARRAY_LEN(detect_migrations));
}
