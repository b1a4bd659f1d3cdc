#!/usr/bin/env bash
# library.sh — the README's library example, as written: the build is installed into a scratch
# prefix (PKG_CONFIG_PATH and LD_LIBRARY_PATH pointing there, as the README says for a folder of
# one's own), the C program of the "Library" section is compiled with the README's own build
# line and run, and its S must equal the program's for the same model.
# Usage: library.sh QSYNC SOURCE_DIR
set -u
qsync=$(realpath "$1") src=$(cd "$2" && pwd)
. "$(dirname "$0")/checks.sh"
readme="$src/README.md"
# the first ```c block after "## Library", and the lines from its `cc` line to the end of that block
awk '/^## Library/{lib=1} lib&&/^```c$/{on=1;next} on&&/^```$/{exit} on' "$readme" >"$dir/prog.c"
awk '/^## Library/{lib=1} /^## Folders/{lib=0} lib&&/^cc /{on=1} on&&/^```$/{exit} on' "$readme" >"$dir/build.sh"
check "README's library section holds a C program" '[ -s "$dir/prog.c" ] && grep -q "int main" "$dir/prog.c"'
check "README's library section holds a cc line and ./prog" 'grep -q "^cc " "$dir/build.sh" && grep -q "^./prog" "$dir/build.sh"'
cmake --install "$(dirname "$qsync")" --prefix "$dir/prefix" >"$dir/install.log" 2>&1
rc=$?
check "the build installs into a scratch prefix" '[ $rc -eq 0 ]' "$(tail -5 "$dir/install.log")"
export PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig" LD_LIBRARY_PATH="$dir/prefix/lib"
# run from a folder holding examples/, as the top folder does
mkdir -p "$dir/top"
ln -s "$src/examples" "$dir/top/examples"
cp "$dir/prog.c" "$dir/top/prog.c"
# a library built with the sanitizers (make sanitize) needs their run-time on the same line
if nm "$(dirname "$qsync")/libqsync.a" 2>/dev/null | grep -q __asan_; then
    { echo 'cc() { command cc -fsanitize=address,undefined "$@"; }'; cat "$dir/build.sh"; } >"$dir/build.tmp"
    mv "$dir/build.tmp" "$dir/build.sh"
fi
out=$(cd "$dir/top" && bash -e "$dir/build.sh" 2>"$dir/err")
rc=$?
check "the README's cc line builds prog.c and it runs (exit 0)" '[ $rc -eq 0 ]' "$(head -c 600 "$dir/err")"
lib_S=$(printf '%s\n' "$out" | sed -n 's/^S_A-C = \([^,]*\),.*/\1/p')
cli_S=$(cd "$src" && "$qsync" steady examples/fig4.ini --set A-B=0.05 --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(repr([p["S"] for p in d["pairs"] if (p["a"], p["b"]) == ("A", "C")][0]))')
check "the program's S_A-C equals qsync steady's to 1e-12 (got '$lib_S', '$cli_S')" \
    '[ -n "$lib_S" ] && [ -n "$cli_S" ] && /usr/bin/python3 -c "import sys; sys.exit(abs($lib_S - $cli_S) > 1e-12)"'
finish
