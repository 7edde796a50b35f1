/* users.c - `ddt user add|list|passwd|set|rm`: the target's users, managed
 * online by an admin (PROTOCOL.md section 5, Users); `passwd` alone also
 * changes the logged-in user's own password. A new password is read from
 * the terminal without echo, twice, or from standard input's first line
 * with --password-stdin (for scripts): never from the command line, where
 * other users' `ps` would see it. */
#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ddtc.h"
#include "human.h"
#include "now.h"
#include "out.h"

/* One line from f into buf, without its newline: 0, or -1 at EOF. */
static int read_line(FILE *f, char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, f))
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* Ask on the terminal (standard input), echo off. */
static int ask_hidden(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~ECHO;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
		return -1;
	rc = read_line(stdin, buf, cap);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

/* The new password, into buf (cap bytes): EXIT_* on failure. */
static int new_password(const gopts *g, char *buf, size_t cap)
{
	char again[DDT_MAX_PASSWORD + 2];
	int same;

	if (g->given & OP_PASSWORD_STDIN) {
		if (read_line(stdin, buf, cap) < 0 || !buf[0])
			return cmd_usage_error(NULL, "--password-stdin: no "
					       "password on standard input");
	} else {
		if (!isatty(STDIN_FILENO))
			return cmd_usage_error(NULL, "no terminal to ask the "
					       "new password on: give "
					       "--password-stdin");
		if (ask_hidden("New password: ", buf, cap) < 0 ||
		    ask_hidden("Again: ", again, sizeof(again)) < 0)
			return out_fail_errno(EIO, NULL, "read the password");
		same = strcmp(buf, again) == 0;
		explicit_bzero(again, sizeof(again));
		if (!same)
			return out_fail(-EINVAL, "the two passwords differ");
		if (!buf[0])
			return out_fail(-EINVAL, "an empty password");
	}
	if (strlen(buf) > DDT_MAX_PASSWORD)
		return out_fail(-EINVAL, "a password is at most %d bytes",
				DDT_MAX_PASSWORD);
	return 0;
}

static int user_print(void *arg, const ddtc_user *u)
{
	const char *level = ddt_role_name(u->role);

	if (++*(size_t *)arg == 1)
		printf("%-24s  %-8s  %s\n", "USER", "LEVEL", "DOMAIN");
	printf("%-24s  %-8s  %s\n", u->name, level ? level : "?", u->domain);
	return 0;
}

/* What each subcommand takes: its argument count and options. */
static int check_args(const cmd *cm, const gopts *g, const char *op,
		      int argc)
{
	static const struct {
		const char *op;
		int min, max;
		unsigned takes;
	} subs[] = {
		{ "add", 2, 2, OP_LEVEL | OP_DOMAIN | OP_PASSWORD_STDIN },
		{ "list", 1, 1, 0 },
		{ "passwd", 1, 2, OP_PASSWORD_STDIN },
		{ "set", 2, 2, OP_LEVEL | OP_DOMAIN },
		{ "rm", 2, 2, 0 },
	};
	unsigned mine = OP_LEVEL | OP_DOMAIN | OP_PASSWORD_STDIN;

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(op, subs[i].op) != 0)
			continue;
		if (argc < subs[i].min || argc > subs[i].max)
			return cmd_usage_error(cm, "user %s: %s", op,
					       subs[i].max == 1 ?
					       "takes no NAME" :
					       "give one NAME");
		if (g->given & mine & ~subs[i].takes)
			return cmd_usage_error(cm, "user %s: takes only %s",
					       op, subs[i].takes ?
					       "the options its usage shows" :
					       "NAME");
		if (!strcmp(op, "set") &&
		    !(g->given & (OP_LEVEL | OP_DOMAIN)))
			return cmd_usage_error(cm, "user set: give --level "
					       "or --domain (a password: "
					       "user passwd)");
		return 0;
	}
	return cmd_usage_error(cm, "user: add, list, passwd, set or rm, not "
			       "'%s'", op);
}

