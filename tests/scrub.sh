#!/bin/bash
# scrub.sh - end to end: scrub, repair and alerts through a real ddtargetd
# (4+2 over six data directories) and the ddt client, with real faults.
# Two of the six directories removed: both backups still restore byte for
# byte, a critical alert names each, a scrub rebuilds them and the alerts
# clear; two other directories removed then: both backups still restore,
# so the rebuild was real. A disk replaced (an empty directory in its
# place): a scrub fills it, writes its identity marker and clears its
# alert before it reports done; both backups then restore with two other
# directories removed. Bytes flipped in a fragment: restores stay
# right, a scrub finds and repairs one damaged fragment, the next finds
# nothing. Three fragments of one container destroyed: the scrub calls it
# unrecoverable, names the backups holding it (and not a backup of other
# data), raises a critical alert, and `ddt scrub watch` exits 1. A space
# threshold below the disk's use raises a warning.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=scrub
. "$top_srcdir/tests/e2e.sh"
E2E_EC=4+2	# it loses two data directories at a time
data=$store/data
conf=$dir/ddtargetd.conf
# Check the directories every second, so an alert comes and goes quickly.
printf 'health_interval = 1\n' >"$conf"

start_daemon() { daemon_start -c "$conf"; }
# A fresh daemon has no decoded container cached: its reads go to disk.
restart_daemon() {
	daemon_stop
	start_daemon
}
show() { sed 's/^/# /' "$dir/$1.out"; }
# eventually DESC CMD...: one outcome, ok once CMD succeeds (within 20 s)
eventually() {
	local desc=$1
	shift
	for _ in $(seq 200); do
		if "$@"; then
			tap_check 0 "$desc"
			return
		fi
		sleep 0.1
	done
	tap_check 1 "$desc"
}
# restores NAME ID SU TREE [EXCLUDE]: ID restores byte for byte (two outcomes)
restores() {
	local name=$1 id=$2 su=$3 tree=$4 ex=${5:-/}
	rm -rf "$dir/$name"
	run "$name" restore "$id" "$dir/$name" --su "$su" -q
	tap_is "$rc" 0 "$name: $id restores"
	tap_ok "$name: byte for byte (diff -r)" diff -r --no-dereference --exclude="$ex" "$tree" "$dir/$name"
}
# scrub NAME [ARGS]: start a scrub and watch it; output in NAME.out
scrub() {
	local name=$1
	shift
	run "$name-start" scrub start -q "$@"
	[ "$rc" -eq 0 ] || tap_diag "$name: scrub start exited $rc"
	run "$name" scrub watch -q
}
# The figures of a scrub's fragments line: checked missing damaged rebuilt
frags() { sed -n 's/^fragments: *\([0-9]*\) checked, \([0-9]*\) missing, \([0-9]*\) damaged, \([0-9]*\) rebuilt$/\1 \2 \3 \4/p' "$dir/$1.out"; }

start_daemon
[ "$(ls -d "$data"/dir* | wc -l)" -eq 6 ] || tap_bail "expected six data directories under $data"

# ---- a varied tree, backed up twice ----
t=$dir/tree
mkdir -p "$t/sub/deeper" "$t/many" || tap_bail mkdir
head -c $((6 * 1024 * 1024)) /dev/urandom >"$t/big.bin"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$t/sub/mid.bin"
cp "$t/big.bin" "$t/sub/deeper/copy.bin"
seq 1 200000 >"$t/sub/numbers.txt"
for i in $(seq 40); do head -c $((i * 997)) /dev/urandom >"$t/many/f$i"; done
: >"$t/empty"
ln -s sub/numbers.txt "$t/link"
ln "$t/many/f7" "$t/hard"

run su1 su create s1
run b1 backup "$t" --su s1 --name t -q
tap_is "$rc" 0 "a first backup"
id1=$(field b1 backup)
head -c $((1024 * 1024)) /dev/urandom >"$t/added.bin"
sleep 1.1	# backup ids have a resolution of one second
run b2 backup "$t" --su s1 --name t -q
tap_is "$rc" 0 "a second backup, of the tree with one file more"
id2=$(field b2 backup)
run al0 alerts
tap_is "$rc" 0 "ddt alerts works"
tap_ok "and says there are none" grep -qx 'no alerts' "$dir/al0.out"

