# common.sh - what the benchmark scripts here share, sourced by them (POSIX
# sh, so the sh and the bash ones alike): the tree's top, the shared data
# set built once, and for those that drive a real ddtargetd, a daemon on a
# free loopback port with ddt logged in to it. Sets top; the daemon's
# helpers want bin (the directory holding ddtargetd and ddt), store and
# work (where its log goes).
#
#   die MSG...               MSG on stderr after the script's name; exit 1
#   bench_data DATA MKDATA   build the data set into DATA with mkdata.py
#                            (MKDATA) unless DATA holds gen1 and gen2
#   now                      the time in seconds, to the nanosecond
#   daemon_start [ARGS...]   ddtargetd over $store on a free port ($port),
#                            nothing scheduled; waits until it answers,
#                            exports DDT_PASSWORD and DDT_KNOWN_HOSTS
#                            (in $work), sets dpid
#   daemon_stop              SIGTERM it and reap it
#   ddt ARGS...              the client against it
#   bench_step TOOL STEP CMD...
#                            run CMD (a program, not a function), its output
#                            in $work/TOOL-STEP.log; append to
#                            $work/steps.tsv its wall seconds, its user and
#                            system CPU seconds (children included), and
#                            the daemon's ($dpid, if one runs) over the step
#                            and until it is idle again; sets step_rc
#   bench_bytes TOOL STORED DISK ALL
#                            append a tool's bytes to $work/bytes.tsv: before
#                            parity, on disk with parity, all it keeps
#   bench_report FORMAT [--floor TOOL]
#                            the two files as a table, csv or json
#                            (report.py); a floor is not a peer
# A daemon still running when the script exits is killed.

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# The repository's top: git's idea of it, or two levels above this script.
bench_here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$bench_here" rev-parse --show-toplevel 2>/dev/null) ||
	top=$(cd "$bench_here/../.." && pwd)

bench_data() {
	[ -d "$1/gen1" ] && [ -d "$1/gen2" ] && return 0
	[ -f "$2" ] ||
		die "no data set in $1 and no generator at $2; give one with --mkdata or \$DDT_MKDATA"
	[ ! -e "$1" ] ||
		die "$1 exists but holds no data set; remove it or give another with --data"
	echo "${0##*/}: building the data set in $1 (once; several minutes)" >&2
	# Built beside its final place and renamed when complete, so that an
	# interrupted build is never taken for a finished data set.
	(
		tmp="$1.tmp.$$"
		trap 'rm -rf "$tmp"' EXIT
		trap 'exit 130' INT TERM
		python3 "$2" "$tmp" && mv "$tmp" "$1"
	) || die "building the data set in $1 failed; see above"
}

now() { date +%s.%N; }

dpid=
bench_cleanup() { [ -z "$dpid" ] || kill -9 "$dpid" 2>/dev/null; }
trap bench_cleanup EXIT

daemon_start() {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$bin/ddtargetd" -s "$store" -p "$port" --set clean_schedule=never \
		--set checkpoint_schedule=never --set expire_schedule=never \
		--set scrub_schedule=never "$@" >>"$work/daemon.log" 2>&1 &
	dpid=$!
	for _ in $(seq 200); do
		if [ -f "$store/admin.password" ] &&
		   python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; then
			DDT_PASSWORD=$(cat "$store/admin.password") ||
				die "no admin password in $store"
			# A fresh store's certificate, on a port another run
			# may have had: pinned anew in a file of the bench's.
			DDT_KNOWN_HOSTS=$work/known_hosts
			rm -f "$DDT_KNOWN_HOSTS"
			export DDT_PASSWORD DDT_KNOWN_HOSTS
			return 0
		fi
		sleep 0.05
	done
	die "the daemon did not start; see $work/daemon.log"
}

daemon_stop() {
	kill -TERM "$dpid"
	wait "$dpid"
	dpid=
}

ddt() { "$bin/ddt" -p "$port" "$@"; }

# ---- timing steps ----

# The daemon's CPU ticks, user and system ("0 0" without a daemon): fields
# 14 and 15 of /proc/PID/stat, counted after the ")" that ends its name.
daemon_ticks() {
	if [ -n "$dpid" ] && [ -r "/proc/$dpid/stat" ]; then
		sed 's/.*) //' "/proc/$dpid/stat" | awk '{ print $12, $13 }'
	else
		echo "0 0"
	fi
}

# A daemon seals containers and writes fragments after the reply that
# ended a step: its CPU belongs to the step until it is idle (no tick in
# half a second, twice), at most 60 s. The wall time is the client's.
daemon_settle() {
	[ -n "$dpid" ] || return 0
	last=$(daemon_ticks) still=0
	for _ in $(seq 120); do
		sleep 0.5
		cur=$(daemon_ticks)
		if [ "$cur" = "$last" ]; then
			still=$((still + 1))
			[ $still -ge 2 ] && return 0
		else
			still=0
		fi
		last=$cur
	done
}

bench_step() {
	b_tool=$1 b_step=$2
	shift 2
	b_log=$work/$b_tool-$b_step.log
	b_d0=$(daemon_ticks)
	/usr/bin/time -f '%e %U %S' -o "$work/.time" "$@" >"$b_log" 2>&1
	step_rc=$?
	daemon_settle
	b_d1=$(daemon_ticks)
	b_hz=$(getconf CLK_TCK)
	if [ $step_rc -ne 0 ]; then
		echo "${0##*/}: $b_tool $b_step failed (exit $step_rc), see $b_log" >&2
		b_time="FAIL FAIL FAIL"
	else
		b_time=$(tail -n 1 "$work/.time")
	fi
	if [ -n "$dpid" ]; then
		b_daemon=$(echo "$b_d0 $b_d1 $b_hz" | awk '{ printf "%.2f\t%.2f", ($3 - $1) / $5, ($4 - $2) / $5 }')
	else
		b_daemon=$(printf '%s\t%s' - -)
	fi
	printf '%s\t%s\t%s\t%s\n' "$b_tool" "$b_step" \
		"$(echo "$b_time" | tr ' ' '\t')" "$b_daemon" >>"$work/steps.tsv"
	return $step_rc
}

bench_bytes() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$work/bytes.tsv"
}

bench_report() {
	b_fmt=$1
	shift
	python3 "$bench_here/report.py" --format "$b_fmt" "$@" \
		"$work/steps.tsv" "$work/bytes.tsv"
}
