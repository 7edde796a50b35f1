#!/bin/bash
# journal.sh - end to end: acknowledged backups that live only in the open
# container's journal (not yet sealed) survive damage to it. The journal is
# written in two copies, under the store's root and in a data directory;
# after a SIGKILL, one byte is flipped at many places of either copy, and
# after each restart every backup restores byte for byte, a warning alert
# says what was repaired, and the daemon's log names the damaged copy. The
# same record damaged in both copies costs that record only: the backups
# before and after it restore, a critical alert says so, and the scrub it
# starts names the backup that lost data. A scrub of a running target
# finds a damaged copy of the open journal and seals the container early.
# The root's journal directory removed whole: everything restores from
# the second copy.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=journal
. "$top_srcdir/tests/e2e.sh"

# restores N: backup bN restores byte for byte
restores() {
	rm -rf "$dir/r$1"
	ddt restore "b$1" "$dir/r$1" --su u -q >"$dir/r$1.out" 2>&1 &&
		diff -r "$dir/t$1" "$dir/r$1" >/dev/null
}
all_restore() { restores 1 && restores 2 && restores 3; }
# pristine: the stopped store as the kill left it, again
pristine() {
	rm -rf "$store" && cp -a "$dir/pristine" "$store" || tap_bail "copy the store"
}
# flip FILE OFFSET: one byte of FILE at OFFSET, xor 0x40
flip() {
	python3 - "$1" "$2" <<-'EOF'
	import sys
	path, off = sys.argv[1], int(sys.argv[2])
	with open(path, 'r+b') as f:
	    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x40]))
	EOF
}
# records FILE: the offset of every record in a journal copy and the
# length of its data, one record a line
records() {
	python3 - "$1" <<-'EOF'
	import struct, sys
	b = open(sys.argv[1], 'rb').read()
	off = 16
	while off + 52 <= len(b) and b[off:off+4] == b'JSEG':
	    n = struct.unpack_from('<I', b, off + 4)[0]
	    print(off, n)
	    off += 52 + n
	EOF
}

daemon_start
ddt su create u >/dev/null || tap_bail "su create"
# Three backups of distinct random data, 300 KiB each: together far less
# than a container, so all of it stays in the open container's journal.
for i in 1 2 3; do
	mkdir -p "$dir/t$i/sub"
	head -c 200000 /dev/urandom >"$dir/t$i/a.bin"
	head -c 100000 /dev/urandom >"$dir/t$i/sub/b.bin"
	echo "tree $i" >"$dir/t$i/sub/c.txt"
	ddt backup "$dir/t$i" --name "b$i" --su u -q >"$dir/backup$i.out" 2>&1 ||
		tap_bail "backup $i: $(cat "$dir/backup$i.out")"
done
daemon_kill

