/*
 * ingest_spool.c - the write-ahead spool: what a sensor sends over HTTP is
 * on disk, fsync'ed, before the node answers 2xx, so a crash after the
 * answer loses nothing; on restart the pipeline resumes from the spool.
 *
 * Layout: DATA/spool/<first-seq>.seg files of records
 *   [magic u32][len u32][crc32 u32][fmt u32][seq u64][sensor i64][org i64] payload
 * and DATA/spool/cursor holding the highest sequence number fully
 * processed (every lower one is too). Segments wholly below the cursor are
 * deleted. A torn record at the end of the last segment (a crash while
 * writing, before any answer was sent) is cut off at start-up.
 */
#include "ingest/ingest_sources.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_MAGIC 0x53504943u /* "CIPS" little-endian */
#define SPOOL_SEGMENT_BYTES (64LL * 1024 * 1024)
#define SPOOL_MAX_RECORD (64LL * 1024 * 1024)
#define SPOOL_WINDOW 4096 /* records in flight between reader and done */

struct spool_hdr {
	uint32_t magic;
	uint32_t len;
	uint32_t crc;
	uint32_t fmt;
	uint64_t seq;
	int64_t sensor_id;
	int64_t org_id;
};

struct spool_seg {
	uint64_t first_seq;
	uint64_t last_seq; /* 0 while empty */
	char path[CONFIG_MAX_PATH + 64];
};

struct ingest_spool {
	char dir[CONFIG_MAX_PATH + 16];
	pthread_mutex_t mu;
	pthread_cond_t grown;   /* the writer made records durable */
	pthread_cond_t drained; /* the reader's window has room */
	/* writer */
	int wfd;
	struct spool_seg *segs;
	size_t nsegs, capsegs;
	uint64_t next_seq;
	int64_t wsize; /* size of the current (last) segment */
	/* reader */
	uint64_t read_seq;   /* next seq to hand to the pipeline */
	size_t read_seg;     /* index into segs */
	int64_t read_off;
	/* completion */
	uint64_t done_upto;  /* every seq <= this is processed */
	uint8_t done[SPOOL_WINDOW]; /* done flags for seq done_upto+1 .. +WINDOW */
	uint64_t saved_upto; /* what the cursor file says */
	bool stopping;
	/* stats */
	uint64_t appended_records, appended_bytes, replayed;
};

static int
write_cursor(struct ingest_spool *s, uint64_t upto)
{
	char tmp[sizeof(s->dir) + 16], path[sizeof(s->dir) + 16];
	snprintf(tmp, sizeof(tmp), "%s/cursor.tmp", s->dir);
	snprintf(path, sizeof(path), "%s/cursor", s->dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", upto);
	int rc = (write(fd, buf, (size_t)n) == n && fsync(fd) == 0) ? 0 : -1;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	return rc;
}

static uint64_t
read_cursor(const char *dir)
{
	char path[CONFIG_MAX_PATH + 32];
	snprintf(path, sizeof(path), "%s/cursor", dir);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	char line[64] = "";
	uint64_t v = 0;
	if (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		int64_t n;
		if (parse_int64(line, 0, INT64_MAX, &n) == 0)
			v = (uint64_t)n;
	}
	fclose(fp);
	return v;
}

static int
cmp_seg(const void *a, const void *b)
{
	const struct spool_seg *x = a, *y = b;
	return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static void
add_seg(struct ingest_spool *s, uint64_t first)
{
	if (s->nsegs == s->capsegs) {
		s->capsegs = s->capsegs ? s->capsegs * 2 : 16;
		s->segs = xrealloc(s->segs, s->capsegs * sizeof(*s->segs));
	}
	struct spool_seg *g = &s->segs[s->nsegs++];
	memset(g, 0, sizeof(*g));
	g->first_seq = first;
	snprintf(g->path, sizeof(g->path), "%s/%020" PRIu64 ".seg", s->dir, first);
}

/* Reads a record header at off; 1 good, 0 end or torn, -1 error. */
static int
read_record(int fd, int64_t off, struct spool_hdr *h, char **payload)
{
	ssize_t n = pread(fd, h, sizeof(*h), off);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*h) || h->magic != SPOOL_MAGIC || h->len > SPOOL_MAX_RECORD)
		return 0;
	char *p = xmalloc((size_t)h->len + 1);
	if (pread(fd, p, h->len, off + (int64_t)sizeof(*h)) != (ssize_t)h->len ||
	    crc32(0, (const unsigned char *)p, h->len) != h->crc) {
		free(p);
		return 0;
	}
	p[h->len] = '\0';
	if (payload)
		*payload = p;
	else
		free(p);
	return 1;
}

