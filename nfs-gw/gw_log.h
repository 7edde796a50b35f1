/* gw_log.h - the gateways' log: one line per event on stderr (journald
 * takes it under systemd), with a level, so a front end needs no logging
 * library. gw_log_level decides what is shown. */
#ifndef GW_LOG_H
#define GW_LOG_H

enum { GW_LOG_ERR = 0, GW_LOG_WARN = 1, GW_LOG_INFO = 2, GW_LOG_DEBUG = 3 };

extern int gw_log_level;

void gw_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define gw_err(...) gw_log(GW_LOG_ERR, __VA_ARGS__)
#define gw_warn(...) gw_log(GW_LOG_WARN, __VA_ARGS__)
#define gw_info(...) gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)

#endif
