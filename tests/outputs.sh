#!/usr/bin/env bash
# Output files, folders, standard output and gnuplot: nothing a user types reaches a shell;
# outputs follow symlinks and write device nodes and FIFOs in place; a write error is exit 1
# naming what could not be written (standard output included); numbers and sizes given to
# flags are validated at parsing (exit 2 naming the flag); figure folders are created with
# their parents, only after the name is checked, and never over a plain sweep's results.
# One PASS/FAIL line per check.
set -u
QSYNC=${1:?usage: outputs.sh QSYNC EXAMPLES}
EXAMPLES=${2:?usage: outputs.sh QSYNC EXAMPLES}
. "$(dirname "$0")/checks.sh"
case $QSYNC in /*) ;; *) QSYNC=$PWD/$QSYNC ;; esac
case $EXAMPLES in /*) ;; *) EXAMPLES=$PWD/$EXAMPLES ;; esac

model=$dir/m.ini
printf '%s\n' '[defaults]' 'K = 10' 'gamma = 1' 'sigma = 0.2' 'nbar = 2' 'levels = 4' \
    '[oscillator 1]' 'omega = 20' '[oscillator 2]' '[coupling]' '1-2 = 0.1' >"$model"

# run STATUS ARGS...: qsync with stdout in $dir/out, stderr in $dir/err; $got its exit status
run() { "$QSYNC" "$@" >"$dir/out" 2>"$dir/err"; got=$?; }
err() { head -c 300 "$dir/err"; }

# --- 1. no shell: the folder name reaches gnuplot as a working directory, not as text
mkdir "$dir/cwd" && cd "$dir/cwd" || exit 1
"$QSYNC" sweep "$EXAMPLES/fig2b.ini" --vary 1.omega=-40:40:5 --out "x'\$(touch PWNED)'" >/dev/null 2>"$dir/err"
got=$?
check "sweep --out \"x'\$(touch PWNED)'\" exits 0" '[ $got -eq 0 ]' "exit $got: $(err)"
check "... and runs nothing: no file PWNED" '[ ! -e PWNED ] && [ ! -e "x'"'"'/PWNED" ]' "$(ls -A)"
check "... and its plot is drawn in the folder of that name" '[ -s "x'"'"'\$(touch PWNED)'"'"'/sweep.png" ]' "$(err)"
weird=$'we\'ird "dir" $(touch PWNED2) `touch PWNED3`; touch PWNED4\nsecond line'
"$QSYNC" sweep "$EXAMPLES/fig2b.ini" --vary 1.omega=-40:40:5 --out "$weird" >/dev/null 2>"$dir/err"
got=$?
check "sweep into a folder named with quotes, spaces, \$(), backquotes, ; and a newline exits 0" '[ $got -eq 0 ]' "exit $got: $(err)"
check "... its sweep.png is drawn" '[ -s "$weird/sweep.png" ]' "$(err)"
"$QSYNC" figure 2b --out "$weird" --points 3 >/dev/null 2>"$dir/err"
got=$?
check "figure 2b into that folder exits 0 and draws figure.png" '[ $got -eq 0 ] && [ -s "$weird/2b/figure.png" ]' "exit $got: $(err)"
check "... and nothing ran: no PWNED2, PWNED3, PWNED4 anywhere" '[ -z "$(find "$dir" -name "PWNED*")" ]' "$(find "$dir" -name 'PWNED*')"
PATH=/nonexistent "$QSYNC" sweep "$EXAMPLES/fig2b.ini" --vary 1.omega=-40:40:5 --out nognuplot >/dev/null 2>"$dir/err"
got=$?
check "without gnuplot on PATH a sweep exits 0, its CSV written, and says the PNG was not drawn" \
    '[ $got -eq 0 ] && [ -s nognuplot/sweep.csv ] && grep -q "sweep.png not drawn (is gnuplot installed?" "$dir/err"' "exit $got: $(err)"
cd "$dir" || exit 1

# --- 5. where outputs go: symlinks followed, devices and FIFOs written in place
phase() { run steady "$model" --phase-distribution "$1"; }
printf 'old\n' >"$dir/real.csv"
ln -s real.csv "$dir/link.csv"
phase "$dir/link.csv"
check "--phase-distribution through a symlink exits 0" '[ $got -eq 0 ]' "exit $got: $(err)"
check "... the symlink is still a symlink to real.csv" '[ -L "$dir/link.csv" ] && [ "$(readlink "$dir/link.csv")" = real.csv ]' "$(ls -l "$dir/link.csv")"
check "... and its target holds the distribution (721 angles)" '[ "$(head -c 8 "$dir/real.csv")" = "phi,P_1-" ] && [ $(wc -l <"$dir/real.csv") -eq 722 ]' "$(head -c 80 "$dir/real.csv")"
mkdir "$dir/sub"
ln -s sub/new.csv "$dir/dangling.csv"
ln -s dangling.csv "$dir/chain.csv"
phase "$dir/chain.csv"
check "a chain of symlinks ending in a missing file: exit 0, the file created at the end, both links kept" \
    '[ $got -eq 0 ] && [ -L "$dir/chain.csv" ] && [ -L "$dir/dangling.csv" ] && [ -f "$dir/sub/new.csv" ] && [ $(wc -l <"$dir/sub/new.csv") -eq 722 ]' \
    "exit $got: $(err); $(ls -l "$dir" "$dir/sub")"
check "no temporary file left beside any target" '[ -z "$(find "$dir" -name "*.tmp.*")" ]' "$(find "$dir" -name '*.tmp.*')"
printf 'old\n' >"$dir/plain.csv"
phase "$dir/plain.csv"
check "a regular file is replaced (exit 0, 722 lines)" '[ $got -eq 0 ] && [ ! -L "$dir/plain.csv" ] && [ $(wc -l <"$dir/plain.csv") -eq 722 ]' "exit $got: $(err)"
mkfifo "$dir/fifo"
timeout 60 cat "$dir/fifo" >"$dir/from_fifo" &   # bounded: a FIFO renamed over would leave it waiting
reader=$!
phase "$dir/fifo"
wait "$reader"
check "a FIFO is written in place: exit 0, still a FIFO, the reader got the 722 lines" \
    '[ $got -eq 0 ] && [ -p "$dir/fifo" ] && [ $(wc -l <"$dir/from_fifo") -eq 722 ]' "exit $got: $(err)"
# Device nodes of the system are written only once the same cases passed on private
# stand-ins: a program that renames over its output would otherwise replace /dev/stdout or
# /dev/full of the machine running the tests (as root). Such a failure is counted, not skipped.
ln -s /proc/self/fd/1 "$dir/my_stdout"
"$QSYNC" steady "$model" --phase-distribution "$dir/my_stdout" 2>"$dir/err" | cat >"$dir/piped"
check "a symlink to /proc/self/fd/1 (as /dev/stdout is) into a pipe: the distribution arrives, the link kept" \
    'grep -q "^phi,P_1-2" "$dir/piped" && [ -L "$dir/my_stdout" ]' "$(head -c 200 "$dir/piped"); $(err)"
safe=$([ -L "$dir/my_stdout" ] && [ -p "$dir/fifo" ] && echo 1)
ln -s /dev/full "$dir/to_full"
phase "$dir/to_full"
check "a symlink to /dev/full: exit 1 naming it and the cause, the link kept" \
    '[ $got -eq 1 ] && [ -L "$dir/to_full" ] && grep -q "to_full: cannot write (No space left on device)" "$dir/err"' "exit $got: $(err)"
[ -L "$dir/to_full" ] || safe=
if [ -n "$safe" ]; then
    "$QSYNC" steady "$model" --phase-distribution /dev/stdout 2>"$dir/err" | cat >"$dir/piped"
    check "--phase-distribution /dev/stdout into a pipe: the distribution arrives" 'grep -q "^phi,P_1-2" "$dir/piped" && [ -L /dev/stdout ]' "$(head -c 200 "$dir/piped"); $(err)"
    phase /dev/full
    check "--phase-distribution /dev/full: exit 1 naming /dev/full and the cause" \
        '[ $got -eq 1 ] && grep -q "/dev/full: cannot write (No space left on device)" "$dir/err"' "exit $got: $(err)"
    check "... and /dev/full is still a character device" '[ -c /dev/full ]'
else
    bad "--phase-distribution /dev/stdout and /dev/full: not tried, since the stand-ins above were replaced"
fi

# --- 16. standard output that cannot be written is exit 1 with a message
full() {
    local name=$1
    shift
    "$QSYNC" "$@" >/dev/full 2>"$dir/err"
    got=$?
    check "$name >/dev/full: exit 1 with a message about standard output" '[ $got -eq 1 ] && grep -q "standard output" "$dir/err"' "exit $got: $(err)"
}
full "steady --json" steady "$model" --json
full "steady" steady "$model"
full "resonances" resonances --K 5
full "resonances --json" resonances --K 5 --json
full "perturb" perturb "$model"
full "implement" implement --g 0.01 --kappa 1 --K 5 --delta-plus 20 --delta-minus 30 --omega0 10
full "classical" classical "$EXAMPLES/fig2a.ini" --trajectories 96 --time 20 --burn-in 5
full "--help" --help
run resonances --K 5
check "resonances to a writable stdout still exits 0" '[ $got -eq 0 ] && grep -q "resonant Delta" "$dir/out"' "exit $got: $(err)"

# --- 4, 15. values validated at parsing: exit 2 naming the flag
flag() {
    local name=$1 want=$2
    shift 2
    run "$@"
    check "$name: exit 2 naming $want" '[ $got -eq 2 ] && grep -qe "$want" "$dir/err"' "exit $got: $(err)"
}
flag "resonances --delta-n 1e300:1e300" --delta-n resonances --K 5 --delta-n 1e300:1e300
flag "resonances --delta-n -1e300:3" --delta-n resonances --K 5 --delta-n -1e300:3
flag "resonances --delta-n 0:2e6 (too many lines)" --delta-n resonances --K 5 --delta-n 0:2e6
flag "resonances --K 1e300" --K resonances --K 1e300
flag "resonances --delta 1:x" --delta resonances --K 5 --delta 1:x
flag "implement --g 1e200 (gamma overflows)" --g implement --g 1e200 --kappa 1 --K 5 --delta-plus 20 --delta-minus 30 --omega0 10
flag "implement --K 1e-320 (sigma overflows)" --K implement --g 0.01 --kappa 1 --K 1e-320 --delta-plus 20 --delta-minus 30 --omega0 10
flag "implement --delta-plus 1e308 --omega0 -1e308" --delta-plus implement --g 0.01 --kappa 1 --K 0.1 --delta-plus 1e308 --delta-minus 30 --omega0 -1e308
run resonances --K 5 --delta-n 1e6:1e6
check "resonances --delta-n 1e6:1e6 (at the bound) exits 0 and lists dn = 1000000" '[ $got -eq 0 ] && grep -q "^ *1000000 " "$dir/out"' "exit $got: $(err)"
run resonances --K 5 --delta-n -1:1 --json
check "resonances --delta-n -1:1 --json: the six resonant points" '[ $got -eq 0 ] && [ $(grep -c "\"Delta\"" "$dir/out") -eq 6 ]' "exit $got: $(err)"
flag "steady --residual-tol 0" --residual-tol steady "$model" --residual-tol 0
flag "steady --residual-tol -1e-8" --residual-tol steady "$model" --residual-tol -1e-8
flag "steady --top-tol -1" --top-tol steady "$model" --top-tol -1
flag "steady --top-tol 2" --top-tol steady "$model" --top-tol 2
flag "steady --memory-limit inf" --memory-limit steady "$model" --memory-limit inf
flag "steady --memory-limit 1e30G" --memory-limit steady "$model" --memory-limit 1e30G
run steady "$model" --residual-tol 1e-6 --top-tol 0.5 --memory-limit 2G
check "steady --residual-tol 1e-6 --top-tol 0.5 --memory-limit 2G exits 0" '[ $got -eq 0 ]' "exit $got: $(err)"
flag "figure foo --out D" "unknown figure 'foo'" figure foo --out "$dir/D"
check "... and D is not created" '[ ! -e "$dir/D" ]'
flag "figure 2b --points 1 --out D" --points figure 2b --points 1 --out "$dir/D"
flag "figure 2b --levels 1 --out D" --levels figure 2b --levels 1 --out "$dir/D"
flag "figure 2b --threads 0 --out D" --threads figure 2b --threads 0 --out "$dir/D"
check "... D is never created" '[ ! -e "$dir/D" ]'

# --- 19. figure folders: parents created; a plain sweep's folder is refused, never overwritten
run figure 2b --out "$dir/a/b/c" --points 3
check "figure 2b --out a/b/c creates the parents: a/b/c/2b/figure.png" '[ $got -eq 0 ] && [ -s "$dir/a/b/c/2b/figure.png" ]' "exit $got: $(err)"
run figure 2b --out "$dir/a/b/c" --points 3 --levels 4
check "... run again into the same folder (a figure's own): exit 0, model.ini says levels = 4" \
    '[ $got -eq 0 ] && grep -q "^levels = 4$" "$dir/a/b/c/2b/model.ini"' "exit $got: $(err)"
mkdir "$dir/runs"
"$QSYNC" sweep "$EXAMPLES/fig2b.ini" --vary 1.omega=-40:40:5 --out "$dir/runs/2b" >/dev/null 2>&1
cp "$dir/runs/2b/sweep.csv" "$dir/mine.csv"
run figure 2b --out "$dir/runs" --points 3
check "figure 2b --out runs after a plain sweep --out runs/2b: exit 2 naming runs/2b" '[ $got -eq 2 ] && grep -q "runs/2b holds the results of a sweep" "$dir/err"' "exit $got: $(err)"
check "... and the sweep's CSV is untouched, no figure files added" 'cmp -s "$dir/runs/2b/sweep.csv" "$dir/mine.csv" && [ ! -e "$dir/runs/2b/model.ini" ]'
run figure all --out "$dir/runs" --points 2
check "figure all --out runs refuses too, before computing anything (no runs/2a)" '[ $got -eq 2 ] && [ ! -e "$dir/runs/2a" ]' "exit $got: $(err)"
: >"$dir/afile"
run figure 2b --out "$dir/afile/x" --points 2
check "figure --out under a regular file: exit 1 naming it" '[ $got -eq 1 ] && grep -q "afile: cannot create" "$dir/err"' "exit $got: $(err)"

# --- 17. a model path that is not UTF-8 still gives valid JSON (the bytes become U+FFFD)
odd="$dir/m$(printf '\377\376').ini"
cp "$model" "$odd"
run steady "$odd" --json
check "steady --json with a non-UTF-8 model path: exit 0 and valid JSON naming the file with U+FFFD" \
    '[ $got -eq 0 ] && /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1], encoding=\"utf-8\")); sys.exit(d[\"model\"].endswith(\"m\ufffd\ufffd.ini\") is False)" "$dir/out"' "exit $got: $(err)"


# --- a full disk (a 64 KiB tmpfs, as root): a journal that cannot be written stops the sweep at
# once with the reason; a PNG that gnuplot could not write whole is removed and reported (exit 1)
mkdir -p "$dir/small"
if mount -t tmpfs -o size=64k tmpfs "$dir/small" 2>"$dir/err"; then
    trap 'umount "$dir/small" 2>/dev/null; rm -rf "$dir"' EXIT
    run sweep "$model" --levels 3 --no-truncation-check --vary 1.omega=-1:1:300 --vary 1-2=0.01:0.1:10 --out "$dir/small/s" --no-plot
    check "full disk, journal: exit 1 naming sweep.partial.csv and 'No space left on device'" \
        '[ $got -eq 1 ] && grep -q "sweep.partial.csv: write failed (No space left on device)" "$dir/err"' "exit $got: $(err)"
    rm -rf "$dir/small/s"
    run sweep "$model" --levels 3 --no-truncation-check --vary 1.omega=-1:1:200 --out "$dir/small/p"
    check "full disk, plot: exit 1, the cut-off sweep.png removed, sweep.csv complete (201 lines)" \
        '[ $got -eq 1 ] && [ ! -e "$dir/small/p/sweep.png" ] && [ "$(wc -l <"$dir/small/p/sweep.csv")" -eq 201 ] && grep -q "could not write it whole" "$dir/err"' "exit $got: $(err)"
    # --save-state and --save-reduced: the reason is the full disk, not an I/O error
    rm -rf "$dir/small/s" "$dir/small/p"
    run steady "$EXAMPLES/fig2b.ini" --levels 20 --save-state "$dir/small/s.npy"
    check "full disk, --save-state: exit 1 naming 'No space left on device', nothing left behind" \
        '[ $got -eq 1 ] && grep -q "s.npy: cannot write (No space left on device)" "$dir/err" && [ -z "$(ls -A "$dir/small")" ]' "exit $got: $(err)"
    head -c 1M /dev/zero >"$dir/small/fill" 2>/dev/null
    run steady "$EXAMPLES/fig2b.ini" --levels 20 --save-reduced "1=$dir/small/r.npy"
    check "full disk, --save-reduced: exit 1 naming 'No space left on device'" \
        '[ $got -eq 1 ] && grep -q "r.npy: cannot write (No space left on device)" "$dir/err" && [ ! -e "$dir/small/r.npy" ]' "exit $got: $(err)"
    rm -f "$dir/small/fill"
    umount "$dir/small"
else
    bad "a 64 KiB tmpfs for the full-disk checks could not be mounted (the tests run as root): $(cat "$dir/err")"
fi

finish
