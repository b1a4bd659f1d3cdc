#!/usr/bin/env bash
# Bad input never crashes: every error of MODEL.md §5 exits 2 naming file:line (or the
# flag); memory refusal exits 4; random corruptions of a valid file never kill qsync by
# a signal. One PASS/FAIL line per case.
set -u
QSYNC=${1:?usage: cli_input.sh QSYNC}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0 fail=0

good='[defaults]
K = 10
gamma = 1
sigma = 0.2
nbar = 2
levels = 4
[oscillator 1]
omega = 20
[oscillator 2]
[coupling]
1-2 = 0.1'

# expect STATUS PATTERN NAME -- ARGS...: run qsync, check exit status and stderr
expect() {
    local want=$1 pattern=$2 name=$3
    shift 4
    timeout 60 "$QSYNC" "$@" >"$dir/out" 2>"$dir/err"
    local got=$?
    if [ "$got" -eq "$want" ] && grep -qE -- "$pattern" "$dir/err"; then
        pass=$((pass + 1)); echo "PASS: $name (exit $got: $(head -c 160 "$dir/err" | head -n 1))"
    else
        fail=$((fail + 1)); echo "FAIL: $name: exit $got (want $want), stderr: $(head -c 300 "$dir/err")"
    fi
}

# model_case NAME LINE TEXT: the file TEXT must fail with exit 2 naming file:LINE
model_case() {
    printf '%s\n' "$3" >"$dir/m.ini"
    expect 2 "m\.ini:$2:" "$1" -- steady "$dir/m.ini"
}

# output files: an empty name exits 2 naming the flag; an existing folder exits 1 naming the
# flag and the folder before any solve (--memory-limit 1000 would refuse the solve with 4)
printf '%s\n' "$good" >"$dir/g.ini"
mkdir -p "$dir/folder"
expect 2 "^qsync: --save-state: an empty file name" "--save-state '' exits 2 naming the flag" -- steady "$dir/g.ini" --save-state ''
expect 2 "^qsync: --phase-distribution: an empty file name" "--phase-distribution '' exits 2 naming the flag" -- steady "$dir/g.ini" --phase-distribution ''
expect 2 "not NAME=FILE.npy" "--save-reduced 1= exits 2 naming the flag" -- steady "$dir/g.ini" --save-reduced 1=
for flag in --save-state --save-reduced --phase-distribution; do
    target="$dir/folder"
    [ "$flag" = --save-reduced ] && target="1=$dir/folder"
    expect 1 "^qsync: $flag .*folder: cannot write \(Is a directory\)" "$flag into an existing folder exits 1 before the solve" \
        -- steady "$dir/g.ini" --memory-limit 1000 "$flag" "$target"
done

expect 0 "^$|levels" "valid model is accepted" -- steady <(printf '%s\n' "$good")
model_case "unknown key" 3 '[oscillator 1]
sigma = 0.2
omeag = 1
nbar = 2'
model_case "unknown section" 4 '[oscillator 1]
sigma = 0.2
nbar = 2
[couplings]
1-1 = 2'
model_case "coupling to an unknown oscillator" 6 '[defaults]
sigma = 0.2
nbar = 2
[oscillator a]
[coupling]
a-b = 0.1'
model_case "duplicate coupling" 8 '[defaults]
sigma = 0.2
nbar = 2
[oscillator a]
[oscillator b]
[coupling]
a-b = 0.1
a-b = 0.2'
model_case "duplicate coupling, reversed order" 8 '[defaults]
sigma = 0.2
nbar = 2
[oscillator a]
[oscillator b]
[coupling]
a-b = 0.1
b-a = 0.2'
model_case "bad number" 3 '[oscillator 1]
nbar = 2
sigma = 0.2x'
model_case "NaN" 3 '[oscillator 1]
nbar = 2
K = nan'
model_case "inf" 3 '[oscillator 1]
nbar = 2
omega = -inf'
model_case "overflowing number" 3 '[oscillator 1]
nbar = 2
omega = 1e999'
model_case "sigma = 0" 2 '[oscillator 1]
sigma = 0
nbar = 2'
model_case "sigma_minus < 0" 3 '[oscillator 1]
sigma = 0.2
sigma_minus = -0.1
nbar = 2'
model_case "gamma < 0" 4 '[defaults]
sigma = 0.2
nbar = 2
gamma_plus = -1
[oscillator 1]'
model_case "levels < 2" 4 '[oscillator 1]
sigma = 0.2
nbar = 2
levels = 1'
model_case "levels not an integer" 4 '[oscillator 1]
sigma = 0.2
nbar = 2
levels = 4.5'
model_case "sigma missing" 2 '[defaults]
[oscillator q]
nbar = 2'
model_case "n_minus missing" 1 '[oscillator q]
sigma = 0.3
n_plus = 2'
model_case "bad oscillator name" 1 '[oscillator a-b]
sigma = 0.3
nbar = 2'
model_case "duplicate oscillator" 4 '[oscillator a]
sigma = 0.3
nbar = 2
[oscillator a]'
model_case "key before any section" 1 'sigma = 0.3
[oscillator a]
nbar = 2'
model_case "self-coupling" 5 '[oscillator a]
sigma = 0.3
nbar = 2
[coupling]
a-a = 0.1'
model_case "bad complex coupling" 8 '[defaults]
sigma = 0.3
nbar = 2
[oscillator a]
[oscillator b]