/* Scans every segment for its last sequence number, cutting a torn tail. */
static int
scan_segments(struct ingest_spool *s, struct err *e)
{
	DIR *d = opendir(s->dir);
	if (d == NULL) {
		err_set(e, "cannot read %s: %s", s->dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n != 24 || strcmp(de->d_name + 20, ".seg") != 0)
			continue;
		char num[21];
		memcpy(num, de->d_name, 20);
		num[20] = '\0';
		int64_t first;
		if (parse_int64(num, 0, INT64_MAX, &first) == 0)
			add_seg(s, (uint64_t)first);
	}
	closedir(d);
	if (s->nsegs > 1)
		qsort(s->segs, s->nsegs, sizeof(*s->segs), cmp_seg);
	for (size_t i = 0; i < s->nsegs; i++) {
		struct spool_seg *g = &s->segs[i];
		int fd = open(g->path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			err_set(e, "cannot open %s: %s", g->path, strerror(errno));
			return -1;
		}
		int64_t off = 0;
		struct spool_hdr h;
		while (read_record(fd, off, &h, NULL) == 1) {
			g->last_seq = h.seq;
			off += (int64_t)sizeof(h) + h.len;
		}
		struct stat sb;
		if (fstat(fd, &sb) == 0 && sb.st_size > off) {
			log_warnx("ingest", "spool %s: cutting a torn record at offset %lld (never "
			                    "acknowledged)",
			          g->path, (long long)off);
			if (ftruncate(fd, off) != 0 || fsync(fd) != 0) {
				err_set(e, "cannot repair %s: %s", g->path, strerror(errno));
				close(fd);
				return -1;
			}
		}
		if (i + 1 == s->nsegs)
			s->wsize = off;
		close(fd);
		if (g->last_seq >= s->next_seq)
			s->next_seq = g->last_seq + 1;
	}
	return 0;
}

struct ingest_spool *
ingest_spool_open(const char *data_dir, struct err *e)
{
	struct ingest_spool *s = xcalloc(1, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/spool", data_dir);
	if (mkdir(s->dir, 0750) != 0 && errno != EEXIST) {
		err_set(e, "cannot create %s: %s", s->dir, strerror(errno));
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->grown, NULL);
	pthread_cond_init(&s->drained, NULL);
	s->wfd = -1;
	s->next_seq = 1;
	if (scan_segments(s, e) != 0) {
		ingest_spool_close(s);
		return NULL;
	}
	s->done_upto = s->saved_upto = read_cursor(s->dir);
	if (s->next_seq <= s->done_upto)
		s->next_seq = s->done_upto + 1;
	s->read_seq = s->done_upto + 1;
	/* Find where the reader resumes: the segment holding read_seq. */
	s->read_seg = 0;
	while (s->read_seg + 1 < s->nsegs && s->segs[s->read_seg + 1].first_seq <= s->read_seq)
		s->read_seg++;
	s->read_off = 0;
	s->replayed = s->next_seq - s->read_seq;
	if (s->replayed)
		log_info("ingest", "spool: resuming %llu batches not yet processed",
		         (unsigned long long)s->replayed);
	return s;
}

void
ingest_spool_close(struct ingest_spool *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->done_upto != s->saved_upto && write_cursor(s, s->done_upto) != 0)
		log_warn("ingest", "cannot save the spool cursor");
	pthread_mutex_unlock(&s->mu);
	if (s->wfd >= 0)
		close(s->wfd);
	free(s->segs);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->grown);
	pthread_cond_destroy(&s->drained);
	free(s);
}

