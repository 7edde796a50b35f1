#!/bin/bash
# snmp-mib.sh - DDTARGET-MIB is valid SMIv2: smilint (libsmi, Debian's
# smitools) at its strictest level says nothing about it, not even a
# warning, with the SMI modules the project ships beside it; and net-snmp
# reads it and places it where ddtarget-snmp answers.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/tap.sh"

mibs=$top_srcdir/snmp
dir=$(tap_tmpdir snmpmib) || tap_bail "mktemp -d failed"
trap 'tap_rmtree "$dir"' EXIT
export SNMP_PERSISTENT_DIR=$dir/persist SNMPCONFPATH=$dir/conf HOME=$dir

if command -v smilint >/dev/null; then
	SMIPATH=$mibs:/usr/share/snmp/mibs smilint -s -l 6 \
		"$mibs/DDTARGET-MIB.txt" >"$dir/lint" 2>&1
	tap_is "$?" 0 "smilint -l 6 DDTARGET-MIB runs"
	tap_ok "and reports no error and no warning" test ! -s "$dir/lint"
	[ -s "$dir/lint" ] && tap_diag "$(cat "$dir/lint")"
	# A broken MIB is caught: the check can fail.
	sed 's/ddtSpaceUsed OBJECT-TYPE/ddtSpaceUsed OBJECT-TYPE\n    SYNTAX NoSuchType/' \
		"$mibs/DDTARGET-MIB.txt" >"$dir/DDTARGET-MIB.txt"
	SMIPATH=$mibs:/usr/share/snmp/mibs smilint -s -l 6 \
		"$dir/DDTARGET-MIB.txt" >"$dir/lint2" 2>&1
	tap_ok "a broken copy is reported" test -s "$dir/lint2"
else
	tap_skip "smilint not installed (Debian package smitools)"
fi

if command -v snmptranslate >/dev/null; then
	got=$(snmptranslate -M "$mibs:/usr/share/snmp/mibs" -m DDTARGET-MIB \
		-On DDTARGET-MIB::ddtargetMIB 2>"$dir/tr.err")
	tap_is "$got" ".1.3.6.1.4.1.8072.9999.9999.338" \
		"net-snmp places ddtargetMIB under net-snmp's playpen"
	grep -v '^Created directory' "$dir/tr.err" | while read -r l; do tap_diag "$l"; done
	got=$(grep -A1 '^static const oid root' "$top_srcdir/snmp/agent.c" |
		tr -d ' \n\t' | sed 's/.*{\(.*\)}.*/.\1/; s/,/./g')
	tap_is "$got" ".1.3.6.1.4.1.8072.9999.9999.338" \
		"where ddtarget-snmp registers its subtree"
	got=$(snmptranslate -M "$mibs:/usr/share/snmp/mibs" -m DDTARGET-MIB \
		-On DDTARGET-MIB::ddtDedupAnomaly 2>/dev/null)
	want=$(sed -n 's/.*TRAP_DEDUP_ANOMALY = \([0-9]*\).*/\1/p' "$top_srcdir/snmp/trapq.h")
	tap_is "$got" ".1.3.6.1.4.1.8072.9999.9999.338.0.$want" \
		"a notification's number is the subagent's"
else
	tap_skip "snmptranslate not installed (Debian package snmp)"
fi
tap_done
