/* store_int.h - what the store's own files share: the common head of every
 * backend's connection and statement, and the migration list. */
#ifndef CIIP_STORE_INT_H
#define CIIP_STORE_INT_H

#include "store/store.h"

/* Every backend's connection and statement start with these heads, so the
 * generic calls in store.c can find the backend's ops. */
struct store_conn {
	const struct store_ops *ops;
};

struct store_stmt {
	const struct store_ops *ops;
};

/* The store's own migrations (1-99). */
extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;

#endif
