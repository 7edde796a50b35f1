/* session.c - a session with the target (ddtc.h, first section): connect
 * (over TLS unless told not to), HELLO and AUTH, close; the user's words for codecs and names; the
 * target's STATUS and STATUS_TEXT; the session's counters. */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "ddterr.h"

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void ddtc_opts_default(ddtc_opts *o)
{
	const char *env;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = DDT_DEFAULT_PORT;
	o->user = "admin";
	o->password = "";
	o->client_name = "ddtc";
	o->codec = CODEC_LZ4;
	o->threads = 0;
	o->seg_cache_path = NULL;
	o->timeout = DDTC_TIMEOUT_DEFAULT;
	if ((env = getenv("DDT_TIMEOUT")) != NULL && *env)
		o->timeout = atoi(env);
	if ((env = getenv("DDT_TLS")) != NULL && strcmp(env, "off") == 0)
		o->no_tls = 1;
	o->tls_fingerprint = env_or_null("DDT_TLS_FINGERPRINT");
	o->tls_ca = env_or_null("DDT_TLS_CA");
	o->known_hosts = env_or_null("DDT_KNOWN_HOSTS");
}

const char *ddtc_tls_note(const ddtc *c)
{
	return conn_tls_note(c->cn);
}

const char *ddtc_errmsg(int rc)
{
	return ddterr_last(rc);
}

int ddtc_role(const ddtc *c)
{
	return c->role;
}

int ddtc_codec_from_name(const char *name)
{
	return codec_from_name(name);
}

const char *ddtc_codec_name(int codec)
{
	return codec_name(codec);
}

/* The codec to compress with: the one asked for if the target takes it,
 * else LZ4, else none (always accepted: the target must store raw). */
static int pick_codec(int want, uint64_t accepted)
{
	if (want > CODEC_NONE && want < CODEC_COUNT &&
	    (accepted >> want) & 1)
		return want;
	if ((accepted >> CODEC_LZ4) & 1)
		return CODEC_LZ4;
	return CODEC_NONE;
}

/* Check what HELLO offered and adopt it. */
static int hello_apply(ddtc *c, const ddtc_opts *o, uint32_t version,
		       uint32_t max_payload, uint32_t inflight,
		       const uint32_t cut[3], uint64_t codecs)
{
	int rc;

	if (version != DDT_PROTO_VERSION)
		return ddterr_set(-EPROTO, "the target speaks protocol version "
				  "%u, this client %d: upgrade the older one",
				  version, DDT_PROTO_VERSION);
	rc = cdc_init(&c->cut, cut[0], cut[1], cut[2]);
	if (rc < 0)
		return ddterr_set(-EPROTO, "the target asked for segments of "
				  "%u/%u/%u bytes (min/avg/max): %s", cut[0],
				  cut[1], cut[2], ddterr_last(rc));
	c->max_payload = max_payload < DDT_MAX_PAYLOAD ? max_payload :
			 DDT_MAX_PAYLOAD;
	/* One SEG_PUT must carry the largest segment, stored raw. */
	if (c->max_payload < 4 + DDT_SEG_HEAD_LEN + codec_bound(cut[2]))
		return ddterr_set(-EPROTO, "the target's payload limit %u is "
				  "too small for its own %u-byte segments",
				  max_payload, cut[2]);
	c->codec = pick_codec(o->codec, codecs);
	conn_set_inflight(c->cn, inflight);
	return 0;
}

static int hello(ddtc *c, const ddtc_opts *o)
{
	char server[DDT_MAX_STR + 1];
	uint32_t version, max_payload, inflight, cut[3];
	conn_reply rep;
	uint64_t codecs;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_HELLO);
	wb_u32(&w, DDT_PROTO_VERSION);
	wb_str(&w, o->client_name ? o->client_name : "ddtc");
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	version = rb_u32(&r);
	rb_str(&r, server, sizeof(server));
	max_payload = rb_u32(&r);
	inflight = rb_u32(&r);
	cut[0] = rb_u32(&r);
	cut[1] = rb_u32(&r);
	cut[2] = rb_u32(&r);
	codecs = rb_u64(&r);
	rc = rpc_end(&rep, &r, DDT_OP_HELLO);
	if (rc < 0)
		return rc;
	return hello_apply(c, o, version, max_payload, inflight, cut, codecs);
}

static int auth(ddtc *c, const ddtc_opts *o)
{
	conn_reply rep;
	uint8_t role;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_AUTH);
	wb_str(&w, o->user ? o->user : "admin");
	wb_str(&w, o->password ? o->password : "");
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	role = rb_u8(&r);
	rc = rpc_end(&rep, &r, DDT_OP_AUTH);
	if (rc == 0)
		c->role = role;
	return rc;
}

/* The segment cache is a convenience: without memory for it the session
 * still works, it only asks the target about everything. */
