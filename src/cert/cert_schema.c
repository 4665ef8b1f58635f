/*
 * cert_schema.c - the CERT subsystem's tables (migrations 400-499).
 *
 * The console's list queries (by state, by organisation, overdue) each have
 * an index that returns rows in the order shown, so that a page costs the
 * same with a thousand reports or a million. next_due_at is the earliest
 * unmet deadline, kept up to date on every write (and recomputed for all
 * rows when the deadline rules change), so "overdue" is a range scan.
 */
#include "cert/cert_int.h"

static const struct store_migration cert_migrations[] = {
	{400, "incident reports, timeline, notifications, national outbox",
	 "CREATE TABLE cert_incidents ("
	 " id INTEGER PRIMARY KEY,"
	 " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	 " created_by_org INTEGER NOT NULL,"
	 " created_by TEXT NOT NULL,"
	 " source TEXT NOT NULL DEFAULT 'member',"
	 " state TEXT NOT NULL,"
	 " title TEXT NOT NULL,"
	 " level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),"
	 " reported_level INTEGER NOT NULL CHECK (reported_level BETWEEN 1 AND 4),"
	 " class TEXT NOT NULL DEFAULT '',"
	 " type TEXT NOT NULL DEFAULT '',"
	 " tlp INTEGER NOT NULL DEFAULT 3,"
	 " stix_id TEXT NOT NULL,"
	 " occurred_at INTEGER,"
	 " known_at INTEGER NOT NULL,"
	 " notified_at INTEGER,"
	 " submitted_at INTEGER,"
	 " review_started_at INTEGER,"
	 " reviewed_at INTEGER,"
	 " accepted_at INTEGER,"
	 " review_start INTEGER,"
	 " forward_start INTEGER,"
	 " forwarded_at INTEGER,"
	 " contain_start INTEGER,"
	 " contained_at INTEGER,"
	 " recovered_at INTEGER,"
	 " report_at INTEGER,"
	 " closed_at INTEGER,"
	 " next_due_at INTEGER,"
	 " next_due_kind TEXT,"
	 " data TEXT NOT NULL DEFAULT '{}',"
	 " created_at INTEGER NOT NULL,"
	 " updated_at INTEGER NOT NULL);"
	 "CREATE INDEX cert_incidents_state ON cert_incidents(state, id);"
	 "CREATE INDEX cert_incidents_org ON cert_incidents(org_id, id);"
	 "CREATE INDEX cert_incidents_org_state ON cert_incidents(org_id, state, id);"
	 "CREATE INDEX cert_incidents_org_due ON cert_incidents(org_id, next_due_at)"
	 " WHERE next_due_at IS NOT NULL;"
	 "CREATE INDEX cert_incidents_due ON cert_incidents(next_due_at)"
	 " WHERE next_due_at IS NOT NULL;"
	 "CREATE INDEX cert_incidents_level ON cert_incidents(level, id);"
	 "CREATE INDEX cert_incidents_class ON cert_incidents(class, type, id);"
	 "CREATE INDEX cert_incidents_known ON cert_incidents(known_at);"
	 "CREATE TABLE cert_timeline ("
	 " id INTEGER PRIMARY KEY,"
	 " incident_id INTEGER NOT NULL REFERENCES cert_incidents(id) ON DELETE CASCADE,"
	 " ts INTEGER NOT NULL,"
	 " actor TEXT NOT NULL,"
	 " action TEXT NOT NULL,"
	 " from_state TEXT,"
	 " to_state TEXT,"
	 " detail TEXT NOT NULL DEFAULT '{}');"
	 "CREATE INDEX cert_timeline_incident ON cert_timeline(incident_id, id);"
	 "CREATE TABLE cert_notifications ("
	 " id INTEGER PRIMARY KEY,"
	 " org_id INTEGER NOT NULL REFERENCES orgs(id),"
	 " kind TEXT NOT NULL,"
	 " incident_id INTEGER,"
	 " subject TEXT NOT NULL,"
	 " payload TEXT NOT NULL,"
	 " created_at INTEGER NOT NULL,"
	 " acked_at INTEGER,"
	 " acked_by TEXT,"
	 " delivered_at INTEGER,"
	 " attempts INTEGER NOT NULL DEFAULT 0,"
	 " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
	 " last_error TEXT);"
	 "CREATE INDEX cert_notifications_org ON cert_notifications(org_id, id);"
	 "CREATE INDEX cert_notifications_pending ON cert_notifications(next_attempt_at)"
	 " WHERE delivered_at IS NULL;"
	 "CREATE TABLE cert_stix_outbox ("
	 " id INTEGER PRIMARY KEY,"
	 " incident_id INTEGER NOT NULL,"
	 " purpose TEXT NOT NULL,"
	 " stix_id TEXT NOT NULL,"
	 " bundle TEXT NOT NULL,"
	 " created_at INTEGER NOT NULL,"
	 " sent_at INTEGER);"
	 "CREATE INDEX cert_stix_outbox_incident ON cert_stix_outbox(incident_id);"
	 "CREATE TABLE cert_meta ("
	 " key TEXT PRIMARY KEY,"
	 " value TEXT NOT NULL);"},
};

void
cert_schema_register(void)
{
	store_register_migrations(cert_migrations, CIIP_ARRAY_LEN(cert_migrations));
}
