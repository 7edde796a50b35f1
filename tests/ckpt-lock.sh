#!/bin/bash
# ckpt-lock.sh - a checkpoint restore is no way around the retention lock
# (issue 15 item 9): with a backup locked in a storage unit,
# ddtargetd --restore-checkpoint and ddtstore restore-checkpoint refuse a
# checkpoint that lacks it, or that holds it with an earlier expiry, in one
# line naming the backup, and leave the store as it was (the backup still
# lists and restores); a checkpoint that keeps it restores; a backup in an
# unlocked unit does not stand in the way.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=ckpt-lock
. "$top_srcdir/tests/e2e.sh"
ddtstore_bin=$top_builddir/ddtstore

ckpt() { sed -n 's/^checkpoint \(ckpt-[^ ]*\) taken$/\1/p' "$dir/$1.out"; }
listed() { ddt list --su "$1" 2>/dev/null | grep -c "^$2@"; }

daemon_start
src=$dir/src
mkdir -p "$src" && head -c 300000 /dev/urandom >"$src/f" || tap_bail src
ddt su create open >/dev/null && ddt su create locked >/dev/null &&
	ddt su set locked --retention 30d --retention-lock >/dev/null ||
	tap_bail "storage units"
run c1 checkpoint create
c1=$(ckpt c1)
sleep 1.1	# checkpoint names have a second's resolution
ddt backup "$src" --su locked --name kept -q >/dev/null &&
	ddt backup "$src" --su open --name free -q >/dev/null || tap_bail backups
id=$(ddt list --su locked | awk '$1 ~ /^kept@/ {print $1}')
run c2 checkpoint create
c2=$(ckpt c2)
tap_ok "two checkpoints, before and after the locked backup ($c1, $c2)" \
	test -n "$c1" -a -n "$c2"
daemon_stop

"$daemon_bin" -s "$store" --restore-checkpoint "$c1" >"$dir/r1.out" 2>"$dir/r1.err"
tap_is "$?" 1 "restoring a checkpoint from before the locked backup is refused"
tap_ok "in one line naming the backup and the lock ($(head -c 300 "$dir/r1.err"))" \
	grep -q "would remove backup $id of storage unit locked, which its retention lock protects until" "$dir/r1.err"
"$ddtstore_bin" restore-checkpoint "$store" "$c1" >"$dir/r2.out" 2>"$dir/r2.err"
tap_ok "ddtstore restore-checkpoint refuses it too" \
	grep -q "would remove backup $id of storage unit locked" "$dir/r2.err"
daemon_start
tap_is "$(listed locked kept)" 1 "the store is as it was: the locked backup is listed"
run r restore "$id" "$dir/back" --su locked -q
tap_ok "and restores byte for byte" cmp -s "$src/f" "$dir/back/f"

ddt retain "$id" 60d --su locked >/dev/null || tap_bail "retain"
daemon_stop
"$daemon_bin" -s "$store" --restore-checkpoint "$c2" >"$dir/r3.out" 2>"$dir/r3.err"
tap_is "$?" 1 "a checkpoint holding it with an earlier expiry is refused"
tap_ok "saying it would shorten it" \
	grep -q "would shorten the expiry of backup $id of storage unit locked" "$dir/r3.err"

daemon_start
run c3 checkpoint create
c3=$(ckpt c3)
sleep 1.1
ddt backup "$src" --su open --name later -q >/dev/null || tap_bail "later"
daemon_stop
"$daemon_bin" -s "$store" --restore-checkpoint "$c3" >"$dir/r4.out" 2>"$dir/r4.err"
tap_is "$?" 0 "a checkpoint that keeps every locked backup restores"
daemon_start
tap_is "$(listed locked kept)" 1 "the locked backup is there"
tap_is "$(listed open later)" 0 "an unlocked unit's newer backup went back with the checkpoint"
daemon_stop
tap_done
