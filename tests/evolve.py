#!/usr/bin/env python3
"""`qsync evolve` (MODEL.md §8, §10): quench dynamics against QuTiP's mesolve, exact limits,
the long-time limit, the output files, and bad input.

usage: evolve.py QSYNC MODELS_DIR

- QuTiP: H and the collapse operators are built by tests/qutip_peer.py from the model as
  qsync resolved it (`qsync steady --json`); ρ(0) is the product of each oscillator's
  uncoupled populations, computed here from detailed balance p(n)/p(n−1) = up(n)/down(n)
  with the rates of MODEL.md §1 (or a Fock state); mesolve (atol 1e-12, rtol 1e-10) gives
  ρ(t_k) at the same times; S(t_k) by qutip_peer.measure, ⟨n_j⟩(t_k) by expect. Agreement:
  1e-6 absolute at every sample, on two unequal oscillators, three oscillators with complex
  couplings and unequal truncations, and a complex-coupled pair started in a Fock state.
- Long times: S(T) and ⟨n_j⟩(T) within 1e-6 of `qsync steady`: the slowest relaxation
  (dense eigenvalues of QuTiP's Liouvillian) decays as e^{−0.130 t} for peer_unequal (T = 300:
  e^{−39}) and e^{−0.0496 t} for peer_complex (T = 500: e^{−24.8} ≈ 1.7e-11).
- The two integrators (--method krylov, the default, and bdf) agree to 1e-8 at every sample.
- Every run: worst |Tr ρ − 1| ≤ 1e-9, Hermiticity error 0, pair states positive to −1e-9.
- Fock start: ⟨n_j⟩(0) = N_j and S(0) = 0 exactly.
- Uncoupled network (couplings set to 0): S(t) = 0 to 1e-12 and ⟨n_j⟩(t) the uncoupled
  value from detailed balance to 1e-10 at every sample.
- --out DIR: evolve.csv's header names (t, S_<a>-<b>, mean_n_<j>), its rows equal the JSON
  to 1e-15 relative, and evolve.gp reads every curve by its header name.
- A plan above --memory-limit: exit 4 with the amount; --max-steps reached: exit 3; SIGINT during a long run: exit 130, no output.
- Bad flags and values: exit 2 with a message naming the flag: among them an accuracy request
  whose Krylov bound atol x T exceeds 1e-3, atol or rtol >= 1e-2, sample times closer than the
  smallest normal double, a Fock number that overflows (quoted as given), an observable named
  twice; --time 1e50 with BDF: exit 3 saying what to do.
"""
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import qutip

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402
from qutip_peer import build, measure  # noqa: E402

QSYNC = sys.argv[1]
MODELS = sys.argv[2]
PEER_TOL = 1e-6
STEADY_TOL = 1e-6
TRACE_TOL = 1e-9


def run(args):
    return subprocess.run([QSYNC] + args, capture_output=True, text=True)


