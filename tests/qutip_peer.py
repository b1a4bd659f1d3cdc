#!/usr/bin/env python3
"""Independent peer: the same network solved by QuTiP.

Reads the model as qsync resolved it (`qsync steady MODEL --json`: oscillators with every
parameter, couplings), builds H and the collapse operators of Eqs. 1-4 from scratch with
QuTiP, solves for the steady state, and computes S for every pair from the full density
matrix, maximising P(phi) with a dense grid refined by a bounded scalar optimiser.

usage: qutip_peer.py QSYNC MODEL [qsync flags...]            compare, exit 1 on mismatch
       qutip_peer.py --time REPEATS QSYNC MODEL [flags...]   print QuTiP's median seconds
"""
import json
import resource
import subprocess
import sys
import time

import numpy as np
import qutip
from scipy.optimize import minimize_scalar

REL_TOL = 1e-6


def build(model):
    osc = model["oscillators"]
    dims = [o["levels"] for o in osc]
    n = len(osc)

    def op(j, single):
        ops = [qutip.qeye(d) for d in dims]
        ops[j] = single
        return qutip.tensor(ops)

    a = [op(j, qutip.destroy(dims[j])) for j in range(n)]
    H = 0
    c_ops = []
    for j, o in enumerate(osc):
        H += o["omega"] * a[j].dag() * a[j] - o["K"] * a[j].dag() ** 2 * a[j] ** 2
        for m in range(1, dims[j]):
            fp = o["sigma_plus"] ** 2 / ((m - o["n_plus"]) ** 2 + o["sigma_plus"] ** 2)
            fm = o["sigma_minus"] ** 2 / ((m - o["n_minus"]) ** 2 + o["sigma_minus"] ** 2)
            up = qutip.basis(dims[j], m) * qutip.basis(dims[j], m - 1).dag()
            c_ops.append(np.sqrt(o["gamma_plus"] * fp * m) * op(j, up))
            c_ops.append(np.sqrt(o["gamma_minus"] * fm * m) * op(j, up.dag()))
    names = [o["name"] for o in osc]
    for c in model["couplings"]:
        j, k = names.index(c["a"]), names.index(c["b"])
        cjk = c["re"] + 1j * c["im"]
        H += cjk * a[j].dag() * a[k] + np.conj(cjk) * a[k].dag() * a[j]
    return H, c_ops, dims, names


def measure(rho, dims, ja, jb):
    """S and phi_max of pair (ja, jb) from the full density matrix."""
    r = rho.ptrace([ja, jb]).full()
    La, Lb = dims[ja], dims[jb]
    lmax = min(La, Lb) - 1
    c = np.zeros(lmax + 1, complex)
    for l in range(1, lmax + 1):
        for na in range(l, La):
            for nb in range(0, Lb - l):
                c[l] += r[na * Lb + nb, (na - l) * Lb + (nb + l)]
    ls = np.arange(1, lmax + 1)

    def s(phi):
        return 2 * np.real(np.sum(c[1:] * np.exp(-1j * ls * phi)))

    grid = np.linspace(0, 2 * np.pi, 4096, endpoint=False)
    vals = np.array([s(p) for p in grid])
    i = int(np.argmax(vals))
    h = grid[1]
    res = minimize_scalar(lambda p: -s(p), bounds=(grid[i] - h, grid[i] + h), method="bounded",
                          options={"xatol": 1e-13})
    best = max(vals[i], -res.fun)
    return best, res.x % (2 * np.pi)


def qsync_json(argv):
    out = subprocess.run(argv + ["--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    args = sys.argv[1:]
    repeats, method = 0, "direct"
    if args and args[0] == "--time":
        repeats = int(args[1])
        args = args[2:]
        if args and args[0] == "--method":        # e.g. iterative-gmres (with QuTiP's ILU preconditioner)
            method = args[1]
            args = args[2:]
    qsync, model_file, flags = args[0], args[1], args[2:]
    q = qsync_json([qsync, "steady", model_file] + flags)
    H, c_ops, dims, names = build(q)
    if repeats:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            if method == "direct":
                qutip.steadystate(H, c_ops)
            else:
                qutip.steadystate(H, c_ops, method=method, use_precond=True)
            times.append(time.perf_counter() - t0)
        print(json.dumps({"model": model_file, "repeats": repeats, "method": method, "median_s": float(np.median(times)),
                          "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
        return 0
    rho = qutip.steadystate(H, c_ops)
    failures = 0
    for p in q["pairs"]:
        ja, jb = names.index(p["a"]), names.index(p["b"])
        S, phi = measure(rho, dims, ja, jb)
        rel = abs(S - p["S"]) / max(abs(S), 1e-300)
        ok = rel <= REL_TOL
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}: {model_file} {' '.join(flags)} pair {p['a']}-{p['b']}: "
              f"qsync S = {p['S']:.12e}, QuTiP S = {S:.12e}, relative difference {rel:.2e} (tolerance {REL_TOL:g})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
