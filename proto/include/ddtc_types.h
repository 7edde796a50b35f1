/* ddtc_types.h - the protocol's vocabulary: what a front end needs beside
 * ddtc.h's calls. Limits, error codes, inode types and flags, roles, alert
 * severities, codec ids, the fingerprint, and the records the calls pass.
 *
 * proto/PROTOCOL.md is the spec. Every number it names is defined once:
 * here, or in proto/wire.h when only the codec needs it (framing, opcodes,
 * per-request counts). wire.h, fp.h and codec.h include this header rather
 * than repeat it. Nothing here encodes or allocates: types, constants, and
 * the name rule (its UTF-8 scan is proto/base/utf8.c). */
#ifndef DDTC_TYPES_H
#define DDTC_TYPES_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"		/* utf8_scan(), for the name rule */

#define DDT_STR_(x)	#x
#define DDT_STR(x)	DDT_STR_(x)	/* a number as a string literal */

#define DDT_DEFAULT_PORT	7410

/* Limits (PROTOCOL.md section 5, "Limits"). */
#define DDT_MAX_PAYLOAD		(8u << 20)
#define DDT_MAX_STR		4096	/* bytes of any str */
#define DDT_MAX_NAME		255	/* a directory entry or a storage unit */
#define DDT_MAX_COMMIT		100000	/* entries in one COMMIT */
/* A backup's id is NAME@YYYYMMDDTHHMMSSZ, itself a name of at most
 * DDT_MAX_NAME bytes: so NAME has at most this many. */
#define DDT_BACKUP_SUFFIX_LEN	17	/* "@YYYYMMDDTHHMMSSZ" */
#define DDT_MAX_BACKUP_NAME	(DDT_MAX_NAME - DDT_BACKUP_SUFFIX_LEN)

/* Error codes on the wire (section 4): fixed numbers, equal to Linux errno
 * values, so a call's -errno is one of them or the client's own. */
enum ddt_err {
	DDT_EPERM = 1,
	DDT_ENOENT = 2,
	DDT_EIO = 5,
	DDT_EACCES = 13,
	DDT_EBUSY = 16,
	DDT_EEXIST = 17,
	DDT_ENOTDIR = 20,
	DDT_EISDIR = 21,
	DDT_EINVAL = 22,
	DDT_ENOSPC = 28,
	DDT_EROFS = 30,		/* a complete backup cannot change */
	DDT_ENAMETOOLONG = 36,
	DDT_ENOTEMPTY = 39,
	DDT_EPROTO = 71,
	DDT_EBADMSG = 74,
	DDT_EDQUOT = 122,	/* a storage unit's quota */
};

/* Inode types and attribute flags (section 2). */
enum { DDT_T_FILE = 1, DDT_T_DIR = 2, DDT_T_SYMLINK = 3 };
#define DDT_AF_BACKUP		1u
#define DDT_AF_INCOMPLETE	2u
#define DDT_AF_LOCKED		4u	/* BACKUP_LIST: under retention lock */

/* Retention (BACKUP_BEGIN's retain_seconds, SU_SET's mask). */
#define DDT_RETAIN_DEFAULT	0	/* the storage unit's retention */
#define DDT_RETAIN_NEVER	(-1)	/* no expiry */
#define DDT_SU_SET_RETENTION	1u
#define DDT_SU_SET_LOCK		2u
#define DDT_SU_SET_QUOTA	4u
/* SU_SET's extension (PROTOCOL.md, Storage units): these bits need the
 * request's second part, which a target before them does not parse. */
#define DDT_SU_SET_QUOTA_SOFT	8u
#define DDT_SU_SET_STREAMS	16u
#define DDT_SU_SET_EXTENDED	(DDT_SU_SET_QUOTA_SOFT | DDT_SU_SET_STREAMS)

/* SETATTR mask bits; COMMIT (and SET_CONTENT) flags. */
#define DDT_SA_MODE	1u
#define DDT_SA_UID	2u
#define DDT_SA_GID	4u
#define DDT_SA_ATIME	8u
#define DDT_SA_MTIME	16u
#define DDT_CF_SYNC	1u	/* durable before the reply */
#define DDT_CF_EXCL	2u	/* COMMIT: a name that exists is DDT_EEXIST */

