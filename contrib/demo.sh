#!/bin/sh
# demo.sh - the main job: start ddtargetd on a local store, back up a
# directory twice with ddt (the second run sends almost nothing), restore
# it and compare every byte, show the target's figures, stop the daemon.
# Usage: contrib/demo.sh [SOURCE_DIR]     (default /usr/share/doc)
# The store stays in $DDT_DEMO_STORE (default ./demo-store) for a look;
# remove it when done.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${DDT_BIN_DIR:-$top}
src=${1:-/usr/share/doc}
store=${DDT_DEMO_STORE:-$PWD/demo-store}
port=${DDT_DEMO_PORT:-7410}
work=$(mktemp -d "${TMPDIR:-/tmp}/ddt-demo-XXXXXX")
[ -x "$bin/ddtargetd" ] && [ -x "$bin/ddt" ] ||
	{ echo "demo: build first: autoreconf -fi && ./configure && make" >&2; exit 1; }

# The demo's store may be new on a port used before: ddt pins its TLS
# certificate in the demo's own known-hosts file, not the user's.
export DDT_KNOWN_HOSTS="$work/known_hosts"
"$bin/ddtargetd" -s "$store" -p "$port" >"$work/ddtargetd.log" 2>&1 &
dpid=$!
trap 'kill $dpid 2>/dev/null; wait $dpid 2>/dev/null; rm -rf "$work"' EXIT
i=0
until [ -s "$store/admin.password" ] && "$bin/ddt" -p "$port" \
	--password-file "$store/admin.password" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$work/ddtargetd.log" >&2; exit 1; }
	sleep 0.1
done
ddt() { "$bin/ddt" -p "$port" --password-file "$store/admin.password" "$@"; }
export DDT_CACHE_DIR="$work/cache"

echo "== ddtargetd is up on 127.0.0.1:$port, store $store"
ddt su list | grep -q '^demo ' || ddt su create demo
echo "== first backup of $src"
ddt backup "$src" --su demo --name demo
echo "== second backup (unchanged files are not even read)"
ddt backup "$src" --su demo --name demo
echo "== backups"
ddt list --su demo
echo "== restore the latest and compare every byte"
ddt restore demo "$work/restore" --su demo
diff -r --no-dereference "$src" "$work/restore" &&
	echo "restored tree is identical to $src"
echo "== target status"
ddt status
