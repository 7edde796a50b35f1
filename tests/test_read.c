/* test_read.c - the client library's READ against a target that lies: a
 * target whose tree was damaged before COMMIT checked lengths (or one that
 * does not check) may hand back segments with a gap between them, an
 * overlap, or one running past the file's size; and a man in the middle
 * may change a segment's bytes on the way. ddtc_read must refuse each
 * (EBADMSG, or EIO when the target sends nothing more) rather than fill
 * the caller's buffer with shifted, stale or changed bytes, naming the
 * inode and the offset, and read a truthful file exactly. The target here is a thread speaking PROTOCOL.md by hand. */
#include "ddtc.h"
#include "tap.h"
#include "testutil.h"
#include "rawwire.h"
#include "fp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
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
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(t, NULL);
	return tap_done();
}
