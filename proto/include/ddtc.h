/* ddtc.h - the ddtarget client library: with ddtc_types.h (the protocol's
 * vocabulary) and proto/base, all that ddt, the NFS, CIFS and tape
 * gateways and the SNMP subagent include.
 *
 * A ddtc is one authenticated session with ddtargetd. Calls block, but the
 * connection is pipelined underneath: any number of threads may call at
 * once, and the file writer keeps many requests in flight by itself, so a
 * single writer still fills the link and the target's cores.
 *
 * Deduplication happens here, on the client: ddtc_file_write() cuts the
 * data into segments (the chunker sizes come from the target's HELLO),
 * fingerprints them, asks the target which it lacks, and sends only those,
 * compressed. Every call returns 0 or a negative errno (the protocol's error
 * codes, ddtc_types.h); ddtc_errmsg() then says what failed in one line.
 *
 * The sections below are the library's files: session.c, su.c,
 * namespace.c, file.c and commit.c, fbatch.c, rfile.c, read.c, backup.c,
 * maint.c. */
#ifndef DDTC_H
#define DDTC_H

#include <stddef.h>
#include <stdint.h>

#include "ddtc_types.h"

typedef struct ddtc ddtc;

/* ---- the session, and the target's status (session.c) ---- */

typedef struct ddtc_opts {
	const char *host;	/* default "127.0.0.1" */
	int port;		/* default DDT_DEFAULT_PORT */
	const char *user;	/* default "admin" */
	const char *password;
	const char *client_name; /* for the target's log; default "ddtc" */
	int codec;		/* DDT_CODEC_* of new segments; default LZ4 */
	int threads;		/* segmenting/compressing threads; 0: one per CPU */
	/* Fingerprints known to be on the target, kept across sessions in
	 * this file (rewritten atomically at ddtc_close(); a damaged one is
	 * rebuilt). Only a hint: the target checks every COMMIT. NULL: no
	 * cache; every fingerprint is asked about. */
	const char *seg_cache_path;
	/* Seconds the target may stay silent while requests wait before the
	 * session fails (-ETIMEDOUT). ddtc_opts_default: $DDT_TIMEOUT if set,
	 * else DDTC_TIMEOUT_DEFAULT; 0 or less: wait for ever. */
	int timeout;
	/* TLS (PROTOCOL.md section 1, TLS). The target's certificate is
	 * trusted by the first of these given: tls_fingerprint
	 * ("SHA256:<hex>", as ddtargetd logs it and `ddt status` shows it),
	 * tls_ca (a PEM file of CAs; the certificate must name host), else
	 * the known_hosts file, which pins the certificate a host:port shows
	 * first and refuses any other after (NULL: $DDT_KNOWN_HOSTS, else
	 * $XDG_CONFIG_HOME/ddt/known_hosts, else ~/.config/ddt/known_hosts).
	 * no_tls 1: plaintext, which a target takes only from loopback and
	 * only when set so. ddtc_opts_default: $DDT_TLS ("off" sets no_tls),
	 * $DDT_TLS_FINGERPRINT, $DDT_TLS_CA, $DDT_KNOWN_HOSTS. */
	int no_tls;
	const char *tls_fingerprint;
	const char *tls_ca;
	const char *known_hosts;
} ddtc_opts;

#define DDTC_TIMEOUT_DEFAULT 600

void ddtc_opts_default(ddtc_opts *o);

/* The [target] section of a gateway's configuration (ddt-nfsd,
 * ddtarget-snmp; target_conf.c): where ddtargetd is (host may be its
 * local socket's path), who to log in as, and how to trust it. */
typedef struct ddtc_target_conf {
	char host[256];
	int port;
	char user[256];
	char password[256];	/* from password_file, else $DDT_PASSWORD */
	char password_file[1024];
	/* TLS trust (ddtc_opts): "" for the default */
	char tls_fingerprint[128], tls_ca[1024], known_hosts[1024];
	int no_tls;		/* tls = off */
} ddtc_target_conf;

