/* ops_users.c - users managed online (PROTOCOL.md section 5, Users): add,
 * list, change (password, level, domain) and remove, by an admin; any
 * user changes its own password. An admin of a domain other than the
 * system's manages its own domain's users only, and the others are to it
 * as users that do not exist. The last admin of the system domain can be
 * neither removed nor demoted, so the target always has one. Changes are
 * made one at a time (users_mu), so two admins cannot both remove "the
 * other" last admin; each bumps the users' generation, so that sessions
 * read their user again before their next request (ops.c). */
#include "ops_sections.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "ddterr.h"
#include "log.h"

static pthread_mutex_t users_mu = PTHREAD_MUTEX_INITIALIZER;

/* An admin of the system domain: may manage every domain's users. */
static int system_admin(const req *q)
{
	return q->role == DDT_ROLE_ADMIN &&
	       strcmp(q->domain, DDT_DOMAIN_SYSTEM) == 0;
}

/* 0 and the user's level and domain if q may manage it; -ENOENT as for
 * no such user if it is of another domain. */
static int managed_user(const req *q, const char *user, int *role,
			char *domain)
{
	int rc = auth_get_user(q->d->ix, user, role, domain);

	if (rc == 0 && !system_admin(q) && strcmp(domain, q->domain) != 0)
		rc = ddterr_set(-ENOENT, "no user \"%.64s\"", user);
	return rc;
}

/* A user may be put in domain only by an admin of it, or of the system. */
static int may_place(const req *q, const char *domain)
{
	if (!ddt_domain_ok(domain))
		return ddterr_set(-EINVAL, "%s: domain \"%.64s\": 1 to %d "
				  "letters, digits, '.', '_' or '-'",
				  ddt_op_name(q->op), domain, DDT_MAX_DOMAIN);
	if (system_admin(q) || strcmp(domain, q->domain) == 0)
		return 0;
	return ddterr_set(-EPERM, "%s: a user of domain %.64s needs an admin "
			  "of that domain or of the %s domain; %s is of "
			  "domain %s", ddt_op_name(q->op), domain,
			  DDT_DOMAIN_SYSTEM, q->user, q->domain);
}

typedef struct admin_count {
	const char *except;
	int n;
} admin_count;

static int count_cb(void *arg, const char *user, int role,
		    const char *domain)
{
	admin_count *c = arg;

	if (role == DDT_ROLE_ADMIN && !strcmp(domain, DDT_DOMAIN_SYSTEM) &&
	    strcmp(user, c->except) != 0)
		c->n++;
	return 0;
}

/* Refuse to leave the target without an admin of the system domain, if
 * user (level role, domain domain) stops being one. */
static int keeps_an_admin(const req *q, const char *user, int role,
			  const char *domain)
{
	admin_count c = { .except = user };
	int rc;

	if (role != DDT_ROLE_ADMIN || strcmp(domain, DDT_DOMAIN_SYSTEM) != 0)
		return 0;
	if ((rc = auth_list(q->d->ix, count_cb, &c)) < 0)
		return rc;
	if (c.n > 0)
		return 0;
	return ddterr_set(-EPERM, "%s: %s is the last admin of the %s domain: "
			  "make another admin first", ddt_op_name(q->op), user,
			  DDT_DOMAIN_SYSTEM);
}

/* Sessions read their users again before their next request (ops.c). */
static void changed(const req *q)
{
	__atomic_add_fetch(&q->d->users_gen, 1, __ATOMIC_RELEASE);
}

static int level_ok(const req *q, uint8_t level)
{
	if (ddt_role_name(level))
		return 0;
	return ddterr_set(-EINVAL, "%s: unknown access level %u",
			  ddt_op_name(q->op), level);
}

static int add_user(req *q, const char *user, const char *pw, uint8_t level,
		    const char *domain)
{
	int rc;

	if ((rc = req_need_admin(q, "adding a user")) < 0 ||
	    (rc = level_ok(q, level)) < 0 ||
	    (rc = may_place(q, domain)) < 0)
		return rc;
	rc = auth_get_user(q->d->ix, user, NULL, NULL);
	if (rc == 0)
		return ddterr_set(-EEXIST, "user \"%s\" exists already", user);
	if (rc != -ENOENT)
		return rc;
	if ((rc = auth_set_user(q->d->ix, user, pw, level, domain)) == 0)
		changed(q);
	if (rc == 0)
		log_info("user %s (%s, domain %s) added by %s", user,
			 ddt_role_name(level), domain, q->user);
	return rc;
}