static void seg_cache_open(ddtc *c, const ddtc_opts *o)
{
	char tag[320];

	if (!o->seg_cache_path)
		return;
	c->sc_path = strdup(o->seg_cache_path);
	/* Fingerprints are global on a target, so the address names it. */
	snprintf(tag, sizeof(tag), "%s:%d", o->host ? o->host : "127.0.0.1",
		 o->port ? o->port : DDT_DEFAULT_PORT);
	if (c->sc_path && segcache_open(&c->sc, c->sc_path, segcache_tag(tag),
					SEGCACHE_MAX_DEFAULT, NULL) < 0)
		c->sc = NULL;
}

int ddtc_connect(ddtc **out, const ddtc_opts *o)
{
	tlsc_trust trust;
	ddtc_opts def;
	ddtc *c;
	long cpus;
	int rc;

	if (!o) {
		ddtc_opts_default(&def);
		o = &def;
	}
	trust = (tlsc_trust){ o->tls_fingerprint, o->tls_ca, o->known_hosts };
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	c->threads = o->threads > 0 ? o->threads : cpus > 0 ? (int)cpus : 1;
	rc = conn_open(&c->cn, o->host ? o->host : "127.0.0.1",
		       o->port ? o->port : DDT_DEFAULT_PORT, o->timeout,
		       o->no_tls ? NULL : &trust);
	if (rc == 0)
		rc = hello(c, o);
	if (rc == 0)
		rc = auth(c, o);
	if (rc < 0) {
		ddtc_close(c);
		return rc;
	}
	seg_cache_open(c, o);
	*out = c;
	return 0;
}

void ddtc_close(ddtc *c)
{
	if (!c)
		return;
	/* Workers first: they send, and their callbacks need the conn. */
	wpool_free(c->pool);
	conn_close(c->cn);
	if (c->sc) {
		/* ddtc_close() cannot fail: a cache not saved is only a
		 * slower next session. */
		(void)segcache_save(c->sc);
		segcache_free(c->sc);
	}
	free(c->sc_path);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void ddtc_get_counters(ddtc *c, ddtc_counters *out)
{
	out->logical_bytes = atomic_load(&c->logical_bytes);
	out->wire_bytes = conn_wire_bytes(c->cn);
	out->segments = atomic_load(&c->segments);
	out->segments_sent = atomic_load(&c->segments_sent);
	out->bytes_sent_stored = atomic_load(&c->bytes_sent_stored);
	out->queries_saved = atomic_load(&c->queries_saved);
}

int ddtc_status(ddtc *c, ddtc_kv_cb cb, void *arg)
{
	conn_reply rep;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_STATUS);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	rc = rpc_kvs(&r, cb, arg);
	return rpc_end_cb(&rep, &r, DDT_OP_STATUS, rc);
}

int ddtc_status_text(ddtc *c, ddtc_text_cb cb, void *arg)
{
	char key[DDT_MAX_STR + 1], val[DDT_MAX_STR + 1];
	conn_reply rep;
	uint32_t n, i;
	wbuf w;
	rbuf r;
	int rc;

	conn_begin(&w, DDT_OP_STATUS_TEXT);
	rc = rpc_call(c, &w, &rep, &r);
	if (rc < 0)
		return rc;
	n = rb_count(&r, 2 + 2, UINT32_MAX);
	for (i = 0, rc = 0; i < n && rc == 0 && !r.err; i++) {
		rb_str(&r, key, sizeof(key));
		rb_str(&r, val, sizeof(val));
		if (!r.err)
			rc = cb(arg, key, val);
	}
	return rpc_end_cb(&rep, &r, DDT_OP_STATUS_TEXT, rc);
}

typedef struct proto_key {
	const char *key;
	int has;
} proto_key;

static int proto_key_kv(void *arg, const char *key, uint64_t value)
{
	proto_key *k = arg;

	if (strcmp(key, k->key) == 0 && value == 1)
		k->has = 1;
	return 0;
}

/* 1 if the target's STATUS says key = 1, 0 if not, asked once per session
 * and kept in *cache (0 not asked, 1 yes, -1 no); or STATUS's failure. */
static int session_proto(ddtc *c, atomic_int *cache, const char *key)
{
	proto_key k = { .key = key };
	int v = atomic_load(cache), rc;

	if (v == 0) {
		rc = ddtc_status(c, proto_key_kv, &k);
		if (rc < 0)
			return rc;
		v = k.has ? 1 : -1;
		atomic_store(cache, v);
	}
	return v > 0;
}

int session_has_set_content(ddtc *c)
{
	int rc = session_proto(c, &c->set_content, "proto_set_content");

	if (rc == 0)
		return ddterr_set(-EOPNOTSUPP, "the target does not take "
				  "SET_CONTENT or exclusive creates (no "
				  "proto_set_content in its STATUS): upgrade "
				  "ddtargetd");
	return rc < 0 ? rc : 0;
}

int session_has_read_files(ddtc *c)
{
	return session_proto(c, &c->read_files, "proto_read_files");
}