def evolve_json(model, T, N, extra=()):
    r = run(["evolve", model, "--time", str(T), "--samples", str(N), "--json", *extra])
    if r.returncode != 0:
        raise RuntimeError(f"qsync evolve {model} exited {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def steady_json(model, extra=()):
    r = run(["steady", model, "--json", "--no-truncation-check", *extra])
    if r.returncode != 0:
        raise RuntimeError(f"qsync steady {model} exited {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def uncoupled_populations(o):
    """Detailed balance with the rates of MODEL.md §1, truncated at o['levels']."""
    L = o["levels"]
    p = np.zeros(L)
    p[0] = 1.0
    for n in range(1, L):
        fp = o["sigma_plus"] ** 2 / ((n - o["n_plus"]) ** 2 + o["sigma_plus"] ** 2)
        fm = o["sigma_minus"] ** 2 / ((n - o["n_minus"]) ** 2 + o["sigma_minus"] ** 2)
        p[n] = p[n - 1] * (o["gamma_plus"] * fp * n) / (o["gamma_minus"] * fm * n)
    return p / p.sum()


def qutip_run(model_json, times, fock=None):
    H, c_ops, dims, names = build(model_json)
    osc = model_json["oscillators"]
    if fock is None:
        rho0 = qutip.tensor([qutip.Qobj(np.diag(uncoupled_populations(o))) for o in osc])
    else:
        rho0 = qutip.tensor([qutip.fock_dm(o["levels"], k) for o, k in zip(osc, fock)])
    opts = qutip.Options(atol=1e-12, rtol=1e-10, nsteps=10**7)
    res = qutip.mesolve(H, rho0, times, c_ops, [], options=opts)
    n_ops = []
    for j, d in enumerate(dims):
        ops = [qutip.qeye(x) for x in dims]
        ops[j] = qutip.num(d)
        n_ops.append(qutip.tensor(ops))
    S = {}
    for ja in range(len(dims)):
        for jb in range(ja + 1, len(dims)):
            S[(names[ja], names[jb])] = np.array([measure(rho, dims, ja, jb)[0] for rho in res.states])
    n = {names[j]: np.array([qutip.expect(n_ops[j], rho) for rho in res.states]) for j in range(len(dims))}
    return S, n


def diagnostics_checks(label, q):
    d = q["diagnostics"]
    check(f"{label}: worst |Tr rho - 1| <= {TRACE_TOL:g}", d["trace_error_max"] <= TRACE_TOL, f"{d['trace_error_max']:.2e}")
    check(f"{label}: Hermiticity error 0", d["hermiticity_error_max"] == 0, f"{d['hermiticity_error_max']:.2e}")
    check(f"{label}: pair states positive (smallest eigenvalue >= -1e-9)", d["min_eigenvalue"] >= -1e-9,
          f"{d['min_eigenvalue']:.3e}")


def peer(name, T, N, fock=None, extra=()):
    model = os.path.join(MODELS, name)
    label = f"{name} T={T} N={N}" + (f" from fock:{','.join(map(str, fock))}" if fock else "")
    flags = list(extra) + (["--from", "fock:" + ",".join(map(str, fock))] if fock else [])
    q = evolve_json(model, T, N, flags)
    times = np.array(q["times"])
    check(f"{label}: times t_k = kT/(N-1)", len(times) == N and np.max(np.abs(times - T * np.arange(N) / (N - 1))) <= 1e-15 * T,
          f"{len(times)} times")
    S_ref, n_ref = qutip_run(steady_json(model, extra), times, fock)
    worst_S = max(np.max(np.abs(np.array(p["S"]) - S_ref[(p["a"], p["b"])])) for p in q["pairs"])
    worst_n = max(np.max(np.abs(np.array(o["mean_n"]) - n_ref[o["name"]])) for o in q["oscillators"])
    amp = max(np.max(np.abs(v)) for v in S_ref.values())
    check(f"{label}: S(t) against QuTiP mesolve at every sample (|S| up to {amp:.3f})", worst_S <= PEER_TOL,
          f"worst |difference| {worst_S:.2e} (tolerance {PEER_TOL:g})")
    check(f"{label}: <n_j>(t) against QuTiP mesolve at every sample", worst_n <= PEER_TOL,
          f"worst |difference| {worst_n:.2e} (tolerance {PEER_TOL:g})")
    check(f"{label}: S varies (the comparison has something to compare)", amp > 1e-2, f"max |S| {amp:.3g}")
    diagnostics_checks(label, q)
    return q


def methods_agree():
    model = os.path.join(MODELS, "peer_three.ini")
    a = evolve_json(model, 4, 9, ["--method", "krylov"])
    b = evolve_json(model, 4, 9, ["--method", "bdf"])
    check("--method krylov and bdf report their method", a["diagnostics"]["method"] == "krylov" and b["diagnostics"]["method"] == "bdf")
    dS = max(np.max(np.abs(np.array(p["S"]) - np.array(q["S"]))) for p, q in zip(a["pairs"], b["pairs"]))
    dn = max(np.max(np.abs(np.array(p["mean_n"]) - np.array(q["mean_n"]))) for p, q in zip(a["oscillators"], b["oscillators"]))
    check("peer_three: the Krylov and BDF integrators agree in S(t), <n_j>(t) at every sample (1e-8)", max(dS, dn) <= 1e-8,
          f"worst |difference| S {dS:.1e}, <n> {dn:.1e}")
    diagnostics_checks("peer_three --method bdf", b)


def long_time(name, T):
    model = os.path.join(MODELS, name)
    q = evolve_json(model, T, 3)
    s = steady_json(model)
    dS = max(abs(p["S"][-1] - sp["S"]) for p, sp in zip(q["pairs"], s["pairs"]))
    dn = max(abs(o["mean_n"][-1] - so["mean_n"]) for o, so in zip(q["oscillators"], s["oscillators"]))
    check(f"{name}: S({T}) -> steady S within {STEADY_TOL:g}", dS <= STEADY_TOL, f"worst |S(T) - S_steady| {dS:.2e}")
    check(f"{name}: <n>({T}) -> steady <n> within {STEADY_TOL:g}", dn <= STEADY_TOL, f"worst difference {dn:.2e}")
    dS_json = max(abs(p["S_steady"] - sp["S"]) for p, sp in zip(q["pairs"], s["pairs"]))
    check(f"{name}: the JSON's S_steady is qsync steady's S", dS_json <= 1e-12, f"{dS_json:.1e}")
    diagnostics_checks(f"{name} T={T}", q)


def fock_start():
    model = os.path.join(MODELS, "peer_unequal.ini")
    q = evolve_json(model, 2, 5, ["--from", "fock:3,1"])
    n0 = [o["mean_n"][0] for o in q["oscillators"]]
    S0 = [p["S"][0] for p in q["pairs"]]
    check("fock:3,1: <n_j>(0) = (3, 1) exactly", n0 == [3.0, 1.0], f"{n0}")
    check("fock:3,1: S(0) = 0 exactly", S0 == [0.0], f"{S0}")
    check("fock:3,1: JSON records the Fock state", q.get("from") == "fock" and q.get("fock") == [3, 1], f"{q.get('fock')}")


def uncoupled():
    model = os.path.join(MODELS, "peer_three.ini")
    zero = ["--set", "A-C=0", "--set", "B-C=0", "--set", "A-B=0"]
    q = evolve_json(model, 5, 11, zero)
    s = steady_json(model, zero)
    worst_S = max(max(abs(v) for v in p["S"]) for p in q["pairs"])
    check("uncoupled peer_three: S(t) = 0 at every sample (1e-12)", worst_S <= 1e-12, f"worst |S| {worst_S:.1e}")
    worst_n = 0.0
    for o, so in zip(q["oscillators"], s["oscillators"]):
        p = uncoupled_populations(so)
        exact = float(np.dot(np.arange(len(p)), p))
        worst_n = max(worst_n, max(abs(v - exact) for v in o["mean_n"]))
    check("uncoupled peer_three: <n_j>(t) = the uncoupled value at every sample from t = 0 (1e-10)", worst_n <= 1e-10,
          f"worst difference {worst_n:.1e}")
    diagnostics_checks("uncoupled peer_three", q)


def outputs():
    model = os.path.join(MODELS, "peer_three.ini")
    d = tempfile.mkdtemp(prefix="qsync-evolve-")
    try:
        out = os.path.join(d, "out")
        r = run(["evolve", model, "--time", "1", "--samples", "6", "--json", "--out", out])
        check("--out: exit 0", r.returncode == 0, r.stderr.strip()[-200:])
        if r.returncode != 0:
            return
        q = json.loads(r.stdout)
        with open(os.path.join(out, "evolve.csv"), newline="") as fp:
            rows = list(csv.reader(fp))
        want = ["t", "S_A-B", "S_A-C", "S_B-C", "mean_n_A", "mean_n_B", "mean_n_C"]
        check("evolve.csv header: t, S_<a>-<b>, mean_n_<j>", rows[0] == want, f"{rows[0]}")
        check("evolve.csv: one row per sample", len(rows) == 7, f"{len(rows) - 1} rows")
        worst = 0.0
        for k, row in enumerate(rows[1:]):
            vals = dict(zip(rows[0], map(float, row)))
            ref = {"t": q["times"][k]}
            ref.update({f"S_{p['a']}-{p['b']}": p["S"][k] for p in q["pairs"]})
            ref.update({f"mean_n_{o['name']}": o["mean_n"][k] for o in q["oscillators"]})
            worst = max(worst, max(abs(vals[c] - ref[c]) / max(abs(ref[c]), 1e-300) for c in want if ref[c] != 0))
        check("evolve.csv values = the JSON's", worst <= 1e-15, f"worst relative difference {worst:.1e}")
        gp = open(os.path.join(out, "evolve.gp")).read()
        named = all(f'column("{c}")' in gp and f'title "{c}"' in gp for c in want[1:])
        check("evolve.gp draws every column by its header name, titled by it", named and "column(2)" not in gp)
        legend = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot_legend.py"), "--check",
                                 os.path.join(out, "evolve.gp"), os.path.join(out, "evolve.csv")], capture_output=True, text=True)
        check("plot_legend.py --check evolve.gp evolve.csv passes", legend.returncode == 0,
              legend.stdout.strip().splitlines()[-1] if legend.stdout.strip() else legend.stderr.strip()[:200])
        if shutil.which("gnuplot"):
            png = os.path.join(out, "evolve.png")
            check("evolve.png drawn", os.path.exists(png) and os.path.getsize(png) > 1000)
        left = [f for f in os.listdir(out) if ".tmp." in f]
        check("no temporary files left", not left, f"{left}")
    finally:
        shutil.rmtree(d)


