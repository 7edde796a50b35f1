#!/bin/bash
# restore.sh - ddt restore of a tree of many small files, end to end: the
# files go in batches (READ_FILES) through several listers and workers,
# and the restore keeps its promises all the same: every byte, symbolic
# link and hard link (also across directories and batches) comes back,
# with its mode and times; files around the batch limit (1 MiB) and
# larger ones too; a non-empty destination is refused and left alone; a
# file that cannot be made gets one line naming its path, and the rest is
# restored.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=restore
. "$top_srcdir/tests/e2e.sh"

daemon_start
run su su create s
tap_is "$rc" 0 "a storage unit"

# ---- the tree: more files and links than a batch holds ----
t=$dir/tree
mkdir -p "$t" || tap_bail mkdir
python3 - "$t" <<'EOF' || tap_bail "cannot build the tree"
import os, random, sys
top = sys.argv[1]
rnd = random.Random(16)
for d in range(30):
    p = os.path.join(top, "d%02d" % d, "sub")
    os.makedirs(p)
    for f in range(20):
        n = rnd.choice([0, 1, 100, 4096, 5000, 70000])
        q = os.path.join(p if f % 2 else os.path.dirname(p), "f%02d" % f)
        with open(q, "wb") as o:
            o.write(rnd.randbytes(n))
        os.chmod(q, rnd.choice([0o600, 0o640, 0o755, 0o444]))
        os.utime(q, ns=(1600000000123456789 + d * 1000 + f,) * 2)
    for l in range(12):
        os.symlink("f%02d" % l if l % 3 else "../nowhere/%d" % l,
                   os.path.join(top, "d%02d" % d, "l%02d" % l))
for name, n in (("mib", 1 << 20), ("mib1", (1 << 20) + 1), ("big", 3 << 20)):
    with open(os.path.join(top, name), "wb") as o:
        o.write(rnd.randbytes(n))
os.link(os.path.join(top, "d00", "f00"), os.path.join(top, "d29", "sub", "hl"))
os.link(os.path.join(top, "d00", "f00"), os.path.join(top, "hl2"))
os.link(os.path.join(top, "big"), os.path.join(top, "d05", "big-link"))
os.chmod(os.path.join(top, "d03"), 0o555)
os.utime(os.path.join(top, "d07", "sub"), ns=(1500000000987654321,) * 2)
EOF
# Names, types, sizes, modes, mtimes and link targets, hard links by the
# first name of their inode.
listing() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %s %m %T@ %l %n\n' | sort)
}
run b backup "$t" --su s --name tree -q
tap_is "$rc" 0 "a tree of $(find "$t" -type f | wc -l) files and $(find "$t" -type l | wc -l) links is backed up"
id=$(field b backup)
run r restore "$id" "$dir/out" --su s
tap_is "$rc" 0 "and restored"
tap_ok "every file's bytes and every link's target come back" \
	diff -r --no-dereference "$t" "$dir/out"
listing "$t" >"$dir/tree.list"
listing "$dir/out" >"$dir/out.list"
tap_ok "with their types, sizes, modes and times to the nanosecond" \
	cmp -s "$dir/tree.list" "$dir/out.list"
diff "$dir/tree.list" "$dir/out.list" | head -5 | sed 's/^/# /'
tap_ok "a hard link across directories and batches is one inode" \
	test "$(stat -c %i "$dir/out/d00/f00")" = "$(stat -c %i "$dir/out/d29/sub/hl")" -a \
	     "$(stat -c %i "$dir/out/d00/f00")" = "$(stat -c %i "$dir/out/hl2")" -a \
	     "$(stat -c %i "$dir/out/big")" = "$(stat -c %i "$dir/out/d05/big-link")"
tap_ok "the summary counts them" grep -q "^files: *$(find "$t" -type f | wc -l) (3 hard links)" "$dir/r.out"

# ---- a part of it ----
run rp restore "$id" "$dir/part" --su s --path d07 -q
tap_ok "--path restores one directory's batches alone" \
	diff -r --no-dereference "$t/d07" "$dir/part"

# ---- refusals and errors ----
run rn restore "$id" "$dir/out" --su s -q
tap_ok "a non-empty destination is refused" test "$rc" -ne 0
tap_ok "saying so in one line" grep -q "not empty" "$dir/rn.err"
tap_ok "and nothing in it changed" cmp -s "$dir/out.list" <(listing "$dir/out")

mkdir -p "$dir/in-way/d01/f00/x" || tap_bail mkdir
run rw restore "$id" "$dir/in-way" --su s --force -q
tap_ok "a file a directory stands in the way of fails the restore" \
	test "$rc" -ne 0
tap_is "$(grep -c "in-way/d01/f00" "$dir/rw.err")" 1 \
	"with one line naming its path"
rm -rf "$dir/in-way/d01/f00"
cp -a "$t/d01/f00" "$dir/in-way/d01/f00"
tap_ok "the rest is restored" \
	diff -r --no-dereference "$t" "$dir/in-way"

daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
