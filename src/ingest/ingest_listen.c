/*
 * ingest_listen.c - the listeners: JSON lines over TCP (the first line
 * names the sensor with its token), syslog over TCP (octet counting or
 * newline framing, RFC 6587) and syslog over UDP. Each runs one epoll
 * thread. Complete lines go to the pipeline's queue in batches; when the
 * queue is full the thread waits, so TCP senders are slowed by the kernel
 * (back-pressure), while UDP datagrams that cannot be queued are dropped
 * and counted, as DESIGN.md allows for UDP only.
 *
 * Memory is bounded: at most ingest.max_connections connections (more are
 * accepted and closed at once, and counted), and a connection's buffer
 * never exceeds the longest line accepted; a longer line is skipped to its
 * end and counted as a decode error.
 */
#include "ingest/ingest_sources.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_BATCH_BYTES (256 * 1024)
#define LISTEN_READ_CHUNK (64 * 1024)
#define UDP_BURST 64
#define UDP_MAX_DATAGRAM 65536

enum listener_kind { L_JSON_TCP, L_SYSLOG_TCP, L_SYSLOG_UDP };

struct conn {
	int fd;
	struct ingest_sensor *sensor; /* NULL until the handshake (JSON) */
	char *buf;
	size_t len, cap;
	bool skipping;     /* inside an overlong line: drop to its newline */
	int framing;       /* syslog TCP: 0 unknown, 1 octet counting, 2 newline */
	uint64_t offset;   /* bytes of the stream consumed before buf[0] */
	char peer[64];
};

struct ingest_listener {
	struct ingest *in;
	enum listener_kind kind;
	char addr[256];
	int fd, ep, wake[2];
	pthread_t thread;
	bool running;
	struct ingest_sensor *fixed_sensor; /* syslog listeners: one sensor */
	char fixed_sensor_name[72];
	struct conn **conns;
	size_t nconns, maxconns;
	/* the batch being filled, per sensor (one at a time per connection) */
	_Atomic uint64_t refused_conns, handshake_failures;
};

/* Hands a buffer of complete lines to the pipeline (waits while full). */
static void
emit(struct ingest_listener *l, struct ingest_sensor *se, const char *data, size_t len,
     uint64_t offset)
{
	if (len == 0 || se == NULL)
		return;
	struct ingest_batch *b = xcalloc(1, sizeof(*b));
	b->sensor_id = se->id;
	b->org_id = se->org_id;
	b->fmt = se->fmt;
	b->mapping = se->mapping;
	/* Batches are whole lines, each ending in a newline. */
	b->data = xmalloc(len + 2);
	memcpy(b->data, data, len);
	if (data[len - 1] != '\n')
		b->data[len++] = '\n';
	b->data[len] = '\0';
	b->len = len;
	b->stream_offset = offset;
	if (l->kind == L_SYSLOG_UDP) {
		if (queue_try_push(l->in->out, b) != 0) {
			size_t lines = 0;
			for (size_t i = 0; i < len; i++)
				lines += data[i] == '\n';
			ingest_count_drop(l->in, se->id, lines);
			ingest_batch_free(b);
		}
		return;
	}
	if (queue_push(l->in->out, b) != 0)
		ingest_batch_free(b); /* shutting down */
}

/* Gives buf[0..n) (whole lines) to the pipeline without a copy; the rest of
 * the buffer moves to a new one. */
static void
emit_owned(struct ingest_listener *l, struct ingest_sensor *se, struct conn *c, size_t n)
{
	struct ingest_batch *b = xcalloc(1, sizeof(*b));
	b->sensor_id = se->id;
	b->org_id = se->org_id;
	b->fmt = se->fmt;
	b->mapping = se->mapping;
	b->data = c->buf;
	b->len = n;
	b->stream_offset = c->offset;
	size_t rest = c->len - n;
	/* A fresh buffer sized for the next reads, not the old one's size:
	 * batches in the queue must not each pin a large allocation. */
	size_t cap = rest + 2 * LISTEN_READ_CHUNK;
	char *nb = xmalloc(cap);
	memcpy(nb, c->buf + n, rest);
	size_t oldcap = c->cap;
	c->buf = nb;
	c->cap = cap;
	c->len = rest;
	c->offset += n;
	/* The batch's lines end in a newline; a NUL after them is not needed
	 * (decoders use lengths) but keeps the data a C string for logs. */
	if (n < oldcap)
		b->data[n] = '\0';
	if (queue_push(l->in->out, b) != 0)
		ingest_batch_free(b);
	if (c->len > INGEST_MAX_LINE_BYTES) {
		struct ingest_decode_err de = {"line longer than the limit", INGEST_MAX_LINE_BYTES};
		ingest_decode_failed(l->in, se->id, c->buf, 256, c->offset, &de);
		c->offset += c->len;
		c->len = 0;
		c->skipping = true;
	}
}

