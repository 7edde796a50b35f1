/* tenant.c - which storage units a session may see (tenant.h): its
 * domain's, by the owner the namespace records for each unit
 * (ns_su_domain); the units found visible are remembered in the session,
 * so a stream of requests on one unit reads that record once. */
#include "tenant.h"

#include <errno.h>
#include <string.h>

#include "ddterr.h"
#include "ops.h"

static int seen(ops_session *ss, uint64_t root)
{
	int found = 0;

	pthread_mutex_lock(&ss->mu);
	for (size_t i = 0; i < sizeof(ss->seen_units) / sizeof(uint64_t); i++)
		found |= ss->seen_units[i] == root;
	pthread_mutex_unlock(&ss->mu);
	return found;
}

static void remember(ops_session *ss, uint64_t root)
{
	size_t n = sizeof(ss->seen_units) / sizeof(uint64_t);

	pthread_mutex_lock(&ss->mu);
	ss->seen_units[ss->seen_next++ % n] = root;
	pthread_mutex_unlock(&ss->mu);
}

/* 1 if the unit whose root is root is q's to see, 0 if not, or -errno. */
static int unit_visible(req *q, uint64_t root)
{
	char owner[DDT_MAX_DOMAIN + 1];
	int rc;

	if (q->all_domains || seen(q->ss, root))
		return 1;
	if ((rc = ns_su_domain(q->d->ns, root, owner)) < 0)
		return rc;
	if (strcmp(owner, q->domain) != 0)
		return 0;
	remember(q->ss, root);
	return 1;
}

int tenant_su(req *q, const char *name, ns_su *out)
{
	ns_su su;
	int rc = ns_su_get(q->d->ns, name, &su);

	if (rc == 0 && (rc = unit_visible(q, su.root)) == 0)
		rc = ddterr_set(-ENOENT, "no storage unit \"%s\"", name);
	if (rc < 0)
		return rc;
	if (out)
		*out = su;
	return 0;
}

int tenant_ino(req *q, uint64_t ino)
{
	uint64_t root;
	int rc, known;

	if (q->all_domains)
		return 0;
	pthread_mutex_lock(&q->ss->mu);
	known = ino != 0 && q->ss->seen_ino == ino;
	pthread_mutex_unlock(&q->ss->mu);
	if (known)
		return 0;
	if ((rc = ns_unit_of(q->d->ns, ino, &root)) < 0)
		return rc;
	rc = unit_visible(q, root);
	if (rc == 0)
		return ddterr_set(-ENOENT, "inode %llu does not exist",
				  (unsigned long long)ino);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&q->ss->mu);
	q->ss->seen_ino = ino;
	pthread_mutex_unlock(&q->ss->mu);
	return 0;
}

int tenant_alert(req *q, const char *id)
{
	static const char *const fam[] = {
		"quota-soft:", "quota-hard:", "streams:", "streams-hard:",
		"anomaly:",
	};

	if (q->all_domains)
		return 1;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		size_t n = strlen(fam[i]);

		if (strncmp(id, fam[i], n) == 0 && strcmp(id + n, "*") != 0)
			return tenant_su(q, id + n, NULL) == 0;
	}
	return 1;
}

const char *tenant_alert_text(const req *q, const char *id,
			      const char *text)
{
	if (q->all_domains || strcmp(id, "scrub-lost") != 0)
		return text;
	return "scrub found data lost: files of some backups cannot be "
	       "restored whole; SCRUB_STATUS names those of your domain's "
	       "storage units, and the target's admin has the rest";
}

int tenant_need_system_admin(const req *q, const char *what)
{
	int rc = req_need_admin(q, what);

	if (rc < 0 || strcmp(q->domain, DDT_DOMAIN_SYSTEM) == 0)
		return rc;
	return ddterr_set(-EPERM, "%s needs an admin of the %s domain; %s is "
			  "of domain %s", what, DDT_DOMAIN_SYSTEM, q->user,
			  q->domain);
}

typedef struct list_args {
	req *q;
	ns_su_cb cb;
	void *arg;
} list_args;

static int visible_cb(void *arg, const ns_su *su)
{
	list_args *l = arg;
	int rc = unit_visible(l->q, su->root);

	if (rc < 0)
		return rc;
	return rc ? l->cb(l->arg, su) : 0;
}

int tenant_su_list(req *q, ns_su_cb cb, void *arg)
{
	list_args l = { .q = q, .cb = cb, .arg = arg };

	if (q->all_domains)
		return ns_su_list(q->d->ns, cb, arg);
	return ns_su_list(q->d->ns, visible_cb, &l);
}
