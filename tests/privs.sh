#!/bin/bash
# privs.sh - least privilege: started as root with `user` set, ddtargetd
# becomes that user (uid, gid, groups, no capability) before it touches
# the store, so all it makes is that user's, --set-password included; a
# store of another owner is refused with the chown to run; and contrib's
# systemd units, sysusers and tmpfiles files hold: systemd-analyze rates
# each unit's sandbox "OK", systemd-sysusers and systemd-tmpfiles make
# the users, the group and the directories they say, in a scratch root.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=privs
. "$top_srcdir/tests/e2e.sh"
sd=$top_srcdir/contrib/systemd

# ---- contrib's units, users and directories ----
if command -v systemd-analyze >/dev/null; then
	for u in "$sd/ddtargetd.service" "$sd/ddt-nfsd.service" \
		 "$top_srcdir/contrib/snmp/ddtarget-snmp.service"; do
		n=$(basename "$u")
		sed "s|/usr/local/bin/|$top_builddir/|" "$u" >"$dir/$n"
		systemd-analyze verify "$dir/$n" >"$dir/verify.out" 2>&1
		tap_is "$?" 0 "systemd-analyze verify $n"
		level=$(systemd-analyze security --offline=true "$dir/$n" 2>/dev/null |
			sed -n 's/.*exposure level for .*: \([0-9.]*\) .*/\1/p')
		tap_ok "$n: its sandbox's exposure is under 2.0 (${level:-none}, OK)" \
			python3 -c "import sys; sys.exit(not ('$level' and float('$level') < 2.0))"
	done
else
	for _ in 1 2 3 4 5 6; do tap_skip "no systemd-analyze"; done
fi
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
	r=$dir/root
	mkdir -p "$r/etc" && : >"$r/etc/passwd" && : >"$r/etc/group"
	systemd-sysusers --root="$r" "$sd/ddtarget.sysusers" 2>"$dir/su.err"
	tap_is "$?" 0 "systemd-sysusers takes ddtarget.sysusers"
	uid=$(awk -F: '$1 == "ddtarget" {print $3}' "$r/etc/passwd")
	gid=$(awk -F: '$1 == "ddtarget" {print $3}' "$r/etc/group")
	tap_ok "it makes the user ddtarget (uid ${uid:-none})" test -n "$uid"
	tap_is "$(awk -F: '$1 == "ddtarget" {print $4}' "$r/etc/group")" \
		"ddt-nfsd,ddtarget-snmp" "the gateways' users are in its group, and no other"
	systemd-tmpfiles --create --root="$r" "$sd/ddtarget.tmpfiles" 2>"$dir/tf.err"
	tap_is "$?" 0 "systemd-tmpfiles takes ddtarget.tmpfiles"
	tap_is "$(stat -c '%a %u %g' "$r/var/lib/ddtarget")" "700 $uid $gid" \
		"the store's directory is ddtarget's alone"
	tap_is "$(stat -c '%a %u %g' "$r/etc/ddtarget")" "750 0 $gid" \
		"the configuration is root's, readable by the group"
else
	for _ in 1 2 3 4 5 6; do tap_skip "no systemd-sysusers"; done
fi

# ---- the daemon gives up root ----
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	for _ in $(seq 12); do tap_skip "not root, or no user nobody"; done
	tap_done
	exit
fi
nuid=$(id -u nobody); ngid=$(id -g nobody)
chmod 711 "$dir"	# nobody passes through to its own directory
mkdir -p "$dir/nb" && chown nobody: "$dir/nb" || tap_bail "cannot chown"
store=$dir/nb/store
daemon_start --set user=nobody
tap_ok "started as root with user = nobody, it says so" grep -q "running as user nobody" "$dir/daemon.log"
st=/proc/$dpid/status
tap_is "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")" "$nuid $nuid $nuid $nuid" \
	"real, effective, saved and file-system uid are nobody's"
tap_is "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$st")" "$ngid $ngid $ngid $ngid" "so are the gids"
tap_is "$(awk '/^Groups:/ {print $2 $3}' "$st")" "$ngid" "and its only group is nobody's"
tap_is "$(awk '/^CapEff:/ {print $2}' "$st")" "0000000000000000" "with no capability"
src=$dir/src
mkdir -p "$src" && head -c 2000000 /dev/urandom >"$src/f" || tap_bail src
run su su create s
run b backup "$src" --su s -q
run r restore src "$dir/out" --su s -q
tap_ok "it backs up and restores" cmp -s "$src/f" "$dir/out/f"
tap_is "$(find "$store" ! -user nobody | wc -l)" 0 "everything in the store is nobody's"
daemon_stop
printf 'pw-of-bob\n' | "$daemon_bin" -s "$store" --set user=nobody \
	--set-password bob >/dev/null 2>"$dir/pw.err"
tap_is "$?" 0 "--set-password as root with user = nobody"
tap_is "$(find "$store" ! -user nobody | wc -l)" 0 "leaves nothing of root's in the store"
mkdir -p "$dir/rootstore"
"$daemon_bin" -s "$dir/rootstore" -p "$port" --set user=nobody >/dev/null 2>"$dir/own.err"
tap_ok "a store of another owner is refused" test $? -ne 0
tap_ok "with the command that fixes it" grep -qF "chown -R nobody $dir/rootstore" "$dir/own.err"
"$daemon_bin" -s "$dir/nostore" -p "$port" --set user=no-such-user >/dev/null 2>"$dir/nouser.err"
tap_ok "an unknown user is refused in one line" grep -qF "no system user 'no-such-user'" "$dir/nouser.err"
tap_done
