# checks.sh — sourced by the shell tests: a scratch directory $dir (removed at exit) and one
# PASS/FAIL line per check, as tests/checks.py does for the Python ones.
#   check NAME CONDITION [DETAIL]   CONDITION is evaluated; DETAIL is printed on failure
#   finish                          the totals; fails if any check did
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
check() { if eval "$2"; then ok "$1"; else bad "$1${3:+: $3}"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