static void
conn_close(struct ingest_listener *l, size_t i)
{
	struct conn *c = l->conns[i];
	epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
	l->conns[i] = l->conns[--l->nconns];
}

static size_t
conn_index(struct ingest_listener *l, struct conn *c)
{
	for (size_t i = 0; i < l->nconns; i++)
		if (l->conns[i] == c)
			return i;
	return l->nconns;
}

/* The JSON-lines handshake: {"token": "..."} or the bare token. */
static bool
handshake(struct ingest_listener *l, struct conn *c, const char *line, size_t len)
{
	char tok[256] = "";
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *t = json_string_value(json_object_get(j, "token"));
	if (t)
		snprintf(tok, sizeof(tok), "%s", t);
	else if (len < sizeof(tok))
		memcpy(tok, line, len), tok[len] = '\0';
	json_decref(j);
	struct auth_caller caller;
	struct err e;
	err_clear(&e);
	if (tok[0] && auth_token_check(l->in->st, tok, &caller, &e) == 0 &&
	    auth_check(&caller, AUTH_EVENTS_WRITE, NULL) == AUTH_ALLOW) {
		c->sensor = ingest_sensor_by_token(l->in, caller.token_id);
		if (c->sensor == NULL)
			err_set(&e, "the token belongs to no registered sensor");
	} else if (e.msg[0] == '\0') {
		err_set(&e, "the token may not send events");
	}
	if (c->sensor == NULL) {
		atomic_fetch_add(&l->handshake_failures, 1);
		log_info("ingest", "%s: refused a JSON-lines connection from %s: %s", l->addr, c->peer,
		         e.msg);
		const char *msg = "{\"error\":\"unauthenticated\"}\n";
		ssize_t n = write(c->fd, msg, strlen(msg));
		(void)n;
		return false;
	}
	const char *ok = "{\"ok\":true}\n";
	ssize_t n = write(c->fd, ok, strlen(ok));
	(void)n;
	return true;
}

/* Processes the complete lines in c->buf; keeps the partial tail. Returns
 * false when the connection must be closed. */