# ---- two directories removed ----
# Nothing has read these backups yet, so the restores decode from disk.
# (No restart here: opening the store would make the directories again.)
rm -rf "$data/dir1" "$data/dir4"
restores r1 "$id1" s1 "$t" added.bin
restores r2 "$id2" s1 "$t"
eventually "a critical alert for data directory 1" alert critical dir:dir1
eventually "and one for data directory 4" alert critical dir:dir4
run st1 status
tap_is "$rc" 0 "ddt status works"
tap_ok "critical alerts come first" sh -c "head -n 1 '$dir/st1.out' | grep -q '^alerts: *2 critical'"
tap_ok "the directory table shows dir1 missing" grep -q "^dir1  *$data/dir1 .* missing$" "$dir/st1.out"
tap_ok "and dir0 present" grep -q "^dir0  *$data/dir0 .*%  ok$" "$dir/st1.out"
show st1
scrub s1
tap_is "$rc" 0 "a scrub rebuilds them (watch exits 0)"
read -r _ miss dmg rebuilt < <(frags s1)
tap_ok "it found fragments missing ($miss)" test "${miss:-0}" -gt 0
tap_is "${rebuilt:-}" "$miss" "and rebuilt every one of them"
tap_ok "nothing is left to repair" grep -q '^result: *nothing left to repair' "$dir/s1.out"
show s1
dirs_clear() { no_alert dir:dir1 && no_alert dir:dir4; }
eventually "the alerts clear at the next check" dirs_clear
eventually "a warning says what the scrub repaired" alert warning scrub-repaired
rm -rf "$data/dir0" "$data/dir2"
restart_daemon
restores r3 "$id1" s1 "$t" added.bin
restores r4 "$id2" s1 "$t"
scrub s1b
tap_is "$rc" 0 "a scrub rebuilds those two as well"

# ---- a disk replaced as the alert says ----
# An empty directory where dir3 was. The daemon checks its directories
# hourly here, so only the end of a scrub can raise or clear an alert: a
# report-only scrub raises it, an ordinary one rebuilds the directory,
# marks it as the store's and clears the alert before it says it is done.
printf 'health_interval = 3600\n' >"$dir/hourly.conf"
daemon_stop
daemon_start -c "$dir/hourly.conf"
rm -rf "$data/dir3" && mkdir "$data/dir3" || tap_bail "replace dir3"
scrub s5 --no-repair
run al6 alerts
tap_ok "a report-only scrub ends with a critical alert for the empty directory" \
	grep -q "^critical .*  dir:dir3  .*(no identity marker)" "$dir/al6.out"
show al6
tap_ok "and leaves it empty" test -z "$(ls -A "$data/dir3")"
scrub s6
tap_is "$rc" 0 "a scrub rebuilds the replaced disk (watch exits 0)"
read -r _ miss dmg rebuilt < <(frags s6)
tap_ok "every fragment it lacked ($miss) is rebuilt" \
	test "${miss:-0}" -gt 0 -a "${rebuilt:-}" = "$miss"
tap_ok "its identity marker is written, naming place 3" \
	grep -qx "directory 3" "$data/dir3/.ddtarget"
run al7 alerts
tap_ok "the alert is gone as soon as the scrub is done" \
	sh -c "! grep -q '  dir:dir3  ' '$dir/al7.out'"
show al7
run st7 status
tap_ok "the directory table shows dir3 ok" grep -q "^dir3  *$data/dir3 .*%  ok$" "$dir/st7.out"
# Two other disks gone: the rebuilt directory's fragments are needed.
rm -rf "$data/dir0" "$data/dir5"
restart_daemon
restores r10 "$id1" s1 "$t" added.bin
restores r11 "$id2" s1 "$t"
scrub s7
tap_is "$rc" 0 "and a scrub brings back the two removed after it"

