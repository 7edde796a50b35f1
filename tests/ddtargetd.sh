#!/bin/bash
# ddtargetd.sh - end to end: a real ddtargetd on a loopback port, the ddt
# client backing up a varied tree and restoring it byte for byte with its
# attributes, a second backup that sends almost nothing, clear errors for a
# wrong password and an unknown storage unit, and a daemon killed with
# SIGKILL mid-backup whose acknowledged backups all restore afterwards, and
# a SIGKILL right after a large backup ended, which restores whole.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=e2e
. "$top_srcdir/tests/e2e.sh"
# attrs DIR: one line per entry: path, type, mode, size, mtime (ns), link target
attrs() {
	(cd "$1" && find . -mindepth 1 -printf '%P|%y|%m|%s|%T@|%l\n' | sort)
}

# ---- the example configuration: every setting, commented out or not ----
sed 's/^#\([a-z_]* = \)/\1/' "$top_srcdir/contrib/ddtargetd.conf" >"$dir/all.conf"
tap_ok "contrib/ddtargetd.conf, every setting in it uncommented, checks OK" \
	"$daemon_bin" -c "$dir/all.conf" --check-config
printf 'read_cache_containers = 0\n' >"$dir/bad.conf"
"$daemon_bin" -c "$dir/bad.conf" --check-config >"$dir/bad.out" 2>&1
tap_check $(( ! ($? != 0 && $(wc -l <"$dir/bad.out") == 1) )) \
	"a bad setting is refused in one line: $(cat "$dir/bad.out")"

daemon_start

# ---- a varied tree ----
t=$dir/tree
mkdir -p "$t/sub/deeper" "$t/empty-dir" "$t/odd names" || tap_bail mkdir
: >"$t/empty"
printf 'x' >"$t/tiny"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$t/large.bin"
seq 1 200000 >"$t/sub/text"
cp "$t/sub/text" "$t/sub/deeper/text-copy"
truncate -s 40M "$t/sparse" && printf 'middle' | dd of="$t/sparse" bs=1 seek=20000000 conv=notrunc 2>/dev/null
printf 'spaces' >"$t/odd names/a file with spaces"
printf 'utf8' >"$t/odd names/üñíçødé-名前"
printf 'dash' >"$t/odd names/-leading-dash"
p=$t; for i in $(seq 1 40); do p=$p/d$i; done; mkdir -p "$p" && echo deep >"$p/deep-file"
# Siblings: ddt makes a directory's subdirectories in one burst of MKDIRs.
for i in $(seq 1 150); do mkdir -p "$t/siblings/s$i/in"; echo "$i" >"$t/siblings/s$i/in/f"; done
chmod 0700 "$t/siblings/s7"; touch -d '1999-12-31 23:59:59' "$t/siblings/s9"
ln -s tiny "$t/link-relative"
ln -s /nonexistent/target "$t/link-dangling"
ln "$t/sub/text" "$t/hardlink-to-text"
chmod 0600 "$t/tiny"; chmod 0750 "$t/sub"; chmod 4755 "$t/large.bin"
touch -d '2001-02-03 04:05:06.123456789' "$t/empty" "$t/sub/text"

run su su create s1
tap_is "$rc" 0 "a storage unit is created"

run b1 backup "$t" --su s1 --name tree
tap_is "$rc" 0 "the varied tree is backed up"
id1=$(field b1 backup)
tap_ok "the backup has an id ($id1)" test -n "$id1"
sed 's/^/# /' "$dir/b1.out"

run r1 restore "$id1" "$dir/restore1" --su s1
tap_is "$rc" 0 "it restores"
tap_ok "every file's bytes are identical (diff -r)" diff -r --no-dereference "$t" "$dir/restore1"
attrs "$t" >"$dir/attrs.orig"; attrs "$dir/restore1" >"$dir/attrs.rest"
tap_ok "types, modes, sizes, mtimes (ns) and link targets all match" cmp -s "$dir/attrs.orig" "$dir/attrs.rest"
diff "$dir/attrs.orig" "$dir/attrs.rest" | head -5 | sed 's/^/# /'
tap_is "$(stat -c %i "$dir/restore1/sub/text")" "$(stat -c %i "$dir/restore1/hardlink-to-text")" \
	"a hard link is restored as a hard link"
tap_ok "a sparse file stays sparse or at least exact" \
	cmp -s "$t/sparse" "$dir/restore1/sparse"