/* Defaults: 127.0.0.1, the default port, user. */
void ddtc_target_conf_default(ddtc_target_conf *t, const char *user);
/* One key of the section: 0, -1 a bad value (ddterr message), -2 a key
 * the section does not have (confval.h's convention). */
int ddtc_target_conf_key(ddtc_target_conf *t, const char *k, const char *v);
/* The password, once every key is read: 0 or -errno with a message. */
int ddtc_target_conf_password(ddtc_target_conf *t);
/* o's target, login and trust from t, which must outlive o. */
void ddtc_target_conf_opts(const ddtc_target_conf *t, ddtc_opts *o);

/* Connect, HELLO, AUTH. -ECONNREFUSED, -EACCES (wrong password), -EBUSY...
 * o NULL: the defaults. */
int ddtc_connect(ddtc **out, const ddtc_opts *o);
/* Close the session and save the segment cache. Every ddtc_file must be
 * closed or aborted first, and no other call may be running on c. A
 * ddtc_rfile holds nothing of a session between calls: it may outlive
 * this one and go on with another. */
void ddtc_close(ddtc *c);

/* What the user should hear about the session's TLS: a line saying the
 * target's certificate was pinned now (its first use), or NULL. */
const char *ddtc_tls_note(const ddtc *c);

/* The message of the last failure on this thread that returned rc (the
 * target's own message for an error reply); never NULL. */
const char *ddtc_errmsg(int rc);

/* The role AUTH granted (DDT_ROLE_USER, DDT_ROLE_ADMIN or
 * DDT_ROLE_STATUS). */
int ddtc_role(const ddtc *c);

/* The codec names a user gives (ddtc_opts.codec): "none", "lz4", "zstd",
 * "gzfast". ddtc_codec_from_name() gives the id or -EINVAL;
 * ddtc_codec_name() the name, NULL for an unknown id. */
int ddtc_codec_from_name(const char *name);
const char *ddtc_codec_name(int codec);

typedef int (*ddtc_kv_cb)(void *arg, const char *key, uint64_t value);
int ddtc_status(ddtc *c, ddtc_kv_cb cb, void *arg);

/* What STATUS cannot say in numbers (PROTOCOL.md, STATUS_TEXT): the
 * version and the store's id, each storage directory's path, state and
 * problem ("" when it is fine). */
typedef int (*ddtc_text_cb)(void *arg, const char *key, const char *value);
int ddtc_status_text(ddtc *c, ddtc_text_cb cb, void *arg);

/* Counters, for progress displays. */
typedef struct ddtc_counters {
	uint64_t logical_bytes;	/* handed to ddtc_file_write() */
	uint64_t wire_bytes;	/* sent on the socket, all frames */
	uint64_t segments, segments_sent, bytes_sent_stored;
	uint64_t queries_saved;	/* fingerprints the segment cache answered */
} ddtc_counters;

void ddtc_get_counters(ddtc *c, ddtc_counters *out);

/* ---- users (PROTOCOL.md section 5, Users) ----
 * An admin adds, lists, changes and removes users (one of a domain other
 * than "system": its own domain's only); every user may change its own
 * password (ddtc_user_set with DDT_USER_SET_PASSWORD alone). role: a
 * DDT_ROLE_*; domain NULL or "": the admin's own (add), unchanged (set). */
typedef struct ddtc_user {
	char name[DDT_MAX_USER + 1];
	int role;
	char domain[DDT_MAX_DOMAIN + 1];
} ddtc_user;
typedef int (*ddtc_user_cb)(void *arg, const ddtc_user *u);

int ddtc_user_add(ddtc *c, const char *user, const char *password, int role,
		  const char *domain);
int ddtc_user_list(ddtc *c, ddtc_user_cb cb, void *arg);
/* mask: DDT_USER_SET_* bits naming the fields that apply. */
int ddtc_user_set(ddtc *c, const char *user, uint32_t mask,
		  const char *password, int role, const char *domain);
int ddtc_user_delete(ddtc *c, const char *user);

/* ---- API tokens (PROTOCOL.md section 5, Tokens) ----
 * A token logs its user in instead of the password (give it as the
 * password). create: for the logged-in user, label, expires (ns since the
 * epoch, 0 never); token (DDTC_TOKEN_LEN + 1 bytes) and id (17 bytes)
 * filled. list: one's own, and an admin's users'. delete: by id. */
