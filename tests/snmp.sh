#!/bin/bash
# snmp.sh - ddtarget-snmp end to end with the real tools, each on private
# ports and directories: ddtargetd, snmpd as the AgentX master (its own
# configuration and state directory, a private AgentX socket), snmptrapd
# as the trap sink, and the subagent between them as a status-role user.
# snmpwalk of the whole DDTARGET-MIB subtree, by name, matches
# `ddt status --json`; a backup moves the counters; a removed data
# directory gives its trap and its row's state; the dedup-ratio anomaly
# traps an encrypted-looking second backup and not an ordinary one;
# traps raised while snmpd is away come when it is back, and so does the
# subagent (within 2 s); with ddtargetd down the subagent answers
# "unreachable" at once instead of timing out, and it finds ddtargetd
# again when it is back.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

for t in snmpd snmptrapd snmpwalk snmpget; do
	if ! command -v "$t" >/dev/null; then
		tap_skip "$t not installed (Debian packages snmpd, snmptrapd, snmp)"
		tap_done
		exit
	fi
done

TAG=snmp
. "$top_srcdir/tests/e2e.sh"
E2E_EC=4+2	# it loses two data directories at a time

agent_bin=$top_builddir/ddtarget-snmp
mibs=$top_srcdir/snmp
[ -x "$agent_bin" ] || tap_bail "build ddtarget-snmp first"
# net-snmp's tools and daemons read and write only here.
export SNMPCONFPATH=$dir/snmpconf SNMP_PERSISTENT_DIR=$dir/snmpstate
mkdir -p "$SNMPCONFPATH" "$SNMP_PERSISTENT_DIR" || tap_bail mkdir
udp_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
sport=$(udp_port) tport=$(udp_port)
sock=$dir/agentx.sock
spid= tpid= apid=
snmp_cleanup() {
	local p
	for p in $apid $spid $tpid; do
		kill -9 "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	e2e_cleanup
}
trap snmp_cleanup EXIT

# eventually DESC CMD...: one outcome, ok once CMD succeeds (within 20 s)
eventually() {
	local desc=$1
	shift
	for _ in $(seq 200); do
		if "$@"; then
			tap_check 0 "$desc"
			return 0
		fi
		sleep 0.1
	done
	tap_check 1 "$desc"
	return 1
}

# The tools: SNMPv2c on snmpd's private port, names from DDTARGET-MIB,
# values bare (-Oq), enumerations as numbers (-Oe), no units (-OU).
S() {
	local tool=$1
	shift
	"$tool" -v2c -c public -t 1 -r 0 -M "+$mibs" -m DDTARGET-MIB \
		-Oqs -Oe -OU "127.0.0.1:$sport" "$@"
}
# get NAME: one object's value ("" if no answer)
get() { S snmpget "DDTARGET-MIB::$1" 2>/dev/null | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }

cat >"$SNMPCONFPATH/snmpd.conf" <<EOF
agentaddress udp:127.0.0.1:$sport
master agentx
agentXSocket $sock
rocommunity public 127.0.0.1
trap2sink 127.0.0.1:$tport public
EOF
printf 'disableAuthorization yes\n' >"$dir/snmptrapd.conf"

snmpd_start() {
	snmpd -f -Lo -I -smux -C -c "$SNMPCONFPATH/snmpd.conf" \
		>>"$dir/snmpd.log" 2>&1 &
	spid=$!
	for _ in $(seq 100); do
		snmpget -v2c -c public -t 0.2 -r 0 "127.0.0.1:$sport" \
			.1.3.6.1.2.1.1.3.0 >/dev/null 2>&1 && [ -S "$sock" ] &&
			return 0
		sleep 0.05
	done
	tap_bail "snmpd did not start; see $dir/snmpd.log: $(tail -3 "$dir/snmpd.log")"
}
snmpd_stop() { stop_pid "$spid"; spid=; }

snmptrapd -f -Lo -C -c "$dir/snmptrapd.conf" -M "+$mibs" -m DDTARGET-MIB \
	"127.0.0.1:$tport" >"$dir/traps.log" 2>&1 &
