/* ns_domain.c - which domain (tenant) owns each storage unit (ns.h): a
 * record 'O' root -> the domain's name beside the unit's, written in the
 * batch that makes the unit and removed in the one that deletes it. A
 * unit without one (every unit made before domains, and those of the
 * system domain) is of the system domain: old stores need no migration. */
#include "ns_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ddterr.h"

void ns_domain_put(txn *t, uint64_t root, const char *domain)
{
	uint8_t key[9];

	if (strcmp(domain, DDT_DOMAIN_SYSTEM) != 0)
		ns_txn_put(t, key, ns_ino_key(key, 'O', root), domain,
			   strlen(domain));
}

void ns_domain_del(txn *t, uint64_t root)
{
	uint8_t key[9];

	ns_txn_del(t, key, ns_ino_key(key, 'O', root));
}

int ns_su_domain(ns *n, uint64_t root, char *out)
{
	uint8_t key[9];
	size_t len;
	void *v;
	int rc;

	rc = idx_kv_get(n->ix, IDX_NS, key, ns_ino_key(key, 'O', root), &v,
			&len);
	if (rc == -ENOENT) {
		strcpy(out, DDT_DOMAIN_SYSTEM);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (len == 0 || len > DDT_MAX_DOMAIN)
		rc = ddterr_set(-EBADMSG, "namespace: the domain of storage "
				"unit %llu is damaged", (unsigned long long)root);
	else {
		memcpy(out, v, len);
		out[len] = '\0';
	}
	free(v);
	return rc;
}
