# smbd.sh - a private Samba for the share tests and benches: smbd in the
# foreground on a free loopback port, every directory it writes under one
# folder, guests mapped to root, one share. Source it (bash); it starts
# nothing by itself.
#
#   smbd_start DIR PATH [SHARE]   serve PATH as SHARE (default "share"),
#                                 with smbd's files under DIR; sets
#                                 smb_port, smb_conf, smb_pid
#   smbd_stop                     stop it (and its session processes)
#   smb_cmd COMMANDS              smbclient -c COMMANDS as a guest, in the
#                                 current directory

smb_pid=
smbd_start() {
	local d=$1 share=${3:-share}
	smb_share=$share
	smb_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	smb_conf=$d/smb.conf
	mkdir -p "$d/private" "$d/lock" "$d/state" "$d/cache" "$d/pid" "$d/nc" ||
		return 1
	cat >"$smb_conf" <<CONF
[global]
	smb ports = $smb_port
	interfaces = lo
	bind interfaces only = yes
	private dir = $d/private
	lock directory = $d/lock
	state directory = $d/state
	cache directory = $d/cache
	pid directory = $d/pid
	ncalrpc dir = $d/nc
	log file = $d/log
	passdb backend = tdbsam:$d/private/passdb.tdb
	map to guest = Bad User
	server role = standalone server
	load printers = no
	disable spoolss = yes
	# Synchronous reads and writes, and reads sent with sendfile(2):
	# over a FUSE mount they measured fastest (contrib/samba/smb.conf).
	aio read size = 0
	aio write size = 0
	use sendfile = yes
[$share]
	path = $2
	read only = no
	guest ok = yes
	force user = root
CONF
	smbd -F --no-process-group -s "$smb_conf" >"$d/smbd.out" 2>&1 &
	smb_pid=$!
	for _ in $(seq 200); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $smb_port))" 2>/dev/null &&
			return 0
		sleep 0.05
	done
	return 1
}

smbd_stop() {
	[ -n "$smb_pid" ] || return 0
	# smbd serves each session in a process of its own.
	# (the braces keep bash's "Killed" notice off stderr)
	{ pkill -9 -f "smbd .*-s $smb_conf"; kill -9 "$smb_pid"; wait "$smb_pid"; } 2>/dev/null
	smb_pid=
}

smb_cmd() {
	smbclient -N -p "$smb_port" -s "$smb_conf" "//127.0.0.1/$smb_share" -c "$1"
}
