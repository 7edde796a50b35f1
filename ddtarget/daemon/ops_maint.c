/* ops_maint.c - the maintenance jobs' requests (PROTOCOL.md section 5,
 * Cleaning, Checkpoints, Scrub): start them, and report how they went.
 * The jobs themselves are the engine's (clean.c, scrub.c, store_ckpt.c). */
#include "ops_sections.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddterr.h"
#include "store_ckpt.h"

/* ---- checkpoints ----
 * Taking one flushes RocksDB and links or copies its files: seconds of
 * I/O at worst, which is why it runs here, on a worker, like every
 * request, and never on the event loop. */

static int op_checkpoint(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	char name[STORE_CKPT_NAME_MAX];
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "taking a checkpoint")) < 0 ||
	    (rc = store_checkpoint(d->st, NULL, 0, name, sizeof(name))) < 0)
		return rc;
	wb_str(w, name);
	return 0;
}

static int ckpt_list_cb(void *arg, const store_ckpt_info *ci)
{
	ddt_checkpoint ck = { .created = ci->created, .bytes = ci->bytes };
	void **a = arg;
	wbuf *w = a[0];

	snprintf(ck.name, sizeof(ck.name), "%s", ci->name);
	wb_checkpoint(w, &ck);
	(*(uint32_t *)a[1])++;
	return w->err;
}

static int op_checkpoint_list(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	uint32_t n = 0;
	void *a[2] = { w, &n };
	size_t at;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	at = w->len;
	wb_u32(w, 0);
	rc = store_checkpoint_list(store_checkpoint_dir(d->st), ckpt_list_cb,
				   a);
	wb_put_u32_at(w, at, n);
	return rc;
}

static int op_clean_start(req *q)
{
	ddtd *d = q->d;
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "start cleaning")) < 0)
		return rc;
	return clean_start(d->cl);
}

static int op_clean_status(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	clean_report c;
	uint32_t n = 0;
	size_t at;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	clean_status(d->cl, &c);
	wb_u8(w, (uint8_t)c.running);
	wb_str(w, c.phase);
	wb_str(w, c.msg);
	at = w->len;
	wb_u32(w, 0);
	req_kv(w, &n, "started_ns", (uint64_t)c.started);
	req_kv(w, &n, "finished_ns", (uint64_t)c.finished);
	req_kv(w, &n, "files", c.files);
	req_kv(w, &n, "metadata_segments", c.metadata_segments);
	req_kv(w, &n, "damaged_files", c.damaged_files);
	req_kv(w, &n, "containers_total", c.containers_total);
	req_kv(w, &n, "containers_examined", c.containers_examined);
	req_kv(w, &n, "examined_bytes", c.examined_bytes);
	req_kv(w, &n, "candidates", c.candidates);
	req_kv(w, &n, "containers_dropped", c.containers_dropped);
	req_kv(w, &n, "containers_kept", c.containers_kept);
	req_kv(w, &n, "segments_removed", c.segments_removed);
	req_kv(w, &n, "bytes_copied", c.bytes_copied);
	req_kv(w, &n, "reclaimed_bytes", c.reclaimed_bytes);
	req_kv(w, &n, "orphan_files", c.orphan_files);
	req_kv(w, &n, "physical_before", c.physical_before);
	req_kv(w, &n, "physical_after", c.physical_after);
	req_kv(w, &n, "cleans", c.cleans);
	wb_put_u32_at(w, at, n);
	return 0;
}

static int op_scrub_start(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	uint8_t repair = rb_u8(r);
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "starting a scrub")) < 0)
		return rc;
	if (repair > 1)
		return ddterr_set(-EINVAL, "SCRUB_START: repair is 0 or 1, "
				  "not %u", repair);
	return scrub_start(d->scr, repair ? SCRUB_REPAIR : 0);
}

static void scrub_figures(wbuf *w, const scrub_report *c, uint32_t *n)
{
	const store_scrub_report *s = &c->st;

	req_kv(w, n, "started_ns", (uint64_t)c->started);
	req_kv(w, n, "finished_ns", (uint64_t)c->finished);
	req_kv(w, n, "repair", (uint64_t)c->repair);
	req_kv(w, n, "containers_total", s->containers_total);
	req_kv(w, n, "containers_checked", s->containers_checked);
	req_kv(w, n, "containers_vanished", s->containers_vanished);
	req_kv(w, n, "fragments_checked", s->fragments_checked);
	req_kv(w, n, "bytes_read", s->bytes_read);
	req_kv(w, n, "fragments_missing", s->fragments_missing);
	req_kv(w, n, "fragments_corrupt", s->fragments_corrupt);
	req_kv(w, n, "fragments_rebuilt", s->fragments_rebuilt);
	req_kv(w, n, "segments_checked", s->segments_checked);
	req_kv(w, n, "segments_bad", s->segments_bad);
	req_kv(w, n, "containers_damaged", s->containers_damaged);
	req_kv(w, n, "containers_unrecoverable", s->containers_unrecoverable);
	req_kv(w, n, "index_missing", s->index_missing);
	req_kv(w, n, "errors", s->errors);
	req_kv(w, n, "journals_checked", s->journals_checked);
	req_kv(w, n, "journal_records", s->journal_records);
	req_kv(w, n, "journals_damaged", s->journals_damaged);
	req_kv(w, n, "journals_sealed", s->journals_sealed);
	req_kv(w, n, "lost_containers", (uint64_t)s->nlost);
	req_kv(w, n, "lost_segments", c->lost_segments);
	req_kv(w, n, "unnamed_containers", c->unnamed_containers);
	req_kv(w, n, "files_checked", c->files_checked);
	req_kv(w, n, "files_missing_segments", c->files_missing_segments);
	req_kv(w, n, "files_bad_tree", c->files_bad_tree);
	req_kv(w, n, "affected_backups", c->affected_backups);
	req_kv(w, n, "affected_files", c->affected_files);
	req_kv(w, n, "elapsed_ms", (uint64_t)(s->seconds * 1000));
	req_kv(w, n, "scrubs", c->scrubs);
	req_kv(w, n, "clean", (uint64_t)c->clean);
	req_kv(w, n, "result", (uint64_t)(c->rc < 0 ? -c->rc : 0));
}

static int op_scrub_status(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	scrub_report *c;
	uint32_t n = 0;
	size_t at;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	c = malloc(sizeof(*c));		/* too large for a worker's stack */
	if (!c)
		return -ENOMEM;
	scrub_status(d->scr, c);
	wb_u8(w, (uint8_t)c->running);
	wb_str(w, c->phase);
	wb_str(w, c->msg);
	at = w->len;
	wb_u32(w, 0);
	scrub_figures(w, c, &n);
	wb_put_u32_at(w, at, n);
	wb_u32(w, (uint32_t)c->naffected);
	for (size_t i = 0; i < c->naffected; i++) {
		wb_str(w, c->affected[i].su);
		wb_str(w, c->affected[i].backup);
		wb_u64(w, c->affected[i].files);
	}
	free(c);
	return 0;
}

const req_handler ops_maint_handlers[] = {
	{ DDT_OP_CHECKPOINT, op_checkpoint },
	{ DDT_OP_CHECKPOINT_LIST, op_checkpoint_list },
	{ DDT_OP_CLEAN_START, op_clean_start },
	{ DDT_OP_CLEAN_STATUS, op_clean_status },
	{ DDT_OP_SCRUB_START, op_scrub_start },
	{ DDT_OP_SCRUB_STATUS, op_scrub_status },
	{ 0, NULL }
};