#define DDTC_TOKEN_LEN	86
typedef struct ddtc_token {
	char id[17];
	char user[DDT_MAX_USER + 1];
	char label[65];
	int64_t created, expires;
} ddtc_token;
typedef int (*ddtc_token_cb)(void *arg, const ddtc_token *t);

int ddtc_token_create(ddtc *c, const char *label, int64_t expires,
		      char *token, char *id);
int ddtc_token_list(ddtc *c, ddtc_token_cb cb, void *arg);
int ddtc_token_delete(ddtc *c, const char *id);

/* ---- storage units (su.c) ---- */

/* A storage unit (ddtc_types.h); created is 0 from ddtc_su_open(). */
typedef ddt_su ddtc_su;

int ddtc_su_create(ddtc *c, const char *name, uint64_t *out_root);
/* The same, for domain (NULL: the user's own; PROTOCOL.md, Users and
 * roles): only an admin of the system domain may name another. */
int ddtc_su_create_in(ddtc *c, const char *name, const char *domain,
		      uint64_t *out_root);
int ddtc_su_open(ddtc *c, const char *name, ddtc_su *out);
typedef int (*ddtc_su_cb)(void *arg, const ddtc_su *su);
int ddtc_su_list(ddtc *c, ddtc_su_cb cb, void *arg);
int ddtc_su_delete(ddtc *c, const char *name, int recursive);
/* Change what mask (DDT_SU_SET_RETENTION, _LOCK, _QUOTA) names; an admin
 * call. lock 1 turns the retention lock on, for good. out (may be NULL):
 * the unit after. */
int ddtc_su_set(ddtc *c, const char *name, uint32_t mask, uint64_t retention,
		int lock, uint64_t quota, ddtc_su *out);

/* Every setting of a unit: ddtc_su_configure() changes those mask names
 * (DDT_SU_SET_*), all or none. quota is the hard quota; the soft one
 * only raises an alert. Stream limits 0: none. */
typedef struct ddtc_su_settings {
	uint32_t mask;
	uint64_t retention;
	int lock;
	uint64_t quota, quota_soft;
	uint32_t backup_soft, backup_hard, restore_soft, restore_hard;
} ddtc_su_settings;
/* An admin call; sent as ddtc_su_set() sends it unless mask has a bit of
 * DDT_SU_SET_EXTENDED, which a target older than them refuses. */
int ddtc_su_configure(ddtc *c, const char *name, const ddtc_su_settings *s,
		      ddtc_su *out);

/* Every unit's settings, figures and active streams (PROTOCOL.md,
 * SU_STATS), in name order. */
typedef int (*ddtc_su_stats_cb)(void *arg, const ddt_su_stats *s);
int ddtc_su_stats(ddtc *c, ddtc_su_stats_cb cb, void *arg);

/* The streams active now and their limits (PROTOCOL.md, STREAMS): first
 * the whole target (su ""), then each unit in name order. */
typedef int (*ddtc_streams_cb)(void *arg, const ddt_streams *s);
int ddtc_streams(ddtc *c, ddtc_streams_cb cb, void *arg);

/* ---- namespace (namespace.c) ---- */

int ddtc_lookup(ddtc *c, uint64_t dir, const char *name, ddt_attr *out);
int ddtc_getattr(ddtc *c, uint64_t ino, ddt_attr *out);
/* Walk a '/'-separated path from dir. */
int ddtc_lookup_path(ddtc *c, uint64_t dir, const char *path, ddt_attr *out);
int ddtc_mkdir(ddtc *c, uint64_t dir, const char *name, uint32_t mode,
	       uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out);
/* Several MKDIRs in one directory at once: all are sent before any reply
 * is awaited, so they cost one round trip, not one each. Each request's
 * rc is its own result (0 and attr, or -errno); the return is 0, or the
 * -errno of a request that could not be sent. */
