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
