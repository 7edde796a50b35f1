# nfsgw.sh - ddt-nfsd for the NFS end-to-end scripts: started on a
# configuration whose ports are 0 (it picks free ones and prints them),
# waited for, killed at exit. Source it after e2e.sh; it starts nothing
# by itself. Sets nfsd_bin, gpid, gport and U (a URL's query).
#
#   nfsgw_start CONF     start ddt-nfsd on CONF; bail out if it never listens
#   nfsgw_kill           SIGKILL it and reap it
#   url EXPORT [PATH]    an nfs:// URL for libnfs's tools

nfsd_bin=$top_builddir/ddt-nfsd
[ -x "$nfsd_bin" ] || tap_bail "build ddt-nfsd first"
gpid=
nfsgw_cleanup() {
	[ -n "$gpid" ] && kill -9 "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null
	e2e_cleanup
}
trap nfsgw_cleanup EXIT

nfsgw_start() {
	: >"$dir/gw.out"
	"$nfsd_bin" -c "$1" >"$dir/gw.out" 2>>"$dir/gw.log" &
	gpid=$!
	gport=
	for _ in $(seq 200); do
		gport=$(sed -n 's/^ddt-nfsd: listening nfs_port=\([0-9]*\).*/\1/p' "$dir/gw.out")
		[ -n "$gport" ] && break
		kill -0 "$gpid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$gport" ] || tap_bail "ddt-nfsd did not start; see $dir/gw.log: $(tail -3 "$dir/gw.log")"
	U="?nfsport=$gport&mountport=$gport"
}
nfsgw_kill() { kill -9 "$gpid" 2>/dev/null; wait "$gpid" 2>/dev/null; gpid=; }
url() { echo "nfs://127.0.0.1/$1${2:+/$2}$U"; }
