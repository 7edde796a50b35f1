#!/bin/bash
# store-fullfs.sh - a store on a real, small filesystem (a size-limited
# tmpfs) fills up: the write is refused with one clear line before the disk
# is full, the store still opens and restores what it held, and once the
# filesystem grows the same write goes through. Needs root for mount.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

prog=${DDTSTORE_BIN:-$top_builddir/ddtstore}
[ -x "$prog" ] || tap_bail "no ddtstore at $prog (build it first)"
unset DDTSTORE

dir=$(tap_tmpdir fullfs) || tap_bail "mktemp -d failed"
mnt=$dir/mnt
cleanup() {
	mountpoint -q "$mnt" && umount "$mnt"
	tap_rmtree "$dir"
}
trap cleanup EXIT
mkdir -p "$mnt"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=96m tmpfs "$mnt" 2>/dev/null; then
	echo "1..0 # SKIP needs root to mount a size-limited tmpfs"
	exit 0
fi
st=$mnt/store
head -c $((4 * 1024 * 1024)) /dev/urandom >"$dir/small" &&
head -c $((64 * 1024 * 1024)) /dev/urandom >"$dir/big" || tap_bail "no test data"

"$prog" -s "$st" ingest "$dir/small" >"$dir/ingest1.out" 2>"$dir/ingest1.err"
tap_is $? 0 "a 4 MiB file goes into a store on a 96 MiB filesystem"

"$prog" -s "$st" ingest "$dir/big" >"$dir/ingest2.out" 2>"$dir/ingest2.err"
rc=$?
tap_diag "$(cat "$dir/ingest2.err")"
tap_is $rc 1 "a 64 MiB file does not fit and the ingest fails (exit 1)"
tap_ok "the error says the store is full" grep -q "store full" "$dir/ingest2.err"
tap_is "$(wc -l <"$dir/ingest2.err")" 1 "in one line"
avail=$(df -P -k "$mnt" | awk 'NR == 2 { print $4 }')
tap_ok "it was refused before the disk filled (${avail} KiB still free)" \
	test "$avail" -gt 8192

"$prog" -s "$st" check "$dir/small" >"$dir/check1.out" 2>"$dir/check1.err"
tap_is $? 0 "the store reopens and the earlier file checks byte for byte"
"$prog" -s "$st" cat "$dir/small" | cmp -s - "$dir/small"
tap_is $? 0 "and restores identical"

mount -o remount,size=300m "$mnt" || tap_bail "remount failed"
"$prog" -s "$st" ingest "$dir/big" >"$dir/ingest3.out" 2>"$dir/ingest3.err"
tap_is $? 0 "after the filesystem grows the big file goes in"
"$prog" -s "$st" check "$dir/small" "$dir/big" >"$dir/check2.out" 2>"$dir/check2.err"
tap_is $? 0 "and both files check byte for byte"
tap_done
