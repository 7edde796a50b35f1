#!/bin/bash
# tls.sh - TLS on the protocol (PROTOCOL.md section 1, TLS): ddtargetd
# makes a key (0600) and a self-signed certificate at first start, logs
# its fingerprint, and `openssl s_client` gets TLS 1.3 and the certificate
# of that fingerprint, which `ddt status` shows too. ddt pins it on first
# use in its known-hosts file and refuses a changed one with one line
# naming the line to remove; --tls-fingerprint takes the right one and
# refuses a wrong one; --tls-ca takes a certificate a CA made here signed,
# and refuses it against another CA. A plaintext client is refused with
# one clear line, unless tls=loopback-plain, and then only from loopback.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/tap.sh"
TAG=tls
. "$top_srcdir/tests/e2e.sh"
command -v openssl >/dev/null || tap_bail "openssl (the command) not found"

# norm FP: "SHA256:" and the hex in lower case, without colons.
norm() { printf 'SHA256:%s\n' "$(printf '%s' "${1#*=}" | tr -d ':' | tr 'A-F' 'a-f')"; }
# served_fp [ARGS]: the fingerprint of the certificate s_client gets.
served_fp() {
	openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null
}

# ---- first start: a key and a self-signed certificate ----
daemon_start
tap_is "$(stat -c %a "$store/tls_key.pem")" 600 "the key is made, mode 0600"
tap_ok "with a self-signed certificate" test -s "$store/tls_cert.pem"
logfp=$(sed -n 's/.*TLS certificate .*, fingerprint \(SHA256:[0-9a-f]*\);.*/\1/p' \
	"$dir/daemon.log" | tail -1)
tap_ok "ddtargetd logs the fingerprint ($logfp)" test ${#logfp} -eq 71

openssl s_client -connect "127.0.0.1:$port" </dev/null >"$dir/s_client.out" 2>&1
tap_ok "openssl s_client gets TLS 1.3" grep -q 'TLSv1.3' "$dir/s_client.out"
tap_is "$(norm "$(served_fp)")" "$logfp" "with the certificate of the logged fingerprint"
tap_ok "TLS 1.2 is taken too" sh -c \
	"openssl s_client -connect 127.0.0.1:$port -tls1_2 </dev/null 2>&1 | grep -q 'TLSv1.2'"

# ---- trust on first use ----
run st1 status
tap_is "$rc" 0 "ddt status over TLS"
tap_ok "pins the certificate on first use, and says so" \
	grep -q "pinned the certificate of ddtargetd at 127.0.0.1:$port ($logfp) in $DDT_KNOWN_HOSTS" "$dir/st1.err"
tap_is "$(cat "$DDT_KNOWN_HOSTS")" "127.0.0.1:$port $logfp" "one line in the known-hosts file"
tap_is "$(sed -n 's/^tls: *\(SHA256:[0-9a-f]*\).*/\1/p' "$dir/st1.out")" "$logfp" \
	"ddt status shows the fingerprint"
run st2 status
tap_ok "the second time, quietly" test "$rc" -eq 0 -a ! -s "$dir/st2.err"

# ---- an explicit fingerprint ----
run fp1 --tls-fingerprint "$(served_fp | sed 's/.*=/SHA256:/')" --known-hosts /dev/null status
tap_is "$rc" 0 "--tls-fingerprint as openssl prints it (upper case, colons) is taken"
wrong=SHA256:$(printf '%064d' 0)
run fp2 --tls-fingerprint "$wrong" status
tap_is "$rc" 1 "a wrong --tls-fingerprint is refused (status 1)"
tap_ok "saying which certificate it saw and which it wanted" \
	grep -q "shows certificate $logfp, not the $wrong it was to show" "$dir/fp2.err"
DDT_TLS_FINGERPRINT=$wrong ddt status >/dev/null 2>"$dir/fp3.err"
tap_is "$?" 1 "so is a wrong \$DDT_TLS_FINGERPRINT"

# ---- a changed certificate ----
daemon_stop || tap_bail "the daemon did not stop"
rm -f "$store/tls_key.pem" "$store/tls_cert.pem"
daemon_start
newfp=$(norm "$(served_fp)")
tap_ok "a new pair is made when both files are gone" test "$newfp" != "$logfp"
run ch status
tap_is "$rc" 1 "the pinned client refuses the changed certificate (status 1)"
tap_is "$(wc -l <"$dir/ch.err")" 1 "with one line"
tap_ok "naming both fingerprints, the file and the line to remove" grep -q \
	"shows certificate $newfp, not $logfp pinned at $DDT_KNOWN_HOSTS line 1: if its certificate was changed on purpose, remove line 1 of $DDT_KNOWN_HOSTS" \
	"$dir/ch.err"
sed -i 1d "$DDT_KNOWN_HOSTS"
run ch2 status
tap_is "$rc" 0 "with the line removed, the new one is pinned"

# ---- a certificate a CA signed ----
ca=$dir/ca
mkdir -p "$ca"
( cd "$ca" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout srv.key -out srv.csr -subj /CN=localhost &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext &&
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -extfile ext -out srv.pem &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout other.key -out other.pem -days 2 -subj /CN=other-ca
) >"$dir/ca.log" 2>&1 || tap_bail "cannot make the test CA: $(cat "$dir/ca.log")"
daemon_stop || tap_bail "the daemon did not stop"
"$daemon_bin" --check-config --set tls_cert="$ca/srv.pem" \
	--set tls_key="$ca/other.key" >"$dir/cc.out" 2>&1
tap_ok "--check-config refuses a key that is not the certificate's" sh -c \
	"test $? -ne 0 && grep -qE 'cannot load the TLS key .*(mismatch|does not match)' '$dir/cc.out'"
daemon_start --set tls_cert="$ca/srv.pem" --set tls_key="$ca/srv.key"
run ca1 --tls-ca "$ca/ca.pem" --known-hosts /dev/null status
tap_is "$rc" 0 "--tls-ca takes the certificate the CA signed for 127.0.0.1"
run ca2 --tls-ca "$ca/other.pem" status
tap_is "$rc" 1 "another CA's file refuses it (status 1)"
tap_ok "saying it does not check against the CA file" \
	grep -q "does not check against the CA file" "$dir/ca2.err"

# ---- plaintext ----
run pl1 --no-tls status
tap_is "$rc" 1 "a plaintext client is refused by a TLS-only target (status 1)"
tap_is "$(wc -l <"$dir/pl1.err")" 1 "with one line"
tap_ok "that says the target requires TLS" \
	grep -q "ended the session: the target requires TLS" "$dir/pl1.err"
daemon_stop || tap_bail "the daemon did not stop"
daemon_start --set tls=loopback-plain -l 0.0.0.0
run pl2 --no-tls status
tap_is "$rc" 0 "with tls=loopback-plain, plaintext from loopback is taken"
run pl3 status
tap_is "$rc" 0 "and TLS still"
ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -v '^127\.' | grep '\.' | head -1)
if [ -n "$ip" ]; then
	"$ddt_bin" -H "$ip" -p "$port" --no-tls status >"$dir/pl4.out" 2>"$dir/pl4.err"
	tap_is "$?" 1 "but not from $ip, which is not loopback"
	tap_ok "told the target requires TLS, loopback only for plaintext" \
		grep -q "the target requires TLS.*plaintext is taken from loopback only" "$dir/pl4.err"
else
	tap_skip "no address but loopback here to try plaintext from"
	tap_skip "no address but loopback here to try plaintext from"
fi

daemon_stop
tap_is "$?" 0 "the daemon stops cleanly"
tap_done
