/* http_static.c - serves the console and portal files under web_root.
 * Paths are resolved and must stay inside the root: no "..", no symlink
 * out of it. */
#include "http/http_int.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *ext;
	const char *type;
} mime[] = {
	{".html", "text/html; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".woff2", "font/woff2"},
	{".txt", "text/plain; charset=utf-8"},
	{".map", "application/json"},
};

static const char *
mime_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot)
		for (size_t i = 0; i < CIIP_ARRAY_LEN(mime); i++)
			if (strcmp(dot, mime[i].ext) == 0)
				return mime[i].type;
	return "application/octet-stream";
}

bool
http_static_serve(struct http_req *r)
{
	const char *root = r->srv->web_root;
	if (root[0] == '\0')
		return false;
	const char *p = r->path;
	if (strstr(p, "..") || strchr(p, '\\'))
		return false;
	char rroot[PATH_MAX], rfile[PATH_MAX], want[PATH_MAX * 2];
	if (realpath(root, rroot) == NULL)
		return false;
	snprintf(want, sizeof(want), "%s/%s", rroot, p[0] == '/' ? p + 1 : p);
	struct stat sb;
	if (stat(want, &sb) == 0 && S_ISDIR(sb.st_mode))
		strncat(want, "/index.html", sizeof(want) - strlen(want) - 1);
	if (realpath(want, rfile) == NULL)
		return false;
	size_t n = strlen(rroot);
	if (strncmp(rfile, rroot, n) != 0 || rfile[n] != '/')
		return false;
	int fd = open(rfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return false;
	}
	http_resp_header(r, "Cache-Control", "no-cache");
	http_respond_file(r, 200, mime_type(rfile), fd, (uint64_t)sb.st_size);
	return true;
}