static int run(ddtc *c, const gopts *g, const char *op, const char *name)
{
	char pw[DDT_MAX_PASSWORD + 2];
	uint32_t mask = 0;
	size_t n = 0;
	int ret, rc = 0;

	if (!strcmp(op, "list")) {
		rc = ddtc_user_list(c, user_print, &n);
		if (rc == 0 && n == 0)
			printf("no users\n");
	} else if (!strcmp(op, "rm")) {
		if ((rc = ddtc_user_delete(c, name)) == 0)
			printf("removed user %s\n", name);
	} else if (!strcmp(op, "set")) {
		mask = (g->given & OP_LEVEL ? DDT_USER_SET_LEVEL : 0) |
		       (g->given & OP_DOMAIN ? DDT_USER_SET_DOMAIN : 0);
		if ((rc = ddtc_user_set(c, name, mask, NULL, g->level,
					g->domain)) == 0)
			printf("changed user %s\n", name);
	} else {
		if ((ret = new_password(g, pw, sizeof(pw))) != 0)
			return ret;
		rc = !strcmp(op, "add") ?
			ddtc_user_add(c, name, pw, g->given & OP_LEVEL ?
				      g->level : DDT_ROLE_USER, g->domain) :
			ddtc_user_set(c, name, DDT_USER_SET_PASSWORD, pw, 0,
				      NULL);
		explicit_bzero(pw, sizeof(pw));
		if (rc == 0)
			printf("%s user %s\n", !strcmp(op, "add") ? "added" :
			       "new password for", name);
	}
	if (rc < 0)
		return out_fail(rc, "user %s%s%s", op, name ? " " : "",
				name ? name : "");
	return 0;
}

int cmd_user(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0], *name = argc > 1 ? argv[1] : NULL;
	ddtc *c;
	int ret;

	if ((ret = check_args(cm, g, op, argc)) != 0)
		return ret;
	if (!strcmp(op, "passwd") && !name)
		name = g->user;		/* one's own */
	if (name && !cmd_name_valid(name, DDT_MAX_USER))
		return cmd_usage_error(cm, "user '%s': use 1 to %d letters, "
				       "digits, '-', '_' or '.'", name,
				       DDT_MAX_USER);
	if ((ret = cmd_login(g, 0, &c)) != 0)
		return ret;
	ret = run(c, g, op, name);
	ddtc_close(c);
	return ret;
}

/* ---- ddt token ---- */

static int token_print(void *arg, const ddtc_token *t)
{
	char made[64], until[64];

	if (++*(size_t *)arg == 1)
		printf("%-16s  %-16s  %-20s  %-19s  %s\n", "ID", "USER",
		       "LABEL", "CREATED", "EXPIRES");
	human_fmt_date(t->created, made);
	if (t->expires)
		human_fmt_date(t->expires, until);
	else
		snprintf(until, sizeof(until), "never");
	printf("%-16s  %-16s  %-20s  %-19s  %s\n", t->id, t->user,
	       t->label[0] ? t->label : "-", made, until);
	return 0;
}

static int token_create(ddtc *c, const gopts *g)
{
	char token[DDTC_TOKEN_LEN + 1], id[17], until[64];
	int64_t expires = 0;
	int rc;

	if ((g->given & OP_RETAIN) && g->retain != DDT_RETAIN_NEVER)
		expires = now_ns() + g->retain * 1000000000LL;
	rc = ddtc_token_create(c, g->name, expires, token, id);
	if (rc < 0)
		return out_fail(rc, "token create");
	if (expires)
		human_fmt_date(expires, until);
	else
		snprintf(until, sizeof(until), "never");
	printf("token:   %s\n", token);
	printf("id:      %s\n", id);
	printf("user:    %s\n", g->user);
	printf("expires: %s\n", until);
	fprintf(stderr, "ddt: the token is shown this once: keep it as the "
		"user's password (DDT_PASSWORD, --password-file)\n");
	explicit_bzero(token, sizeof(token));
	return 0;
}

int cmd_token(const cmd *cm, const gopts *g, int argc, char **argv)
{
	const char *op = argv[0];
	size_t n = 0;
	ddtc *c;
	int ret = 0, rc = 0;

	if (strcmp(op, "create") && strcmp(op, "list") && strcmp(op, "rm"))
		return cmd_usage_error(cm, "token: create, list or rm, not "
				       "'%s'", op);
	if ((!strcmp(op, "rm")) != (argc == 2))
		return cmd_usage_error(cm, "token %s: %s", op, argc == 2 ?
				       "takes no ID" : "give the token's ID");
	if (strcmp(op, "create") && (g->given & (OP_NAME | OP_RETAIN)))
		return cmd_usage_error(cm, "token %s: --name and --retain go "
				       "with token create", op);
	if ((ret = cmd_login(g, 0, &c)) != 0)
		return ret;
	if (!strcmp(op, "create")) {
		ret = token_create(c, g);
	} else if (!strcmp(op, "list")) {
		rc = ddtc_token_list(c, token_print, &n);
		if (rc == 0 && n == 0)
			printf("no tokens\n");
	} else if ((rc = ddtc_token_delete(c, argv[1])) == 0) {
		printf("revoked token %s\n", argv[1]);
	}
	if (rc < 0)
		ret = out_fail(rc, "token %s", op);
	ddtc_close(c);
	return ret;
}