int
ingest_spool_append(struct ingest_spool *s, int64_t sensor_id, int64_t org_id,
                    enum ingest_format fmt, const char *data, size_t len, uint64_t *seq,
                    struct err *e)
{
	if (len > SPOOL_MAX_RECORD) {
		err_set(e, "batch larger than %lld bytes", (long long)SPOOL_MAX_RECORD);
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	if (s->nsegs == 0 || s->wsize >= SPOOL_SEGMENT_BYTES) {
		if (s->wfd >= 0)
			close(s->wfd);
		s->wfd = -1;
		add_seg(s, s->next_seq);
		s->wsize = 0;
	}
	struct spool_seg *g = &s->segs[s->nsegs - 1];
	if (s->wfd < 0) {
		s->wfd = open(g->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (s->wfd < 0) {
			err_set(e, "cannot open %s: %s", g->path, strerror(errno));
			pthread_mutex_unlock(&s->mu);
			return -1;
		}
	}
	struct spool_hdr h = {
		.magic = SPOOL_MAGIC,
		.len = (uint32_t)len,
		.crc = (uint32_t)crc32(0, (const unsigned char *)data, (uInt)len),
		.fmt = (uint32_t)fmt,
		.seq = s->next_seq,
		.sensor_id = sensor_id,
		.org_id = org_id,
	};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)(uintptr_t)data, len}};
	ssize_t want = (ssize_t)(sizeof(h) + len);
	ssize_t n = writev(s->wfd, iov, 2);
	if (n != want || fdatasync(s->wfd) != 0) {
		err_set(e, "spool write failed: %s", n < 0 || n == want ? strerror(errno) : "short write");
		/* Undo a partial record so the file stays a list of whole records. */
		if (ftruncate(s->wfd, s->wsize) != 0)
			log_warn("ingest", "cannot undo a partial spool record");
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	s->wsize += want;
	g->last_seq = s->next_seq;
	*seq = s->next_seq++;
	s->appended_records++;
	s->appended_bytes += len;
	pthread_cond_broadcast(&s->grown);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int
ingest_spool_next(struct ingest_spool *s, struct ingest_spool_rec *out)
{
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		if (s->read_seq < s->next_seq && s->read_seq <= s->done_upto + SPOOL_WINDOW)
			break;
		pthread_cond_wait(s->read_seq < s->next_seq ? &s->drained : &s->grown, &s->mu);
	}
	/* Walk to the record read_seq (skipping ones already processed). */
	for (;;) {
		struct spool_seg *g = &s->segs[s->read_seg];
		int fd = open(g->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			log_warn("ingest", "spool: cannot open %s", g->path);
			pthread_mutex_unlock(&s->mu);
			return -1;
		}
		struct spool_hdr h;
		char *payload = NULL;
		int rc = read_record(fd, s->read_off, &h, &payload);
		close(fd);
		if (rc != 1) {
			if (s->read_seg + 1 < s->nsegs) {
				s->read_seg++;
				s->read_off = 0;
				continue;
			}
			log_errorx("ingest", "spool: record %llu is missing or damaged",
			           (unsigned long long)s->read_seq);
			pthread_mutex_unlock(&s->mu);
			return -1;
		}
		s->read_off += (int64_t)sizeof(h) + h.len;
		if (h.seq < s->read_seq) {
			free(payload);
			continue;
		}
		s->read_seq = h.seq + 1;
		out->seq = h.seq;
		out->sensor_id = h.sensor_id;
		out->org_id = h.org_id;
		out->fmt = (enum ingest_format)h.fmt;
		out->data = payload;
		out->len = h.len;
		pthread_mutex_unlock(&s->mu);
		return 1;
	}
}

void
ingest_spool_done(struct ingest_spool *s, uint64_t seq)
{
	pthread_mutex_lock(&s->mu);
	if (seq > s->done_upto && seq <= s->done_upto + SPOOL_WINDOW) {
		s->done[seq % SPOOL_WINDOW] = 1;
		while (s->done[(s->done_upto + 1) % SPOOL_WINDOW]) {
			s->done[(s->done_upto + 1) % SPOOL_WINDOW] = 0;
			s->done_upto++;
		}
		pthread_cond_broadcast(&s->drained);
	}
	pthread_mutex_unlock(&s->mu);
}

/* Saves the cursor and deletes segments wholly processed. Called now and
 * then (not for every batch: it fsyncs). */
void
ingest_spool_checkpoint(struct ingest_spool *s)
{
	pthread_mutex_lock(&s->mu);
	uint64_t upto = s->done_upto;
	if (upto != s->saved_upto) {
		if (write_cursor(s, upto) == 0)
			s->saved_upto = upto;
		else
			log_warn("ingest", "cannot save the spool cursor");
	}
	/* Keep the last segment (it is being written) and the reader's. */
	size_t drop = 0;
	while (drop + 1 < s->nsegs && drop < s->read_seg && s->segs[drop].last_seq != 0 &&
	       s->segs[drop].last_seq <= s->saved_upto)
		drop++;
	for (size_t i = 0; i < drop; i++)
		if (unlink(s->segs[i].path) != 0)
			log_warn("ingest", "cannot remove %s", s->segs[i].path);
	if (drop) {
		memmove(s->segs, s->segs + drop, (s->nsegs - drop) * sizeof(*s->segs));
		s->nsegs -= drop;
		s->read_seg -= drop;
	}
	pthread_mutex_unlock(&s->mu);
}

void
ingest_spool_stop(struct ingest_spool *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->grown);
	pthread_cond_broadcast(&s->drained);
	pthread_mutex_unlock(&s->mu);
}

void
ingest_spool_stats(struct ingest_spool *s, uint64_t *records, uint64_t *bytes, uint64_t *pending)
{
	pthread_mutex_lock(&s->mu);
	*records = s->appended_records;
	*bytes = s->appended_bytes;
	*pending = s->next_seq - 1 - s->done_upto;
	pthread_mutex_unlock(&s->mu);
}
