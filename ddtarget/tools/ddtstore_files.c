/* ddtstore_files.c - ddtstore's file commands: ingest a tree into the
 * store, check a tree against it, cat a file back.
 *
 * Until the namespace exists, a file's manifest is a "recipe": a text file
 * STORE/recipes/<sha256 of the absolute path>.recipe whose first line is the
 * (escaped) path and every further line "<fingerprint hex> <raw length>", in
 * file order. A recipe is renamed into place only after every segment it
 * names has been acknowledged by store_put(), so a recipe never names a
 * segment the store does not hold.
 *
 * The write path is the one the client library will take: cut, fingerprint,
 * ask the store in batches which fingerprints it lacks, then compress and
 * send only those. Compressing after has() rather than before (which is why
 * this does not call segmenter_encode()) keeps a second backup of the same
 * data from paying for compression it throws away. */
#include "cdc.h"
#include "codec.h"
#include "ddterr.h"
#include "ddtstore_files.h"
#include "fdio.h"
#include "fio.h"
#include "fmt.h"
#include "fp.h"
#include "now.h"
#include "path.h"
#include "segmenter.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>


/* A batch is what one has() and one put() carry: a few MiB, so that one
 * fsync covers many segments and the store's locality cache gets runs of
 * neighbours, yet memory stays small. */
#define BATCH_SEGS   512
#define BATCH_BYTES  (4u * 1024 * 1024)
/* Recipes waiting for their segments' batch to be put. */
#define BATCH_FILES  256

/* The raw length field of a recipe line is bounded by what a writer may
 * cut, so a damaged recipe cannot make check or cat allocate without end. */
#define RECIPE_LINE_MAX (FP_HEX_LEN + 1 + 10 + 1)

static int read_full(int fd, void *buf, size_t n, size_t *out_n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*out_n = got;
	return 0;
}

/* The absolute path without ".", ".." or repeated slashes, lexically, for a
 * file that may no longer exist. out holds PATH_MAX. */
static int path_lexical(const char *path, char *out)
{
	char cwd[PATH_MAX], tmp[PATH_MAX];
	char *save = NULL, *tok;
	size_t len = 0;

	if (path[0] == '/') {
		if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if (path_fmt(tmp, sizeof(tmp), "%s/%s", cwd, path) < 0)
			return -ENAMETOOLONG;
	}
	out[0] = '\0';
	for (tok = strtok_r(tmp, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		size_t tl = strlen(tok);

		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0) {
			char *slash = strrchr(out, '/');

			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		if (len + 1 + tl + 1 > PATH_MAX)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, tok, tl + 1);
		len += tl;
	}
	if (len == 0)
		strcpy(out, "/");
	return 0;
}

/* The name a file is recorded under: its real path if it exists, else its
 * real directory and its name, else the lexical absolute path. */
static int path_key(const char *path, char *out)
{
	char dir[PATH_MAX], rdir[PATH_MAX];
	const char *base;
	const char *slash;

	if (realpath(path, out))
		return 0;
	if (errno != ENOENT)
		return -errno;
	slash = strrchr(path, '/');
	if (slash) {
		size_t dl = (size_t)(slash - path);

		if (dl >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, dl);
		dir[dl] = '\0';
		if (dl == 0)
			strcpy(dir, "/");
		base = slash + 1;
	} else {
		strcpy(dir, ".");
		base = path;
	}
	if (*base && strcmp(base, ".") != 0 && strcmp(base, "..") != 0 &&
	    realpath(dir, rdir)) {
		if (snprintf(out, PATH_MAX, "%s%s%s", rdir,
			     strcmp(rdir, "/") == 0 ? "" : "/", base) >=
		    PATH_MAX)
			return -ENAMETOOLONG;
		return 0;
	}
	return path_lexical(path, out);
}

/* ---- recipes ---- */

/* The path as the recipe's first line holds it: backslash and newline
 * escaped, so the line structure survives any file name. out holds
 * 2 * PATH_MAX. */
static void recipe_escape(const char *path, char *out)
{
	for (; *path; path++) {
		if (*path == '\\') {
			*out++ = '\\';
			*out++ = '\\';
		} else if (*path == '\n') {
			*out++ = '\\';
			*out++ = 'n';
		} else {
			*out++ = *path;
		}
	}
	*out = '\0';
}

