#!/usr/bin/env bash
# install.sh — the installed library as an outside user meets it. The build is installed into
# scratch prefixes (cmake --install, as `make install` does), then:
#   - staged with DESTDIR: every file lands under DESTDIR and nothing at the prefix itself;
#     the Python package's _build_config.py names the library at the prefix, without DESTDIR;
#   - every installed header compiles on its own (-Wall -Wextra -pedantic -Werror);
#   - libqsync.so has SONAME libqsync.so.0, the links libqsync.so -> .so.0 -> .so.0.1.0, no
#     MPI and no -ffast-math start-up code; the installed program runs;
#   - an outside program (S of examples/fig2b.ini through the public API) built with nothing
#     but `cc prog.c $(pkg-config --cflags --libs qsync)`, with `pkg-config --static` against
#     libqsync.a (its dependencies shared), and by a CMake project with
#     find_package(qsync) and qsync::qsync: each prints the S of `qsync steady --json` to 1e-12.
# Usage: install.sh QSYNC SOURCE_DIR   (QSYNC in the build folder)
set -u
qsync=$(realpath "$1") src=$(cd "$2" && pwd)
build=$(dirname "$qsync")
. "$(dirname "$0")/checks.sh"
version=$("$qsync" --version | sed -n 's/^qsync //p')
py=/usr/bin/python3
# a library built with the sanitizers (make sanitize) needs their run-time on every link line
san=
if nm "$build/libqsync.a" 2>/dev/null | grep -q __asan_; then san="-fsanitize=address,undefined"; fi

# ---- make install refuses a PREFIX or DESTDIR that could end the recipe's quotes (a quote,
# backslash, dollar, backquote or newline), before anything runs; spaces are fine ----
mkdir -p "$dir/mk"
for var in PREFIX DESTDIR; do
    for bad in '/tmp/a"b' "/tmp/a'b" '/tmp/a\b' '/tmp/a$b' "/tmp/\$(shell touch $dir/mk/PWNED)" '/tmp/a`touch '"$dir/mk/PWNED"'`' $'/tmp/a\nb'; do
        (cd "$dir/mk" && make -n -C "$src" install "$var=$bad" >"$dir/mk/out" 2>"$dir/mk/err")
        rc=$?
        check "make install $var='${bad//$'\n'/\\n}' is refused naming $var, nothing run" \
            '[ $rc -ne 0 ] && grep -q "$var must not contain a quote" "$dir/mk/err" && [ ! -e "$dir/mk/PWNED" ]' \
            "exit $rc: $(head -c 200 "$dir/mk/err")"
    done
done
(make -n -C "$src" install PREFIX="$dir/with space" DESTDIR="$dir/stage space" >"$dir/mk/out" 2>"$dir/mk/err")
rc=$?
check "make -n install with spaces in PREFIX and DESTDIR is accepted" '[ $rc -eq 0 ] && grep -q -- "--prefix \"$dir/with space\"" "$dir/mk/out"' \
    "exit $rc: $(head -c 200 "$dir/mk/err")"

# ---- staged install: DESTDIR ----
stage="$dir/stage" fake="/usr/local/qsync-install-test-$$"
DESTDIR="$stage" cmake --install "$build" --prefix "$fake" >"$dir/stage.log" 2>&1
rc=$?
check "cmake --install with DESTDIR exits 0" '[ $rc -eq 0 ]' "$(tail -5 "$dir/stage.log")"
check "nothing is written at the prefix itself ($fake)" '[ ! -e "$fake" ]'
check "every file installed is under DESTDIR" \
    '! grep "^-- \(Installing\|Up-to-date\): " "$dir/stage.log" | grep -v "^-- [A-Za-z-]*: $stage$fake/"'
for f in include/qsync/qsync.h lib/libqsync.so.$version lib/libqsync.a bin/qsync lib/pkgconfig/qsync.pc \
         lib/cmake/qsync/qsyncConfig.cmake lib/cmake/qsync/qsyncConfigVersion.cmake lib/cmake/qsync/qsyncTargets.cmake; do
    check "DESTDIR holds $f" '[ -f "$stage$fake/$f" ]'
