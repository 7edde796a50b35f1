#!/bin/bash
# fullfs-daemon.sh - end to end on a real, small filesystem: ddtargetd's
# store on a 192 MiB tmpfs. A backup that does not fit is refused with one
# "store full" line while the daemon keeps serving; the earlier backup
# restores byte for byte, also after a SIGKILL and restart; removing the
# failed backup and cleaning gives the space back, and the next backup
# fits. Needs root for mount.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=fullfsd
. "$top_srcdir/tests/e2e.sh"

mnt=$dir/mnt
store=$mnt/store
mkdir -p "$mnt"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=192m tmpfs "$mnt" 2>/dev/null; then
	echo "1..0 # SKIP needs root to mount a size-limited tmpfs"
	exit 0
fi
mkdir -p "$dir/small" "$dir/big" "$dir/after"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$dir/small/a" &&
head -c $((176 * 1024 * 1024)) /dev/urandom >"$dir/big/b" &&
head -c $((24 * 1024 * 1024)) /dev/urandom >"$dir/after/c" || tap_bail "no test data"

daemon_start --set clean_schedule=never --set checkpoint_schedule=never
run su su create f
run s backup "$dir/small" --su f --name small -q
tap_is "$rc" 0 "an 8 MiB backup fits"
small_id=$(field s backup)

run b backup "$dir/big" --su f --name big -q
tap_is "$rc" 1 "a 176 MiB backup does not fit (exit 1)"
tap_ok "the error says the store is full" sh -c "head -n 1 '$dir/b.err' | grep -q 'store full'"
tap_ok "in one line, and one on the backup left incomplete" \
	test "$(wc -l <"$dir/b.err")" -le 2
avail=$(df -P -k "$mnt" | awk 'NR == 2 { print $4 }')
tap_ok "refused before the disk filled (${avail} KiB free)" test "$avail" -gt 8192
run st status
tap_is "$rc" 0 "the daemon still serves"
run r1 restore "$small_id" "$dir/r1" --su f -q
tap_ok "the earlier backup restores byte for byte" diff -r "$dir/small" "$dir/r1"

daemon_kill
daemon_start --set clean_schedule=never --set checkpoint_schedule=never
run r2 restore "$small_id" "$dir/r2" --su f -q
tap_ok "after SIGKILL and a restart it still does" diff -r "$dir/small" "$dir/r2"

run l list --su f
big_id=$(awk '$1 ~ /^big@/ { print $1 }' "$dir/l.out" | head -n 1)
tap_ok "the failed backup is listed (incomplete)" test -n "$big_id"
run rm rm "$big_id" --su f
tap_is "$rc" 0 "and removed"
for pass in 1 2; do
	run cs clean start
	run cw clean watch -q
done
tap_is "$rc" 0 "cleaning runs on the full disk"
tap_diag "$(cat "$dir/cw.out")"
tap_diag "after cleaning: $(df -P -k "$mnt" | awk 'NR == 2 { print $4 }') KiB free"
run a backup "$dir/after" --su f --name after -q
tap_is "$rc" 0 "a 24 MiB backup fits again after cleaning"
run r3 restore "$(field a backup)" "$dir/r3" --su f -q
tap_ok "and restores" diff -r "$dir/after" "$dir/r3"
run r4 restore "$small_id" "$dir/r4" --su f -q
tap_ok "the first backup restores too" diff -r "$dir/small" "$dir/r4"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
