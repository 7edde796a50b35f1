/* test_schedule.c - maintenance schedules: what parses and what is refused,
 * when each form is next due (in local time, on the right weekdays), and
 * the runner calling a task on time and stopping cleanly. */
#include "schedule.h"
#include "ddterr.h"
#include "tap.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL

static void test_parse(void)
{
	static const char *const good[] = {
		"never", "every 30s", "every 5m", "every 6h", "every 1d",
		"06:00", "daily 23:59", "tue 06:00", "mon,wed,fri 00:00",
		"SUN 12:30",
	};
	static const char *const badv[] = {
		"", "sometimes", "every", "every 0h", "every 5", "every 5x",
		"every -1m", "24:00", "12:60", "daily", "tue", "tue,foo 06:00",
		"tue 6", "every 3h and more", "mon, 06:00",
	};
	schedule_spec sp;
	int nbad = 0, ngood = 0;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (schedule_parse(good[i], &sp) == 0)
			ngood++;
		else
			diag("refused '%s': %s", good[i], ddterr_last(-EINVAL));
	}
	ok(ngood == (int)(sizeof(good) / sizeof(good[0])),
	   "every documented form parses");
	for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
		if (schedule_parse(badv[i], &sp) == -EINVAL)
			nbad++;
		else
			diag("accepted '%s'", badv[i]);
	}
	ok(nbad == (int)(sizeof(badv) / sizeof(badv[0])),
	   "malformed schedules are refused");
	ok(schedule_parse("bogus", &sp) == -EINVAL &&
	   strstr(ddterr_last(-EINVAL), "HH:MM") != NULL,
	   "with a message showing the forms");
}

static void test_next(void)
{
	int64_t now = (int64_t)time(NULL) * NS, next;
	schedule_spec sp;
	struct tm tm;
	time_t t;
	int good = 1;

	schedule_parse("never", &sp);
	ok(schedule_next(&sp, now, now) == INT64_MAX, "never is never due");
	schedule_parse("every 2h", &sp);
	ok(schedule_next(&sp, now, now) == now + 2 * 3600 * NS &&
	   schedule_next(&sp, now, now + 3 * 3600 * NS) == now + 4 * 3600 * NS,
	   "every 2h counts from the start, in steps");
	schedule_parse("daily 06:30", &sp);
	next = schedule_next(&sp, now, now);
	t = (time_t)(next / NS);
	localtime_r(&t, &tm);
	ok(next > now && next <= now + 86400 * NS && tm.tm_hour == 6 &&
	   tm.tm_min == 30 && tm.tm_sec == 0,
	   "daily 06:30 is the next 06:30, local time");
	ok(schedule_next(&sp, now, next) > next,
	   "and the one after comes later");
	schedule_parse("mon,thu 22:15", &sp);
	next = now;
	for (int i = 0; i < 10 && good; i++) {
		int64_t n = schedule_next(&sp, now, next);

		t = (time_t)(n / NS);
		localtime_r(&t, &tm);
		good = n > next && n - next <= 7 * 86400 * NS &&
		       (tm.tm_wday == 1 || tm.tm_wday == 4) &&
		       tm.tm_hour == 22 && tm.tm_min == 15;
		next = n;
	}
	ok(good, "mon,thu 22:15 falls on Mondays and Thursdays only");
}

static int calls;

static void tick(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
}

typedef struct tasks_seen {
	char name[4][32];
	int64_t next[4];
	int n;
} tasks_seen;

static void note_task(void *arg, const char *name, int64_t next)
{
	tasks_seen *t = arg;

	if (t->n < 4) {
		snprintf(t->name[t->n], sizeof(t->name[0]), "%s", name);
		t->next[t->n++] = next;
	}
}

static void test_runner(void)
{
	schedule_spec every, never;
	tasks_seen seen = { 0 };
	schedule *s;

	schedule_parse("every 1s", &every);
	schedule_parse("never", &never);
	ok(schedule_new(&s) == 0 &&
	   schedule_add(s, "tick", &every, tick, NULL) == 0 &&
	   schedule_add(s, "idle", &never, tick, NULL) == 0, "two tasks");
	schedule_foreach(s, note_task, &seen);
	ok(seen.n == 2 && strcmp(seen.name[1], "idle") == 0 &&
	   seen.next[1] == INT64_MAX, "the never task is never due");
	ok(strcmp(seen.name[0], "tick") == 0 && seen.next[0] < INT64_MAX &&
	   seen.next[0] > 0, "the other has a time, and no other task is "
	   "listed");
	ok(schedule_start(s) == 0, "the runner starts");
	usleep(3500 * 1000);
	schedule_free(s);
	ok(calls >= 2 && calls <= 4, "an every-1s task ran %d times in 3.5 s",
	   calls);
}

int main(void)
{
	test_parse();
	test_next();
	test_runner();
	return tap_done();
}