/* Alert severities (ALERTS): lower is worse. */
enum { DDT_SEV_CRITICAL = 1, DDT_SEV_WARNING = 2, DDT_SEV_INFO = 3 };

/* Access levels ("roles"), returned by AUTH (PROTOCOL.md, Users and
 * roles): user backs up, restores and removes in its domain; admin (full)
 * also manages; status reads figures only (a monitor); backup writes but
 * cannot read back or remove; restore reads but cannot write. The values
 * are the wire's: new levels only ever get new numbers. */
enum {
	DDT_ROLE_USER = 1, DDT_ROLE_ADMIN = 2, DDT_ROLE_STATUS = 3,
	DDT_ROLE_BACKUP = 4, DDT_ROLE_RESTORE = 5,
	DDT_ROLE_MAX = DDT_ROLE_RESTORE
};

/* A level's name (NULL for a value that is none). */
static inline const char *ddt_role_name(int role)
{
	static const char *const names[] = {
		NULL, "user", "admin", "status", "backup", "restore",
	};

	return role >= 1 && role <= DDT_ROLE_MAX ? names[role] : NULL;
}

/* The level named name ("full" is admin), or 0 for none. */
static inline int ddt_role_from_name(const char *name)
{
	if (strcmp(name, "full") == 0)
		return DDT_ROLE_ADMIN;
	for (int r = 1; r <= DDT_ROLE_MAX; r++)
		if (strcmp(ddt_role_name(r), name) == 0)
			return r;
	return 0;
}

/* Domains (tenants, PROTOCOL.md Users and roles): every user and every
 * storage unit belongs to one; a user sees only its domain's units. Users
 * and units that name none (all those made before domains) belong to the
 * system domain, whose admin and status users see every domain. A domain
 * name has a user name's rule: 1 to 64 ASCII letters, digits, '.', '_',
 * '-'. */
#define DDT_DOMAIN_SYSTEM	"system"
#define DDT_MAX_DOMAIN		64
#define DDT_MAX_USER		64	/* a user name's bytes */
#define DDT_MAX_PASSWORD	1024

/* USER_SET's mask: which of its fields apply. */
#define DDT_USER_SET_PASSWORD	1u
#define DDT_USER_SET_LEVEL	2u
#define DDT_USER_SET_DOMAIN	4u

static inline int ddt_domain_ok(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > DDT_MAX_DOMAIN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') ||
		      (d[i] >= 'A' && d[i] <= 'Z') ||
		      (d[i] >= '0' && d[i] <= '9') || d[i] == '.' ||
		      d[i] == '_' || d[i] == '-'))
			return 0;
	return 1;
}

/* A storage unit's state (SU_STATS): against its quotas. */
enum { DDT_SU_OK = 0, DDT_SU_QUOTA_SOFT = 1, DDT_SU_QUOTA_FULL = 2 };

/* Segment codecs (SEG_PUT's codec; bit c of HELLO's codecs). The same ids
 * name a segment's stored form on the target's disks. */
enum ddt_codec {
	DDT_CODEC_NONE = 0,	/* raw */
	DDT_CODEC_LZ4 = 1,	/* LZ4 block format */
	DDT_CODEC_ZSTD = 2,	/* zstd frame */
	DDT_CODEC_GZFAST = 3,	/* raw deflate, ISA-L igzip level 1 */
	DDT_CODEC_COUNT
};

/* A segment's fingerprint: the SHA-256 of its raw bytes (section 2, fp). */
#define FP_LEN	32

typedef struct fp_t {
	uint8_t b[FP_LEN];
} fp_t;

/* ---- records (encoded by proto/wire.c, in PROTOCOL.md's order) ---- */

