#!/bin/bash
# retention.sh - end to end: retention, expiry, the retention lock and
# quotas through a real ddtargetd and the ddt client. A backup kept 2 s and
# one kept 30 days: `ddt expire` after 2 s removes only the first, and the
# survivor restores byte for byte. A locked storage unit refuses `ddt rm`,
# a shorter expiry, a shorter --retain and its own deletion with one clear
# line and exit 1, and takes a longer expiry. A quota refuses a backup over
# it with one line, keeps nothing of it, and the earlier backups restore.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=ret
. "$top_srcdir/tests/e2e.sh"
daemon_start
lines() { wc -l <"$dir/$1.err"; }
# refused NAME WORDS DESC ARGS...: ddt fails with exit 1 and one line on
# stderr that contains WORDS (three outcomes)
refused() {
	local name=$1 words=$2 desc=$3
	shift 3
	run "$name" "$@"
	tap_is "$rc" 1 "$desc: exit 1"
	tap_is "$(lines "$name")" 1 "$desc: one line"
	tap_ok "$desc: it says '$words'" grep -q -- "$words" "$dir/$name.err"
}

# ---- two small trees ----
t1=$dir/t1 t2=$dir/t2
mkdir -p "$t1/sub" "$t2/deep/er" || tap_bail mkdir
head -c $((3 * 1024 * 1024)) /dev/urandom >"$t1/a.bin"
seq 1 20000 >"$t1/sub/text"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$t2/b.bin"
printf 'kept' >"$t2/deep/er/small"
ln -s small "$t2/deep/er/link"

# ---- expiry ----
run su1 su create r1
tap_is "$rc" 0 "a storage unit is created"
run short backup "$t1" --su r1 --name short --retain 2s
tap_is "$rc" 0 "a backup kept 2 s"
id_short=$(field short backup)
tap_ok "its summary says when it expires" grep -q '^expires: *[0-9]' "$dir/short.out"
run long backup "$t2" --su r1 --name long --retain 30d
tap_is "$rc" 0 "a backup kept 30 days"
id_long=$(field long backup)
run list1 list --su r1
tap_ok "list shows an expiry for each" test "$(grep -c '^short@.*  20[0-9-]* [0-9:]*  complete$' "$dir/list1.out")" -eq 1
sed 's/^/# /' "$dir/list1.out"
sleep 2.2
run dry expire --su r1 --dry-run
tap_is "$rc" 0 "expire --dry-run works"
tap_ok "it names the expired backup" grep -q "^would remove backup $id_short from storage unit r1" "$dir/dry.out"
tap_ok "and only that one" test "$(grep -c '^would remove' "$dir/dry.out")" -eq 1
run list2 list --su r1
tap_ok "and removes nothing" grep -q "^$id_short " "$dir/list2.out"
run exp expire
tap_is "$rc" 0 "expire works"
tap_ok "it removed the expired backup" grep -q "^removed backup $id_short from storage unit r1 (expired " "$dir/exp.out"
tap_ok "and only that one" test "$(grep -c '^removed backup' "$dir/exp.out")" -eq 1
run list3 list --su r1
tap_ok "the expired backup is gone" sh -c "! grep -q '^$id_short ' '$dir/list3.out'"
tap_ok "the other is listed" grep -q "^$id_long " "$dir/list3.out"
run rl restore "$id_long" "$dir/rl" --su r1
tap_is "$rc" 0 "the survivor restores"
tap_ok "byte for byte (diff -r)" diff -r --no-dereference "$t2" "$dir/rl"
run exp2 expire --su r1
tap_ok "a second expire finds nothing" grep -q '^no backups past their expiry' "$dir/exp2.out"

# ---- the retention lock ----
run su2 su create lk
run pre backup "$t1" --su lk --name pre --retain never
id_pre=$(field pre backup)
tap_is "$rc" 0 "a backup that never expires"
refused lock0 "never expires" "locking a unit with a backup that never expires" \
	su set lk --retention 1h --retention-lock
run retpre retain "$id_pre" 2h --su lk
tap_is "$rc" 0 "ddt retain gives that backup a date"
run lock1 su set lk --retention 1h --retention-lock
tap_is "$rc" 0 "then the unit locks"
tap_ok "and says so" grep -q '^storage unit lk: retention 1h, retention lock on, quota none' "$dir/lock1.out"
run sulist su list
tap_ok "su list shows retention and lock" grep -q '^lk  .*  1h  *on  *none  ' "$dir/sulist.out"
sed 's/^/# /' "$dir/sulist.out"
run lb backup "$t2" --su lk --name locked
tap_is "$rc" 0 "a backup into the locked unit"
id_lk=$(field lb backup)
run list4 list --su lk
tap_ok "list shows it locked" grep -q "^$id_lk .*complete, locked$" "$dir/list4.out"
refused rm1 "retention lock: backup $id_lk of storage unit lk is locked until .* UTC" \
	"ddt rm of a locked backup" rm "$id_lk" --su lk
refused short1 "retention lock" "a shorter expiry" retain "$id_lk" 10m --su lk
refused short2 "retention lock" "a shorter expiry by date" retain "$id_lk" 2020-01-01 --su lk
run bad0 retain "$id_lk" soonish --su lk
tap_is "$rc" 2 "a malformed expiry is a usage error"
run longer retain "$id_lk" 3h --su lk
tap_is "$rc" 0 "a longer expiry works"
tap_ok "and says when" grep -q "^backup $id_lk expires 20" "$dir/longer.out"
refused shrink "can grow but not shrink" "a shorter unit retention" su set lk --retention 1m
refused rmsu "retention lock" "deleting the locked unit" su delete lk --recursive
refused shortb "retention lock" "a backup shorter than the unit's retention" \
	backup "$t1" --su lk --name brief --retain 10s
run list5 list --su lk
tap_ok "both locked backups are still there" test "$(grep -c 'complete, locked$' "$dir/list5.out")" -eq 2
run rlk restore "$id_lk" "$dir/rlk" --su lk
tap_ok "and the locked one restores byte for byte" diff -r --no-dereference "$t2" "$dir/rlk"

# ---- a quota ----
run su3 su create q
run q1 su set q --quota 4M
tap_is "$rc" 0 "a quota of 4 MiB"
run qa backup "$t1" --su q --name a
tap_is "$rc" 0 "a 3 MiB backup fits"
id_qa=$(field qa backup)
refused qb "quota of 4.0 MiB would be exceeded" "a 5 MiB backup over the quota" \
	backup "$t2" --su q --name b
run list6 list --su q
tap_ok "nothing of the refused backup is kept" test "$(grep -c '^[ab]@' "$dir/list6.out")" -eq 1
run rqa restore "$id_qa" "$dir/rqa" --su q
tap_ok "the earlier backup restores byte for byte" diff -r --no-dereference "$t1" "$dir/rqa"
run q2 su set q --quota none
run qb2 backup "$t2" --su q --name b
tap_is "$rc" 0 "without the quota it goes in"

# ---- usage errors ----
run bad1 backup "$t1" --su q --retain 3x
tap_is "$rc" 2 "--retain 3x is a usage error"
run bad2 su set q --quota lots
tap_is "$rc" 2 "--quota lots is a usage error"
run bad3 su set q
tap_is "$rc" 2 "su set without a setting is a usage error"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
