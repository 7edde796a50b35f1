#!/bin/bash
# perms.sh - end to end: the store is its owner's alone. After a backup and
# a checkpoint no file or directory under the store (the index's RocksDB
# files, fragments, journals, markers, the lock, the password) has a group
# or other permission bit; admin.password is created 0600 and never
# through a link planted in its place; an older store's open directories
# are closed at the next start, with one log line; and a daemon whose port
# is taken fails in one line before it makes a store or a password.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=perms
. "$top_srcdir/tests/e2e.sh"

# open_to_others DIR: every path under DIR with a group or other bit
open_to_others() { find "$1" ! -type l -perm /077 -printf '%m %p\n'; }
restart() {
	daemon_stop
	daemon_start
}

# ---- a new store ----
# The store's root exists already, with a link where the password goes:
# it must not be written through it.
mkdir -p "$store" && printf 'not yours\n' >"$dir/victim" &&
	ln -s "$dir/victim" "$store/admin.password" || tap_bail "setup"
daemon_start
tap_is "$(cat "$dir/victim")" "not yours" "the password is not written through a link in its place"
tap_ok "admin.password is a file of its own" test -f "$store/admin.password" -a ! -L "$store/admin.password"
tap_is "$(stat -c %a "$store/admin.password")" 600 "and mode 0600"
mkdir -p "$dir/data" && head -c $((6 * 1024 * 1024)) /dev/urandom >"$dir/data/a" ||
	tap_bail "no test data"
run su su create s
run b backup "$dir/data" --su s -q
tap_is "$rc" 0 "a backup"
run ck checkpoint create
tap_is "$rc" 0 "a checkpoint"
tap_is "$(stat -c %a "$store")" 700 "the store's root is 0700"
tap_ok "the index has files of RocksDB's own ($(find "$store/index" -type f | wc -l))" \
	test -n "$(find "$store/index" -name 'MANIFEST-*' -type f)"
tap_ok "and fragments are there" test -n "$(find "$store/data" -name '*.frag' -type f)"
open_to_others "$store" >"$dir/open.txt"
tap_ok "no file or directory in the store is open to group or others ($(find "$store" | wc -l) checked)" \
	test ! -s "$dir/open.txt"
sed 's/^/# /' "$dir/open.txt" | head -n 20

# ---- a store made before: its directories were 0755 ----
daemon_stop
chmod 0755 "$store" "$store/index" "$store/journal" "$store/data" "$store/data/dir0"
: >"$dir/daemon.log"
daemon_start
tap_ok "a start closes them, saying so in one line" \
	grep -q "closed 5 directories of the store $store to other users" "$dir/daemon.log"
open_to_others "$store" >"$dir/open2.txt"
tap_ok "then none is open" test ! -s "$dir/open2.txt"
sed 's/^/# /' "$dir/open2.txt" | head -n 20
: >"$dir/daemon.log"
restart
tap_ok "the next start has nothing to say" sh -c "! grep -q 'closed .* directories' '$dir/daemon.log'"

# ---- a port in use ----
# The running daemon holds $port: a second one fails before it makes
# anything.
"$daemon_bin" -s "$dir/store2" -p "$port" >"$dir/busy.out" 2>&1
brc=$?
tap_is "$brc" 1 "a daemon whose port is taken exits 1"
tap_is "$(wc -l <"$dir/busy.out")" 1 "with one line"
tap_ok "that says the port is in use" \
	grep -q "^ddtargetd: cannot listen on 127.0.0.1 port $port: Address already in use" "$dir/busy.out"
sed 's/^/# /' "$dir/busy.out"
tap_ok "and no store is made" test ! -e "$dir/store2"
mkdir "$dir/store3"
"$daemon_bin" -s "$dir/store3" -p "$port" >"$dir/busy3.out" 2>&1
tap_ok "nor anything in an empty store directory, password included" \
	test -z "$(ls -A "$dir/store3")"
run st status
tap_is "$rc" 0 "the first daemon still serves"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
