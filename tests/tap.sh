# tap.sh - a minimal TAP producer for shell tests, the twin of tests/tap.h:
# source it, make one counted assertion per outcome worth counting, and end
# with tap_done, whose status tap-driver.sh reads along with the lines.
#
#   . "$top_srcdir/tests/tap.sh"
#   dir=$(tap_tmpdir mytest) || exit 1; trap 'tap_rmtree "$dir"' EXIT
#   tap_ok "tool runs" mytool --version     # ok if the command exits 0
#   tap_is "$got" "$want" "answer"          # ok if the strings are equal
#   tap_done

tap_count=0
tap_failures=0

# tap_check PASS DESC: record one outcome (PASS is 0 for a pass).
tap_check() {
	tap_count=$((tap_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_count - $2"
	else
		echo "not ok $tap_count - $2"
		tap_failures=$((tap_failures + 1))
	fi
}

# tap_skip WHY: count an outcome that cannot be checked here.
tap_skip() {
	tap_count=$((tap_count + 1))
	echo "ok $tap_count # SKIP $1"
}

# tap_ok DESC CMD [ARG]...: ok if CMD exits 0; its output goes to the log.
tap_ok() {
	local desc=$1
	shift
	"$@"
	tap_check $? "$desc"
}

# tap_is GOT WANT DESC
tap_is() {
	if [ "$1" = "$2" ]; then
		tap_check 0 "$3"
	else
		tap_check 1 "$3"
		tap_diag "got '$1', want '$2'"
	fi
}

# tap_diag MSG...: a comment line, shown in the test's .log.
tap_diag() {
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do
		echo "# $line"
	done
}

# tap_bail MSG...: a setup step failed; stop the whole script.
tap_bail() {
	echo "Bail out! $*"
	exit 1
}

# tap_done: print the plan; exit status 1 if anything failed.
tap_done() {
	echo "1..$tap_count"
	[ "$tap_failures" -eq 0 ]
}

# tap_tmpdir TAG: make a private scratch directory under $TMPDIR (or
# /tmp) and print its path. Tests run in parallel, so none may share a path.
tap_tmpdir() {
	mktemp -d "${TMPDIR:-/tmp}/ddt-$1-XXXXXX"
}

# tap_rmtree DIR: remove a directory tap_tmpdir made, and nothing else.
tap_rmtree() {
	case $1 in
	*/ddt-*-??????) rm -rf -- "$1" ;;
	*) tap_diag "not removing $1: not made by tap_tmpdir" ;;
	esac
}