jnl=$(ls "$store"/journal/*.jnl 2>/dev/null)
mirror=$(ls "$store"/data/dir*/journal/*.jnl 2>/dev/null)
tap_is "$(echo "$jnl" | wc -w) $(echo "$mirror" | wc -w)" "1 1" \
	"one open journal under the root and its copy in a data directory"
[ -f "$jnl" ] && [ -f "$mirror" ] || tap_bail "no journal copies: '$jnl' '$mirror'"
tap_ok "the two copies hold the same bytes" cmp -s "$jnl" "$mirror"
nrec=$(records "$jnl" | wc -l)
tap_ok "the journal holds the three backups' segments ($nrec records)" [ "$nrec" -ge 30 ]
cp -a "$store" "$dir/pristine" || tap_bail "copy the store"
rel_jnl=${jnl#"$store"/} rel_mirror=${mirror#"$store"/}

# A restart with nothing damaged: the journal is written on, no alert.
daemon_start
tap_ok "after a SIGKILL, all three backups restore" all_restore
tap_ok "and no journal alert is raised" no_alert journal-
daemon_kill

# ---- one byte flipped in one copy, at many places ----
# The header; the first record's length and fingerprint; a middle one's
# magic, codec, CRC and data; the last one's length and data; in either
# copy. (test_journal flips every byte of a smaller log, without restarts.)
mapfile -t offs < <(records "$dir/pristine/$rel_jnl" | cut -d' ' -f1)
mapfile -t lens < <(records "$dir/pristine/$rel_jnl" | cut -d' ' -f2)
# A record's data may be a few bytes (a small file's segment), so a place
# "in its data" is counted from its length: the middle one is the first
# from half way on with 100 bytes or more, and the last one's data is
# flipped half way through, however short it is.
k=$((nrec / 2))
while [ "$k" -lt $((nrec - 1)) ] && [ "${lens[$k]}" -lt 100 ]; do k=$((k + 1)); done
first=${offs[0]} mid=${offs[$k]} end=${offs[$((nrec - 1))]}
end_data=$((end + 52 + lens[nrec - 1] / 2))
places=(3 $((first + 5)) $((first + 30)) $((mid + 1)) $((mid + 12))
	$((mid + 49)) $((mid + 60)) $((end + 5)) "$end_data")
bad=0 tried=0 unreported=0
for p in "${places[@]}"; do
	for copy in "$rel_jnl" "$rel_mirror"; do
		pristine
		flip "$store/$copy" "$p"
		: >"$dir/daemon.log"
		daemon_start
		tried=$((tried + 1))
		if ! all_restore; then
			bad=$((bad + 1))
			tap_diag "flip at $p of $copy: a backup does not restore"
		fi
		if ! alert warning journal-repaired ||
			! grep -q "journal of container .* read from the other copy" "$dir/daemon.log"; then
			unreported=$((unreported + 1))
			tap_diag "flip at $p of $copy: not reported"
		fi
		daemon_kill
	done
done
tap_is "$bad" 0 "a byte flipped at any of $tried places of either copy: every backup restores byte for byte"
tap_is "$unreported" 0 "each time a warning alert and the log say which copy was repaired"

# The alert is a verdict: kept across a restart, cleared by a scrub.
daemon_start
tap_ok "the journal alert is still there after a restart" alert warning journal-repaired
ddt scrub start -q >/dev/null 2>&1 && ddt scrub watch -q >"$dir/scrub1.out" 2>&1
tap_ok "a scrub clears it" no_alert journal-repaired
tap_ok "the backups still restore after that scrub" all_restore
daemon_kill

# ---- the same record damaged in both copies ----
pristine
o=$mid	# a record with 100 bytes of data or more (above)
flip "$store/$rel_jnl" $((o + 60))
flip "$store/$rel_mirror" $((o + 70))
: >"$dir/daemon.log"
daemon_start
tap_ok "a record damaged in both copies: the log says how much was lost and where" \
	grep -q "journal of container .*records (.* from offset $o) were damaged in every copy" "$dir/daemon.log"
tap_ok "and raises a critical alert" grep -q "alert journal-lost (critical)" "$dir/daemon.log"
tap_ok "a scrub is started by itself" grep -q "scrub started: journal records were lost" "$dir/daemon.log"
ok_count=0
for i in 1 2 3; do restores $i && ok_count=$((ok_count + 1)); done
tap_is "$ok_count" 2 "the backups that did not need the lost record restore (two of three)"
for _ in $(seq 100); do
	ddt scrub status 2>/dev/null | grep -q "^scrub: *not running" && break
	sleep 0.1
done
tap_ok "the scrub names the backup that lost data" alert critical scrub-lost
daemon_kill

# ---- a scrub reads the journals of a running target ----
pristine
daemon_start
flip "$store/$rel_mirror" $((mid + 60))
ddt scrub start -q >/dev/null 2>&1 && ddt scrub watch -q >"$dir/scrub2.out" 2>&1
tap_ok "a scrub finds the damaged copy of the open journal and seals its container early" \
	grep -q "^journals: *1 checked (.* records), 1 damaged, 1 sealed early$" "$dir/scrub2.out"
daemon_kill
: >"$dir/daemon.log"
daemon_start
tap_ok "after a SIGKILL then, every backup restores (from the sealed container)" all_restore
tap_ok "and no journal needed repair at the start" no_alert journal-
daemon_kill

# ---- the root's journal directory lost ----
pristine
rm -rf "$store/journal"
mkdir "$store/journal"
daemon_start
tap_ok "with the root's journal copy gone, all backups restore from the other" all_restore
daemon_kill

tap_done
