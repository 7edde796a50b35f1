#!/bin/bash
# space.sh - end to end: the space figures of STATUS and `ddt status` are
# df's, on a real file system with blocks reserved for root (a loop-mounted
# ext4 made with mkfs.ext4 -m 5), where used + available < size and the
# figures a careless sum gives differ from df's: the totals, each data
# directory's row and the use in percent equal `df -B1` of the mount, and
# the store's own footprint (index, journals, checkpoints) equals what du
# counts. Needs root for mount.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=space
. "$top_srcdir/tests/e2e.sh"

mnt=$dir/mnt
store=$mnt/store
mkdir -p "$mnt"
if [ "$(id -u)" -ne 0 ] || ! truncate -s 192M "$dir/fs.img" ||
   ! mkfs.ext4 -q -F -m 5 "$dir/fs.img" >/dev/null 2>&1 ||
   ! mount -o loop "$dir/fs.img" "$mnt" 2>/dev/null; then
	echo "1..0 # SKIP needs root, mkfs.ext4 and a loop device to mount an ext4"
	exit 0
fi

# fmt BYTES: as ddt prints a size (proto/base/fmt.c)
fmt() {
	python3 -c '
import sys
v, u = float(sys.argv[1]), 0
units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
while v >= 1024 and u < 6:
    v /= 1024; u += 1
print(sys.argv[1] + " B" if u == 0 else "%.1f %s" % (v, units[u]))' "$1"
}
# df_now: size used avail use% of the mount, in bytes
df_now() { df -B1 --output=size,used,avail,pcent "$mnt" | awk 'NR == 2 { sub("%", "", $4); print $1, $2, $3, $4 }'; }
# du_now: index journals checkpoints total, as du counts them together
# (the journals: both copies, under the root and in the data directories)
du_now() {
	(cd "$store" && du -scB1 index journal data/dir*/journal checkpoints |
		awk '{ v[NR] = $1 } END { j = 0; for (i = 2; i < NR - 1; i++) j += v[i]; print v[1], j, v[NR - 1], v[NR] }')
}
# bytes NAME LABEL: the exact byte count of a "LABEL: X (N bytes)..." line
bytes() { sed -n "s/^$2: .*(\([0-9]*\) bytes).*/\1/p" "$dir/$1.out"; }

daemon_start
mkdir -p "$dir/data" && head -c $((12 * 1024 * 1024)) /dev/urandom >"$dir/data/a" &&
	seq 1 300000 >"$dir/data/b" || tap_bail "no test data"
run su su create s
run b backup "$dir/data" --su s -q
tap_is "$rc" 0 "a backup onto the ext4"
run ck checkpoint create
tap_is "$rc" 0 "and a checkpoint"

# Figures read while nothing writes: df, status and du agree exactly. A
# reading that raced a write (RocksDB's own log, say) is taken again.
for _ in $(seq 20); do
	df1=$(df_now) du1=$(du_now)
	run st status
	df2=$(df_now) du2=$(du_now)
	[ "$df1" = "$df2" ] && [ "$du1" = "$du2" ] && break
	sleep 0.5
done
tap_is "$df1" "$df2" "df read the same before and after ddt status (idle)"
read -r size used avail pct <<<"$df1"
tap_diag "df -B1: size $size, used $used, available $avail, $pct%"
sed 's/^/# /' "$dir/st.out"
tap_ok "the file system reserves blocks (used + available < size)" \
	test $((used + avail)) -lt "$size"
tap_is "$(bytes st capacity)" "$size" "capacity is df's size"
tap_is "$(bytes st used)" "$used" "used is df's used (f_blocks - f_bfree), not size - available"
tap_is "$(bytes st free)" "$avail" "free is df's available"
tap_ok "the use is df's, $pct%, on one file system" \
	grep -q "^capacity: .* on 1 file system, $pct% used$" "$dir/st.out"
row="$(fmt "$size") *$(fmt "$used") *$(fmt "$avail") *$pct%  ok$"
for d in root $(ls "$store/data" | grep '^dir[0-9]*$' | sort -V); do
	tap_ok "the table's $d row is df's ($(fmt "$used") used of $(fmt "$size"), $pct%)" \
		grep -q "^$d  .* $row" "$dir/st.out"
done

read -r di dj dc dt <<<"$du1"
tap_diag "du -scB1: index $di, journal $dj, checkpoints $dc, total $dt"
tap_is "$(bytes st footprint)" "$dt" "the footprint is du's total of index, journal and checkpoints"
tap_ok "and its parts are du's" grep -q "^footprint: .*: index $(fmt "$di"), journals $(fmt "$dj"), checkpoints $(fmt "$dc")$" "$dir/st.out"
alone=$(du -sB1 "$store/checkpoints" | cut -f1)
tap_ok "files a checkpoint shares with the index count once ($dc of its $alone bytes are its own)" \
	test "$dc" -lt "$alone"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