/* The attribute record `attr` (section 2). */
typedef struct ddt_attr {
	uint64_t ino;
	uint8_t type;		/* DDT_T_* */
	uint32_t mode, uid, gid, nlink;
	uint64_t size;
	int64_t atime, mtime, ctime;
	uint32_t flags;		/* DDT_AF_* */
	uint8_t level;		/* of the file's segment tree */
	fp_t root;
} ddt_attr;

/* A COMMIT entry (section 5): a name in a directory bound to a file whose
 * segment tree (size bytes, height level, root) is on the target. */
typedef struct ddt_entry {
	char name[DDT_MAX_NAME + 1];
	uint32_t mode, uid, gid;
	int64_t atime, mtime;
	uint64_t size;
	uint8_t level;
	fp_t root;
} ddt_entry;

/* SET_CONTENT's request (section 5): regular file ino gets the tree
 * (size, level, root) as its new content, whatever its names. */
typedef struct ddt_content {
	uint64_t ino;
	uint32_t flags;		/* DDT_CF_SYNC */
	int64_t mtime;		/* 0: the target's clock */
	uint64_t size;
	uint8_t level;
	fp_t root;
} ddt_content;

/* A storage unit: an SU_LIST entry; SU_OPEN and SU_SET reply with it less
 * its name (the one asked for) and created (0). */
typedef struct ddt_su {
	char name[DDT_MAX_NAME + 1];
	uint64_t root;		/* its root directory's inode */
	uint64_t files;		/* regular files, each counted once */
	uint64_t logical_bytes;	/* their sizes, added up */
	int64_t created;	/* ns since the epoch */
	uint64_t retention;	/* new backups' default, s; 0 forever */
	uint8_t locked;		/* retention lock (never turned off) */
	uint64_t quota;		/* logical bytes; 0 none */
} ddt_su;

/* A BACKUP_LIST entry. */
typedef struct ddt_backup {
	char id[DDT_MAX_NAME + 1];	/* NAME@YYYYMMDDTHHMMSSZ */
	uint64_t ino;		/* its directory */
	uint32_t flags;		/* DDT_AF_* (DDT_AF_LOCKED: listed) */
	int64_t created;
	uint64_t files, bytes;	/* what BACKUP_END recorded */
	int64_t expires;	/* ns since the epoch; 0 never */
} ddt_backup;

/* An ALERTS entry: one of the target's current problems. */
typedef struct ddt_alert {
	char id[DDT_MAX_NAME + 1];	/* stable while the condition holds */
	uint8_t severity;	/* DDT_SEV_* */
	int64_t since;		/* ns since the epoch */
	char text[DDT_MAX_STR + 1];
} ddt_alert;

/* An SU_STATS entry: a unit's settings, figures and streams. */
typedef struct ddt_su_stats {
	char name[DDT_MAX_NAME + 1];
	uint8_t state;		/* DDT_SU_OK, _QUOTA_SOFT, _QUOTA_FULL */
	uint8_t locked;		/* retention lock */
	uint64_t quota_soft, quota_hard;	/* logical bytes; 0 none */
	uint64_t logical_bytes, files;
	/* written into the unit since it was made (or since the target
	 * counted, if older): files' bytes, new segments raw and stored */
	uint64_t ingest_logical_bytes, ingest_raw_bytes, ingest_stored_bytes;
	uint32_t streams_backup, streams_restore, streams_replication;
	uint32_t backup_soft, backup_hard, restore_soft, restore_hard; /* 0 none */
	uint64_t backups;
} ddt_su_stats;

/* A STREAMS entry: the streams active now in a unit (su "": the whole
 * target) and its limits (0: none). */
typedef struct ddt_streams {
	char su[DDT_MAX_NAME + 1];
	uint32_t backup, restore, replication;
	uint32_t backup_soft, backup_hard, restore_soft, restore_hard;
} ddt_streams;

/* An ALERT_EVENTS entry: one raise, change or clear of an alert. */
typedef struct ddt_alert_event {
	uint64_t seq;		/* the alert table's sequence at this change */
	uint8_t raised;		/* 1 raised or severity changed, 0 cleared */
	uint8_t severity;	/* DDT_SEV_* (a clear: the alert's last) */
	int64_t time;		/* ns since the epoch */
	char id[DDT_MAX_NAME + 1];
	char text[DDT_MAX_STR + 1];
} ddt_alert_event;

