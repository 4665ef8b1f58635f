/* core_net.c - listening sockets, made the same way for every listener:
 * numeric address only (no DNS at start-up), non-blocking, close-on-exec,
 * address reuse, IPv6 sockets IPv6-only. */
#include "core/core.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
net_listen(const char *addr, int type, int backlog, bool *ipv6, int *port_out, struct err *e)
{
	char host[256];
	int port;
	if (parse_hostport(addr, host, sizeof(host), &port) != 0) {
		err_set(e, "bad listen address '%s'", addr);
		return -1;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t slen;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	bool v6 = false;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		slen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		slen = sizeof(*sin6);
		v6 = true;
	} else {
		err_set(e, "listen address '%s' is not a numeric IPv4 or IPv6 address", host);
		return -1;
	}
	int fd = socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err_set(e, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		/* Bursts of datagrams wait in the kernel, not on the floor. */
		int rcv = 8 * 1024 * 1024;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (bind(fd, (struct sockaddr *)&ss, slen) != 0 ||
	    (type == SOCK_STREAM && listen(fd, backlog) != 0)) {
		err_set(e, "cannot listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	if (port_out) {
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);
		*port_out = port;
		if (getsockname(fd, (struct sockaddr *)&got, &glen) == 0)
			*port_out = ntohs(got.ss_family == AF_INET6
			                      ? ((struct sockaddr_in6 *)&got)->sin6_port
			                      : ((struct sockaddr_in *)&got)->sin_port);
	}
	if (ipv6)
		*ipv6 = v6;
	return fd;
}
