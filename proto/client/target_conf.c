/* target_conf.c - the [target] section every gateway's configuration
 * has (ddtc.h): where ddtargetd is, who to log in as, how to trust it;
 * and the ddtc_opts it makes. */
#include "ddtc.h"

#include <string.h>

#include "confval.h"

void ddtc_target_conf_default(ddtc_target_conf *t, const char *user)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->host, "127.0.0.1");
	t->port = DDT_DEFAULT_PORT;
	confval_str(t->user, sizeof(t->user), user);
}

int ddtc_target_conf_key(ddtc_target_conf *t, const char *k, const char *v)
{
	static const struct {
		const char *key;
		size_t off, cap;
	} strs[] = {
#define S(f) { #f, offsetof(ddtc_target_conf, f), \
	       sizeof(((ddtc_target_conf *)0)->f) }
		S(host), S(user), S(password_file), S(tls_fingerprint),
		S(tls_ca), S(known_hosts),
#undef S
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (!strcmp(k, strs[i].key))
			return confval_str((char *)t + strs[i].off,
					   strs[i].cap, v);
	if (!strcmp(k, "port"))
		return confval_int(&t->port, v, 1, 65535);
	if (!strcmp(k, "tls")) {
		if (confval_bool(&t->no_tls, v) < 0)
			return -1;
		t->no_tls = !t->no_tls;
		return 0;
	}
	return -2;
}

int ddtc_target_conf_password(ddtc_target_conf *t)
{
	return confval_password(t->password, sizeof(t->password),
				t->password_file);
}

void ddtc_target_conf_opts(const ddtc_target_conf *t, ddtc_opts *o)
{
	o->host = t->host;
	o->port = t->port;
	o->user = t->user;
	o->password = t->password;
	if (t->tls_fingerprint[0])
		o->tls_fingerprint = t->tls_fingerprint;
	if (t->tls_ca[0])
		o->tls_ca = t->tls_ca;
	if (t->known_hosts[0])
		o->known_hosts = t->known_hosts;
	if (t->no_tls)
		o->no_tls = 1;
}
