#!/bin/bash
# audit.sh - the audit log (issue 15 item 11): <store>/audit.log, mode
# 0600, one line per event, each "TIME key=value ...", values with spaces
# or quotes quoted: logins and their refusals, storage-unit and retention
# changes, backups, deletions and expiry, restores, maintenance started,
# refusals of what a user may not do, and the offline commands
# (--set-password, --restore-checkpoint) with the system user that ran
# them. SIGHUP reopens it after a rotation; audit_log = none makes none.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=audit
. "$top_srcdir/tests/e2e.sh"
log=$store/audit.log
# has EVENT RESULT [GREP-F PATTERN]: the log has such a line
has() {
	grep " event=$1 result=$2 " "$log" | grep -qF -- "${3:-}"
}

daemon_start
ddt su create s >/dev/null || tap_bail "su create"
tap_ok "the daemon writes <store>/audit.log" test -f "$log"
tap_is "$(stat -c %a "$log")" 600 "mode 0600"
tap_ok "a login: user, peer, role" has login ok "user=admin peer=127.0.0.1:"
tap_ok "su create, with the unit" has su.create ok "su=s"

DDT_PASSWORD=wrong "$ddt_bin" -p "$port" su list >/dev/null 2>&1
tap_ok "a refused login, with the user" has login refused 'error="Permission denied" user=admin'
ddt su set s --retention 2d >/dev/null
tap_ok "a retention change, with only what changed" has su.set ok "su=s retention_s=172800"
tap_ok "(not the fields it left alone)" sh -c "! grep ' event=su.set ' '$log' | grep -q 'quota='"

src=$dir/src
mkdir -p "$src" && echo data >"$src/f" || tap_bail src
ddt backup "$src" --su s --name first -q >/dev/null
tap_ok "a backup's begin" has backup.begin ok 'su=s name=first'
tap_ok "and its end, with files and bytes" has backup.end ok "files=1 bytes=5"
id=$(ddt list --su s | awk '$1 ~ /^first@/ {print $1; exit}')
ddt restore "$id" "$dir/r" --su s -q >/dev/null
tap_ok "a restore names the unit" has restore ok "su=s unit="
ddt restore "$id" "$dir/r2" --su s -q >/dev/null
ddt retain "$id" 1h --su s >/dev/null
tap_ok "an expiry change" has backup.set ok "su=s id="
ddt rm "$id" --su s >/dev/null
tap_ok "a deletion" has backup.delete ok "su=s id="
ddt expire --su s --dry-run >/dev/null
tap_ok "an expiry run, dry or not" has backup.expire ok "su=s dry_run=1"
ddt scrub start >/dev/null 2>&1
tap_ok "maintenance started by an admin" has scrub.start ok "repair="

daemon_stop
printf 'pw-of-bob\n' | "$daemon_bin" -s "$store" --set-password bob --role user >/dev/null 2>&1
tap_ok "--set-password, offline, with the system user who ran it" \
	has user.set ok "user=$(id -un) peer=offline target_user=bob role=user"
daemon_start
DDT_PASSWORD=pw-of-bob "$ddt_bin" -p "$port" -u bob su create t >/dev/null 2>&1
tap_ok "what a user may not do is logged as refused, with who tried" \
	has su.create refused 'error="Operation not permitted" user=bob'
echo 'pw-of-eve' | ddt user add eve --level backup --password-stdin >/dev/null
tap_ok "a user added online: who, level, never the password" \
	has user.add ok "user=admin peer=127.0.0.1:"
tap_ok "(its name and level)" has user.add ok "target_user=eve level=backup"
tap_ok "no password in the log" sh -c "! grep -q 'pw-of-' '$log'"
ddt user rm eve >/dev/null
tap_ok "a user removed online" has user.delete ok "target_user=eve"

tap_is "$(grep -cv '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:.]*Z\( [a-z_]*=\([^ "]*\|"\([^"\\]\|\\.\)*"\)\)*$' "$log")" 0 \
	"every line is TIME key=value ..., nothing else ($(wc -l <"$log") lines)"
tap_is "$(python3 -c '
import sys
print(sum(1 for b in open(sys.argv[1], "rb").read() if b < 32 and b != 10))' "$log")" 0 \
	"no control character in the file"

mv "$log" "$log.1"
kill -HUP "$dpid"
for _ in $(seq 50); do grep -q "audit log reopened" "$dir/daemon.log" && break; sleep 0.1; done
ddt su list >/dev/null
tap_ok "after SIGHUP a rotated log starts again" has login ok "user=admin"
grep -q " event=su.create " "$log.1"
tap_is "$?" 0 "the rotated file still holds the earlier events"
daemon_stop

"$daemon_bin" -s "$store" --restore-checkpoint nosuch >/dev/null 2>&1
tap_ok "a checkpoint restore is logged, refused or not" \
	has checkpoint.restore refused "checkpoint=nosuch"

rm -f "$log"
daemon_start --set audit_log=none
ddt su list >/dev/null
tap_ok "audit_log = none: no file" test ! -e "$log"
daemon_stop
tap_done
