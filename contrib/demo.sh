#!/bin/sh
# demo.sh - the main job for now: back up /usr/share/doc into a local
# 4+2 erasure-coded store twice (the second run finds everything there),
# verify every byte, read a file back, and show the store's figures.
# Usage: contrib/demo.sh [SOURCE_DIR]   (store in $DDT_DEMO_STORE or ./demo-store)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
prog=${DDTSTORE_BIN:-$top/ddtstore}
src=${1:-/usr/share/doc}
store=${DDT_DEMO_STORE:-./demo-store}
[ -x "$prog" ] || { echo "demo: build first: autoreconf -fi && ./configure && make" >&2; exit 1; }

echo "== first backup of $src"
"$prog" -s "$store" ingest "$src"
echo "== second backup (nothing changed: only fingerprints are looked up)"
"$prog" -s "$store" ingest "$src"
echo "== verify every file against the store"
"$prog" -s "$store" check "$src" | tail -n 3
f=$(find "$src" -type f -size +4k | head -n 1)
if [ -n "$f" ]; then
	echo "== restore one file: $f"
	"$prog" -s "$store" cat "$f" | cmp - "$f" && echo "identical"
fi
echo "== store"
"$prog" -s "$store" stats
