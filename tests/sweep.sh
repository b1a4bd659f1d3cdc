#!/usr/bin/env bash
# qsync sweep: the CSV contract, determinism across thread counts, kill/interrupt and
# --resume, failed points, ties, joined paths, and the shape of the Fig. 2b curve.
# One PASS/FAIL line per check.
set -u
QSYNC=${1:?usage: sweep.sh QSYNC EXAMPLES}
EX=${2:?usage: sweep.sh QSYNC EXAMPLES}
PY=/usr/bin/python3
. "$(dirname "$0")/checks.sh"

# contract: header, one row per grid point in order, comma-joined paths move together
"$QSYNC" sweep "$EX/fig4.ini" --vary A-C,B-C=0.05:0.15:3 --vary C.omega=10:30:5 --out "$dir/c" --no-plot 2>"$dir/err"
check "sweep exits 0" "[ $? -eq 0 ]" "$(cat "$dir/err")"
check "header: axes named by their first path, S per pair, diagnostics" \
    "[ \"\$(head -1 $dir/c/sweep.csv)\" = 'A-C,C.omega,S_A-B,S_A-C,S_B-C,residual,top_population,status,phi_A-B,phi_A-C,phi_B-C,truncation_error' ]" "$(head -1 "$dir/c/sweep.csv")"
check "15 rows, first axis slowest" "[ \"\$(awk -F, 'NR>1{printf \"%s:%s \", \$1, \$2}' $dir/c/sweep.csv | cut -d' ' -f1-6)\" = '0.050000000000000003:10 0.050000000000000003:15 0.050000000000000003:20 0.050000000000000003:25 0.050000000000000003:30 0.10000000000000001:10' ]" \
    "$(awk -F, 'NR>1{printf "%s:%s ", $1, $2}' "$dir/c/sweep.csv" | cut -c1-120)"
check "joined paths A-C,B-C moved together (S_A-C = S_B-C to 1e-12 on every row)" \
    "awk -F, 'NR>1 { d = \$4 - \$5; if (d < 0) d = -d; if (d > 1e-12 * \$5) bad = 1 } END {exit bad}' $dir/c/sweep.csv"
# every sweep row equals qsync steady at the same point
row=$(awk -F, 'NR==9' "$dir/c/sweep.csv")
ac=$(echo "$row" | cut -d, -f1); om=$(echo "$row" | cut -d, -f2); s_ab=$(echo "$row" | cut -d, -f3)
s_steady=$("$QSYNC" steady "$EX/fig4.ini" --set A-C="$ac" --set B-C="$ac" --set C.omega="$om" --json 2>/dev/null |
    $PY -c "import json,sys; print(repr(json.load(sys.stdin)['pairs'][0]['S']))")
check "a sweep row equals qsync steady at that point (S_A-B, relative 1e-12)" \
    "$PY -c \"import sys; a, b = $s_ab, $s_steady; sys.exit(abs(a - b) > 1e-12 * abs(b))\"" "$s_ab vs $s_steady"

# ties: K = 1/sigma at every point, checked against steady with K set by hand
"$QSYNC" sweep "$EX/fig3a.ini" --vary sigma=0.2:0.6:3 --tie K=1/sigma --out "$dir/t" --no-plot 2>/dev/null
s_tie=$(awk -F, 'NR==3 {print $2}' "$dir/t/sweep.csv")
s_hand=$("$QSYNC" steady "$EX/fig3a.ini" --set sigma=0.4 --set K=2.5 --json 2>/dev/null | $PY -c "import json,sys; print(repr(json.load(sys.stdin)['pairs'][0]['S']))")
check "--tie K=1/sigma equals K set by hand at sigma = 0.4 (relative 1e-10)" \
    "$PY -c \"import sys; sys.exit(abs($s_tie - $s_hand) > 1e-10 * abs($s_hand))\"" "$s_tie vs $s_hand"

# determinism: 1 and 2 threads give identical files
args=(sweep "$EX/fig2b.ini" --levels 10 --vary 1.omega=-30:30:121 --vary 1-2=0.02:0.3:5 --no-plot)
"$QSYNC" "${args[@]}" --threads 1 --out "$dir/t1" 2>/dev/null
"$QSYNC" "${args[@]}" --threads 2 --out "$dir/t2" 2>/dev/null
check "1 and 2 threads: identical sweep.csv ($(($(wc -l <"$dir/t1/sweep.csv") - 1)) rows)" "cmp -s $dir/t1/sweep.csv $dir/t2/sweep.csv"

# Fig. 2b shape: local minimum at Delta = 0, maxima at +-2K = +-20
"$QSYNC" sweep "$EX/fig2b.ini" --vary 1.omega=-40:40:161 --out "$dir/b" 2>/dev/null
check "Fig. 2b: largest S at Delta = -20 and +20, a local minimum at 0" "$PY - $dir/b/sweep.csv <<'PYEOF'
import csv, sys
rows = [(float(r[0]), float(r[1])) for r in list(csv.reader(open(sys.argv[1])))[1:]]
d = dict(rows)
left = max((s, x) for x, s in rows if x < 0)[1]; right = max((s, x) for x, s in rows if x > 0)[1]
sys.exit(not (left == -20 and right == 20 and d[0] < d[-0.5] and d[0] < d[0.5] and d[0] < 0.5 * d[20]))
PYEOF"
check "plot written with its gnuplot script" "[ -s $dir/b/sweep.png ] && grep -q 'plot' $dir/b/sweep.gp"

