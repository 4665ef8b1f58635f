/* fuzz_config.c - libFuzzer target for the YAML configuration loader. */
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct err e;
	config_defaults(&c);
	(void)config_load_buffer(&c, "fuzz.yaml", (const char *)data, size, &e, NULL, NULL);
	/* Whatever was loaded must be dumpable. */
	struct buf b = {0};
	config_dump(&c, &b);
	buf_free(&b);
	return 0;
}
