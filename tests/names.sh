#!/bin/bash
# names.sh - names end to end, as a user meets them: ddt backup skips a
# local file or directory whose name the target would refuse (not UTF-8,
# or holding a control character) with one escaped warning each and exit
# status 3, and backs up the rest; a name stored before the rule (made by
# tests/names_legacy in the stopped target's store) still lists, escaped,
# in ddt ls, and restores byte for byte; and nothing ddt prints carries a
# raw control character.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=names
. "$top_srcdir/tests/e2e.sh"
legacy_bin=$top_builddir/tests/names_legacy
[ -x "$legacy_bin" ] || tap_bail "build tests/names_legacy first"

# raw_controls FILE: how many bytes of FILE are control characters other
# than newline and tab (C0, DEL; C1 as UTF-8 is 0xc2 0x80-0x9f).
raw_controls() {
	python3 -c '
import re, sys
b = open(sys.argv[1], "rb").read()
print(len(re.findall(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", b)))
' "$1"
}

daemon_start
run su su create s
tap_is "$rc" 0 "a storage unit"

src=$dir/src
mkdir -p "$src/sub" || tap_bail mkdir
echo ok >"$src/ok.txt"; echo café >"$src/café"; echo in >"$src/sub/in.txt"
python3 -c '
import os, sys
d = os.fsencode(sys.argv[1])
for n in (b"esc\x1b[31mred", b"bad\xff", b"c1\xc2\x9b2J"):
    open(d + b"/" + n, "w").write("x\n")
os.mkdir(d + b"/dir\x07")
open(d + b"/dir\x07/inside", "w").write("y\n")
' "$src" || tap_bail "cannot make the bad names"

run b backup "$src" --su s --name n -q
id=$(field b backup)
tap_is "$rc" 3 "a backup with names the target refuses ends with status 3"
tap_is "$(grep -c ': skipped$' "$dir/b.err")" 4 \
	"one warning for each of the 4 bad names"
tap_ok "the line names the fault and the byte" grep -qF \
	'name "esc\x1b[31mred" contains a control character (byte 3): skipped' \
	"$dir/b.err"
tap_ok "invalid UTF-8 is named too" grep -qF \
	'name "bad\xff" is not valid UTF-8 (byte 3): skipped' "$dir/b.err"
tap_ok "and a C1 control (CSI)" grep -qF \
	'name "c1\xc2\x9b2J" contains a control character (byte 2)' "$dir/b.err"
tap_is "$(raw_controls "$dir/b.err")" 0 "no raw control byte reaches stderr"

run l ls "$id" --su s
tap_is "$(awk '{print $NF}' "$dir/l.out" | sort | tr '\n' ' ')" \
	"café ok.txt sub " "the good names are stored, and only they"
run l2 ls "$id" sub --su s
tap_ok "with what is under them" grep -q ' in.txt$' "$dir/l2.out"

# ---- a name stored before the rule ----
daemon_stop
"$legacy_bin" "$store" s "$id" "$(printf 'old\033[2J\377name')" ||
	tap_bail "names_legacy failed"
daemon_start
run l3 ls "$id" --su s
tap_ok "an old name that breaks the rule still lists, escaped" \
	grep -qF ' old\x1b[2J\xffname' "$dir/l3.out"
tap_is "$(raw_controls "$dir/l3.out")" 0 "no raw control byte reaches stdout"
run r restore "$id" "$dir/r" --su s -q
tap_is "$rc" 0 "the backup restores"
tap_ok "the old name comes back byte for byte" \
	test -d "$dir/r/$(printf 'old\033[2J\377name')"
tap_ok "beside the rest" cmp -s "$src/café" "$dir/r/café"
run rm2 ls "$id" "$(printf 'old\033[2J\377name')" --su s
tap_is "$rc" 0 "and can be looked up by its name"

tap_done