tpid=$!

# ---- ddtargetd, with a status-role user for the subagent ----
conf=$dir/ddtargetd.conf
printf 'health_interval = 1\n' >"$conf"
daemon_start -c "$conf"
daemon_stop >/dev/null
echo 'snmp-secret' | "$daemon_bin" -s "$store" --set-password snmp --role status \
	>"$dir/setpw.out" 2>&1 || tap_bail "--set-password snmp --role status: $(cat "$dir/setpw.out")"
printf 'snmp-secret\n' >"$dir/snmp.password"
daemon_start -c "$conf"
ddt su create u >/dev/null || tap_bail "su create"

# ---- the subagent ----
cat >"$dir/agent.conf" <<EOF
[target]
port = $port
user = snmp
password_file = $dir/snmp.password
poll_seconds = 1
timeout_seconds = 5
[agent]
agentx_socket = $sock
ping_seconds = 1
EOF
printf '[target]\nport = %s\npoll_second = 1\n' "$port" >"$dir/bad.conf"
"$agent_bin" -c "$dir/bad.conf" >/dev/null 2>"$dir/bad.err"
tap_is $? 2 "a misspelt key is a configuration error (exit 2)"
tap_ok "named with its line" grep -q "line 3: \[target\] poll_second: unknown key" "$dir/bad.err"
"$agent_bin" --help >"$dir/help.out" 2>&1
tap_ok "--help says what it is" grep -q "AgentX subagent" "$dir/help.out"

# Started before snmpd, it finds snmpd when snmpd is there.
"$agent_bin" -c "$dir/agent.conf" >>"$dir/agent.log" 2>&1 &
apid=$!
sleep 0.5
snmpd_start
reachable() { [ "$(get ddtDaemonState.0)" = 1 ]; }
eventually "started before snmpd, the subagent answers through it: ddtargetd reachable" reachable ||
	tap_bail "no answer; see $dir/agent.log: $(tail -3 "$dir/agent.log")"

# ---- the whole subtree against `ddt status --json` ----
src=$dir/src
mkdir -p "$src" || tap_bail mkdir
python3 -c "
import random
r = random.Random(7)
words = [''.join(r.choice('abcdefghij') for _ in range(r.randint(2, 9))) for _ in range(500)]
with open('$src/text.txt', 'w') as f:
    f.write(' '.join(r.choice(words) for _ in range(400000)))
" || tap_bail "test data"
size=$(stat -c %s "$src/text.txt")
# Both poll and walk see the same figures once the backup is in and one
# more poll has passed.
run b1 backup "$src" --su u --name plain -q
tap_is "$rc" 0 "a backup of ${size} bytes into u"
# A poll may fall inside the backup (counted, its file not yet in): wait
# for the figures of the finished backup.
backed_up() { [ "$(get ddtLogicalBytes.0)" = "$size" ]; }
eventually "a backup moves ddtLogicalBytes to what it wrote" backed_up
tap_is "$(get ddtBackupCount.0)" 1 "and ddtBackupCount to 1"
tap_is "$(get ddtSuName.1)" u "ddtSuTable's first row is unit u"
tap_is "$(get ddtSuLogicalBytes.1)" "$size" "ddtSuLogicalBytes is what the backup wrote"
ing=$(get ddtIngestLogicalBytes.1)
[ "${ing:-0}" -ge "$size" ]
tap_check $? "ddtIngestLogicalBytes.sinceCreation moved past it ($ing)"
st=$(get ddtStoredBytes.0)
[ "${st:-0}" -gt 0 ] && [ "$st" -lt "$size" ]
tap_check $? "ddtStoredBytes holds it compressed ($st of $size)"
[ "$(get ddtLocalFactor.0 | tr -d .)" -gt 100 ]
tap_check $? "so ddtLocalFactor is over 1.00 ($(get ddtLocalFactor.0))"