def refusals():
    r = run(["evolve", os.path.join(MODELS, "peer_three.ini"), "--time", "1", "--samples", "3", "--memory-limit", "100K"])
    check("--memory-limit 100K: refused with exit 4 and the amount", r.returncode == 4 and "MiB" in r.stderr,
          f"exit {r.returncode}, {r.stderr.strip()[:160]}")
    for method in ("krylov", "bdf"):
        r = run(["evolve", os.path.join(MODELS, "peer_unequal.ini"), "--time", "100", "--samples", "3", "--max-steps", "5",
                 "--method", method])
        check(f"--max-steps 5 --method {method}: exit 3 naming the step limit", r.returncode == 3 and "step limit (5 steps)" in r.stderr,
              f"exit {r.returncode}, {r.stderr.strip()[:160]}")
    r = run(["evolve", os.path.join(MODELS, "peer_unequal.ini"), "--time", "1e50", "--samples", "3", "--method", "bdf"])
    check("--time 1e50 --method bdf: exit 3 saying what to do (a T of the order of the relaxation times)",
          r.returncode == 3 and "relaxation times" in r.stderr, f"exit {r.returncode}, {r.stderr.strip()[:200]}")
    p = subprocess.Popen([QSYNC, "evolve", os.path.join(MODELS, "peer_three.ini"), "--time", "1e6", "--samples", "3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=20)
        check("SIGINT stops the integration: exit 130, nothing on stdout", p.returncode == 130 and out == "",
              f"exit {p.returncode} after {time.monotonic() - t0:.2f} s, {err.strip()[:120]}")
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        check("SIGINT stops the integration: exit 130, nothing on stdout", False, "still running 20 s after SIGINT")


def bad_input():
    model = os.path.join(MODELS, "peer_unequal.ini")
    base = ["evolve", model]
    cases = [
        (["--time", "0", "--samples", "5"], "--time"),
        (["--time", "-1", "--samples", "5"], "--time"),
        (["--time", "abc", "--samples", "5"], "--time"),
        (["--time", "inf", "--samples", "5"], "--time"),
        (["--time", "1", "--samples", "1"], "--samples"),
        (["--time", "1", "--samples", "2.5"], "--samples"),
        (["--time", "1"], "--samples"),
        (["--samples", "4"], "--time"),
        (["--time", "1", "--samples", "4", "--from", "fock:1"], "--from"),
        (["--time", "1", "--samples", "4", "--from", "fock:1,2,3"], "--from"),
        (["--time", "1", "--samples", "4", "--from", "fock:7,0"], "--from"),
        (["--time", "1", "--samples", "4", "--from", "fock:1,,2"], "--from"),
        (["--time", "1", "--samples", "4", "--from", "fock:-1,2"], "--from"),
        (["--time", "1", "--samples", "4", "--from", "fock:1,2x"], "--from"),
        (["--time", "1", "--samples", "4", "--from", "steady"], "--from"),
        (["--time", "1", "--samples", "4", "--rtol", "0"], "--rtol"),
        (["--time", "1", "--samples", "4", "--method", "rk4"], "--method"),
        (["--time", "1", "--samples", "4", "--krylov-dim", "3"], "--krylov-dim"),
        (["--time", "1", "--samples", "4", "--atol", "-1e-3"], "--atol"),
        (["--time", "1", "--samples", "4", "--atol", "1e-300"], "--atol"),
        (["--time", "1", "--samples", "4", "--rtol", "1e-17"], "--rtol"),
        (["--time", "1", "--samples", "4", "--observe", "nonsense"], "--observe"),
        (["--time", "1", "--samples", "4", "--frobnicate"], "--frobnicate"),
        (["--time", "1", "--samples", "4", "--levels", "auto", "--from", "fock:1,1"], "--from"),
        (["--time", "1e16", "--samples", "3"], "--atol"),
        (["--time", "1e300", "--samples", "3"], "--time"),
        (["--time", "20", "--samples", "5", "--atol", "0.9", "--krylov-dim", "4"], "--atol"),
        (["--time", "1", "--samples", "4", "--rtol", "0.05", "--method", "bdf"], "--rtol"),
        (["--time", "1e-310", "--samples", "3", "--method", "bdf"], "--time"),
        (["--time", "5e-324", "--samples", "3", "--method", "bdf"], "--time"),
        (["--time", "1", "--samples", "4", "--from", "fock:99999999999999999999,1"], "99999999999999999999 excitations"),
        (["--time", "1", "--samples", "4", "--observe", "S,S"], "'S' named twice"),
        (["--time", "1", "--samples", "4", "--observe", "negativity", "--observe", "negativity"], "--observe"),
        (["--time", "1", "--samples", "4", "--out", ""], "--out ''"),
    ]
    for args, flag in cases:
        r = run(base + args)
        check(f"bad input {' '.join(args)}: exit 2 naming {flag}", r.returncode == 2 and flag in r.stderr,
              f"exit {r.returncode}, {r.stderr.strip().splitlines()[0] if r.stderr.strip() else 'no message'}")


def main():
    steps = [
        lambda: peer("peer_unequal.ini", 10, 21),
        lambda: peer("peer_three.ini", 4, 9),
        lambda: peer("peer_complex.ini", 3, 7, fock=[3, 1]),
        methods_agree,
        lambda: long_time("peer_unequal.ini", 300),
        lambda: long_time("peer_complex.ini", 500),
        fock_start,
        uncoupled,
        outputs,
        refusals,
        bad_input,
    ]
    for step in steps:
        try:
            step()
        except Exception as exc:  # a failed set-up is a failed check
            check(f"set-up of a check ({exc.__class__.__name__})", False, str(exc)[:300])
    finish()


if __name__ == "__main__":
    main()
