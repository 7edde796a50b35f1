/* gw_sess.h - a gateway's session with ddtargetd that outlives the
 * daemon: when the connection breaks (the daemon restarts, the network
 * drops), the next call finds no session, one reconnect is tried at most
 * every second, and meanwhile every caller hears -ENOTCONN at once, which
 * a gateway answers as "try later" (NFS3ERR_JUKEBOX, EAGAIN), never with
 * a hang. Shared by the NFS server and the FUSE mount.
 *
 * A caller takes the session with gw_sess_get(), makes its ddtc calls, and
 * gives it back with gw_sess_put() and the calls' last result: a result
 * that says the connection is gone retires the session; it is closed once
 * its last caller has put it back (ddtc_close wants no call running). */
#ifndef GW_SESS_H
#define GW_SESS_H

#include "ddtc.h"

typedef struct gw_sess gw_sess;

/* o is copied (its strings too). The first connection is tried at once;
 * its failure is returned but the session stays usable and retries. */
int gw_sess_new(gw_sess **out, const ddtc_opts *o);
void gw_sess_free(gw_sess *s);

/* The session to use, or -ENOTCONN (with a message) while the target is
 * away. */
int gw_sess_get(gw_sess *s, ddtc **out);
/* Give c back; rc is what its calls returned (0 or -errno). */
void gw_sess_put(gw_sess *s, ddtc *c, int rc);

/* Whether rc means the connection to the target is lost. */
int gw_sess_lost(int rc);

/* Times the session was (re)established, for logs and tests. */
unsigned gw_sess_generation(gw_sess *s);

#endif
