#!/bin/sh
# install-deps.sh - the Debian 12 packages that build and test ddtarget.
# The one list of them: the README, .ci/run and newcomers all use this.
set -eu
PKGS="autoconf automake make gcc pkg-config python3 openssl
libevent-dev librocksdb-dev libisal-dev libssl-dev liblz4-dev libzstd-dev
libfuse3-dev fuse3 samba smbclient rclone
libtirpc-dev rpcsvc-proto libinih-dev libnfs-dev libnfs-utils
libsnmp-dev snmpd snmp snmptrapd smitools
clang libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