typedef struct ddtc_mkdir_req {
	const char *name;
	uint32_t mode, uid, gid;
	int64_t mtime;
	ddt_attr attr;		/* out */
	int rc;			/* out */
} ddtc_mkdir_req;
int ddtc_mkdir_many(ddtc *c, uint64_t dir, ddtc_mkdir_req *reqs, size_t n);
typedef int (*ddtc_dirent_cb)(void *arg, const char *name, const ddt_attr *a);
/* All entries of dir, in name order, however many READDIR calls it takes. */
int ddtc_readdir(ddtc *c, uint64_t dir, ddtc_dirent_cb cb, void *arg);
int ddtc_rename(ddtc *c, uint64_t sdir, const char *sname, uint64_t ddir,
		const char *dname);
int ddtc_unlink(ddtc *c, uint64_t dir, const char *name);
int ddtc_rmdir(ddtc *c, uint64_t dir, const char *name);
int ddtc_setattr(ddtc *c, uint64_t ino, uint32_t mask, const ddt_attr *v,
		 ddt_attr *out);
/* Several SETATTRs, sent as ddtc_mkdir_many() sends its MKDIRs: one round
 * trip for all. v holds the values mask names; rc is each one's result. */
typedef struct ddtc_setattr_req {
	uint64_t ino;
	uint32_t mask;		/* DDT_SA_* */
	ddt_attr v;
	int rc;			/* out */
} ddtc_setattr_req;
int ddtc_setattr_many(ddtc *c, ddtc_setattr_req *reqs, size_t n);
int ddtc_symlink(ddtc *c, uint64_t dir, const char *name, const char *target,
		 uint32_t uid, uint32_t gid, int64_t mtime, ddt_attr *out);
int ddtc_readlink(ddtc *c, uint64_t ino, char *buf, size_t cap);
/* Several READLINKs, all sent before the first reply is awaited (one
 * round trip for all, as ddtc_setattr_many). rc is each one's result;
 * the message of a failed one is not kept (ask it alone for that). */
typedef struct ddtc_readlink_req {
	uint64_t ino;
	char *buf;
	size_t cap;
	int rc;			/* out */
} ddtc_readlink_req;
int ddtc_readlink_many(ddtc *c, ddtc_readlink_req *reqs, size_t n);
int ddtc_link(ddtc *c, uint64_t ino, uint64_t dir, const char *name,
	      ddt_attr *out);

/* ---- writing files (file.c; the COMMIT in commit.c) ---- */

typedef struct ddtc_file ddtc_file;

/* What a finished file will be called and carry. */
typedef struct ddtc_meta {
	uint64_t dir;
	char name[DDT_MAX_NAME + 1];
	uint32_t mode, uid, gid;
	int64_t atime, mtime;
} ddtc_meta;

/* Start a file; nothing is visible until ddtc_file_close(). Many files
 * may be open at once, from any threads; one file is used by one thread
 * at a time. */
int ddtc_file_create(ddtc *c, const ddtc_meta *m, ddtc_file **out);
/* Append bytes. Segments go out as they are cut; returns quickly, but
 * blocks while the session has its cap of data in flight (64 MiB). The
 * sending is asynchronous: a failure may be returned by a later write or
 * by the close. */
int ddtc_file_write(ddtc_file *f, const void *buf, size_t n);
/* Finish: the last segments, the tree, the COMMIT (sync: DDT_CF_SYNC).
 * The file is then visible with out's attributes. Frees f either way. */
int ddtc_file_close(ddtc_file *f, int sync, ddt_attr *out);
/* Give up on a file: nothing becomes visible. */
void ddtc_file_abort(ddtc_file *f);

/* Bind names to content already on the target (an unchanged file's root
 * from a client cache): one COMMIT for e[0..n) in dir, all or nothing.
 * out (NULL: not wanted) receives n attributes, one per entry. -E2BIG if
 * the entries do not fit one request. An entry is ddtc_types.h's. */
typedef ddt_entry ddtc_entry;
int ddtc_commit(ddtc *c, uint64_t dir, const ddtc_entry *e, size_t n,
		int sync, ddt_attr *out);

/* ---- many small files at once (fbatch.c) ---- */