/* STORE/recipes/<sha256 of abs>.recipe into out (PATH_MAX). */
static int recipe_path(const char *root, const char *abs, char *out)
{
	fp_t h;
	char hex[FP_HEX_LEN + 1];
	int rc;

	rc = fp_compute(&h, abs, strlen(abs));
	if (rc < 0)
		return rc;
	fp_to_hex(&h, hex);
	if (snprintf(out, PATH_MAX, "%s/" RECIPE_DIR "/%s" RECIPE_EXT, root,
		     hex) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Open the recipe of abs and check its first line names abs. -ENOENT if
 * there is none; -EBADMSG with a message if it is damaged. */
static int recipe_open(const char *root, const char *abs, FILE **out,
		       char *rpath)
{
	char esc[2 * PATH_MAX + 2], line[2 * PATH_MAX + 2];
	size_t len;
	FILE *f;
	int rc;

	rc = recipe_path(root, abs, rpath);
	if (rc < 0)
		return rc;
	f = fopen(rpath, "re");
	if (!f)
		return -errno;
	recipe_escape(abs, esc);
	if (!fgets(line, sizeof(line), f)) {
		rc = ddterr_set(-EBADMSG, "recipe %s is empty", rpath);
		goto bad;
	}
	len = strlen(line);
	if (len == 0 || line[len - 1] != '\n') {
		rc = ddterr_set(-EBADMSG, "recipe %s: first line is not a "
				"path", rpath);
		goto bad;
	}
	line[len - 1] = '\0';
	if (strcmp(line, esc) != 0) {
		rc = ddterr_set(-EBADMSG, "recipe %s names %s, not %s", rpath,
				line, abs);
		goto bad;
	}
	*out = f;
	return 0;
bad:
	fclose(f);
	return rc;
}

/* The next "<hex> <len>" line. Returns 1, 0 at the end, or -EBADMSG. */
int ddts_recipe_next(FILE *f, const char *rpath, unsigned *lineno,
		     fp_t *out_fp, uint32_t *out_len)
{
	char line[RECIPE_LINE_MAX + 2];
	unsigned long v;
	char *end;
	size_t len;

	if (!fgets(line, sizeof(line), f)) {
		if (ferror(f))
			return ddterr_set(-EIO, "recipe %s: read error", rpath);
		return 0;
	}
	++*lineno;
	len = strlen(line);
	if (len < FP_HEX_LEN + 3 || line[len - 1] != '\n' ||
	    line[FP_HEX_LEN] != ' ')
		goto bad;
	line[FP_HEX_LEN] = '\0';
	if (fp_from_hex(out_fp, line) < 0)
		goto bad;
	errno = 0;
	v = strtoul(line + FP_HEX_LEN + 1, &end, 10);
	if (errno || *end != '\n' || v == 0 || v > CDC_MAX_LIMIT)
		goto bad;
	*out_len = (uint32_t)v;
	return 1;
bad:
	return ddterr_set(-EBADMSG, "recipe %s: line %u is malformed", rpath,
			  *lineno);
}

/* ---- walking a tree ---- */

typedef int (*walk_cb)(void *arg, const char *abs, int fd,
		       const struct stat *st);

typedef struct walker {
	walk_cb cb;
	void *arg;
	const char *verb;	/* for error lines: "ingest", "check" */
	dev_t store_dev;	/* the store's root, never walked into: */
	ino_t store_ino;	/* "ingest ." must not read its own store */
} walker;

/* Call cb for every regular file under abs (itself if it is one), in name
 * order, not following symbolic links. A non-zero cb return stops the walk
 * and is returned; walk errors print their line and return EXIT_RUNTIME. */
static int walk(const walker *w, const char *abs)
{
	struct dirent **names = NULL;
	struct stat st;
	int n = -1, i, fd, rc = 0;

	if (lstat(abs, &st) < 0)
		return ddts_fail_errno(errno, "check the path", "%s %s", w->verb,
				  abs);
	if (S_ISREG(st.st_mode)) {
		fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return ddts_fail_errno(errno, "check its permissions",
					  "%s %s", w->verb, abs);
		if (fstat(fd, &st) < 0) {
			rc = ddts_fail_errno(errno, "check the file", "%s %s",
					w->verb, abs);
		} else {
			rc = w->cb(w->arg, abs, fd, &st);
		}
		close(fd);
		return rc;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;	/* links, devices, fifos, sockets: not data */
	if (st.st_dev == w->store_dev && st.st_ino == w->store_ino)
		return 0;
	n = scandir(abs, &names, NULL, alphasort);
	if (n < 0)
		return ddts_fail_errno(errno, "check its permissions",
				  "%s %s", w->verb, abs);
	for (i = 0; i < n && rc == 0; i++) {
		const char *nm = names[i]->d_name;
		char *child;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (asprintf(&child, "%s%s%s", abs,
			     strcmp(abs, "/") == 0 ? "" : "/", nm) < 0) {
			rc = ddts_fail_errno(ENOMEM, "free some memory", "%s %s",
					w->verb, abs);
			break;
		}
		rc = walk(w, child);
		free(child);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Walk each command-line PATH, by its real path, around the store. */
static int walk_args(const opts *o, const char *verb, int argc, char **argv,
		     walk_cb cb, void *arg)
{
	walker w = { .cb = cb, .arg = arg, .verb = verb };
	char abs[PATH_MAX];
	struct stat st;
	int i, rc;

	if (stat(o->root, &st) == 0) {
		w.store_dev = st.st_dev;
		w.store_ino = st.st_ino;
	}
	for (i = 0; i < argc; i++) {
		if (!realpath(argv[i], abs))
			return ddts_fail_errno(errno, "check the path", "%s %s",
					  verb, argv[i]);
		rc = walk(&w, abs);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- ingest ---- */

typedef struct pending_recipe {
	char *tmp, *final;
} pending_recipe;

typedef struct ingest {
	ddts_store held;
	store *s;
	const opts *o;
	cdc chunker;
	char rdir[PATH_MAX];
	unsigned long tmp_seq;

	/* The batch: distinct segments, raw bytes back to back. */
	fp_t fps[BATCH_SEGS];
	uint32_t off[BATCH_SEGS], len[BATCH_SEGS];
	uint8_t present[BATCH_SEGS];
	store_seg put[BATCH_SEGS];
	size_t n;
	uint8_t *raw;
	size_t raw_len;
	uint8_t *enc;
	size_t enc_cap;

	pending_recipe rec[BATCH_FILES];
	size_t nrec;

	/* Totals for the run. */
	uint64_t files, logical, segs, new_segs, new_raw, new_stored;
} ingest;

/* Rename the recipes whose segments are all durable now. One syncfs makes
 * their contents durable together, one directory fsync the renames. */
static int ingest_publish(ingest *g)
{
	int dfd, rc = 0;
	size_t i;

	if (g->nrec == 0)
		return 0;
	dfd = open(g->rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ddts_fail_errno(errno, "check the store directory",
				  "open %s", g->rdir);
	if (syncfs(dfd) < 0) {
		rc = ddts_fail_errno(errno, "check the store's disk", "sync %s",
				g->rdir);
		goto out;
	}
	for (i = 0; i < g->nrec; i++) {
		if (rename(g->rec[i].tmp, g->rec[i].final) < 0) {
			rc = ddts_fail_errno(errno, "check the store directory",
					"rename %s", g->rec[i].tmp);
			goto out;
		}
	}
	if (fsync(dfd) < 0)
		rc = ddts_fail_errno(errno, "check the store's disk", "sync %s",
				g->rdir);
out:
	for (i = 0; i < g->nrec; i++) {
		if (rc)
			unlink(g->rec[i].tmp);
		free(g->rec[i].tmp);
		free(g->rec[i].final);
	}
	g->nrec = 0;
	close(dfd);
	return rc;
}

/* Remove recipe temp files a crashed ingest left behind. Only the process
 * holding the store open writes them, so once store_open() has succeeded
 * none of them can belong to a live run. */
static void ingest_sweep(const char *rdir)
{
	struct dirent *de;
	DIR *d = opendir(rdir);

	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, RECIPE_EXT ".tmp."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Ask which segments of the batch the store lacks, compress and put those,
 * then publish the recipes that were waiting for them. */
static int ingest_flush(ingest *g)
{
	size_t i, nput = 0, need = 0, at = 0, nnew = 0;
	uint64_t stored = 0, raw = 0;
	int rc;

	if (g->n > 0) {
		ddterr_clear();
		rc = store_has(g->s, g->fps, g->n, g->present);
		if (rc < 0)
			return ddts_fail(rc, "check the store's index",
					 "look up %zu segments", g->n);
		for (i = 0; i < g->n; i++)
			if (!g->present[i])
				need += codec_bound(g->len[i]);
		if (need > g->enc_cap) {
			uint8_t *p = realloc(g->enc, need);

			if (!p)
				return ddts_fail_errno(ENOMEM, "free some memory",
						  "compress a batch");
			g->enc = p;
			g->enc_cap = need;
		}
		for (i = 0; i < g->n; i++) {
			store_seg *sg = &g->put[nput];
			size_t out_len;
			int codec;

			if (g->present[i])
				continue;
			ddterr_clear();
			rc = codec_compress(g->o->codec, g->raw + g->off[i],
					    g->len[i], g->enc + at,
					    g->enc_cap - at, &out_len, &codec);
			if (rc < 0)
				return ddts_fail(rc, "try another --codec",
						 "compress a segment");
			sg->fp = g->fps[i];
			sg->codec = codec;
			sg->raw_len = g->len[i];
			sg->stored_len = (uint32_t)out_len;
			sg->data = g->enc + at;
			at += out_len;
			stored += out_len;
			raw += g->len[i];
			nput++;
		}
		if (nput > 0) {
			ddterr_clear();
			rc = store_put(g->s, g->put, nput, &nnew);
			if (rc < 0)
				return ddts_fail(rc, "check the store's disks "
						 "and free space, then ingest "
						 "again", "store %zu segments",
						 nput);
		}
		g->new_segs += nnew;
		g->new_raw += raw;
		g->new_stored += stored;
		g->n = 0;
		g->raw_len = 0;
	}
	return ingest_publish(g);
}

/* Add one segment to the batch, unless the batch already has it. */
static int ingest_add(ingest *g, const fp_t *f, const uint8_t *p, size_t n)
{
	uint64_t h = fp_hash64(f);
	size_t i;
	int rc;

	for (i = 0; i < g->n; i++)
		if (fp_hash64(&g->fps[i]) == h && fp_equal(&g->fps[i], f))
			return 0;
	if (g->n == BATCH_SEGS || g->raw_len + n > BATCH_BYTES) {
		rc = ingest_flush(g);
		if (rc)
			return rc;
	}
	memcpy(g->raw + g->raw_len, p, n);
	g->fps[g->n] = *f;
	g->off[g->n] = (uint32_t)g->raw_len;
	g->len[g->n] = (uint32_t)n;
	g->n++;
	g->raw_len += n;
	return 0;
}

static int ingest_file(void *arg, const char *abs, int fd,
		       const struct stat *st)
{
	ingest *g = arg;
	char esc[2 * PATH_MAX + 2], final[PATH_MAX];
	char hex[FP_HEX_LEN + 1];
	segmenter *r = NULL;
	char *tmp = NULL;
	FILE *rf = NULL;
	int rc, ret = 0;

	if (g->nrec == BATCH_FILES) {
		ret = ingest_flush(g);
		if (ret)
			return ret;
	}
	rc = recipe_path(g->o->root, abs, final);
	if (rc < 0)
		return ddts_fail(rc, "check the path", "recipe for %s", abs);
	if (asprintf(&tmp, "%s.tmp.%lu", final, g->tmp_seq++) < 0) {
		tmp = NULL;
		return ddts_fail_errno(ENOMEM, "free some memory", "ingest %s", abs);
	}
	rf = fopen(tmp, "we");
	if (!rf) {
		ret = ddts_fail_errno(errno, "check the store directory",
				 "create %s", tmp);
		goto out;
	}
	recipe_escape(abs, esc);
	fprintf(rf, "%s\n", esc);

	ddterr_clear();
	rc = segmenter_new(&r, &g->chunker, fd);
	if (rc < 0) {
		ret = ddts_fail(rc, "free some memory", "segment %s", abs);
		goto out;
	}
	for (;;) {
		const uint8_t *p;
		size_t n;
		fp_t f;

		ddterr_clear();
		rc = segmenter_next(r, &p, &n);
		if (rc < 0) {
			ret = ddts_fail(rc, "check the file and its disk",
					"read %s", abs);
			goto out;
		}
		if (rc == 0)
			break;
		rc = fp_compute(&f, p, n);
		if (rc < 0) {
			ret = ddts_fail(rc, "check OpenSSL", "fingerprint %s",
					abs);
			goto out;
		}
		fp_to_hex(&f, hex);
		fprintf(rf, "%s %zu\n", hex, n);
		g->logical += n;
		g->segs++;
		ret = ingest_add(g, &f, p, n);
		if (ret)
			goto out;
	}
	errno = 0;
	rc = fflush(rf) != 0 || ferror(rf);
	if (fclose(rf) != 0)
		rc = 1;
	rf = NULL;
	if (rc) {
		ret = ddts_fail_errno(errno ? errno : EIO, "check free space in "
				 "the store", "write %s", tmp);
		goto out;
	}
	g->rec[g->nrec].tmp = tmp;
	g->rec[g->nrec].final = strdup(final);
	if (!g->rec[g->nrec].final) {
		ret = ddts_fail_errno(ENOMEM, "free some memory", "ingest %s", abs);
		goto out;
	}
	g->nrec++;
	tmp = NULL;
	g->files++;
	(void)st;
out:
	segmenter_free(r);
	if (rf)
		fclose(rf);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	return ret;
}

int cmd_ingest(const opts *o, int argc, char **argv)
{
	char b1[FMT_LEN], b2[FMT_LEN], b3[FMT_LEN];
	ingest *g;
	double t0, dt = 0;
	int rc, ret;

	if (argc < 1)
		return ddts_usage_error("ingest: no PATH given");
	g = calloc(1, sizeof(*g));
	if (!g)
		return ddts_fail_errno(ENOMEM, "free some memory", "ingest");
	g->o = o;
	g->raw = malloc(BATCH_BYTES);
	if (!g->raw) {
		free(g);
		return ddts_fail_errno(ENOMEM, "free some memory", "ingest");
	}
	rc = cdc_init(&g->chunker, CDC_MIN_DEFAULT, CDC_AVG_DEFAULT,
		      CDC_MAX_DEFAULT);
	if (rc < 0) {
		ret = ddts_fail(rc, "report this bug", "set up the chunker");
		goto out_free;
	}
	ret = ddts_open_store(o, 1, &g->held);
	if (ret)
		goto out_free;
	g->s = g->held.s;
	snprintf(g->rdir, sizeof(g->rdir), "%s/" RECIPE_DIR, o->root);
	if (mkdir(g->rdir, FIO_DIR_MODE) < 0 && errno != EEXIST) {
		ret = ddts_fail_errno(errno, "check the store directory",
				 "create %s", g->rdir);
		goto out_close;
	}
	ingest_sweep(g->rdir);

	t0 = now_mono_sec();
	ret = walk_args(o, "ingest", argc, argv, ingest_file, g);
	if (ret == 0)
		ret = ingest_flush(g);
	dt = now_mono_sec() - t0;
out_close:
	rc = ddts_close_store(&g->held, o->root);
	if (ret == 0)
		ret = rc;
	if (ret == 0) {
		printf("files:           %" PRIu64 "\n", g->files);
		printf("logical bytes:   %" PRIu64 " (%s)\n", g->logical,
		       fmt_bytes(g->logical, b1));
		printf("segments:        %" PRIu64 "\n", g->segs);
		printf("new segments:    %" PRIu64 "\n", g->new_segs);
		printf("bytes stored:    %" PRIu64 " (%s)\n", g->new_stored,
		       fmt_bytes(g->new_stored, b1));
		printf("dedup ratio:     %s\n", g->new_raw == 0 &&
		       g->logical > 0 ? "all duplicate" :
		       fmt_ratio(g->logical, g->new_raw, b2));
		printf("compression:     %s\n",
		       fmt_ratio(g->new_raw, g->new_stored, b3));
		printf("throughput:      %.1f MB/s\n",
		       dt > 0 ? (double)g->logical / 1e6 / dt : 0.0);
	}
out_free:
	/* On a failure, recipes not yet published name segments that may
	 * not be durable: drop them. */
	for (size_t i = 0; i < g->nrec; i++) {
		unlink(g->rec[i].tmp);
		free(g->rec[i].tmp);
		free(g->rec[i].final);
	}
	free(g->raw);
	free(g->enc);
	free(g);
	return ret;
}

/* ---- check and cat ---- */

enum verdict { V_OK, V_DIFFERS, V_MISSING, V_UNREADABLE };

typedef struct checker {
	ddts_store held;
	store *s;
	const opts *o;
	uint8_t *sbuf, *fbuf;	/* CDC_MAX_LIMIT each */
	uint64_t n[4];
} checker;

/* Compare one file with its recipe's segments. Differences and missing
 * recipes are verdicts; a segment the store cannot give back is an error
 * line and V_UNREADABLE. */
static int check_one(checker *c, const char *abs, int fd, enum verdict *out)
{
	char rpath[PATH_MAX];
	unsigned lineno = 1;
	uint64_t at = 0;
	FILE *rf = NULL;
	size_t got, n;
	uint32_t len;
	fp_t f;
	int rc;

	ddterr_clear();
	rc = recipe_open(c->o->root, abs, &rf, rpath);
	if (rc == -ENOENT) {
		printf("not ingested: %s\n", abs);
		*out = V_MISSING;
		return 0;
	}
	if (rc < 0) {
		*out = V_UNREADABLE;
		return ddts_fail(rc, "ingest the file again", "check %s", abs);
	}
	for (;;) {
		ddterr_clear();
		rc = ddts_recipe_next(rf, rpath, &lineno, &f, &len);
		if (rc < 0) {
			*out = V_UNREADABLE;
			rc = ddts_fail(rc, "ingest the file again", "check %s",
				       abs);
			goto out;
		}
		if (rc == 0)
			break;
		ddterr_clear();
		rc = store_read(c->s, &f, c->sbuf, CDC_MAX_LIMIT, &n);
		if (rc == 0 && n != len)
			rc = ddterr_set(-EBADMSG, "segment at byte %" PRIu64
					" is %zu bytes, the recipe says %u",
					at, n, len);
		if (rc < 0) {
			*out = V_UNREADABLE;
			rc = ddts_fail(rc, rc == -ENOENT ?
				       "the store lost it: ingest the file "
				       "again" :
				       "restore the lost data directories, "
				       "then check again",
				       "check %s: segment at byte %" PRIu64,
				       abs,
				       at);
			goto out;
		}
		rc = read_full(fd, c->fbuf, n, &got);
		if (rc < 0) {
			*out = V_UNREADABLE;
			rc = ddts_fail_errno(-rc, "check the file", "read %s", abs);
			goto out;
		}
		if (got != n || memcmp(c->fbuf, c->sbuf, n) != 0) {
			size_t i = 0;

			while (i < got && c->fbuf[i] == c->sbuf[i])
				i++;
			printf("differs: %s (from byte %" PRIu64 ")\n", abs,
			       at + i);
			*out = V_DIFFERS;
			rc = 0;
			goto out;
		}
		at += n;
	}
	rc = read_full(fd, c->fbuf, 1, &got);
	if (rc < 0) {
		*out = V_UNREADABLE;
		rc = ddts_fail_errno(-rc, "check the file", "read %s", abs);
		goto out;
	}
	if (got) {
		printf("differs: %s (longer than stored, from byte %" PRIu64
		       ")\n", abs, at);
		*out = V_DIFFERS;
	} else {
		*out = V_OK;
	}
	rc = 0;
out:
	fclose(rf);
	return rc;
}

static int check_file(void *arg, const char *abs, int fd,
		      const struct stat *st)
{
	checker *c = arg;
	enum verdict v = V_UNREADABLE;

	(void)st;
	check_one(c, abs, fd, &v);
	c->n[v]++;
	return 0;
}

int cmd_check(const opts *o, int argc, char **argv)
{
	checker c = { .o = o };
	uint64_t bad;
	int ret, rc;

	if (argc < 1)
		return ddts_usage_error("check: no PATH given");
	c.sbuf = malloc(CDC_MAX_LIMIT);
	c.fbuf = malloc(CDC_MAX_LIMIT);
	if (!c.sbuf || !c.fbuf) {
		ret = ddts_fail_errno(ENOMEM, "free some memory", "check");
		goto out;
	}
	ret = ddts_open_store(o, 0, &c.held);
	if (ret)
		goto out;
	c.s = c.held.s;
	ret = walk_args(o, "check", argc, argv, check_file, &c);
	rc = ddts_close_store(&c.held, o->root);
	if (ret == 0)
		ret = rc;
	if (ret)
		goto out;
	printf("files:           %" PRIu64 "\n",
	       c.n[V_OK] + c.n[V_DIFFERS] + c.n[V_MISSING] +
	       c.n[V_UNREADABLE]);
	printf("ok:              %" PRIu64 "\n", c.n[V_OK]);
	printf("differing:       %" PRIu64 "\n", c.n[V_DIFFERS]);
	printf("missing:         %" PRIu64 "\n", c.n[V_MISSING]);
	printf("unreadable:      %" PRIu64 "\n", c.n[V_UNREADABLE]);
	bad = c.n[V_DIFFERS] + c.n[V_MISSING] + c.n[V_UNREADABLE];
	if (bad) {
		fprintf(stderr, "%s: check: %" PRIu64 " of %" PRIu64
			" files do not match the store (see the lines above; "
			"ingest them again or restore the store's disks)\n",
			PROG, bad, bad + c.n[V_OK]);
		ret = EXIT_RUNTIME;
	}
out:
	free(c.sbuf);
	free(c.fbuf);
	return ret;
}

int cmd_cat(const opts *o, int argc, char **argv)
{
	char abs[PATH_MAX], rpath[PATH_MAX];
	unsigned lineno = 1;
	uint8_t *buf = NULL;
	FILE *rf = NULL;
	ddts_store h;
	uint64_t at = 0;
	uint32_t len;
	size_t n;
	fp_t f;
	int rc, ret = 0;

	if (argc != 1)
		return ddts_usage_error("cat: give exactly one FILE");
	rc = path_key(argv[0], abs);
	if (rc < 0)
		return ddts_fail_errno(-rc, "check the path", "cat %s", argv[0]);
	ddterr_clear();
	rc = recipe_open(o->root, abs, &rf, rpath);
	if (rc == -ENOENT)
		return ddts_fail_errno(ENOENT, "ingest it first, or give the path "
				  "it was ingested under", "cat %s: no recipe "
				  "for %s", argv[0], abs);
	if (rc < 0)
		return ddts_fail(rc, "ingest the file again", "cat %s",
				 argv[0]);
	buf = malloc(CDC_MAX_LIMIT);
	if (!buf) {
		ret = ddts_fail_errno(ENOMEM, "free some memory", "cat");
		goto out;
	}
	ret = ddts_open_store(o, 0, &h);
	if (ret)
		goto out;
	for (;;) {
		ddterr_clear();
		rc = ddts_recipe_next(rf, rpath, &lineno, &f, &len);
		if (rc < 0) {
			ret = ddts_fail(rc, "ingest the file again", "cat %s",
					argv[0]);
			break;
		}
		if (rc == 0)
			break;
		ddterr_clear();
		rc = store_read(h.s, &f, buf, CDC_MAX_LIMIT, &n);
		if (rc == 0 && n != len)
			rc = ddterr_set(-EBADMSG, "segment is %zu bytes, the "
					"recipe says %u", n, len);
		if (rc < 0) {
			ret = ddts_fail(rc, "restore the lost data "
					"directories, then try again",
					"cat %s: segment at byte %" PRIu64,
					argv[0], at);
			break;
		}
		rc = fd_write_all(STDOUT_FILENO, buf, n);
		if (rc < 0) {
			ret = ddts_fail_errno(-rc, "check the output",
					 "cat %s: write", argv[0]);
			break;
		}
		at += n;
	}
	rc = ddts_close_store(&h, o->root);
	if (ret == 0)
		ret = rc;
out:
	if (rf)
		fclose(rf);
	free(buf);
	return ret;
}