# a point that fails is recorded and the sweep goes on; exit 3
"$QSYNC" sweep "$EX/fig2b.ini" --vary gamma=0:1:3 --out "$dir/f" --no-plot 2>"$dir/err"
st=$?
check "a failing point (gamma = 0): exit 3" "[ $st -eq 3 ]" "exit $st: $(cat "$dir/err")"
check "the failing point is NaN with its status, the others are solved" \
    "awk -F, 'NR==2 && \$2==\"nan\" && \$NF!=\"ok\" {a=1} NR==3 && \$2!=\"nan\" {b=1} END {exit !(a && b)}' $dir/f/sweep.csv" "$(cat "$dir/f/sweep.csv")"

# kill -9 midway, then --resume: equals the uninterrupted run row for row
big=(sweep "$EX/fig2b.ini" --levels 10 --vary 1.omega=-30:30:601 --vary 1-2=0.02:0.3:6 --threads 1 --no-plot)
"$QSYNC" "${big[@]}" --out "$dir/full" 2>/dev/null
"$QSYNC" "${big[@]}" --out "$dir/k" 2>/dev/null &
pid=$!
sleep 0.4
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
rows=$(($(wc -l <"$dir/k/sweep.partial.csv") - 2))
check "killed midway: the journal holds some points but not all ($rows of 3606)" "[ $rows -gt 0 ] && [ $rows -lt 3606 ]"
"$QSYNC" "${big[@]}" --out "$dir/k" --resume 2>"$dir/err"
check "--resume after kill -9: exit 0, says how many were done" "[ $? -eq 0 ] && grep -q 'already done' $dir/err" "$(cat "$dir/err")"
check "--resume after kill -9: sweep.csv identical to the uninterrupted run" "cmp -s $dir/full/sweep.csv $dir/k/sweep.csv"

# Ctrl-C: exit 130, a consistent partial sweep.csv in grid order; then --resume
"$QSYNC" "${big[@]}" --out "$dir/i" 2>"$dir/err" &
pid=$!
sleep 0.4
kill -INT $pid; wait $pid
st=$?
n=$(($(wc -l <"$dir/i/sweep.csv") - 1))
check "SIGINT: exit 130 and a partial sweep.csv ($n rows)" "[ $st -eq 130 ] && [ $n -gt 0 ] && [ $n -lt 3606 ]" "exit $st"
check "SIGINT: the partial rows are rows of the full result" \
    "[ \$(grep -vxFf $dir/full/sweep.csv $dir/i/sweep.csv | wc -l) -eq 0 ]"
"$QSYNC" "${big[@]}" --out "$dir/i" --resume 2>/dev/null
check "--resume after SIGINT: identical to the uninterrupted run" "cmp -s $dir/full/sweep.csv $dir/i/sweep.csv"
"$QSYNC" sweep "$EX/fig2b.ini" --vary 1.omega=0:1:3 --out "$dir/i" --resume 2>"$dir/err"
check "--resume into a folder of another sweep: exit 2" "[ $? -eq 2 ] && grep -q 'different sweep' $dir/err" "$(cat "$dir/err")"

# bad input
"$QSYNC" sweep "$EX/fig2b.ini" --vary 1.omega=0:1 --out "$dir/x" 2>"$dir/err"
check "--vary without COUNT: exit 2" "[ $? -eq 2 ] && grep -q 'START:STOP:COUNT' $dir/err"
"$QSYNC" sweep "$EX/fig2b.ini" --vary 9.omega=0:1:3 --out "$dir/x" 2>"$dir/err"
check "--vary on an unknown oscillator: exit 2 naming it" "[ $? -eq 2 ] && grep -q \"no oscillator named '9'\" $dir/err" "$(cat "$dir/err")"
"$QSYNC" sweep "$EX/fig2b.ini" --vary sigma=-0.1:0.3:5 --out "$dir/x" 2>"$dir/err"
check "--vary crossing sigma <= 0: exit 2 naming the grid point" "[ $? -eq 2 ] && grep -q 'grid point 0' $dir/err" "$(cat "$dir/err")"
"$QSYNC" sweep "$EX/fig2b.ini" --vary sigma=0.2:0.3:2 --tie K=1/sigmaa --out "$dir/x" 2>"$dir/err"
check "--tie with an unknown variable: exit 2" "[ $? -eq 2 ] && grep -q \"unknown variable 'sigmaa'\" $dir/err" "$(cat "$dir/err")"

# a parameter varied or tied twice: the columns would not say what was solved
for args in "--vary 1-2=0.1:0.1:1 --tie 1-2=0.01*K_1" "--vary 1.omega=-1:1:3 --vary 1.omega=-1:1:3" \
            "--vary K=1:2:2 --tie 1.K=3" "--vary 2-1=0.1:0.2:2 --vary 1-2=0.1:0.2:2"; do
    # shellcheck disable=SC2086
    "$QSYNC" sweep "$EX/fig2b.ini" $args --out "$dir/twice" --no-plot 2>"$dir/err"
    check "$args: exit 2, 'name the same parameter', nothing written" \
        "[ $? -eq 2 ] && grep -q 'name the same parameter' $dir/err && [ ! -e $dir/twice/sweep.csv ]" "$(cat "$dir/err")"
done

# a FIFO in the journal's place: --resume says so at once instead of waiting for a writer
"$QSYNC" sweep "$EX/fig2b.ini" --levels 3 --vary 1.omega=-1:1:3 --out "$dir/fifo" --no-plot 2>/dev/null
rm -f "$dir/fifo/sweep.partial.csv" && mkfifo "$dir/fifo/sweep.partial.csv"
timeout 20 "$QSYNC" sweep "$EX/fig2b.ini" --levels 3 --vary 1.omega=-1:1:3 --out "$dir/fifo" --no-plot --resume 2>"$dir/err"
check "--resume with a FIFO as the journal: exit 2 at once, 'not a regular file'" \
    "[ $? -eq 2 ] && grep -q 'not a regular file' $dir/err" "$(cat "$dir/err")"

finish
