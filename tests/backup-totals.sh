#!/bin/bash
# backup-totals.sh - the totals `ddt backup` gives BACKUP_END are what the
# target holds (PROTOCOL.md, BACKUP_END: every name of a regular file, and
# its size each time), so the target's check passes: with hard links,
# empty files, symlinks, fifos and sockets (skipped), and files and a
# directory it cannot read; on a first backup and on one from its caches.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=totals
. "$top_srcdir/tests/e2e.sh"

daemon_start

t=$dir/tree
mkdir -p "$t/sub" "$t/closed" || tap_bail mkdir
head -c 300000 /dev/urandom >"$t/big" || tap_bail "write big"
printf 'abc' >"$t/sub/small"
: >"$t/empty"
ln "$t/big" "$t/sub/big-again"			# two more names of big
ln "$t/big" "$t/big-third"
ln -s big "$t/symlink"
mkfifo "$t/fifo"
python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" \
	"$t/socket" || tap_bail "make a socket"
printf 'secret' >"$t/unreadable"
printf 'hidden' >"$t/closed/inside"
chmod 0000 "$t/unreadable" "$t/closed"
# Regular names ddt can store: big (3 names), sub/small, empty.
want_files=5

# root reads everything: run ddt as nobody, for whom the two are closed.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	chmod 0755 "$dir" && mkdir -p "$dir/nobody" &&
		chown 65534:65534 "$dir/nobody" || tap_bail "set up nobody"
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups
		 env HOME="$dir/nobody" DDT_CACHE_DIR="$dir/nobody/cache"
		 DDT_KNOWN_HOSTS="$dir/nobody/known_hosts")
	# The build tree may sit where nobody cannot reach (a 0700 clone).
	cp "$ddt_bin" "$dir/ddt" && chmod 0755 "$dir/ddt" ||
		tap_bail "copy ddt for nobody"
	ddt_bin=$dir/ddt
fi
backup() {
	"${as_user[@]}" "$ddt_bin" -p "$port" backup "$t" --su u --name n \
		>"$dir/$1.out" 2>"$dir/$1.err"
	rc=$?
	tap_diag "$1 (exit $rc): $(head -c 2000 "$dir/$1.err")"
}

run su su create u
tap_is "$rc" 0 "a storage unit"

for pass in first second; do
	backup "$pass"
	# It completes with warnings: exit 1 or 3 (issue 11's new status).
	tap_ok "$pass backup: it ends with warnings (exit $rc)" \
		test "$rc" -eq 1 -o "$rc" -eq 3
	tap_ok "$pass backup: it names the file and directory it cannot read" \
		test "$(grep -c -e '/unreadable: Permission denied' \
			-e '/closed: Permission denied' "$dir/$pass.err")" -eq 2
	tap_ok "$pass backup: BACKUP_END took its totals" \
		test "$(grep -c 'end backup' "$dir/$pass.err")" -eq 0
	id=$(field "$pass" backup)
	run list list --su u
	line=$(grep "^$id " "$dir/list.out")
	tap_diag "$line"
	tap_ok "$pass backup: it is complete" test "${line##* }" = complete
	tap_is "$(echo "$line" | awk '{print $4}')" "$want_files" \
		"$pass backup: $want_files files, each name counted"
	sleep 1		# one backup of a name per second
done

chmod 0755 "$t/closed"
daemon_stop
tap_is "$?" 0 "the daemon stops cleanly"
tap_done