# ---- an incremental: a few edits, almost nothing sent ----
printf 'appended' >>"$t/sub/text"
printf 'changed' | dd of="$t/large.bin" bs=1 seek=5000000 conv=notrunc 2>/dev/null
run b2 backup "$t" --su s1 --name tree
tap_is "$rc" 0 "the edited tree is backed up again"
logical=$(field b2 'logical bytes' | cut -d' ' -f1)
wire=$(field b2 'bytes on wire' | cut -d' ' -f1)
tap_diag "second backup: $logical logical bytes, $wire on the wire"
tap_ok "it sent under 2% of the logical bytes ($wire of $logical)" \
	test "${wire:-999999999}" -lt $(( ${logical:-0} / 50 ))
id2=$(field b2 backup)
run r2 restore "$id2" "$dir/restore2" --su s1
tap_ok "the second backup restores exactly" diff -r --no-dereference "$t" "$dir/restore2"

# ---- another codec: zstd segments restore as well ----
run bz backup "$t/sub" --su s1 --name zstd --codec zstd
tap_is "$rc" 0 "a backup with --codec zstd works"
run rz restore "$(field bz backup)" "$dir/restore-zstd" --su s1
tap_ok "and restores exactly" diff -r --no-dereference "$t/sub" "$dir/restore-zstd"

# ---- errors a user meets ----
DDT_PASSWORD=wrong ddt list --su s1 >"$dir/wrongpw.out" 2>"$dir/wrongpw.err"
rc=$?
tap_is "$rc" 1 "a wrong password fails (exit 1)"
tap_ok "with one clear line" grep -q 'wrong user name or password' "$dir/wrongpw.err"
tap_is "$(wc -l <"$dir/wrongpw.err")" 1 "just one"

# A target that accepts and then never answers: the client gives up after
# DDT_TIMEOUT seconds with one line, rather than hanging for ever.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >"$dir/silent.port" &
silent=$!
for _ in $(seq 100); do [ -s "$dir/silent.port" ] && break; sleep 0.05; done
t0=$(date +%s)
DDT_TIMEOUT=2 "$ddt_bin" -p "$(cat "$dir/silent.port")" status >"$dir/silent.out" 2>"$dir/silent.err"
src=$?
t1=$(date +%s)
kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
tap_is "$src" 1 "a target that never answers: ddt fails (exit 1)"
tap_ok "within the timeout, not for ever ($((t1 - t0)) s)" test $((t1 - t0)) -le 10
tap_ok "saying so in one line" sh -c "grep -q 'has not answered for 2 s' '$dir/silent.err' && test \$(wc -l <'$dir/silent.err') -eq 1"
run nosu backup "$t" --su no-such-unit
tap_is "$rc" 1 "an unknown storage unit fails (exit 1)"
tap_ok "and says which" grep -q 'no-such-unit' "$dir/nosu.err"
run list list --su s1
tap_ok "list shows both backups" test "$(grep -c '^tree@' "$dir/list.out")" -eq 2
run ls ls "$id1" sub --su s1
tap_ok "ls shows a directory inside a backup" grep -q 'text' "$dir/ls.out"
run status status
tap_is "$rc" 0 "status works"

# ---- SIGKILL during a backup ----
big=$dir/big
mkdir -p "$big"
for i in $(seq 1 12); do head -c $((16 * 1024 * 1024)) /dev/urandom >"$big/f$i"; done
ddt backup "$big" --su s1 --name big >"$dir/bbig.out" 2>"$dir/bbig.err" &
cpid=$!
sleep 0.7
daemon_kill
wait "$cpid"
crc=$?
tap_ok "the client of the killed daemon failed (exit $crc)" test "$crc" -ne 0
daemon_start
run list2 list --su s1
tap_is "$rc" 0 "the restarted daemon lists backups"
tap_ok "both acknowledged backups are still there" \
	test "$(grep -c '^tree@' "$dir/list2.out")" -eq 2
if grep -q '^big@' "$dir/list2.out"; then
	tap_ok "the interrupted backup is marked incomplete" grep -q '^big@.*incomplete' "$dir/list2.out"
else
	tap_ok "the interrupted backup is absent" true
fi
run r3 restore "$id1" "$dir/restore3" --su s1
tap_ok "the first backup restores exactly after the crash" \
	cmp -s <(attrs "$dir/restore1") <(attrs "$dir/restore3")
run r4 restore "$id2" "$dir/restore4" --su s1
tap_ok "the second backup restores exactly after the crash" diff -r --no-dereference "$t" "$dir/restore4"
run b3 backup "$big" --su s1 --name big
tap_is "$rc" 0 "the interrupted backup can be run again"
id3=$(field b3 backup)
# A SIGKILL right after the backup's end: all of its 192 MiB is durable,
# the last of it only in the open container's journal.
daemon_kill
daemon_start
run r5 restore "$id3" "$dir/restore5" --su s1
tap_ok "and restores exactly after a SIGKILL right after it ended" \
	diff -r "$big" "$dir/restore5"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly on SIGTERM"
tap_done
