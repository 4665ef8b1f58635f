/* detect_int.h - what the detection subsystem's files share. */
#ifndef CIIP_DETECT_INT_H
#define CIIP_DETECT_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "detect/detect.h"

#define ALERT_CACHE 65536

/* What the writer remembers of an open alert, to update without a read. */
struct detect_cache_entry {
	char key[240]; /* rule \x1f key \x1f org */
	int64_t id;
	int64_t last_ms;
};

struct detect_alerts {
	struct store *st;
	const struct config *cfg;
	struct taxii *taxii;
	struct queue *q;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t idle_cond;
	uint64_t raised, written; /* under mu */
	struct detect_cache_entry *cache; /* touched by the writer thread only */
	/* metrics */
	_Atomic uint64_t created_total, updated_total, sightings_total, sighting_errors;
};


#endif
