#!/usr/bin/python3
"""The Fig. 3a map (161 x 81 points, 10 levels, K = 1/sigma) through the Python package, as
bench/run times it through the command line: `python_map.py REPEATS [--default]` prints the
median wall time of m.sweep (numpy and pandas already imported, as in a notebook) as JSON.
Without --default the truncation check is off (the command line's --no-truncation-check)."""
import json
import statistics
import sys
import time

import qsync

repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
default = "--default" in sys.argv[2:]
m = qsync.Model.load("examples/fig3a.ini")
vary = {"1.omega": qsync.Range(-25, 25, 161), "sigma": qsync.Range(0.15, 1.0, 81)}
options = {} if default else {"truncation_check": False}
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    df = m.sweep(vary=vary, ties={"K": "1/sigma"}, **options)
    times.append(time.perf_counter() - t0)
    if len(df) != 161 * 81 or not (df["status"] != "input").all():
        sys.exit(f"python_map.py: the map came out with {len(df)} rows or unsolved points")
print(json.dumps({"median_s": statistics.median(times), "times_s": times}))
