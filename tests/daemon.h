/* daemon.h - start a real ddtargetd for a test: its own store directory
 * and a free loopback port, the admin password it generated, and a clean
 * stop (SIGTERM) or a crash (SIGKILL); with ddtc.h included first, the
 * client library logged in to it. Tests run in parallel, so nothing here
 * is shared between them: the daemon speaks TLS, and the certificates
 * clients pin go to a known-hosts file beside the store
 * ($DDT_KNOWN_HOSTS), since another test's daemon, with another
 * certificate, may have had the same port before. */
#ifndef TEST_DAEMON_H
#define TEST_DAEMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

typedef struct test_daemon {
	pid_t pid;
	int port;
	char store[512];
	char password[128];
	char log[600];
} test_daemon;

/* Set (before daemon_start) by a test that speaks the wire by hand, in
 * plaintext (rawwire.h does): its daemons take plaintext from loopback
 * too (tls = loopback-plain); clients of the library still use TLS. */
static int daemon_plain_ok;

/* Daemons still running when the test exits (a bail-out, say) are killed,
 * so a failed test leaves no process behind. */
static pid_t daemon_pids[8];

static void daemon_kill_all(void)
{
	for (int i = 0; i < 8; i++)
		if (daemon_pids[i] > 0)
			kill(daemon_pids[i], SIGKILL);
}

static inline void daemon_track(pid_t pid, int add)
{
	static int registered;

	if (!registered) {
		atexit(daemon_kill_all);
		registered = 1;
	}
	for (int i = 0; i < 8; i++) {
		if (add && daemon_pids[i] == 0) {
			daemon_pids[i] = pid;
			return;
		}
		if (!add && daemon_pids[i] == pid) {
			daemon_pids[i] = 0;
			return;
		}
	}
}

/* A port nobody listens on right now. */
static inline int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static inline int tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Start ddtargetd on store (created if new) with extra arguments (NULL
 * terminated, may be NULL); wait until it accepts connections. 0 or -1. */
static inline int daemon_start(test_daemon *d, const char *store,
			       const char *const *extra)
{
	const char *bin = getenv("DDTARGETD");
	char port[16], pwpath[600], bbuf[600], khpath[600];
	const char *argv[32];
	int n = 0, fd;
	FILE *f;

	if (!bin) {
		const char *top = getenv("top_builddir");

		snprintf(bbuf, sizeof(bbuf), "%s/ddtargetd", top ? top : ".");
		bin = bbuf;
	}
	snprintf(d->store, sizeof(d->store), "%s", store);
	snprintf(d->log, sizeof(d->log), "%s.log", store);
	d->port = free_port();
	snprintf(port, sizeof(port), "%d", d->port);
	argv[n++] = bin;
	argv[n++] = "-s";
	argv[n++] = store;
	argv[n++] = "-p";
	argv[n++] = port;
	argv[n++] = "-v";
	if (daemon_plain_ok) {
		argv[n++] = "-o";
		argv[n++] = "tls=loopback-plain";
	}
	snprintf(khpath, sizeof(khpath), "%s.known_hosts", store);
	setenv("DDT_KNOWN_HOSTS", khpath, 1);
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0) {
		int lfd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (lfd >= 0) {
			dup2(lfd, 2);
			dup2(lfd, 1);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	daemon_track(d->pid, 1);
	for (int i = 0; i < 500; i++) {
		int st;

		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			daemon_track(d->pid, 0);
			d->pid = 0;
			return -1;	/* it died: see d->log */
		}
		fd = tcp_connect(d->port);
		if (fd >= 0) {
			close(fd);
			break;
		}
		sleep_ms(20);
	}
	snprintf(pwpath, sizeof(pwpath), "%s/admin.password", store);
	f = fopen(pwpath, "r");
	if (!f || !fgets(d->password, sizeof(d->password), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	d->password[strcspn(d->password, "\n")] = '\0';
	return 0;
}

/* daemon_start on dir/store with no extra arguments, or bail out. */
static inline void daemon_start_in(test_daemon *d, const char *dir)
{
	char path[sizeof(d->store)];

	if (snprintf(path, sizeof(path), "%s/store", dir) >= (int)sizeof(path))
		tap_bail("path too long: %s/store", dir);
	if (daemon_start(d, path, NULL) != 0)
		tap_bail("ddtargetd did not start (log: %s)", d->log);
}

/* daemon_start again on the store d ran on (stopped), or bail out. */
static inline void daemon_start_again(test_daemon *d)
{
	char path[sizeof(d->store)];

	snprintf(path, sizeof(path), "%s", d->store);
	if (daemon_start(d, path, NULL) != 0)
		tap_bail("ddtargetd did not restart (log: %s)", d->log);
}

#ifdef DDTC_H
/* The client library connected to d as admin, or bail out. */
static inline ddtc *daemon_connect(const test_daemon *d)
{
	ddtc_opts o;
	ddtc *c;
	int rc;

	ddtc_opts_default(&o);
	o.port = d->port;
	o.password = d->password;
	rc = ddtc_connect(&c, &o);
	if (rc < 0)
		tap_bail("connect: %s", ddtc_errmsg(rc));
	return c;
}
#endif

/* SIGTERM (clean) or SIGKILL (crash); returns the wait status. */
static inline int daemon_stop(test_daemon *d, int sig)
{
	int st = -1;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	waitpid(d->pid, &st, 0);
	daemon_track(d->pid, 0);
	d->pid = 0;
	return st;
}

#endif
