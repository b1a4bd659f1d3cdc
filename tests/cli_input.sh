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
    "$QSYNC" "$@" >"$dir/out" 2>"$dir/err"
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
sigma = 0.3$(printf ' %.0s' $(seq 300)) ; long
nbar = 2"
printf '[oscillator a]\nsigma = 0.3\nnbar = 2\nnoise = -1\n' >"$dir/m.ini"
expect 2 "m\.ini:4:" "negative noise" -- steady "$dir/m.ini"
printf '# only a comment\n' >"$dir/m.ini"
expect 2 "m\.ini: no \[oscillator" "no oscillators" -- steady "$dir/m.ini"
: >"$dir/m.ini"
expect 2 "m\.ini: no \[oscillator" "empty file" -- steady "$dir/m.ini"
expect 2 "cannot open" "missing file" -- steady "$dir/none.ini"

printf '%s\n' "$good" >"$dir/ok.ini"
expect 2 "no oscillator named 'x'" "--set on an unknown oscillator" -- steady "$dir/ok.ini" --set x.K=1
expect 2 "unknown key 'Q'" "--set with an unknown key" -- steady "$dir/ok.ini" --set 1.Q=1
expect 2 "sigma must be > 0" "--set with sigma <= 0" -- steady "$dir/ok.ini" --set sigma=0
expect 2 "finite number" "--set with a bad coupling value" -- steady "$dir/ok.ini" --set 1-2=abc
expect 2 "expected PATH=VALUE" "--set without =" -- steady "$dir/ok.ini" --set sigma
expect 2 "--levels 1" "--levels 1" -- steady "$dir/ok.ini" --levels 1
expect 2 "unknown option" "unknown flag" -- steady "$dir/ok.ini" --frobnicate
expect 2 "needs a value" "flag without its value" -- steady "$dir/ok.ini" --set
expect 2 "no model file" "no model file" -- steady
expect 2 "unknown command" "unknown command" -- steady-state "$dir/ok.ini"
expect 2 "grow with n|normalise" "levels = auto with a non-normalisable chain" -- steady "$dir/ok.ini" --levels auto --set sigma_plus=0.4
expect 4 "needs about .* MiB" "--memory-limit too small: refused with exit 4" -- steady "$dir/ok.ini" --memory-limit 1K
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
