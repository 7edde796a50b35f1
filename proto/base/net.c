/* net.c - naming a TCP peer and keeping an eye on it; the local socket
 * (net.h). */
/* struct ucred needs _GNU_SOURCE, which the build defines */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ddterr.h"

void net_peer_name(const struct sockaddr *sa, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, cap, "%s:%d", host, port);
}

void net_keepalive(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 6;

	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
			 sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int net_host_is_local(const char *host)
{
	return host && host[0] == '/';
}

void net_target_name(const char *host, int port, char *buf, size_t cap)
{
	if (net_host_is_local(host))
		snprintf(buf, cap, "%s", host);
	else
		snprintf(buf, cap, "%s:%d", host, port);
}

static int local_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return ddterr_set(-ENAMETOOLONG, "local socket %s: the path "
				  "is longer than the %zu bytes a socket's "
				  "name may have", path,
				  sizeof(sun->sun_path) - 1);
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

/* What is at path may be taken over: nothing, or a socket nobody answers
 * on (its daemon died without removing it). */
static int local_path_free(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : ddterr_set(-errno, "local socket "
			"%s: %s", path, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return ddterr_set(-EEXIST, "local socket %s: something that "
				  "is no socket is there; remove it or set "
				  "unix_socket elsewhere", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ddterr_set(-errno, "local socket %s: %s", path,
				  strerror(errno));
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0)
		return ddterr_set(-EADDRINUSE, "local socket %s: another "
				  "process serves it", path);
	if (unlink(path) != 0 && errno != ENOENT)
		return ddterr_set(-errno, "local socket %s: cannot remove "
				  "the stale one: %s", path, strerror(errno));
	return 0;
}

int net_local_listen(const char *path, int backlog, long gid, int *out_fd)
{
	struct sockaddr_un sun;
	int fd, rc;

	if ((rc = local_addr(path, &sun)) < 0 ||
	    (rc = local_path_free(path, &sun)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ddterr_set(-errno, "local socket %s: %s", path,
				  strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		rc = -errno;
		close(fd);
		return ddterr_set(rc, "cannot listen on the local socket %s: "
				  "%s", path, strerror(-rc));
	}
	/* A group may connect (the gateways' system user); logging in is
	 * still required. */
	if ((gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) != 0) ||
	    chmod(path, gid >= 0 ? 0660 : 0600) != 0 ||
	    listen(fd, backlog) != 0) {
		rc = -errno;
		close(fd);
		unlink(path);
		return ddterr_set(rc, "cannot listen on the local socket %s: "
				  "%s", path, strerror(-rc));
	}
	*out_fd = fd;
	return 0;
}

int net_local_connect(const char *path, int *out_fd)
{
	struct sockaddr_un sun;
	int fd, rc;

	if ((rc = local_addr(path, &sun)) < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ddterr_set(-errno, "local socket %s: %s", path,
				  strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		rc = -errno;
		close(fd);
		return ddterr_set(rc, "cannot connect to ddtargetd's local "
				  "socket %s: %s; is it running, and is "
				  "this its unix_socket?", path,
				  strerror(-rc));
	}
	*out_fd = fd;
	return 0;
}

long net_local_peer_uid(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return -1;
	return (long)uc.uid;
}

int net_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		const uint8_t *b = in6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
	}
	return 0;
}
