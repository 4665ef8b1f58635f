/*
 * bench_pages.c - random reads of one array on 4 KB pages and on 2 MB
 * pages (transparent huge pages), the access the indicator matcher makes:
 * whether detect.huge_pages pays on this machine.
 *
 *   build/bench/bench_pages [MB] [READS]
 *
 * For each page size the array (MB megabytes, 64 by default) is filled,
 * then read at READS random lines (20,000,000 by default) in two ways:
 * "prefetched", each line's address known 16 reads ahead and prefetched,
 * as the matcher's stages prefetch a group's lines before reading them;
 * and "chased", each read giving the next line, which shows the latency
 * of one miss. Prints ns per read for each; AnonHugePages of the process
 * (from /proc/self/smaps_rollup) says whether the kernel granted 2 MB
 * pages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/core.h"

#define HUGE_PAGE (2u << 20)
#define AHEAD 16

static volatile uint64_t sink; /* keeps the reads */

/* Random enough for picking lines (the C library's, seeded fixed). */
static uint64_t
rnd(void)
{
	return (uint64_t)random() << 31 | (uint64_t)random();
}

static long
anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	if (f == NULL)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static void
measure(size_t bytes, const uint32_t *at, size_t reads, bool huge)
{
	size_t lines = bytes / 64;
	uint8_t *a = aligned_alloc(HUGE_PAGE, (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
	if (a == NULL)
		abort();
	(void)madvise(a, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(a, 1, bytes);
	long granted = anon_huge_kb();

	uint64_t sum = 0;
	int64_t t = time_mono_ns();
	for (size_t i = 0; i < reads; i++) {
		if (i + AHEAD < reads)
			__builtin_prefetch(a + (size_t)at[i + AHEAD] * 64);
		sum += a[(size_t)at[i] * 64];
	}
	double prefetched = (double)(time_mono_ns() - t) / (double)reads;

	/* One cycle through every line in random order: line k holds the
	 * next line's number. */
	uint32_t *order = xmalloc(lines * sizeof(*order));
	for (size_t i = 0; i < lines; i++)
		order[i] = (uint32_t)i;
	for (size_t i = lines - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % (i + 1));
		uint32_t x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (size_t i = 0; i < lines; i++)
		memcpy(a + (size_t)order[i] * 64, &order[(i + 1) % lines], 4);
	free(order);
	size_t hops = reads / 8;
	uint32_t k = 0;
	t = time_mono_ns();
	for (size_t i = 0; i < hops; i++)
		memcpy(&k, a + (size_t)k * 64, 4);
	double chased = (double)(time_mono_ns() - t) / (double)hops;

	sink = sum + k;
	printf("%s pages: prefetched %.1f ns, chased %.1f ns (AnonHugePages %ld kB)\n",
	       huge ? "2 MB" : "4 KB", prefetched, chased, granted);
	free(a);
}

int
main(int argc, char **argv)
{
	int64_t mb = 64, reads = 20000000;
	if ((argc > 1 && parse_int64(argv[1], 1, 65536, &mb) != 0) ||
	    (argc > 2 && parse_int64(argv[2], 1000, INT64_MAX, &reads) != 0)) {
		fprintf(stderr, "usage: bench_pages [MB] [READS]\n");
		return 2;
	}
	size_t bytes = (size_t)mb << 20;
	srandom(1);
	uint32_t *at = xmalloc((size_t)reads * sizeof(*at));
	for (int64_t i = 0; i < reads; i++)
		at[i] = (uint32_t)(rnd() % (bytes / 64));
	printf("array %lld MB, %lld reads\n", (long long)mb, (long long)reads);
	measure(bytes, at, (size_t)reads, false);
	measure(bytes, at, (size_t)reads, true);
	free(at);
	return 0;
}