/* Whole small files stored together: their segments are fingerprinted as
 * they are added, then one FP_QUERY asks about all of them, as few
 * SEG_PUTs as fit send the missing ones, and one COMMIT per directory
 * (all sent before the first reply is awaited) binds their names. A
 * backup of many small files so pays a few round trips per batch, not
 * three per file. The files are cut and their trees built exactly as
 * ddtc_file_*() does, so both deduplicate against each other. One thread
 * uses a batch at a time; many batches may be stored at once. */
typedef struct ddtc_fbatch ddtc_fbatch;

int ddtc_fbatch_new(ddtc *c, ddtc_fbatch **out);
/* Add the file m with its whole content data[0..len) (copied). On
 * failure the batch is as it was. */
int ddtc_fbatch_add(ddtc_fbatch *b, const ddtc_meta *m, const void *data,
		    size_t len);
/* Room for n bytes at the batch's end, valid until the next call on the
 * batch: a file read there and then added (data pointing there) is not
 * copied. NULL without memory. */
void *ddtc_fbatch_room(ddtc_fbatch *b, size_t n);
/* Files added, and the bytes of their content. */
size_t ddtc_fbatch_count(const ddtc_fbatch *b);
size_t ddtc_fbatch_bytes(const ddtc_fbatch *b);
/* Store and commit every file added (sync: DDT_CF_SYNC on each COMMIT).
 * rcs[i] is file i's status (0: committed, out[i] its attributes); a
 * COMMIT is all or nothing, so a file whose directory's COMMIT failed
 * shares its error, and a failure before the COMMITs is every file's.
 * Returns 0 if every file is committed, else the first failure (its
 * message in ddtc_errmsg). The batch is empty again afterwards. */
int ddtc_fbatch_store(ddtc_fbatch *b, int sync, ddt_attr *out, int *rcs);
void ddtc_fbatch_free(ddtc_fbatch *b);

/* ---- random-access files (rfile.c): under the NFS gateway and the
 * FUSE mount ---- */

typedef struct ddtc_rfile ddtc_rfile;

/* Create an empty regular file dir/name (a COMMIT of no content, synced)
 * with mode, owners and mtime (0: this machine's clock now; atime the
 * same). excl: -EEXIST if the name is taken (by anything); -EOPNOTSUPP
 * from a target too old to check that (PROTOCOL.md, SET_CONTENT,
 * Versions). Not excl: an existing file keeps its inode and is emptied,
 * as O_TRUNC does, and takes the mode, owners and times given; a
 * symlink in the way is replaced; a directory is -EISDIR. */
int ddtc_create(ddtc *c, uint64_t dir, const char *name, uint32_t mode,
		uint32_t uid, uint32_t gid, int64_t mtime, int excl,
		ddt_attr *out);

/* Open regular file ino to read and write at any offset (-EISDIR for a
 * directory, -EINVAL for a symlink). Its content now is the base; writes
 * and truncates stay with the handle (in memory, then as segments on the
 * target) and are seen at once by ddtc_rfile_read() on this handle, by
 * everyone else only after ddtc_rfile_commit(). Only the changed ranges
 * are cut again: the rest of the base's segments and metadata are reused.
 * Every call that talks to the target takes the session to use, and a
 * handle keeps nothing of a session between calls, so a gateway may
 * reconnect under open files. One handle is used by one thread at a
 * time; many handles may be open at once. Memory: ~48 bytes per 8 KiB of
 * file for its segment list, loaded at the first flush or commit, or the
 * first read after a change (a read of an untouched handle is a READ),
 * plus what is buffered, plus a cache of up to 64 segments read back. */
int ddtc_rfile_open(ddtc *c, uint64_t ino, ddtc_rfile **out);
/* Write at off, past the end too (what lies between reads as zeros).
 * Copies buf; -EFBIG past 2^63. */
int ddtc_rfile_write(ddtc *c, ddtc_rfile *f, uint64_t off, const void *buf,
		     size_t n);
/* Shorten, or extend with a hole (reads as zeros, stored once: a run of
 * zeros is cut into one repeated segment, never read or hashed again). */
