#!/bin/bash
# clean.sh - end to end: cleaning through a real ddtargetd. An expired
# backup's space comes back and the others restore byte for byte; backups
# keep running while cleans start over and over, and every backup that was
# acknowledged restores; a daemon killed with SIGKILL in mid-clean restarts,
# restores everything and cleans again.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=clean
. "$top_srcdir/tests/e2e.sh"

# physical: the store's bytes on disk, from ddt status
physical() {
	ddt status | sed -n 's/^physical:.*(\([0-9]*\) bytes).*/\1/p'
}
# restores ID TREE DESC: backup ID restores identical to TREE
restores() {
	local out=$dir/r.$RANDOM
	run restore restore "$1" "$out" --su c -q
	tap_ok "$3" diff -r "$2" "$out"
	rm -rf "$out"
}
# mkrand DIR MB: a directory with one MB-sized random file and some text
mkrand() {
	mkdir -p "$1"
	head -c $(($2 * 1024 * 1024)) /dev/urandom >"$1/data.bin"
	seq 1 $((RANDOM + 1000)) >"$1/text"
}

daemon_start
run su su create c
tap_is "$rc" 0 "storage unit created"

# ---- expire, then clean ----
mkrand "$dir/keep" 6
mkrand "$dir/gone" 12
run b1 backup "$dir/keep" --su c --name keep -q
tap_is "$rc" 0 "a backup kept"
keep_id=$(field b1 backup)
run b2 backup "$dir/gone" --su c --name gone --retain 1s -q
tap_is "$rc" 0 "a backup kept 1 s"
before=$(physical)
sleep 1.2
run exp expire --su c
tap_is "$rc" 0 "ddt expire runs"
tap_ok "it removed the expired backup" grep -q gone "$dir/exp.out"
run cs clean start
tap_is "$rc" 0 "ddt clean start"
run cw clean watch -q
tap_is "$rc" 0 "ddt clean watch: the clean succeeded"
tap_diag "$(cat "$dir/cw.out")"
after=$(physical)
tap_diag "physical bytes: $before before, $after after"
# The tail of what was written sits in the open container, which only the
# next clean may take, and the clean seals that container first (its bytes
# count from then on): 16/3 MiB of its data, net, with the store's parity
# (8 MiB with 4+2; 6 MiB with 8+1, the default on one file system), will do.
k=$(ddt status --json | sed -n 's/.*"ec_k": \([0-9]*\).*/\1/p')
m=$(ddt status --json | sed -n 's/.*"ec_m": \([0-9]*\).*/\1/p')
want=$((16 * 1024 * 1024 * (k + m) / (3 * k)))
tap_ok "over $want bytes of the 12 MiB backup and its $k+$m parity came back, net" \
	test $((before - after)) -gt "$want"
tap_ok "clean status reports the reclaimed space" \
	grep -q "^cleaned: [1-9][0-9]* containers" "$dir/cw.out"
restores "$keep_id" "$dir/keep" "the kept backup restores byte for byte"

# ---- what a clean leaves behind: cleanable bytes, each directory's share ----
# The last clean sealed the open container, so "small" starts a new one
# and "big" fills the rest of it: with "small" expired, that container is
# about three quarters live, over clean_threshold (50), and kept.
mkrand "$dir/small" 1
mkrand "$dir/big" 3
run b3 backup "$dir/small" --su c --name small --retain 1s -q
run b4 backup "$dir/big" --su c --name big -q
tap_is "$rc" 0 "two more backups, the first kept 1 s"
sleep 1.2
run exp2 expire --su c
run cs2 clean start
run cw2 clean watch -q
tap_is "$rc" 0 "a clean after the first of them expired"
ddt status --json >"$dir/st.json" 2>&1
python3 - "$dir/st.json" >"$dir/cleanable.out" 2>&1 <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
total, n = j["cleanable_bytes"], j["data_dirs"]
dirs = [j["dir%d.cleanable_bytes" % i] for i in range(n)]
print(total, dirs, j["root.cleanable_bytes"])
sys.exit(0 if total > 0 and dirs == [total // n] * n and
         j["root.cleanable_bytes"] == 0 else 1)
PY
tap_is "$?" 0 "the kept container's dead bytes are cleanable, shared evenly by the data directories"
tap_diag "cleanable, per directory, root: $(cat "$dir/cleanable.out")"

# ---- backups while cleaning, many rounds ----
declare -a ids trees
bpid=
for round in 1 2 3 4 5 6; do
	t=$dir/round$round
	mkrand "$t" 3
	# Half of every round's data is the last round's: dedup against
	# segments that may be garbage by the time the backup commits.
	[ "$round" -gt 1 ] && cp "$dir/round$((round - 1))/data.bin" "$t/prev.bin"
	ddt backup "$t" --su c --name "r$round" -q >"$dir/bk$round.out" 2>&1 &
	bpid=$!
	while kill -0 "$bpid" 2>/dev/null; do
		ddt clean start >/dev/null 2>&1
		sleep 0.05
	done
	wait "$bpid"
	brc=$?
	[ "$brc" -eq 0 ] || tap_diag "round $round: $(cat "$dir/bk$round.out")"
	ids[$round]=$(sed -n 's/^backup: *//p' "$dir/bk$round.out" | head -n 1)
	trees[$round]=$t
	# Drop the one before last: its unique half is garbage now.
	if [ "$round" -gt 2 ]; then
		ddt rm "${ids[$((round - 2))]}" --su c >/dev/null 2>&1
		ids[$((round - 2))]=
	fi
	[ "$brc" -eq 0 ] || break
done
tap_is "$brc" 0 "six backups ran while cleans kept starting"
ddt clean watch -q >/dev/null 2>&1
run cs4 clean start
run cw4 clean watch -q
tap_is "$rc" 0 "a final clean succeeds"
ok=0
for round in 1 2 3 4 5 6; do
	[ -n "${ids[$round]}" ] || continue
	out=$dir/r.$round
	ddt restore "${ids[$round]}" "$out" --su c -q >/dev/null 2>&1 &&
		diff -r "${trees[$round]}" "$out" >/dev/null && ok=$((ok + 1))
	rm -rf "$out"
done
tap_is "$ok" 2 "both surviving backups restore byte for byte"

# ---- SIGKILL in the middle of a clean ----
for round in 1 2 3; do
	mkrand "$dir/junk$round" 16
	run j backup "$dir/junk$round" --su c --name junk -q
	junk_phys=$(physical)
	ddt rm "$(field j backup)" --su c >/dev/null 2>&1
	ddt clean start >/dev/null 2>&1
	sleep "0.00$((RANDOM % 10))"
	daemon_kill
	daemon_start
	restores "$keep_id" "$dir/keep" "kill $round: the kept backup restores"
	restores "${ids[6]}" "${trees[6]}" "kill $round: the last round restores"
done
run cs5 clean start
run cw5 clean watch -q
tap_is "$rc" 0 "cleaning runs again after the kills"
after=$(physical)
tap_diag "physical bytes: $junk_phys with the last junk, $after after"
tap_ok "the last junk backup's space is back, killed clean or not" \
	test $((junk_phys - after)) -gt $((12 * 1024 * 1024))
restores "$keep_id" "$dir/keep" "the kept backup still restores"
restores "${ids[5]}" "${trees[5]}" "round 5 still restores"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
