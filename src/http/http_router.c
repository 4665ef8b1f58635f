/* http_router.c - matches a path against the route table: segments, "{name}"
 * captures and a final "{*}"; and keeps the per-route statistics. */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

const double http_latency_bounds[HTTP_LATENCY_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
};

void
http_stats_init(struct http_stats *st, const char *route)
{
	memset(st, 0, sizeof(*st));
	st->route = route;
	pthread_mutex_init(&st->mu, NULL);
}

void
http_stats_destroy(struct http_stats *st)
{
	pthread_mutex_destroy(&st->mu);
}

void
http_stats_record(struct http_stats *st, int status, double seconds)
{
	pthread_mutex_lock(&st->mu);
	int i;
	for (i = 0; i < st->nstatuses; i++)
		if (st->statuses[i] == status)
			break;
	if (i == st->nstatuses && st->nstatuses < HTTP_MAX_STATUSES) {
		st->statuses[i] = status;
		st->nstatuses++;
	}
	if (i < st->nstatuses)
		st->counts[i]++;
	int b = 0;
	while (b < HTTP_LATENCY_BUCKETS && seconds > http_latency_bounds[b])
		b++;
	st->buckets[b]++;
	st->sum_s += seconds;
	st->total++;
	pthread_mutex_unlock(&st->mu);
}

/* Splits p at '/' into at most max segments; a trailing slash adds none.
 * Returns the count or -1 if there are too many. Modifies p. */
static int
split(char *p, char **segs, int max)
{
	int n = 0;
	while (*p == '/')
		p++;
	while (*p) {
		if (n == max)
			return -1;
		segs[n++] = p;
		char *slash = strchr(p, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

void
http_route(struct http_server *s, unsigned methods, const char *pattern, http_handler_fn fn,
           void *arg)
{
	if (s->nroutes == HTTP_MAX_ROUTES) {
		log_errorx("http", "route table full, cannot add %s", pattern);
		abort(); /* a programming error, found at start-up */
	}
	struct http_route_def *r = xcalloc(1, sizeof(*r));
	r->methods = methods;
	if (methods & HTTP_GET)
		r->methods |= HTTP_HEAD;
	r->pattern = xstrdup(pattern);
	char *tmp = xstrdup(pattern);
	char *segs[HTTP_MAX_SEGMENTS];
	r->nsegs = split(tmp, segs, HTTP_MAX_SEGMENTS);
	if (r->nsegs < 0)
		abort();
	for (int i = 0; i < r->nsegs; i++)
		r->segs[i] = xstrdup(segs[i]);
	free(tmp);
	if (r->nsegs > 0 && strcmp(r->segs[r->nsegs - 1], "{*}") == 0) {
		r->rest = true;
		free(r->segs[--r->nsegs]);
	}
	r->fn = fn;
	r->arg = arg;
	http_stats_init(&r->stats, r->pattern);
	s->routes[s->nroutes++] = r;
}

static bool
match_one(struct http_route_def *rt, char **segs, int n, struct http_req *r)
{
	if (rt->rest ? n < rt->nsegs : n != rt->nsegs)
		return false;
	int np = 0;
	for (int i = 0; i < rt->nsegs; i++) {
		const char *ps = rt->segs[i];
		if (ps[0] == '{')
			continue;
		if (strcmp(ps, segs[i]) != 0)
			return false;
	}
	/* Matched: record the captures. */
	for (int i = 0; i < r->nparams; i++) {
		free(r->pnames[i]);
		free(r->pvalues[i]);
	}
	for (int i = 0; i < rt->nsegs && np < HTTP_MAX_PARAMS; i++) {
		const char *ps = rt->segs[i];
		if (ps[0] != '{')
			continue;
		r->pnames[np] = xstrndup(ps + 1, strlen(ps) - 2);
		r->pvalues[np] = xstrdup(segs[i]);
		np++;
	}
	if (rt->rest && np < HTTP_MAX_PARAMS) {
		struct buf b = {0};
		for (int i = rt->nsegs; i < n; i++) {
			if (i > rt->nsegs)
				buf_puts(&b, "/");
			buf_puts(&b, segs[i]);
		}
		r->pnames[np] = xstrdup("*");
		r->pvalues[np] = buf_steal(&b);
		np++;
	}
	r->nparams = np;
	return true;
}

struct http_route_def *
http_router_match(struct http_server *s, struct http_req *r, unsigned *allowed)
{
	char *tmp = xstrdup(r->path);
	char *segs[HTTP_MAX_SEGMENTS];
	int n = split(tmp, segs, HTTP_MAX_SEGMENTS);
	struct http_route_def *found = NULL;
	*allowed = 0;
	for (int i = 0; n >= 0 && i < s->nroutes; i++) {
		struct http_route_def *rt = s->routes[i];
		if (!match_one(rt, segs, n, r))
			continue;
		*allowed |= rt->methods;
		if (rt->methods & r->method_id) {
			found = rt;
			break;
		}
	}
	free(tmp);
	return found;
}
