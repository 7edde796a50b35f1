/* test_read.c - the client library's READ against a target that lies: a
 * target whose tree was damaged before COMMIT checked lengths (or one that
 * does not check) may hand back segments with a gap between them, an
 * overlap, or one running past the file's size; and a man in the middle
 * may change a segment's bytes on the way. ddtc_read must refuse each
 * (EBADMSG, or EIO when the target sends nothing more) rather than fill
 * the caller's buffer with shifted, stale or changed bytes, naming the
 * inode and the offset, and read a truthful file exactly. So must
 * ddtc_read_files (READ_FILES), file by file: one file's lie or error is
 * its own, and the files after it still read exactly. The target here is
 * a thread speaking PROTOCOL.md by hand. */
#include "ddtc.h"
#include "tap.h"
#include "testutil.h"
#include "rawwire.h"
#include "fp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define FILE_SIZE	300

/* Each file: its segments as the lying target places them. */
typedef struct lie {
	const char *what;
	uint32_t n;
	uint64_t off[3];
	uint32_t len[3];
	int flip;		/* a byte of the second segment is changed
				   after its fingerprint was taken */
} lie;

static const lie files[] = {
	{ "the truth", 3, { 0, 100, 200 }, { 100, 100, 100 }, 0 },
	{ "a gap", 2, { 0, 110 }, { 100, 190 }, 0 },
	{ "an overlap", 2, { 0, 90 }, { 100, 210 }, 0 },
	{ "a segment past the size", 3, { 0, 100, 200 }, { 100, 100, 110 },
	  0 },
	{ "a byte changed on the way", 3, { 0, 100, 200 }, { 100, 100, 100 },
	  1 },
	{ "a segment short of the size", 3, { 0, 100, 200 }, { 100, 100, 90 },
	  0 },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

/* The bytes of a segment placed at off: byte i is (off + i) * 7. */
static void fill(uint8_t *p, uint64_t off, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)((off + i) * 7);
}

/* A READ of file ino (1-based) at [off, off + len): every segment whose
 * claimed place overlaps it, stored raw. */
static void answer_read(wbuf *w, uint64_t ino, uint64_t off, uint32_t len)
{
	const lie *l = &files[ino - 1];
	uint8_t buf[512];
	uint32_t n = 0;
	size_t at;
	fp_t f;

	wb_u64(w, FILE_SIZE);
	at = w->len;
	wb_u32(w, 0);
	for (uint32_t i = 0; i < l->n; i++) {
		if (l->off[i] + l->len[i] <= off || l->off[i] >= off + len)
			continue;
		fill(buf, l->off[i], l->len[i]);
		fp_compute(&f, buf, l->len[i]);
		if (l->flip && i == 1)
			buf[17] ^= 0x20;
		wb_u64(w, l->off[i]);
		wb_fp(w, &f);
		wb_u8(w, 0);
		wb_u32(w, l->len[i]);
		wb_u32(w, l->len[i]);
		wb_bytes(w, buf, l->len[i]);
		n++;
	}
	wb_put_u32_at(w, at, n);
}

/* READ_FILES: each file as answer_read gives it whole; an inode not
 * here is its entry's DDT_ENOENT. */
static void answer_read_files(wbuf *w, rbuf *r)
{
	uint32_t n = rb_count(r, 8, UINT32_MAX);

	wb_u32(w, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t ino = rb_u64(r);

		if (ino >= 1 && ino <= NFILES) {
			wb_u32(w, 0);
			answer_read(w, ino, 0, FILE_SIZE);
		} else {
			wb_u32(w, DDT_ENOENT);
			wb_str(w, "inode not here");
		}
	}
}

/* Whether the target played says it takes READ_FILES, and how many it
 * was sent. */
static atomic_int takes_read_files = 1, read_files_asked;