[coupling]
a-b = 0.1+0.2'
model_case "line without =" 3 '[oscillator a]
sigma = 0.3
nbar 2'
model_case "section without ]" 3 '[oscillator a]
sigma = 0.3
[coupling
nbar = 2'
model_case "coupling name without dash" 6 '[defaults]
sigma = 0.3
nbar = 2
[oscillator a]
[coupling]
ab = 0.1'
model_case "line too long" 2 "[oscillator a]
sigma = 0.3$(printf '0%.0s' $(seq 300))
nbar = 2"
model_case "omega = 1 = 2: one key = value per line" 4 '[oscillator a]
sigma = 0.3
nbar = 2
omega = 1 = 2'
grep -q "indent" "$dir/err" && { fail=$((fail + 1)); echo "FAIL: omega = 1 = 2 is not an indented line: $(cat "$dir/err")"; } \
    || { pass=$((pass + 1)); echo "PASS: omega = 1 = 2: no hint about indented lines"; }
model_case "key: value is not key = value" 2 '[oscillator a]
sigma: 0.3'
model_case "[oscillator] without a name" 1 '[oscillator]'
model_case "text after a section header" 3 '[oscillator a]
sigma = 0.3
[coupling] 1-2 = 0.1'

# the file itself: plain text, a regular file or a pipe, at most 1 MiB (include/qsync/model.h)
printf '[defaults]\nsigma = 0.2\nnbar = 2\nlevels = 4\n[oscillator a]\nK = 1\0\nK = 99\n' >"$dir/m.ini"
expect 2 "m\.ini:6: NUL byte at column 6" "a NUL byte is an error naming its line (no hidden K = 99)" -- steady "$dir/m.ini"
printf '[oscillator a]\nsigma = 0.2\rK = 99\nnbar = 2\n' >"$dir/m.ini"
expect 2 "m\.ini:2: carriage return at column 12" "a carriage return inside a line" -- steady "$dir/m.ini"
printf '[oscillator a]\nsigma = 0.2\nnbar = 2\033[2K\n' >"$dir/m.ini"
expect 2 "m\.ini:3: control character 0x1b" "an escape sequence" -- steady "$dir/m.ini"
expect 2 "^qsync: /dev/zero: is a character device, not a model file" "/dev/zero: refused at once" -- steady /dev/zero
expect 2 "^qsync: $dir: is a directory, not a model file" "a directory" -- steady "$dir"
ln -s "$dir" "$dir/dirlink"
expect 2 "dirlink: is a directory" "a symbolic link to a directory" -- steady "$dir/dirlink"
expect 2 "none\.ini: cannot open model file \(No such file or directory\)" "a missing file says why" -- steady "$dir/none.ini"
printf '%s\n' "$good" >"$dir/ok.ini"
expect 2 "ok\.ini/m\.ini: cannot open model file \(Not a directory\)" "a path through a file says why" -- steady "$dir/ok.ini/m.ini"
ln -s loop "$dir/loop"
expect 2 "loop: cannot open model file \(Too many levels of symbolic links\)" "a symbolic link loop says why" -- steady "$dir/loop"
# exactly 1 MiB is read; one byte more is refused, from a file and from a pipe
{ printf '%s\n' "$good"; printf '#'; } >"$dir/big.ini"
pad=$((1048576 - $(stat -c %s "$dir/big.ini") - 1))
{ printf '%s\n' "$good"; printf '#%*s\n' "$pad" ''; } >"$dir/big.ini"
expect 0 "^$|levels" "a model file of exactly 1 MiB ($(stat -c %s "$dir/big.ini") bytes) is read" -- steady "$dir/big.ini"
printf ' ' >>"$dir/big.ini"
expect 2 "big\.ini: larger than 1 MiB" "a model file of 1 MiB + 1 byte is refused" -- steady "$dir/big.ini"
expect 2 "/dev/fd/[0-9]+: larger than 1 MiB" "an endless pipe is refused after 1 MiB" -- steady <(yes '# filler')
mkfifo "$dir/fifo"
(timeout 60 bash -c 'printf "%s\n" "$1" >"$2"' _ "$good" "$dir/fifo" &)
expect 0 "^$|levels" "a named pipe is read" -- steady "$dir/fifo"
# reading is linear in the file: the last line of a near-1-MiB file is reached at once
# (5 s allowed for each: 0.2 s in a sanitised build; the quadratic reading took 11 s of CPU for the third)
timed() {  # timed NAME -- ARGS...: as expect, then the run's time
    local t0=$(date +%s%N)
    expect "$@"
    local ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$ms" -lt 5000 ]; then pass=$((pass + 1)); echo "PASS: $3: read in $ms ms (allowed 5 s)"
    else fail=$((fail + 1)); echo "FAIL: $3: took $ms ms (allowed 5 s)"; fi
}
{ printf '[defaults]\nsigma = 0.2\nnbar = 2\n'; seq -f '[oscillator o%.0f]' 1 50000; printf '[oscillator o7]\n'; } >"$dir/many.ini"
timed 2 "many\.ini:50004: oscillator 'o7' is defined twice \(first at line 10\)" "50,000 oscillators, a duplicate name on the last line" -- steady "$dir/many.ini"
{ printf '[defaults]\nsigma = 0.2\nnbar = 2\n'; seq -f '[oscillator o%.0f]' 1 35000 | sed 's/$/\nK = 1/'; printf '[coupling]\no1-x = 0.1\n'; } >"$dir/many.ini"
timed 2 "many\.ini:70005: coupling o1-x names no oscillator 'x'" "35,000 oscillators with a line each, a coupling to an unknown one on the last line" -- steady "$dir/many.ini"
{ printf '[defaults]\nsigma = 0.2\nnbar = 2\n'; seq -f '[oscillator o%.0f]' 1 400; printf '[coupling]\n'
  for i in $(seq 1 200); do seq -f "o$i-o%.0f = 0.1" $((i + 1)) 400; done; printf 'o300-o2 = 0.1\n'; } >"$dir/many.ini"
last=$(wc -l <"$dir/many.ini")
timed 2 "many\.ini:$last: duplicate coupling o300-o2" "59,900 couplings, a duplicate (reversed) on the last line" -- steady "$dir/many.ini"
# CRLF, indentation and comments change nothing: the same S as the plain file
printf '%s\n' "$good" >"$dir/plain.ini"
printf '%s\n' "$good" | sed 's/$/\r/' >"$dir/crlf.ini"
printf '%s\n' "$good" | sed 's/^\([a-zA-Z1-9]\)/    \1/; s/$/   ; comment # more/' >"$dir/indented.ini"
S_plain=$("$QSYNC" steady "$dir/plain.ini" --json 2>/dev/null | grep -m1 '"S"')
for variant in crlf indented; do
    S_var=$("$QSYNC" steady "$dir/$variant.ini" --json 2>/dev/null | grep -m1 '"S"')
    if [ -n "$S_plain" ] && [ "$S_var" = "$S_plain" ]; then pass=$((pass + 1)); echo "PASS: $variant model file gives the same S ($S_var)"
    else fail=$((fail + 1)); echo "FAIL: $variant model file: '$S_var', plain: '$S_plain'"; fi
done
printf '[oscillator a]\nsigma = 0.3\nnbar = 2\nnoise = -1\n' >"$dir/m.ini"
expect 2 "m\.ini:4:" "negative noise" -- steady "$dir/m.ini"
printf '# only a comment\n' >"$dir/m.ini"
expect 2 "m\.ini: no \[oscillator" "no oscillators" -- steady "$dir/m.ini"
: >"$dir/m.ini"
expect 2 "m\.ini: no \[oscillator" "empty file" -- steady "$dir/m.ini"

expect 2 "no oscillator named 'x'" "--set on an unknown oscillator" -- steady "$dir/ok.ini" --set x.K=1
expect 2 "unknown key 'Q'" "--set with an unknown key" -- steady "$dir/ok.ini" --set 1.Q=1
expect 2 "sigma must be > 0" "--set with sigma <= 0" -- steady "$dir/ok.ini" --set sigma=0
expect 2 "finite number" "--set with a bad coupling value" -- steady "$dir/ok.ini" --set 1-2=abc
# each message says its subject once and quotes the value as given (never -0, inf or nan)
exact() {  # exact NAME STDERR -- ARGS...: exit 2 and exactly this one line on stderr
    local name=$1 want=$2
    shift 3
    "$QSYNC" "$@" >/dev/null 2>"$dir/err"
    local got=$?
    if [ "$got" -eq 2 ] && [ "$(cat "$dir/err")" = "$want" ]; then pass=$((pass + 1)); echo "PASS: $name: $want"
    else fail=$((fail + 1)); echo "FAIL: $name: exit $got, stderr '$(cat "$dir/err")', want '$want'"; fi
}
exact "--set K=1e999" "qsync: --set K=1e999: K needs a finite real number, not '1e999'" -- steady "$dir/ok.ini" --set K=1e999
exact "--set 1.K=1/0" "qsync: --set 1.K=1/0: 1.K needs a finite real number, not '1/0'" -- steady "$dir/ok.ini" --set 1.K=1/0
exact "--set sigma=-1e-400" "qsync: --set sigma=-1e-400: sigma must be > 0, not '-1e-400'" -- steady "$dir/ok.ini" --set sigma=-1e-400
exact "--set 1-2=1/0" "qsync: --set 1-2=1/0: coupling 1-2 needs a finite number such as 0.1, -0.2i or 0.1+0.05i, not '1/0'" \
    -- steady "$dir/ok.ini" --set 1-2=1/0
exact "--set 1-1=1" "qsync: --set 1-1=1: coupling 1-1: an oscillator cannot couple to itself (C_jj = 0)" -- steady "$dir/ok.ini" --set 1-1=1
exact "--set levels=1e9" "qsync: --set levels=1e9: levels must be an integer from 2 to 65535, or auto, not '1e9'" \
    -- steady "$dir/ok.ini" --set levels=1e9
printf '[oscillator q]\nsigma_plus = 0.3\nnbar = 2\n' >"$dir/m.ini"
exact "sigma_minus missing" "qsync: $dir/m.ini:1: oscillator q: sigma_minus is not set (give sigma or sigma_minus, in [defaults] or the oscillator's section)" \
    -- steady "$dir/m.ini"
expect 2 "expected PATH=VALUE" "--set without =" -- steady "$dir/ok.ini" --set sigma
expect 2 "--levels 1" "--levels 1" -- steady "$dir/ok.ini" --levels 1
expect 2 "unknown option" "unknown flag" -- steady "$dir/ok.ini" --frobnicate
expect 2 "needs a value" "flag without its value" -- steady "$dir/ok.ini" --set
expect 2 "no model file" "no model file" -- steady
expect 2 "unknown command" "unknown command" -- steady-state "$dir/ok.ini"
expect 2 "grow with n|normalise" "levels = auto with a non-normalisable chain" -- steady "$dir/ok.ini" --levels auto --set sigma_plus=0.4
expect 4 "needs (about|at least) .* MiB" "--memory-limit too small: refused with exit 4" -- steady "$dir/ok.ini" --memory-limit 1K
{ printf '[defaults]\nsigma = 0.2\nnbar = 2\nlevels = 9\n'; for i in $(seq 1 12); do printf '[oscillator o%d]\n' "$i"; done
  printf '[coupling]\n'; for i in $(seq 1 11); do printf 'o%d-o%d = 0.1\n' "$i" $((i + 1)); done; } >"$dir/huge.ini"
expect 4 "needs about .* MiB" "12 oscillators x 9 levels: refused with exit 4 before allocating" -- steady "$dir/huge.ini"
sed 's/^levels = 9/levels = 6/; /^\[oscillator o[5-9]\]/d; /^\[oscillator o1[0-2]\]/d; /^o[4-9]-/d; /^o1[01]-/d' "$dir/huge.ini" >"$dir/ring.ini"
expect 4 "needs about .* MiB" "4 oscillators x 6 levels, --full (1.7 M unknowns) within 2G: refused with exit 4" -- steady "$dir/ring.ini" --memory-limit 2G --full
expect 2 "is not a size" "--memory-limit garbage" -- steady "$dir/ok.ini" --memory-limit lots
expect 1 "cannot write" "unwritable --phase-distribution" -- steady "$dir/ok.ini" --phase-distribution "$dir/no/such/dir/p.csv"

# random corruptions: never a signal, always a documented status
crashes=0
for seed in $(seq 1 150); do
    printf '%s\n' "$good" | awk -v seed="$seed" 'BEGIN { srand(seed) }
        { line = $0
          if (rand() < 0.3) { p = int(rand() * (length(line) + 1)); c = substr("=[]-.;#ie+ 0x9\t", int(rand() * 16) + 1, 1)
                              line = substr(line, 1, p) c substr(line, p + 2) }
          if (rand() < 0.05) next
          print line }' >"$dir/f.ini"
    "$QSYNC" steady "$dir/f.ini" --json >/dev/null 2>&1
    st=$?
    case $st in 0|2|3|4) ;; *) crashes=$((crashes + 1)); cp "$dir/f.ini" "/tmp/qsync-crash-$seed.ini" ;; esac
done
if [ "$crashes" -eq 0 ]; then pass=$((pass + 1)); echo "PASS: 150 corrupted model files: every exit status in {0,2,3,4}"
else fail=$((fail + 1)); echo "FAIL: $crashes of 150 corrupted model files ended otherwise (kept in /tmp/qsync-crash-*.ini)"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
