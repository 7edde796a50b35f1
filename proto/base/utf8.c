/* utf8.c - a strict UTF-8 scanner (RFC 3629: shortest forms only, no
 * surrogates, nothing over U+10FFFF) that also stops at control
 * characters, and the escaping that front ends print untrusted text
 * with. One decoder for both, so what the target refuses is exactly what a
 * front end escapes. */
#include "utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the well-formed sequence at s[0..n) and its code point in
 * *cp; 0 if none starts there. */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t c = s[0];

	if (c < 0x80)
		len = 1;
	else if ((c & 0xe0) == 0xc0)
		len = 2, c &= 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, c &= 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, c &= 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (len > 1 && c < min[len])
		return 0;	/* overlong */
	if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

static int utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

enum utf8_fault utf8_scan(const char *s, size_t n, size_t *at)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len == 0 || utf8_is_control(cp)) {
			*at = i;
			return len == 0 ? UTF8_INVALID : UTF8_CONTROL;
		}
		i += len;
	}
	return UTF8_OK;
}

const char *utf8_escape(char *out, size_t cap, const char *s, int flags)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s), i = 0, o = 0, len, k;
	uint32_t cp;

	if (cap == 0)
		return out;
	while (i < n) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len && !utf8_is_control(cp) &&
		    !(cp == '\\' && (flags & UTF8_ESC_BACKSLASH))) {
			if (o + len >= cap)
				break;
			for (k = 0; k < len; k++)
				out[o++] = (char)p[i + k];
			i += len;
			continue;
		}
		/* A bad sequence goes a byte at a time: the next byte may
		 * start a good one. A control character is escaped whole. */
		for (k = 0; k < (len ? len : 1); k++, i++) {
			if (o + 4 >= cap)
				goto out;
			if (p[i] == '\\')
				o += (size_t)snprintf(out + o, cap - o, "\\\\");
			else
				o += (size_t)snprintf(out + o, cap - o, "\\x%02x",
						      p[i]);
		}
	}
out:
	out[o] = '\0';
	return out;
}

/* Whether s[0..n), n short of a sequence's length, may yet become one. */
static int utf8_cut(const uint8_t *s, size_t n)
{
	size_t need = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 :
		      (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (need <= n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

size_t utf8_escape_stream(char *out, const char *s, size_t n, int final,
			  size_t *used)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, o = 0, len, k;
	uint32_t cp;

	while (i < n) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len && (!utf8_is_control(cp) || cp == '\n' ||
			    cp == '\t')) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
			continue;
		}
		if (!len && !final && utf8_cut(p + i, n - i))
			break;		/* the rest comes with the next call */
		for (k = 0; k < (len ? len : 1); k++, i++)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", p[i]);
	}
	*used = i;
	return o;
}
