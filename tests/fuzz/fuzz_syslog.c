/*
 * fuzz_syslog.c - libFuzzer target for the syslog decoder (RFC 5424, RFC
 * 3164, firewall bodies) and, on the same bytes, the DNS query-log decoder
 * that shares its header parser. Checks as in ingest_fuzz_check.h.
 */
#include <stdint.h>

#include "ingest_fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ingest_event ev;
	struct ingest_decode_err de;
	int rc = ingest_decode(INGEST_FMT_SYSLOG, (const char *)data, size, NULL, &ev, &de);
	fuzz_check_decode(rc, &ev, &de, size);
	rc = ingest_decode(INGEST_FMT_DNSLOG, (const char *)data, size, NULL, &ev, &de);
	fuzz_check_decode(rc, &ev, &de, size);
	return 0;
}
