/* net.h - what every server here does with an accepted TCP connection:
 * name its peer for the log, have the kernel notice a peer that vanished
 * (ddtargetd, ddt-nfsd), and tell a peer on this host from the rest; and
 * the local (Unix domain) socket by which the appliance's own gateways
 * reach ddtargetd. */
#ifndef NET_H
#define NET_H

#include <stddef.h>
#include <sys/socket.h>

/* "ADDR:PORT" of an IPv4 or IPv6 peer into buf ("?:0" for another
 * family). */
void net_peer_name(const struct sockaddr *sa, char *buf, size_t cap);

/* TCP keepalive on fd: probe after a minute of silence, every 10 s, and
 * give up after 6 unanswered (the default waits two hours), so a peer
 * that vanished without a FIN frees its connection. Best effort. */
void net_keepalive(int fd);

/* Whether a "host" names a local socket rather than a network host: a
 * path, which starts with '/' (as libpq reads its host). */
int net_host_is_local(const char *host);

/* How messages name a target: "HOST:PORT", or the local socket's path. */
void net_target_name(const char *host, int port, char *buf, size_t cap);

/* A listening stream socket at path (non-blocking, close-on-exec), mode
 * 0600, or 0660 with group gid if gid is not -1: a socket left there by
 * a process that is gone is replaced, anything else at path is an error,
 * and so is a socket that a live process still answers on. 0 or -errno
 * with a ddterr message naming path. */
int net_local_listen(const char *path, int backlog, long gid, int *out_fd);

/* A stream socket connected to the local socket at path (close-on-exec).
 * 0 or -errno with a ddterr message naming path. */
int net_local_connect(const char *path, int *out_fd);

/* The uid of the process at the other end of a local socket; -1 if the
 * kernel does not say. */
long net_local_peer_uid(int fd);

/* 1 if sa is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into
 * IPv6): a peer on this very host. */
int net_is_loopback(const struct sockaddr *sa);

#endif