sleep 1.5
S snmpwalk DDTARGET-MIB::ddtargetMIB >"$dir/walk.out" 2>"$dir/walk.err"
tap_is $? 0 "snmpwalk of DDTARGET-MIB::ddtargetMIB"
ddt status --json >"$dir/status.json" 2>"$dir/status.err"
tap_is $? 0 "ddt status --json"
python3 - "$dir/walk.out" "$dir/status.json" >"$dir/cmp.out" 2>&1 <<'PY'
# Each object of the walk against the STATUS/STATUS_TEXT key it shows.
import json, re, sys
walk = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\S+) ?(.*)$', line.rstrip('\n'))
    if m:
        v = m.group(2)
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        walk[m.group(1)] = v
st = json.load(open(sys.argv[2]))
def num(k):
    return int(st.get(k, 0))
def out(ok, what):
    print(('ok ' if ok else 'not ok ') + what)
def same(name, want):
    got = walk.get(name)
    out(got == str(want), '%s = %s (want %s)' % (name, got, want))
def near(name, want, slack):
    got = walk.get(name)
    ok = got is not None and abs(int(got) - int(want)) <= slack
    out(ok, '%s = %s (want %s, +-%d: the file system moves)' % (name, got, want, slack))
def factor(a, b):
    return 0 if b == 0 else min(a * 100 // b, 2**32 - 1)
def fac(v):     # "2.50" (DISPLAY-HINT d-2) -> 250
    return int(v.replace('.', '')) if v else None
# A key the target does not give would answer 0 on both sides: the keys
# the MIB reads must be there for the comparison to mean anything.
keys = ['version', 'store_id', 'uptime_seconds', 'storage_units', 'backups', 'files',
        'capacity_bytes', 'used_bytes', 'free_bytes', 'cleanable_bytes', 'used_pct',
        'logical_bytes', 'raw_bytes', 'stored_bytes', 'physical_bytes',
        'ingest_logical_bytes', 'ingest_raw_bytes', 'ingest_stored_bytes',
        'logical_24h_bytes', 'raw_24h_bytes', 'stored_24h_bytes',
        'logical_7d_bytes', 'raw_7d_bytes', 'stored_7d_bytes',
        'streams_backup', 'streams_restore', 'streams_replication', 'streams_backup_soft',
        'streams_backup_hard', 'streams_restore_soft', 'streams_restore_hard',
        'ec_k', 'ec_m', 'data_dirs', 'degraded_containers', 'last_scrub_ns',
        'last_scrub_result', 'clean_running', 'clean_progress_pct', 'last_clean_ns',
        'last_clean_reclaimed_bytes', 'last_checkpoint_ns', 'checkpoint_failures',
        'alerts_critical', 'alerts_warning', 'alerts_info', 'alerts_seq',
        'root.path', 'root.state', 'dir0.state']
gone = [k for k in keys if k not in st]
out(not gone, 'ddt status --json gives every key the MIB reads%s' %
    (' (missing: %s)' % ' '.join(gone) if gone else ''))
same('ddtVersion.0', st.get('version', ''))
same('ddtStoreId.0', st.get('store_id', ''))
same('ddtDaemonState.0', 1)
for name, key in [('ddtStorageUnitCount', 'storage_units'), ('ddtBackupCount', 'backups'),
                  ('ddtFileCount', 'files'), ('ddtSpaceCapacity', 'capacity_bytes'),
                  ('ddtSpaceCleanable', 'cleanable_bytes'),
                  ('ddtLogicalBytes', 'logical_bytes'), ('ddtRawBytes', 'raw_bytes'),
                  ('ddtStoredBytes', 'stored_bytes'), ('ddtPhysicalBytes', 'physical_bytes'),
                  ('ddtStreamsBackup', 'streams_backup'), ('ddtStreamsRestore', 'streams_restore'),
                  ('ddtStreamsReplication', 'streams_replication'),
                  ('ddtBackupStreamsSoft', 'streams_backup_soft'),
                  ('ddtBackupStreamsHard', 'streams_backup_hard'),
                  ('ddtRestoreStreamsSoft', 'streams_restore_soft'),
                  ('ddtRestoreStreamsHard', 'streams_restore_hard'),
                  ('ddtEcDataFragments', 'ec_k'), ('ddtEcParityFragments', 'ec_m'),
                  ('ddtDataDirCount', 'data_dirs'), ('ddtDegradedContainers', 'degraded_containers'),
                  ('ddtCleanProgress', 'clean_progress_pct'),
                  ('ddtLastCleanReclaimed', 'last_clean_reclaimed_bytes'),
                  ('ddtCheckpointFailures', 'checkpoint_failures'),
                  ('ddtAlertsCritical', 'alerts_critical'), ('ddtAlertsWarning', 'alerts_warning'),
                  ('ddtAlertsInfo', 'alerts_info'), ('ddtAlertSeq', 'alerts_seq')]:
    same(name + '.0', num(key))
for name, key in [('ddtLastScrubTime', 'last_scrub_ns'), ('ddtLastCleanTime', 'last_clean_ns'),
                  ('ddtLastCheckpointTime', 'last_checkpoint_ns')]:
    same(name + '.0', num(key) // 10**9)
same('ddtCleanState.0', 2 if num('clean_running') else 1)
same('ddtLastScrubResult.0', num('last_scrub_result') + 2 if num('last_scrub_ns') else 1)
cap = max(num('capacity_bytes'), 1)
near('ddtSpaceUsed.0', num('used_bytes'), cap // 100)
near('ddtSpaceAvailable.0', num('free_bytes'), cap // 100)
near('ddtSpaceUsedPercent.0', num('used_pct'), 1)
lg, raw, sto = num('logical_bytes'), num('raw_bytes'), num('stored_bytes')
out(fac(walk.get('ddtGlobalFactor.0')) == factor(lg, raw), 'ddtGlobalFactor is logical/raw')
out(fac(walk.get('ddtLocalFactor.0')) == factor(raw, sto), 'ddtLocalFactor is raw/stored')
out(fac(walk.get('ddtTotalFactor.0')) == factor(lg, sto), 'ddtTotalFactor is logical/stored')
for idx, p in [('sinceCreation', 'ingest_%s_bytes'), ('last24Hours', '%s_24h_bytes'),
               ('last7Days', '%s_7d_bytes')]:
    for col, part in [('Logical', 'logical'), ('Raw', 'raw'), ('Stored', 'stored')]:
        same('ddtIngest%sBytes.%s' % (col, idx), num(p % part))
dirs = ['root'] + ['dir%d' % i for i in range(num('data_dirs'))]
for i, d in enumerate(dirs):
    idx = i + 1
    same('ddtDirName.%d' % idx, d)
    same('ddtDirPath.%d' % idx, st.get(d + '.path', ''))
    state = st.get(d + '.state') or ('present' if num(d + '.present') else 'missing')
    same('ddtDirState.%d' % idx, ['present', 'missing', 'degraded', 'rebuilding'].index(state) + 1)
    same('ddtDirProblem.%d' % idx, st.get(d + '.problem', ''))
    same('ddtDirCapacity.%d' % idx, num(d + '.capacity_bytes'))
    near('ddtDirUsedPercent.%d' % idx, num(d + '.used_pct'), 1)
    same('ddtDirCleanable.%d' % idx, num(d + '.cleanable_bytes'))
alerts = st.get('alerts', [])
out(len([k for k in walk if k.startswith('ddtAlertId.')]) == len(alerts),
    'ddtAlertTable has a row for each of the %d alerts' % len(alerts))
for i, a in enumerate(alerts):
    same('ddtAlertId.%d' % (i + 1), a.get('id'))
PY
while read -r st rest; do
	[ "$st" = ok ]
	tap_check $? "walk: $rest"
done < <(grep -E '^(ok|not ok) ' "$dir/cmp.out" | sed 's/^not ok/not-ok/')
grep -qE '^(ok|not ok) ' "$dir/cmp.out" || tap_check 1 "walk comparison ran: $(head -5 "$dir/cmp.out")"

# ---- the dedup-ratio anomaly ----
run b2 backup "$src" --su u --name plain -q
tap_is "$rc" 0 "an ordinary second backup (the same files)"
run b3 backup "$src" --su u --name enc -q
tap_is "$rc" 0 "a first backup of another name seeds its history"
mkdir -p "$dir/enc" || tap_bail mkdir
head -c "$size" /dev/urandom >"$dir/enc/text.txt"
run b4 backup "$dir/enc" --su u --name enc -q
tap_is "$rc" 0 "its second backup: the same file, encrypted-looking"
anomaly_trap() { grep -q 'ddtDedupAnomaly' "$dir/traps.log"; }
eventually "the anomaly trap comes" anomaly_trap
grep 'ddtDedupAnomaly' "$dir/traps.log" >"$dir/anomaly.traps"
tap_ok "for unit u (ddtNotifyAlertId anomaly:u)" grep -q 'ddtNotifyAlertId.0 = STRING: "\?anomaly:u' "$dir/anomaly.traps"
tap_ok "naming the encrypted backup" grep -q 'enc@' "$dir/anomaly.traps"
tap_is "$(wc -l <"$dir/anomaly.traps")" 1 "one anomaly trap: none for the ordinary backup"
tap_ok "which it does not name" sh -c "! grep -q 'plain@' '$dir/anomaly.traps'"

# ---- a data directory removed ----
rm -rf "$store/data/dir1"
lost_trap() { grep -q 'ddtDirectoryLost.*dir:dir1' "$dir/traps.log"; }
eventually "a removed data directory gives ddtDirectoryLost for dir:dir1" lost_trap
tap_ok "a critical one" sh -c "grep 'ddtDirectoryLost.*dir:dir1' '$dir/traps.log' | grep -q 'ddtNotifySeverity.0 = INTEGER: critical(1)'"
missing() { [ "$(get ddtDirState.3)" = 2 ]; }
eventually "its row (ddtDirState.3, dir1) says missing" missing
tap_ok "and ddtDirProblem says why" test -n "$(get ddtDirProblem.3)"
alert_row() { S snmpwalk DDTARGET-MIB::ddtAlertId 2>/dev/null | grep -q 'dir:dir1'; }
eventually "ddtAlertTable lists dir:dir1" alert_row

# ---- snmpd away: traps wait, and the subagent comes back ----
snmpd_stop
rm -rf "$store/data/dir2"
eventually "(the target raises dir:dir2 while snmpd is away)" alert critical dir:dir2
sleep 2.5		# the subagent polls it and queues the trap
tap_ok "no trap for it yet" sh -c "! grep -q 'dir:dir2' '$dir/traps.log'"
snmpd_start
back=0
for i in $(seq 20); do
	reachable && { back=1; break; }
	sleep 0.1
done
tap_is "$back" 1 "snmpd restarted: the subagent answers again within 2 s ($((i * 100)) ms)"
queued_trap() { grep -q 'ddtDirectoryLost.*dir:dir2' "$dir/traps.log"; }
eventually "the trap raised while snmpd was away comes now" queued_trap

# ---- ddtargetd down: answers, not timeouts ----
daemon_stop >/dev/null
unreachable() { [ "$(get ddtDaemonState.0)" = 2 ]; }
eventually "ddtargetd down: ddtDaemonState answers unreachable" unreachable
S snmpget DDTARGET-MIB::ddtDaemonMessage.0 DDTARGET-MIB::ddtSpaceCapacity.0 \
	DDTARGET-MIB::ddtStatusAge.0 >"$dir/down.out" 2>&1
tap_is $? 0 "its objects answer at once (no timeout)"
tap_ok "ddtDaemonMessage says why" grep -q 'ddtDaemonMessage.0 .*ddtargetd' "$dir/down.out"
tap_ok "the last figures stay" sh -c "grep -q 'ddtSpaceCapacity.0 [1-9]' '$dir/down.out'"
tap_diag "$(cat "$dir/down.out")"
daemon_start -c "$conf"
eventually "ddtargetd back: the subagent reads it again" reachable
stop_pid "$apid"
tap_ok "the subagent stops on SIGTERM" sh -c "! kill -0 $apid 2>/dev/null"
apid=
tap_done
