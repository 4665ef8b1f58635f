/* core_log.c - one line per event, with a timestamp and the subsystem, as
 * text or JSON lines, to stderr or a file that SIGHUP reopens. */
#include "core/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static struct {
	pthread_mutex_t mu;
	enum log_level level;
	bool json;
	char path[CONFIG_MAX_PATH];
	FILE *fp; /* NULL means stderr */
} logger = {PTHREAD_MUTEX_INITIALIZER, LOG_LVL_INFO, false, "", NULL};

static const char *level_names[] = {"debug", "info", "warn", "error"};

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < CIIP_ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_open(enum log_level level, bool json, const char *path)
{
	FILE *fp = NULL;
	if (path && path[0]) {
		fp = fopen(path, "a");
		if (fp == NULL)
			return -1;
		setvbuf(fp, NULL, _IOLBF, 0);
	}
	pthread_mutex_lock(&logger.mu);
	if (logger.fp)
		fclose(logger.fp);
	logger.fp = fp;
	logger.level = level;
	logger.json = json;
	snprintf(logger.path, sizeof(logger.path), "%s", path ? path : "");
	pthread_mutex_unlock(&logger.mu);
	return 0;
}

int
log_reopen(void)
{
	int rc = 0;
	pthread_mutex_lock(&logger.mu);
	if (logger.path[0]) {
		FILE *fp = fopen(logger.path, "a");
		if (fp == NULL) {
			rc = -1; /* keep writing to the old file */
		} else {
			setvbuf(fp, NULL, _IOLBF, 0);
			if (logger.fp)
				fclose(logger.fp);
			logger.fp = fp;
		}
	}
	pthread_mutex_unlock(&logger.mu);
	return rc;
}

void
log_close(void)
{
	pthread_mutex_lock(&logger.mu);
	if (logger.fp)
		fclose(logger.fp);
	logger.fp = NULL;
	logger.path[0] = '\0';
	pthread_mutex_unlock(&logger.mu);
}

void
log_set_level(enum log_level level)
{
	pthread_mutex_lock(&logger.mu);
	logger.level = level;
	pthread_mutex_unlock(&logger.mu);
}

static void
json_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf_append(b, "\\", 1);
			buf_append(b, s, 1);
		} else if (c < 0x20) {
			buf_printf(b, "\\u%04x", c);
		} else {
			buf_append(b, s, 1);
		}
	}
}

static void log_vmsg(enum log_level lvl, const char *subsys, const char *suffix, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

static void
log_vmsg(enum log_level lvl, const char *subsys, const char *suffix, const char *fmt, va_list ap)
{
	if (lvl < logger.level)
		return;
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per event: a message never carries a newline into the log. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	char ts[32];
	time_format_rfc3339(time_now_ms(), ts, sizeof(ts));

	struct buf b = {0};
	if (logger.json) {
		buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"subsys\":\"", ts, level_names[lvl]);
		json_escape(&b, subsys);
		buf_puts(&b, "\",\"msg\":\"");
		json_escape(&b, msg);
		if (suffix) {
			buf_puts(&b, ": ");
			json_escape(&b, suffix);
		}
		buf_puts(&b, "\"}\n");
	} else {
		buf_printf(&b, "%s %-5s %s: %s%s%s\n", ts, level_names[lvl], subsys, msg,
		           suffix ? ": " : "", suffix ? suffix : "");
	}
	pthread_mutex_lock(&logger.mu);
	FILE *fp = logger.fp ? logger.fp : stderr;
	fwrite(b.data, 1, b.len, fp);
	fflush(fp);
	pthread_mutex_unlock(&logger.mu);
	buf_free(&b);
}

void
log_msg(enum log_level lvl, const char *subsys, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, subsys, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *subsys, const char *fmt, ...)
{
	char e[256];
	int saved = errno;
	snprintf(e, sizeof(e), "%s", strerror(saved));
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LVL_WARN, subsys, e, fmt, ap);
	va_end(ap);
	errno = saved;
}
