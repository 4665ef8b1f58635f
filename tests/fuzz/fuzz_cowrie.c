/*
 * fuzz_cowrie.c - libFuzzer target for the Cowrie decoder (and, on the same
 * bytes, the spam-trap decoder, which shares its scanner and adds URL
 * extraction from raw JSON text). Checks as in ingest_fuzz_check.h.
 */
#include <stdint.h>

#include "ingest_fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ingest_event ev;
	struct ingest_decode_err de;
	int rc = ingest_decode(INGEST_FMT_COWRIE, (const char *)data, size, NULL, &ev, &de);
	fuzz_check_decode(rc, &ev, &de, size);
	rc = ingest_decode(INGEST_FMT_SPAMTRAP, (const char *)data, size, NULL, &ev, &de);
	fuzz_check_decode(rc, &ev, &de, size);
	return 0;
}
