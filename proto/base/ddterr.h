/* ddterr.h - the one-line message behind the last error on this thread.
 *
 * Every fallible function in ddtarget returns 0 or a negative errno-style
 * code and fills its out-parameters last. Where the caller deserves more than
 * strerror(), the failing function also leaves a message here (libgit2's
 * git_error_last() pattern), so a front end can print one line that says what
 * failed and what to do. */
#ifndef DDTERR_H
#define DDTERR_H

/* Record a message for the current thread and return code unchanged, so a
 * failure reads: return ddterr_set(-EIO, "fragment %s: %s", path, why); */
int ddterr_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message set on this thread for this very code, or
 * strerror(-code) if the last one was set for another code (or cleared).
 * Never NULL. */
const char *ddterr_last(int code);

void ddterr_clear(void);

#endif