static int op_user_add(req *q)
{
	char user[DDT_MAX_STR + 1], pw[DDT_MAX_STR + 1];
	char domain[DDT_MAX_STR + 1];
	uint8_t level;
	int rc;

	rb_str(&q->r, user, sizeof(user));
	rb_str(&q->r, pw, sizeof(pw));
	level = rb_u8(&q->r);
	rb_str(&q->r, domain, sizeof(domain));
	if ((rc = req_parsed(q)) == 0) {
		pthread_mutex_lock(&users_mu);
		rc = add_user(q, user, pw, level,
			      domain[0] ? domain : q->domain);
		pthread_mutex_unlock(&users_mu);
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	return rc;
}

typedef struct user_walk {
	const req *q;
	req_list l;
} user_walk;

static int list_cb(void *arg, const char *user, int role,
		   const char *domain)
{
	user_walk *u = arg;

	if (!system_admin(u->q) && strcmp(domain, u->q->domain) != 0)
		return 0;
	wb_str(u->l.w, user);
	wb_u8(u->l.w, (uint8_t)role);
	wb_str(u->l.w, domain);
	u->l.n++;
	return u->l.w->err;
}

static int op_user_list(req *q)
{
	user_walk u = { .q = q };
	int rc;

	if ((rc = req_parsed(q)) < 0 ||
	    (rc = req_need_admin(q, "listing users")) < 0)
		return rc;
	req_list_begin(&u.l, q->w);
	rc = auth_list(q->d->ix, list_cb, &u);
	req_list_end(&u.l);
	return rc;
}

/* A USER_SET's fields. */
typedef struct user_set {
	char user[DDT_MAX_STR + 1], pw[DDT_MAX_STR + 1];
	char domain[DDT_MAX_STR + 1];
	uint32_t mask;
	uint8_t level;
} user_set;

/* What an admin may change of another user (or of itself beyond its
 * password); to (level, domain) the user after. */
static int admin_change(req *q, const user_set *s, int *level, char *domain)
{
	int rc;

	if ((rc = req_need_admin(q, "changing a user")) < 0 ||
	    (rc = managed_user(q, s->user, level, domain)) < 0 ||
	    ((s->mask & DDT_USER_SET_LEVEL) &&
	     (rc = level_ok(q, s->level)) < 0) ||
	    ((s->mask & DDT_USER_SET_DOMAIN) &&
	     (rc = may_place(q, s->domain)) < 0))
		return rc;
	if ((rc = keeps_an_admin(q, s->user, *level, domain)) < 0 &&
	    (((s->mask & DDT_USER_SET_LEVEL) && s->level != *level) ||
	     ((s->mask & DDT_USER_SET_DOMAIN) && strcmp(s->domain, domain))))
		return rc;
	if (s->mask & DDT_USER_SET_LEVEL)
		*level = s->level;
	if (s->mask & DDT_USER_SET_DOMAIN)
		snprintf(domain, DDT_MAX_DOMAIN + 1, "%.64s", s->domain);
	return 0;
}

static int set_user(req *q, const user_set *s)
{
	char domain[DDT_MAX_DOMAIN + 1];
	int level, rc;

	if (s->mask == 0 || (s->mask & ~(DDT_USER_SET_PASSWORD |
					 DDT_USER_SET_LEVEL |
					 DDT_USER_SET_DOMAIN)))
		return ddterr_set(-EINVAL, "USER_SET: mask 0x%x: give bits 1 "
				  "(password), 2 (level), 4 (domain) only",
				  s->mask);
	/* Its own password: any user, of any level. */
	if (s->mask == DDT_USER_SET_PASSWORD && strcmp(s->user, q->user) == 0)
		rc = auth_get_user(q->d->ix, s->user, &level, domain);
	else
		rc = admin_change(q, s, &level, domain);
	if (rc < 0)
		return rc;
	rc = s->mask & DDT_USER_SET_PASSWORD ?
		auth_set_user(q->d->ix, s->user, s->pw, level, domain) :
		auth_update_user(q->d->ix, s->user, level, domain);
	if (rc == 0)
		changed(q);
	if (rc == 0)
		log_info("user %s changed by %s (%s%s%s)", s->user, q->user,
			 s->mask & DDT_USER_SET_PASSWORD ? "password " : "",
			 s->mask & DDT_USER_SET_LEVEL ? "level " : "",
			 s->mask & DDT_USER_SET_DOMAIN ? "domain" : "");
	return rc;
}

static int op_user_set(req *q)
{
	user_set s;
	int rc;

	rb_str(&q->r, s.user, sizeof(s.user));
	s.mask = rb_u32(&q->r);
	rb_str(&q->r, s.pw, sizeof(s.pw));
	s.level = rb_u8(&q->r);
	rb_str(&q->r, s.domain, sizeof(s.domain));
	if ((rc = req_parsed(q)) == 0) {
		pthread_mutex_lock(&users_mu);
		rc = set_user(q, &s);
		pthread_mutex_unlock(&users_mu);
	}
	OPENSSL_cleanse(s.pw, sizeof(s.pw));
	return rc;
}

static int delete_user(req *q, const char *user)
{
	char domain[DDT_MAX_DOMAIN + 1];
	int level, rc;

	if ((rc = req_need_admin(q, "removing a user")) < 0 ||
	    (rc = managed_user(q, user, &level, domain)) < 0 ||
	    (rc = keeps_an_admin(q, user, level, domain)) < 0)
		return rc;
	if ((rc = auth_delete_user(q->d->ix, user)) == 0)
		changed(q);
	if (rc == 0)
		log_info("user %s removed by %s", user, q->user);
	return rc;
}

static int op_user_delete(req *q)
{
	char user[DDT_MAX_STR + 1];
	int rc;

	rb_str(&q->r, user, sizeof(user));
	if ((rc = req_parsed(q)) < 0)
		return rc;
	pthread_mutex_lock(&users_mu);
	rc = delete_user(q, user);
	pthread_mutex_unlock(&users_mu);
	return rc;
}

const req_handler ops_users_handlers[] = {
	{ DDT_OP_USER_ADD, op_user_add },
	{ DDT_OP_USER_LIST, op_user_list },
	{ DDT_OP_USER_SET, op_user_set },
	{ DDT_OP_USER_DELETE, op_user_delete },
	{ 0, NULL }
};
