#!/bin/bash
# checkpoint.sh - end to end: back up A, take a checkpoint with ddt, back up
# B, kill -9 the daemon, delete its index, bring the store back with
# ddtargetd --restore-checkpoint, start it again: A restores byte for byte,
# B is gone from the list (and can be backed up again), and the refusals
# (a running store, a missing name, a non-admin) are one clear line each.
# Then the same offline with ddtstore: checkpoint, keep N, list, restore.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=ckpt-e2e
. "$top_srcdir/tests/e2e.sh"
ddtstore_bin=$top_builddir/ddtstore
[ -x "$ddtstore_bin" ] || tap_bail "build ddtstore first"

# restore_ckpt NAME ARGS...: ddtargetd --restore-checkpoint ARGS, likewise
restore_ckpt() {
	local name=$1
	shift
	"$daemon_bin" -s "$store" --restore-checkpoint "$@" >"$dir/$name.out" 2>"$dir/$name.err"
	rc=$?
	[ -s "$dir/$name.err" ] && tap_diag "$name: $(cat "$dir/$name.err")"
	sed 's/^/# /' "$dir/$name.out"
	return 0
}

daemon_start

a=$dir/a
b=$dir/b
mkdir -p "$a/sub" "$b" || tap_bail mkdir
head -c $((10 * 1024 * 1024)) /dev/urandom >"$a/big.bin"
seq 1 300000 >"$a/sub/text"
printf 'small' >"$a/small"
ln -s small "$a/link"
head -c $((9 * 1024 * 1024)) /dev/urandom >"$b/other.bin"
seq 5 200000 >"$b/text"

run su su create s1
[ "$rc" -eq 0 ] || tap_bail "su create failed"
run ba backup "$a" --su s1 --name A
tap_is "$rc" 0 "backup A"
ida=$(field ba backup)

run ck checkpoint create
tap_is "$rc" 0 "ddt checkpoint create"
ck=$(sed -n 's/^checkpoint \(ckpt-[^ ]*\) taken$/\1/p' "$dir/ck.out")
tap_ok "it names the checkpoint ($ck)" test -n "$ck"
run ckl checkpoint list
tap_ok "ddt checkpoint list shows it" grep -q "^$ck " "$dir/ckl.out"

run bb backup "$b" --su s1 --name B
tap_is "$rc" 0 "backup B, after the checkpoint"
run l1 list --su s1
tap_ok "both are listed" test "$(grep -c -e '^A@' -e '^B@' "$dir/l1.out")" -eq 2

restore_ckpt busy
tap_is "$rc" 1 "--restore-checkpoint on a running store fails"
tap_ok "saying it is in use, in one line" \
	test "$(wc -l <"$dir/busy.err")" -eq 1 -a -n "$(grep 'in use' "$dir/busy.err")"

daemon_kill
rm -rf "$store/index"
tap_ok "the daemon is killed and its index deleted" test ! -e "$store/index"

restore_ckpt missing ckpt-19990101T000000Z
tap_is "$rc" 1 "a missing checkpoint name fails"
tap_ok "with one line naming it" \
	test "$(wc -l <"$dir/missing.err")" -eq 1 -a -n "$(grep 'ckpt-19990101T000000Z' "$dir/missing.err")"

restore_ckpt restore "$ck"
tap_is "$rc" 0 "ddtargetd --restore-checkpoint $ck"
tap_ok "it reports the checkpoint used" grep -q "^checkpoint: *$ck " "$dir/restore.out"
tap_ok "and the containers sealed after it, indexed again" \
	test "$(field restore 'indexed again' | cut -d' ' -f1)" -gt 0
tap_is "$(field restore dropped | cut -d' ' -f1)" 0 "none dropped"

echo 'bob-password' | "$daemon_bin" -s "$store" --set-password bob >/dev/null 2>&1 ||
	tap_bail "set-password bob"
daemon_start
run l2 list --su s1
tap_is "$rc" 0 "the restarted daemon lists backups"
tap_ok "A is there" grep -q "^$ida " "$dir/l2.out"
tap_ok "B, made after the checkpoint, is not" test -z "$(grep '^B@' "$dir/l2.out")"
run ra restore "$ida" "$dir/ra" --su s1
tap_is "$rc" 0 "A restores"
tap_ok "byte for byte (diff -r)" diff -r --no-dereference "$a" "$dir/ra"

run bb2 backup "$b" --su s1 --name B
tap_is "$rc" 0 "B can be backed up again"
run rb restore "$(field bb2 backup)" "$dir/rb" --su s1
tap_ok "and restores byte for byte" diff -r "$b" "$dir/rb"

DDT_PASSWORD=bob-password ddt -u bob checkpoint create >"$dir/bob.out" 2>"$dir/bob.err"
tap_is "$?" 1 "a user who is not an admin cannot take a checkpoint"
tap_ok "and is told so in one line" \
	test "$(wc -l <"$dir/bob.err")" -eq 1 -a -n "$(grep -i 'admin' "$dir/bob.err")"

idb=$(field bb2 backup)
daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"

# ---- offline, with ddtstore ----
for i in 1 2 3; do
	"$ddtstore_bin" checkpoint "$store" --keep 2 >>"$dir/dsck.out" 2>>"$dir/dsck.err" ||
		tap_diag "ddtstore checkpoint: $(cat "$dir/dsck.err")"
done
tap_is "$(grep -c '^checkpoint ckpt-.* taken in ' "$dir/dsck.out")" 3 \
	"ddtstore checkpoint STORE --keep 2, three times"
"$ddtstore_bin" checkpoints "$store" >"$dir/dsls.out" 2>&1
tap_is "$(grep -c '^ckpt-' "$dir/dsls.out")" 2 "ddtstore checkpoints lists the 2 kept"
newest=$(sed -n 's/^checkpoint \(ckpt-[^ ]*\) taken in .*/\1/p' "$dir/dsck.out" | tail -n 1)
rm -rf "$store/index"
"$ddtstore_bin" restore-checkpoint "$store" >"$dir/dsrs.out" 2>"$dir/dsrs.err"
tap_is "$?" 0 "ddtstore restore-checkpoint STORE restores the newest"
tap_ok "which is $newest" grep -q "^checkpoint: *$newest " "$dir/dsrs.out"
daemon_start
run l3 list --su s1
tap_ok "A and the second B are both listed" \
	test -n "$(grep "^$ida " "$dir/l3.out")" -a -n "$(grep "^$idb " "$dir/l3.out")"
run rb2 restore "$idb" "$dir/rb2" --su s1
tap_ok "and B restores byte for byte" diff -r "$b" "$dir/rb2"
daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly again"
tap_done