int ddtc_rfile_truncate(ddtc *c, ddtc_rfile *f, uint64_t size);
/* Up to n bytes at off as this handle sees the file; *out_n is less only
 * at its end. A handle never written reads what the target holds now;
 * one written or committed reads its own view. */
int ddtc_rfile_read(ddtc *c, ddtc_rfile *f, uint64_t off, void *buf,
		    size_t n, size_t *out_n);
uint64_t ddtc_rfile_size(const ddtc_rfile *f);
/* Changed since open or the last commit. */
int ddtc_rfile_dirty(const ddtc_rfile *f);
/* Memory that bytes written and not yet cut into segments hold (the
 * buffers allocated for them: a little over the bytes). */
size_t ddtc_rfile_buffered(const ddtc_rfile *f);
/* Cut and send what is held in memory: durable on the target (every
 * segment stored), still invisible; the memory is freed, but for the
 * file's last bytes when they end a change (under the chunker's max, 64
 * KiB: cut at the commit, so that an append does not split a segment at
 * each flush). A gateway calls this to bound memory. Failing, nothing is
 * lost: the handle is as it was, and the flush may be tried again. */
int ddtc_rfile_flush(ddtc *c, ddtc_rfile *f);
/* Publish: flush, build the file's tree, and give inode ino the new
 * content atomically (PROTOCOL.md, SET_CONTENT; sync: DDT_CF_SYNC), with
 * mtime (0: the target's clock). The handle stays open on the new base
 * and may commit again; a handle that is not dirty commits too (the
 * mtime changes), so a gateway asks ddtc_rfile_dirty() first.
 * -EOPNOTSUPP from a target without SET_CONTENT; the target's refusals
 * as SET_CONTENT gives them (-ENOENT: the file is gone; -EDQUOT, -EPERM),
 * and then the handle keeps its changes. out (may be NULL): the file's
 * attributes. */
int ddtc_rfile_commit(ddtc *c, ddtc_rfile *f, int64_t mtime, int sync,
		      ddt_attr *out);
/* Drop what was not committed and free f (NULL: nothing). */
void ddtc_rfile_close(ddtc_rfile *f);

/* ---- reading files (read.c) ---- */

/* Read up to n bytes of file ino at off into buf; *out_n is what was read
 * (less only at the end of the file). */
int ddtc_read(ddtc *c, uint64_t ino, uint64_t off, void *buf, size_t n,
	      size_t *out_n);

/* Stream a whole file to fd (restores use this: several READs in flight).
 * Written in order with write(2) from fd's current position, so a pipe
 * works too; *out_bytes is the file's size. */
int ddtc_read_to_fd(ddtc *c, uint64_t ino, int fd, uint64_t *out_bytes);

/* Many small files, whole, in few round trips (READ_FILES, several in
 * flight): sizes[i] is file inos[i]'s size as the caller knows it (from
 * its attributes; a file found another size fails -ESTALE). cb runs once
 * per file, in order, on the calling thread: rc 0 with the file's len
 * bytes at data (valid during the call), or the file's own error (its
 * message in ddtc_errmsg(rc)); then the call goes on. A non-zero return
 * from cb stops the call, which returns it. Otherwise 0, or the error
 * that ended the call (the connection, no memory), which every file not
 * yet handed over gets first. The caller bounds the memory: one buffer
 * as large as the largest file is used. */
typedef int (*ddtc_file_cb)(void *arg, size_t i, int rc, const void *data,
			    size_t len);
int ddtc_read_files(ddtc *c, const uint64_t *inos, const uint64_t *sizes,
		    size_t n, ddtc_file_cb cb, void *arg);

/* ---- backups (backup.c) ---- */

/* A backup (ddtc_types.h). */
typedef ddt_backup ddtc_backup;

/* retain: seconds to keep it, DDT_RETAIN_DEFAULT (the unit's retention)
 * or DDT_RETAIN_NEVER. */
int ddtc_backup_begin(ddtc *c, const char *su, const char *name,
		      int64_t retain, ddtc_backup *out);
/* Mark the backup complete, durably. files and bytes must be what it
 * holds: its regular files, each name counted (a hard link too), and the
 * sum of their sizes; else -EINVAL naming both, and it stays incomplete. */
