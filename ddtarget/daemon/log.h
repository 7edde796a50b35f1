/* log.h - the daemon's log: one line per event, to stderr (with a time
 * stamp) or to syslog. Thread-safe: a line is written with one call. */
#ifndef DDTD_LOG_H
#define DDTD_LOG_H

enum { LOG_ERR_ = 3, LOG_WARN_ = 4, LOG_INFO_ = 6, LOG_DEBUG_ = 7 };

/* to_syslog: use syslog(3) under ident instead of stderr; verbose: also
 * debug lines. */
void log_setup(const char *ident, int to_syslog, int verbose);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR_, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN_, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO_, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG_, __VA_ARGS__)

#endif
