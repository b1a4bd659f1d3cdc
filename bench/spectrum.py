#!/usr/bin/env python3
"""qsync spectrum against QuTiP's spectrum in the same run (medians), and the ring of four.

  (1) examples/fig2b.ini (two oscillators x 8 levels): both oscillators' spectra at 2,000
      frequencies. qsync: `qsync spectrum --omega A:B:2000 --json` (the whole process: model,
      steady state, spectrum, peaks and widths). QuTiP: qutip.spectrum(H, w, c_ops, a_j.dag(),
      a_j, solver='es') for both oscillators (its fastest solver: one eigendecomposition of the
      D^2 x D^2 Liouvillian, then every frequency), H and c_ops built from scratch
      (tests/qutip_peer.py). The two results are compared (relative difference printed).
  (2) examples/ring4.ini (four oscillators x 4 levels): 2,000 frequencies, qsync only; wall and
      CPU seconds (a loaded machine shows in the difference).

usage: spectrum.py QSYNC [REPEATS [QUTIP_REPEATS [RING_REPEATS]]]    a JSON line per case
       (defaults 3, 1, 1: QuTiP's eigendecomposition and the ring take minutes)
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import qutip

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from qutip_peer import build  # noqa: E402

QSYNC = sys.argv[1]
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
QREPEATS = int(sys.argv[3]) if len(sys.argv) > 3 else 1
RING_REPEATS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def timed_qsync(args, repeats):
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run([QSYNC, "spectrum"] + args + ["--json"], capture_output=True, text=True, check=True)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(time.perf_counter() - t0)
        cpus.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
        out = json.loads(r.stdout)
    return statistics.median(walls), statistics.median(cpus), out


def main():
    load = os.getloadavg()[0]
    model = os.path.join(ROOT, "examples", "fig2b.ini")
    grid = "-130:40:2000"
    wall, cpu, q = timed_qsync([model, "--omega", grid], REPEATS)
    omega = np.array(q["omega"])
    st = json.loads(subprocess.run([QSYNC, "steady", model, "--json", "--no-truncation-check"], capture_output=True,
                                   text=True, check=True).stdout)
    H, c_ops, dims, names = build(st)
    ops = []
    for j in range(len(dims)):
        o = [qutip.qeye(d) for d in dims]
        o[j] = qutip.destroy(dims[j])
        ops.append(qutip.tensor(o))
    times, ref = [], None
    for _ in range(QREPEATS):
        t0 = time.perf_counter()
        ref = [qutip.spectrum(H, omega, c_ops, a.dag(), a, solver="es") for a in ops]
        times.append(time.perf_counter() - t0)
    peer = statistics.median(times)
    diff = max(float(np.max(np.abs(np.array(o["spectrum"]) - r) / np.abs(r))) for o, r in zip(q["oscillators"], ref))
    print(json.dumps({"case": "fig2b, 2 x 8 levels, 2000 frequencies", "qsync_wall_s": wall, "qsync_cpu_s": cpu,
                      "qsync_repeats": REPEATS, "qutip_es_s": peer, "qutip_repeats": QREPEATS, "ratio": peer / wall,
                      "max_relative_difference": diff, "sector_dimension": q["sector_dimension"], "solver": q["solver"],
                      "load_average": load}))
    model = os.path.join(ROOT, "examples", "ring4.ini")
    wall, cpu, q = timed_qsync([model, "--omega", "-60:35:2000"], RING_REPEATS)
    print(json.dumps({"case": "ring4, 4 x 4 levels, 2000 frequencies", "qsync_wall_s": wall, "qsync_cpu_s": cpu,
                      "qsync_repeats": RING_REPEATS, "sector_dimension": q["sector_dimension"], "solver": q["solver"],
                      "residual": q["residual"], "load_average": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
