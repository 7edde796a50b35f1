/* confval.h - one setting's value, as the programs' configuration files
 * (ddt-nfsd, ddtarget-snmp) give it: a string into a fixed buffer, a
 * bounded integer, a yes/no; and the password a front end logs in with. */
#ifndef DDT_CONFVAL_H
#define DDT_CONFVAL_H

#include <stddef.h>

/* 0, or -1 (dst unchanged) if v does not fit in cap bytes with its NUL. */
int confval_str(char *dst, size_t cap, const char *v);
/* 0, or -1 if v is not a whole decimal number in [lo, hi]. */
int confval_int(int *dst, const char *v, long lo, long hi);
/* yes/true/on/1 or no/false/off/0 (any case); else -1. */
int confval_bool(int *dst, const char *v);

/* What an INI file's key handler answers libinih (1 go on, 0 stop) for
 * rc, a setter's result (0; -1 a bad value; -2 an unknown key), writing
 * the line that says why into err. */
int confval_key_done(int rc, char *err, size_t cap, const char *section,
		     const char *key, const char *value);
/* ini_parse()'s result for path as 0 or -errno with a one-line message:
 * the file unreadable, or the line and err (the handler's) of the first
 * bad one. */
int confval_ini_done(const char *path, int line, const char *err);

/* The first line of file (its line end dropped), or with file NULL or ""
 * $DDT_PASSWORD, or "" if that is unset too. 0, or -errno with a one-line
 * message (the file unreadable, the value too long for cap). */
int confval_password(char *dst, size_t cap, const char *file);

#endif
