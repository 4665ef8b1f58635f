/*
 * ingest_decode.c - one entry point for every decoder: resets the event,
 * enforces the line size cap, strips the line ending and dispatches on the
 * sensor's format. A failure leaves a reason and an offset in the line; the
 * pipeline counts it, logs it (rate-limited) and keeps the line in the
 * dead-letter file (docs/INGEST.md).
 */
#include "ingest/ingest_int.h"

int
ingest_decode(enum ingest_format fmt, const char *line, size_t len,
              const struct ingest_mapping *mapping, struct ingest_event *ev,
              struct ingest_decode_err *de)
{
	struct ingest_ctx c = {.line = line, .len = len, .ev = ev, .de = de};
	ingest_event_reset(ev);
	de->reason = NULL;
	de->offset = 0;
	if (line == NULL)
		return ingest_fail(&c, NULL, "no line");
	if (len > INGEST_MAX_LINE_BYTES) {
		de->reason = "line too long";
		de->offset = INGEST_MAX_LINE_BYTES;
		return -1;
	}
	/* Tolerate the line ending a reader may have left (CRLF senders). */
	while (c.len > 0 && (line[c.len - 1] == '\n' || line[c.len - 1] == '\r'))
		c.len--;
	int rc;
	switch (fmt) {
	case INGEST_FMT_EVE:
		rc = ingest_decode_eve(&c);
		break;
	case INGEST_FMT_COWRIE:
		rc = ingest_decode_cowrie(&c);
		break;
	case INGEST_FMT_DNSLOG:
		rc = ingest_decode_dnslog(&c);
		break;
	case INGEST_FMT_SYSLOG:
		rc = ingest_decode_syslog(&c);
		break;
	case INGEST_FMT_SPAMTRAP:
		rc = ingest_decode_spamtrap(&c);
		break;
	case INGEST_FMT_GENERIC:
		rc = ingest_decode_generic(&c, mapping);
		break;
	default:
		return ingest_fail(&c, NULL, "unknown format");
	}
	if (rc != 0) {
		/* A failed decode leaves nothing a caller could mistake for an event. */
		ingest_event_reset(ev);
		if (de->reason == NULL)
			de->reason = "undecodable";
	}
	return rc;
}
