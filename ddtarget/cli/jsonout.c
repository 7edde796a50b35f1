/* jsonout.c - ddt status --json (jsonout.h). The replies are gathered
 * first, so that a failed request prints nothing rather than half an
 * object; then printed as {"KEY": N, ..., "KEY": "TEXT", ...,
 * "alerts": [{"id": ..., "severity": ..., "since_ns": ..., "text": ...}]}.
 * A key STATUS and STATUS_TEXT both gave (none today) keeps STATUS's. */
#include "jsonout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"
#include "utf8.h"

typedef struct jitem {
	char *key, *text;	/* text NULL: a number */
	uint64_t v;
} jitem;

typedef struct jlist {
	jitem *v;
	size_t n, cap;
	char *alerts;		/* the alerts' array, built as they come */
	size_t alen, acap;
} jlist;

static int push(jlist *l, const char *key, const char *text, uint64_t v)
{
	jitem *it;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		jitem *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	it = &l->v[l->n];
	it->key = strdup(key);
	it->text = text ? strdup(text) : NULL;
	it->v = v;
	if (!it->key || (text && !it->text)) {
		free(it->key);
		free(it->text);
		return -ENOMEM;
	}
	l->n++;
	return 0;
}

static int kv_cb(void *arg, const char *key, uint64_t value)
{
	return push(arg, key, NULL, value);
}

static int text_cb(void *arg, const char *key, const char *value)
{
	return push(arg, key, value, 0);
}

/* The character at p (not ASCII) into buf at *len, as JSON that stdout
 * passes unescaped (out_guard_stdout): a C1 control as \u0080-\u009f,
 * a byte that is not valid UTF-8 as U+FFFD, anything else as is. Returns
 * the bytes of p taken. */
static size_t add_multi(char *buf, size_t *len, const unsigned char *p)
{
	size_t n = strnlen((const char *)p, 4), at = 0, take;
	enum utf8_fault f = utf8_scan((const char *)p, n, &at);

	if (f == UTF8_CONTROL && at == 0) {	/* C1: 0xc2 0x80-0x9f */
		*len += (size_t)sprintf(buf + *len, "\\u%04x", p[1]);
		return 2;
	}
	if (f == UTF8_INVALID && at == 0) {
		*len += (size_t)sprintf(buf + *len, "\\ufffd");
		return 1;
	}
	take = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	memcpy(buf + *len, p, take);
	*len += take;
	return take;
}

/* s as a JSON string, quotes included, appended to *buf. */
static int add_str(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 6 * strlen(s) + 3;

	if (need > *cap) {
		size_t c = need * 2;
		char *nb = realloc(*buf, c);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = c;
	}
	(*buf)[(*len)++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			(*buf)[(*len)++] = '\\';
			(*buf)[(*len)++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			*len += (size_t)sprintf(*buf + *len, "\\u%04x", *p);
		} else if (*p >= 0x80) {
			p += add_multi(*buf, len, p) - 1;
		} else {
			(*buf)[(*len)++] = (char)*p;
		}
	}
	(*buf)[(*len)++] = '"';
	(*buf)[*len] = '\0';
	return 0;
}

static int add_raw(jlist *l, const char *s)
{
	size_t n = strlen(s);

	if (l->alen + n + 1 > l->acap) {
		size_t c = (l->alen + n + 1) * 2;
		char *nb = realloc(l->alerts, c);

		if (!nb)
			return -ENOMEM;
		l->alerts = nb;
		l->acap = c;
	}
	memcpy(l->alerts + l->alen, s, n + 1);
	l->alen += n;
	return 0;
}

static int alert_cb(void *arg, const ddtc_alert *a)
{
	jlist *l = arg;
	char num[96];
	int rc;

	snprintf(num, sizeof(num), "%s{\"id\": ", l->alen ? ", " : "");
	if ((rc = add_raw(l, num)) < 0 ||
	    (rc = add_str(&l->alerts, &l->alen, &l->acap, a->id)) < 0)
		return rc;
	snprintf(num, sizeof(num), ", \"severity\": %u, \"since_ns\": %" PRId64
		 ", \"text\": ", a->severity, a->since);
	if ((rc = add_raw(l, num)) < 0 ||
	    (rc = add_str(&l->alerts, &l->alen, &l->acap, a->text)) < 0)
		return rc;
	return add_raw(l, "}");
}

static int seen_before(const jlist *l, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(l->v[j].key, l->v[i].key) == 0)
			return 1;
	return 0;
}

static void print(const jlist *l)
{
	char *s = NULL;
	size_t len = 0, cap = 0;

	fputs("{", stdout);
	for (size_t i = 0; i < l->n; i++) {
		if (seen_before(l, i))
			continue;
		len = 0;
		if (add_str(&s, &len, &cap, l->v[i].key) < 0)
			continue;
		printf("%s\n  %s: ", i ? "," : "", s);
		if (!l->v[i].text) {
			printf("%" PRIu64, l->v[i].v);
			continue;
		}
		len = 0;
		if (add_str(&s, &len, &cap, l->v[i].text) == 0)
			fputs(s, stdout);
		else
			fputs("\"\"", stdout);
	}
	printf("%s\n  \"alerts\": [%s]\n}\n", l->n ? "," : "",
	       l->alerts ? l->alerts : "");
	free(s);
}

static void jlist_free(jlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].text);
	}
	free(l->v);
	free(l->alerts);
}

int jsonout_status(ddtc *c)
{
	jlist l = { 0 };
	int rc;

	rc = ddtc_status(c, kv_cb, &l);
	if (rc == 0)
		rc = ddtc_status_text(c, text_cb, &l);
	if (rc == 0)
		rc = ddtc_alerts(c, alert_cb, &l);
	if (rc == -ENOMEM)
		rc = ddterr_set(rc, "status --json: out of memory");
	if (rc == 0)
		print(&l);
	jlist_free(&l);
	return rc;
}
