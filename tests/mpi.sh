#!/usr/bin/env bash
# Sweeps and figures across MPI processes: the CSV equals a single process's row for row
# (byte for byte), with 2 and 3 processes; a run whose process is killed loses no point
# another process journalled, and --resume (with any number of processes) finishes it
# identically. Also: a UMFPACK-sized sweep is bit-identical for 1 and 2 threads.
# One PASS/FAIL line per check.
set -u
QSYNC=${1:?usage: mpi.sh QSYNC EXAMPLES}
EX=${2:?usage: mpi.sh QSYNC EXAMPLES}
MPIRUN=(mpirun --allow-run-as-root --oversubscribe)
export OMPI_MCA_rmaps_base_oversubscribe=1
. "$(dirname "$0")/checks.sh"
rows() { echo $(($(wc -l <"$1") - 1)); }

# a ring of four (UMFPACK, symmetry) over 41 points: serial, 1 and 2 threads, then MPI
ring=(sweep "$EX/ring4.ini" --vary B.omega,B2.omega=0:40:41 --no-plot)
"$QSYNC" "${ring[@]}" --threads 1 --out "$dir/serial" 2>/dev/null
"$QSYNC" "${ring[@]}" --threads 2 --out "$dir/threads2" 2>/dev/null
check "ring of four (UMFPACK): 1 and 2 threads identical" "cmp -s $dir/serial/sweep.csv $dir/threads2/sweep.csv"
"${MPIRUN[@]}" -np 2 "$QSYNC" "${ring[@]}" --out "$dir/mpi2" 2>"$dir/err"
st=$?
check "mpirun -np 2 qsync sweep: exit 0" "[ $st -eq 0 ]" "exit $st: $(tail -3 "$dir/err")"
check "2 processes: sweep.csv identical to one process ($(rows "$dir/serial/sweep.csv") rows)" "cmp -s $dir/serial/sweep.csv $dir/mpi2/sweep.csv"
check "2 processes: one journal left, identical to one process's" \
    "cmp -s $dir/serial/sweep.partial.csv $dir/mpi2/sweep.partial.csv && [ -z \"\$(ls $dir/mpi2 | grep -E 'partial\\.[0-9]+')\" ]"

# a 2-D map with 3 processes (uneven share of the blocks), GMRES with warm starts
map=(sweep "$EX/fig4.ini" --vary A-C,B-C=0.05:0.25:9 --vary C.omega=0:40:21 --no-plot --solver iterative)
"$QSYNC" "${map[@]}" --out "$dir/map1" 2>/dev/null
"${MPIRUN[@]}" -np 3 "$QSYNC" "${map[@]}" --out "$dir/map3" 2>"$dir/err"
check "3 processes, 2-D map with GMRES: identical to one process ($(rows "$dir/map1/sweep.csv") rows)" \
    "cmp -s $dir/map1/sweep.csv $dir/map3/sweep.csv" "$(tail -2 "$dir/err")"

# the classical model: each point's ensemble is keyed by its seed, so the split changes nothing
cl=(sweep "$EX/fig2a.ini" --classical --vary 1.omega=-2:2:33 --trajectories 96 --time 30 --burn-in 20 --no-plot)
"$QSYNC" "${cl[@]}" --out "$dir/cl1" 2>/dev/null
"${MPIRUN[@]}" -np 2 "$QSYNC" "${cl[@]}" --out "$dir/cl2" 2>"$dir/err"
check "classical sweep with 2 processes: identical to one process" "cmp -s $dir/cl1/sweep.csv $dir/cl2/sweep.csv" "$(tail -2 "$dir/err")"

# kill one process midway; the other's journalled points survive; --resume finishes it
long=(sweep "$EX/fig2b.ini" --levels 14 --vary 1.omega=-30:30:241 --vary 1-2=0.02:0.5:3 --no-plot --threads 1)
"$QSYNC" "${long[@]}" --out "$dir/whole" 2>/dev/null
"${MPIRUN[@]}" -np 2 "$QSYNC" "${long[@]}" --out "$dir/killed" 2>/dev/null &
launcher=$!
for _ in $(seq 1 200); do                       # until both journals hold a few blocks
    a=$(cat "$dir/killed/sweep.partial.csv" 2>/dev/null | wc -l)
    b=$(cat "$dir/killed/sweep.partial.1.csv" 2>/dev/null | wc -l)
    [ "$a" -gt 40 ] && [ "$b" -gt 40 ] && break
    sleep 0.05
done
victim=$(pgrep -f -n "qsync sweep .*$dir/killed")
kill -9 "$victim" 2>/dev/null
wait "$launcher" 2>/dev/null
before=$(cat "$dir/killed"/sweep.partial*.csv 2>/dev/null | grep -c '^[0-9]')
check "a killed run leaves journalled points ($before of 723)" "[ $before -gt 60 ] && [ $before -lt 723 ] && [ ! -e $dir/killed/sweep.csv ]"
"${MPIRUN[@]}" -np 2 "$QSYNC" "${long[@]}" --out "$dir/killed" --resume 2>"$dir/err"
st=$?
check "--resume with 2 processes: exit 0, says what was done" "[ $st -eq 0 ] && grep -q 'resuming, [0-9]* of 723' $dir/err" \
    "exit $st: $(head -3 "$dir/err")"
check "resumed MPI sweep identical to an uninterrupted one" "cmp -s $dir/whole/sweep.csv $dir/killed/sweep.csv"

# the same, resumed by 3 processes after a kill
"${MPIRUN[@]}" -np 3 "$QSYNC" "${long[@]}" --out "$dir/k3" 2>/dev/null &
launcher=$!
for _ in $(seq 1 200); do
    a=$(cat "$dir/k3"/sweep.partial*.csv 2>/dev/null | grep -c '^[0-9]')
    [ "$a" -gt 100 ] && break
    sleep 0.05
done
kill -9 "$(pgrep -f -o "qsync sweep .*$dir/k3")" 2>/dev/null
wait "$launcher" 2>/dev/null
"$QSYNC" "${long[@]}" --out "$dir/k3" --resume 2>/dev/null
check "killed with 3 processes, resumed by one: identical" "cmp -s $dir/whole/sweep.csv $dir/k3/sweep.csv"

# qsync figure under mpirun
"$QSYNC" figure ring4 --coarse --out "$dir/fig1" 2>/dev/null
"${MPIRUN[@]}" -np 2 "$QSYNC" figure ring4 --coarse --out "$dir/fig2" 2>"$dir/err"
st=$?
check "mpirun -np 2 qsync figure ring4: exit 0, CSV identical, plot drawn once" \
    "[ $st -eq 0 ] && cmp -s $dir/fig1/ring4/sweep.csv $dir/fig2/ring4/sweep.csv && [ -s $dir/fig2/ring4/figure.png ] && [ \$(grep -c 'figure.png' $dir/err) -eq 1 ]" \
    "exit $st: $(tail -3 "$dir/err")"

finish