static void answer(int fd, const ddt_hdr *h, const uint8_t *p)
{
	wbuf w;
	rbuf r;

	wb_init(&w);
	rb_init(&r, p, ddt_payload_len(h));
	switch (h->opcode) {
	case DDT_OP_HELLO:
		wb_u32(&w, DDT_PROTO_VERSION);
		wb_str(&w, "liar");
		wb_u32(&w, DDT_MAX_PAYLOAD);
		wb_u32(&w, 8);
		wb_u32(&w, 2048);
		wb_u32(&w, 8192);
		wb_u32(&w, 65536);
		wb_u64(&w, 1);
		break;
	case DDT_OP_AUTH:
		wb_u8(&w, DDT_ROLE_ADMIN);
		break;
	case DDT_OP_STATUS:
		wb_u32(&w, 1);
		wb_str(&w, "proto_read_files");
		wb_u64(&w, (uint64_t)atomic_load(&takes_read_files));
		break;
	case DDT_OP_READ_FILES:
		atomic_fetch_add(&read_files_asked, 1);
		answer_read_files(&w, &r);
		break;
	case DDT_OP_READ: {
		uint64_t ino = rb_u64(&r), off = rb_u64(&r);
		uint32_t len = rb_u32(&r);

		if (ino >= 1 && ino <= NFILES) {
			answer_read(&w, ino, off, len);
			break;
		}
	}	/* fall through */
	default:
		wb_str(&w, "not here");
		wire_send(fd, h->opcode, 1, h->id, DDT_EINVAL, &w);
		wb_free(&w);
		return;
	}
	wire_send(fd, h->opcode, 1, h->id, 0, &w);
	wb_free(&w);
}

/* Serve every connection, one after the other, until the listener is
 * shut down. */
static void *serve(void *arg)
{
	int lfd = *(int *)arg, fd;
	uint8_t *p;
	ddt_hdr h;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		while (wire_recv(fd, &h, &p) == 0) {
			answer(fd, &h, p);
			free(p);
		}
		free(p);
		close(fd);
	}
	return NULL;
}

static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		tap_bail("cannot listen on loopback");
	*port = ntohs(a.sin_port);
	return fd;
}

/* What ddtc_read_files handed over, per file. */
typedef struct got_file {
	int calls, rc, exact;
	char msg[256];
} got_file;

typedef struct got_files {
	got_file f[16];
	size_t stop_at;		/* return 1 at this file (SIZE_MAX: never) */
} got_files;

static int got_cb(void *arg, size_t i, int rc, const void *data, size_t len)
{
	got_files *g = arg;
	uint8_t want[FILE_SIZE];

	fill(want, 0, FILE_SIZE);
	g->f[i].calls++;
	g->f[i].rc = rc;
	g->f[i].exact = rc == 0 && len == FILE_SIZE &&
			memcmp(data, want, FILE_SIZE) == 0;
	if (rc < 0)
		snprintf(g->f[i].msg, sizeof(g->f[i].msg), "%s",
			 ddtc_errmsg(rc));
	return i == g->stop_at;
}

/* Every lie among truthful files in one ddtc_read_files. */
static void test_read_files(const ddtc_opts *o)
{
	uint64_t inos[] = { 1, 2, 3, 4, 5, 6, 99, 1 }, sizes[8];
	got_files *g = xmalloc(sizeof(*g));
	int rc, calls = 1;
	ddtc *c;

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < 8; i++)
		sizes[i] = FILE_SIZE;
	if ((rc = ddtc_connect(&c, o)) != 0)
		tap_bail("connect: %s", ddtc_errmsg(rc));
	g->stop_at = SIZE_MAX;
	rc = ddtc_read_files(c, inos, sizes, 8, got_cb, g);
	for (size_t i = 0; i < 8; i++)
		calls &= g->f[i].calls == 1;
	ok(rc == 0 && calls, "ddtc_read_files hands each of 8 files over "
	   "once (%d)", rc);
	ok(g->f[0].exact && g->f[7].exact,
	   "the truthful file reads exactly, and again after the lies");
	ok(g->f[1].rc == -EBADMSG && g->f[2].rc == -EBADMSG &&
	   g->f[3].rc == -EBADMSG && strstr(g->f[1].msg, "damaged"),
	   "a gap, an overlap, a segment past the size: each its own "
	   "EBADMSG: %s", g->f[1].msg);
	ok(g->f[4].rc == -EBADMSG && strstr(g->f[4].msg, "inode 5: the "
	   "100-byte segment at offset 100 does not match its fingerprint"),
	   "a byte changed on the way: EBADMSG: %s", g->f[4].msg);
	ok(g->f[5].rc == -EIO, "a file short of its size is read on, and "
	   "fails: %s", g->f[5].msg);
	ok(g->f[6].rc == -ENOENT && strstr(g->f[6].msg, "not here"),
	   "an inode the target lacks: its own ENOENT: %s", g->f[6].msg);

	memset(g, 0, sizeof(*g));
	g->stop_at = 2;
	rc = ddtc_read_files(c, inos, sizes, 8, got_cb, g);
	ok(rc == 1 && g->f[2].calls == 1 && g->f[3].calls == 0,
	   "a callback's non-zero return stops the call, and is returned");
	memset(g, 0, sizeof(*g));
	g->stop_at = SIZE_MAX;
	sizes[0] = FILE_SIZE + 1;
	rc = ddtc_read_files(c, inos, sizes, 1, got_cb, g);
	ok(rc == 0 && g->f[0].rc == -ESTALE,
	   "a file of another size than expected: ESTALE: %s", g->f[0].msg);
	ddtc_close(c);
	free(g);
}