static bool
conn_lines(struct ingest_listener *l, struct conn *c)
{
	size_t start = 0, emit_from = 0;
	struct ingest_sensor *se = l->fixed_sensor ? l->fixed_sensor : c->sensor;
	for (;;) {
		if (l->kind == L_SYSLOG_TCP && c->framing == 0 && start < c->len)
			c->framing = (c->buf[start] >= '1' && c->buf[start] <= '9') ? 1 : 2;
		if (l->kind == L_SYSLOG_TCP && c->framing == 1) {
			/* Octet counting: "LEN SP MSG". Re-frame as a line. */
			size_t p = start;
			size_t n = 0;
			while (p < c->len && c->buf[p] >= '0' && c->buf[p] <= '9' && p - start < 8)
				n = n * 10 + (size_t)(c->buf[p++] - '0');
			if (p == c->len)
				break; /* length not complete yet */
			if (c->buf[p] != ' ' || n == 0 || n > INGEST_MAX_LINE_BYTES) {
				struct ingest_decode_err de = {"bad octet-counting frame", p - start};
				ingest_decode_failed(l->in, se ? se->id : 0, c->buf + start, p - start + 1,
				                     c->offset + start, &de);
				return false; /* the stream cannot be re-synchronised */
			}
			if (c->len - (p + 1) < n)
				break;
			/* Newlines inside the message would split it: blank them. */
			for (size_t i = p + 1; i < p + 1 + n; i++)
				if (c->buf[i] == '\n' || c->buf[i] == '\r')
					c->buf[i] = ' ';
			emit(l, se, c->buf + p + 1, n, c->offset + p + 1);
			start = p + 1 + n;
			emit_from = start;
			continue;
		}
		char *nl = memchr(c->buf + start, '\n', c->len - start);
		if (nl == NULL)
			break;
		size_t end = (size_t)(nl - c->buf);
		if (c->skipping) {
			c->skipping = false;
			start = emit_from = end + 1;
			continue;
		}
		if (l->kind == L_JSON_TCP && c->sensor == NULL) {
			size_t ll = end - start;
			if (ll && c->buf[start + ll - 1] == '\r')
				ll--;
			if (!handshake(l, c, c->buf + start, ll))
				return false;
			se = c->sensor;
			start = emit_from = end + 1;
			continue;
		}
		start = end + 1;
		if (start - emit_from >= LISTEN_BATCH_BYTES) {
			emit(l, se, c->buf + emit_from, start - emit_from, c->offset + emit_from);
			emit_from = start;
		}
	}
	if (start > emit_from && emit_from == 0 && se && l->kind != L_SYSLOG_UDP) {
		/* The common case: hand the whole buffer over instead of copying
		 * it, and keep only the partial line in a new one. */
		emit_owned(l, se, c, start);
		return true;
	}
	if (start > emit_from)
		emit(l, se, c->buf + emit_from, start - emit_from, c->offset + emit_from);
	/* Keep the partial line. */
	if (start > 0) {
		memmove(c->buf, c->buf + start, c->len - start);
		c->len -= start;
		c->offset += start;
	}
	if (c->len > INGEST_MAX_LINE_BYTES) {
		struct ingest_decode_err de = {"line longer than the limit", INGEST_MAX_LINE_BYTES};
		ingest_decode_failed(l->in, se ? se->id : 0, c->buf, 256, c->offset, &de);
		if (l->kind == L_JSON_TCP && c->sensor == NULL)
			return false;
		c->offset += c->len;
		c->len = 0;
		c->skipping = true;
	}
	return true;
}

static void
conn_read(struct ingest_listener *l, struct conn *c)
{
	for (;;) {
		if (c->cap - c->len < LISTEN_READ_CHUNK / 4) {
			size_t cap = c->cap ? c->cap * 2 : 16384;
			if (cap > INGEST_MAX_LINE_BYTES + LISTEN_READ_CHUNK)
				cap = INGEST_MAX_LINE_BYTES + LISTEN_READ_CHUNK;
			if (cap > c->cap) {
				c->buf = xrealloc(c->buf, cap);
				c->cap = cap;
			}
		}
		size_t room = c->cap - c->len;
		ssize_t n = read(c->fd, c->buf + c->len, room > LISTEN_READ_CHUNK ? LISTEN_READ_CHUNK : room);
		if (n > 0) {
			c->len += (size_t)n;
			if (!conn_lines(l, c)) {
				conn_close(l, conn_index(l, c));
				return;
			}
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 && errno == EINTR)
			continue;
		/* EOF or error: a final line without its newline still counts. */
		if (c->len > 0 && !c->skipping && (c->sensor || l->fixed_sensor)) {
			if (c->len < c->cap) {
				c->buf[c->len++] = '\n';
				(void)conn_lines(l, c);
			}
		}
		conn_close(l, conn_index(l, c));
		return;
	}
}

static void
accept_all(struct ingest_listener *l)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (l->nconns >= l->maxconns) {
			atomic_fetch_add(&l->refused_conns, 1);
			close(fd);
			continue;
		}
		struct conn *c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer,
			          sizeof(c->peer));
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		l->conns[l->nconns++] = c;
	}
}

