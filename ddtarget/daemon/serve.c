/* serve.c - the daemon's front door: the listening socket bound first
 * (serve_bind), then the loop (serve_run) with its request workers, the
 * gate, the listeners of accept.c, the signals; at the end every session
 * (server.c) is torn down. It calls accept.c and server.c; neither calls
 * it. */
#include "serve.h"
#include "server_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

#include "audit.h"
#include "ddterr.h"
#include "gate.h"
#include "log.h"
#include "tpool.h"

/* SIGHUP: after logrotate moved the audit log, write a new one. */
static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
	server *srv = arg;
	int rc;

	(void)sig;
	(void)what;
	rc = audit_reopen(srv->d->audit);
	if (rc < 0)
		log_err("SIGHUP: %s", ddterr_last(rc));
	else
		log_info("SIGHUP: audit log reopened");
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	server *srv = arg;

	(void)what;
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopexit(srv->base, NULL);
}

int serve_bind(const ddtd_config *c, int *out_fd)
{
	struct evutil_addrinfo hints = { 0 }, *ai = NULL;
	char port[16];
	int fd, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%d", c->port);
	rc = evutil_getaddrinfo(c->listen, port, &hints, &ai);
	if (rc != 0)
		return ddterr_set(-EINVAL, "listen address %s: %s", c->listen,
				  evutil_gai_strerror(rc));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0 || evutil_make_listen_socket_reuseable(fd) < 0 ||
	    bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		ddterr_set(rc, "cannot listen on %s port %d: %s%s", c->listen,
			   c->port, strerror(-rc), rc == -EADDRINUSE ?
			   " (another ddtargetd? stop it, or give another -p)" :
			   "");
	} else {
		*out_fd = fd;
	}
	evutil_freeaddrinfo(ai);
	return rc;
}

/* The request workers: a fixed pool (the CPU and disk work of requests
 * never runs on the event loop), its queue unbounded because the loop
 * bounds it, DDT_MAX_INFLIGHT per session. */
static int start_workers(server *srv, int n)
{
	tpool_opts o = { .threads = n, .name = "ddtd-req" };
	int rc = tpool_new(&srv->workers, &o);

	if (rc < 0)
		return ddterr_set(rc, "cannot start %d worker threads: %s", n,
				  ddterr_last(rc));
	return 0;
}

static int start_gate(server *srv)
{
	const ddtd_config *c = &srv->d->cfg;
	gate_config g = {
		.max_handshakes = c->max_handshakes,
		.per_address = c->max_handshakes_per_address,
		.backoff_ms = c->auth_backoff_ms,
		.backoff_max_ms = c->auth_backoff_max_ms,
	};

	return gate_new(&srv->gate, &g);
}

int serve_run(ddtd *d, int fd, void (*ready)(ddtd *d))
{
	struct evconnlistener *l = NULL;
	struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
	server srv = { .d = d };
	local_listener local = { 0 };
	int rc = 0, nworkers;

	if (evthread_use_pthreads() != 0) {
		close(fd);
		return ddterr_set(-EINVAL, "libevent has no thread support");
	}
	srv.base = event_base_new();
	if (!srv.base) {
		close(fd);
		return ddterr_set(-ENOMEM, "cannot create the event loop");
	}
	nworkers = d->cfg.workers > 0 ? d->cfg.workers
				      : (int)sysconf(_SC_NPROCESSORS_ONLN) * 2;
	if (nworkers < 2)
		nworkers = 2;
	rc = start_workers(&srv, nworkers);
	if (rc < 0)
		goto out;
	rc = start_gate(&srv);
	if (rc < 0)
		goto out;
	/* Only now does it listen: a client that connects finds the
	 * daemon ready (the store open, the admin's password written). */
	l = evconnlistener_new(srv.base, accept_tcp_cb, &srv, LEV_OPT_CLOSE_ON_FREE,
			       128, fd);
	if (!l) {
		rc = ddterr_set(-errno, "cannot listen on %s port %d: %s",
				d->cfg.listen, d->cfg.port, strerror(errno));
		goto out;
	}
	fd = -1;
	rc = accept_listen_local(&srv, &local);
	if (rc < 0)
		goto out;
	sigterm = evsignal_new(srv.base, SIGTERM, signal_cb, &srv);
	sigint = evsignal_new(srv.base, SIGINT, signal_cb, &srv);
	sighup = evsignal_new(srv.base, SIGHUP, hup_cb, &srv);
	if (!sigterm || !sigint || !sighup || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL) || evsignal_add(sighup, NULL)) {
		rc = ddterr_set(-ENOMEM, "cannot install signal handlers");
		goto out;
	}
	log_info("listening on %s port %d, %d workers, at most %d sessions; "
		 "before login: %d s to log in, at most %d connections (%d "
		 "from one address)", d->cfg.listen, d->cfg.port, nworkers,
		 d->cfg.max_sessions, d->cfg.login_timeout,
		 d->cfg.max_handshakes, d->cfg.max_handshakes_per_address);
	if (ready)
		ready(d);
	event_base_dispatch(srv.base);
	evconnlistener_free(l);
	l = NULL;
	accept_local_close(&srv, &local);
	server_teardown(&srv);
out:
	if (fd >= 0)
		close(fd);
	if (l)
		evconnlistener_free(l);
	accept_local_close(&srv, &local);
	tpool_free(srv.workers);
	gate_free(srv.gate);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (sighup)
		event_free(sighup);
	event_base_free(srv.base);
	return rc;
}