/* A CHECKPOINT_LIST entry. */
typedef struct ddt_checkpoint {
	char name[DDT_MAX_NAME + 1];
	int64_t created;	/* ns since the epoch */
	uint64_t bytes;		/* its size on the target's disk */
} ddt_checkpoint;

/* The name rule (PROTOCOL.md, Namespace), one for both ends and every
 * front end. A name's shape: 1 to DDT_MAX_NAME bytes, no '/', not "." or
 * "..". A name may only be made (MKDIR, SYMLINK, LINK, RENAME's new name,
 * a COMMIT entry, a local file backed up) if it is also UTF-8 without
 * control characters; one that only finds an entry (LOOKUP, UNLINK, RMDIR,
 * RENAME's old name, a restore) needs just the shape, so a name stored
 * before the rule can still be listed, restored, renamed and removed.
 *
 * ddt_name_fault(): what is wrong with a name to be made, as the end of
 * a sentence ("name contains a control character"), NULL if nothing; *at
 * gets the offending byte's offset, or -1 when no one byte is to blame.
 * ddt_name_shape_ok() and ddt_name_ok(): the two rules as booleans. */
static inline const char *ddt_name_shape_fault(const char *name, long *at)
{
	size_t n = strlen(name);
	const char *slash = strchr(name, '/');

	*at = -1;
	if (n == 0)
		return "is empty";
	if (n > DDT_MAX_NAME)
		return "is over " DDT_STR(DDT_MAX_NAME) " bytes";
	if (slash) {
		*at = (long)(slash - name);
		return "contains '/'";
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "is \".\" or \"..\"";
	return NULL;
}

static inline const char *ddt_name_fault(const char *name, long *at)
{
	const char *why = ddt_name_shape_fault(name, at);
	size_t i = 0;

	if (why)
		return why;
	switch (utf8_scan(name, strlen(name), &i)) {
	case UTF8_CONTROL:
		*at = (long)i;
		return "contains a control character";
	case UTF8_INVALID:
		*at = (long)i;
		return "is not valid UTF-8";
	default:
		return NULL;
	}
}

/* The one line for a name that breaks the rule (make: the whole rule;
 * else its shape), into buf: 'name "a\x1bb" contains a control character
 * (byte 1)', the name escaped (utf8_escape) and cut at 48 bytes. Returns
 * 0 (buf untouched), -ENAMETOOLONG (over DDT_MAX_NAME bytes, or a '/'),
 * or -EINVAL: the codes of PROTOCOL.md. */
#define DDT_NAME_MSG_LEN	320	/* holds any ddt_name_msg() line */

static inline int ddt_name_msg(char *buf, size_t cap, const char *name,
			       int make)
{
	char esc[UTF8_ESC_LEN(48)], cut[49], where[32] = "";
	size_t n = strlen(name);
	long at;
	const char *why = make ? ddt_name_fault(name, &at) :
				 ddt_name_shape_fault(name, &at);

	if (!why)
		return 0;
	memcpy(cut, name, n < 48 ? n : 48);
	cut[n < 48 ? n : 48] = '\0';
	utf8_escape(esc, sizeof(esc), cut, UTF8_ESC_BACKSLASH);
	if (at >= 0)
		snprintf(where, sizeof(where), " (byte %ld)", at);
	snprintf(buf, cap, "name \"%s%s\" %s%s", esc, n > 48 ? "..." : "",
		 why, where);
	return n > DDT_MAX_NAME || strchr(name, '/') ? -ENAMETOOLONG : -EINVAL;
}

static inline int ddt_name_shape_ok(const char *name)
{
	long at;

	return ddt_name_shape_fault(name, &at) == NULL;
}

static inline int ddt_name_ok(const char *name)
{
	long at;

	return ddt_name_fault(name, &at) == NULL;
}

#endif