done
check "the links libqsync.so -> libqsync.so.0 -> libqsync.so.$version" \
    '[ "$(readlink "$stage$fake/lib/libqsync.so")" = libqsync.so.0 ] && [ "$(readlink "$stage$fake/lib/libqsync.so.0")" = libqsync.so.$version ]'
check "every public header is installed" \
    'diff <(cd "$src/include/qsync" && ls *.h) <(cd "$stage$fake/include/qsync" && ls)'
# the Python package's folder for a PREFIX other than /usr: Debian's python3 looks in
# PREFIX/lib/python3.X/dist-packages (X its own version)
pydir=$(/usr/bin/python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
if [ -d "$src/python/qsync" ]; then
    check "the Python package's _build_config.py names the library at the prefix (no DESTDIR)" \
        'grep -qx "LIBRARY = \"$fake/lib/libqsync.so.0\"" "$stage$fake/lib/$pydir/dist-packages/qsync/_build_config.py"'
    check "the Python package's files are installed" \
        'diff <(cd "$src/python/qsync" && find . -name __pycache__ -prune -o -type f ! -name "*.py[co]" ! -name _build_config.py -print | sort) \
              <(cd "$stage$fake/lib/$pydir/dist-packages/qsync" && find . -type f ! -name _build_config.py -print | sort)'
else
    check "no Python package in the source: none is installed" '[ ! -e "$stage$fake/lib/$pydir" ]'
fi

# ---- install into a scratch prefix ----
prefix="$dir/prefix"
cmake --install "$build" --prefix "$prefix" >"$dir/install.log" 2>&1
rc=$?
check "cmake --install --prefix exits 0" '[ $rc -eq 0 ]' "$(tail -5 "$dir/install.log")"
lib="$prefix/lib/libqsync.so.$version"
check "libqsync.so's SONAME is libqsync.so.0" \
    'readelf -d "$lib" | grep -q "(SONAME).*\[libqsync\.so\.0\]"' "$(readelf -d "$lib" | grep SONAME)"
check "libqsync.so needs no MPI library" '! readelf -d "$lib" | grep NEEDED | grep -qi mpi'
check "libqsync.so and libqsync.a hold no MPI symbol" \
    '! nm -D "$lib" | grep -qi "\bmpi_\|ompi_" && ! nm "$prefix/lib/libqsync.a" 2>/dev/null | grep -qi "\bmpi_\|ompi_"'
# linked with -ffast-math, GCC adds crtfastmath.o, which sets the denormal mode of the whole process
check "libqsync.so carries no -ffast-math start-up code (set_fast_math)" '! nm "$lib" 2>/dev/null | grep -q set_fast_math'
check "libqsync.so exports only qs_ functions" \
    '[ -z "$(nm -D --defined-only "$lib" | awk "\$2 ~ /^[TtWDBR]$/ && \$3 !~ /^qs_/ {print \$3}")" ]' \
    "$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWDBR]$/ && $3 !~ /^qs_/ {print $3}' | head -5 | tr '\n' ' ')"
check "the installed program runs (qsync --version)" '[ "$("$prefix/bin/qsync" --version)" = "qsync $version" ]'

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
check "pkg-config finds qsync $version" '[ "$(pkg-config --modversion qsync)" = "$version" ]'
cflags=$(pkg-config --cflags qsync)
for h in "$prefix"/include/qsync/*.h; do
    name=$(basename "$h")
    printf '#include <qsync/%s>\n#include <qsync/%s>\n' "$name" "$name" >"$dir/h.c"
    cc $san -std=c11 -Wall -Wextra -pedantic -Werror $cflags -c "$dir/h.c" -o "$dir/h.o" 2>"$dir/err"
    rc=$?
    check "installed header qsync/$name compiles on its own, twice included (C11, -pedantic -Werror)" \
        '[ $rc -eq 0 ]' "$(head -c 400 "$dir/err")"
done

# the outside program: S of the first pair of a model file, as qsync steady computes it
cat >"$dir/prog.c" <<'EOF'
#include <stdio.h>
#include <qsync/qsync.h>

int main(int argc, char **argv)
{
    qs_model *m;
    qs_steady *st;
    qs_error err;
    double S[1];
    if (argc != 2) return 2;
    if (qs_model_load(argv[1], &m, &err) != QS_OK) { fprintf(stderr, "%s\n", err.message); return 2; }
    if (qs_steady_create(m, NULL, &st, &err) < 0 || qs_steady_solve(st, m, &err) < 0
        || qs_state_sync(qs_steady_state(st), S, NULL, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 3;
    }
    printf("%.17g\n", S[0]);
    qs_steady_free(&st);
    qs_model_free(&m);
    return 0;
}
EOF
model="$src/examples/fig2b.ini"
cli_S=$("$qsync" steady "$model" --json | $py -c 'import json, sys; print(repr(json.load(sys.stdin)["pairs"][0]["S"]))')
check "qsync steady --json gives S for fig2b ($cli_S)" '[ -n "$cli_S" ]'
same_S() {   # same_S NAME PROGRAM [ENV...]: the program's S equals the command line's to 1e-12
    local out
    out=$(env "${@:3}" "$2" "$model" 2>"$dir/err")
    check "$1: runs and prints S = qsync steady's to 1e-12 (got '$out', want '$cli_S')" \
        '[ -n "$out" ] && $py -c "import sys; sys.exit(abs($out - $cli_S) > 1e-12)"' "$(head -c 400 "$dir/err")"
}

# shared: cc prog.c $(pkg-config --cflags --libs qsync)
cc $san "$dir/prog.c" -o "$dir/prog" $(pkg-config --cflags --libs qsync) 2>"$dir/err"
rc=$?
check "cc prog.c \$(pkg-config --cflags --libs qsync) builds" '[ $rc -eq 0 ]' "$(head -c 600 "$dir/err")"
check "the program needs libqsync.so.0" 'readelf -d "$dir/prog" | grep -q "NEEDED.*\[libqsync\.so\.0\]"'
same_S "the program against the shared library" "$dir/prog" LD_LIBRARY_PATH="$prefix/lib"

# static libqsync: a prefix holding only libqsync.a, dependencies from Libs.private/Requires.private
cp -a "$prefix" "$dir/static"
rm -f "$dir/static"/lib/libqsync.so*
libs_static=$(PKG_CONFIG_PATH="$dir/static/lib/pkgconfig" pkg-config --static --cflags --libs qsync)
cc $san "$dir/prog.c" -o "$dir/prog_a" $libs_static 2>"$dir/err"
rc=$?
check "cc prog.c \$(pkg-config --static --cflags --libs qsync) builds against libqsync.a" '[ $rc -eq 0 ]' "$(head -c 600 "$dir/err")"
check "that program needs no libqsync.so" '! readelf -d "$dir/prog_a" | grep -q "NEEDED.*libqsync"'
same_S "the program with libqsync.a" "$dir/prog_a"

# CMake: find_package(qsync) and the imported target qsync::qsync
mkdir -p "$dir/cm"
cp "$dir/prog.c" "$dir/cm/prog.c"
cat >"$dir/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.18)
project(outside LANGUAGES C)
find_package(qsync 0.1 REQUIRED)
add_executable(prog prog.c)
target_link_libraries(prog PRIVATE qsync::qsync)
EOF
{ cmake -S "$dir/cm" -B "$dir/cm/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" && cmake --build "$dir/cm/build"; } >"$dir/cm.log" 2>&1
rc=$?
check "a CMake project with find_package(qsync) and qsync::qsync builds" '[ $rc -eq 0 ]' "$(tail -c 600 "$dir/cm.log")"
same_S "the CMake-built program" "$dir/cm/build/prog"
mkdir -p "$dir/cm1"
cp "$dir/prog.c" "$dir/cm1/prog.c"
sed 's/find_package(qsync 0.1 REQUIRED)/find_package(qsync 1 REQUIRED)/' "$dir/cm/CMakeLists.txt" >"$dir/cm1/CMakeLists.txt"
check "find_package(qsync 1) refuses version $version (the version file)" \
    '! cmake -S "$dir/cm1" -B "$dir/cm1/build" -DCMAKE_PREFIX_PATH="$prefix" >"$dir/cm1.log" 2>&1 && grep -q "qsyncConfig.cmake, version: $version" "$dir/cm1.log"'
finish