static void
udp_read(struct ingest_listener *l)
{
	static _Thread_local char bufs[UDP_BURST][UDP_MAX_DATAGRAM];
	struct mmsghdr msgs[UDP_BURST];
	struct iovec iov[UDP_BURST];
	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < UDP_BURST; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = UDP_MAX_DATAGRAM - 1;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(l->fd, msgs, UDP_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		struct ingest_sensor *se = l->fixed_sensor;
		struct buf b = {0};
		for (int i = 0; i < n; i++) {
			size_t len = msgs[i].msg_len;
			char *p = bufs[i];
			while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '\0'))
				len--;
			for (size_t k = 0; k < len; k++)
				if (p[k] == '\n' || p[k] == '\r')
					p[k] = ' ';
			buf_append(&b, p, len);
			buf_append(&b, "\n", 1);
		}
		emit(l, se, b.data, b.len, 0);
		buf_free(&b);
	}
}

static void *
listener_main(void *arg)
{
	struct ingest_listener *l = arg;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(l->ep, evs, 64, 1000);
		if (n < 0 && errno != EINTR)
			break;
		bool stop = false;
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &l->wake) {
				stop = true;
			} else if (p == l) {
				if (l->kind == L_SYSLOG_UDP)
					udp_read(l);
				else
					accept_all(l);
			} else {
				struct conn *c = p;
				if (conn_index(l, c) < l->nconns)
					conn_read(l, c);
			}
		}
		if (stop)
			break;
		/* A syslog sensor named in the config may be created later. */
		if (l->kind != L_JSON_TCP && l->fixed_sensor == NULL)
			l->fixed_sensor = ingest_sensor_by_name(l->in, l->fixed_sensor_name);
	}
	while (l->nconns)
		conn_close(l, 0);
	return NULL;
}

struct ingest_listener *
ingest_listener_start(struct ingest *in, const char *kind, const char *addr,
                      const char *sensor_name, size_t maxconns, struct err *e)
{
	struct ingest_listener *l = xcalloc(1, sizeof(*l));
	l->in = in;
	l->kind = strcmp(kind, "json-tcp") == 0     ? L_JSON_TCP
	          : strcmp(kind, "syslog-tcp") == 0 ? L_SYSLOG_TCP
	                                            : L_SYSLOG_UDP;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	snprintf(l->fixed_sensor_name, sizeof(l->fixed_sensor_name), "%s",
	         sensor_name ? sensor_name : "");
	if (l->kind != L_JSON_TCP) {
		l->fixed_sensor = ingest_sensor_by_name(in, l->fixed_sensor_name);
		if (l->fixed_sensor == NULL)
			log_warnx("ingest", "%s listener %s: no sensor named '%s' yet; messages are "
			                    "dropped until it exists",
			          kind, addr, l->fixed_sensor_name);
	}
	l->maxconns = maxconns;
	l->conns = xcalloc(maxconns + 1, sizeof(*l->conns));
	l->fd = net_listen(addr, l->kind == L_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM, 1024, NULL, NULL,
	                   e);
	if (l->fd < 0)
		goto fail;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0 || pipe2(l->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		err_set(e, "epoll: %s", strerror(errno));
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
	struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &l->wake};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->fd, &ev) != 0 ||
	    epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake[0], &wev) != 0 ||
	    pthread_create(&l->thread, NULL, listener_main, l) != 0) {
		err_set(e, "cannot start the %s listener", kind);
		goto fail;
	}
	l->running = true;
	log_info("ingest", "%s listener on %s%s%s", kind, addr, sensor_name ? " for sensor " : "",
	         sensor_name ? sensor_name : "");
	return l;
fail:
	if (l->fd >= 0)
		close(l->fd);
	free(l->conns);
	free(l);
	return NULL;
}

void
ingest_listener_stop(struct ingest_listener *l)
{
	if (l == NULL)
		return;
	if (l->running) {
		ssize_t n = write(l->wake[1], "x", 1);
		(void)n;
		pthread_join(l->thread, NULL);
	}
	close(l->fd);
	close(l->ep);
	close(l->wake[0]);
	close(l->wake[1]);
	free(l->conns);
	free(l);
}

void
ingest_listener_stats(struct ingest_listener *l, uint64_t *conns, uint64_t *refused)
{
	*conns = l->nconns;
	*refused = atomic_load(&l->refused_conns);
}
