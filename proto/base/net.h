/* net.h - what every server here does with an accepted TCP connection:
 * name its peer for the log, have the kernel notice a peer that vanished
 * (ddtargetd, ddt-nfsd), and tell a peer on this host from the rest. */
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

/* 1 if sa is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into
 * IPv6): a peer on this very host. */
int net_is_loopback(const struct sockaddr *sa);

#endif
