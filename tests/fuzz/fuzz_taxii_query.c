/*
 * fuzz_taxii_query.c - libFuzzer target for the TAXII query parameters
 * (added_after, limit, next, match[...]), the timestamp parser and the
 * cursor decoder. The input is a query string: "k=v&k=v..." (not
 * percent-decoded: the HTTP server has done that before these run). Each
 * pair is fed to every endpoint's parameter set; a value of `next` is also
 * decoded as a cursor under a fixed key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taxii/taxii_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned endpoints[] = {TAXII_P_OBJECTS, TAXII_P_OBJECT, TAXII_P_VERSIONS,
                                     TAXII_P_DELETE};
static const uint8_t key[TAXII_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                             12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                             23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t k = 0; k < sizeof(endpoints) / sizeof(endpoints[0]); k++) {
		struct taxii_query q;
		taxii_query_init(&q);
		char *copy = strdup(text), *save = NULL;
		for (char *pair = strtok_r(copy, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(pair, '=');
			const char *value = "";
			if (eq) {
				*eq = '\0';
				value = eq + 1;
			}
			struct err e;
			err_clear(&e);
			if (taxii_query_add(&q, endpoints[k], pair, value, &e) != 0)
				break;
			int64_t us;
			char vkey[TAXII_VKEY_LEN], date[TAXII_DATE_LEN];
			if (taxii_ts_parse(value, &us, vkey) == 0) {
				/* Whatever parses formats back to something that parses. */
				taxii_ts_format(us, date);
				if (taxii_ts_parse(date, NULL, NULL) != 0)
					abort();
			}
		}
		taxii_query_finish(&q);
		if (q.limit < 1 || q.limit > TAXII_PAGE_MAX || q.versions == 0)
			abort();
		if (q.next[0]) {
			struct taxii_cursor c;
			struct err e;
			(void)taxii_cursor_decode(key, q.next, q.filter_hash, 0, TAXII_CURSOR_TTL_S, &c, &e);
		}
		taxii_query_free(&q);
		free(copy);
	}
	free(text);
	return 0;
}
