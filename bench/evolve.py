#!/usr/bin/env python3
"""Quench benchmarks (`qsync evolve`, MODEL.md §8), one JSON line per case, medians of repeats.

usage: bench/evolve.py QSYNC REPEATS [--slow]

  ring4   examples/ring4.ini (4 oscillators x 4 levels, 8,092 unknowns) to t = 20/gamma, 41 samples:
          qsync's integration (diagnostics.seconds) and the whole process (wall), default Krylov.
  fig2b   examples/fig2b.ini (2 x 8 levels, 344 unknowns) to t = 20, 201 samples, against QuTiP's
          mesolve in the same run: same H, collapse operators (tests/qutip_peer.py's construction),
          uncoupled product start and times, tolerances atol 1e-12, rtol 1e-10; QuTiP's time is the
          mesolve call with <n_j> as e_ops (qsync records S and <n_j> and checks every sample).
          Also qsync --method bdf on the same case, and the largest difference in <n_j>(t) between
          qsync and QuTiP (the accuracy the times are for).
  --slow  also QuTiP's mesolve on ring4 (minutes).
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import qutip

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from qutip_peer import build  # noqa: E402

QSYNC, REPEATS = sys.argv[1], int(sys.argv[2])
SLOW = "--slow" in sys.argv[3:]


def qsync_run(model, T, N, extra=()):
    t0 = time.perf_counter()
    out = subprocess.run([QSYNC, "evolve", model, "--time", str(T), "--samples", str(N), "--json", *extra],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out), time.perf_counter() - t0


def qsync_case(name, model, T, N, extra=()):
    runs = [qsync_run(model, T, N, extra) for _ in range(REPEATS)]
    d = runs[-1][0]["diagnostics"]
    return runs[-1][0], {"case": name, "model": model, "T": T, "samples": N, "method": d["method"],
                         "median_integration_s": statistics.median(r[0]["diagnostics"]["seconds"] for r in runs),
                         "median_process_s": statistics.median(r[1] for r in runs), "steps": d["steps"],
                         "sector_dimension": d["sector_dimension"], "trace_error_max": d["trace_error_max"]}


def populations(o):
    p = [1.0]
    for n in range(1, o["levels"]):
        fp = o["sigma_plus"] ** 2 / ((n - o["n_plus"]) ** 2 + o["sigma_plus"] ** 2)
        fm = o["sigma_minus"] ** 2 / ((n - o["n_minus"]) ** 2 + o["sigma_minus"] ** 2)
        p.append(p[-1] * o["gamma_plus"] * fp / (o["gamma_minus"] * fm))
    p = np.array(p)
    return p / p.sum()


def qutip_case(model, times):
    steady = json.loads(subprocess.run([QSYNC, "steady", model, "--json", "--no-truncation-check"], check=True,
                                       capture_output=True, text=True).stdout)
    H, c_ops, dims, _ = build(steady)
    rho0 = qutip.tensor([qutip.Qobj(np.diag(populations(o))) for o in steady["oscillators"]])
    n_ops = []
    for j, d in enumerate(dims):
        ops = [qutip.qeye(x) for x in dims]
        ops[j] = qutip.num(d)
        n_ops.append(qutip.tensor(ops))
    opts = qutip.Options(atol=1e-12, rtol=1e-10, nsteps=10**7)
    secs, res = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        res = qutip.mesolve(H, rho0, times, c_ops, n_ops, options=opts)
        secs.append(time.perf_counter() - t0)
    return statistics.median(secs), np.array(res.expect)


def main():
    rq, ring = qsync_case("ring4 quench", "examples/ring4.ini", 20, 41)
    print(json.dumps(ring), flush=True)
    q, fig = qsync_case("fig2b quench", "examples/fig2b.ini", 20, 201)
    _, bdf = qsync_case("fig2b quench, --method bdf", "examples/fig2b.ini", 20, 201, ["--method", "bdf"])
    peer_s, n_ref = qutip_case("examples/fig2b.ini", np.array(q["times"]))
    ours = np.array([o["mean_n"] for o in q["oscillators"]])
    fig.update({"qutip_mesolve_median_s": peer_s, "ratio_qutip_over_qsync_integration": peer_s / fig["median_integration_s"],
                "ratio_qutip_over_qsync_process": peer_s / fig["median_process_s"],
                "max_abs_diff_mean_n": float(np.max(np.abs(ours - n_ref)))})
    print(json.dumps(fig))
    bdf["ratio_bdf_over_krylov_integration"] = bdf["median_integration_s"] / fig["median_integration_s"]
    print(json.dumps(bdf))
    if SLOW:
        peer_s, n_ring = qutip_case("examples/ring4.ini", np.array(rq["times"]))
        ours = np.array([o["mean_n"] for o in rq["oscillators"]])
        ring.update({"qutip_mesolve_median_s": peer_s, "ratio_qutip_over_qsync_integration": peer_s / ring["median_integration_s"],
                     "max_abs_diff_mean_n": float(np.max(np.abs(ours - n_ring)))})
        print(json.dumps(ring))


if __name__ == "__main__":
    main()
