/* ciip_http.c - the client's HTTP calls (libcurl). */
#include "ciip/ciip.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Responses larger than this are refused: the client holds them in memory. */
#define CLI_MAX_RESPONSE_BYTES (512L * 1024 * 1024)

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct cli_resp *r = arg;
	if (r->body.len + size * n > (size_t)CLI_MAX_RESPONSE_BYTES)
		return 0;
	buf_append(&r->body, p, size * n);
	return size * n;
}

int
cli_http(struct cli *c, const char *method, const char *path, const char *body,
         const char *content_type, struct cli_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	CURL *h = curl_easy_init();
	if (h == NULL) {
		fprintf(stderr, "ciip: cannot initialise libcurl\n");
		return -1;
	}
	char *url = xasprintf("%s%s", c->url, path);
	struct curl_slist *hdrs = NULL;
	char *auth = NULL;
	if (c->token) {
		auth = xasprintf("Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (body) {
		char *ct = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
		free(ct);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "ciip/" CIIP_VERSION);
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode rc = curl_easy_perform(h);
	int ret = 0;
	if (rc != CURLE_OK) {
		fprintf(stderr, "ciip: %s %s: %s\n", method, url, curl_easy_strerror(rc));
		ret = -1;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		char *ct = NULL;
		curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
		if (ct)
			snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct);
	}
	if (resp->body.data == NULL)
		buf_puts(&resp->body, "");
	curl_slist_free_all(hdrs);
	free(auth);
	free(url);
	curl_easy_cleanup(h);
	return ret;
}

void
cli_resp_free(struct cli_resp *r)
{
	buf_free(&r->body);
}

void
cli_print_error(const char *what, struct cli_resp *r)
{
	json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
	const char *msg = NULL;
	if (j)
		msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	if (msg == NULL && j)
		msg = json_string_value(json_object_get(j, "description"));
	if (msg == NULL && j)
		msg = json_string_value(json_object_get(j, "title"));
	fprintf(stderr, "ciip: %s: HTTP %ld: %s\n", what, r->status,
	        msg ? msg : (r->body.len ? r->body.data : "(no body)"));
	json_decref(j);
}

int
cli_sub_id(int argc, char **argv, const char *const *with_id, size_t n, const char **id,
           int *first)
{
	*id = NULL;
	*first = 2;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], with_id[i]) != 0)
			continue;
		if (argc < 3 || argv[2][0] == '-')
			return -1;
		*id = argv[2];
		*first = 3;
	}
	return 0;
}

char *
cli_escape(const char *segment)
{
	struct buf b = {0};
	for (const unsigned char *p = (const unsigned char *)segment; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~')
			buf_append(&b, p, 1);
		else
			buf_printf(&b, "%%%02X", *p);
	}
	return buf_steal(&b);
}
