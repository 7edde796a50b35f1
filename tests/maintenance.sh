#!/bin/bash
# maintenance.sh - end to end: maintenance runs by itself on its schedule.
# With checkpoints every second, expiry every second and cleaning every
# two, scrubs every second, a daemon left alone takes checkpoints, scrubs,
# removes an expired backup and cleans its space away, while the backup it should keep restores; a bad
# schedule stops the daemon at start with one line; ddt status says when
# each task runs next.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=maint
. "$top_srcdir/tests/e2e.sh"

"$daemon_bin" -s "$store" -p "$port" --set clean_schedule='someday' \
	>"$dir/bad.out" 2>"$dir/bad.err"
tap_is "$?" 2 "a malformed schedule is a usage error"
tap_is "$(wc -l <"$dir/bad.err")" 1 "told in one line"
tap_ok "naming the key" grep -q "clean_schedule" "$dir/bad.err"

daemon_start --set checkpoint_schedule='every 1s' \
	--set expire_schedule='every 1s' --set clean_schedule='every 2s' \
	--set scrub_schedule='every 1s'
run st status
tap_ok "status shows the next clean" grep -q "^next clean:" "$dir/st.out"
tap_ok "and the next checkpoint" grep -q "^next checkpoint:" "$dir/st.out"

mkdir -p "$dir/keep" "$dir/gone"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$dir/keep/a"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$dir/gone/b"
run su su create m
run k backup "$dir/keep" --su m --name keep -q
keep_id=$(field k backup)
run g backup "$dir/gone" --su m --name gone --retain 1s -q
tap_is "$rc" 0 "a backup kept 1 s"
gone_id=$(field g backup)

# Within a few seconds: expired, cleaned, checkpointed, untouched by hand.
for _ in $(seq 60); do
	ddt list --su m >"$dir/list.out" 2>&1
	ddt clean status >"$dir/cs.out" 2>&1
	if ! grep -q "$gone_id" "$dir/list.out" &&
	   grep -q "^cleaned: [1-9]" "$dir/cs.out"; then
		break
	fi
	sleep 0.25
done
tap_ok "the expired backup went by itself" sh -c "! grep -q '$gone_id' '$dir/list.out'"
tap_ok "the kept one did not" grep -q "$keep_id" "$dir/list.out"
tap_ok "a scheduled clean took the space back" grep -q "^cleaned: [1-9]" "$dir/cs.out"
tap_diag "$(cat "$dir/cs.out")"
run cl checkpoint list
tap_ok "scheduled checkpoints were taken" \
	test "$(grep -c '^ckpt-' "$dir/cl.out")" -ge 2
tap_ok "the log names them" grep -q "checkpoint ckpt-.* taken (checkpoint_schedule)" "$dir/daemon.log"
run sc scrub status
tap_ok "scheduled scrubs ran" grep -q "scrub_schedule" "$dir/daemon.log"
tap_diag "$(head -n 3 "$dir/sc.out")"
run r restore "$keep_id" "$dir/out" --su m -q
tap_ok "the kept backup restores byte for byte" diff -r "$dir/keep" "$dir/out"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly with its scheduler"
tap_done
