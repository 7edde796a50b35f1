/* ops_tokens.c - API tokens (PROTOCOL.md section 5, Tokens): any user
 * makes tokens that log it in instead of its password, lists and revokes
 * its own; an admin lists and revokes those of the users it manages (the
 * system domain's: every user's; another domain's: its own domain's).
 * The secret is shown once, in TOKEN_CREATE's reply, and never stored. */
#include "ops_sections.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "auth_token.h"
#include "ddterr.h"
#include "log.h"
#include "now.h"

/* Whether q may manage token t: its own, or as an admin of t's user. */
static int may_manage(const req *q, const auth_token *t)
{
	char domain[DDT_MAX_DOMAIN + 1];

	if (strcmp(t->user, q->user) == 0)
		return 1;
	if (q->role != DDT_ROLE_ADMIN ||
	    auth_get_user(q->d->ix, t->user, NULL, domain) < 0)
		return 0;
	return strcmp(q->domain, DDT_DOMAIN_SYSTEM) == 0 ||
	       strcmp(q->domain, domain) == 0;
}

static int op_token_create(req *q)
{
	char label[DDT_MAX_STR + 1], token[AUTH_TOKEN_LEN + 1];
	int64_t expires;
	auth_token t;
	int rc;

	rb_str(&q->r, label, sizeof(label));
	expires = rb_i64(&q->r);
	if ((rc = req_parsed(q)) < 0)
		return rc;
	if (expires < 0)
		return ddterr_set(-EINVAL, "TOKEN_CREATE: a negative expiry");
	rc = auth_token_create(q->d->ix, q->user, label, now_ns(), expires,
			       token, &t);
	if (rc < 0)
		return rc;
	wb_str(q->w, token);
	wb_str(q->w, t.id);
	OPENSSL_cleanse(token, sizeof(token));
	log_info("token %s (\"%.64s\") made for user %s", t.id, t.label,
		 q->user);
	return 0;
}

typedef struct list_ctx {
	req *q;
	req_list l;
} list_ctx;

static int list_cb(void *arg, const auth_token *t)
{
	list_ctx *x = arg;
	wbuf *w = x->q->w;

	if (!may_manage(x->q, t))
		return 0;
	wb_str(w, t->id);
	wb_str(w, t->user);
	wb_str(w, t->label);
	wb_i64(w, t->created);
	wb_i64(w, t->expires);
	x->l.n++;
	return w->err;
}

static int op_token_list(req *q)
{
	list_ctx x = { .q = q };
	int rc;

	if ((rc = req_parsed(q)) < 0)
		return rc;
	req_list_begin(&x.l, q->w);
	rc = auth_token_list(q->d->ix, list_cb, &x);
	req_list_end(&x.l);
	return rc;
}

static int op_token_delete(req *q)
{
	char id[DDT_MAX_STR + 1];
	auth_token t;
	int rc;

	rb_str(&q->r, id, sizeof(id));
	if ((rc = req_parsed(q)) < 0)
		return rc;
	rc = auth_token_get(q->d->ix, id, &t);
	if (rc == 0 && !may_manage(q, &t))	/* as for none */
		rc = ddterr_set(-ENOENT, "no token %.16s", id);
	if (rc == 0)
		rc = auth_token_delete(q->d->ix, id);
	if (rc == 0)
		log_info("token %s of user %s revoked by %s", id, t.user,
			 q->user);
	return rc;
}

const req_handler ops_tokens_handlers[] = {
	{ DDT_OP_TOKEN_CREATE, op_token_create },
	{ DDT_OP_TOKEN_LIST, op_token_list },
	{ DDT_OP_TOKEN_DELETE, op_token_delete },
	{ 0, NULL }
};