# ---- bytes flipped in a fragment ----
# Fragment 0 of the first container: data (not parity), which reads need.
first=$(ls "$data/dir0"/*/ | sort | head -n 1)
cid=$((16#${first%.frag}))
frag=$(ls "$data/dir$((cid % 6))"/*/"$first")
tap_diag "damaging $frag"
python3 - "$frag" <<'EOF' || tap_bail "cannot damage $frag"
import os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(os.path.getsize(p) // 2)
    b = f.read(64)
    f.seek(os.path.getsize(p) // 2)
    f.write(bytes(x ^ 0x5a for x in b))
EOF
restart_daemon
restores r5 "$id1" s1 "$t" added.bin
restores r6 "$id2" s1 "$t"
scrub s2
tap_is "$rc" 0 "a scrub after the damage exits 0"
tap_is "$(frags s2 | cut -d' ' -f2-)" "0 1 1" "it found one damaged fragment and rebuilt it"
show s2
scrub s3
tap_is "$(frags s3 | cut -d' ' -f2-)" "0 0 0" "a second scrub finds nothing"
tap_is "$rc" 0 "and exits 0"
eventually "the repair warning clears after it" no_alert scrub-repaired

# ---- a container destroyed beyond what parity covers ----
u=$dir/unrelated
mkdir -p "$u" && head -c $((5 * 1024 * 1024)) /dev/urandom >"$u/other.bin"
run su2 su create s2
run b3 backup "$u" --su s2 --name u -q
tap_is "$rc" 0 "a backup of unrelated data in another storage unit"
id3=$(field b3 backup)
[ -n "$first" ] || tap_bail "no fragment in $data/dir0"
rm -f "$data"/dir0/*/"$first" "$data"/dir2/*/"$first" "$data"/dir3/*/"$first"
tap_diag "destroyed three fragments of container $first"
restart_daemon
scrub s4
tap_is "$rc" 1 "a scrub that finds data lost: watch exits 1"
tap_is "$(wc -l <"$dir/s4.err")" 1 "with one line on stderr"
tap_ok "that says data was lost" grep -q 'data lost in 1 containers' "$dir/s4.err"
tap_ok "it reports the container unrecoverable" grep -q '^unrecoverable: *1 containers' "$dir/s4.out"
tap_ok "it names the first backup" grep -q "^affected backup: s1 $id1: [1-9][0-9]* files$" "$dir/s4.out"
tap_ok "and the second" grep -q "^affected backup: s1 $id2: [1-9][0-9]* files$" "$dir/s4.out"
tap_ok "and not the backup of unrelated data" sh -c "! grep -q '$id3' '$dir/s4.out'"
tap_ok "problems remain" grep -q '^result: *problems remain' "$dir/s4.out"
show s4
run ss4 scrub status
tap_is "$rc" 0 "ddt scrub status exits 0"
tap_ok "and shows the problem too" grep -q "^affected backup: s1 $id1" "$dir/ss4.out"
run al4 alerts
tap_ok "a critical alert names the affected backup" grep -q "^critical .*  scrub-lost  .*s1/$id1" "$dir/al4.out"
show al4
run r7 restore "$id1" "$dir/r7" --su s1 -q
tap_is "$rc" 1 "the affected backup no longer restores whole"
restores r8 "$id3" s2 "$u"

# ---- a space threshold ----
pct=$(python3 -c "import shutil; u = shutil.disk_usage('$store'); print(int(100 * u.used / (u.used + u.free)))")
warn=1
[ "$pct" -gt 1 ] || warn=0
printf 'health_interval = 1\nspace_warning_pct = %s\n' "$warn" >"$conf"
restart_daemon
tap_ok "the scrub's verdict survives a restart" alert critical scrub-lost
eventually "a space warning once the threshold is below the disk's use ($pct%)" alert warning space:root
run al5 alerts
tap_ok "it gives the threshold" grep -q "over the warning threshold of $warn%" "$dir/al5.out"
show al5
run st5 status
tap_ok "ddt status shows it" grep -q '^warning .*  space:root  ' "$dir/st5.out"

# ---- degraded: a disk missing while backups go on ----
v=$dir/degraded
mkdir -p "$v" && head -c $((12 * 1024 * 1024)) /dev/urandom >"$v/new.bin"
rm -rf "$data/dir1"
run dg backup "$v" --su s2 --name degraded -q
tap_is "$rc" 0 "with a data directory missing, a new backup still succeeds"
dg_id=$(field dg backup)
restart_daemon
tap_ok "a restart does not recreate the missing directory" test ! -e "$data/dir1"
restores r9 "$dg_id" s2 "$v"
run sd scrub start
run sdw scrub watch -q
# (It still reports the container destroyed above as lost.)
tap_ok "a scrub then rebuilds what it lacks" \
	grep -Eq "^fragments: .* [1-9][0-9]* rebuilt" "$dir/sdw.out"
tap_ok "the directory is back, fragments and all" test -n "$(ls -A "$data/dir1" 2>/dev/null)"
mkdir -p "$dir/aside"
mv "$data/dir0" "$data/dir2" "$data/dir4" "$dir/aside/"
# Only new data: an unchanged file's COMMIT would fail first, and rightly
# so, on its tree's metadata segment, now unreadable (EIO).
v3=$dir/three-gone
mkdir -p "$v3" && head -c $((6 * 1024 * 1024)) /dev/urandom >"$v3/newer.bin"
run dg3 backup "$v3" --su s2 --name three-gone -q
tap_is "$rc" 1 "with three of six directories gone a backup is refused"
tap_ok "saying too many are missing" grep -q "more than the 2 the erasure code covers" "$dir/dg3.err"
restart_daemon
eventually "a restarted daemon says it lost more than the code covers" \
	alert critical dirs-lost
mv "$dir/aside/"* "$data/"
restart_daemon

# ---- usage errors ----
run bad1 scrub status --no-repair
tap_is "$rc" 2 "--no-repair with scrub status is a usage error"
run bad2 scrub fix
tap_is "$rc" 2 "an unknown scrub operation is a usage error"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
