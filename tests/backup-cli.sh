#!/bin/bash
# backup-cli.sh - ddt backup end to end, on what a user sees: directory
# times restore exactly although the target moves a directory's time with
# every entry made in it; SIGINT or SIGTERM stops a backup with one line,
# removes the incomplete backup and ends ddt by the signal (a second
# signal stops at once and leaves it); exit status 3 for a backup that
# completed without some unreadable entries, 1 for one that failed.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=backupcli
. "$top_srcdir/tests/e2e.sh"

daemon_start
run su su create s
tap_is "$rc" 0 "a storage unit"

# ---- directory times ----
# Each directory gets its own old time (nanoseconds) after its contents
# exist, deepest first: touching a directory leaves its parent alone.
t=$dir/times
mkdir -p "$t/a/b/c" "$t/a/empty" "$t/x/y" || tap_bail mkdir
echo 1 >"$t/a/b/c/f"; echo 2 >"$t/a/file"; ln -s file "$t/a/link"
ln "$t/a/file" "$t/x/y/hardlink"
i=0
for d in a/b/c a/b a/empty a x/y x; do
	i=$((i + 1))
	touch -d "200$i-0$i-1$i 1$i:2$i:3$i.12345678$i" "$t/$d"
done
dirtimes() { (cd "$1" && find . -mindepth 1 -type d -printf '%P %T@\n' | sort); }
run bt backup "$t" --su s --name times -q
tap_is "$rc" 0 "a tree of directories with old times is backed up"
run rt restore "$(field bt backup)" "$dir/times-r" --su s -q
tap_is "$rc" 0 "and restored"
dirtimes "$t" >"$dir/times.orig"; dirtimes "$dir/times-r" >"$dir/times.rest"
tap_ok "every directory's mtime comes back to the nanosecond" \
	cmp -s "$dir/times.orig" "$dir/times.rest"
diff "$dir/times.orig" "$dir/times.rest" | head -5 | sed 's/^/# /'
tap_is "$(sort -u -k2 "$dir/times.orig" | wc -l)" 6 "(six distinct times)"

# ---- interrupted by a signal ----
# Enough to take seconds: 48 MiB in 3 files, and 2000 small ones.
big=$dir/big
mkdir -p "$big" || tap_bail mkdir
for i in 1 2 3; do head -c $((16 * 1024 * 1024)) /dev/urandom >"$big/f$i"; done
python3 -c '
import os, sys
for d in range(20):
    os.mkdir(f"{sys.argv[1]}/d{d}")
    for f in range(100):
        open(f"{sys.argv[1]}/d{d}/f{f}", "w").write(f"{d} {f}\n" * (f + 1))
' "$big" || tap_bail "no test data"

# started NAME: start `ddt backup` of $big as NAME in the background (pid
# in $bpid) and return once the target lists it as begun and incomplete.
# The binary itself, with job control on: a script's background job
# otherwise starts with SIGINT ignored, and ddt leaves it so.
started() {
	set -m
	"$ddt_bin" -p "$port" backup "$big" --su s --name "$1" -q \
		>"$dir/$1.out" 2>"$dir/$1.err" &
	bpid=$!
	set +m
	for _ in $(seq 400); do
		ddt list --su s 2>/dev/null | grep -q "^$1@.*incomplete" && return 0
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.02
	done
	tap_diag "backup $1 was never seen running: $(cat "$dir/$1.err")"
	return 1
}

# interrupt SIG NAME STATUS: the backup gets SIG while the target is held
# still (SIGSTOP), so requests are in flight and none can finish first.
interrupt() {
	local sig=$1 name=$2 want=$3
	started "$name" || { tap_check 1 "SIG$sig: the backup began"; return; }
	kill -STOP "$dpid"
	alive=0; kill -0 "$bpid" 2>/dev/null && alive=1
	kill -"$sig" "$bpid"
	kill -CONT "$dpid"
	wait "$bpid"
	rc=$?
	tap_ok "SIG$sig reached a running backup" test "$alive" = 1
	tap_is "$rc" "$want" "SIG$sig: ddt ends by the signal (status $want)"
	tap_ok "with one line saying so" sh -c "test \$(wc -l <'$dir/$name.err') -eq 1 &&
		grep -q '^ddt: backup $name@[0-9TZ]* interrupted by SIG$sig; the incomplete backup was removed$' '$dir/$name.err'"
	tap_diag "$(cat "$dir/$name.err")"
	run "l$name" list --su s
	tap_ok "and the backup is gone from the list" \
		sh -c "! grep -q '^$name@' '$dir/l$name.out'"
}
interrupt INT int 130
interrupt TERM term 143

