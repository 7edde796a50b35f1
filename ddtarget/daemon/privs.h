/* privs.h - giving up root: a daemon started as root (by hand, or by an
 * init without User=) runs as the configured system user from the moment
 * its port is bound, before it touches the store, so nothing it creates
 * belongs to root and a flaw in it reaches only the store. */
#ifndef DDTD_PRIVS_H
#define DDTD_PRIVS_H

/* If the process is root and user is not empty: become user (a name or
 * a uid) and group (a name or gid; empty: user's primary group), with
 * that group alone as supplementary group, for good. The store at
 * store, if it is there, must belong to user. If not root: user, if set,
 * must be who we are already. 0, or -errno with a one-line ddterr
 * message. *out_dropped says whether it changed anything. */
int privs_drop(const char *user, const char *group, const char *store,
	       int *out_dropped);

/* Whether the process runs as root with no user to become. */
int privs_running_as_root(void);

#endif
