# e2e.sh - what the end-to-end scripts share: a private directory, a real
# ddtargetd on a free loopback port over a store in it, and ddt run against
# it with its output kept for the checks. Source it after tap.sh, with TAG
# set; it starts nothing by itself. Sets dir, store, port; a script that
# mounts a file system for its store sets mnt, and the cleanup at exit
# unmounts it.
#
#   daemon_start [ARGS...]   start ddtargetd, no maintenance scheduled unless
#                            ARGS --set it; with --ec $E2E_EC if set (a test
#                            that loses disks sets E2E_EC=4+2: on one file
#                            system a new store's default is 8+1)
#   daemon_stop              SIGTERM it and reap it; its exit status
#   daemon_kill              SIGKILL it and reap it
#   stop_pid PID             SIGTERM a process (SIGKILL after 5 s), reap it
#   ddt ARGS...              the client, logged in as admin
#   run NAME ARGS...         ddt with output in $dir/NAME.out / .err, $rc
#   field NAME KEY           the value of "KEY: value" in NAME.out
#   alert SEVERITY ID        the target lists that alert now
#   no_alert ID              it does not

daemon_bin=$top_builddir/ddtargetd
ddt_bin=$top_builddir/ddt
[ -x "$daemon_bin" ] && [ -x "$ddt_bin" ] || tap_bail "build ddtargetd and ddt first"

dir=$(tap_tmpdir "$TAG") || tap_bail "mktemp -d failed"
dpid=
mnt=
e2e_cleanup() {
	[ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt"
	fi
	tap_rmtree "$dir"
}
trap e2e_cleanup EXIT
store=$dir/store
export DDT_CACHE_DIR=$dir/cache HOME=$dir/home DDT_PASSWORD=
# The certificates ddt and the gateways pin (TLS is on): this test's own
# file, since another test's daemon may have had the same port before.
export DDT_KNOWN_HOSTS=$dir/known_hosts
unset DDT_TLS DDT_TLS_FINGERPRINT DDT_TLS_CA
mkdir -p "$HOME"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

daemon_start() {
	# Nothing runs by itself unless the test asks (later --set wins).
	"$daemon_bin" -s "$store" -p "$port" -v --set clean_schedule=never \
		--set checkpoint_schedule=never --set expire_schedule=never \
		--set scrub_schedule=never ${E2E_EC:+--ec "$E2E_EC"} \
		"$@" >>"$dir/daemon.log" 2>&1 &
	dpid=$!
	for _ in $(seq 200); do
		if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null; then
			DDT_PASSWORD=$(cat "$store/admin.password") ||
				tap_bail "no admin password in $store"
			return 0
		fi
		sleep 0.05
	done
	tap_bail "ddtargetd did not start; see $dir/daemon.log"
}

daemon_stop() {
	local st
	kill -TERM "$dpid" && wait "$dpid"
	st=$?
	dpid=
	return $st
}

daemon_kill() {
	kill -9 "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	dpid=
}

# Stop pid (TERM, then KILL after 5 s) and reap it.
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

ddt() { "$ddt_bin" -p "$port" "$@"; }

run() {
	local name=$1
	shift
	ddt "$@" >"$dir/$name.out" 2>"$dir/$name.err"
	rc=$?
	[ -s "$dir/$name.err" ] && tap_diag "$name: $(head -c 2000 "$dir/$name.err")"
	return 0
}

field() { sed -n "s/^$2: *//p" "$dir/$1.out" | head -n 1; }

alert() { ddt alerts 2>/dev/null | grep -q "^$1 .*  $2  "; }
no_alert() { ! ddt alerts 2>/dev/null | grep -q "  $1  "; }