# A second signal: at once, and what is left behind is named.
if started twice; then
	kill -STOP "$dpid"
	kill -INT "$bpid"
	# Two pending SIGINTs are one: wait until the first is taken.
	for _ in $(seq 500); do
		pnd=$(awk '$1 == "ShdPnd:" { print $2 }' "/proc/$bpid/status" 2>/dev/null)
		[ -n "$pnd" ] && [ $((0x$pnd & 2)) = 0 ] && break
		sleep 0.01
	done
	kill -INT "$bpid"
	kill -CONT "$dpid"
	wait "$bpid"
	rc=$?
	tap_is "$rc" 130 "a second SIGINT ends ddt at once (status 130)"
	tap_ok "saying the backup may be left, and how to remove it" \
		grep -q "interrupted again: stopped at once; backup twice@[0-9TZ]* may be left incomplete (if 'ddt list --su s' shows it, remove it with 'ddt rm twice@" "$dir/twice.err"
	# The first signal's removal may have reached the target before the
	# second stopped ddt: then the backup is gone; else it is listed
	# incomplete and removed as the line says.
	run ltw list --su s
	id=$(awk '$1 ~ /^twice@/ { print $1 }' "$dir/ltw.out")
	if [ -n "$id" ]; then
		tap_ok "it is listed incomplete" grep -q "^twice@.*incomplete" "$dir/ltw.out"
		run rmtw rm "$id" --su s
		tap_is "$rc" 0 "and removed as the line says"
	else
		tap_check 0 "it is gone already (the first signal's removal reached the target)"
		tap_check 0 "so there is nothing to remove"
	fi
else
	tap_check 1 "the backup twice began"
fi

# ---- exit status 3: complete, but some entries unreadable ----
# As root nothing is unreadable, so ddt then runs as nobody (setpriv).
u=$dir/unread
mkdir -p "$u/ok/deeper" "$u/closed" || tap_bail mkdir
echo fine >"$u/ok/a"; echo deeper >"$u/ok/deeper/b"; echo secret >"$u/secret"
echo inside >"$u/closed/c"
chmod 000 "$u/secret" "$u/closed"
as=()
if [ "$(id -u)" = 0 ]; then
	chmod 755 "$dir" "$u" "$u/ok" "$u/ok/deeper"
	chmod 644 "$u/ok/a" "$u/ok/deeper/b"
	cp "$ddt_bin" "$dir/ddt-nobody" && chmod 755 "$dir/ddt-nobody"
	mkdir -p "$dir/nobody" && chown 65534:65534 "$dir/nobody"
	as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	bin=$dir/ddt-nobody
else
	mkdir -p "$dir/nobody"
	bin=$ddt_bin
fi
HOME=$dir/nobody DDT_CACHE_DIR=$dir/nobody DDT_KNOWN_HOSTS=$dir/nobody/known_hosts \
	"${as[@]}" "$bin" -p "$port" backup "$u" --su s \
	--name unread --no-cache -q >"$dir/u.out" 2>"$dir/u.err"
rc=$?
chmod 700 "$u/secret" "$u/closed"
tap_is "$rc" 3 "a backup with an unreadable file and directory exits 3"
tap_ok "naming each in a warning" sh -c "grep -q 'secret' '$dir/u.err' && grep -q 'closed' '$dir/u.err'"
tap_diag "$(cat "$dir/u.err")"
id=$(field u backup)
run lu list --su s
line=$(awk -v id="$id" '$1 == id' "$dir/lu.out")
tap_ok "the backup is complete ($line)" sh -c "case '$line' in *incomplete*) exit 1;; *complete) exit 0;; esac; exit 1"
run ru restore "$id" "$dir/unread-r" --su s -q
tap_ok "and the readable files restore" sh -c "diff -r '$u/ok' '$dir/unread-r/ok' &&
	test ! -e '$dir/unread-r/secret'"

# ---- exit status 1: failed ----
run nosu backup "$u/ok" --su no-such-unit -q
tap_is "$rc" 1 "a backup into a unit that does not exist fails (exit 1)"
run q su create q
run qs su set q --quota 1M
run bq backup "$big" --su q --name over -q
tap_is "$rc" 1 "a backup the quota stops fails (exit 1)"
run lq list --su q
tap_ok "and is removed" sh -c "! grep -q '^over@' '$dir/lq.out'"

tap_done
