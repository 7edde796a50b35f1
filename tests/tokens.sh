#!/bin/bash
# tokens.sh - API tokens (issue 15 item 3): `ddt token create` prints a
# token once, which logs its user in as the password would (as
# DDT_PASSWORD, in a password file), for that user only, until it expires
# or is revoked; the target keeps only its hash; a user lists and revokes
# its own, an admin those of its users; a removed user's tokens go with
# it; tokens survive a restart.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=tokens
. "$top_srcdir/tests/e2e.sh"

# as USER PASSWORD ARGS...: ddt as that user, output in $dir/as.out/.err
as() {
	local u=$1 p=$2
	shift 2
	DDT_PASSWORD=$p "$ddt_bin" -p "$port" -u "$u" "$@" >"$dir/as.out" 2>"$dir/as.err"
}
tok() { sed -n 's/^token: *//p' "$dir/$1.out"; }
tid() { sed -n 's/^id: *//p' "$dir/$1.out"; }

daemon_start
ddt su create s >/dev/null || tap_bail su
echo bob-pw | ddt user add bob --level backup --password-stdin >/dev/null || tap_bail bob

run t1 token create --name nightly
t1=$(tok t1) id1=$(tid t1)
tap_ok "token create prints a token and its id ($id1)" test -n "$t1" -a -n "$id1"
tap_ok "and says it is shown once" grep -q "shown this once" "$dir/t1.err"
as admin "$t1" su list
tap_is "$?" 0 "the token logs admin in as DDT_PASSWORD"
printf '%s\n' "$t1" >"$dir/tokfile"
DDT_PASSWORD= "$ddt_bin" -p "$port" --password-file "$dir/tokfile" su list >/dev/null 2>&1
tap_is "$?" 0 "and from a password file"
as bob "$t1" su list
tap_ok "admin's token does not log bob in" grep -q "wrong user name or password" "$dir/as.err"
last=${t1: -1}; [ "$last" = 0 ] && other=1 || other=0
as admin "${t1%?}$other" su list
tap_ok "a token one digit off is a wrong password" grep -q "wrong user name or password" "$dir/as.err"
run l1 token list
tap_ok "token list shows it, with its label" grep -q "^$id1 *admin *nightly " "$dir/l1.out"
tap_is "$(grep -rl "${t1##*_}" "$store" 2>/dev/null | wc -l)" 0 "the secret is nowhere in the store"
tap_ok "nor in the audit log, which has the creation" \
	sh -c "grep -q ' event=token.create result=ok user=admin .* label=nightly' '$store/audit.log' && ! grep -q '${t1##*_}' '$store/audit.log'"

as bob bob-pw token create --name bobs
tb=$(sed -n 's/^token: *//p' "$dir/as.out")
tbid=$(sed -n 's/^id: *//p' "$dir/as.out")
tap_ok "a backup-level user makes its own token" test -n "$tb"
as bob "$tb" token list
tap_ok "it lists its own" grep -q "^$tbid *bob *bobs " "$dir/as.out"
tap_ok "and not admin's" sh -c "! grep -q '^$id1 ' '$dir/as.out'"
as bob "$tb" token rm "$id1"
tap_ok "it cannot revoke admin's: no such token" grep -q "no token $id1" "$dir/as.err"
run l2 token list
tap_ok "the admin lists bob's too" grep -q "^$tbid *bob " "$dir/l2.out"

mkdir -p "$dir/src" && echo x >"$dir/src/x"
as bob "$tb" backup "$dir/src" --su s -q
tap_is "$?" 0 "bob backs up with his token, at his level"
as bob "$tb" restore src "$dir/r" --su s -q
tap_ok "and may not restore with it (a backup-level user)" test -s "$dir/as.err"

run e token create --name short --retain 1s
te=$(tok e)
sleep 2
as admin "$te" su list
tap_ok "an expired token is a wrong password" grep -q "wrong user name or password" "$dir/as.err"

daemon_stop
daemon_start
as admin "$t1" su list
tap_is "$?" 0 "tokens survive a restart"
run rm token rm "$id1"
tap_ok "token rm revokes it" grep -q "revoked token $id1" "$dir/rm.out"
as admin "$t1" su list
tap_ok "then it logs nobody in" grep -q "wrong user name or password" "$dir/as.err"
as admin "$(cat "$store/admin.password")" su list
tap_is "$?" 0 "and the password still works"
ddt user rm bob >/dev/null
as bob "$tb" su list
tap_ok "a removed user's token logs nobody in" grep -q "wrong user name or password" "$dir/as.err"
run l3 token list
tap_ok "and is gone from the list" sh -c "! grep -q '^$tbid ' '$dir/l3.out'"
daemon_stop
tap_done
