#!/usr/bin/env bash
# Tables of docs/classical.md: S at the Fig. 2a parameters (V = 0.05, Delta = 0) against the
# time step, the escape cutoff, the run length and the burn-in. Usage: bench/classical_tables.sh [QSYNC]
set -euo pipefail
cd "$(dirname "$0")/.."
Q=${1:-build/qsync}
row() { $Q classical examples/fig2a.ini --json "$@" | /usr/bin/python3 -c "
import json, sys
d = json.load(sys.stdin); p = d['pairs'][0]
print(f\"| {p['S']:.4f} ± {p['S_err']:.4f} | {d['escaped_fraction']:.3f} |\")"; }
echo "| dt | S ± S_err | escaped |"; echo "|---|---|---|"
for dt in 0.05 0.04 0.02 0.01 0.005; do echo "| $dt $(row --dt $dt --trajectories 8192)"; done
echo; echo "| cutoff | S ± S_err | escaped |"; echo "|---|---|---|"
for c in 5 6 8 12 16 32; do echo "| $c $(row --cutoff $c --trajectories 8192)"; done
echo; echo "| sampling time (after burn-in 50) | S ± S_err | escaped |"; echo "|---|---|---|"
for t in 50 100 200 400 800; do echo "| $t $(row --time $t --trajectories 8192)"; done
echo; echo "| burn-in (sampling 200 after it) | S ± S_err | escaped |"; echo "|---|---|---|"
for b in 5 10 20 30 50 100; do echo "| $b $(row --burn-in $b --trajectories 8192)"; done
echo; echo "| burn-in, V = 1/60 (the weakest of Fig. 2a) | S ± S_err | escaped |"; echo "|---|---|---|"
for b in 5 30 60 100 200; do echo "| $b $(row --burn-in $b --trajectories 8192 --set 1-2=0.016666666666666667)"; done
