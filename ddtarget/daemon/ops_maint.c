/* ops_maint.c - the maintenance jobs' requests (PROTOCOL.md section 5,
 * Cleaning, Checkpoints, Scrub): start them, and report how they went.
 * The jobs themselves are the engine's (clean.c, scrub.c, store_ckpt.c). */
#include "ops_sections.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ddterr.h"
#include "store_ckpt.h"
#include "tenant.h"

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
	    (rc = tenant_need_system_admin(q, "taking a checkpoint")) < 0)
		return rc;
	rc = store_checkpoint(d->st, NULL, 0, name, sizeof(name));
	monitor_checkpoint_done(d, rc);
	if (rc < 0)
		return rc;
	wb_str(w, name);
	return 0;
}

static int ckpt_list_cb(void *arg, const store_ckpt_info *ci)
{
	ddt_checkpoint ck = { .created = ci->created, .bytes = ci->bytes };
	req_list *l = arg;
	wbuf *w = l->w;

	snprintf(ck.name, sizeof(ck.name), "%s", ci->name);
	wb_checkpoint(w, &ck);
	l->n++;
	return w->err;
}

static int op_checkpoint_list(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	req_list l;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&l, w);
	rc = store_checkpoint_list(store_checkpoint_dir(d->st), ckpt_list_cb,
				   &l);
	req_list_end(&l);
	return rc;
}

static int op_clean_start(req *q)
{
	ddtd *d = q->d;
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = tenant_need_system_admin(q, "start cleaning")) < 0)
		return rc;
	return clean_start(d->cl);
}

static int op_clean_status(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	clean_report c;
	req_list l;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	clean_status(d->cl, &c);
	wb_u8(w, (uint8_t)c.running);
	wb_str(w, c.phase);
	wb_str(w, c.msg);
	req_list_begin(&l, w);
	req_kv(&l, "started_ns", (uint64_t)c.started);
	req_kv(&l, "finished_ns", (uint64_t)c.finished);
	req_kv(&l, "files", c.files);
	req_kv(&l, "metadata_segments", c.metadata_segments);
	req_kv(&l, "damaged_files", c.damaged_files);
	req_kv(&l, "containers_total", c.containers_total);
	req_kv(&l, "containers_examined", c.containers_examined);
	req_kv(&l, "examined_bytes", c.examined_bytes);
	req_kv(&l, "candidates", c.candidates);
	req_kv(&l, "containers_dropped", c.containers_dropped);
	req_kv(&l, "containers_kept", c.containers_kept);
	req_kv(&l, "segments_removed", c.segments_removed);
	req_kv(&l, "bytes_copied", c.bytes_copied);
	req_kv(&l, "reclaimed_bytes", c.reclaimed_bytes);
	req_kv(&l, "orphan_files", c.orphan_files);
	req_kv(&l, "physical_before", c.physical_before);
	req_kv(&l, "physical_after", c.physical_after);
	req_kv(&l, "cleans", c.cleans);
	req_list_end(&l);
	return 0;
}

static int op_scrub_start(req *q)
{
	ddtd *d = q->d;
	rbuf *r = &q->r;
	uint8_t repair = rb_u8(r);
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = tenant_need_system_admin(q, "starting a scrub")) < 0)
		return rc;
	if (repair > 1)
		return ddterr_set(-EINVAL, "SCRUB_START: repair is 0 or 1, "
				  "not %u", repair);
	return scrub_start(d->scr, repair ? SCRUB_REPAIR : 0);
}

static void scrub_figures(req_list *l, const scrub_report *c)
{
	const store_scrub_report *s = &c->st;

	req_kv(l, "started_ns", (uint64_t)c->started);
	req_kv(l, "finished_ns", (uint64_t)c->finished);
	req_kv(l, "repair", (uint64_t)c->repair);
	req_kv(l, "containers_total", s->containers_total);
	req_kv(l, "containers_checked", s->containers_checked);
	req_kv(l, "containers_vanished", s->containers_vanished);
	req_kv(l, "fragments_checked", s->fragments_checked);
	req_kv(l, "bytes_read", s->bytes_read);
	req_kv(l, "fragments_missing", s->fragments_missing);
	req_kv(l, "fragments_corrupt", s->fragments_corrupt);
	req_kv(l, "fragments_rebuilt", s->fragments_rebuilt);
	req_kv(l, "segments_checked", s->segments_checked);
	req_kv(l, "segments_bad", s->segments_bad);
	req_kv(l, "containers_damaged", s->containers_damaged);
	req_kv(l, "containers_unrecoverable", s->containers_unrecoverable);
	req_kv(l, "index_missing", s->index_missing);
	req_kv(l, "errors", s->errors);
	req_kv(l, "journals_checked", s->journals_checked);
	req_kv(l, "journal_records", s->journal_records);
	req_kv(l, "journals_damaged", s->journals_damaged);
	req_kv(l, "journals_sealed", s->journals_sealed);
	req_kv(l, "lost_containers", (uint64_t)s->nlost);
	req_kv(l, "lost_segments", c->lost_segments);
	req_kv(l, "unnamed_containers", c->unnamed_containers);
	req_kv(l, "files_checked", c->files_checked);
	req_kv(l, "files_missing_segments", c->files_missing_segments);
	req_kv(l, "files_bad_tree", c->files_bad_tree);
	req_kv(l, "affected_backups", c->affected_backups);
	req_kv(l, "affected_files", c->affected_files);
	req_kv(l, "elapsed_ms", (uint64_t)(s->seconds * 1000));
	req_kv(l, "scrubs", c->scrubs);
	req_kv(l, "clean", (uint64_t)c->clean);
	req_kv(l, "result", (uint64_t)(c->rc < 0 ? -c->rc : 0));
}

static int op_scrub_status(req *q)
{
	ddtd *d = q->d;
	wbuf *w = q->w;
	scrub_report *c;
	req_list l;
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	c = malloc(sizeof(*c));		/* too large for a worker's stack */
	if (!c)
		return -ENOMEM;
	scrub_status(d->scr, c);
	wb_u8(w, (uint8_t)c->running);
	wb_str(w, c->phase);
	/* Its summary names the affected backups: of every domain. */
	wb_str(w, !q->all_domains && c->naffected ?
	       "the scrub found files that cannot be restored whole: the "
	       "list names those of your domain's storage units" : c->msg);
	req_list_begin(&l, w);
	scrub_figures(&l, c);
	req_list_end(&l);
	/* Only the units the user may see (tenant.h). */
	req_list_begin(&l, w);
	for (size_t i = 0; i < c->naffected; i++) {
		if (!q->all_domains &&
		    tenant_su(q, c->affected[i].su, NULL) < 0)
			continue;
		wb_str(w, c->affected[i].su);
		wb_str(w, c->affected[i].backup);
		wb_u64(w, c->affected[i].files);
		l.n++;
	}
	req_list_end(&l);
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
