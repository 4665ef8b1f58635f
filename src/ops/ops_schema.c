/* ops_schema.c - every subsystem's tables, registered in one place so that
 * the daemon and the offline client (`ciip --data DIR`) agree on the schema
 * they open: a database is refused if it holds a migration unknown here. */
#include "auth/auth.h"
#include "ops/ops.h"

void
ops_schema_register_all(void)
{
	auth_schema_register();
}
