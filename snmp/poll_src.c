/* poll_src.c - looking up a figure of one reading of the target
 * (poll_int.h), for the poller that fills the reading and for the MIB's
 * mapping that reads it. */
#include "poll.h"
#include "poll_int.h"

#include <string.h>

uint64_t poll_num(const poll_src *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (!s->kv[i].text && !strcmp(s->kv[i].key, key))
			return s->kv[i].num;
	return 0;
}

const char *poll_text(const poll_src *s, const char *key)
{
	for (size_t i = 0; i < s->nkv; i++)
		if (s->kv[i].text && !strcmp(s->kv[i].key, key))
			return s->kv[i].text;
	return "";
}
