/* utf8.h - text from the wire: where UTF-8 breaks or a control character
 * sits (the name rule of PROTOCOL.md builds on it), and the one way front
 * ends print bytes they did not make, escaped, so a name or a message from
 * the target cannot drive the terminal it is shown on. */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* What utf8_scan() found first. */
enum utf8_fault {
	UTF8_OK = 0,
	UTF8_CONTROL,		/* C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F) */
	UTF8_INVALID		/* not UTF-8: a stray or missing continuation
				   byte, an overlong form, a surrogate, or a
				   code point over U+10FFFF */
};

/* The first fault in s[0..n), its byte offset in *at (untouched if
 * none). */
enum utf8_fault utf8_scan(const char *s, size_t n, size_t *at);

/* Bytes utf8_escape() may need for an n-byte string: each byte can
 * become four, plus the NUL. */
#define UTF8_ESC_LEN(n)	(4 * (n) + 1)

/* s for a terminal, into out (cap bytes, always terminated, cut short
 * rather than overflow): every byte of a control character or of
 * invalid UTF-8 as \xNN (hex), all else as is. With UTF8_ESC_BACKSLASH a
 * backslash becomes \\ too, so that a listing is unambiguous; a message
 * that holds names escaped already goes without it. Returns out, for use
 * inside printf. */
#define UTF8_ESC_BACKSLASH	1
const char *utf8_escape(char *out, size_t cap, const char *s, int flags);
/* utf8_escape() for a stream, without UTF8_ESC_BACKSLASH, newlines and
 * tabs kept: s[0..n) into out (room for UTF8_ESC_LEN(n) bytes; not
 * terminated). A sequence cut by the end of s is left for the next call
 * unless final: *used gets the bytes of s consumed. Returns the bytes
 * written to out. */
size_t utf8_escape_stream(char *out, const char *s, size_t n, int final,
			  size_t *used);

#endif