int ddtc_backup_end(ddtc *c, uint64_t ino, uint64_t files, uint64_t bytes);
typedef int (*ddtc_backup_cb)(void *arg, const ddtc_backup *b);
int ddtc_backup_list(ddtc *c, const char *su, ddtc_backup_cb cb, void *arg);
int ddtc_backup_delete(ddtc *c, const char *su, const char *id);
/* Set a backup's expiry (ns since the epoch; 0 never). Bringing a locked
 * backup's forward is -EPERM. */
int ddtc_backup_set_expiry(ddtc *c, const char *su, const char *id,
			   int64_t expires);
/* Remove the backups past their expiry in unit su (NULL or "": all units),
 * or with dry_run only name them; cb hears of each. Repeats EXPIRE until
 * the target has nothing more to remove. */
typedef int (*ddtc_expire_cb)(void *arg, const char *su, const char *id,
			      int64_t expires);
int ddtc_expire(ddtc *c, const char *su, int dry_run, ddtc_expire_cb cb,
		void *arg);

/* ---- maintenance: cleaning, scrub, alerts, checkpoints (maint.c) ---- */

/* A background job on the target (a scrub, a clean): whether it runs, its
 * phase, and a failure's (or a finished run's) message. */
typedef struct ddtc_job {
	int running;
	char phase[DDT_MAX_NAME + 1];
	char msg[DDT_MAX_STR + 1];
} ddtc_job;

/* Start cleaning on the target (admin); -EBUSY if it runs already. */
int ddtc_clean_start(ddtc *c);

/* The current or last clean: whether it runs, its phase, the message of
 * a failure, and its figures through cb (PROTOCOL.md, CLEAN_STATUS). */
typedef ddtc_job ddtc_clean;
int ddtc_clean_status(ddtc *c, ddtc_clean *out, ddtc_kv_cb cb, void *arg);

/* Start a scrub on the target (admin); repair 0 only reports what it
 * finds. -EBUSY if one runs already. */
int ddtc_scrub_start(ddtc *c, int repair);

/* The current or last scrub: whether it runs, its phase, its summary (or
 * why it failed), its figures through cb, and the backups whose files
 * it found lost through acb (backup "": files outside any backup); the
 * callbacks may be NULL. PROTOCOL.md, SCRUB_STATUS. */
typedef ddtc_job ddtc_scrub;
typedef int (*ddtc_affected_cb)(void *arg, const char *su,
				const char *backup, uint64_t files);
int ddtc_scrub_status(ddtc *c, ddtc_scrub *out, ddtc_kv_cb cb, void *arg,
		      ddtc_affected_cb acb, void *aarg);

/* The target's current problems, worst first (PROTOCOL.md, ALERTS). */
typedef ddt_alert ddtc_alert;
typedef int (*ddtc_alert_cb)(void *arg, const ddtc_alert *a);
int ddtc_alerts(ddtc *c, ddtc_alert_cb cb, void *arg);

/* Every raise, change and clear of an alert after sequence after_seq
 * (0: all the target still holds), oldest first (PROTOCOL.md,
 * ALERT_EVENTS). *out_last_seq (may be NULL): the sequence to ask after
 * next time; *out_gap (may be NULL): 1 when events after after_seq were
 * dropped from the target's ring (or the target restarted), so a reader
 * re-reads ddtc_alerts(). */
typedef int (*ddtc_alert_event_cb)(void *arg, const ddt_alert_event *e);
int ddtc_alert_events(ddtc *c, uint64_t after_seq, ddtc_alert_event_cb cb,
		      void *arg, uint64_t *out_last_seq, int *out_gap);

/* Checkpoints of the target's metadata. */
typedef ddt_checkpoint ddtc_checkpoint;

/* Take one (admin only); its name into name (cap bytes; may be NULL). */
int ddtc_checkpoint_create(ddtc *c, char *name, size_t cap);
typedef int (*ddtc_checkpoint_cb)(void *arg, const ddtc_checkpoint *ck);
/* The target's checkpoints, oldest first. */
int ddtc_checkpoint_list(ddtc *c, ddtc_checkpoint_cb cb, void *arg);

#endif