/* A target whose STATUS lacks proto_read_files is read file by file. */
static void test_read_files_fallback(const ddtc_opts *o)
{
	uint64_t inos[] = { 1, 1, 1 }, sizes[] = { FILE_SIZE, FILE_SIZE,
						   FILE_SIZE };
	got_files *g = xmalloc(sizeof(*g));
	int rc, asked;
	ddtc *c;

	memset(g, 0, sizeof(*g));
	g->stop_at = SIZE_MAX;
	atomic_store(&takes_read_files, 0);
	asked = atomic_load(&read_files_asked);
	if ((rc = ddtc_connect(&c, o)) != 0)
		tap_bail("connect: %s", ddtc_errmsg(rc));
	rc = ddtc_read_files(c, inos, sizes, 3, got_cb, g);
	ok(rc == 0 && g->f[0].exact && g->f[1].exact && g->f[2].exact &&
	   atomic_load(&read_files_asked) == asked,
	   "a target without READ_FILES: each file read exactly with READ");
	sizes[1] = FILE_SIZE - 1;
	memset(g, 0, sizeof(*g));
	g->stop_at = SIZE_MAX;
	rc = ddtc_read_files(c, inos, sizes, 3, got_cb, g);
	ok(rc == 0 && g->f[0].exact && g->f[1].rc == -ESTALE && g->f[2].exact,
	   "and a file of another size than expected is its own ESTALE: %s",
	   g->f[1].msg);
	ddtc_close(c);
	atomic_store(&takes_read_files, 1);
	free(g);
}

int main(void)
{
	uint8_t want[FILE_SIZE], got[FILE_SIZE];
	ddtc_opts o;
	pthread_t t;
	ddtc *c;
	size_t n;
	int lfd, port, rc;

	lfd = listen_loopback(&port);
	if (pthread_create(&t, NULL, serve, &lfd) != 0)
		tap_bail("pthread_create");
	ddtc_opts_default(&o);
	o.port = port;
	o.password = "x";
	o.timeout = 30;
	o.no_tls = 1;		/* the target played here speaks plaintext */
	fill(want, 0, FILE_SIZE);
	for (uint64_t ino = 1; ino <= NFILES; ino++) {
		if ((rc = ddtc_connect(&c, &o)) != 0)
			tap_bail("connect: %s", ddtc_errmsg(rc));
		memset(got, 0, sizeof(got));
		n = 0;
		rc = ddtc_read(c, ino, 0, got, sizeof(got), &n);
		if (ino == 1)
			ok(rc == 0 && n == FILE_SIZE &&
			   memcmp(got, want, FILE_SIZE) == 0,
			   "%s reads back exactly", files[ino - 1].what);
		else if (files[ino - 1].flip)
			ok(rc == -EBADMSG && strstr(ddtc_errmsg(rc), "inode 5: "
			   "the 100-byte segment at offset 100 does not match "
			   "its fingerprint"), "%s: EBADMSG: %s",
			   files[ino - 1].what, ddtc_errmsg(rc));
		else if (ino == NFILES)
			ok(rc == -EIO, "%s: the read fails (%d): %s",
			   files[ino - 1].what, rc, ddtc_errmsg(rc));
		else
			ok(rc == -EBADMSG && strstr(ddtc_errmsg(rc), "damaged"),
			   "%s: EBADMSG: %s", files[ino - 1].what,
			   ddtc_errmsg(rc));
		ddtc_close(c);
	}
	test_read_files(&o);
	test_read_files_fallback(&o);
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(t, NULL);
	return tap_done();
}
