#!/bin/bash
# users.sh - users managed online through `ddt user` (PROTOCOL.md section
# 5, Users), with no restart: an admin adds a backup-level user, who logs
# in at once, backs up but cannot restore or manage; changes its own
# password; is moved to the restore level and restores; an admin of
# another domain manages its own domain's users only; the last admin of
# domain system cannot be removed; a removed user cannot log in.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=users
. "$top_srcdir/tests/e2e.sh"
daemon_start --set auth_backoff_ms=0

# ddt as user U with password P: output in $dir/NAME.out / .err, $rc.
as() {
	local name=$1 u=$2 p=$3
	shift 3
	DDT_PASSWORD=$p "$ddt_bin" -p "$port" -u "$u" "$@" \
		>"$dir/$name.out" 2>"$dir/$name.err" </dev/null
	rc=$?
	[ -s "$dir/$name.err" ] && tap_diag "$name: $(head -c 500 "$dir/$name.err")"
	return 0
}

t=$dir/tree
mkdir -p "$t" && seq 1 20000 >"$t/numbers" && echo hello >"$t/greeting" ||
	tap_bail "a tree to back up"
run su1 su create s1
tap_is "$rc" 0 "a storage unit"

echo 'bk-pass-1' | ddt user add bk --level backup --password-stdin \
	>"$dir/add1.out" 2>"$dir/add1.err"
tap_is "$?" 0 "user add bk --level backup --password-stdin"
tap_ok "it says so" grep -q '^added user bk$' "$dir/add1.out"

as st1 bk bk-pass-1 status
tap_is "$rc" 0 "bk logs in at once, no restart"
as b1 bk bk-pass-1 backup "$t" --su s1 --name home
tap_is "$rc" 0 "bk backs up"
as r1 bk bk-pass-1 restore home "$dir/r1" --su s1
tap_is "$rc" 1 "bk cannot restore"
tap_ok "with one line naming its level" grep -q 'has the backup level' "$dir/r1.err"
as su2 bk bk-pass-1 su create nope
tap_is "$rc" 1 "bk cannot create a unit"
tap_ok "an admin's act, said so" grep -q 'needs an admin user; bk has the backup level' "$dir/su2.err"
as up1 bk bk-pass-1 user set bk --level admin
tap_is "$rc" 1 "bk cannot raise its own level"

run l1 user list
tap_is "$rc" 0 "user list"
tap_ok "it lists admin and bk with level and domain" \
	sh -c "grep -q '^admin  *admin  *system$' '$dir/l1.out' && grep -q '^bk  *backup  *system$' '$dir/l1.out'"
sed 's/^/# /' "$dir/l1.out"

echo 'bk-pass-2' | DDT_PASSWORD=bk-pass-1 "$ddt_bin" -p "$port" -u bk \
	user passwd --password-stdin >"$dir/pw.out" 2>"$dir/pw.err"
tap_is "$?" 0 "bk changes its own password (user passwd)"
as st2 bk bk-pass-1 status
tap_is "$rc" 1 "the old password no longer logs in"
as st3 bk bk-pass-2 status
tap_is "$rc" 0 "the new one does"

run set1 user set bk --level restore
tap_is "$rc" 0 "the admin moves bk to the restore level"
as r2 bk bk-pass-2 restore home "$dir/r2" --su s1
tap_is "$rc" 0 "bk restores now"
tap_ok "every byte" diff -r "$t" "$dir/r2"
as b2 bk bk-pass-2 backup "$t" --su s1 --name again
tap_is "$rc" 1 "and can no longer back up"
tap_ok "one line" grep -q 'has the restore level' "$dir/b2.err"

echo 'acme-pass' | ddt user add acme-adm --level full --domain acme \
	--password-stdin >/dev/null 2>&1
tap_is "$?" 0 "an admin of domain acme (--level full --domain acme)"
as ta1 acme-adm acme-pass su create acme1
tap_is "$rc" 0 "it makes a unit, in acme"
as ta2 acme-adm acme-pass su list
tap_ok "it sees acme1 and not s1" \
	sh -c "grep -q '^acme1 ' '$dir/ta2.out' && ! grep -q '^s1 ' '$dir/ta2.out'"
as ta3 acme-adm acme-pass user list
tap_ok "its user list is acme's only" \
	sh -c "grep -q '^acme-adm ' '$dir/ta3.out' && ! grep -q '^bk ' '$dir/ta3.out'"
echo x | DDT_PASSWORD=acme-pass "$ddt_bin" -p "$port" -u acme-adm user add \
	evil --domain system --password-stdin >/dev/null 2>"$dir/ta4.err"
tap_is "$?" 1 "it may not add a user to domain system"
as ta5 acme-adm acme-pass user rm bk
tap_is "$rc" 1 "nor remove one of another domain"
tap_ok "which is to it as no user" grep -q 'no user "bk"' "$dir/ta5.err"

run rm1 user rm admin
tap_is "$rc" 1 "the last admin of domain system cannot be removed"
tap_ok "one line saying so" grep -q 'last admin of the system domain' "$dir/rm1.err"
run rm2 user rm bk
tap_is "$rc" 0 "user rm bk"
as st4 bk bk-pass-2 status
tap_is "$rc" 1 "bk can no longer log in"
tap_ok "refused as a wrong password" grep -q 'wrong user name or password' "$dir/st4.err"

run u1 user add nobody
tap_is "$rc" 2 "user add without a terminal or --password-stdin is a usage error"
run u2 user add x --level boss --password-stdin
tap_is "$rc" 2 "an unknown level is a usage error"

daemon_stop
tap_done
