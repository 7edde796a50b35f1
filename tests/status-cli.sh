#!/bin/bash
# status-cli.sh - end to end through ddt: `ddt status --json` is one valid
# JSON object (python3 -m json.tool) with the STATUS and STATUS_TEXT keys
# and the alerts; `ddt su set` takes --soft-quota and the stream limits and
# `ddt su streams` shows them; a user made with `ddtargetd --set-password
# USER --role status` reads the status and is refused a change with one
# line; `ddt status` shows the ingest, streams and maintenance lines; a
# data directory moved away and back is missing, then degraded until a
# scrub has run.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

TAG=stcli
. "$top_srcdir/tests/e2e.sh"
daemon_start

t=$dir/tree
mkdir -p "$t" || tap_bail mkdir
head -c $((2 * 1024 * 1024)) /dev/urandom >"$t/a.bin"
seq 1 5000 >"$t/text"

run su1 su create st
tap_is "$rc" 0 "a storage unit"
run set1 su set st --soft-quota 1M --backup-streams 2:4 --restore-streams 3
tap_is "$rc" 0 "su set --soft-quota --backup-streams --restore-streams"
tap_ok "it prints the soft quota and the limits" \
	grep -q '^storage unit st: soft quota 1.0 MiB, backup streams 2/4, restore streams -/3' "$dir/set1.out"
sed 's/^/# /' "$dir/set1.out"
run set2 su set st --backup-streams none
tap_is "$rc" 0 "su set --backup-streams none"
tap_ok "the restore limits stay as they were" \
	grep -q 'backup streams -/-, restore streams -/3' "$dir/set2.out"
run bad1 su set st --backup-streams 5:2
tap_is "$rc" 2 "a soft limit over the hard one is a usage error"
run bad2 su streams st --soft-quota 1M
tap_is "$rc" 2 "--soft-quota goes with su set only"

run b1 backup "$t" --su st --name b1
tap_is "$rc" 0 "a backup over the soft quota goes in"
tap_ok "the alert quota-soft:st is raised" alert warning quota-soft:st

run str1 su streams
tap_is "$rc" 0 "su streams"
tap_ok "it has the target's row and the unit's" \
	sh -c "grep -q '^(target) ' '$dir/str1.out' && grep -q '^st  .* -/- *-/3$' '$dir/str1.out'"
sed 's/^/# /' "$dir/str1.out"
run str2 su streams nope
tap_is "$rc" 1 "su streams of an unknown unit fails"

run json status --json
tap_is "$rc" 0 "status --json"
tap_ok "it is valid JSON (python3 -m json.tool)" python3 -m json.tool "$dir/json.out" /dev/null
tap_ok "with the STATUS, STATUS_TEXT keys and the alerts" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ingest_logical_bytes"] >= 2 * 1024 * 1024, j["ingest_logical_bytes"]
assert j["logical_24h_bytes"] >= 2 * 1024 * 1024
assert isinstance(j["store_id"], str) and len(j["store_id"]) == 32
assert j["dir0.state"] == "present" and j["version"]
assert "streams_backup" in j and "cleanable_bytes" in j
assert any(a["id"] == "quota-soft:st" and a["severity"] == 2 for a in j["alerts"])
' "$dir/json.out"

run st status
tap_ok "ddt status shows the ingest of the last 24 hours" grep -q '^last 24 hours: ' "$dir/st.out"
tap_ok "and the streams" grep -q '^streams: *0 backup' "$dir/st.out"

# ---- a directory's state: missing, back (degraded), rebuilt ----
state() { ddt status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
mv "$store/data/dir1" "$store/data/dir1.away" || tap_bail "move dir1 away"
tap_is "$(state dir1.state)" missing "dir1 moved away: its state is missing"
mv "$store/data/dir1.away" "$store/data/dir1" || tap_bail "move dir1 back"
tap_is "$(state dir1.state)" degraded "back in place: degraded (containers may lack its fragments)"
tap_is "$(state dir0.state)" present "dir0 stayed present"
run dg status
tap_ok "ddt status's table says so" grep -q "^dir1 .* degraded$" "$dir/dg.out"
run sc1 scrub start -q
run sc2 scrub watch -q
tap_is "$rc" 0 "a scrub with repair runs clean"
tap_is "$(state dir1.state)" present "after it dir1 is present again"

# ---- a status user ----
daemon_stop || tap_bail "stop"
echo monpw | "$daemon_bin" -s "$store" --set-password mon --role status >"$dir/pw.out" 2>&1
tap_ok "ddtargetd --set-password mon --role status" grep -q '^password set for mon (status)' "$dir/pw.out"
echo x | "$daemon_bin" -s "$store" --set-password x --role boss >"$dir/pw2.out" 2>&1
tap_is "$?" 2 "an unknown role is a usage error"
daemon_start
DDT_PASSWORD=monpw "$ddt_bin" -p "$port" -u mon status --json >"$dir/mon.out" 2>"$dir/mon.err" </dev/null
tap_ok "the status user reads status --json" python3 -m json.tool "$dir/mon.out" /dev/null
DDT_PASSWORD=monpw "$ddt_bin" -p "$port" -u mon su create nope >"$dir/mon2.out" 2>"$dir/mon2.err"
tap_is "$?" 1 "and is refused a storage unit"
tap_ok "with one line saying why" sh -c "test \$(wc -l <'$dir/mon2.err') -eq 1 && grep -q 'may only read' '$dir/mon2.err'"
daemon_stop
tap_is "$?" 0 "ddtargetd stops cleanly"
tap_done
