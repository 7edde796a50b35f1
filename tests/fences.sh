#!/bin/bash
# fences.sh - the layering is the build's, not a wish: each library and
# program compiles with the include folders of its own layer and those
# below (ARCHITECTURE.md), so including a header from beside or above
# fails. For each target, a header it may include compiles and headers it
# may not fail with "No such file".
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"

dir=$(tap_tmpdir fences) || tap_bail "mktemp -d failed"
trap 'tap_rmtree "$dir"' EXIT
cc=${CC:-cc}

make -s --no-print-directory -C "$top_builddir" print-fences >"$dir/fences" ||
	tap_bail "make print-fences failed"
# The flags name folders relative to the top build directory.
cd "$top_builddir" || tap_bail "cd $top_builddir"
flags() { sed -n "s|^$1=||p" "$dir/fences"; }

# probe VAR HEADER: compile a file that includes HEADER with VAR's flags
probe() {
	printf '#include "%s"\nint probe_unused;\n' "$2" >"$dir/p.c"
	# shellcheck disable=SC2046
	$cc $(flags "$1") -c "$dir/p.c" -o "$dir/p.o" 2>"$dir/err"
}

# may VAR HEADER..., may_not VAR HEADER...
may() {
	local v=$1 h
	shift
	for h in "$@"; do
		probe "$v" "$h"
		tap_check $? "$v may include $h"
	done
}
may_not() {
	local v=$1 h
	shift
	for h in "$@"; do
		if probe "$v" "$h"; then
			tap_check 1 "$v may not include $h, but it builds"
		else
			grep -q "No such file" "$dir/err"
			tap_check $? "$v may not include $h (not on its path)"
		fi
	done
}

[ -n "$(flags ddt_CPPFLAGS)" ] || tap_bail "no ddt_CPPFLAGS from the Makefile"

# A front end: the public face and proto/base, nothing else.
may ddt_CPPFLAGS ddtc.h ddtc_types.h ddterr.h tpool.h
may_not ddt_CPPFLAGS wire.h codec.h fp.h conn.h store.h ns.h ops.h
# The NFS gateway, a front end too: its own folder besides.
may ddt_nfsd_CPPFLAGS ddtc.h ddtc_types.h ddterr.h tpool.h gw_sess.h gw_files.h
may_not ddt_nfsd_CPPFLAGS wire.h codec.h fp.h segmenter.h conn.h rpc.h \
	ddtc_int.h wpool.h store.h ns.h ops.h server.h
# The client library: the wire codec and the segmenter, not the target.
may libddtc_a_CPPFLAGS wire.h codec.h conn.h
may_not libddtc_a_CPPFLAGS store.h idx.h ns.h ops.h
# The store: the segmenter, not the wire, the engine, the daemon, the client.
may libddtstore_a_CPPFLAGS fp.h codec.h store.h
may_not libddtstore_a_CPPFLAGS wire.h ns.h clean.h ops.h conn.h
# The engine: the store below it, not the wire or the daemon.
may libddtengine_a_CPPFLAGS store.h ns.h
may_not libddtengine_a_CPPFLAGS wire.h ops.h server.h conn.h
# The daemon: everything of the target, not the client library.
may ddtargetd_CPPFLAGS wire.h store.h ns.h ops.h
may_not ddtargetd_CPPFLAGS conn.h rpc.h
# proto/base knows nothing above it.
may_not libddtbase_a_CPPFLAGS fp.h wire.h store.h
may ddtfs_CPPFLAGS ddtc.h ddtc_types.h now.h
may_not ddtfs_CPPFLAGS wire.h codec.h conn.h ddtc_int.h store.h ns.h cmd.h
# The SNMP subagent, a front end: its own folder besides.
may ddtarget_snmp_CPPFLAGS ddtc.h ddtc_types.h ddterr.h now.h view.h trapq.h
may_not ddtarget_snmp_CPPFLAGS wire.h codec.h conn.h rpc.h ddtc_int.h store.h \
	ns.h ops.h gw_sess.h cmd.h

tap_done
