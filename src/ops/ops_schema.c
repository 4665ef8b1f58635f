/* ops_schema.c - every subsystem's tables, registered in one place so that
 * the daemon and the offline client (`ciip --data DIR`) agree on the schema
 * they open: a database is refused if it holds a migration unknown here. */
#include "advisory/advisory.h"
#include "auth/auth.h"
#include "cert/cert.h"
#include "detect/detect.h"
#include "ingest/ingest.h"
#include "ops/ops.h"
#include "taxii/taxii.h"

void
ops_schema_register_all(void)
{
	auth_schema_register();
	cert_schema_register();
	advisory_schema_register();
	taxii_schema_register();
	detect_schema_register();
	ingest_schema_register();
}
